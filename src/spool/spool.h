// spool.h — the spool directory and the few primitives every spool user needs.
//
// The spool (`spool-path`) is a directory on fast local disk that lets
// walferry run ahead of PostgreSQL: archive-push stages and confirms WAL in
// the background, archive-get prefetches the next segments. Its layout:
//
//   SPOOL/<repo-id>/          one per repository: confirmations never cross repositories
//     repo                    the repository URL, for humans
//     push/ ...               owned by the archive-push side (spool/push.h)
//     get/  ...               owned by the restore prefetch (spool/prefetch.h)
//     tmp/                    temp files (fs::TempName)
//
// <repo-id> is the first 16 hex digits of SHA-256 of the repository URL.
//
// Every durable write into the spool goes through a fs::LocalFs (the product's
// is LocalFs::Posix(); power-cut tests stand a FaultFs in) and is temp file
// ("<name>.wf-tmp.<pid>.<token>", fs::TempName), fsync, rename, fsync of the
// directory (fs::WriteFileAtomically), so a kill -9 or power loss leaves either
// the old state or the new one. Directory scans skip temp names
// (fs::IsTempName); the temps of dead processes are swept (fs::SweepStaleTemps).
// Locks are flock(2) locks, released by the kernel when their process dies: a
// killed worker never leaves a stale lock.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "walferry/local_fs.h"
#include "walferry/status.h"

namespace walferry::spool {

struct SpoolDir {
  std::string root;      // SPOOL as configured, made absolute
  std::string repo_dir;  // SPOOL/<repo-id>
  std::string push_dir;  // SPOOL/<repo-id>/push
  std::string get_dir;   // SPOOL/<repo-id>/get
  std::string tmp_dir;   // SPOOL/<repo-id>/tmp
};

// Opens the spool for one repository, creating the directories when needed.
// `data_dir` is PostgreSQL's data directory (archive_command's working
// directory); the spool is refused (kInvalidArgument) when it lies inside its
// pg_wal, symlinks resolved. Empty data_dir skips that check (operator commands).
// Errors: kInvalidArgument (relative path, inside pg_wal), kIo (cannot
// create; the message names the directory and the errno text). The directories and
// the `repo` file are made durable through `fs`.
Result<SpoolDir> OpenSpool(const std::string& spool_path, const std::string& repo_url,
                           const std::string& data_dir, fs::LocalFs& fs = fs::LocalFs::Posix());

// The <repo-id> directory name for a repository URL.
std::string RepoId(const std::string& repo_url);

// An exclusive flock(2) on `path` (created when missing). Released by the
// destructor, or by the kernel when the process dies.
class FileLock {
 public:
  FileLock() = default;
  FileLock(FileLock&& other) noexcept;
  FileLock& operator=(FileLock&& other) noexcept;
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;
  ~FileLock();

  // Ok(held = true) when taken, Ok(held = false) when another process holds it.
  static Result<FileLock> TryAcquire(const std::string& path);
  // Waits for the lock, at most `timeout_seconds`; kUnavailable on timeout.
  static Result<FileLock> Acquire(const std::string& path, double timeout_seconds);
  bool held() const { return fd_ >= 0; }
  void Release();

 private:
  int fd_ = -1;
};

// The running executable (/proc/self/exe), to start workers with.
std::string SelfExe();

// Starts argv[0] with argv as a detached process: double fork, new session,
// stdin from /dev/null, stdout and stderr appended to `log_path`, all other
// descriptors closed. Does not wait for it. Errors only when the first fork
// fails; the child's own failures show in `log_path`.
// `env` ("NAME=value") is added to the inherited environment, replacing variables of
// those names: secrets go there, never on the command line (ps shows argv to every user,
// /proc/PID/environ only to the process's own user).
Status SpawnDetached(const std::vector<std::string>& argv, const std::string& log_path,
                     const std::vector<std::string>& env = {});

}  // namespace walferry::spool
