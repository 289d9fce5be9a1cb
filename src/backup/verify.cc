#include "backup/verify.h"

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "backup/delete.h"
#include "backup/manifest.h"
#include "common/parallel.h"
#include "pg/lsn.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "walferry/wal_name.h"

namespace walferry::backup {
namespace {

using nlohmann::json;

class DiscardSink final : public ByteSink {
 public:
  Status Write(const char*, size_t) override { return Status::Ok(); }
};

// What checking one WAL object found.
struct WalResult {
  WalFileName name;
  Status status;
  std::string history;  // the file's text, for history files
};

Status CheckWalObject(Storage& storage, const WalFileName& wal, WalCheck depth, uint64_t seg_size,
                      std::string* history) {
  const std::string key = repo::WalObjectKey(wal);
  uint64_t size = 0;
  if (wal.kind == WalFileKind::kHistory) {
    StringSink text;
    auto r = repo::GetObject(storage, repo::ReadSpec::Wal(key, wal.name), text);
    if (!r.ok()) return r.status();
    *history = std::move(text.out);
    return Status::Ok();
  }
  if (depth == WalCheck::kFull) {
    DiscardSink sink;
    auto r = repo::GetObject(storage, repo::ReadSpec::Wal(key, wal.name), sink);
    if (!r.ok()) return r.status();
    size = r->original_size;
  } else {
    auto h = repo::ReadHeader(storage, key);
    if (!h.ok()) return h.status();
    if (h->name != wal.name)
      return Status::Corruption("object '" + key + "' holds '" + h->name + "', not '" + wal.name +
                                "'");
    size = h->size;
  }
  if (wal.kind == WalFileKind::kSegment && size != seg_size) {
    return Status::Corruption("object '" + key + "' holds " + std::to_string(size) +
                              " bytes, not a whole segment of " + std::to_string(seg_size));
  }
  return Status::Ok();
}

bool IsPerObject(const Status& s) {
  return s.code() == Status::Code::kCorruption || s.code() == Status::Code::kNotFound ||
         s.code() == Status::Code::kInvalidArgument;
}

std::string Plural(uint64_t n, const char* what) {
  return std::to_string(n) + " " + what + (n == 1 ? "" : "s");
}

}  // namespace

Result<WalCheck> ParseWalCheck(std::string_view text) {
  if (text == "full") return WalCheck::kFull;
  if (text == "header") return WalCheck::kHeader;
  return Status::InvalidArgument("--wal-check must be 'full' or 'header', not '" +
                                 std::string(text) + "'");
}

Result<VerifyReport> Verify(Storage& storage, const VerifyConfig& config) {
  auto identity = repo::RequireIdentity(storage);
  if (!identity.ok()) return identity.status();
  // Each manifest on its own: a damaged one (or one of a newer format) is a
  // problem to list, not the end of the check.
  auto scan = ScanBackups(storage);
  if (!scan.ok()) return scan.status();
  VerifyReport report;
  std::vector<BackupManifest> manifests = std::move(scan->backups);
  std::vector<VerifyReport::Backup> damaged;  // listed after the others
  for (const DamagedBackup& d : scan->damaged) {
    VerifyReport::Backup b;
    b.name = d.name;
    b.objects_ok = false;
    b.problems.push_back("manifest: " + d.status.message());
    report.problems.push_back("backup '" + d.name + "': " + b.problems.back());
    damaged.push_back(std::move(b));
  }

  report.repository = storage.Describe();
  report.wal_check = config.wal_check;
  report.segment_size = pg::ValidateSegmentSize(identity->wal_segment_size).ok()
                            ? identity->wal_segment_size
                            : pg::kDefaultWalSegmentSize;
  for (const auto& m : manifests) {
    if (pg::ValidateSegmentSize(m.wal_segment_size).ok()) report.segment_size = m.wal_segment_size;
  }
  const uint64_t seg_size = report.segment_size;

  // WAL objects, checked in parallel.
  auto listing = ListAll(storage, repo::kWalPrefix);
  if (!listing.ok()) return listing.status();
  std::vector<WalResult> wal;
  for (const ObjectInfo& o : *listing) {
    auto name = ParseWalFileName(std::string_view(o.key).substr(o.key.rfind('/') + 1));
    if (!name.ok() || repo::WalObjectKey(*name) != o.key) {
      report.notes.push_back("'" + o.key + "' is not a WAL object walferry wrote (ignored)");
      continue;
    }
    report.wal_bytes += o.size;
    wal.push_back({*name, Status::Ok(), ""});
  }
  report.wal_objects = wal.size();
  // Per-object findings are kept in wal[i]; the pool's Status is always ok.
  (void)ParallelFor(wal.size(), config.parallel, [&](size_t i) {
    wal[i].status =
        CheckWalObject(storage, wal[i].name, config.wal_check, seg_size, &wal[i].history);
    return Status::Ok();
  });

  TimelineTree tree;
  WalInventory inventory;
  inventory.segment_size = seg_size;
  std::set<uint32_t> timelines, with_history;
  for (const WalResult& w : wal) {
    const std::string key = repo::WalObjectKey(w.name);
    Status s = w.status;
    if (s.ok() && w.name.kind == WalFileKind::kHistory) {
      auto h = ParseHistory(w.history, w.name.timeline, w.name.name);
      if (h.ok()) {
        tree.Add(w.name.timeline, *h);
        with_history.insert(w.name.timeline);
      }
      s = h.status();
    }
    if (!s.ok() && !IsPerObject(s)) return s;  // the repository, not this object
    timelines.insert(w.name.timeline);
    if (!s.ok()) {
      report.corrupt.push_back({key, s.message()});
      report.problems.push_back("wal object '" + key + "': " + s.message());
      continue;
    }
    if (w.name.kind != WalFileKind::kSegment) continue;
    auto segno = pg::SegmentNumber(w.name.segment_id, seg_size);
    if (!segno.ok()) {
      report.problems.push_back("wal object '" + key + "': " + segno.status().message());
      continue;
    }
    inventory.Add(w.name.timeline, *segno);
  }
  report.timelines.assign(timelines.begin(), timelines.end());
  for (auto it = inventory.segments.rbegin(); it != inventory.segments.rend(); ++it) {
    if (!it->second.empty()) {
      report.newest = pg::SegmentName(it->first, *it->second.rbegin(), seg_size);
      break;
    }
  }
  // A timeline recovery cannot follow: segments but no history file (the
  // lowest timeline of the repository needs none: the cluster began there).
  uint32_t lowest = timelines.empty() ? 0 : *timelines.begin();
  for (const auto& m : manifests) lowest = std::min(lowest == 0 ? m.timeline : lowest, m.timeline);
  for (const auto& [tli, segs] : inventory.segments) {
    if (tli > lowest && !segs.empty() && !with_history.count(tli)) {
      char name[16];
      std::snprintf(name, sizeof name, "%08X", tli);
      report.problems.push_back("timeline " + std::to_string(tli) +
                                " has WAL segments but no history file '" + repo::kHistoryPrefix +
                                name + ".history': recovery cannot follow it");
    }
  }

  for (const BackupManifest& m : manifests) {
    VerifyReport::Backup b;
    b.name = m.name;
    b.timeline = m.timeline;
    b.start_wal = m.start_wal;
    b.stop_wal = m.stop_wal;
    auto problems = VerifyBackupObjects(storage, m, config.parallel);
    if (!problems.ok()) return problems.status();
    for (const Problem& p : *problems)
      b.problems.push_back("'" + p.where + "': " + p.status.message());
    b.objects_ok = problems->empty();
    auto start = pg::SegmentNumber(m.start_wal.size() == 24 ? m.start_wal.substr(8) : "", seg_size);
    auto stop = pg::SegmentNumber(m.stop_wal.size() == 24 ? m.stop_wal.substr(8) : "", seg_size);
    auto stop_lsn = pg::ParseLsn(m.stop_lsn);
    if (!start.ok() || !stop.ok()) {
      b.problems.push_back("start_wal '" + m.start_wal + "' or stop_wal '" + m.stop_wal +
                           "' is not a segment name");
    } else {
      b.chain = ComputeChain(tree, inventory,
                             BackupPoint{m.timeline, *start, *stop, stop_lsn.ok() ? *stop_lsn : 0});
      for (const WalRun& g : b.chain.gaps) {
        b.problems.push_back(
            "wal gap " + DescribeRun(g, seg_size) + " (" + Plural(g.count(), "segment") + ")" +
            (g.first <= *stop ? ": the backup itself cannot be made consistent" : ""));
      }
    }
    for (const std::string& p : b.problems)
      report.problems.push_back("backup '" + m.name + "': " + p);
    report.backups.push_back(std::move(b));
  }
  for (auto& b : damaged) report.backups.push_back(std::move(b));
  auto orphans = FindOrphans(storage);
  if (!orphans.ok()) return orphans.status();
  for (const OrphanPrefix& o : *orphans) {
    report.notes.push_back(
        repo::BackupPrefix(o.name) + " has " + Plural(o.objects, "object") + " but no manifest: " +
        (o.marked ? "left by an interrupted delete; 'walferry delete --confirm' finishes it"
                  : "a backup-push that failed or is still running"));
  }
  return report;
}

Status VerifyOutcome(const VerifyReport& r) {
  if (r.backups.empty() && r.problems.empty()) {
    return Status::NotFound("no backup in " + r.repository + ": nothing could be restored")
        .WithHint("take one with 'walferry backup-push'");
  }
  if (!r.problems.empty()) {
    return Status::Corruption(Plural(r.problems.size(), "problem") + " in " + r.repository +
                              ", first: " + r.problems.front())
        .WithHint("see the report above; 'walferry verify --json' lists every problem");
  }
  return Status::Ok();
}

std::string VerifyReportText(const VerifyReport& r) {
  std::string out;
  for (const auto& b : r.backups) {
    std::string chain;
    for (const WalRun& run : b.chain.path)
      chain += (chain.empty() ? "" : ", ") + DescribeRun(run, r.segment_size);
    out += std::string(b.problems.empty() ? "ok      " : "FAILED  ") + b.name + "  timeline " +
           std::to_string(b.timeline) + "  wal " + b.start_wal + ".." + b.stop_wal + "  chain " +
           (chain.empty() ? "-" : chain) + "\n";
    for (const std::string& p : b.problems) out += "          " + p + "\n";
  }
  char line[512];
  std::snprintf(line, sizeof line,
                "wal     %zu objects (%.1f MiB, %s check), newest %s, %zu corrupt\n", r.wal_objects,
                static_cast<double>(r.wal_bytes) / (1 << 20),
                r.wal_check == WalCheck::kFull ? "full" : "header",
                r.newest ? r.newest->c_str() : "none", r.corrupt.size());
  out += line;
  for (const auto& c : r.corrupt) out += "          " + c.error + "\n";
  for (const std::string& p : r.problems) {
    if (p.starts_with("timeline ")) out += "          " + p + "\n";
  }
  for (const std::string& n : r.notes) out += "note    " + n + "\n";
  if (r.ok()) {
    out += "verify: ok: " + Plural(r.backups.size(), "backup") + " restorable and recoverable to " +
           (r.newest ? *r.newest : std::string("their stop point")) + "\n";
  } else if (r.backups.empty() && r.problems.empty()) {
    out += "verify: FAILED: no backup in " + r.repository + "\n";
  } else {
    out += "verify: FAILED: " + Plural(r.problems.size(), "problem") + "\n";
  }
  return out;
}

std::string VerifyReportJson(const VerifyReport& r) {
  json backups = json::array();
  for (const auto& b : r.backups) {
    json chain = json::array(), gaps = json::array();
    for (const WalRun& run : b.chain.path) chain.push_back(DescribeRun(run, r.segment_size));
    for (const WalRun& g : b.chain.gaps) {
      gaps.push_back({{"timeline", g.timeline},
                      {"first", pg::SegmentName(g.timeline, g.first, r.segment_size)},
                      {"last", pg::SegmentName(g.timeline, g.last, r.segment_size)},
                      {"segments", g.count()}});
    }
    json newest = nullptr;
    if (b.chain.newest) {
      for (const WalRun& run : b.chain.path) {
        if (*b.chain.newest >= run.first && *b.chain.newest <= run.last) {
          newest = pg::SegmentName(run.timeline, *b.chain.newest, r.segment_size);
        }
      }
    }
    backups.push_back(
        {{"name", b.name},
         {"timeline", b.timeline},
         {"start_wal", b.start_wal},
         {"stop_wal", b.stop_wal},
         {"objects_ok", b.objects_ok},
         {"target_timeline", b.chain.target_timeline},
         {"newest_wal", newest},
         {"chain", chain},
         {"recoverable_to_stop", b.chain.recoverable_to_stop},
         {"recoverable_to_newest", b.chain.recoverable_to_newest && b.chain.recoverable_to_stop},
         {"gaps", gaps},
         {"problems", b.problems}});
  }
  json corrupt = json::array();
  for (const auto& c : r.corrupt) corrupt.push_back({{"key", c.key}, {"error", c.error}});
  json j = {{"repository", r.repository},
            {"ok", r.ok()},
            {"wal_check", r.wal_check == WalCheck::kFull ? "full" : "header"},
            {"backups", backups},
            {"wal",
             {{"objects", r.wal_objects},
              {"bytes", r.wal_bytes},
              {"timelines", r.timelines},
              {"newest", r.newest ? json(*r.newest) : json(nullptr)},
              {"corrupt", corrupt}}},
            {"problems", r.problems},
            {"notes", r.notes}};
  return j.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

}  // namespace walferry::backup
