// get.cc — archive-get: one WAL file from the repository into place.
//
// Bytes flow from storage through a header reader (the object's first line)
// into the decompressor, a SHA-256 observer and a temp file beside the
// destination. Only when size and SHA-256 match the header is the temp file
// fsynced and renamed into place: a corrupt or truncated object never lands.
#include "archive/archive.h"
#include "archive/repository.h"
#include "common/fs.h"
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
      if (head_.size() > kMaxHeaderSize) return Status::Corruption("object '" + key_ + "' has no walferry header line");
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
    if (!decompress_) return Status::Corruption("object '" + key_ + "' is empty or has no walferry header line");
    WF_RETURN_IF_ERROR(decompress_->Finish().Annotate("object '" + key_ + "'"));
    if (header_.name != wal_name) {
      return Status::Corruption("object '" + key_ + "' holds '" + header_.name + "', not '" + wal_name + "'");
    }
    if (hash_.size() != header_.size) {
      return Status::Corruption("object '" + key_ + "' restores to " + std::to_string(hash_.size()) +
                                " bytes, its header says " + std::to_string(header_.size));
    }
    std::string sha = hash_.Sha256Hex();
    if (sha != header_.sha256_hex) {
      return Status::Corruption("object '" + key_ + "' restores to sha256 " + sha + ", its header says " +
                                header_.sha256_hex);
    }
    return Status::Ok();
  }
  uint64_t size() const { return hash_.size(); }
  uint64_t stored() const { return stored_; }

 private:
  std::string key_;
  ByteSink& out_;
  HashSink hash_;
  std::string head_;
  ObjectHeader header_;
  std::unique_ptr<DecompressSink> decompress_;
  uint64_t stored_ = 0;
};

}  // namespace

Result<GetResult> FetchObject(Storage& storage, const WalFileName& wal, ByteSink& out) {
  const std::string key = WalObjectKey(wal);
  ObjectReader reader(key, out);
  Status s = storage.Get(key, reader);
  if (s.ok()) s = reader.Verify(wal.name);
  if (s.code() == Status::Code::kCorruption && s.message().find(key) == std::string::npos) {
    // Found while streaming (a codec's frame checksum) or at the end (size, SHA-256).
    s = s.Annotate("object '" + key + "' in " + storage.Describe());
  }
  WF_RETURN_IF_ERROR(s);
  return GetResult{key, reader.size(), reader.stored()};
}

Result<GetResult> Get(Storage& storage, const GetConfig& config) {
  auto wal = ParseWalFileName(config.wal_name);
  if (!wal.ok()) return wal.status();
  const std::string path = fs::Resolve(config.path, config.data_dir);

  auto file = AtomicFileSink::Create(path);
  if (!file.ok()) return file.status().Annotate("archive-get '" + config.wal_name + "'");
  auto r = FetchObject(storage, *wal, **file);
  if (r.status().IsNotFound()) {
    // "Not found" ends recovery: say it only when the repository itself is there.
    auto repo = RequireIdentity(storage);
    if (!repo.ok()) return repo.status();
    return r.status();
  }
  if (r.status().code() == Status::Code::kCorruption) {
    return Status(r.status()).WithHint("the object in the repository is damaged; nothing was written to '" + path +
                                       "'. Restore it from another copy, or recover to a point before this file");
  }
  if (!r.ok()) return r.status();
  WF_RETURN_IF_ERROR((*file)->Commit().Annotate("archive-get '" + config.wal_name + "'"));
  return r;
}

}  // namespace walferry::archive
