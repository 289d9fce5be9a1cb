// fetch.cc — `walferry backup-fetch`: restore a base backup into a data
// directory, checking every byte, writing nowhere but DEST and the
// tablespace directories, and never through a symbolic link.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "backup/backup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/parallel.h"
#include "pg/lsn.h"
#include "pg/tablespace.h"
#include "walferry/local_fs.h"

namespace walferry::backup {
namespace {

// Write-back of a file starts every this many bytes written (sync_file_range),
// so that the disk writes while the next bytes are downloaded, checked and
// decompressed, and the sync at the end finds little left to do.
constexpr uint64_t kWriteBackBytes = 8ull << 20;

// An open file descriptor, closed at scope end.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  ~Fd() { Reset(); }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_ = -1;
};

// fsyncs finished files on a thread of its own, so that the workers go on
// downloading and writing while the disk catches up (instead of one syncfs
// of everything at the end, which would also wait for other programs' data).
class Syncer {
 public:
  explicit Syncer(fs::LocalFs& lfs) : lfs_(lfs), thread_([this] { Loop(); }) {}
  ~Syncer() { (void)Finish(); }
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  // An open file (shown as `path` in errors) to fsync, then rename from
  // `from` in directory `from_dir` (borrowed) to `to` in `to_dir` (none: stays).
  struct Item {
    Fd fd;
    std::string path;
    int from_dir = -1;
    std::string from;
    Fd to_dir;
    std::string to;
  };
  // Queues `item`; waits while kMaxQueued items are queued, which bounds the
  // open descriptors.
  void Add(Item item) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < kMaxQueued || done_; });
    queue_.push_back(std::move(item));
    cv_.notify_all();
  }
  // Waits until every queued file is synced; the first fsync failure.
  Status Finish() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
      cv_.notify_all();
    }
    if (thread_.joinable()) thread_.join();
    return first_;
  }

 private:
  static constexpr size_t kMaxQueued = 64;

  void Loop() {
    for (;;) {
      Item item;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [&] { return !queue_.empty() || done_; });
        if (queue_.empty()) return;
        item = std::move(queue_.front());
        queue_.pop_front();
        cv_.notify_all();
      }
      if (!first_.ok()) continue;  // the restore failed: nothing more takes its name
      if (int e = lfs_.Sync(item.fd.get())) {
        first_ = Status::FromErrno(e, "fsync '" + item.path + "'");
        continue;
      }
      if (item.to_dir.ok())
        if (int e = lfs_.Rename(item.from_dir, item.from, item.to_dir.get(), item.to))
          first_ = Status::FromErrno(e, "rename to '" + item.path + "'");
    }
  }

  fs::LocalFs& lfs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool done_ = false;
  Status first_;  // written by the thread only; read after join
  std::thread thread_;
};

// Opens the directory `rel` below `base` one component at a time, never
// following a symbolic link ("" is `base` itself).
Result<Fd> OpenDirBelow(fs::LocalFs& lfs, int base, const std::string& rel,
                        const std::string& shown) {
  Fd cur(::dup(base));
  if (!cur.ok()) return Status::FromErrno(errno, "dup");
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    int fd = -1;
    if (int e = lfs.OpenDir(cur.get(), part, /*nofollow=*/true, &fd)) {
      if (e == ELOOP || e == ENOTDIR) {
        return Status::Corruption(
                   "'" + shown + "/" + rel.substr(0, end) +
                   "' is a symbolic link or not a directory: walferry never writes through one")
            .WithHint("restore into an empty directory");
      }
      return Status::FromErrno(e, "open directory '" + shown + "/" + rel.substr(0, end) + "'");
    }
    cur = Fd(fd);
    start = end + 1;
  }
  return cur;
}

bool IsEmptyDir(const std::string& path, bool* exists) {
  struct stat st;
  *exists = ::stat(path.c_str(), &st) == 0;
  if (!*exists) return true;
  if (!S_ISDIR(st.st_mode)) return false;
  DIR* d = ::opendir(path.c_str());
  if (!d) return false;
  bool empty = true;
  while (dirent* e = ::readdir(d)) {
    if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0) {
      empty = false;
      break;
    }
  }
  ::closedir(d);
  return empty;
}

std::string Quote(const std::string& v) {  // a postgresql.conf string value
  std::string out = "'";
  for (char c : v) {
    if (c == '\'')
      out += "''";
    else if (c == '\\')
      out += "\\\\";
    else
      out += c;
  }
  return out + "'";
}

// A root for part of the restore: DEST or one tablespace directory.
struct Root {
  std::string path;
  Fd fd;
  bool created = false;  // by this restore (removed again if it fails before writing)
  // The staging directory in this root: files are written and fsynced there
  // under numbers, then renamed to their names. Its name is one no entry of
  // the manifest has at the top of this root, so it cannot collide.
  std::string staging;
  Fd staging_fd;
};

constexpr char kStagingName[] = ".walferry-fetch-staging";
constexpr char kControlFile[] = "global/pg_control";

// `path` made absolute-normal: "//" and a trailing '/' collapse; "." and ".."
// components are refused (nullopt). Then resolved through the deepest existing
// ancestor (realpath), so that two spellings of one directory compare equal.
std::optional<std::string> CanonicalDir(const std::string& path) {
  if (path.empty() || path[0] != '/') return std::nullopt;
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(at, slash - at);
    if (part == "." || part == "..") return std::nullopt;
    if (!part.empty()) parts.push_back(part);
    at = slash + 1;
  }
  // The deepest existing ancestor, resolved; the rest appended as given.
  for (size_t keep = parts.size() + 1; keep-- > 0;) {
    std::string prefix = "/";
    for (size_t i = 0; i < keep; ++i) prefix += (i ? "/" : "") + parts[i];
    char buf[PATH_MAX];
    if (::realpath(prefix.c_str(), buf) == nullptr) continue;
    std::string out = buf;
    for (size_t i = keep; i < parts.size(); ++i) out += (out == "/" ? "" : "/") + parts[i];
    return out;
  }
  return std::nullopt;
}

// a == b, or one is inside the other.
bool Overlaps(const std::string& a, const std::string& b) {
  auto inside = [](const std::string& x, const std::string& y) {  // x inside y
    return y == "/" ||
           (x.size() > y.size() && x.compare(0, y.size(), y) == 0 && x[y.size()] == '/');
  };
  return a == b || inside(a, b) || inside(b, a);
}

class Fetcher {
 public:
  Fetcher(Storage& storage, const FetchConfig& cfg)
      : storage_(storage),
        cfg_(cfg),
        lfs_(cfg.local_fs ? *cfg.local_fs : fs::LocalFs::Posix()),
        syncer_(lfs_) {}

  Result<FetchResult> Run(BackupManifest m) {
    m_ = std::move(m);
    // Every check first: a refused restore creates nothing.
    WF_RETURN_IF_ERROR(CheckManifest());
    WF_RETURN_IF_ERROR(PlanDest());
    WF_RETURN_IF_ERROR(PlanTablespaces());
    Status prepared = PrepareDirs();
    if (prepared.ok()) prepared = PrepareStaging();
    if (!prepared.ok()) {
      RemoveCreatedDirs();
      return prepared;
    }
    Status s = Restore();
    if (!s.ok()) return Incomplete(s);
    FetchResult r;
    r.manifest = m_;
    for (const auto& f : m_.files) {
      r.files += f.type == FileType::kFile;
      r.bytes += f.size;
    }
    return r;
  }

 private:
  // The order that makes an interrupted restore unusable instead of wrong
  // (man/walferry-backup-fetch.1): global/pg_control, without which
  // PostgreSQL does not start, is removed first (--force) and takes its name
  // last, after every other file, backup_label, tablespace_map and the
  // recovery settings are durable.
  Status Restore() {
    WF_RETURN_IF_ERROR(RemoveOldControlFile());
    WF_RETURN_IF_ERROR(MakeTree());
    uint64_t total = 0;
    for (const auto& f : m_.files) total += f.size;
    if (cfg_.progress) cfg_.progress->total = total;
    Status s = ParallelFor(m_.objects.size(), cfg_.parallel, [&](size_t i) {
      Writer w(*this);
      return ReadObject(storage_, m_, static_cast<uint32_t>(i), &w);
    });
    if (!s.ok()) return s;
    for (const auto& f : m_.files) {  // empty files have no object
      if (f.type == FileType::kFile && !f.object) {
        Writer w(*this);
        Status e = w.Begin(f);
        if (e.ok()) e = w.End(f);
        if (!e.ok()) return e;
      }
    }
    WF_RETURN_IF_ERROR(syncer_.Finish());  // every file fsynced, then renamed
    WF_RETURN_IF_ERROR(WriteExtras());
    WF_RETURN_IF_ERROR(SyncDirs());
    if (!control_staged_) {
      return Status::Internal("backup-fetch: global/pg_control was not restored");
    }
    auto global = OpenDirBelow(lfs_, dest_.fd.get(), "global", dest_.path);
    if (!global.ok()) return global.status();
    if (int e = lfs_.Rename(dest_.staging_fd.get(), control_tmp_, global->get(), "pg_control"))
      return Status::FromErrno(e, "rename to '" + dest_.path + "/global/pg_control'");
    if (int e = lfs_.Sync(global->get()))
      return Status::FromErrno(e, "fsync directory '" + dest_.path + "/global'");
    RemoveStaging();
    return Status::Ok();
  }

  class Writer final : public FileVisitor {
   public:
    explicit Writer(Fetcher& f) : f_(f) {}
    ~Writer() override {
      if (fd_.ok()) {
        fd_.Reset();
        (void)f_.lfs_.Unlink(root_->staging_fd.get(), tmp_, false);
      }
    }
    Status Begin(const ManifestFile& file) override {
      auto where = f_.Resolve(file.path);
      if (!where.ok()) return where.status();
      auto [root, rel] = *where;
      root_ = root;
      size_t slash = rel.rfind('/');
      dir_ = slash == std::string::npos ? "" : rel.substr(0, slash);
      name_ = slash == std::string::npos ? rel : rel.substr(slash + 1);
      shown_ = root->path + "/" + Printable(rel);
      control_ = root == &f_.dest_ && file.path == kControlFile;
      tmp_ = std::to_string(&file - f_.m_.files.data());  // the file's index: unique
      (void)f_.lfs_.Unlink(root->staging_fd.get(), tmp_, false);
      int fd = -1;
      if (int e = f_.lfs_.Create(root->staging_fd.get(), tmp_, 0600, &fd))
        return Status::FromErrno(e, "create '" + root->path + "/" + root->staging + "/" + tmp_ +
                                        "' (for '" + shown_ + "')");
      fd_ = Fd(fd);
      written_ = started_ = 0;
      return Status::Ok();
    }
    Status Data(const char* data, size_t n) override {
      if (int e = f_.lfs_.Write(fd_.get(), data, n))
        return Status::FromErrno(e, "write '" + shown_ + "'");
      written_ += n;
      if (written_ - started_ >= kWriteBackBytes) StartWriteBack();
      if (f_.cfg_.progress) f_.cfg_.progress->done += n;
      return Status::Ok();
    }
    Status End(const ManifestFile& file) override {
      StartWriteBack();
      // Never setuid, setgid or sticky: only permission bits a data directory uses.
      if (::fchmod(fd_.get(), file.mode & 0777) != 0)
        return Status::FromErrno(errno, "chmod '" + shown_ + "'");
      struct timespec times[2] = {{file.mtime, 0}, {file.mtime, 0}};
      if (::futimens(fd_.get(), times) != 0)
        return Status::FromErrno(errno, "set the time of '" + shown_ + "'");
      // Only a verified file (End comes after the check) takes its name, and
      // only once it is durable: the syncer fsyncs it, then renames it.
      Syncer::Item item;
      item.fd = std::move(fd_);
      item.path = shown_;
      item.from_dir = root_->staging_fd.get();
      item.from = tmp_;
      if (control_) {
        // Held back in the staging directory until the very end.
        std::lock_guard<std::mutex> lock(f_.mu_);
        f_.control_staged_ = true;
        f_.control_tmp_ = tmp_;
      } else {
        auto parent = OpenDirBelow(f_.lfs_, root_->fd.get(), dir_, root_->path);
        if (!parent.ok()) {
          item.fd.Reset();
          (void)f_.lfs_.Unlink(root_->staging_fd.get(), tmp_, false);
          return parent.status();
        }
        item.to_dir = std::move(*parent);
        item.to = name_;
      }
      f_.syncer_.Add(std::move(item));
      return Status::Ok();
    }

   private:
    // Starts (does not wait for) the write-back of the bytes written since the
    // last call. Only a head start: the Syncer's fsync makes the file durable.
    void StartWriteBack() {
      if (written_ == started_) return;
      ::sync_file_range(fd_.get(), static_cast<off64_t>(started_),
                        static_cast<off64_t>(written_ - started_), SYNC_FILE_RANGE_WRITE);
      started_ = written_;
    }

    Fetcher& f_;
    Root* root_ = nullptr;
    Fd fd_;
    std::string dir_, name_, tmp_, shown_;
    bool control_ = false;
    uint64_t written_ = 0, started_ = 0;  // bytes written; write-back started up to here
  };

  // A backup without global/pg_control is no data directory, and the order of
  // the restore (pg_control last) depends on it.
  Status CheckManifest() {
    for (const auto& f : m_.files) {
      if (f.path == kControlFile && f.type == FileType::kFile) return Status::Ok();
    }
    return Status::Corruption("manifest of backup '" + m_.name + "' lists no global/pg_control")
        .WithHint("the manifest was damaged or altered; restore from another backup");
  }

  Status PlanDest() {
    bool exists = false;
    bool empty = IsEmptyDir(cfg_.dest, &exists);
    if (exists && !empty && !cfg_.force) {
      return Status::InvalidArgument("'" + cfg_.dest + "' is not an empty directory")
          .WithHint(
              "restore into a new or empty directory, or pass --force to restore over its "
              "contents");
    }
    std::string absolute = cfg_.dest;
    if (absolute.empty() || absolute[0] != '/') {  // relative to the working directory
      char cwd[PATH_MAX];
      if (::getcwd(cwd, sizeof cwd) == nullptr) return Status::FromErrno(errno, "getcwd");
      absolute = std::string(cwd) + "/" + absolute;
    }
    auto canon = CanonicalDir(absolute);
    if (!canon) {
      return Status::InvalidArgument("'" + cfg_.dest +
                                     "' is not a usable directory path (absolute, without . or "
                                     ".. components)");
    }
    dest_.path = cfg_.dest;
    dest_canonical_ = *canon;
    dest_exists_ = exists;
    return Status::Ok();
  }

  // Where each tablespace goes, and the rules a location from the repository
  // must meet (man/walferry-backup-fetch.1, TABLESPACES): a location is used
  // only if the operator mapped it, or it is the recorded one and empty or
  // absent; never DEST, inside DEST, above DEST, or overlapping another one.
  Status PlanTablespaces() {
    for (const auto& [key, dir] : cfg_.tablespace_map) {
      // (a named reference: clang 14 cannot capture a structured binding)
      const std::string& wanted = key;
      bool known = std::any_of(
          m_.tablespaces.begin(), m_.tablespaces.end(),
          [&](const Tablespace& t) { return std::to_string(t.oid) == wanted || t.name == wanted; });
      if (!known) {
        return Status::InvalidArgument("--tablespace-map " + key + "=" + dir + ": backup '" +
                                       m_.name + "' has no tablespace with that OID or name")
            .WithHint("'walferry backup-list --json' lists each backup's tablespaces");
      }
    }
    std::vector<std::pair<uint32_t, std::string>> canon;  // oid, canonical dir
    for (const auto& t : m_.tablespaces) {
      const std::string oid = std::to_string(t.oid);
      const std::string what = "tablespace " + oid + " ('" + Printable(t.name, 64) + "')";
      std::string dir = t.location;
      auto by_oid = cfg_.tablespace_map.find(oid);
      auto by_name = cfg_.tablespace_map.find(t.name);
      bool mapped = true;
      if (by_oid != cfg_.tablespace_map.end())
        dir = by_oid->second;
      else if (!t.name.empty() && by_name != cfg_.tablespace_map.end())
        dir = by_name->second;
      else
        mapped = false;
      const std::string remap = "remap it with --tablespace-map " + oid + "=/empty/dir";
      auto c = CanonicalDir(dir);
      if (!c || HasControlByte(dir)) {
        return Status::InvalidArgument(what + " would go to '" + Printable(dir) +
                                       "', which is not an absolute directory path (without . or "
                                       ".. components or control bytes)")
            .WithHint(remap);
      }
      if (*c == "/" || Overlaps(*c, dest_canonical_)) {
        return Status::InvalidArgument(what + " would go to '" + Printable(dir) +
                                       "', which is or overlaps DEST '" + cfg_.dest + "'")
            .WithHint(remap + " outside DEST");
      }
      for (const auto& [other, odir] : canon) {
        if (Overlaps(*c, odir)) {
          return Status::InvalidArgument(what + " would go to '" + Printable(dir) +
                                         "', which is or overlaps the directory of tablespace " +
                                         std::to_string(other) + " ('" + Printable(odir) + "')")
              .WithHint("give each tablespace its own directory with --tablespace-map");
        }
      }
      bool exists = false;
      bool empty = IsEmptyDir(dir, &exists);
      // --force restores over a non-empty directory only where the operator
      // said so: DEST and mapped tablespaces; never over a location the
      // repository names.
      if (!empty && (!cfg_.force || !mapped)) {
        return Status::InvalidArgument(what + " would be restored to '" + Printable(dir) +
                                       "', which is not an empty directory" +
                                       (mapped ? "" : " (its location recorded in the backup)"))
            .WithHint(mapped ? remap + ", or pass --force"
                             : remap +
                                   " (--force restores over a tablespace directory only when "
                                   "it is mapped explicitly)");
      }
      canon.emplace_back(t.oid, *c);
      Root r;
      r.path = dir;
      r.created = !exists;
      roots_[t.oid] = std::move(r);
    }
    return Status::Ok();
  }

  static bool HasControlByte(const std::string& s) {
    return std::any_of(s.begin(), s.end(), [](char ch) {
      unsigned char c = static_cast<unsigned char>(ch);
      return c < 0x20 || c == 0x7f;
    });
  }

  Status OpenRoot(Root& r, bool create) {
    if (create) WF_RETURN_IF_ERROR(fs::CreateDirs(lfs_, r.path));
    int fd = -1;
    if (int e = lfs_.OpenDir(AT_FDCWD, r.path, /*nofollow=*/false, &fd))
      return Status::FromErrno(e, "open '" + r.path + "'");
    r.fd = Fd(fd);
    if (::fchmod(fd, 0700) != 0) return Status::FromErrno(errno, "chmod '" + r.path + "'");
    return Status::Ok();
  }

  Status PrepareDirs() {
    dest_.created = !dest_exists_;
    WF_RETURN_IF_ERROR(OpenRoot(dest_, !dest_exists_));
    for (auto& [oid, root] : roots_) WF_RETURN_IF_ERROR(OpenRoot(root, root.created));
    return Status::Ok();
  }

  // A failed preparation leaves no directory it created behind (only empty
  // ones are removed: rmdir refuses the others).
  void RemoveCreatedDirs() {
    auto remove = [&](Root& r) {
      if (!r.created) return;
      if (r.staging_fd.ok()) {
        r.staging_fd.Reset();
        (void)lfs_.Unlink(r.fd.get(), r.staging, /*dir=*/true);
      }
      r.fd.Reset();
      (void)lfs_.Unlink(AT_FDCWD, r.path, /*dir=*/true);
    };
    for (auto& [oid, root] : roots_) remove(root);
    remove(dest_);
  }

  // One staging directory per root (a rename cannot cross filesystems).
  Status PrepareStaging() {
    std::map<Root*, std::set<std::string>> top;  // the names at the top of each root
    for (const auto& f : m_.files) {
      auto where = Resolve(f.path);
      if (!where.ok()) continue;  // a tablespace link itself: DEST's pg_tblspc/OID
      auto [root, rel] = *where;
      top[root].insert(rel.substr(0, rel.find('/')));
    }
    auto prepare = [&](Root& r) -> Status {
      std::string name = kStagingName;
      for (int i = 1; top[&r].count(name) || top[&r].count(name + ".tmp"); ++i)
        name = std::string(kStagingName) + "-" + std::to_string(i);
      r.staging = name;
      const std::string shown = r.path + "/" + name;
      if (int e = lfs_.Mkdir(r.fd.get(), name, 0700); e != 0 && e != EEXIST)
        return Status::FromErrno(e, "create directory '" + shown + "'");
      int fd = -1;
      if (int e = lfs_.OpenDir(r.fd.get(), name, /*nofollow=*/true, &fd)) {
        return Status::FromErrno(e, "open '" + shown + "'")
            .WithHint("something else than walferry's staging directory is in the way: remove it");
      }
      r.staging_fd = Fd(fd);
      return ClearStaging(r);  // left by an interrupted restore (--force)
    };
    WF_RETURN_IF_ERROR(prepare(dest_));
    for (auto& [oid, root] : roots_) WF_RETURN_IF_ERROR(prepare(root));
    return Status::Ok();
  }

  // Removes the (flat) files in a staging directory.
  Status ClearStaging(Root& r) {
    std::vector<std::string> names;
    if (int e = lfs_.List(r.staging_fd.get(), ".", &names))
      return Status::FromErrno(e, "read '" + r.path + "/" + r.staging + "'");
    for (const auto& n : names) {
      if (int e = lfs_.Unlink(r.staging_fd.get(), n, false); e != 0 && e != ENOENT)
        return Status::FromErrno(e, "remove '" + r.path + "/" + r.staging + "/" + Printable(n) +
                                        "' (a staging directory)");
    }
    return Status::Ok();
  }

  void RemoveStaging() {
    auto remove = [&](Root& r) {
      if (!r.staging_fd.ok()) return;
      (void)ClearStaging(r);
      r.staging_fd.Reset();
      if (lfs_.Unlink(r.fd.get(), r.staging, /*dir=*/true) == 0) (void)lfs_.Sync(r.fd.get());
    };
    for (auto& [oid, root] : roots_) remove(root);
    remove(dest_);
  }

  // --force over an old data directory: its pg_control goes first, durably,
  // so that PostgreSQL cannot start from a mix of old and new files.
  Status RemoveOldControlFile() {
    auto global = OpenDirBelow(lfs_, dest_.fd.get(), "global", dest_.path);
    if (!global.ok()) return Status::Ok();  // no such directory (or not one: MakeTree replaces it)
    if (int e = lfs_.Unlink(global->get(), "pg_control", false)) {
      if (e == ENOENT) return Status::Ok();
      if (e != EISDIR && e != EPERM)
        return Status::FromErrno(e, "remove '" + dest_.path + "/global/pg_control'");
      if (int e2 = lfs_.Unlink(global->get(), "pg_control", /*dir=*/true))
        return Status::FromErrno(e2, "remove '" + dest_.path + "/global/pg_control'");
    }
    if (int e = lfs_.Sync(global->get()))
      return Status::FromErrno(e, "fsync directory '" + dest_.path + "/global'");
    return Status::Ok();
  }

  // Where a manifest path goes: DEST, or a tablespace root for pg_tblspc/<oid>/...
  Result<std::pair<Root*, std::string>> Resolve(const std::string& path) {
    if (auto in = pg::InTablespace(path)) {
      for (auto& [o, root] : roots_) {
        if (std::to_string(o) == in->name)
          return std::pair<Root*, std::string>(&root, std::string(in->rest));
      }
      return Status::Corruption("manifest of backup '" + m_.name + "': '" + Printable(path) +
                                "' is in no listed tablespace");
    }
    return std::pair<Root*, std::string>(&dest_, path);
  }

  // Directories and links, parents first (the manifest is validated: every
  // parent is a listed directory or a tablespace link).
  Status MakeTree() {
    std::vector<const ManifestFile*> entries;
    for (const auto& f : m_.files) {
      if (f.type != FileType::kFile) entries.push_back(&f);
    }
    std::stable_sort(entries.begin(), entries.end(),
                     [](const ManifestFile* a, const ManifestFile* b) {
                       return std::count(a->path.begin(), a->path.end(), '/') <
                              std::count(b->path.begin(), b->path.end(), '/');
                     });
    for (const ManifestFile* f : entries) {
      bool tablespace_link = f->type == FileType::kLink && pg::IsTablespaceLinkPath(f->path);
      auto where = Resolve(f->path);
      if (!where.ok()) return where.status();
      auto [root, rel] = *where;
      size_t slash = rel.rfind('/');
      std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
      std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
      auto parent = OpenDirBelow(lfs_, root->fd.get(), dir, root->path);
      if (!parent.ok()) return parent.status();
      const std::string shown = root->path + "/" + Printable(rel);
      if (f->type == FileType::kDir) {
        if (int e = lfs_.Mkdir(parent->get(), name, 0700)) {
          if (e != EEXIST) return Status::FromErrno(e, "create directory '" + shown + "'");
          struct stat st;
          if (lfs_.Stat(parent->get(), name, &st) != 0 || !S_ISDIR(st.st_mode)) {
            // --force over an old restore: something else is in the way.
            int e2 = lfs_.Unlink(parent->get(), name, false);
            if (e2 == 0) e2 = lfs_.Mkdir(parent->get(), name, 0700);
            if (e2 != 0) return Status::FromErrno(e2, "replace '" + shown + "' with a directory");
          }
        }
        // Never setuid, setgid or sticky (AT_SYMLINK_NOFOLLOW is not
        // supported by fchmodat; the entry was just checked to be a directory).
        if (::fchmodat(parent->get(), name.c_str(), f->mode & 0777, 0) != 0) {
          return Status::FromErrno(errno, "chmod '" + shown + "'");
        }
        continue;
      }
      // A link: a tablespace points to its (possibly remapped) directory.
      std::string target = f->target;
      if (tablespace_link) {
        uint32_t oid = static_cast<uint32_t>(std::stoul(f->path.substr(10)));
        target = roots_.at(oid).path;
      }
      (void)lfs_.Unlink(parent->get(), name, false);  // --force: an old one in the way
      if (int e = lfs_.Symlink(target, parent->get(), name)) {
        return Status::FromErrno(e, "create link '" + shown + "'");
      }
    }
    return Status::Ok();
  }

  // A file of DEST's top level written by walferry: staged, fsynced, renamed.
  Status WriteFile(const std::string& name, const std::string& text) {
    const std::string shown = dest_.path + "/" + name;
    const std::string tmp = "extra." + name;
    (void)lfs_.Unlink(dest_.staging_fd.get(), tmp, false);
    int fd = -1;
    if (int e = lfs_.Create(dest_.staging_fd.get(), tmp, 0600, &fd))
      return Status::FromErrno(e, "create a staging file for '" + shown + "'");
    Fd file(fd);
    if (int e = lfs_.Write(fd, text.data(), text.size()))
      return Status::FromErrno(e, "write '" + shown + "'");
    if (int e = lfs_.Sync(fd)) return Status::FromErrno(e, "fsync '" + shown + "'");
    if (int e = lfs_.Rename(dest_.staging_fd.get(), tmp, dest_.fd.get(), name))
      return Status::FromErrno(e, "rename to '" + shown + "'");
    return Status::Ok();
  }

  // fsyncs every directory restored (its entries: files, links,
  // subdirectories), the tablespace directories and DEST.
  Status SyncDirs() {
    for (const auto& f : m_.files) {
      if (f.type != FileType::kDir) continue;
      auto where = Resolve(f.path);
      if (!where.ok()) return where.status();
      auto [root, rel] = *where;
      auto dir = OpenDirBelow(lfs_, root->fd.get(), rel, root->path);
      if (!dir.ok()) return dir.status();
      if (int e = lfs_.Sync(dir->get()))
        return Status::FromErrno(e, "fsync directory '" + root->path + "/" + Printable(rel) + "'");
    }
    for (const auto& [oid, root] : roots_) {
      if (int e = lfs_.Sync(root.fd.get()))
        return Status::FromErrno(e, "fsync directory '" + root.path + "'");
      if (int e = lfs_.Sync(root.staging_fd.get()))
        return Status::FromErrno(e, "fsync directory '" + root.path + "/" + root.staging + "'");
    }
    if (int e = lfs_.Sync(dest_.staging_fd.get()))
      return Status::FromErrno(e, "fsync directory '" + dest_.path + "/" + dest_.staging + "'");
    if (int e = lfs_.Sync(dest_.fd.get()))
      return Status::FromErrno(e, "fsync directory '" + dest_.path + "'");
    return Status::Ok();
  }

  // backup_label, tablespace_map (with the locations as restored) and the
  // recovery settings, each durable before the next; recovery.signal last.
  Status WriteExtras() {
    WF_RETURN_IF_ERROR(WriteFile("backup_label", m_.backup_label));
    if (!m_.tablespaces.empty()) {
      std::string map;
      for (const auto& t : m_.tablespaces)
        map += std::to_string(t.oid) + " " + roots_.at(t.oid).path + "\n";
      WF_RETURN_IF_ERROR(WriteFile("tablespace_map", map));
    }
    if (!cfg_.recovery) return Status::Ok();
    std::string conf = "\n# added by walferry backup-fetch of backup " + m_.name + "\n";
    conf += "restore_command = " + Quote(cfg_.restore_command) + "\n";
    if (!cfg_.target_time.empty())
      conf += "recovery_target_time = " + Quote(cfg_.target_time) + "\n";
    if (!cfg_.target_lsn.empty()) conf += "recovery_target_lsn = " + Quote(cfg_.target_lsn) + "\n";
    if (!cfg_.target_name.empty())
      conf += "recovery_target_name = " + Quote(cfg_.target_name) + "\n";
    if (!cfg_.target_xid.empty()) conf += "recovery_target_xid = " + Quote(cfg_.target_xid) + "\n";
    if (!cfg_.target_action.empty())
      conf += "recovery_target_action = " + Quote(cfg_.target_action) + "\n";
    std::string existing;
    {
      int fd = -1;
      if (lfs_.OpenRead(dest_.fd.get(), "postgresql.auto.conf", &fd) == 0) {
        Fd closer(fd);
        char buf[65536];
        size_t n = 0;
        while (lfs_.Read(fd, buf, sizeof buf, &n) == 0 && n > 0) existing.append(buf, n);
      }
    }
    WF_RETURN_IF_ERROR(WriteFile("postgresql.auto.conf", existing + conf));
    return WriteFile("recovery.signal", "");
  }

  Status Incomplete(const Status& why) {
    return why.Annotate("backup-fetch of '" + m_.name + "' into '" + cfg_.dest +
                        "' did not complete (the directory is not usable: it has no "
                        "global/pg_control)");
  }

  Storage& storage_;
  const FetchConfig& cfg_;
  fs::LocalFs& lfs_;  // every write, rename and fsync of the restore
  BackupManifest m_;
  Root dest_;
  std::string dest_canonical_;
  bool dest_exists_ = false;
  std::map<uint32_t, Root> roots_;
  std::mutex mu_;
  bool control_staged_ = false;
  std::string control_tmp_;
  Syncer syncer_;
};

}  // namespace

Result<int64_t> ParseTargetTime(std::string_view text) {
  std::string t(text);
  auto bad = [&] {
    return Status::InvalidArgument("--target-time '" + t +
                                   "' is not a time with a zone like '2026-11-20 14:03:00+00'")
        .WithHint(
            "give the UTC offset (+00, -05:30) or Z/UTC: which backup ends before the target "
            "depends on it");
  };
  int y, mo, d, h, mi, s, used = 0;
  char sep;
  if (std::sscanf(t.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s, &used) !=
          7 ||
      (sep != ' ' && sep != 'T') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
      s > 60) {
    return bad();
  }
  size_t at = static_cast<size_t>(used);
  if (at < t.size() && t[at] == '.') {
    ++at;
    while (at < t.size() && t[at] >= '0' && t[at] <= '9') ++at;
  }
  while (at < t.size() && t[at] == ' ') ++at;
  std::string zone = t.substr(at);
  int64_t offset = 0;
  if (zone == "Z" || zone == "UTC" || zone == "GMT") {
    offset = 0;
  } else if (!zone.empty() && (zone[0] == '+' || zone[0] == '-')) {
    std::string digits;
    for (char c : zone.substr(1)) {
      if (c >= '0' && c <= '9')
        digits += c;
      else if (c != ':')
        return bad();
    }
    if (digits.size() != 2 && digits.size() != 4) return bad();
    int oh = std::stoi(digits.substr(0, 2)),
        om = digits.size() == 4 ? std::stoi(digits.substr(2)) : 0;
    if (oh > 15 || om > 59) return bad();
    offset = (zone[0] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
  } else {
    return bad();
  }
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

Result<BackupManifest> ChooseBackup(const std::vector<BackupManifest>& backups,
                                    std::optional<int64_t> before_unix) {
  for (auto it = backups.rbegin(); it != backups.rend(); ++it) {
    if (!before_unix) return *it;
    auto stop = ParseUtc(it->stop_time);
    if (stop.ok() && *stop < *before_unix) return *it;
  }
  if (before_unix) {
    return Status::NotFound("no backup ended before the target time " + FormatUtc(*before_unix))
        .WithHint("'walferry backup-list' shows when each backup stopped");
  }
  return Status::NotFound("the repository has no backup yet")
      .WithHint("take one with 'walferry backup-push'");
}

Result<RecoveryTarget> ParseRecoveryTarget(const FetchConfig& config) {
  RecoveryTarget target;
  if (!config.target_time.empty()) {
    auto t = ParseTargetTime(config.target_time);
    if (!t.ok()) return t.status();
    target.time_unix = *t;
  }
  if (!config.target_lsn.empty()) {
    auto lsn = pg::ParseLsn(config.target_lsn);
    if (!lsn.ok()) {
      return Status::InvalidArgument("--target-lsn '" + config.target_lsn +
                                     "' is not an LSN like 0/3000028");
    }
    target.lsn = *lsn;
  }
  target.count = !config.target_time.empty() + !config.target_lsn.empty() +
                 !config.target_name.empty() + !config.target_xid.empty();
  return target;
}

Status CheckFetchConfig(const FetchConfig& config) {
  if (config.name != "LATEST") WF_RETURN_IF_ERROR(ValidateBackupName(config.name));
  auto target = ParseRecoveryTarget(config);
  if (!target.ok()) return target.status();
  if (target->count > 1)
    return Status::InvalidArgument(
        "give at most one of --target-time, --target-lsn, --target-name, --target-xid");
  if (!config.target_action.empty() && target->count == 0)
    return Status::InvalidArgument("--target-action needs a target");
  if (!config.recovery && target->count > 0)
    return Status::InvalidArgument("--no-recovery and a recovery target exclude each other");
  return Status::Ok();
}

namespace {

std::string ShellQuote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

}  // namespace

std::string RestoreCommand(const std::string& exe, const std::string& config_file,
                           const std::vector<CarriedOption>& options) {
  std::string cmd = ShellQuote(exe);
  if (!config_file.empty()) cmd += " --config " + ShellQuote(config_file);
  for (const CarriedOption& o : options) {
    if (o.secret) {
      log::Warn("restore_command will not carry " + o.name + " (a secret, given by " + o.where +
                "): put it in the config file or PostgreSQL's environment");
      continue;
    }
    cmd += " --" + o.name + "=" + ShellQuote(o.value);
  }
  return cmd + " archive-get %f %p";
}

Result<FetchResult> Fetch(Storage& storage, const FetchConfig& config) {
  BackupManifest m;
  if (config.name == "LATEST") {
    auto scan = ScanBackups(storage);
    if (!scan.ok()) return scan.status();
    for (const DamagedBackup& d : scan->damaged) {
      log::Warn("LATEST skips backup '" + d.name + "': " + d.status.message() +
                " ('walferry verify' reports every damaged backup)");
    }
    auto* list = &scan->backups;
    auto target = ParseRecoveryTarget(config);
    if (!target.ok()) return target.status();
    std::optional<int64_t> before = target->time_unix;
    if (target->lsn) {  // only backups consistent before the target LSN can reach it
      const uint64_t lsn = *target->lsn;
      std::erase_if(*list,
                    [&](const BackupManifest& b) { return *pg::ParseLsn(b.stop_lsn) > lsn; });
      if (list->empty()) {
        return Status::NotFound("no backup ended before the target LSN " + config.target_lsn)
            .WithHint("'walferry backup-list' shows each backup's stop LSN");
      }
    }
    auto chosen = ChooseBackup(*list, before);
    if (!chosen.ok()) return chosen.status();
    m = std::move(*chosen);
  } else {
    auto loaded = LoadManifest(storage, config.name);
    if (!loaded.ok()) return loaded.status();
    m = std::move(*loaded);
  }
  log::Info("restoring backup '" + m.name + "' (" + m.start_time + " .. " + m.stop_time +
            ") into '" + config.dest + "'");
  try {
    Fetcher f(storage, config);
    return f.Run(std::move(m));
  } catch (const std::exception& e) {  // a bug: a Status, never an escaped exception
    return Status::Internal("backup-fetch of '" + m.name + "': unexpected failure: " + e.what());
  }
}

}  // namespace walferry::backup
