// fetch.cc — `walferry backup-fetch`: restore a base backup into a data
// directory, checking every byte, writing nowhere but DEST and the
// tablespace directories, and never through a symbolic link.
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <thread>

#include "backup/backup.h"
#include "common/fs.h"
#include "common/log.h"
#include "common/parallel.h"

namespace walferry::backup {
namespace {

constexpr char kTempSuffix[] = ".wf-fetch";
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
  Syncer() : thread_([this] { Loop(); }) {}
  ~Syncer() { (void)Finish(); }
  Syncer(const Syncer&) = delete;
  Syncer& operator=(const Syncer&) = delete;

  // Queues the open file `fd` (shown as `path` in errors) for fsync; waits
  // while kMaxQueued files are queued, which bounds the open descriptors.
  void Add(Fd fd, std::string path) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return queue_.size() < kMaxQueued || done_; });
    queue_.push_back({std::move(fd), std::move(path)});
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
  struct Item {
    Fd fd;
    std::string path;
  };

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
      if (::fsync(item.fd.get()) != 0 && first_.ok())
        first_ = Status::FromErrno(errno, "fsync '" + item.path + "'");
    }
  }

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool done_ = false;
  Status first_;  // written by the thread only; read after join
  std::thread thread_;
};

// Opens the directory `rel` below `base` one component at a time, never
// following a symbolic link ("" is `base` itself).
Result<Fd> OpenDirBelow(int base, const std::string& rel, const std::string& shown) {
  Fd cur(::dup(base));
  if (!cur.ok()) return Status::FromErrno(errno, "dup");
  size_t start = 0;
  while (start < rel.size()) {
    size_t end = rel.find('/', start);
    if (end == std::string::npos) end = rel.size();
    std::string part = rel.substr(start, end - start);
    int fd = ::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return Status::Corruption(
                   "'" + shown + "/" + rel.substr(0, end) +
                   "' is a symbolic link or not a directory: walferry never writes through one")
            .WithHint("restore into an empty directory");
      }
      return Status::FromErrno(errno, "open directory '" + shown + "/" + rel.substr(0, end) + "'");
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
};

class Fetcher {
 public:
  Fetcher(Storage& storage, const FetchConfig& cfg) : storage_(storage), cfg_(cfg) {}

  Result<FetchResult> Run(BackupManifest m) {
    m_ = std::move(m);
    WF_RETURN_IF_ERROR(PrepareDest());
    WF_RETURN_IF_ERROR(PrepareTablespaces());
    WF_RETURN_IF_ERROR(MakeTree());
    uint64_t total = 0;
    for (const auto& f : m_.files) total += f.size;
    if (cfg_.progress) cfg_.progress->total = total;
    Status s = ParallelFor(m_.objects.size(), cfg_.parallel, [&](size_t i) {
      Writer w(*this);
      return ReadObject(storage_, m_, static_cast<uint32_t>(i), &w);
    });
    if (!s.ok()) return Incomplete(s);
    for (const auto& f : m_.files) {  // empty files have no object
      if (f.type == FileType::kFile && !f.object) {
        Writer w(*this);
        Status e = w.Begin(f);
        if (e.ok()) e = w.End(f);
        if (!e.ok()) return Incomplete(e);
      }
    }
    Status extra = WriteExtras();
    if (!extra.ok()) return Incomplete(extra);
    Status synced = syncer_.Finish();
    if (synced.ok()) synced = SyncDirs();
    if (!synced.ok()) return Incomplete(synced);
    FetchResult r;
    r.manifest = m_;
    for (const auto& f : m_.files) {
      r.files += f.type == FileType::kFile;
      r.bytes += f.size;
    }
    return r;
  }

 private:
  class Writer final : public FileVisitor {
   public:
    explicit Writer(Fetcher& f) : f_(f) {}
    ~Writer() override {
      if (fd_.ok()) {
        fd_.Reset();
        ::unlinkat(parent_.get(), tmp_.c_str(), 0);
      }
    }
    Status Begin(const ManifestFile& file) override {
      auto where = f_.Resolve(file.path);
      if (!where.ok()) return where.status();
      auto [root, rel] = *where;
      size_t slash = rel.rfind('/');
      std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
      name_ = slash == std::string::npos ? rel : rel.substr(slash + 1);
      shown_ = root->path + "/" + rel;
      auto parent = OpenDirBelow(root->fd.get(), dir, root->path);
      if (!parent.ok()) return parent.status();
      parent_ = std::move(*parent);
      tmp_ = name_ + kTempSuffix;
      ::unlinkat(parent_.get(), tmp_.c_str(), 0);
      int fd = ::openat(parent_.get(), tmp_.c_str(),
                        O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0) return Status::FromErrno(errno, "create '" + shown_ + kTempSuffix + "'");
      fd_ = Fd(fd);
      written_ = started_ = 0;
      return Status::Ok();
    }
    Status Data(const char* data, size_t n) override {
      WF_RETURN_IF_ERROR(fs::WriteAll(fd_.get(), data, n, shown_));
      written_ += n;
      if (written_ - started_ >= kWriteBackBytes) StartWriteBack();
      if (f_.cfg_.progress) f_.cfg_.progress->done += n;
      return Status::Ok();
    }
    Status End(const ManifestFile& file) override {
      StartWriteBack();
      if (::fchmod(fd_.get(), file.mode & 07777) != 0)
        return Status::FromErrno(errno, "chmod '" + shown_ + "'");
      struct timespec times[2] = {{file.mtime, 0}, {file.mtime, 0}};
      if (::futimens(fd_.get(), times) != 0)
        return Status::FromErrno(errno, "set the time of '" + shown_ + "'");
      // Only a verified file takes its name (the visitor's End comes after the check).
      if (::renameat(parent_.get(), tmp_.c_str(), parent_.get(), name_.c_str()) != 0) {
        Status s = Status::FromErrno(errno, "rename to '" + shown_ + "'");
        fd_.Reset();
        ::unlinkat(parent_.get(), tmp_.c_str(), 0);
        return s;
      }
      f_.syncer_.Add(std::move(fd_), shown_);
      parent_.Reset();
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
    Fd parent_, fd_;
    std::string name_, tmp_, shown_;
    uint64_t written_ = 0, started_ = 0;  // bytes written; write-back started up to here
  };

  Status PrepareDest() {
    bool exists = false;
    bool empty = IsEmptyDir(cfg_.dest, &exists);
    if (exists && !empty && !cfg_.force) {
      return Status::InvalidArgument("'" + cfg_.dest + "' is not an empty directory")
          .WithHint(
              "restore into a new or empty directory, or pass --force to restore over its "
              "contents");
    }
    if (!exists) WF_RETURN_IF_ERROR(fs::CreateDirs(cfg_.dest));
    int fd = ::open(cfg_.dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open '" + cfg_.dest + "'");
    dest_.path = cfg_.dest;
    dest_.fd = Fd(fd);
    if (::fchmod(fd, 0700) != 0) return Status::FromErrno(errno, "chmod '" + cfg_.dest + "'");
    return Status::Ok();
  }

  Status PrepareTablespaces() {
    for (auto& [key, dir] : cfg_.tablespace_map) {
      bool known = std::any_of(
          m_.tablespaces.begin(), m_.tablespaces.end(),
          [&](const Tablespace& t) { return std::to_string(t.oid) == key || t.name == key; });
      if (!known) {
        return Status::InvalidArgument("--tablespace-map " + key + "=" + dir + ": backup '" +
                                       m_.name + "' has no tablespace with that OID or name")
            .WithHint("'walferry backup-list --json' lists each backup's tablespaces");
      }
    }
    for (const auto& t : m_.tablespaces) {
      std::string dir = t.location;
      auto by_oid = cfg_.tablespace_map.find(std::to_string(t.oid));
      auto by_name = cfg_.tablespace_map.find(t.name);
      if (by_oid != cfg_.tablespace_map.end())
        dir = by_oid->second;
      else if (!t.name.empty() && by_name != cfg_.tablespace_map.end())
        dir = by_name->second;
      if (dir.empty() || dir[0] != '/') {
        return Status::InvalidArgument("tablespace " + std::to_string(t.oid) + " ('" + t.name +
                                       "') would go to '" + dir +
                                       "', which is not an absolute path")
            .WithHint("remap it with --tablespace-map " + std::to_string(t.oid) + "=/absolute/dir");
      }
      bool exists = false;
      if (!IsEmptyDir(dir, &exists) && !cfg_.force) {
        return Status::InvalidArgument("tablespace " + std::to_string(t.oid) + " ('" + t.name +
                                       "') would be restored to '" + dir +
                                       "', which is not an empty directory")
            .WithHint("remap it with --tablespace-map " + std::to_string(t.oid) +
                      "=/empty/dir, or pass --force");
      }
      if (!exists) WF_RETURN_IF_ERROR(fs::CreateDirs(dir));
      int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
      if (fd < 0) return Status::FromErrno(errno, "open '" + dir + "'");
      if (::fchmod(fd, 0700) != 0) {
        Status s = Status::FromErrno(errno, "chmod '" + dir + "'");
        ::close(fd);
        return s;
      }
      Root r;
      r.path = dir;
      r.fd = Fd(fd);
      roots_[t.oid] = std::move(r);
    }
    return Status::Ok();
  }

  // Where a manifest path goes: DEST, or a tablespace root for pg_tblspc/<oid>/...
  Result<std::pair<Root*, std::string>> Resolve(const std::string& path) {
    if (path.starts_with("pg_tblspc/")) {
      size_t slash = path.find('/', 10);
      if (slash != std::string::npos) {
        std::string oid = path.substr(10, slash - 10);
        for (auto& [o, root] : roots_) {
          if (std::to_string(o) == oid)
            return std::pair<Root*, std::string>(&root, path.substr(slash + 1));
        }
        return Status::Corruption("manifest of backup '" + m_.name + "': '" + path +
                                  "' is in no listed tablespace");
      }
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
      bool tablespace_link = f->type == FileType::kLink && f->path.starts_with("pg_tblspc/") &&
                             f->path.find('/', 10) == std::string::npos;
      auto where = Resolve(f->path);
      if (!where.ok()) return where.status();
      auto [root, rel] = *where;
      size_t slash = rel.rfind('/');
      std::string dir = slash == std::string::npos ? "" : rel.substr(0, slash);
      std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
      auto parent = OpenDirBelow(root->fd.get(), dir, root->path);
      if (!parent.ok()) return parent.status();
      const std::string shown = root->path + "/" + rel;
      if (f->type == FileType::kDir) {
        if (::mkdirat(parent->get(), name.c_str(), 0700) != 0) {
          if (errno != EEXIST) return Status::FromErrno(errno, "create directory '" + shown + "'");
          struct stat st;
          if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
              !S_ISDIR(st.st_mode)) {
            // --force over an old restore: something else is in the way.
            if (::unlinkat(parent->get(), name.c_str(), 0) != 0 ||
                ::mkdirat(parent->get(), name.c_str(), 0700) != 0) {
              return Status::FromErrno(errno, "replace '" + shown + "' with a directory");
            }
          }
        }
        if (::fchmodat(parent->get(), name.c_str(), f->mode & 07777, 0) != 0) {
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
      ::unlinkat(parent->get(), name.c_str(), 0);  // --force: an old one in the way
      if (::symlinkat(target.c_str(), parent->get(), name.c_str()) != 0) {
        return Status::FromErrno(errno, "create link '" + shown + "'");
      }
    }
    return Status::Ok();
  }

  Status WriteFile(const std::string& name, const std::string& text) {
    ::unlinkat(dest_.fd.get(), name.c_str(), 0);
    int fd = ::openat(dest_.fd.get(), name.c_str(),
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FromErrno(errno, "create '" + dest_.path + "/" + name + "'");
    Fd file(fd);
    WF_RETURN_IF_ERROR(fs::WriteAll(fd, text.data(), text.size(), dest_.path + "/" + name));
    syncer_.Add(std::move(file), dest_.path + "/" + name);
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
      auto dir = OpenDirBelow(root->fd.get(), rel, root->path);
      if (!dir.ok()) return dir.status();
      if (::fsync(dir->get()) != 0)
        return Status::FromErrno(errno, "fsync directory '" + root->path + "/" + rel + "'");
    }
    for (const auto& [oid, root] : roots_) {
      if (::fsync(root.fd.get()) != 0)
        return Status::FromErrno(errno, "fsync directory '" + root.path + "'");
    }
    if (::fsync(dest_.fd.get()) != 0)
      return Status::FromErrno(errno, "fsync directory '" + dest_.path + "'");
    return Status::Ok();
  }

  // backup_label, tablespace_map (with the locations as restored) and the
  // recovery settings.
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
      int fd = ::openat(dest_.fd.get(), "postgresql.auto.conf", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        Fd closer(fd);
        char buf[65536];
        ssize_t n;
        while ((n = ::read(fd, buf, sizeof buf)) > 0) existing.append(buf, static_cast<size_t>(n));
      }
    }
    WF_RETURN_IF_ERROR(WriteFile("postgresql.auto.conf", existing + conf));
    return WriteFile("recovery.signal", "");
  }

  Status Incomplete(const Status& why) {
    return why.Annotate("backup-fetch of '" + m_.name + "' into '" + cfg_.dest +
                        "' did not complete (the directory is not usable)");
  }

  Storage& storage_;
  const FetchConfig& cfg_;
  BackupManifest m_;
  Root dest_;
  std::map<uint32_t, Root> roots_;
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

Result<FetchResult> Fetch(Storage& storage, const FetchConfig& config) {
  BackupManifest m;
  if (config.name == "LATEST") {
    auto list = ListBackups(storage);
    if (!list.ok()) return list.status();
    std::optional<int64_t> before;
    if (!config.target_time.empty()) {
      auto t = ParseTargetTime(config.target_time);
      if (!t.ok()) return t.status();
      before = *t;
    }
    if (!config.target_lsn.empty()) {  // only backups consistent before the target LSN can reach it
      auto target = ParseLsn(config.target_lsn);
      if (!target.ok()) return target.status();
      std::erase_if(*list,
                    [&](const BackupManifest& b) { return *ParseLsn(b.stop_lsn) > *target; });
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
  Fetcher f(storage, config);
  return f.Run(std::move(m));
}

}  // namespace walferry::backup
