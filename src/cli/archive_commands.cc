// archive_commands.cc — `walferry archive-push PATH` and `walferry archive-get WALFILE PATH`,
// the commands PostgreSQL runs as archive_command and restore_command.
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <chrono>
#include <cmath>
#include <memory>
#include <vector>

#include "archive/archive.h"
#include "cli/commands.h"
#include "common/log.h"
#include "spool/archive_get.h"

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
  archive::PushConfig pc;
  pc.path = path;
  pc.data_dir = data_dir;
  pc.codec = ctx.config.codec;
  pc.level = ctx.config.Level();
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

Status RunGet(const Context& ctx, const std::string& wal_name, const std::string& path) {
  const config::GlobalConfig& cfg = ctx.config;
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  spool::ArchiveGetConfig gc;
  gc.wal_name = wal_name;
  gc.path = path;
  gc.data_dir = WorkingDirectory();
  gc.spool_path = cfg.spool_path;
  gc.repo = cfg.storage.repo;
  gc.prefetch = cfg.archive_get_prefetch;
  gc.worker_argv = WorkerArgv(cfg, {"archive-get-worker"});
  gc.worker_env = WorkerEnv(cfg);
  gc.open_storage = [&cfg] { return Open(cfg); };
  return spool::ArchiveGet(gc);
}

// `walferry archive-get-worker`: started by archive-get, never by hand.
Status RunGetWorker(const Context& ctx) {
  const config::GlobalConfig& cfg = ctx.config;
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  spool::ArchiveGetWorkerConfig wc;
  wc.spool_path = cfg.spool_path;
  wc.repo = cfg.storage.repo;
  wc.options.window = cfg.archive_get_prefetch;
  wc.options.parallel = cfg.parallel;
  wc.open_storage = [&cfg] { return OpenStorage(cfg.storage); };
  return spool::ArchiveGetWorker(wc);
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
