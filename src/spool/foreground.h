// foreground.h — archive-push through the spool, the side PostgreSQL waits for.
//
// With archive-durability = remote (the default) archive-push makes sure the worker runs
// and waits for its confirmation of this very file (ok/<name> with the file's stat), at
// most archive-timeout; a worker that dies meanwhile is started again. With
// archive-durability = spool it stages a compressed copy durably and returns. Whenever
// the spool cannot do its part (unusable, full, a worker serving another data directory,
// a file PostgreSQL did not mark .ready) the file is pushed directly instead, so exit 0
// never rests on the spool alone unless spool durability was chosen. The mechanism and
// its guarantees: push_dirs.h, worker.h, man/walferry-archive-push.1 (section SPOOL).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "spool/fast_path.h"
#include "walferry/local_fs.h"
#include "walferry/pipeline.h"
#include "walferry/status.h"

namespace walferry::spool {

struct ForegroundConfig {
  SpoolPushConfig spool;
  double archive_timeout_seconds = 60;  // the wait for the worker's confirmation
  Codec codec = Codec::kZstd;           // of a staged copy
  int level = 3;
  // How to start the worker: its command line (argv[0] the executable) and the
  // variables added to its environment ("NAME=value"; the secrets go there).
  std::vector<std::string> worker_argv, worker_env;
  // archive-push of the same file without the spool: exit 0 only once the repository
  // confirmed it.
  std::function<Status()> push_direct;
  // The spool's directories, the staged copy and the free-space check go through it.
  fs::LocalFs* local_fs = &fs::LocalFs::Posix();
};

// archive-push of `path` (as PostgreSQL passed it, relative to `data_dir`) through the
// spool. Ok only when the repository confirmed the file (or, with durability_spool, it is
// staged durably); a failure recorded by the worker comes back with its own code.
Status PushThroughSpool(const ForegroundConfig& cfg, const std::string& path,
                        const std::string& data_dir);

}  // namespace walferry::spool
