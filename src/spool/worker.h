// worker.h — the spool's upload worker (`walferry archive-push-worker`).
//
// One worker per spool (worker.lock): it uploads staged copies, then the segments
// PostgreSQL marked .ready, in archive order, `parallel` at once; records each
// confirmation in ok/<name> only after the repository confirmed it, each failure in
// err/<name> (retried with a backoff); prunes ok files of segments PostgreSQL has marked
// .done; and exits after the idle time. The layout and the crash-safety rules:
// push_dirs.h. Every write goes through WorkerOptions::local_fs; the promises under
// power cuts are tested on the fault-injecting filesystem
// (tests/unit/spool/worker_power_cut_test.cc, RELIABILITY.md "Power cuts").
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

#include "spool/push_dirs.h"
#include "walferry/local_fs.h"
#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::spool {

struct WorkerOptions {
  std::string data_dir;  // PostgreSQL's data directory (pg_wal/ inside)
  std::string repo_url;
  int parallel = 4;
  Codec codec = Codec::kZstd;
  int level = 3;
  double idle_exit_seconds = 30;  // exit after this long with nothing to do
  double poll_seconds = 0.05;     // scan interval while idle
  std::string prometheus_file;    // empty: none
  // Every write into the spool (ok/, err/, state.json, worker.pid, removing staged
  // copies) goes through it; tests stand a fault-injecting one in (power cuts).
  fs::LocalFs* local_fs = &fs::LocalFs::Posix();
  // Set (by a signal handler or a test): finish the uploads under way and exit.
  const std::atomic<bool>* stop = nullptr;
  // Tests: the clock.
  std::function<int64_t()> now_ms;
};
struct WorkerReport {
  bool ran = false;  // false: another worker holds the lock
  int uploaded = 0, failed = 0;
};
// The worker: holds worker.lock, uploads staged copies then .ready segments
// in archive order, `parallel` at once, records each confirmation, prunes ok
// files of segments PostgreSQL has marked .done, exits after the idle time.
Result<WorkerReport> RunWorker(Storage& storage, const PushDirs& dirs,
                               const WorkerOptions& options);

// The worker as its own process: opens the spool at `spool_path` for options.repo_url
// and options.data_dir (absolute), and the repository through `storage`; SIGTERM and
// SIGINT finish the uploads under way, then it exits. Ok when another worker runs.
Status ServeSpool(const StorageConfig& storage, const std::string& spool_path,
                  WorkerOptions options);

// Whether a worker holds the lock, and its pid (0 when unknown).
struct WorkerInfo {
  bool running = false;
  long pid = 0;
  std::string data_dir;  // the data directory it serves ("" when unknown)
};
WorkerInfo ProbeWorker(const PushDirs& dirs);

}  // namespace walferry::spool
