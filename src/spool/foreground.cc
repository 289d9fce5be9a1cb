// foreground.cc — archive-push through the spool (see foreground.h).
#include "spool/foreground.h"

#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <optional>
#include <thread>

#include "archive/archive.h"
#include "common/fs.h"
#include "common/log.h"
#include "spool/records.h"
#include "spool/staged.h"
#include "spool/worker.h"

namespace walferry::spool {
namespace {

std::string BaseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
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
int64_t FreeBytes(fs::LocalFs& lfs, const std::string& dir) {
  uint64_t bytes = 0;
  if (lfs.FreeBytes(dir, &bytes) != 0) return -1;
  return static_cast<int64_t>(std::min<uint64_t>(bytes, INT64_MAX));
}

// realpath(3) of `path`, or `path` itself when it cannot be resolved.
std::string RealPath(const std::string& path) {
  char buf[PATH_MAX];
  return ::realpath(path.c_str(), buf) != nullptr ? std::string(buf) : path;
}

// One archive-push of one file through the spool.
class Foreground {
 public:
  Foreground(const ForegroundConfig& cfg, const std::string& path, const std::string& data_dir)
      : cfg_(cfg),
        path_(path),
        data_dir_(data_dir),
        name_(BaseName(path)),
        wal_path_(fs::Resolve(path, data_dir)) {}

  Status Push();

 private:
  Status Direct(const std::string& why, bool is_error = true);
  Status EnsureWorker();
  std::optional<std::string> WorkerServesAnother();
  Status Stage();
  Status WaitForConfirmation();

  const ForegroundConfig& cfg_;
  const std::string path_, data_dir_, name_, wal_path_;
  PushDirs dirs_;
};

Status Foreground::Direct(const std::string& why, bool is_error) {
  const std::string m = why + "; archiving '" + name_ + "' directly to " + cfg_.spool.repo +
                        ", without the spool (exit 0 only once the repository confirms it)";
  if (is_error) {
    log::Error(m);
  } else {
    log::Info(m);
  }
  return cfg_.push_direct();
}

Status Foreground::EnsureWorker() {
  if (ProbeWorker(dirs_).running) return Status::Ok();
  struct stat st;
  if (::stat(dirs_.log.c_str(), &st) == 0 && st.st_size > (8 << 20)) {
    ::rename(dirs_.log.c_str(), (dirs_.log + ".old").c_str());  // keeps the log bounded: 2 x 8 MiB
  }
  log::Debug("starting the spool worker (log: '" + dirs_.log + "')");
  return SpawnDetached(cfg_.worker_argv, dirs_.log, cfg_.worker_env);
}

// The running worker serves another data directory (one spool, two clusters on one
// host: a promoted PITR copy beside its origin). It never looks at our pg_wal, so
// waiting for it would only run into archive-timeout.
std::optional<std::string> Foreground::WorkerServesAnother() {
  WorkerInfo w = ProbeWorker(dirs_);
  if (!w.running || w.data_dir.empty() || RealPath(w.data_dir) == RealPath(data_dir_))
    return std::nullopt;
  return "the spool worker (pid " + std::to_string(w.pid) + ") serves another data directory ('" +
         w.data_dir + "')";
}

// archive-durability = spool: a durable compressed copy, then the upload in the background.
Status Foreground::Stage() {
  auto built = archive::BuildObject(archive::PushConfig{path_, data_dir_, cfg_.codec, cfg_.level});
  if (!built.ok()) return built.status();
  Status staged = StageObject(dirs_, *built, *cfg_.local_fs);
  if (!staged.ok()) return Direct(staged.message());
  Status w = EnsureWorker();
  if (!w.ok())
    log::Warn("staged '" + name_ + "', but cannot start the spool worker: " + w.message());
  log::Info("staged '" + name_ + "' in the spool '" + dirs_.staged +
            "' (archive-durability = spool: the upload to " + cfg_.spool.repo +
            " follows in the background)");
  WarnBacklog(cfg_.spool, dirs_, data_dir_);
  return Status::Ok();
}

// Remote durability: wait for the worker's confirmation of this very file.
Status Foreground::WaitForConfirmation() {
  const auto start = std::chrono::steady_clock::now();
  const int64_t start_ms = NowMs();
  const auto deadline =
      start + std::chrono::milliseconds(static_cast<int64_t>(cfg_.archive_timeout_seconds * 1000));
  auto next_probe = start + std::chrono::milliseconds(500);
  int spawns = 0;
  for (int i = 0;; ++i) {
    if (IsConfirmed(dirs_, cfg_.spool.repo, name_, wal_path_)) {
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::steady_clock::now() - start);
      log::Info("archived '" + name_ + "' in " + cfg_.spool.repo + " through the spool (" +
                std::to_string(ms.count()) + " ms)");
      return Status::Ok();
    }
    auto err = LoadErr(dirs_, name_);
    if (err && err->time_ms >= start_ms) return err->ToStatus();
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      return Status::Unavailable(
                 "no confirmation of '" + name_ + "' from the spool worker within " +
                 std::to_string(static_cast<int>(cfg_.archive_timeout_seconds)) + " s" +
                 (err ? " (its last error: " + err->message + ")" : LastLogLine(dirs_.log)))
          .WithHint("see 'walferry status' and the worker's log '" + dirs_.log +
                    "'; archive-timeout sets the wait");
    }
    if (now >= next_probe) {  // a worker killed meanwhile is started again
      next_probe = now + std::chrono::milliseconds(500);
      if (auto other = WorkerServesAnother()) return Direct(*other, false);
      if (!ProbeWorker(dirs_).running && spawns < 20) {
        ++spawns;
        WF_RETURN_IF_ERROR(EnsureWorker());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(i < 50 ? 2 : 10));
  }
}

Status Foreground::Push() {
  if (AlreadyConfirmed(cfg_.spool, path_, data_dir_)) return Status::Ok();
  struct stat wal_st;
  if (::stat(wal_path_.c_str(), &wal_st) != 0) {  // a local error (exit 8 or 5), never a wait
    return Status::FromErrno(errno, "archive-push: stat '" + wal_path_ + "'")
        .WithHint("archive_command must pass %p as PostgreSQL expands it; no file was archived");
  }
  const std::string& spool_path = cfg_.spool.spool_path;
  auto sp = OpenSpool(spool_path, cfg_.spool.repo, data_dir_, *cfg_.local_fs);
  if (!sp.ok() && sp.status().code() == Status::Code::kInvalidArgument) return sp.status();
  if (!sp.ok())
    return Direct("the spool '" + spool_path + "' is unusable: " + sp.status().message());
  auto dirs = OpenPushDirs(*sp, *cfg_.local_fs);
  if (!dirs.ok())
    return Direct("the spool '" + spool_path + "' is unusable: " + dirs.status().message());
  dirs_ = *dirs;
  // Room for the small records; a staged copy that does not fit fails with ENOSPC below.
  const int64_t need = 256 << 10;
  const int64_t free = FreeBytes(*cfg_.local_fs, dirs_.push);
  if (free >= 0 && free < need) {
    return Direct("the spool filesystem of '" + spool_path + "' is full (" +
                  std::to_string(free >> 10) + " KiB free, " + std::to_string(need >> 10) +
                  " KiB needed)");
  }
  if (cfg_.spool.durability_spool) return Stage();
  // The worker uploads what PostgreSQL marked .ready in this pg_wal. A file without
  // that mark (archived by hand, or from elsewhere) it never sees: push it directly.
  struct stat in_wal;
  const bool in_pg_wal = ::stat((data_dir_ + "/pg_wal/" + name_).c_str(), &in_wal) == 0 &&
                         in_wal.st_dev == wal_st.st_dev && in_wal.st_ino == wal_st.st_ino;
  const std::string ready = data_dir_ + "/pg_wal/archive_status/" + name_ + ".ready";
  if (!in_pg_wal || ::access(ready.c_str(), F_OK) != 0) {
    return Direct("'" + wal_path_ + "' has no " +
                      (in_pg_wal ? "'" + ready + "'" : "'.ready' file in this pg_wal") +
                      ", so the spool worker never looks at it",
                  false);
  }
  if (auto other = WorkerServesAnother()) return Direct(*other, false);
  Status w = EnsureWorker();
  if (!w.ok()) return Direct("cannot start the spool worker: " + w.message());
  WarnBacklog(cfg_.spool, dirs_, data_dir_);
  return WaitForConfirmation();
}

}  // namespace

Status PushThroughSpool(const ForegroundConfig& cfg, const std::string& path,
                        const std::string& data_dir) {
  return Foreground(cfg, path, data_dir).Push();
}

}  // namespace walferry::spool
