#include "backup/retention.h"

#include <algorithm>

#include "backup/wal_chain.h"
#include "repo/keys.h"
#include "walferry/wal_name.h"

namespace walferry::backup {

Status ValidatePolicy(const RetentionPolicy& policy) {
  if (!policy.retain_full && !policy.retain_days) {
    return Status::InvalidArgument(
               "delete needs a retention rule: --retain-full N and/or --retain-days D")
        .WithHint(
            "for example 'walferry delete --retain-full 7' (a dry run; add --confirm to delete)");
  }
  if (policy.retain_full && *policy.retain_full < 1) {
    return Status::InvalidArgument("--retain-full must be at least 1, not " +
                                   std::to_string(*policy.retain_full));
  }
  if (policy.retain_days && *policy.retain_days < 1) {
    return Status::InvalidArgument("--retain-days must be at least 1, not " +
                                   std::to_string(*policy.retain_days));
  }
  return Status::Ok();
}

std::vector<std::string> RetentionPlan::Deleted() const {
  std::vector<std::string> out;
  for (const auto& d : backups) {
    if (!d.keep) out.push_back(d.name);
  }
  return out;
}

std::vector<std::string> RetentionPlan::Kept() const {
  std::vector<std::string> out;
  for (const auto& d : backups) {
    if (d.keep) out.push_back(d.name);
  }
  return out;
}

Result<RetentionPlan> PlanRetention(std::vector<RetentionBackup> backups,
                                    const RetentionPolicy& policy, int64_t now) {
  WF_RETURN_IF_ERROR(ValidatePolicy(policy));
  std::sort(backups.begin(), backups.end(), [](const RetentionBackup& a, const RetentionBackup& b) {
    return a.stop_time != b.stop_time ? a.stop_time < b.stop_time : a.name < b.name;
  });
  const size_t n = backups.size();
  std::vector<std::string> reasons(n);
  auto keep = [&](size_t i, const std::string& why) {
    if (reasons[i].empty()) reasons[i] = why;
  };
  if (n > 0) keep(n - 1, "the newest backup");
  if (policy.retain_full) {
    int left = *policy.retain_full;
    for (size_t i = n; i-- > 0 && left > 0;) {
      if (backups[i].kind != "full") continue;
      keep(i, "one of the " + std::to_string(*policy.retain_full) + " newest full backups");
      --left;
    }
  }
  if (policy.retain_days) {
    const int64_t since = now - int64_t{*policy.retain_days} * 86400;
    const std::string days = std::to_string(*policy.retain_days);
    for (size_t i = n; i-- > 0;) {
      if (backups[i].stop_time >= since) {
        keep(i, "stopped within the last " + days + " days");
      } else {
        keep(i, "the newest backup that stopped before the " + days +
                    "-day window (recovers its start)");
        break;
      }
    }
  }
  RetentionPlan plan;
  for (size_t i = 0; i < n; ++i) {
    bool k = !reasons[i].empty();
    plan.backups.push_back({backups[i].name, k, k ? reasons[i] : "older than the retention"});
    if (k) {
      plan.wal_cutoff_segno =
          std::min(plan.wal_cutoff_segno.value_or(backups[i].start_segno), backups[i].start_segno);
    }
  }
  return plan;
}

std::vector<ObjectInfo> WalToDelete(const std::vector<ObjectInfo>& wal_listing,
                                    std::optional<uint64_t> cutoff, uint64_t segment_size) {
  std::vector<ObjectInfo> out;
  if (!cutoff) return out;
  for (const ObjectInfo& o : wal_listing) {
    size_t slash = o.key.rfind('/');
    auto name = ParseWalFileName(
        std::string_view(o.key).substr(slash == std::string::npos ? 0 : slash + 1));
    if (!name.ok() || name->kind == WalFileKind::kHistory || o.key != repo::WalObjectKey(*name))
      continue;
    auto segno = pg::SegmentNumber(name->segment_id, segment_size);
    if (segno.ok() && *segno < *cutoff) out.push_back(o);
  }
  return out;
}

}  // namespace walferry::backup
