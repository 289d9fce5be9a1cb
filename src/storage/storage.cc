// storage.cc — what all backends share: key rules, bodies, wrappers, the URL factory.
#include "walferry/storage.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace walferry {

Status ValidateKey(std::string_view key) {
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid object key '" + std::string(key) + "': " + why);
  };
  if (key.empty()) return bad("empty");
  if (key.size() > 1024) return bad("longer than 1024 bytes");
  if (key.front() == '/' || key.back() == '/') return bad("starts or ends with '/'");
  for (unsigned char c : key) {
    if (c < 0x20 || c == 0x7f) return bad("contains a control character");
  }
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    std::string_view seg = key.substr(start, end - start);
    if (seg.empty()) return bad("has an empty path segment");
    if (seg == "." || seg == "..") return bad("has a '.' or '..' segment");
    if (seg.rfind(".wf-tmp.", 0) == 0) return bad("segment starts with reserved '.wf-tmp.'");
    start = end + 1;
  }
  return Status::Ok();
}

Status ValidateGet(std::string_view key, const std::optional<ByteRange>& range) {
  WF_RETURN_IF_ERROR(ValidateKey(key));
  if (range && range->length && *range->length == 0) {
    return Status::InvalidArgument("get '" + std::string(key) + "': empty byte range");
  }
  return Status::Ok();
}

Status CheckPutExpectations(const PutResult& body, const PutOptions& options,
                            const std::string& op) {
  if (options.size && *options.size != body.size) {
    return Status::Corruption(op + ": body has " + std::to_string(body.size) + " bytes, expected " +
                              std::to_string(*options.size));
  }
  if (options.sha256_hex && *options.sha256_hex != body.sha256_hex) {
    return Status::Corruption(op + ": body sha256 " + body.sha256_hex + ", expected " +
                              *options.sha256_hex);
  }
  return Status::Ok();
}

Result<std::string> GetString(Storage& storage, const std::string& key,
                              std::optional<ByteRange> range) {
  StringSink sink;
  Status s = storage.Get(key, sink, range);
  if (!s.ok()) return s;
  return std::move(sink.out);
}

Result<PutResult> PutString(Storage& storage, const std::string& key, std::string_view data,
                            const PutOptions& options) {
  MemorySource source(data);
  return storage.Put(key, source, options);
}

Result<std::vector<ObjectInfo>> ListAll(Storage& storage, const std::string& prefix) {
  std::vector<ObjectInfo> out;
  Status s = storage.List(prefix, [&](const ObjectInfo& info) {
    out.push_back(info);
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return out;
}

Result<std::unique_ptr<Storage>> OpenStorage(const StorageConfig& config) {
  const std::string& url = config.repo;
  auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("invalid repository '" + url + "': " + why)
        .WithHint("use --repo file:///absolute/path or --repo s3://bucket/prefix");
  };
  if (url.empty()) return bad("no repository given");
  if (url.rfind("file://", 0) == 0) {
    std::string path = url.substr(7);
    if (path.empty() || path[0] != '/') return bad("a file:// repository needs an absolute path");
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    return OpenPosixStorage(path);
  }
  if (url.rfind("s3://", 0) == 0) {
    std::string rest = url.substr(5);
    auto slash = rest.find('/');
    S3Config s3 = config.s3;
    s3.bucket = rest.substr(0, slash);
    std::string prefix = slash == std::string::npos ? "" : rest.substr(slash + 1);
    while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
    if (s3.bucket.empty()) return bad("no bucket name");
    for (char c : s3.bucket) {
      if (!(std::islower(static_cast<unsigned char>(c)) ||
            std::isdigit(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) {
        return bad("bucket names hold lowercase letters, digits, '-', '.' and '_' only");
      }
    }
    if (!prefix.empty()) {
      Status ks = ValidateKey(prefix);
      if (!ks.ok()) return bad("bad prefix: " + ks.message());
    }
    s3.prefix = prefix;
    return OpenS3Storage(s3);
  }
  return bad("unknown scheme");
}

}  // namespace walferry
