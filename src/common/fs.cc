#include "common/fs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

namespace walferry::fs {

std::string Resolve(const std::string& path, const std::string& base) {
  if (path.empty() || path[0] == '/' || base.empty()) return path;
  return base + "/" + path;
}

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

Status SyncDir(LocalFs& fs, const std::string& dir) {
  int fd = -1;
  if (int e = fs.OpenDir(AT_FDCWD, dir, /*nofollow=*/false, &fd))
    return Status::FromErrno(e, "open directory '" + dir + "'");
  int err = fs.Sync(fd);
  (void)fs.Close(fd);
  if (err != 0) return Status::FromErrno(err, "fsync directory '" + dir + "'");
  return Status::Ok();
}

Status SyncDir(const std::string& dir) { return SyncDir(LocalFs::Posix(), dir); }

Status CreateDirs(LocalFs& fs, const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return Status::Ok();
    return Status::Io("'" + path + "' exists and is not a directory");
  }
  std::string parent = DirName(path);
  if (parent != path && parent != "." && parent != "/") WF_RETURN_IF_ERROR(CreateDirs(fs, parent));
  if (int e = fs.Mkdir(AT_FDCWD, path, 0750); e != 0 && e != EEXIST) {
    return Status::FromErrno(e, "create directory '" + path + "'");
  }
  return SyncDir(fs, parent);
}

Status CreateDirs(const std::string& path) { return CreateDirs(LocalFs::Posix(), path); }

Status WriteAll(int fd, const char* data, size_t n, const std::string& path) {
  if (int e = LocalFs::Posix().Write(fd, data, n))
    return Status::FromErrno(e, "write '" + path + "'");
  return Status::Ok();
}

std::string RandomToken() {
  thread_local std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(::getpid()));
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
  std::string s(12, 'x');
  for (auto& c : s) c = kChars[rng() % 36];
  return s;
}

}  // namespace walferry::fs
