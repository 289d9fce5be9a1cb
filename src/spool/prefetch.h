// prefetch.h — restore prefetch: archive-get runs ahead of PostgreSQL's recovery.
//
// archive-get of a WAL segment (with spool-path and archive-get-prefetch > 0)
// serves SPOOL/<repo-id>/get/<name> by rename when a prefetch worker put it
// there, else fetches it as usual; then it writes get/want ("<name> <segment
// size>") and starts the worker when none runs. The worker (holding
// get/worker.lock) keeps the next N segments of want's timeline in get/, each
// verified by archive::Get (temp file, fsync, rename), and discards every other
// segment file there. See man/walferry-archive-get.1, section SPOOL.
//
// Files in get/:
//   want          the segment PostgreSQL asked for last, and the segment size
//   worker.lock   flock held by the running worker
//   worker.log    the worker's stderr (worker.log.1: the previous one)
//   <segment>     prefetched, verified segments; "<segment>.wf-tmp.<pid>.<token>"
//                 (fs::TempName) while being written
//   <segment>.sum "<sha256> <size>" of the verified segment, written before it takes
//                 its name; archive-get checks the segment against it again right
//                 before serving it, and discards a damaged copy (then fetches directly)
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "spool/spool.h"
#include "walferry/local_fs.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::spool {

// ---- the window (segment arithmetic: pg/wal_segment.h)

// The `count` segments after `segment`, in order (pg::NextSegment).
Result<std::vector<std::string>> PrefetchWindow(std::string_view segment, uint32_t segment_size,
                                                int count);
// The segment size from the long page header at the start of the file at `path`,
// which holds WAL segment `segment`; the header is checked against that name
// first (pg::CheckWalPageHeader: kCorruption when it does not match).
Result<uint32_t> SegmentSizeOfFile(const std::string& path, const std::string& segment);

// ---- the request (get/want)

struct Want {
  std::string segment;
  uint32_t segment_size = 0;
};
Status WriteWant(const SpoolDir& spool, const Want& want, fs::LocalFs& fs = fs::LocalFs::Posix());
std::optional<Want> ReadWant(const SpoolDir& spool);

// ---- the foreground (archive-get)

// Moves get/<segment> to `dest` (absolute) when a worker runs and has it, after
// checking its size and SHA-256 against get/<segment>.sum once more: rename, or
// across filesystems copy to a temp file beside `dest` (checked again), fsync and
// rename; then fsync of dest's directory. A copy that fails the check is deleted
// and kCorruption returned (nothing changed at `dest`: fetch it directly). While the worker is
// still downloading it, waits for it (at most `wait_seconds`). Ok(false) when there is nothing to
// serve (then nothing changed at `dest`). Every change goes through `fs`; once it returned
// Ok(true), `dest` is durable with the verified bytes.
Result<bool> ServeFromSpool(const SpoolDir& spool, const std::string& segment,
                            const std::string& dest, double wait_seconds = 30,
                            fs::LocalFs& fs = fs::LocalFs::Posix());

// Records that recovery asks for `segment` and starts the worker with
// `worker_argv` when none runs. The segment size comes from the file at `dest`
// once it is in place, or (empty `dest`, before a direct fetch, so that the
// worker runs ahead meanwhile) from the previous request; without either it
// does nothing. Errors are for the log only.
Status RequestPrefetch(const SpoolDir& spool, const std::string& segment, const std::string& dest,
                       const std::vector<std::string>& worker_argv,
                       const std::vector<std::string>& worker_env = {},
                       fs::LocalFs& fs = fs::LocalFs::Posix());

// ---- the worker

struct PrefetchOptions {
  int window = 8;                // archive-get-prefetch
  int parallel = 4;              // downloads at once
  double idle_seconds = 10;      // exit when want has not changed for this long
  double end_retry_seconds = 5;  // after "not found", ask again at most this often
  double poll_seconds = 0.005;   // how often want is re-read when there is nothing to do
  // Every file the worker writes or removes in get/ goes through it (tests: power cuts).
  fs::LocalFs* local_fs = &fs::LocalFs::Posix();
};
using StorageFactory = std::function<Result<std::unique_ptr<Storage>>()>;

// The worker's life: takes get/worker.lock (Ok at once when another worker
// holds it), removes what a previous worker left, prefetches until idle, then
// removes its prefetched files and returns. Logs through log::.
Status RunPrefetchWorker(const SpoolDir& spool, const PrefetchOptions& options,
                         const StorageFactory& open_storage);

}  // namespace walferry::spool
