// memory_storage.cc — an in-memory Storage for unit tests. Same contract as
// the real backends (it passes the conformance suite); not durable by design.
#include <chrono>
#include <map>
#include <mutex>

#include "common/crypto.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

Result<std::string> ReadBody(ByteSource& body, const PutOptions& options, const std::string& key,
                             std::string* sha_hex) {
  WF_RETURN_IF_ERROR(body.Rewind());
  std::string data;
  char buf[65536];
  for (;;) {
    auto n = body.Read(buf, sizeof buf);
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    data.append(buf, *n);
  }
  *sha_hex = crypto::Sha256Hex(data);
  WF_RETURN_IF_ERROR(
      CheckPutExpectations(PutResult{data.size(), *sha_hex}, options, "put '" + key + "'"));
  return data;
}

class MemoryStorage final : public Storage {
 public:
  std::string Describe() const override { return "memory://"; }

  Result<PutResult> Put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    std::string sha;
    auto data = ReadBody(body, options, key, &sha);
    if (!data.ok()) return data.status();
    std::lock_guard<std::mutex> lock(mu_);
    if (options.if_absent && objects_.count(key)) {
      return Status::AlreadyExists("put '" + key + "': object already exists");
    }
    PutResult result{data->size(), sha};
    objects_[key] = Object{std::move(*data), Now(), ++version_};
    return result;
  }

  Status Get(const std::string& key, ByteSink& sink, std::optional<ByteRange> range) override {
    WF_RETURN_IF_ERROR(ValidateGet(key, range));
    std::string copy;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = objects_.find(key);
      if (it == objects_.end()) return Status::NotFound("get '" + key + "': no such object");
      copy = it->second.data;
    }
    uint64_t off = 0, len = copy.size();
    if (range) {
      if (range->offset >= copy.size()) {
        return Status::InvalidArgument("get '" + key + "': range starts past the end");
      }
      off = range->offset;
      len = std::min<uint64_t>(copy.size() - off, range->length.value_or(UINT64_MAX));
    }
    return sink.Write(copy.data() + off, len);
  }

  Result<ObjectInfo> Head(const std::string& key) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    auto it = objects_.find(key);
    if (it == objects_.end()) return Status::NotFound("head '" + key + "': no such object");
    return Info(it->first, it->second);
  }

  Status List(const std::string& prefix,
              const std::function<Status(const ObjectInfo&)>& visit) override {
    std::vector<ObjectInfo> page;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (auto it = objects_.lower_bound(prefix);
           it != objects_.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
        page.push_back(Info(it->first, it->second));
      }
    }
    for (const auto& info : page) WF_RETURN_IF_ERROR(visit(info));
    return Status::Ok();
  }

  Status Remove(const std::string& key) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    std::lock_guard<std::mutex> lock(mu_);
    objects_.erase(key);
    return Status::Ok();
  }

  Status RemoveMany(const std::vector<std::string>& keys) override {
    for (const auto& k : keys) WF_RETURN_IF_ERROR(Remove(k));
    return Status::Ok();
  }

 private:
  struct Object {
    std::string data;
    int64_t mtime;
    uint64_t version;
  };
  static int64_t Now() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
  static ObjectInfo Info(const std::string& key, const Object& o) {
    return ObjectInfo{key, o.data.size(), o.mtime, std::to_string(o.version)};
  }
  std::mutex mu_;
  std::map<std::string, Object> objects_;  // std::map: ascending byte order for List
  uint64_t version_ = 0;
};

}  // namespace

std::unique_ptr<Storage> NewMemoryStorage() { return std::make_unique<MemoryStorage>(); }

}  // namespace walferry
