// archive_get.cc — archive-get with restore prefetch (see archive_get.h).
#include "spool/archive_get.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "archive/archive.h"
#include "common/fs.h"
#include "common/log.h"
#include "walferry/wal_name.h"

namespace walferry::spool {
namespace {

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

long Millis(std::chrono::steady_clock::time_point since) {
  return std::lround(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count());
}

// The spool for prefetch; nullopt when prefetch is off or the spool cannot be used (then
// archive-get works as without one). A spool inside pg_wal is a configuration error.
Result<std::optional<SpoolDir>> PrefetchSpool(const ArchiveGetConfig& cfg) {
  if (cfg.spool_path.empty() || cfg.prefetch <= 0) return std::optional<SpoolDir>();
  auto dir = OpenSpool(cfg.spool_path, cfg.repo, cfg.data_dir, *cfg.local_fs);
  if (dir.ok()) return std::optional<SpoolDir>(*dir);
  if (dir.status().code() == Status::Code::kInvalidArgument) return dir.status();
  log::Warn("restore prefetch off for this call: " + dir.status().ToString());
  return std::optional<SpoolDir>();
}

}  // namespace

Status ArchiveGet(const ArchiveGetConfig& cfg) {
  const auto start = std::chrono::steady_clock::now();
  const std::string& wal_name = cfg.wal_name;
  auto wal = ParseWalFileName(wal_name);
  if (!wal.ok()) return wal.status();
  std::optional<SpoolDir> spool;
  if (wal->kind == WalFileKind::kSegment) {  // never .history, .partial, .backup
    auto opened = PrefetchSpool(cfg);
    if (!opened.ok()) return opened.status();
    spool = std::move(*opened);
  }
  const std::string dest = fs::Resolve(cfg.path, cfg.data_dir);
  bool served = false;
  if (spool) {
    auto r = ServeFromSpool(*spool, wal_name, dest, 30, *cfg.local_fs);
    if (!r.ok())
      log::Warn("prefetched '" + wal_name +
                "' not used, fetching it instead: " + r.status().ToString());
    served = r.ok() && *r;
  }
  if (spool && !served) {
    // a new position (first call, a jump, a timeline switch): the worker starts on what
    // follows while this call fetches the segment itself
    Status s =
        RequestPrefetch(*spool, wal_name, "", cfg.worker_argv, cfg.worker_env, *cfg.local_fs);
    if (!s.ok()) log::Warn("restore prefetch not started: " + s.ToString());
  }
  if (served) {
    log::Info("restored '" + wal_name + "' to '" + cfg.path + "' from the prefetch spool (" +
              std::to_string(Millis(start)) + " ms)");
  } else {
    auto storage = cfg.open_storage();
    if (!storage.ok()) return storage.status();
    archive::GetConfig get{wal_name, cfg.path, cfg.data_dir};
    get.local_fs = cfg.local_fs;
    auto r = archive::Get(**storage, get);
    if (!r.ok()) return r.status();
    log::Info("restored '" + wal_name + "' to '" + cfg.path + "' (" + Mib(r->stored_size) + " -> " +
              Mib(r->size) + ", " + std::to_string(Millis(start)) + " ms)");
  }
  if (spool) {
    // The file is in place: whatever happens to prefetch no longer changes the outcome.
    Status s =
        RequestPrefetch(*spool, wal_name, dest, cfg.worker_argv, cfg.worker_env, *cfg.local_fs);
    if (!s.ok()) log::Warn("restore prefetch not started: " + s.ToString());
  }
  return Status::Ok();
}

Status ArchiveGetWorker(const ArchiveGetWorkerConfig& cfg) {
  if (cfg.spool_path.empty() || cfg.options.window <= 0) {
    return Status::InvalidArgument(
        "archive-get-worker needs spool-path and archive-get-prefetch above 0");
  }
  auto dir = OpenSpool(cfg.spool_path, cfg.repo, "", *cfg.options.local_fs);
  if (!dir.ok()) return dir.status();
  return RunPrefetchWorker(*dir, cfg.options, cfg.open_storage);
}

}  // namespace walferry::spool
