// get.cc — archive-get: one WAL file from the repository into place.
//
// Bytes flow from storage through a header reader (the object's first line)
// into the decompressor, a SHA-256 observer and a temp file beside the
// destination. Only when size and SHA-256 match the header is the temp file
// fsynced and renamed into place: a corrupt or truncated object never lands.
#include <sys/stat.h>

#include <algorithm>

#include "archive/archive.h"
#include "archive/repository.h"
#include "common/fs.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "walferry/wal_name.h"

namespace walferry::archive {
namespace {

// Splits an object into its header line and payload; builds the payload's
// pipeline once the header is known.
class ObjectReader final : public ByteSink {
 public:
  ObjectReader(std::string key, ByteSink& out) : key_(std::move(key)), out_(out), hash_(&out_) {}

  Status Write(const char* data, size_t n) override {
    if (decompress_) {
      stored_ += n;
      return decompress_->Write(data, n);
    }
    head_.append(data, n);
    size_t nl = head_.find('\n');
    if (nl == std::string::npos) {
      if (head_.size() > kMaxHeaderSize)
        return Status::Corruption("object '" + key_ + "' has no walferry header line");
      return Status::Ok();
    }
    auto h = DecodeHeader(std::string_view(head_).substr(0, nl), key_);
    if (!h.ok()) return h.status();
    header_ = *h;
    auto d = DecompressSink::New(header_.codec, hash_);
    if (!d.ok()) return d.status();
    decompress_ = std::move(*d);
    std::string rest = head_.substr(nl + 1);
    stored_ += head_.size();
    head_.clear();
    return rest.empty() ? Status::Ok() : decompress_->Write(rest.data(), rest.size());
  }

  // After the last byte: the object was whole and is what its header says.
  Status Verify(const std::string& wal_name) {
    if (!decompress_)
      return Status::Corruption("object '" + key_ + "' is empty or has no walferry header line");
    WF_RETURN_IF_ERROR(decompress_->Finish().Annotate("object '" + key_ + "'"));
    if (header_.name != wal_name) {
      return Status::Corruption("object '" + key_ + "' holds '" + header_.name + "', not '" +
                                wal_name + "'");
    }
    if (hash_.size() != header_.size) {
      return Status::Corruption("object '" + key_ + "' restores to " +
                                std::to_string(hash_.size()) + " bytes, its header says " +
                                std::to_string(header_.size));
    }
    std::string sha = hash_.Sha256Hex();
    sha256_hex_ = sha;
    if (sha != header_.sha256_hex) {
      return Status::Corruption("object '" + key_ + "' restores to sha256 " + sha +
                                ", its header says " + header_.sha256_hex);
    }
    return Status::Ok();
  }
  uint64_t size() const { return hash_.size(); }
  uint64_t stored() const { return stored_; }
  const std::string& sha256_hex() const { return sha256_hex_; }

 private:
  std::string key_;
  ByteSink& out_;
  HashSink hash_;
  std::string head_;
  ObjectHeader header_;
  std::unique_ptr<DecompressSink> decompress_;
  uint64_t stored_ = 0;
  std::string sha256_hex_;
};

}  // namespace

Result<GetResult> DecodeObject(std::string_view object, const WalFileName& wal,
                               const std::string& where, ByteSink& out) {
  ObjectReader reader(where, out);
  constexpr size_t kPiece = 256 << 10;
  Status s;
  for (size_t at = 0; at < object.size() && s.ok(); at += kPiece) {
    s = reader.Write(object.data() + at, std::min(kPiece, object.size() - at));
  }
  if (s.ok()) s = reader.Verify(wal.name);
  if (s.code() == Status::Code::kCorruption && s.message().find(where) == std::string::npos)
    s = s.Annotate("'" + where + "'");
  WF_RETURN_IF_ERROR(s);
  return GetResult{where, reader.size(), reader.stored(), reader.sha256_hex()};
}

Result<GetResult> FetchObject(Storage& storage, const WalFileName& wal, ByteSink& out) {
  const std::string key = repo::WalObjectKey(wal);
  ObjectReader reader(key, out);
  Status s = storage.Get(key, reader);
  if (s.ok()) s = reader.Verify(wal.name);
  if (s.code() == Status::Code::kCorruption && s.message().find(key) == std::string::npos) {
    // Found while streaming (a codec's frame checksum) or at the end (size, SHA-256).
    s = s.Annotate("object '" + key + "' in " + storage.Describe());
  }
  WF_RETURN_IF_ERROR(s);
  return GetResult{key, reader.size(), reader.stored(), reader.sha256_hex()};
}

namespace {

// A local failure while putting the file at %p: never kNotFound (that is the
// repository's answer alone), and the hint blames the local path.
Status LocalFailure(const Status& s, const std::string& context, const std::string& path) {
  const std::string dir = fs::DirName(path);
  std::string hint = s.hint();
  if (hint.empty()) {
    hint = s.code() == Status::Code::kPermission
               ? "'" + path +
                     "' is where PostgreSQL wants the file (%p): the user running walferry (often "
                     "postgres) needs write access to '" +
                     dir + "'; the repository was not the problem"
               : "'" + path + "' is where PostgreSQL wants the file (%p): check that '" + dir +
                     "' exists and its filesystem works; nothing was written there";
  }
  Status local = s.code() == Status::Code::kNotFound ? Status::Io(s.message()) : s;
  return local.Annotate(context).WithHint(std::move(hint));
}

// Passes bytes to the local file and remembers its failure, so that a local
// error is never taken for the repository's.
class LocalSink final : public ByteSink {
 public:
  explicit LocalSink(ByteSink& next) : next_(next) {}
  Status Write(const char* data, size_t n) override {
    Status s = next_.Write(data, n);
    if (!s.ok() && failure_.ok()) failure_ = s;
    return s;
  }
  const Status& failure() const { return failure_; }

 private:
  ByteSink& next_;
  Status failure_;
};

}  // namespace

Result<GetResult> Get(Storage& storage, const GetConfig& config) {
  auto wal = ParseWalFileName(config.wal_name);
  if (!wal.ok()) return wal.status();
  const std::string context = "archive-get '" + config.wal_name + "'";
  if (config.path.empty() || config.path.back() == '/') {
    return Status::InvalidArgument(context + ": the destination '" + config.path + "' (%p) is " +
                                   (config.path.empty() ? "empty" : "a directory"))
        .WithHint("restore_command must pass %p as PostgreSQL expands it: archive-get %f %p");
  }
  const std::string path = fs::Resolve(config.path, config.data_dir);
  struct stat st;
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) {
    return Status::InvalidArgument(context + ": the destination '" + path + "' (%p) is a directory")
        .WithHint("restore_command must pass %p as PostgreSQL expands it: archive-get %f %p");
  }

  auto file = AtomicFileSink::Create(path);
  if (!file.ok()) return LocalFailure(file.status(), context, path);
  LocalSink local(**file);
  auto r = FetchObject(storage, *wal, local);
  if (!local.failure().ok())
    return LocalFailure(local.failure(), context + ": write '" + path + "'", path);
  if (r.status().IsNotFound()) {
    // "Not found" ends recovery: say it only when the repository itself is there.
    auto identity = repo::RequireIdentity(storage);
    if (!identity.ok()) return identity.status();
    return r.status();
  }
  if (r.status().code() == Status::Code::kCorruption) {
    return Status(r.status())
        .WithHint("the object in the repository is damaged; nothing was written to '" + path +
                  "'. Restore it from another copy, or recover to a point before this file");
  }
  if (!r.ok()) return r.status();
  Status committed = (*file)->Commit();
  if (!committed.ok()) return LocalFailure(committed, context, path);
  return r;
}

}  // namespace walferry::archive
