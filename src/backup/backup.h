// backup.h — base backups: push (take one), fetch (restore one).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "backup/manifest.h"
#include "walferry/local_fs.h"
#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::backup {

// Bytes done so far, for a progress display (read from another thread).
struct Progress {
  std::atomic<uint64_t> done{0};
  std::atomic<uint64_t> total{0};
};

struct PushConfig {
  std::string conninfo;  // libpq; empty: the PG* variables
  std::string data_dir;  // empty: the server's data_directory
  Codec codec = Codec::kZstd;
  int level = 3;
  int parallel = 4;                        // files read, compressed and uploaded at once
  bool fast_checkpoint = false;            // pg_backup_start(fast => true)
  double archive_wait_seconds = 300;       // for the stop segment to reach the repository
  uint64_t bundle_bytes = 4ull << 20;      // small files are bundled up to this much
  uint64_t large_file_bytes = 4ull << 20;  // files this big or more get an object of their own
  Progress* progress = nullptr;
};

struct PushResult {
  BackupManifest manifest;
  std::vector<std::string> warnings;  // already logged
  uint64_t corrupt_pages = 0;
  uint64_t files = 0;
};

// Takes a full base backup of the cluster `conninfo` reaches and stores it in
// `storage`, manifest last, after the stop WAL segment is in the repository.
// On failure the data objects written so far are removed (best effort); the
// backup does not exist (no manifest).
Result<PushResult> Push(Storage& storage, const PushConfig& config);

struct FetchConfig {
  std::string name;    // a backup name or "LATEST"
  std::string dest;    // the data directory to create or fill
  bool force = false;  // accept a non-empty dest (files in the way are replaced)
  int parallel = 4;
  // Tablespace OID or name -> directory to restore it to (default: its location).
  std::map<std::string, std::string> tablespace_map;
  // Recovery settings; none set: no recovery.signal is written.
  std::string target_time, target_lsn, target_name, target_xid, target_action;
  bool recovery = false;        // write recovery.signal + restore_command even without a target
  std::string restore_command;  // set by the caller: walferry archive-get with its config
  Progress* progress = nullptr;
  // Where every write, rename and fsync of the restore goes (tests: a
  // fault-injecting one); nullptr is the real filesystem.
  fs::LocalFs* local_fs = nullptr;
};

struct FetchResult {
  BackupManifest manifest;
  uint64_t files = 0;
  uint64_t bytes = 0;
};

// Restores one backup into `dest`: every file checked against the manifest;
// nothing written outside `dest` and the tablespace directories (which must
// be empty or absent); symbolic links inside `dest` are never followed.
// LATEST is the newest backup, or with target_time the newest whose
// stop_time is before it.
Result<FetchResult> Fetch(Storage& storage, const FetchConfig& config);

// The backup LATEST names: the newest, or with `before_unix` set, the newest
// that stopped before it. kNotFound when there is none.
Result<BackupManifest> ChooseBackup(const std::vector<BackupManifest>& backups,
                                    std::optional<int64_t> before_unix);

// A recovery_target_time as PostgreSQL reads it, with an explicit zone:
// "2026-11-20 14:03:00+00", "2026-11-20T14:03:00.25Z", "... -05:30", "... UTC".
// Seconds since the epoch (fractions dropped). kInvalidArgument without a zone:
// which backup ends before it would depend on the server's TimeZone.
Result<int64_t> ParseTargetTime(std::string_view text);

// The recovery target of a FetchConfig, parsed: the one place its values are read.
struct RecoveryTarget {
  std::optional<int64_t> time_unix;  // target_time (ParseTargetTime)
  std::optional<uint64_t> lsn;       // target_lsn
  int count = 0;                     // how many of time, lsn, name and xid are set
};
// kInvalidArgument for a target_time without a zone or a target_lsn that is not an LSN.
Result<RecoveryTarget> ParseRecoveryTarget(const FetchConfig& config);

// What backup-fetch checks before it touches the repository: `name` is LATEST or a backup
// name, the target parses (ParseRecoveryTarget), at most one target, target_action only
// with a target, and no target without recovery. kInvalidArgument, naming the flags.
Status CheckFetchConfig(const FetchConfig& config);

// One option restore_command passes on to archive-get, as --name='value'.
struct CarriedOption {
  std::string name;   // "s3-endpoint"
  std::string value;  // as given
  std::string where;  // "--s3-endpoint", "WALFERRY_S3_ENDPOINT": for the warning on a secret
  bool secret = false;
};

// The restore_command backup-fetch writes: `exe` (this binary), --config FILE when one was
// read, each carried option, then "archive-get %f %p", every word shell-quoted. A secret is
// left out with a warning: it must come from the config file or PostgreSQL's environment.
std::string RestoreCommand(const std::string& exe, const std::string& config_file,
                           const std::vector<CarriedOption>& options);

}  // namespace walferry::backup
