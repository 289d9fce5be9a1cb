// archive_commands.cc — `walferry archive-push PATH` and `walferry archive-get WALFILE PATH`,
// the commands PostgreSQL runs as archive_command and restore_command.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <memory>
#include <optional>
#include <vector>

#include "archive/archive.h"
#include "cli/commands.h"
#include "common/fs.h"
#include "common/log.h"
#include "spool/prefetch.h"
#include "walferry/wal_name.h"

namespace walferry::cli {
namespace {

std::string WorkingDirectory() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? buf : ".";
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string Mib(uint64_t bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  return buf;
}

long Millis(std::chrono::steady_clock::time_point since) {
  return std::lround(
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - since).count());
}

Result<std::unique_ptr<Storage>> Open(const config::GlobalConfig& cfg) {
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  return OpenStorage(cfg.storage);
}

Status RunPush(const Context& ctx, const std::string& path) {
  if (!ctx.config.spool_path.empty()) return RunSpoolPush(ctx, path, WorkingDirectory());
  return RunPushDirect(ctx, path, WorkingDirectory());
}
}  // namespace

Status RunPushDirect(const Context& ctx, const std::string& path, const std::string& data_dir) {
  const auto start = std::chrono::steady_clock::now();
  auto storage = Open(ctx.config);
  if (!storage.ok()) return storage.status();
  auto codec = ParseCodec(ctx.config.compression);
  if (!codec.ok()) return codec.status();
  archive::PushConfig pc;
  pc.path = path;
  pc.data_dir = data_dir;
  pc.codec = *codec;
  pc.level = ctx.config.compression_level < 0 ? DefaultLevel(*codec) : ctx.config.compression_level;
  auto r = archive::Push(**storage, pc);
  if (!r.ok()) return r.status();
  if (r->already_archived) {
    log::Warn("'" + path + "' was already archived in " + (*storage)->Describe() +
              " with identical content; nothing to do");
  } else {
    log::Info("archived '" + path + "' as '" + r->key + "' in " + (*storage)->Describe() + " (" +
              Mib(r->original_size) + " -> " + Mib(r->stored_size) + " " + CodecName(pc.codec) +
              ", " + std::to_string(Millis(start)) + " ms)");
  }
  return Status::Ok();
}

namespace {

// The spool for prefetch; nullopt when prefetch is off or the spool cannot be used (then
// archive-get works as without one). A spool inside pg_wal is a configuration error.
Result<std::optional<spool::SpoolDir>> PrefetchSpool(const config::GlobalConfig& cfg,
                                                     const std::string& data_dir) {
  if (cfg.spool_path.empty() || cfg.archive_get_prefetch <= 0)
    return std::optional<spool::SpoolDir>();
  auto dir = spool::OpenSpool(cfg.spool_path, cfg.storage.repo, data_dir);
  if (dir.ok()) return std::optional<spool::SpoolDir>(*dir);
  if (dir.status().code() == Status::Code::kInvalidArgument) return dir.status();
  log::Warn("restore prefetch off for this call: " + dir.status().ToString());
  return std::optional<spool::SpoolDir>();
}

Status RunGet(const Context& ctx, const std::string& wal_name, const std::string& path) {
  const auto start = std::chrono::steady_clock::now();
  WF_RETURN_IF_ERROR(config::RequireRepo(ctx.config));
  const std::string cwd = WorkingDirectory();
  auto wal = ParseWalFileName(wal_name);
  if (!wal.ok()) return wal.status();
  std::optional<spool::SpoolDir> spool;
  if (wal->kind == WalFileKind::kSegment) {  // never .history, .partial, .backup
    auto opened = PrefetchSpool(ctx.config, cwd);
    if (!opened.ok()) return opened.status();
    spool = std::move(*opened);
  }
  bool served = false;
  if (spool) {
    auto r = spool::ServeFromSpool(*spool, wal_name, fs::Resolve(path, cwd));
    if (!r.ok())
      log::Warn("prefetched '" + wal_name +
                "' not used, fetching it instead: " + r.status().ToString());
    served = r.ok() && *r;
  }
  if (spool && !served) {
    // a new position (first call, a jump, a timeline switch): the worker starts on what
    // follows while this call fetches the segment itself
    Status s =
        spool::RequestPrefetch(*spool, wal_name, "", WorkerArgv(ctx.config, {"archive-get-worker"}),
                               WorkerEnv(ctx.config));
    if (!s.ok()) log::Warn("restore prefetch not started: " + s.ToString());
  }
  if (served) {
    log::Info("restored '" + wal_name + "' to '" + path + "' from the prefetch spool (" +
              std::to_string(Millis(start)) + " ms)");
  } else {
    auto storage = Open(ctx.config);
    if (!storage.ok()) return storage.status();
    auto r = archive::Get(**storage, archive::GetConfig{wal_name, path, cwd});
    if (!r.ok()) return r.status();
    log::Info("restored '" + wal_name + "' to '" + path + "' (" + Mib(r->stored_size) + " -> " +
              Mib(r->size) + ", " + std::to_string(Millis(start)) + " ms)");
  }
  if (spool) {
    // The file is in place: whatever happens to prefetch no longer changes the outcome.
    Status s = spool::RequestPrefetch(*spool, wal_name, fs::Resolve(path, cwd),
                                      WorkerArgv(ctx.config, {"archive-get-worker"}),
                                      WorkerEnv(ctx.config));
    if (!s.ok()) log::Warn("restore prefetch not started: " + s.ToString());
  }
  return Status::Ok();
}

// `walferry archive-get-worker`: started by archive-get, never by hand.
Status RunGetWorker(const Context& ctx) {
  WF_RETURN_IF_ERROR(config::RequireRepo(ctx.config));
  if (ctx.config.spool_path.empty() || ctx.config.archive_get_prefetch <= 0) {
    return Status::InvalidArgument(
        "archive-get-worker needs spool-path and archive-get-prefetch above 0");
  }
  auto dir = spool::OpenSpool(ctx.config.spool_path, ctx.config.storage.repo, "");
  if (!dir.ok()) return dir.status();
  spool::PrefetchOptions options;
  options.window = ctx.config.archive_get_prefetch;
  options.parallel = ctx.config.parallel;
  const config::GlobalConfig& cfg = ctx.config;
  return spool::RunPrefetchWorker(*dir, options, [&cfg] { return OpenStorage(cfg.storage); });
}

}  // namespace

Handler BindArchivePush(CLI::App& command) {
  auto path = std::make_shared<std::string>();
  command.add_option("PATH", *path, "the WAL file to archive, as PostgreSQL passes %p")->required();
  return [path](const Context& ctx) { return RunPush(ctx, *path); };
}

Handler BindArchiveGet(CLI::App& command) {
  auto wal = std::make_shared<std::string>();
  auto path = std::make_shared<std::string>();
  command.add_option("WALFILE", *wal, "the WAL file PostgreSQL asks for (%f)")->required();
  command.add_option("PATH", *path, "where to write it (%p)")->required();
  return [wal, path](const Context& ctx) { return RunGet(ctx, *wal, *path); };
}

Handler BindArchiveGetWorker(CLI::App&) {
  return [](const Context& ctx) { return RunGetWorker(ctx); };
}

// PostgreSQL asks for files the archive does not have as a matter of course
// (.history files, the segment after the last one): "not found" is exit 1 and
// no error. Any other failure during archive recovery (recovery.signal without
// standby.signal) exits above 125: with 1..125 PostgreSQL would take it for
// the end of the archive, end recovery there and promote, silently dropping
// the rest of the WAL. A standby retries by itself, so it gets the plain code.
FailureOutcome ArchiveGetFailure(const Status& failure) {
  if (failure.IsNotFound()) {
    log::Debug(failure.message());
    return {ExitCode::kNotFound, false};
  }
  const bool archive_recovery = Exists("recovery.signal") && !Exists("standby.signal");
  if (!archive_recovery) return {ExitCodeFor(failure), true};
  log::Error(
      "archive-get failed during archive recovery: exiting " +
      std::to_string(static_cast<int>(ExitCode::kRecoveryMustStop)) +
      " so that PostgreSQL stops recovery here instead of ending it early; start it again once the "
      "problem below is fixed");
  return {ExitCode::kRecoveryMustStop, true};
}

}  // namespace walferry::cli
