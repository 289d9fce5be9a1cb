// get.cc — archive-get: one WAL file from the repository into place.
//
// Bytes flow from storage through the stored-object reader (repo/object.h:
// header line, decompressor, SHA-256) into a temp file beside the
// destination. Only when size and SHA-256 match the header is the temp file
// fsynced and renamed into place: a corrupt or truncated object never lands.
#include <sys/stat.h>

#include "archive/archive.h"
#include "common/fs.h"
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
  Status committed = (*file)->Commit();
  if (!committed.ok()) return LocalFailure(committed, context, path);
  return r;
}

}  // namespace walferry::archive
