// posix_storage.cc — the file:// backend: a repository in a local or mounted directory.
//
// An object is a plain file at ROOT/KEY. A Put writes ROOT/.wf-tmp.d/RANDOM,
// fsyncs it, renames it over the key (or link()s it for only-if-absent, which
// fails atomically with EEXIST when the key exists), and fsyncs the key's
// directory. Temp files left by a crash are invisible to List and Get; the
// first Put of a process removes those older than an hour (the temp directory
// is small, so this costs nothing on the per-segment path).
// Directories are created as needed and never removed (an empty directory is
// harmless, and removing it would race with a concurrent Put into it).
// Symbolic links inside ROOT are never followed (ROOT itself may be one): a
// key is reached one directory at a time with O_NOFOLLOW, and a link, or a
// directory where an object should be, is damage to the layout (kCorruption),
// never "not found".
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <mutex>

#include "common/crypto.h"
#include "common/fs.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

constexpr char kTempPrefix[] = ".wf-tmp.";
constexpr char kTempDir[] = ".wf-tmp.d";
constexpr size_t kChunk = 1 << 20;

// An open descriptor, closed at scope end.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Fd& operator=(Fd&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

class PosixStorage final : public Storage {
 public:
  explicit PosixStorage(std::string root) : root_(std::move(root)) {}

  std::string Describe() const override { return "file://" + root_; }

  Result<PutResult> Put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    const std::string path = PathOf(key);
    const std::string dir = fs::DirName(path);
    auto op = [&](const std::string& what) {
      return "put '" + key + "' in " + Describe() + ": " + what;
    };
    WF_RETURN_IF_ERROR(fs::CreateDirs(dir).Annotate(op("create directory")));
    auto parent = OpenParent(key, "put");
    if (!parent.ok()) return parent.status();
    const std::string name = key.substr(key.rfind('/') + 1);
    struct stat existing;
    if (::fstatat(parent->get(), name.c_str(), &existing, AT_SYMLINK_NOFOLLOW) == 0) {
      if (!S_ISREG(existing.st_mode)) return Layout(key, existing, "put");
      if (options.if_absent) return Status::AlreadyExists(op("object already exists"));
    }
    const std::string tmp_dir = root_ + "/" + kTempDir;
    WF_RETURN_IF_ERROR(fs::CreateDirs(tmp_dir).Annotate(op("create temp directory")));
    std::call_once(stale_once_, [&] { RemoveStaleTemps(tmp_dir); });
    const std::string tmp = tmp_dir + "/" + fs::RandomToken() + fs::RandomToken();
    int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) return Status::FromErrno(errno, op("create temp file '" + tmp + "'"));
    auto fail = [&](Status s) {
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    };

    WF_RETURN_IF_ERROR(body.Rewind());
    crypto::Digest sha = crypto::Digest::Sha256();
    std::string buf(kChunk, '\0');
    uint64_t total = 0;
    for (;;) {
      auto n = body.Read(buf.data(), buf.size());
      if (!n.ok()) return fail(n.status().Annotate(op("read body")));
      if (*n == 0) break;
      sha.Update(buf.data(), *n);
      Status w = fs::WriteAll(fd, buf.data(), *n, tmp);
      if (!w.ok()) return fail(w.Annotate(op("write")));
      total += *n;
    }
    PutResult result{total, crypto::Hex(sha.Finish())};
    Status expected = CheckPutExpectations(result, options, "put '" + key + "' in " + Describe());
    if (!expected.ok()) return fail(expected);
    if (::fsync(fd) != 0) return fail(Status::FromErrno(errno, op("fsync '" + tmp + "'")));
    if (::close(fd) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Status::FromErrno(err, op("close '" + tmp + "'"));
    }
    if (options.if_absent) {
      // link() never replaces: of racing writers exactly one wins.
      int rc = ::linkat(AT_FDCWD, tmp.c_str(), parent->get(), name.c_str(), 0);
      int err = errno;
      ::unlink(tmp.c_str());
      if (rc != 0 && err == EEXIST) return Status::AlreadyExists(op("object already exists"));
      if (rc != 0) return Status::FromErrno(err, op("link into place"));
    } else if (::renameat(AT_FDCWD, tmp.c_str(), parent->get(), name.c_str()) != 0) {
      int err = errno;
      ::unlink(tmp.c_str());
      return Status::FromErrno(err, op("rename into place"));
    }
    if (::fsync(parent->get()) != 0)
      return Status::FromErrno(errno, op("make durable: fsync '" + dir + "'"));
    return result;
  }

  Status Get(const std::string& key, ByteSink& sink, std::optional<ByteRange> range) override {
    WF_RETURN_IF_ERROR(ValidateGet(key, range));
    const std::string path = PathOf(key);
    auto parent = OpenParent(key, "get");
    if (!parent.ok()) return parent.status();
    const std::string name = key.substr(key.rfind('/') + 1);
    int fd = ::openat(parent->get(), name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        return Status::NotFound("get '" + key + "': no such object");
      struct stat lst;
      if (errno == ELOOP && ::fstatat(parent->get(), name.c_str(), &lst, AT_SYMLINK_NOFOLLOW) == 0)
        return Layout(key, lst, "get");
      return Status::FromErrno(errno, "get '" + key + "': open '" + path + "'");
    }
    struct stat st;
    if (::fstat(fd, &st) != 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "get '" + key + "': stat '" + path + "'");
    }
    if (!S_ISREG(st.st_mode)) {
      ::close(fd);
      return Layout(key, st, "get");
    }
    uint64_t size = static_cast<uint64_t>(st.st_size);
    uint64_t off = 0, end = size;
    if (range) {
      if (range->offset >= size) {
        ::close(fd);
        return Status::InvalidArgument("get '" + key + "': range starts at " +
                                       std::to_string(range->offset) + ", object has " +
                                       std::to_string(size) + " bytes");
      }
      off = range->offset;
      if (range->length) end = std::min(size, off + *range->length);
    }
    std::string buf(kChunk, '\0');
    Status result;
    while (off < end) {
      ssize_t r = ::pread(fd, buf.data(), std::min<uint64_t>(buf.size(), end - off),
                          static_cast<off_t>(off));
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) {
        result = Status::FromErrno(errno, "get '" + key + "': read '" + path + "'");
        break;
      }
      if (r == 0) {
        result = Status::Unavailable("get '" + key + "': object shrank while reading");
        break;
      }
      result = sink.Write(buf.data(), static_cast<size_t>(r));
      if (!result.ok()) break;
      off += static_cast<uint64_t>(r);
    }
    ::close(fd);
    return result;
  }

  Result<ObjectInfo> Head(const std::string& key) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    auto parent = OpenParent(key, "head");
    if (!parent.ok()) return parent.status();
    struct stat st;
    if (::fstatat(parent->get(), key.substr(key.rfind('/') + 1).c_str(), &st,
                  AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        return Status::NotFound("head '" + key + "': no such object");
      return Status::FromErrno(errno, "head '" + key + "'");
    }
    if (!S_ISREG(st.st_mode)) return Layout(key, st, "head");
    return InfoOf(key, st);
  }

  Status List(const std::string& prefix,
              const std::function<Status(const ObjectInfo&)>& visit) override {
    // Walk only the deepest directory the prefix names.
    std::string start = prefix.substr(
        0, prefix.find_last_of('/') == std::string::npos ? 0 : prefix.find_last_of('/') + 1);
    std::vector<ObjectInfo> found;
    WF_RETURN_IF_ERROR(Walk(start, prefix, &found));
    std::sort(found.begin(), found.end(),
              [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
    for (const auto& info : found) WF_RETURN_IF_ERROR(visit(info));
    return Status::Ok();
  }

  Status Remove(const std::string& key) override {
    WF_RETURN_IF_ERROR(ValidateKey(key));
    const std::string path = PathOf(key);
    auto parent = OpenParent(key, "remove");
    if (!parent.ok()) return parent.status().IsNotFound() ? Status::Ok() : parent.status();
    const std::string name = key.substr(key.rfind('/') + 1);
    struct stat st;
    if (::fstatat(parent->get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
        !S_ISREG(st.st_mode))
      return Layout(key, st, "remove");
    if (::unlinkat(parent->get(), name.c_str(), 0) != 0) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
      return Status::FromErrno(errno, "remove '" + key + "' from " + Describe());
    }
    if (::fsync(parent->get()) != 0)
      return Status::FromErrno(errno, "remove '" + key + "': fsync '" + fs::DirName(path) + "'");
    return Status::Ok();
  }

  Status RemoveMany(const std::vector<std::string>& keys) override {
    for (const auto& k : keys) WF_RETURN_IF_ERROR(Remove(k));
    return Status::Ok();
  }

 private:
  std::string PathOf(const std::string& key) const { return root_ + "/" + key; }

  // Something that is not a plain file where an object is (a directory, a
  // symbolic link, a FIFO): the repository's layout is damaged.
  Status Layout(const std::string& key, const struct stat& st, const char* verb) const {
    const char* what = S_ISDIR(st.st_mode)   ? "a directory"
                       : S_ISLNK(st.st_mode) ? "a symbolic link"
                                             : "not a regular file";
    return Status::Corruption(std::string(verb) + " '" + key + "' in " + Describe() + ": '" +
                              PathOf(key) + "' is " + what +
                              ", not an object (walferry never follows links in a repository)")
        .WithHint(
            "the repository's layout is damaged: move that entry away, then run 'walferry verify'");
  }

  // The directory holding `key`, opened one component at a time below ROOT
  // without following a symbolic link. kNotFound when a component is missing
  // (or is a file); kCorruption when one is a link.
  Result<Fd> OpenParent(const std::string& key, const char* verb) const {
    Fd cur(::open(root_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (cur.get() < 0) {
      if (errno == ENOENT || errno == ENOTDIR)
        return Status::NotFound(std::string(verb) + " '" + key + "': no such object");
      return Status::FromErrno(errno, std::string(verb) + " '" + key + "': open '" + root_ + "'");
    }
    size_t start = 0;
    for (size_t slash = key.find('/'); slash != std::string::npos; slash = key.find('/', start)) {
      std::string part = key.substr(start, slash - start);
      int fd = ::openat(cur.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) {
        int err = errno;
        struct stat st;
        if ((err == ELOOP || err == ENOTDIR) &&
            ::fstatat(cur.get(), part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
            S_ISLNK(st.st_mode)) {
          return Layout(key.substr(0, slash), st, verb);
        }
        if (err == ENOENT || err == ENOTDIR)
          return Status::NotFound(std::string(verb) + " '" + key + "': no such object");
        return Status::FromErrno(
            err, std::string(verb) + " '" + key + "': open '" + PathOf(key.substr(0, slash)) + "'");
      }
      cur = Fd(fd);
      start = slash + 1;
    }
    return cur;
  }

  static ObjectInfo InfoOf(const std::string& key, const struct stat& st) {
    return ObjectInfo{key, static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime),
                      std::to_string(st.st_ino) + "-" + std::to_string(st.st_mtim.tv_sec) + "." +
                          std::to_string(st.st_mtim.tv_nsec)};
  }

  // Adds to *out every object under directory `rel` (relative, "" or ending in
  // '/') whose key starts with `prefix`.
  Status Walk(const std::string& rel, const std::string& prefix, std::vector<ObjectInfo>* out) {
    const std::string dir = rel.empty() ? root_ : root_ + "/" + rel.substr(0, rel.size() - 1);
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) {
      if (errno == ENOENT || errno == ENOTDIR) return Status::Ok();
      return Status::FromErrno(errno,
                               "list '" + prefix + "' in " + Describe() + ": open '" + dir + "'");
    }
    std::vector<std::string> subdirs;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || name.rfind(kTempPrefix, 0) == 0) continue;
      std::string key = rel + name;
      // Keep this entry only if it can hold keys matching the prefix.
      size_t common = std::min(key.size(), prefix.size());
      if (key.compare(0, common, prefix, 0, common) != 0) continue;
      struct stat st;
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (S_ISDIR(st.st_mode)) {
        subdirs.push_back(key + "/");
      } else if (S_ISREG(st.st_mode) && key.size() >= prefix.size()) {
        out->push_back(InfoOf(key, st));
      }
    }
    ::closedir(d);
    for (const auto& s : subdirs) WF_RETURN_IF_ERROR(Walk(s, prefix, out));
    return Status::Ok();
  }

  // Best effort: temp files of writers that crashed more than an hour ago.
  void RemoveStaleTemps(const std::string& dir) {
    DIR* d = ::opendir(dir.c_str());
    if (d == nullptr) return;
    time_t cutoff = ::time(nullptr) - 3600;
    while (struct dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      struct stat st;
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < cutoff) {
        ::unlinkat(::dirfd(d), e->d_name, 0);
      }
    }
    ::closedir(d);
  }

  std::string root_;
  std::once_flag stale_once_;
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenPosixStorage(const std::string& root) {
  if (root.empty() || root[0] != '/') {
    return Status::InvalidArgument("file repository path '" + root + "' is not absolute");
  }
  return std::unique_ptr<Storage>(new PosixStorage(root));
}

}  // namespace walferry
