// local_fs.h — the local-filesystem seam: every write whose durability walferry
// promises (backup-fetch's data directory, archive-get's %p, the spool) goes
// through a LocalFs, so that a test can stand a fault-injecting one in
// (tests/support/fault_fs.h: fail the Nth fsync or rename, ENOSPC, power cut).
//
// The operations are POSIX's, one for one, relative to a directory descriptor
// (`at`; AT_FDCWD for a path) and never following a symbolic link in the last
// component unless said. Each returns an errno value: 0 is success. Callers
// turn it into a Status with the message they always gave (Status::FromErrno),
// so moving a call behind the seam changes no message.
//
// Thread safety: the POSIX implementation is stateless; any implementation
// must accept calls from several threads at once (backup-fetch writes in
// parallel and fsyncs on a thread of its own).
//
// Durability, the model the promises are written against (RELIABILITY.md,
// "Power cuts"): after a power cut, a file's data is what its last Sync()
// made durable, and a directory's entries (a create, rename, link, unlink or
// mkdir inside it) are what the directory's last Sync() made durable.
// Nothing else survives for certain.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "walferry/status.h"

namespace walferry::fs {

class LocalFs {
 public:
  virtual ~LocalFs() = default;

  // The real filesystem (stateless; lives for the whole process).
  static LocalFs& Posix();

  // open(at/name, O_RDONLY|O_DIRECTORY); with `nofollow` a symbolic link in
  // the last component is refused (ELOOP or ENOTDIR). *fd is the caller's.
  virtual int OpenDir(int at, const std::string& name, bool nofollow, int* fd) = 0;
  // open(at/name, O_WRONLY|O_CREAT|O_EXCL|O_NOFOLLOW): never an existing
  // file, never through a link. *fd is the caller's (close it with Close()).
  virtual int Create(int at, const std::string& name, mode_t mode, int* fd) = 0;
  // open(at/name, O_RDONLY|O_NOFOLLOW).
  virtual int OpenRead(int at, const std::string& name, int* fd) = 0;
  // All of data[0, n) at the file's offset (short writes and EINTR retried).
  virtual int Write(int fd, const char* data, size_t n) = 0;
  // read(2) once (EINTR retried); *got is 0 at the end of the file.
  virtual int Read(int fd, char* buf, size_t n, size_t* got) = 0;
  // fsync of a file (its data) or of a directory (its entries).
  virtual int Sync(int fd) = 0;
  virtual int Close(int fd) = 0;
  // renameat(2): replaces `to` atomically when it exists.
  virtual int Rename(int from_at, const std::string& from, int to_at, const std::string& to) = 0;
  // linkat(2): EEXIST when `to` exists (an atomic create-if-absent).
  virtual int Link(int from_at, const std::string& from, int to_at, const std::string& to) = 0;
  // unlinkat(2); `dir`: rmdir of an empty directory.
  virtual int Unlink(int at, const std::string& name, bool dir) = 0;
  virtual int Mkdir(int at, const std::string& name, mode_t mode) = 0;
  virtual int Symlink(const std::string& target, int at, const std::string& name) = 0;
  // fstatat(2) without following a link.
  virtual int Stat(int at, const std::string& name, struct stat* st) = 0;
  // The entry names of directory at/name, without "." and "..", in no order.
  virtual int List(int at, const std::string& name, std::vector<std::string>* names) = 0;
  // statvfs(2): the bytes an unprivileged writer may still use on the
  // filesystem that holds `path`.
  virtual int FreeBytes(const std::string& path, uint64_t* bytes) = 0;
};

// ---- one implementation of each durable-write pattern, on top of a LocalFs ----

// The one temp-name scheme: "<final>.wf-tmp.<pid>.<12 random [a-z0-9]>", in
// the directory of the final name (a rename cannot cross filesystems).
// PostgreSQL names no file like this, and the file is always created with
// O_EXCL (Create), so even a user's file that happens to match is never
// replaced: the caller gets EEXIST. `final_name` may be empty (a temp file
// that is not yet for any name: ".wf-tmp.<pid>.<token>").
std::string TempName(std::string_view final_name);
// Whether `name` is a TempName(...) (of any final name); its pid in *pid.
bool IsTempName(std::string_view name, long* pid = nullptr);

// Writes `data` to at/dir/name so that it appears whole or not at all and is
// durable on success: TempName(name) beside it, write, fsync, rename, fsync
// of the directory. On failure the temp file is removed; `name` is untouched.
// `dir` is a path ("" or "." for `at` itself) opened without following links.
Status WriteFileAtomically(LocalFs& fs, const std::string& dir, const std::string& name,
                           std::string_view data, mode_t mode = 0640);

// Reads all of `path` when it holds at most `limit` bytes; a larger file is
// kInvalidArgument ("'PATH' is larger than LIMIT bytes, the most walferry
// reads of it") before any of it is read, so a hostile or damaged file can
// never make walferry allocate its size. A missing file is a local error
// (kIo, as Status::FromErrno gives it), never kNotFound.
Result<std::string> ReadFileBounded(LocalFs& fs, const std::string& path, uint64_t limit);

// Removes the TempName files in directory `dir` whose process is gone (not
// this one, no live pid): left by a crash or a power cut. Only in directories
// walferry owns (the spool); never in a data directory, where a user's file
// may match. The count removed.
int SweepStaleTemps(LocalFs& fs, const std::string& dir);

}  // namespace walferry::fs
