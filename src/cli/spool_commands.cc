// spool_commands.cc — archive-push through the spool (the foreground side),
// `walferry archive-push-worker` (the upload worker) and `walferry status`.
// The mechanism and its guarantees: spool/push.h, man/walferry-archive-push.1.
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <string_view>
#include <thread>

#include "archive/archive.h"
#include "cli/commands.h"
#include "common/fs.h"
#include "common/log.h"
#include "spool/push.h"

namespace walferry::cli {
namespace {

std::string BaseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Cwd() {
  char buf[4096];
  return ::getcwd(buf, sizeof buf) ? buf : ".";
}

Status EnsureWorker(const config::GlobalConfig& cfg, const spool::PushDirs& dirs,
                    const std::string& data_dir) {
  if (spool::ProbeWorker(dirs).running) return Status::Ok();
  struct stat st;
  if (::stat(dirs.log.c_str(), &st) == 0 && st.st_size > (8 << 20)) {
    ::rename(dirs.log.c_str(), (dirs.log + ".old").c_str());  // keeps the log bounded: 2 x 8 MiB
  }
  log::Debug("starting the spool worker (log: '" + dirs.log + "')");
  return spool::SpawnDetached(WorkerArgv(cfg, {"archive-push-worker", "--pg-data", data_dir}),
                              dirs.log, WorkerEnv(cfg));
}

// " (worker log: <its last line>)", or "".
std::string LastLogLine(const std::string& path) {
  std::ifstream in(path);
  std::string line, last;
  while (std::getline(in, line)) {
    if (!line.empty()) last = line;
  }
  return last.empty() ? "" : " (worker log: " + last + ")";
}

// Free bytes on the spool's filesystem (-1 when unknown).
int64_t FreeBytes(const std::string& dir) {
  struct statvfs vfs;
  if (::statvfs(dir.c_str(), &vfs) != 0) return -1;
  return static_cast<int64_t>(vfs.f_bavail) * static_cast<int64_t>(vfs.f_frsize);
}

// A WARNING in PostgreSQL's log when the backlog reaches spool-backlog-warn,
// at most once a minute (the mtime of push/warned).
void MaybeWarnBacklog(const config::GlobalConfig& cfg, const spool::PushDirs& dirs,
                      const std::string& data_dir) {
  if (cfg.spool_backlog_warn <= 0) return;
  struct stat st;
  if (::stat(dirs.warned.c_str(), &st) == 0 && st.st_mtime + 60 > ::time(nullptr))
    return;  // warned recently
  auto ready = spool::ListWithSuffix(data_dir + "/pg_wal/archive_status", ".ready");
  if (static_cast<int>(ready.size() + spool::ListWithSuffix(dirs.staged, "").size()) <
      cfg.spool_backlog_warn) {
    return;
  }
  int64_t pending = spool::CountPending(dirs, data_dir);
  if (pending < cfg.spool_backlog_warn) return;
  if (!spool::WriteFileAtomic(dirs.push, "warned", "").ok()) return;
  log::Warn("spool backlog: " + std::to_string(pending) + " WAL files wait for repository " +
            cfg.storage.repo + " (spool-backlog-warn = " + std::to_string(cfg.spool_backlog_warn) +
            "); oldest: " + (ready.empty() ? std::string("a staged copy") : ready.front()) +
            "; run 'walferry status' for details");
}

Status DirectPush(const Context& ctx, const std::string& path, const std::string& data_dir,
                  const std::string& why, bool is_error = true) {
  const std::string m = why + "; archiving '" + BaseName(path) + "' directly to " +
                        ctx.config.storage.repo +
                        ", without the spool (exit 0 only once the repository confirms it)";
  if (is_error) {
    log::Error(m);
  } else {
    log::Info(m);
  }
  return RunPushDirect(ctx, path, data_dir);
}

// realpath(3) of `path`, or `path` itself when it cannot be resolved.
std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// The running worker serves another data directory (one spool, two clusters on one
// host: a promoted PITR copy beside its origin). It never looks at our pg_wal, so
// waiting for it would only run into archive-timeout.
std::optional<std::string> WorkerServesAnother(const spool::PushDirs& dirs,
                                               const std::string& data_dir) {
  spool::WorkerInfo w = spool::ProbeWorker(dirs);
  if (!w.running || w.data_dir.empty() || RealPath(w.data_dir) == RealPath(data_dir))
    return std::nullopt;
  return "the spool worker (pid " + std::to_string(w.pid) + ") serves another data directory ('" +
         w.data_dir + "')";
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

// Remote durability: wait for the worker's confirmation of this very file.
Status WaitForConfirmation(const Context& ctx, const spool::PushDirs& dirs, const std::string& name,
                           const std::string& wal_path, const std::string& data_dir) {
  const auto& cfg = ctx.config;
  const auto start = std::chrono::steady_clock::now();
  const int64_t start_ms = spool::NowMs();
  const auto deadline =
      start + std::chrono::milliseconds(static_cast<int64_t>(cfg.archive_timeout_seconds * 1000));
  auto next_probe = start + std::chrono::milliseconds(500);
  int spawns = 0;
  for (int i = 0;; ++i) {
    if (spool::IsConfirmed(dirs, cfg.storage.repo, name, wal_path)) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      log::Info("archived '" + name + "' in " + cfg.storage.repo + " through the spool (" +
                std::to_string(ms.count()) + " ms)");
      return Status::Ok();
    }
    auto err = spool::LoadErr(dirs, name);
    if (err && err->time_ms >= start_ms) return err->ToStatus();
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Status::Unavailable(
                 "no confirmation of '" + name + "' from the spool worker within " +
                 std::to_string(static_cast<int>(cfg.archive_timeout_seconds)) + " s" +
                 (err ? " (its last error: " + err->message + ")" : LastLogLine(dirs.log)))
          .WithHint("see 'walferry status' and the worker's log '" + dirs.log +
                    "'; archive-timeout sets the wait");
    }
    if (now >= next_probe) {  // a worker killed meanwhile is started again
      next_probe = now + std::chrono::milliseconds(500);
      if (auto other = WorkerServesAnother(dirs, data_dir))
        return DirectPush(ctx, wal_path, data_dir, *other, false);
      if (!spool::ProbeWorker(dirs).running && spawns < 20) {
        ++spawns;
        WF_RETURN_IF_ERROR(EnsureWorker(cfg, dirs, data_dir));
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(i < 50 ? 2 : 10));
  }
}

std::atomic<bool> g_worker_stop{false};
extern "C" void OnWorkerSignal(int) { g_worker_stop = true; }

Status RunWorkerCommand(const Context& ctx, const std::string& pg_data, double idle_exit) {
  const auto& cfg = ctx.config;
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  if (cfg.spool_path.empty()) {
    return Status::InvalidArgument("archive-push-worker needs spool-path")
        .WithHint("set spool-path in the config file; archive-push starts the worker by itself");
  }
  const std::string data_dir = pg_data.empty() ? Cwd() : fs::Resolve(pg_data, Cwd());
  auto sp = spool::OpenSpool(cfg.spool_path, cfg.storage.repo, data_dir);
  if (!sp.ok()) return sp.status();
  auto dirs = spool::OpenPushDirs(*sp);
  if (!dirs.ok()) return dirs.status();
  auto settings = Settings(cfg);
  if (!settings.ok()) return settings.status();
  auto storage = OpenStorage(cfg.storage);
  if (!storage.ok()) return storage.status();
  spool::WorkerOptions opt;
  opt.data_dir = data_dir;
  opt.repo_url = cfg.storage.repo;
  opt.parallel = cfg.parallel;
  opt.codec = settings->codec;
  opt.level = settings->level;
  opt.idle_exit_seconds = idle_exit;
  opt.prometheus_file = cfg.spool_prometheus_file;
  opt.stop = &g_worker_stop;
  struct sigaction sa {};
  sa.sa_handler = OnWorkerSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  auto r = spool::RunWorker(**storage, *dirs, opt);
  if (!r.ok()) return r.status();
  if (!r->ran)
    log::Debug("another spool worker runs already ('" + dirs->lock + "'); nothing to do");
  return Status::Ok();
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
  if (::access((data_dir + "/pg_wal/archive_status").c_str(), R_OK) != 0) {
    return Status::FromErrno(errno, "read '" + data_dir + "/pg_wal/archive_status'")
        .WithHint("run in PostgreSQL's data directory or pass --pg-data");
  }
  spool::PushDirs dirs = spool::PushPaths(cfg.spool_path, cfg.storage.repo);
  spool::SpoolStatus s = spool::ComputeStatus(dirs, cfg.storage.repo, data_dir, spool::NowMs());
  std::string out = args.json ? spool::StatusJson(s) : spool::StatusText(s);
  std::fputs(out.c_str(), ctx.out);
  if (!args.prometheus.empty()) {
    const std::string file = fs::Resolve(args.prometheus, Cwd());
    WF_RETURN_IF_ERROR(
        spool::WriteFileAtomic(fs::DirName(file), BaseName(file), spool::StatusPrometheus(s)));
  }
  return Status::Ok();
}

// The fast path: the segment is confirmed already (or staged, in spool mode). No
// connection, no repository identity: a stat, one small read, one JSON parse.
bool AlreadyConfirmed(const config::GlobalConfig& cfg, const std::string& path,
                      const std::string& data_dir) {
  const std::string name = BaseName(path);
  const std::string wal_path = fs::Resolve(path, data_dir);
  spool::PushDirs fast = spool::PushPaths(cfg.spool_path, cfg.storage.repo);
  const bool spool_mode = cfg.archive_durability == "spool";
  if (!spool::IsConfirmed(fast, cfg.storage.repo, name, wal_path) &&
      !(spool_mode && spool::IsStaged(fast, name, wal_path))) {
    return false;
  }
  log::Debug("'" + name + "' is confirmed in the spool already");
  MaybeWarnBacklog(cfg, fast, data_dir);
  return true;
}

}  // namespace

std::optional<int> ArchivePushFastPath(int argc, char** argv) {
  // Only the plain shape: global options as --name=value or --name value (names from the
  // option table; booleans only with '='), the command, one path. Anything else, and any
  // doubt, goes to the full command line parser.
  config::ConfigSources sources;
  std::string path;
  bool command = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("--")) {
      const size_t eq = a.find('=');
      const std::string name(
          a.substr(2, eq == std::string_view::npos ? std::string_view::npos : eq - 2));
      const config::OptionSpec* o = config::FindOption(name);
      if (o == nullptr || sources.flags.count(name) != 0) return std::nullopt;
      if (eq != std::string_view::npos) {
        sources.flags[name] = std::string(a.substr(eq + 1));
      } else if (o->type != config::OptionType::kBool && i + 1 < argc) {
        sources.flags[name] = argv[++i];
      } else {
        return std::nullopt;
      }
    } else if (a.starts_with("-")) {
      return std::nullopt;
    } else if (!command) {
      if (a != "archive-push") return std::nullopt;
      command = true;
    } else if (path.empty()) {
      path = a;
    } else {
      return std::nullopt;
    }
  }
  if (!command || path.empty()) return std::nullopt;
  sources.env = config::ReadEnvironment();
  auto cfg = config::ResolveConfig(sources);
  if (!cfg.ok() || cfg->spool_path.empty() || cfg->storage.repo.empty()) return std::nullopt;
  log::SetCommand("archive-push");
  log::SetLevel(cfg->log_level);
  if (!AlreadyConfirmed(*cfg, path, Cwd())) return std::nullopt;
  return static_cast<int>(ExitCode::kOk);
}

Status RunSpoolPush(const Context& ctx, const std::string& path, const std::string& data_dir) {
  const auto& cfg = ctx.config;
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  const std::string name = BaseName(path);
  if (AlreadyConfirmed(cfg, path, data_dir)) return Status::Ok();
  const std::string wal_path = fs::Resolve(path, data_dir);
  const bool spool_mode = cfg.archive_durability == "spool";
  struct stat wal_st;
  if (::stat(wal_path.c_str(), &wal_st) !=
      0) {  // a local error (exit 8 or 5), never a wait for the worker
    return Status::FromErrno(errno, "archive-push: stat '" + wal_path + "'")
        .WithHint("archive_command must pass %p as PostgreSQL expands it; no file was archived");
  }
  auto settings = Settings(cfg);
  if (!settings.ok()) return settings.status();
  auto sp = spool::OpenSpool(cfg.spool_path, cfg.storage.repo, data_dir);
  if (!sp.ok() && sp.status().code() == Status::Code::kInvalidArgument) return sp.status();
  if (!sp.ok())
    return DirectPush(ctx, path, data_dir,
                      "the spool '" + cfg.spool_path + "' is unusable: " + sp.status().message());
  auto dirs = spool::OpenPushDirs(*sp);
  if (!dirs.ok())
    return DirectPush(ctx, path, data_dir,
                      "the spool '" + cfg.spool_path + "' is unusable: " + dirs.status().message());
  // Room for the small records; a staged copy that does not fit fails with ENOSPC below.
  const int64_t need = 256 << 10;
  const int64_t free = FreeBytes(dirs->push);
  if (free >= 0 && free < need) {
    return DirectPush(ctx, path, data_dir,
                      "the spool filesystem of '" + cfg.spool_path + "' is full (" +
                          std::to_string(free >> 10) + " KiB free, " + std::to_string(need >> 10) +
                          " KiB needed)");
  }
  if (spool_mode) {
    auto built =
        archive::BuildObject(archive::PushConfig{path, data_dir, settings->codec, settings->level});
    if (!built.ok()) return built.status();
    Status staged = spool::StageObject(*dirs, *built);
    if (!staged.ok()) return DirectPush(ctx, path, data_dir, staged.message());
    Status w = EnsureWorker(cfg, *dirs, data_dir);
    if (!w.ok())
      log::Warn("staged '" + name + "', but cannot start the spool worker: " + w.message());
    log::Info("staged '" + name + "' in the spool '" + dirs->staged +
              "' (archive-durability = spool: the upload to " + cfg.storage.repo +
              " follows in the background)");
    MaybeWarnBacklog(cfg, *dirs, data_dir);
    return Status::Ok();
  }
  // The worker uploads what PostgreSQL marked .ready in this pg_wal. A file without
  // that mark (archived by hand, or from elsewhere) it never sees: push it directly.
  struct stat in_wal;
  const bool in_pg_wal = ::stat((data_dir + "/pg_wal/" + name).c_str(), &in_wal) == 0 &&
                         in_wal.st_dev == wal_st.st_dev && in_wal.st_ino == wal_st.st_ino;
  const std::string ready = data_dir + "/pg_wal/archive_status/" + name + ".ready";
  if (!in_pg_wal || ::access(ready.c_str(), F_OK) != 0) {
    return DirectPush(ctx, path, data_dir,
                      "'" + wal_path + "' has no " +
                          (in_pg_wal ? "'" + ready + "'" : "'.ready' file in this pg_wal") +
                          ", so the spool worker never looks at it",
                      false);
  }
  if (auto other = WorkerServesAnother(*dirs, data_dir))
    return DirectPush(ctx, path, data_dir, *other, false);
  Status w = EnsureWorker(cfg, *dirs, data_dir);
  if (!w.ok())
    return DirectPush(ctx, path, data_dir, "cannot start the spool worker: " + w.message());
  MaybeWarnBacklog(cfg, *dirs, data_dir);
  return WaitForConfirmation(ctx, *dirs, name, wal_path, data_dir);
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
