// get.cc — archive-get: one WAL file from the repository into place.
//
// Bytes flow from storage through the stored-object reader (repo/object.h:
// header line, decompressor, SHA-256) into a temp file beside the
// destination. Only when size and SHA-256 match the header is the temp file
// fsynced and renamed into place: a corrupt or truncated object never lands.
#include <sys/stat.h>

#include <algorithm>

#include "archive/archive.h"
#include "common/fs.h"
#include "pg/wal_page.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "walferry/wal_name.h"

namespace walferry::archive {

Result<GetResult> DecodeObject(std::string_view object, const WalFileName& wal,
                               const std::string& where, ByteSink& out) {
  auto r = repo::DecodeObject(object, repo::ReadSpec::Wal(where, wal.name), out);
  if (!r.ok()) return r.status();
  return GetResult{where, r->original_size, r->stored_size, r->original_sha256};
}

Result<GetResult> FetchObject(Storage& storage, const WalFileName& wal, ByteSink& out) {
  const std::string key = repo::WalObjectKey(wal);
  auto r = repo::GetObject(storage, repo::ReadSpec::Wal(key, wal.name), out);
  if (!r.ok()) return r.status();
  return GetResult{key, r->original_size, r->stored_size, r->original_sha256};
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
// error is never taken for the repository's. Keeps the first bytes, for the
// WAL page-header check.
class LocalSink final : public ByteSink {
 public:
  explicit LocalSink(ByteSink& next) : next_(next) {}
  Status Write(const char* data, size_t n) override {
    if (head_.size() < kHead) head_.append(data, std::min(n, kHead - head_.size()));
    Status s = next_.Write(data, n);
    if (!s.ok() && failure_.ok()) failure_ = s;
    return s;
  }
  const Status& failure() const { return failure_; }
  std::string_view head() const { return head_; }

 private:
  static constexpr size_t kHead = 64;  // more than a long WAL page header
  ByteSink& next_;
  Status failure_;
  std::string head_;
};

// The object's checksums prove it is what was stored under this key, not that
// it is this WAL file: a repository that can be written by others may file
// one segment's (valid) object under another's name. Its first page header
// must name this file (magic, page address, timeline, segment size) and a
// segment must be as long as its header says, as archive-push checked.
Status CheckRestoredWal(const WalFileName& wal, std::string_view head, uint64_t size,
                        const std::string& key) {
  if (!wal.HasWalHeader()) return Status::Ok();
  auto page = pg::ReadCheckedWalPageHeader(head, wal, 0, key);
  if (!page.ok()) return page.status();
  if (wal.kind == WalFileKind::kSegment && size != page->segment_size) {
    return Status::Corruption("'" + key + "' restores " + std::to_string(size) +
                              " bytes, but its page header says segments are " +
                              std::to_string(page->segment_size) + " bytes");
  }
  return Status::Ok();
}

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

  auto file = AtomicFileSink::Create(path, *config.local_fs);
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
  Status page = CheckRestoredWal(*wal, local.head(), r->size, r->key);
  if (!page.ok()) {
    return Status(page).WithHint(
        "the object in the repository is not this WAL file; nothing "
        "was written to '" +
        path +
        "'. Restore it from another copy, or recover to a point "
        "before this file");
  }
  Status committed = (*file)->Commit();
  if (!committed.ok()) return LocalFailure(committed, context, path);
  return r;
}

}  // namespace walferry::archive
