// push.h — the archive-push side of the spool: confirmations, staged copies,
// the upload worker, and the backlog status.
//
// Layout under SPOOL/<repo-id>/push/ (see spool.h for the rest):
//   ok/<name>        one per segment the repository confirmed (JSON, OkRecord):
//                    written with WriteFileAtomic only after the confirmation
//   err/<name>       the last failure of that segment (JSON, ErrRecord)
//   staged/<name>    archive-durability=spool: the compressed object, waiting for
//                    upload (one JSON line of StagedMeta, then the object)
//   worker.lock      flock(2) of the running worker; worker.pid its pid, then the
//                    data directory it serves (one worker per spool, for one pg_wal)
//   worker.log       the worker's own log (stdout and stderr)
//   state.json       last success, last error, recent uploads (WorkerState)
//   warned           mtime = the last backlog warning (rate limit)
//
// Crash safety: every file above is written by temp file, fsync, rename,
// directory fsync. An ok file exists only for content the repository has
// confirmed; a staged file is deleted only after its ok file is durable; a
// re-upload after a crash is a write-once Put that finds identical content
// (success). Stale temps are removed by the worker at start and every scan.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "archive/archive.h"
#include "spool/spool.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::spool {

struct PushDirs {
  SpoolDir spool;
  std::string push, ok, err, staged;
  std::string lock, pid, log, state, warned;
};
// The push/ paths of an opened spool; creates ok/, err/ and staged/.
Result<PushDirs> OpenPushDirs(const SpoolDir& spool);
// The same paths without touching the disk (the fast path).
PushDirs PushPaths(const std::string& spool_path, const std::string& repo_url);

struct OkRecord {
  std::string name, key, sha256, repo;
  uint64_t size = 0;         // original bytes
  uint64_t stored_size = 0;  // object bytes
  int64_t time_ms = 0;       // unix ms of the confirmation
  bool staged = false;       // uploaded from a staged copy
  archive::SourceStat source;
  std::string data_dir;  // whose pg_wal it came from ("" for staged copies and old records)
};
std::string EncodeOk(const OkRecord& r);
Result<OkRecord> DecodeOk(const std::string& text, const std::string& where);

struct ErrRecord {
  std::string name, message, hint;
  Status::Code code = Status::Code::kInternal;
  int exit_code = 0;
  int64_t time_ms = 0;
  Status ToStatus() const;  // the same code, the message naming the segment
};

// err/<name>, when the worker recorded a failure of that file.
std::optional<ErrRecord> LoadErr(const PushDirs& dirs, const std::string& name);

// PostgreSQL's archiving order: .history files first, then by name (oldest first).
bool ArchiveOrderLess(const std::string& a, const std::string& b);
// File names in `dir` ending in `suffix` (suffix removed), in archive order.
std::vector<std::string> ListWithSuffix(const std::string& dir, const std::string& suffix);

// The fast path: ok/<name> exists, names `repo_url`, and records exactly the
// stat (dev, ino, size, mtime) of `wal_path`. Reads two small things, opens
// no connection.
bool IsConfirmed(const PushDirs& dirs, const std::string& repo_url, const std::string& name,
                 const std::string& wal_path);
// As IsConfirmed, for a staged copy of the same file.
bool IsStaged(const PushDirs& dirs, const std::string& name, const std::string& wal_path);

// archive-durability=spool: writes the built object to staged/<name>
// durably. kIo (naming the spool path) when the spool is full or unwritable.
Status StageObject(const PushDirs& dirs, const archive::BuiltObject& built);

struct WorkerOptions {
  std::string data_dir;  // PostgreSQL's data directory (pg_wal/ inside)
  std::string repo_url;
  int parallel = 4;
  Codec codec = Codec::kZstd;
  int level = 3;
  double idle_exit_seconds = 30;  // exit after this long with nothing to do
  double poll_seconds = 0.05;     // scan interval while idle
  std::string prometheus_file;    // empty: none
  // Tests: stop (as a crash would) after this many completed steps; 0 = never.
  // Steps: 1 built, 2 stored, 3 ok written, 4 staged removed / err removed.
  int crash_after_steps = 0;
  // Set (by a signal handler or a test): finish the uploads under way and exit.
  const std::atomic<bool>* stop = nullptr;
  // Tests: the clock.
  std::function<int64_t()> now_ms;
};
struct WorkerReport {
  bool ran = false;  // false: another worker holds the lock
  int uploaded = 0, failed = 0;
  bool crashed = false;  // stopped by crash_after_steps
};
// The worker: holds worker.lock, uploads staged copies then .ready segments
// in archive order, `parallel` at once, records each confirmation, prunes ok
// files of segments PostgreSQL has marked .done, exits after the idle time.
Result<WorkerReport> RunWorker(Storage& storage, const PushDirs& dirs,
                               const WorkerOptions& options);

// Whether a worker holds the lock, and its pid (0 when unknown).
struct WorkerInfo {
  bool running = false;
  long pid = 0;
  std::string data_dir;  // the data directory it serves ("" when unknown)
};
WorkerInfo ProbeWorker(const PushDirs& dirs);

// The backlog, as `walferry status` reports it.
struct SpoolStatus {
  std::string spool_dir, repo, data_dir;
  WorkerInfo worker;
  int64_t pending_segments = 0, pending_bytes = 0, ready = 0, staged = 0;
  std::string oldest;  // "" when nothing is pending
  double oldest_age_seconds = 0;
  std::optional<OkRecord> last_success;
  std::optional<ErrRecord> last_error;
  double window_seconds = 60, segments_per_second = 0, bytes_per_second = 0;
  int64_t uploaded_segments = 0, uploaded_bytes = 0;  // since the spool was made
  int64_t now_ms = 0;
};
SpoolStatus ComputeStatus(const PushDirs& dirs, const std::string& repo_url,
                          const std::string& data_dir, int64_t now_ms);
std::string StatusJson(const SpoolStatus& s);        // one line, stable fields (walferry-status(1))
std::string StatusText(const SpoolStatus& s);        // for humans
std::string StatusPrometheus(const SpoolStatus& s);  // text format
// Pending segments only (cheaper: no state file), for the backlog warning.
int64_t CountPending(const PushDirs& dirs, const std::string& data_dir);

int64_t NowMs();

}  // namespace walferry::spool
