// backup_commands.cc — `walferry backup-push`, `backup-list` and `backup-fetch`.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "archive/repository.h"
#include "backup/backup.h"
#include "cli/commands.h"
#include "common/log.h"
#include "pg/lsn.h"

namespace walferry::cli {
namespace {

using nlohmann::json;

std::string Bytes(double b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int u = 0;
  while (b >= 1024 && u < 4) {
    b /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", b, units[u]);
  return buf;
}

std::string Clock(double seconds) {
  long s = std::lround(seconds);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

// Bytes, rate and ETA on stderr, once a second, while on a terminal.
class ProgressLine {
 public:
  ProgressLine(backup::Progress& p, const char* verb) : p_(p), verb_(verb) {
    if (!::isatty(STDERR_FILENO)) return;
    thread_ = std::thread([this] { Loop(); });
  }
  ~ProgressLine() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
      thread_.join();
      std::fprintf(stderr, "\r\033[K");
    }
  }

 private:
  void Loop() {
    const auto t0 = std::chrono::steady_clock::now();
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      double done = static_cast<double>(p_.done.load()),
             total = static_cast<double>(p_.total.load());
      double rate = el > 0 ? done / el : 0;
      std::string eta = rate > 0 && total > done ? Clock((total - done) / rate) : "-";
      std::fprintf(stderr, "\r\033[K%s %s of %s (%.0f%%), %s/s, ETA %s", verb_, Bytes(done).c_str(),
                   Bytes(total).c_str(), total > 0 ? 100 * done / total : 0.0, Bytes(rate).c_str(),
                   eta.c_str());
      std::fflush(stderr);
    }
  }
  backup::Progress& p_;
  const char* verb_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

Result<std::unique_ptr<Storage>> Open(const config::GlobalConfig& cfg) {
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  return OpenStorage(cfg.storage);
}

double Since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

// ---------------------------------------------------------------- backup-push

struct PushArgs {
  std::string pg_data;
  bool fast = false;
  double archive_wait = 300;
};

Status RunBackupPush(const Context& ctx, const PushArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  auto storage = Open(ctx.config);
  if (!storage.ok()) return storage.status();
  backup::Progress progress;
  backup::PushConfig pc;
  pc.conninfo = ctx.config.pg_conninfo;
  pc.data_dir = args.pg_data;
  pc.codec = ctx.config.codec;
  pc.level = ctx.config.Level();
  pc.parallel = ctx.config.parallel;
  pc.fast_checkpoint = args.fast;
  pc.archive_wait_seconds = args.archive_wait;
  pc.progress = &progress;
  ProgressLine line(progress, "backup-push");
  auto r = backup::Push(**storage, pc);
  line.Stop();
  if (!r.ok()) return r.status();
  const auto& m = r->manifest;
  double secs = Since(t0);
  std::fprintf(
      ctx.out, "backup %s: %s in %llu files -> %s stored (%s) in %.1f s, %s/s; WAL %s .. %s%s%s\n",
      m.name.c_str(), Bytes(static_cast<double>(m.original_bytes)).c_str(),
      static_cast<unsigned long long>(r->files), Bytes(static_cast<double>(m.stored_bytes)).c_str(),
      CodecName(m.compression), secs, Bytes(secs > 0 ? m.original_bytes / secs : 0).c_str(),
      m.start_wal.c_str(), m.stop_wal.c_str(), m.from_standby ? ", from a standby" : "",
      r->corrupt_pages
          ? (", " + std::to_string(r->corrupt_pages) + " CORRUPT PAGES (see the warnings)").c_str()
          : "");
  return Status::Ok();
}

// ---------------------------------------------------------------- backup-list

json BackupJson(const backup::BackupManifest& m) {
  json spaces = json::array();
  for (const auto& t : m.tablespaces)
    spaces.push_back({{"oid", t.oid}, {"name", t.name}, {"location", t.location}});
  return {{"name", m.name},
          {"kind", m.kind},
          {"start_time", m.start_time},
          {"stop_time", m.stop_time},
          {"start_lsn", m.start_lsn},
          {"stop_lsn", m.stop_lsn},
          {"start_wal", m.start_wal},
          {"stop_wal", m.stop_wal},
          {"timeline", m.timeline},
          {"pg_version", m.pg_version},
          {"system_identifier", m.system_identifier},
          {"from_standby", m.from_standby},
          {"compression", CodecName(m.compression)},
          {"original_bytes", m.original_bytes},
          {"stored_bytes", m.stored_bytes},
          {"duration_seconds", m.duration_seconds},
          {"tablespaces", spaces}};
}

Status RunBackupList(const Context& ctx, bool as_json) {
  auto storage = Open(ctx.config);
  if (!storage.ok()) return storage.status();
  // Not a repository at all is not "no backups" (exit 11, as verify).
  auto identity = archive::RequireIdentity(**storage);
  if (!identity.ok()) return identity.status();
  auto scan = backup::ScanBackups(**storage);
  if (!scan.ok()) return scan.status();
  const auto* list = &scan->backups;
  if (as_json) {
    json arr = json::array();
    for (const auto& m : *list) arr.push_back(BackupJson(m));
    json damaged = json::array();
    for (const auto& d : scan->damaged)
      damaged.push_back({{"name", d.name}, {"error", d.status.message()}});
    json out = {{"repository", (*storage)->Describe()}, {"backups", arr}, {"damaged", damaged}};
    std::fprintf(ctx.out, "%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
    return Status::Ok();
  }
  for (const auto& d : scan->damaged) {
    std::fprintf(ctx.out, "DAMAGED %s: %s\n", d.name.c_str(),
                 backup::Printable(d.status.message(), 1000).c_str());
  }
  if (list->empty()) {
    std::fprintf(ctx.out, "no backups in %s\n", (*storage)->Describe().c_str());
    return Status::Ok();
  }
  std::fprintf(ctx.out, "%-20s %-20s %-20s %3s %-24s %-24s %-17s %-17s %10s %10s %8s %s\n", "NAME",
               "START (UTC)", "STOP (UTC)", "TL", "START WAL", "STOP WAL", "START LSN", "STOP LSN",
               "ORIGINAL", "STORED", "DURATION", "PG / SYSTEM ID");
  for (const auto& m : *list) {
    std::fprintf(ctx.out, "%-20s %-20s %-20s %3u %-24s %-24s %-17s %-17s %10s %10s %8s %s / %s%s\n",
                 m.name.c_str(), m.start_time.c_str(), m.stop_time.c_str(), m.timeline,
                 m.start_wal.c_str(), m.stop_wal.c_str(), m.start_lsn.c_str(), m.stop_lsn.c_str(),
                 Bytes(static_cast<double>(m.original_bytes)).c_str(),
                 Bytes(static_cast<double>(m.stored_bytes)).c_str(),
                 Clock(m.duration_seconds).c_str(), m.pg_version.c_str(),
                 m.system_identifier.c_str(), m.from_standby ? " (standby)" : "");
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- backup-fetch

struct FetchArgs {
  std::string name, dest;
  bool force = false, no_recovery = false;
  std::vector<std::string> tablespace_map;
  std::string target_time, target_lsn, target_name, target_xid, target_action;
};

// restore_command: this binary, the same config file, and the options that
// came from the command line or the environment.
std::string RestoreCommand(const config::GlobalConfig& cfg) {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : "walferry";
  std::vector<backup::CarriedOption> carried;
  for (const auto& r : cfg.options) {
    if (r.origin != config::Origin::kFlag && r.origin != config::Origin::kEnv) continue;
    if (std::string(r.spec->name) == "config") continue;
    carried.push_back({r.spec->name, r.value, r.where, r.spec->secret});
  }
  return backup::RestoreCommand(self, cfg.config_file, carried);
}

Status RunBackupFetch(const Context& ctx, const FetchArgs& args) {
  const auto t0 = std::chrono::steady_clock::now();
  auto storage = Open(ctx.config);
  if (!storage.ok()) return storage.status();
  backup::Progress progress;
  backup::FetchConfig fc;
  fc.name = args.name;
  fc.dest = args.dest;
  fc.force = args.force;
  fc.parallel = ctx.config.parallel;
  for (const auto& m : args.tablespace_map) {
    size_t eq = m.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == m.size()) {
      return Status::InvalidArgument("--tablespace-map '" + m + "' is not OID=DIR or NAME=DIR");
    }
    fc.tablespace_map[m.substr(0, eq)] = m.substr(eq + 1);
  }
  fc.target_time = args.target_time;
  fc.target_lsn = args.target_lsn;
  fc.target_name = args.target_name;
  fc.target_xid = args.target_xid;
  fc.target_action = args.target_action;
  fc.recovery = !args.no_recovery;
  WF_RETURN_IF_ERROR(backup::CheckFetchConfig(fc));
  if (fc.recovery) fc.restore_command = RestoreCommand(ctx.config);
  fc.progress = &progress;
  auto identity = archive::RequireIdentity(**storage);  // not a repository: exit 11
  if (!identity.ok()) return identity.status();
  ProgressLine line(progress, "backup-fetch");
  auto r = backup::Fetch(**storage, fc);
  line.Stop();
  if (!r.ok()) return r.status();
  double secs = Since(t0);
  std::fprintf(
      ctx.out, "restored backup %s into %s: %s in %llu files, verified, in %.1f s, %s/s%s\n",
      r->manifest.name.c_str(), args.dest.c_str(), Bytes(static_cast<double>(r->bytes)).c_str(),
      static_cast<unsigned long long>(r->files), secs,
      Bytes(secs > 0 ? r->bytes / secs : 0).c_str(),
      fc.recovery ? "; recovery.signal and restore_command written" : "");
  return Status::Ok();
}

}  // namespace

Handler BindBackupPush(CLI::App& command) {
  auto args = std::make_shared<PushArgs>();
  command.add_option("--pg-data", args->pg_data,
                     "the data directory (default: the server's data_directory setting)");
  command.add_flag("--fast", args->fast,
                   "ask for an immediate checkpoint (pg_backup_start fast => true)");
  command.add_option(
      "--archive-wait", args->archive_wait,
      "seconds to wait for the backup's stop WAL segment to reach the repository (default: 300)");
  return [args](const Context& ctx) { return RunBackupPush(ctx, *args); };
}

Handler BindBackupList(CLI::App& command) {
  auto as_json = std::make_shared<bool>(false);
  command.add_flag("--json", *as_json, "print JSON (see walferry-backup-list(1))");
  return [as_json](const Context& ctx) { return RunBackupList(ctx, *as_json); };
}

Handler BindBackupFetch(CLI::App& command) {
  auto a = std::make_shared<FetchArgs>();
  command.add_option("NAME", a->name, "the backup's name, or LATEST")->required();
  command
      .add_option("DEST", a->dest,
                  "the data directory to restore into (created if missing; must be empty)")
      ->required();
  command.add_flag("--force", a->force,
                   "restore into a non-empty DEST (and non-empty tablespace directories)");
  command.add_option("--tablespace-map", a->tablespace_map,
                     "restore a tablespace elsewhere: OID=DIR or NAME=DIR (repeatable)");
  command.add_option("--target-time", a->target_time,
                     "recovery_target_time, with a zone: '2026-11-20 14:03:00+00'");
  command.add_option("--target-lsn", a->target_lsn, "recovery_target_lsn");
  command.add_option("--target-name", a->target_name,
                     "recovery_target_name (a pg_create_restore_point name)");
  command.add_option("--target-xid", a->target_xid, "recovery_target_xid");
  command.add_option("--target-action", a->target_action, "recovery_target_action")
      ->check(CLI::IsMember({"pause", "promote", "shutdown"}));
  command.add_flag("--no-recovery", a->no_recovery, "write no recovery.signal nor restore_command");
  return [a](const Context& ctx) { return RunBackupFetch(ctx, *a); };
}

}  // namespace walferry::cli
