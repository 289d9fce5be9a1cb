// retention.h — which backups and which WAL `walferry delete` removes. Pure logic.
//
// Backups (the rule, as man/walferry-delete.1 states it):
//   --retain-full N   keeps the N newest full backups;
//   --retain-days D   keeps every backup that stopped less than D days ago, and
//                     the newest one that stopped before that, so that any
//                     point of the last D days stays recoverable;
//   a backup is kept when it satisfies either rule that is given; the newest
//   backup is always kept. Every other backup is deleted.
//
// WAL: a WAL object (segment, .partial or .backup file, any timeline) is
// deleted only when its segment number is below the start segment of every
// kept backup. Segment numbers are positions in the WAL stream, and recovery
// from a backup only reads forward from its start segment, so no kept backup
// can need what goes: there is never a gap between a kept backup and the
// newest WAL. History files are never deleted (they are tiny, and PostgreSQL
// looks for them in sequence when it picks the latest timeline).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::backup {

struct RetentionPolicy {
  std::optional<int> retain_full;  // >= 1
  std::optional<int> retain_days;  // >= 1
};

// kInvalidArgument when neither rule is given or a value is below 1.
Status ValidatePolicy(const RetentionPolicy& policy);

struct RetentionBackup {
  std::string name;
  std::string kind = "full";
  int64_t start_time = 0;  // seconds since the epoch, UTC
  int64_t stop_time = 0;
  uint32_t timeline = 0;
  uint64_t start_segno = 0;
};

struct RetentionDecision {
  std::string name;
  bool keep = false;
  std::string reason;  // "one of the 7 newest full backups", "older than the retention", ...
};

struct RetentionPlan {
  std::vector<RetentionDecision> backups;  // oldest first
  // WAL objects whose segment number is below this go; nullopt: none (no backup kept).
  std::optional<uint64_t> wal_cutoff_segno;
  std::vector<std::string> Deleted() const;
  std::vector<std::string> Kept() const;
};

// Decides for `backups` (any order; ties in stop time broken by name) at time `now`.
Result<RetentionPlan> PlanRetention(std::vector<RetentionBackup> backups,
                                    const RetentionPolicy& policy, int64_t now);

// The WAL objects of a listing of "wal/" that the plan deletes: segments,
// .partial and .backup files whose segment number is below the cutoff. History
// files and keys that are not WAL file names are never chosen.
std::vector<ObjectInfo> WalToDelete(const std::vector<ObjectInfo>& wal_listing,
                                    std::optional<uint64_t> cutoff, uint64_t segment_size);

}  // namespace walferry::backup
