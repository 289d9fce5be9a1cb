// push_dirs.h — the layout of the archive-push side of the spool, and listing it.
//
// Layout under SPOOL/<repo-id>/push/ (see spool.h for the rest):
//   ok/<name>        one per segment the repository confirmed (JSON, OkRecord):
//                    written (fs::WriteFileAtomically) only after the confirmation
//   err/<name>       the last failure of that segment (JSON, ErrRecord; its "code" is the
//                    Status code's name, Status::CodeId; older records hold a number)
//   staged/<name>    archive-durability=spool: the compressed object, waiting for
//                    upload (one JSON line of meta, then the object; staged.h)
//   worker.lock      flock(2) of the running worker; worker.pid its pid, then the
//                    data directory it serves (one worker per spool, for one pg_wal)
//   worker.log       the worker's own log (stdout and stderr)
//   state.json       last success, last error, recent uploads (WorkerState, records.h)
//   warned           mtime = the last backlog warning (rate limit)
//
// Who does what: records.h (the ok/, err/ and state.json codecs), staged.h (staged
// copies), worker.h (the upload worker), push_status.h (`walferry status`),
// foreground.h and fast_path.h (archive-push's side).
//
// Crash safety: every file above is written through a fs::LocalFs by temp file,
// fsync, rename, directory fsync (fs::WriteFileAtomically). An ok file exists only
// for content the repository has confirmed; a staged file is deleted only after its
// ok file is durable; a re-upload after a crash is a write-once Put that finds
// identical content (success). Temps ("<name>.wf-tmp.<pid>.<token>") are never
// listed as records or staged copies; those of dead processes are swept by the
// worker at start and every 10 s. Power-cut tests: tests/unit/spool/worker_power_cut_test.cc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "spool/spool.h"
#include "walferry/local_fs.h"
#include "walferry/status.h"

namespace walferry::spool {

struct PushDirs {
  SpoolDir spool;
  std::string push, ok, err, staged;
  std::string lock, pid, log, state, warned;
};
// The push/ paths of an opened spool; creates ok/, err/ and staged/ (durably, through `fs`).
Result<PushDirs> OpenPushDirs(const SpoolDir& spool, fs::LocalFs& fs = fs::LocalFs::Posix());
// The same paths without touching the disk (the fast path).
PushDirs PushPaths(const std::string& spool_path, const std::string& repo_url);

// PostgreSQL's archiving order: .history files first, then by name (oldest first).
bool ArchiveOrderLess(const std::string& a, const std::string& b);
// File names in `dir` ending in `suffix` (suffix removed), in archive order; never a
// hidden name or a temp name (fs::IsTempName).
std::vector<std::string> ListWithSuffix(const std::string& dir, const std::string& suffix);

// Unix time in milliseconds.
int64_t NowMs();

}  // namespace walferry::spool
