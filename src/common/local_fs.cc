// local_fs.cc — the POSIX LocalFs and the durable-write patterns on top of any LocalFs.
#include "walferry/local_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/fs.h"

namespace walferry::fs {
namespace {

class PosixFs final : public LocalFs {
 public:
  int OpenDir(int at, const std::string& name, bool nofollow, int* fd) override {
    int flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
    return Fd(::openat(at, name.c_str(), flags), fd);
  }
  int Create(int at, const std::string& name, mode_t mode, int* fd) override {
    return Fd(
        ::openat(at, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode), fd);
  }
  int OpenRead(int at, const std::string& name, int* fd) override {
    return Fd(::openat(at, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC), fd);
  }
  int Write(int fd, const char* data, size_t n) override {
    while (n > 0) {
      ssize_t w = ::write(fd, data, n);
      if (w < 0) {
        if (errno == EINTR) continue;
        return errno;
      }
      data += w;
      n -= static_cast<size_t>(w);
    }
    return 0;
  }
  int Read(int fd, char* buf, size_t n, size_t* got) override {
    for (;;) {
      ssize_t r = ::read(fd, buf, n);
      if (r >= 0) {
        *got = static_cast<size_t>(r);
        return 0;
      }
      if (errno != EINTR) return errno;
    }
  }
  int Sync(int fd) override { return Rc(::fsync(fd)); }
  int Close(int fd) override { return Rc(::close(fd)); }
  int Rename(int from_at, const std::string& from, int to_at, const std::string& to) override {
    return Rc(::renameat(from_at, from.c_str(), to_at, to.c_str()));
  }
  int Link(int from_at, const std::string& from, int to_at, const std::string& to) override {
    return Rc(::linkat(from_at, from.c_str(), to_at, to.c_str(), 0));
  }
  int Unlink(int at, const std::string& name, bool dir) override {
    return Rc(::unlinkat(at, name.c_str(), dir ? AT_REMOVEDIR : 0));
  }
  int Mkdir(int at, const std::string& name, mode_t mode) override {
    return Rc(::mkdirat(at, name.c_str(), mode));
  }
  int Symlink(const std::string& target, int at, const std::string& name) override {
    return Rc(::symlinkat(target.c_str(), at, name.c_str()));
  }
  int Stat(int at, const std::string& name, struct stat* st) override {
    return Rc(::fstatat(at, name.c_str(), st, AT_SYMLINK_NOFOLLOW));
  }
  int List(int at, const std::string& name, std::vector<std::string>* names) override {
    int fd = ::openat(at, name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno;
    DIR* d = ::fdopendir(fd);
    if (d == nullptr) {
      int err = errno;
      ::close(fd);
      return err;
    }
    names->clear();
    while (dirent* e = ::readdir(d)) {
      if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
        names->emplace_back(e->d_name);
    }
    ::closedir(d);
    return 0;
  }
  int FreeBytes(const std::string& path, uint64_t* bytes) override {
    struct statvfs vfs;
    if (::statvfs(path.c_str(), &vfs) != 0) return errno;
    *bytes = static_cast<uint64_t>(vfs.f_bavail) * vfs.f_frsize;
    return 0;
  }

 private:
  static int Rc(int rc) { return rc == 0 ? 0 : errno; }
  static int Fd(int rc, int* fd) {
    if (rc < 0) return errno;
    *fd = rc;
    return 0;
  }
};

constexpr std::string_view kTempMark = ".wf-tmp.";
constexpr size_t kTokenLength = 12;

}  // namespace

LocalFs& LocalFs::Posix() {
  static PosixFs fs;
  return fs;
}

std::string TempName(std::string_view final_name) {
  return std::string(final_name) + std::string(kTempMark) + std::to_string(::getpid()) + "." +
         RandomToken();
}

bool IsTempName(std::string_view name, long* pid) {
  // "<final>.wf-tmp.<digits>.<12 [a-z0-9]>": parsed from the end, so that the
  // final name may hold anything (even ".wf-tmp.").
  if (name.size() < kTempMark.size() + 2 + kTokenLength) return false;
  std::string_view token = name.substr(name.size() - kTokenLength);
  for (char c : token) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  size_t dot = name.size() - kTokenLength - 1;
  if (name[dot] != '.') return false;
  size_t digits_end = dot, digits_begin = dot;
  while (digits_begin > 0 && name[digits_begin - 1] >= '0' && name[digits_begin - 1] <= '9')
    --digits_begin;
  if (digits_begin == digits_end || digits_end - digits_begin > 9) return false;
  if (digits_begin < kTempMark.size()) return false;
  if (name.substr(digits_begin - kTempMark.size(), kTempMark.size()) != kTempMark) return false;
  if (pid != nullptr)
    *pid = std::stol(std::string(name.substr(digits_begin, digits_end - digits_begin)));
  return true;
}

Status WriteFileAtomically(LocalFs& fs, const std::string& dir, const std::string& name,
                           std::string_view data, mode_t mode) {
  const std::string shown_dir = dir.empty() ? "." : dir;
  int dfd = -1;
  if (int e = fs.OpenDir(AT_FDCWD, shown_dir, /*nofollow=*/true, &dfd))
    return Status::FromErrno(e, "open directory '" + shown_dir + "'");
  const std::string tmp = TempName(name);
  const std::string shown_tmp = shown_dir + "/" + tmp;
  int fd = -1;
  Status s;
  if (int e = fs.Create(dfd, tmp, mode, &fd)) {
    s = Status::FromErrno(e, "create '" + shown_tmp + "'");
  } else {
    if (int e2 = fs.Write(fd, data.data(), data.size()))
      s = Status::FromErrno(e2, "write '" + shown_tmp + "'");
    if (s.ok())
      if (int e2 = fs.Sync(fd)) s = Status::FromErrno(e2, "fsync '" + shown_tmp + "'");
    if (int e2 = fs.Close(fd); e2 && s.ok()) s = Status::FromErrno(e2, "close '" + shown_tmp + "'");
    if (s.ok())
      if (int e2 = fs.Rename(dfd, tmp, dfd, name))
        s = Status::FromErrno(e2, "rename '" + shown_tmp + "' to '" + shown_dir + "/" + name + "'");
    if (!s.ok()) (void)fs.Unlink(dfd, tmp, false);
  }
  if (s.ok())
    if (int e = fs.Sync(dfd)) s = Status::FromErrno(e, "fsync directory '" + shown_dir + "'");
  (void)fs.Close(dfd);
  return s;
}

Result<std::string> ReadFileBounded(LocalFs& fs, const std::string& path, uint64_t limit) {
  int fd = -1;
  if (int e = fs.OpenRead(AT_FDCWD, path, &fd)) return Status::FromErrno(e, "open '" + path + "'");
  struct stat st;
  Status s;
  std::string out;
  if (::fstat(fd, &st) != 0) {
    s = Status::FromErrno(errno, "stat '" + path + "'");
  } else if (static_cast<uint64_t>(st.st_size) > limit) {
    s = Status::InvalidArgument("'" + path + "' is larger than " + std::to_string(limit) +
                                " bytes, the most walferry reads of it");
  } else {
    char buf[65536];
    for (;;) {
      size_t got = 0;
      if (int e = fs.Read(fd, buf, sizeof buf, &got)) {
        s = Status::FromErrno(e, "read '" + path + "'");
        break;
      }
      if (got == 0) break;
      if (out.size() + got > limit) {  // grew while being read
        s = Status::InvalidArgument("'" + path + "' is larger than " + std::to_string(limit) +
                                    " bytes, the most walferry reads of it");
        break;
      }
      out.append(buf, got);
    }
  }
  (void)fs.Close(fd);
  if (!s.ok()) return s;
  return out;
}

int SweepStaleTemps(LocalFs& fs, const std::string& dir) {
  std::vector<std::string> names;
  if (fs.List(AT_FDCWD, dir, &names) != 0) return 0;
  int removed = 0;
  for (const std::string& name : names) {
    long pid = 0;
    if (!IsTempName(name, &pid) || pid <= 0 || pid == ::getpid()) continue;
    if (::kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM) continue;  // still alive
    if (fs.Unlink(AT_FDCWD, dir + "/" + name, false) == 0) ++removed;
  }
  return removed;
}

}  // namespace walferry::fs
