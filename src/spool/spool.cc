#include "spool/spool.h"

#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <thread>

#include "common/crypto.h"
#include "common/fs.h"

namespace walferry::spool {
namespace {

// realpath() of `path`, or of its nearest existing ancestor with the rest appended.
std::string RealPathOfMaybeMissing(const std::string& path) {
  std::string head = path;
  std::string tail;
  while (!head.empty()) {
    char buf[PATH_MAX];
    if (::realpath(head.c_str(), buf) != nullptr) {
      std::string r = buf;
      if (!tail.empty()) r += (r == "/" ? "" : "/") + tail;
      return r;
    }
    auto pos = head.find_last_of('/');
    if (pos == std::string::npos || pos == 0) break;
    tail = head.substr(pos + 1) + (tail.empty() ? "" : "/" + tail);
    head = head.substr(0, pos);
  }
  return path;
}

bool IsInside(const std::string& path, const std::string& dir) {
  return path == dir || (path.size() > dir.size() && path.compare(0, dir.size(), dir) == 0 &&
                         path[dir.size()] == '/');
}

}  // namespace

std::string RepoId(const std::string& repo_url) {
  return crypto::Sha256Hex(repo_url).substr(0, 16);
}

Result<SpoolDir> OpenSpool(const std::string& spool_path, const std::string& repo_url,
                           const std::string& data_dir, fs::LocalFs& lfs) {
  if (spool_path.empty() || spool_path[0] != '/') {
    return Status::InvalidArgument("spool-path '" + spool_path + "' is not an absolute path")
        .WithHint("set spool-path to a directory on fast local disk, such as /var/spool/walferry");
  }
  std::string root = spool_path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  if (!data_dir.empty()) {
    std::string real_spool = RealPathOfMaybeMissing(root);
    std::string real_wal = RealPathOfMaybeMissing(fs::Resolve("pg_wal", data_dir));
    if (IsInside(real_spool, real_wal)) {
      return Status::InvalidArgument("spool-path '" + spool_path + "' lies inside pg_wal ('" +
                                     real_wal + "')")
          .WithHint("PostgreSQL owns pg_wal; put the spool in its own directory on local disk");
    }
  }
  SpoolDir d;
  d.root = root;
  d.repo_dir = root + "/" + RepoId(repo_url);
  d.push_dir = d.repo_dir + "/push";
  d.get_dir = d.repo_dir + "/get";
  d.tmp_dir = d.repo_dir + "/tmp";
  for (const std::string* dir : {&d.push_dir, &d.get_dir, &d.tmp_dir}) {
    Status s = fs::CreateDirs(lfs, *dir);
    if (!s.ok()) return s.Annotate("spool");
  }
  struct stat st;
  if (lfs.Stat(AT_FDCWD, d.repo_dir + "/repo", &st) != 0) {
    WF_RETURN_IF_ERROR(fs::WriteFileAtomically(lfs, d.repo_dir, "repo", repo_url + "\n"));
  }
  return d;
}

FileLock::FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

FileLock& FileLock::operator=(FileLock&& other) noexcept {
  if (this != &other) {
    Release();
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

FileLock::~FileLock() { Release(); }

void FileLock::Release() {
  if (fd_ >= 0) {
    ::close(fd_);  // drops the flock
    fd_ = -1;
  }
}

Result<FileLock> FileLock::TryAcquire(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) return Status::FromErrno(errno, "open lock file '" + path + "'");
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) return FileLock();
    return Status::FromErrno(err, "lock '" + path + "'");
  }
  FileLock lock;
  lock.fd_ = fd;
  return lock;
}

Result<FileLock> FileLock::Acquire(const std::string& path, double timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  for (;;) {
    Result<FileLock> lock = TryAcquire(path);
    if (!lock.ok() || lock->held()) return lock;
    if (std::chrono::steady_clock::now() >= deadline) {
      return Status::Unavailable("lock '" + path + "' still held by another process after " +
                                 std::to_string(timeout_seconds) + " s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::string SelfExe() {
  char buf[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return "walferry";
  return std::string(buf, static_cast<size_t>(n));
}

Status SpawnDetached(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::vector<std::string>& env) {
  if (argv.empty()) return Status::InvalidArgument("SpawnDetached: empty argv");
  // Everything the grandchild needs is prepared before fork: only
  // async-signal-safe calls run in between.
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  auto replaced = [&](const char* entry) {
    for (const std::string& e : env) {
      const size_t eq = e.find('=');
      if (eq != std::string::npos && std::strncmp(entry, e.c_str(), eq + 1) == 0) return true;
    }
    return false;
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    if (!replaced(*e)) envp.push_back(*e);
  }
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid < 0) return Status::FromErrno(errno, "fork a worker");
  if (pid == 0) {
    ::setsid();
    pid_t again = ::fork();
    if (again != 0) ::_exit(again < 0 ? 1 : 0);
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0640);
    if (out < 0) out = ::open("/dev/null", O_WRONLY);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(out, 2);
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);
    ::execve(args[0], args.data(), envp.data());
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return Status::Ok();
}

}  // namespace walferry::spool
