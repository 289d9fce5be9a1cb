// fault_fs.h — a LocalFs for tests that forwards to the real filesystem (a test's
// temp directory) and injects faults:
//   - FailNth(op, n, err): the nth call of `op` fails with errno `err`, doing nothing;
//   - NoSpaceAfter(bytes): writes fail with ENOSPC once that many bytes were written
//     (the write that crosses the limit writes what fits, as a full disk does);
//   - power cuts: every mutating step (create, write, fsync, rename, link, unlink,
//     mkdir, symlink) is counted; CutAfterSteps(n) makes step n+1 and every later one
//     fail with EIO without doing anything (the machine is off), and PowerCut() then
//     puts the files back into the state a power cut leaves on ext4/xfs with default
//     options: a file's data is what its last fsync made durable (never synced: empty),
//     a directory holds the entries its last fsync made durable (creates, renames,
//     links, unlinks and mkdirs after it are undone; a directory whose entry in its
//     parent was never made durable disappears with everything in it).
// Directories that were never changed through the FaultFs are durable as they are.
// Not modelled: renaming a directory (its children keep their paths' state).
// Thread-safe: one mutex around every call (the real syscall included).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "walferry/local_fs.h"

namespace walferry::testing {

class FaultFs final : public fs::LocalFs {
 public:
  enum class Op { kCreate, kWrite, kSync, kRename, kLink, kUnlink, kMkdir, kSymlink };

  // Faults.
  void FailNth(Op op, int n, int err);
  void NoSpaceAfter(uint64_t bytes);
  void CutAfterSteps(long steps);
  // Undoes what was not durable (see above); afterwards the FaultFs works again,
  // with everything on disk durable.
  void PowerCut();

  long steps() const;      // mutating steps done (or refused after a cut)
  bool cut() const;        // a CutAfterSteps cut has happened
  int calls(Op op) const;  // calls of `op` so far
  uint64_t bytes_written() const;

  int OpenDir(int at, const std::string& name, bool nofollow, int* fd) override;
  int Create(int at, const std::string& name, mode_t mode, int* fd) override;
  int OpenRead(int at, const std::string& name, int* fd) override;
  int Write(int fd, const char* data, size_t n) override;
  int Read(int fd, char* buf, size_t n, size_t* got) override;
  int Sync(int fd) override;
  int Close(int fd) override;
  int Rename(int from_at, const std::string& from, int to_at, const std::string& to) override;
  int Link(int from_at, const std::string& from, int to_at, const std::string& to) override;
  int Unlink(int at, const std::string& name, bool dir) override;
  int Mkdir(int at, const std::string& name, mode_t mode) override;
  int Symlink(const std::string& target, int at, const std::string& name) override;
  int Stat(int at, const std::string& name, struct stat* st) override;
  int List(int at, const std::string& name, std::vector<std::string>* names) override;
  int FreeBytes(const std::string& path, uint64_t* bytes) override;

 private:
  enum class Kind { kFile, kDir, kLink };
  struct Entry {
    Kind kind = Kind::kFile;
    long id = 0;         // kFile: the inode
    std::string target;  // kLink
  };
  using Listing = std::map<std::string, Entry>;

  // 0 to go on; an errno to return without doing the step.
  int Step(Op op);
  std::string PathOf(int at, const std::string& name) const;
  long IdOf(const std::string& path);  // a file known or met now (its content durable)
  void Track(const std::string& dir);  // snapshots `dir` as durable before its first change
  Listing Snapshot(const std::string& dir);
  bool DurablyExists(const std::string& dir) const;
  void Restore(const std::string& dir, const Listing& want);

  fs::LocalFs& real_ = fs::LocalFs::Posix();
  mutable std::mutex mu_;
  // faults
  std::map<Op, std::pair<int, int>> fail_;  // op -> (nth call, errno)
  std::map<Op, int> calls_;
  std::optional<uint64_t> space_;
  uint64_t written_ = 0;
  long cut_after_ = -1, steps_ = 0;
  bool cut_ = false;
  // the durability model
  struct OpenFile {
    long id;
    ino_t ino;
    dev_t dev;
  };
  std::map<int, OpenFile> fd_id_;  // file descriptors Create() gave out -> inode

  std::map<std::string, long> cur_;  // a file's path -> inode, as it is now
  std::map<long, std::optional<std::string>> durable_data_;
  std::map<std::string, Listing> durable_dirs_;
  long next_id_ = 1;
};

}  // namespace walferry::testing
