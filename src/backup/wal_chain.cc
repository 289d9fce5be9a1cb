#include "backup/wal_chain.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <limits>

#include "pg/lsn.h"

namespace walferry::backup {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

// Splits off the first whitespace-separated field of `s`.
std::string_view NextField(std::string_view* s) {
  *s = Trim(*s);
  size_t end = s->find_first_of(" \t");
  std::string_view f = s->substr(0, end);
  s->remove_prefix(end == std::string_view::npos ? s->size() : end);
  return f;
}

}  // namespace

Result<std::vector<HistoryEntry>> ParseHistory(std::string_view text, uint32_t timeline,
                                               const std::string& name) {
  std::vector<HistoryEntry> out;
  int line_no = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++line_no;
    std::string_view rest = Trim(line);
    if (rest.empty() || rest.front() == '#') continue;
    auto bad = [&](const std::string& why) {
      return Status::Corruption("history file '" + name + "' line " + std::to_string(line_no) +
                                ": " + why);
    };
    std::string_view tli_text = NextField(&rest);
    uint64_t tli = 0;
    for (char c : tli_text) {
      if (c < '0' || c > '9' || tli > 0xFFFFFFFFull)
        return bad("expected a timeline number, got '" + std::string(tli_text) + "'");
      tli = tli * 10 + static_cast<uint64_t>(c - '0');
    }
    if (tli == 0 || tli > 0xFFFFFFFFull)
      return bad("expected a timeline number, got '" + std::string(tli_text) + "'");
    auto lsn = pg::ParseLsn(NextField(&rest));
    if (!lsn.ok()) return bad(lsn.status().message());
    HistoryEntry e{static_cast<uint32_t>(tli), *lsn, std::string(Trim(rest))};
    if (e.timeline >= timeline) {
      return bad("timeline " + std::to_string(e.timeline) +
                 " is not below the file's own timeline " + std::to_string(timeline));
    }
    if (!out.empty() && e.timeline <= out.back().timeline)
      return bad("timelines must increase from line to line");
    if (!out.empty() && e.switch_lsn < out.back().switch_lsn)
      return bad("switchpoints must not go back");
    out.push_back(std::move(e));
  }
  if (out.empty())
    return Status::Corruption("history file '" + name + "' lists no parent timeline");
  return out;
}

void TimelineTree::Add(uint32_t timeline, const std::vector<HistoryEntry>& entries) {
  for (size_t i = 0; i < entries.size(); ++i) {
    uint32_t child = i + 1 < entries.size() ? entries[i + 1].timeline : timeline;
    bool own = child == timeline;
    if (!own && (authoritative_.count(child) || parents_.count(child))) continue;
    parents_[child] = Parent{entries[i].timeline, entries[i].switch_lsn};
    if (own) authoritative_.insert(child);
  }
}

std::optional<TimelineTree::Parent> TimelineTree::ParentOf(uint32_t timeline) const {
  auto it = parents_.find(timeline);
  if (it == parents_.end()) return std::nullopt;
  return it->second;
}

std::vector<TimelineTree::Step> TimelineTree::Path(uint32_t ancestor, uint32_t descendant) const {
  std::vector<Step> up;
  uint32_t t = descendant;
  // Parents have lower numbers (ParseHistory checks), so this ends; the bound is belt and braces.
  for (size_t guard = 0; guard <= parents_.size() + 1; ++guard) {
    if (t == ancestor) {
      up.push_back(Step{t, 0});
      std::reverse(up.begin(), up.end());
      return up;
    }
    auto p = ParentOf(t);
    if (!p || p->timeline >= t) return {};
    up.push_back(Step{t, p->switch_lsn});
    t = p->timeline;
  }
  return {};
}

std::vector<uint32_t> TimelineTree::Timelines() const {
  std::vector<uint32_t> out;
  for (const auto& [t, p] : parents_) out.push_back(t);
  return out;
}

ChainReport ComputeChain(const TimelineTree& tree, const WalInventory& wal,
                         const BackupPoint& backup) {
  const uint64_t seg = wal.segment_size;
  ChainReport r;
  const uint64_t stop_segno = std::max(backup.stop_segno, backup.start_segno);
  const uint64_t threshold = backup.stop_lsn != 0 ? backup.stop_lsn : stop_segno * seg;

  // L: the highest timeline the backup can reach.
  std::vector<TimelineTree::Step> path{{backup.timeline, 0}};
  for (uint32_t t : tree.Timelines()) {
    auto p = tree.Path(backup.timeline, t);
    if (p.size() < 2 || p[1].begin_lsn < threshold) continue;
    if (t > path.back().timeline) path = std::move(p);
  }
  r.target_timeline = path.back().timeline;

  // The part of each timeline of the path that recovery reads: [lo, hi].
  struct Range {
    uint32_t timeline;
    uint64_t lo, hi;
  };
  std::vector<Range> ranges;
  for (size_t i = 0; i < path.size(); ++i) {
    uint64_t lo = i == 0 ? backup.start_segno
                         : std::max(pg::SegmentOfLsn(path[i].begin_lsn, seg), ranges.back().lo);
    if (i > 0) ranges.back().hi = lo == 0 ? 0 : lo - 1;
    ranges.push_back(Range{path[i].timeline, lo, std::numeric_limits<uint64_t>::max()});
  }
  static const std::set<uint64_t> kNone;
  auto present = [&](uint32_t t) -> const std::set<uint64_t>& {
    auto it = wal.segments.find(t);
    return it == wal.segments.end() ? kNone : it->second;
  };

  for (auto it = ranges.rbegin(); it != ranges.rend() && !r.newest; ++it) {
    if (it->hi < it->lo) continue;
    const auto& s = present(it->timeline);
    auto x = s.upper_bound(it->hi);
    if (x != s.begin() && *std::prev(x) >= it->lo) r.newest = *std::prev(x);
  }
  r.end_segno = std::max(r.newest.value_or(0), stop_segno);

  for (const Range& range : ranges) {
    if (range.lo > r.end_segno || range.hi < range.lo) continue;
    const uint64_t hi = std::min(range.hi, r.end_segno);
    r.path.push_back(WalRun{range.timeline, range.lo, hi});
    const auto& s = present(range.timeline);
    uint64_t next = range.lo;  // first segment not yet accounted for
    for (auto x = s.lower_bound(range.lo); x != s.end() && *x <= hi; ++x) {
      if (*x > next) r.gaps.push_back(WalRun{range.timeline, next, *x - 1});
      next = *x + 1;
    }
    if (next <= hi) r.gaps.push_back(WalRun{range.timeline, next, hi});
  }
  r.recoverable_to_newest = r.gaps.empty();
  r.recoverable_to_stop = std::none_of(r.gaps.begin(), r.gaps.end(),
                                       [&](const WalRun& g) { return g.first <= stop_segno; });
  return r;
}

std::string DescribeRun(const WalRun& run, uint64_t segment_size) {
  std::string s = pg::SegmentName(run.timeline, run.first, segment_size);
  if (run.last != run.first) s += ".." + pg::SegmentName(run.timeline, run.last, segment_size);
  return s;
}

}  // namespace walferry::backup
