// delete.h — `walferry delete`: apply a retention rule to a repository.
//
// The rule and the WAL cutoff are retention.h's; this is the I/O around them:
// list backups and WAL, plan, and (confirmed) delete in the one safe order:
// per backup a marker "backup/<NAME>/deleting", the manifest (the backup stops
// existing), its other objects, the marker; then WAL in batches. A marker
// without a manifest is a delete that was interrupted: the next confirmed run
// finishes it first. See man/walferry-delete.1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backup/retention.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::backup {

constexpr size_t kRemoveBatch = 1000;

struct DeleteConfig {
  RetentionPolicy policy;
  bool confirm = false;
  int64_t now = 0;  // seconds since the epoch
};

struct DeleteReport {
  std::string repository;
  bool dry_run = true;
  RetentionPolicy policy;
  struct Backup {
    std::string name, stop_time, start_wal;
    uint32_t timeline = 0;
    bool keep = false;
    std::string reason;
  };
  std::vector<Backup> backups;          // oldest first
  std::vector<std::string> unfinished;  // names with a marker and no manifest
  std::vector<std::string> running;     // unmarked, no manifest, written within kRunningPushSeconds
  // Backups whose manifest cannot be read or decoded (or has a newer format):
  // never deleted, and while one exists no WAL is deleted (which WAL it needs
  // is unknown). Name and why.
  std::vector<std::pair<std::string, std::string>> damaged;
  std::optional<std::string> wal_delete_below;  // segment name; nullopt: no WAL goes
  std::vector<ObjectInfo> wal;                  // the WAL objects that go
  uint64_t wal_bytes = 0;
  // Filled by a confirmed run.
  size_t deleted_backups = 0, deleted_backup_objects = 0, deleted_wal = 0;
};

// Plans, and with config.confirm deletes. Errors from storage stop the run
// where they happen (see the order above: safe to repeat).
Result<DeleteReport> DeleteBackups(Storage& storage, const DeleteConfig& config);

std::string DeleteReportText(const DeleteReport& report);
std::string DeleteReportJson(const DeleteReport& report);

// Backup names that have objects under "backup/" but no manifest, and
// whether each has a delete marker. Used by delete and verify.
struct OrphanPrefix {
  std::string name;
  bool marked = false;
  size_t objects = 0;
  int64_t newest_mtime = 0;  // of its objects, seconds since the epoch
};
// An unmarked prefix written to this recently may be a backup-push still running: its
// start segment is unknown, so delete keeps all WAL while one exists.
constexpr int64_t kRunningPushSeconds = 86400;
Result<std::vector<OrphanPrefix>> FindOrphans(Storage& storage);

}  // namespace walferry::backup
