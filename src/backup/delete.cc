#include "backup/delete.h"

#include <map>
#include <nlohmann/json.hpp>

#include "backup/manifest.h"
#include "backup/wal_chain.h"
#include "common/log.h"
#include "repo/identity.h"
#include "repo/keys.h"

namespace walferry::backup {
namespace {

using nlohmann::json;

Status RemoveInBatches(Storage& storage, const std::vector<std::string>& keys) {
  for (size_t i = 0; i < keys.size(); i += kRemoveBatch) {
    std::vector<std::string> batch(
        keys.begin() + static_cast<std::ptrdiff_t>(i),
        keys.begin() + static_cast<std::ptrdiff_t>(std::min(keys.size(), i + kRemoveBatch)));
    WF_RETURN_IF_ERROR(storage.RemoveMany(batch));
  }
  return Status::Ok();
}

// Everything under backup/<NAME>/ but the marker, then the marker.
Result<size_t> RemoveBackupObjects(Storage& storage, const std::string& name) {
  auto objects = ListAll(storage, repo::BackupPrefix(name));
  if (!objects.ok()) return objects.status();
  std::vector<std::string> keys;
  for (const ObjectInfo& o : *objects) {
    if (o.key != repo::DeletingKey(name)) keys.push_back(o.key);
  }
  WF_RETURN_IF_ERROR(RemoveInBatches(storage, keys));
  WF_RETURN_IF_ERROR(storage.Remove(repo::DeletingKey(name)));
  return keys.size();
}

uint64_t SegmentSizeOf(const std::vector<BackupManifest>& backups,
                       const repo::ClusterIdentity& id) {
  for (const auto& m : backups) {
    if (pg::ValidateSegmentSize(m.wal_segment_size).ok()) return m.wal_segment_size;
  }
  return pg::ValidateSegmentSize(id.wal_segment_size).ok() ? id.wal_segment_size
                                                           : pg::kDefaultWalSegmentSize;
}

json OrNull(const std::optional<int>& v) { return v ? json(*v) : json(nullptr); }

}  // namespace

Result<std::vector<OrphanPrefix>> FindOrphans(Storage& storage) {
  std::map<std::string, OrphanPrefix> by_name;
  std::map<std::string, bool> has_manifest;
  WF_RETURN_IF_ERROR(storage.List(repo::kBackupPrefix, [&](const ObjectInfo& o) {
    auto backup = repo::BackupNameOf(o.key);
    if (!backup) return Status::Ok();
    const std::string& name = *backup;
    OrphanPrefix& p = by_name[name];
    p.name = name;
    ++p.objects;
    p.newest_mtime = std::max(p.newest_mtime, o.mtime_unix);
    if (o.key == repo::ManifestKey(name)) has_manifest[name] = true;
    if (o.key == repo::DeletingKey(name)) p.marked = true;
    return Status::Ok();
  }));
  std::vector<OrphanPrefix> out;
  for (auto& [name, p] : by_name) {
    if (!has_manifest.count(name)) out.push_back(p);
  }
  return out;
}

Result<DeleteReport> DeleteBackups(Storage& storage, const DeleteConfig& config) {
  WF_RETURN_IF_ERROR(ValidatePolicy(config.policy));
  auto identity = repo::RequireIdentity(storage);
  if (!identity.ok()) return identity.status();
  auto scan = ScanBackups(storage);
  if (!scan.ok()) return scan.status();
  std::vector<BackupManifest>* manifests = &scan->backups;
  const uint64_t seg_size = SegmentSizeOf(*manifests, *identity);

  DeleteReport report;
  for (const DamagedBackup& d : scan->damaged) {
    report.damaged.emplace_back(d.name, d.status.message());
    log::Warn("backup '" + d.name + "' has a manifest that cannot be used (" + d.status.message() +
              "): it is kept, and no WAL is deleted while it exists, as it may need any of it");
  }
  report.repository = storage.Describe();
  report.dry_run = !config.confirm;
  report.policy = config.policy;

  std::vector<RetentionBackup> input;
  std::map<std::string, const BackupManifest*> by_name;
  for (const BackupManifest& m : *manifests) {
    auto start = pg::SegmentNumber(m.start_wal.size() == 24 ? m.start_wal.substr(8) : "", seg_size);
    auto start_t = ParseUtc(m.start_time);
    auto stop_t = ParseUtc(m.stop_time);
    if (m.start_wal.size() != 24 || !start.ok() || !start_t.ok() || !stop_t.ok()) {
      // Decoded, but unusable for the plan: kept like a damaged one.
      report.damaged.emplace_back(m.name, "start_wal, start_time or stop_time unusable");
      continue;
    }
    input.push_back({m.name, m.kind, *start_t, *stop_t, m.timeline, *start});
    by_name[m.name] = &m;
  }
  auto plan = PlanRetention(input, config.policy, config.now);
  if (!plan.ok()) return plan.status();
  for (const RetentionDecision& d : plan->backups) {
    const BackupManifest& m = *by_name[d.name];
    report.backups.push_back({d.name, m.stop_time, m.start_wal, m.timeline, d.keep, d.reason});
  }
  if (plan->wal_cutoff_segno) {
    // Named on the timeline of the kept backup that starts lowest.
    uint32_t tli = 1;
    for (const RetentionBackup& b : input) {
      if (b.start_segno == *plan->wal_cutoff_segno) tli = b.timeline;
    }
    report.wal_delete_below = pg::SegmentName(tli, *plan->wal_cutoff_segno, seg_size);
  }
  auto orphans = FindOrphans(storage);
  if (!orphans.ok()) return orphans.status();
  for (const OrphanPrefix& o : *orphans) {
    if (o.marked) {
      report.unfinished.push_back(o.name);
    } else if (o.newest_mtime > config.now - kRunningPushSeconds) {
      report.running.push_back(o.name);
    }
  }
  auto wal = ListAll(storage, repo::kWalPrefix);
  if (!wal.ok()) return wal.status();
  if (!report.damaged.empty()) {
    report.wal_delete_below.reset();  // no WAL goes: the damaged backup's start is unknown
  } else if (report.running.empty()) {
    report.wal = WalToDelete(*wal, plan->wal_cutoff_segno, seg_size);
  } else {
    log::Warn("backup/" + report.running.front() +
              "/ has objects but no manifest yet (a backup-push running?): "
              "no WAL is deleted this time, as it may need older WAL than the kept backups");
  }
  for (const ObjectInfo& o : report.wal) report.wal_bytes += o.size;
  if (!config.confirm) return report;

  for (const std::string& name : report.unfinished) {
    auto n = RemoveBackupObjects(storage, name);
    if (!n.ok())
      return n.status().Annotate("finishing the interrupted delete of backup '" + name + "'");
    report.deleted_backup_objects += *n;
    log::Info("finished the interrupted delete of backup '" + name + "' (" + std::to_string(*n) +
              " objects)");
  }
  for (const DeleteReport::Backup& b : report.backups) {
    if (b.keep) continue;
    const std::string what = "deleting backup '" + b.name + "'";
    std::string marker = json{{"deleting", b.name}, {"since", FormatUtc(config.now)}}.dump() + "\n";
    auto put = PutString(storage, repo::DeletingKey(b.name), marker);
    if (!put.ok()) return put.status().Annotate(what);
    WF_RETURN_IF_ERROR(storage.Remove(repo::ManifestKey(b.name)).Annotate(what));
    auto n = RemoveBackupObjects(storage, b.name);
    if (!n.ok()) return n.status().Annotate(what);
    ++report.deleted_backups;
    report.deleted_backup_objects += *n;
    log::Info("deleted backup '" + b.name + "' (" + std::to_string(*n) + " objects)");
  }
  std::vector<std::string> keys;
  for (const ObjectInfo& o : report.wal) keys.push_back(o.key);
  WF_RETURN_IF_ERROR(RemoveInBatches(storage, keys).Annotate("deleting WAL"));
  report.deleted_wal = keys.size();
  report.dry_run = false;
  return report;
}

std::string DeleteReportText(const DeleteReport& r) {
  std::string out;
  const char* verb = r.dry_run ? "would delete" : "deleted";
  for (const std::string& n : r.unfinished) {
    out += std::string(r.dry_run ? "finish  " : "finished") + " " + n +
           "  (left by an interrupted delete)\n";
  }
  size_t gone = 0;
  for (const auto& [name, why] : r.damaged) {
    out += "damaged  " + name + "  kept (its manifest cannot be used: " + Printable(why) + ")\n";
  }
  for (const auto& b : r.backups) {
    out += std::string(b.keep ? "keep    " : (r.dry_run ? "delete  " : "deleted ")) + " " + b.name +
           "  stopped " + b.stop_time + "  timeline " + std::to_string(b.timeline) + "  " +
           b.reason + "\n";
    gone += b.keep ? 0 : 1;
  }
  char wal[256];
  if (r.wal.empty()) {
    std::snprintf(wal, sizeof wal, "wal      nothing to delete%s\n",
                  !r.damaged.empty()
                      ? " (a backup's manifest cannot be used: all WAL is kept until it is "
                        "repaired or removed; 'walferry verify' names it)"
                  : !r.running.empty() ? " (a backup-push may be running: WAL is kept this time)"
                  : r.wal_delete_below ? ""
                                       : " (no backup in the repository)");
  } else {
    std::snprintf(wal, sizeof wal, "wal      %s %zu objects (%.1f MiB) below %s\n", verb,
                  r.wal.size(), static_cast<double>(r.wal_bytes) / (1 << 20),
                  r.wal_delete_below->c_str());
  }
  out += wal;
  out += std::string("delete: ") + verb + " " + std::to_string(gone) + " of " +
         std::to_string(r.backups.size()) + " backups and " + std::to_string(r.wal.size()) +
         " WAL objects in " + r.repository;
  out += r.dry_run ? " (dry run: nothing was changed; add --confirm to delete)\n" : "\n";
  return out;
}

std::string DeleteReportJson(const DeleteReport& r) {
  json backups = json::array();
  for (const auto& b : r.backups) {
    backups.push_back({{"name", b.name},
                       {"stop_time", b.stop_time},
                       {"timeline", b.timeline},
                       {"start_wal", b.start_wal},
                       {"action", b.keep ? "keep" : "delete"},
                       {"reason", b.reason}});
  }
  json damaged = json::array();
  for (const auto& [name, why] : r.damaged) damaged.push_back({{"name", name}, {"error", why}});
  json wal = {{"delete_below", r.wal_delete_below ? json(*r.wal_delete_below) : json(nullptr)},
              {"objects", r.wal.size()},
              {"bytes", r.wal_bytes},
              {"first", r.wal.empty() ? json(nullptr) : json(r.wal.front().key)},
              {"last", r.wal.empty() ? json(nullptr) : json(r.wal.back().key)}};
  json deleted = r.dry_run ? json(nullptr)
                           : json{{"backups", r.deleted_backups},
                                  {"backup_objects", r.deleted_backup_objects},
                                  {"wal_objects", r.deleted_wal}};
  json j = {{"repository", r.repository},
            {"dry_run", r.dry_run},
            {"retain_full", OrNull(r.policy.retain_full)},
            {"retain_days", OrNull(r.policy.retain_days)},
            {"backups", backups},
            {"wal", wal},
            {"unfinished", r.unfinished},
            {"running", r.running},
            {"damaged", damaged},
            {"deleted", deleted}};
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace walferry::backup
