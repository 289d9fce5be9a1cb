// spool_commands.cc — the CLI of the spool: archive-push through it (and its fast path),
// `walferry archive-push-worker` (the upload worker) and `walferry status`. Flags and
// configuration only; the protocol lives in src/spool/ (foreground.h, fast_path.h,
// worker.h, push_status.h), its guarantees in man/walferry-archive-push.1.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string_view>

#include "cli/commands.h"
#include "common/fs.h"
#include "common/log.h"
#include "spool/foreground.h"
#include "spool/push_status.h"
#include "spool/worker.h"

namespace walferry::cli {
namespace {

std::string Cwd() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? buf : ".";
}

spool::SpoolPushConfig SpoolPushConfigOf(const config::GlobalConfig& cfg) {
  spool::SpoolPushConfig c;
  c.spool_path = cfg.spool_path;
  c.repo = cfg.storage.repo;
  c.durability_spool = cfg.archive_durability == "spool";
  c.backlog_warn = cfg.spool_backlog_warn;
  return c;
}

struct PushSettings {
  Codec codec = Codec::kZstd;
  int level = 3;
};
Result<PushSettings> Settings(const config::GlobalConfig& cfg) {
  auto codec = ParseCodec(cfg.compression);
  if (!codec.ok()) return codec.status();
  return PushSettings{*codec,
                      cfg.compression_level < 0 ? DefaultLevel(*codec) : cfg.compression_level};
}

spool::FlagKind FlagKindOf(std::string_view name) {
  const config::OptionSpec* o = config::FindOption(name);
  if (o == nullptr) return spool::FlagKind::kUnknown;
  return o->type == config::OptionType::kBool ? spool::FlagKind::kBool : spool::FlagKind::kValue;
}

Status RunWorkerCommand(const Context& ctx, const std::string& pg_data, double idle_exit) {
  const auto& cfg = ctx.config;
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  if (cfg.spool_path.empty()) {
    return Status::InvalidArgument("archive-push-worker needs spool-path")
        .WithHint("set spool-path in the config file; archive-push starts the worker by itself");
  }
  auto settings = Settings(cfg);
  if (!settings.ok()) return settings.status();
  spool::WorkerOptions opt;
  opt.data_dir = pg_data.empty() ? Cwd() : fs::Resolve(pg_data, Cwd());
  opt.repo_url = cfg.storage.repo;
  opt.parallel = cfg.parallel;
  opt.codec = settings->codec;
  opt.level = settings->level;
  opt.idle_exit_seconds = idle_exit;
  opt.prometheus_file = cfg.spool_prometheus_file;
  return spool::ServeSpool(cfg.storage, cfg.spool_path, opt);
}

struct StatusArgs {
  bool json = false;
  std::string pg_data, prometheus;
};

Status RunStatus(const Context& ctx, const StatusArgs& args) {
  const auto& cfg = ctx.config;
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  if (cfg.spool_path.empty()) {
    return Status::InvalidArgument("walferry status reports the spool, and spool-path is not set")
        .WithHint("set spool-path (see walferry-archive-push(1), section SPOOL)");
  }
  const std::string data_dir = args.pg_data.empty() ? Cwd() : fs::Resolve(args.pg_data, Cwd());
  auto s = spool::ReadSpoolStatus(cfg.spool_path, cfg.storage.repo, data_dir);
  if (!s.ok()) return s.status();
  std::string out = args.json ? spool::StatusJson(*s) : spool::StatusText(*s);
  std::fputs(out.c_str(), ctx.out);
  if (!args.prometheus.empty())
    WF_RETURN_IF_ERROR(spool::WritePrometheusFile(fs::Resolve(args.prometheus, Cwd()), *s));
  return Status::Ok();
}

}  // namespace

// Only the plain shape of the command line (spool::ParseFastPathArgs), the environment
// and the config file: no CLI11, no connection.
std::optional<int> ArchivePushFastPath(int argc, char** argv) {
  std::optional<spool::FastPathArgs> args = spool::ParseFastPathArgs(argc, argv, FlagKindOf);
  if (!args) return std::nullopt;
  config::ConfigSources sources;
  sources.flags = std::move(args->flags);
  sources.env = config::ReadEnvironment();
  auto cfg = config::ResolveConfig(sources);
  if (!cfg.ok() || cfg->spool_path.empty() || cfg->storage.repo.empty()) return std::nullopt;
  log::SetCommand("archive-push");
  log::SetLevel(cfg->log_level);
  if (!spool::AlreadyConfirmed(SpoolPushConfigOf(*cfg), args->path, Cwd())) return std::nullopt;
  return static_cast<int>(ExitCode::kOk);
}

Status RunSpoolPush(const Context& ctx, const std::string& path, const std::string& data_dir) {
  const auto& cfg = ctx.config;
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  auto settings = Settings(cfg);
  if (!settings.ok()) return settings.status();
  spool::ForegroundConfig fc;
  fc.spool = SpoolPushConfigOf(cfg);
  fc.archive_timeout_seconds = cfg.archive_timeout_seconds;
  fc.codec = settings->codec;
  fc.level = settings->level;
  fc.worker_argv = WorkerArgv(cfg, {"archive-push-worker", "--pg-data", data_dir});
  fc.worker_env = WorkerEnv(cfg);
  fc.push_direct = [&] { return RunPushDirect(ctx, path, data_dir); };
  return spool::PushThroughSpool(fc, path, data_dir);
}

Handler BindArchivePushWorker(CLI::App& command) {
  auto pg_data = std::make_shared<std::string>();
  auto idle = std::make_shared<double>(30);
  command.add_option("--pg-data", *pg_data,
                     "PostgreSQL's data directory (default: the working directory)");
  command
      .add_option("--idle-exit", *idle,
                  "exit after this many seconds with nothing to upload (default: 30)")
      ->check(CLI::Range(0.0, 86400.0));
  return [pg_data, idle](const Context& ctx) { return RunWorkerCommand(ctx, *pg_data, *idle); };
}

Handler BindStatus(CLI::App& command) {
  auto args = std::make_shared<StatusArgs>();
  command.add_flag("--json", args->json, "print the status as one JSON object on stdout");
  command.add_option("--pg-data", args->pg_data,
                     "PostgreSQL's data directory (default: the working directory)");
  command.add_option("--prometheus", args->prometheus,
                     "also write the status to FILE in Prometheus text format");
  return [args](const Context& ctx) { return RunStatus(ctx, *args); };
}

}  // namespace walferry::cli
