// archive_get.h — `walferry archive-get` as a whole: restore prefetch through the spool
// around archive::Get of one file.
//
// A WAL segment (never .history, .partial or .backup) is served from the spool's get/
// directory when the prefetch worker has it (prefetch.h: ServeFromSpool); otherwise it is
// fetched directly (archive::Get: verified, temp file, rename) while the worker is asked to
// start on what follows. Once the file is in place the worker is told the new position;
// whatever happens to prefetch then no longer changes the outcome (it is logged only).
//
// Prefetch is on with a spool path and a window above 0. A spool that cannot be used makes
// prefetch off for this call (a warning), except a spool inside pg_wal: kInvalidArgument.
// Errors are those of archive::Get (kNotFound only when the repository lacks the file).
#pragma once

#include <string>
#include <vector>

#include "spool/prefetch.h"
#include "walferry/status.h"

namespace walferry::spool {

struct ArchiveGetConfig {
  std::string wal_name;    // %f
  std::string path;        // %p: relative to data_dir, or absolute
  std::string data_dir;    // the working directory PostgreSQL runs restore_command in
  std::string spool_path;  // empty: no spool, no prefetch
  std::string repo;        // the repository URL: names the spool's directory
  int prefetch = 0;        // archive-get-prefetch: segments fetched ahead; 0 = off
  // How the prefetch worker is started: its command line and extra environment.
  std::vector<std::string> worker_argv;
  std::vector<std::string> worker_env;
  StorageFactory open_storage;  // called only when the file is fetched directly
  // %p, the spool and the want file are written through it (tests: power cuts).
  fs::LocalFs* local_fs = &fs::LocalFs::Posix();
};

// Restores one WAL file to `path` (see above). Logs what it did at info level.
Status ArchiveGet(const ArchiveGetConfig& config);

struct ArchiveGetWorkerConfig {
  std::string spool_path;
  std::string repo;
  PrefetchOptions options;
  StorageFactory open_storage;
};

// `walferry archive-get-worker`: the prefetch worker archive-get starts (RunPrefetchWorker
// on the spool of `repo`). kInvalidArgument without a spool path or with a window of 0.
Status ArchiveGetWorker(const ArchiveGetWorkerConfig& config);

}  // namespace walferry::spool
