// wal_chain.h — which archived WAL a base backup needs, and whether it is all there.
//
// Pure logic, no I/O: callers list the repository and read the .history files,
// then ask here. Segments are numbered as PostgreSQL numbers them (XLogSegNo:
// LSN / wal_segment_size), so a segment number is a position in the WAL stream
// whatever the timeline; the timeline says which branch of the stream.
//
// Timelines. Timeline N's history file (N.history) lists its ancestors, oldest
// first, one line each: "parentTLI<TAB>switchpoint<TAB>reason", where the
// switchpoint is the LSN at which the parent ended and the next timeline of the
// file (N for the last line) began. At a switch at LSN X, the segment
// containing X exists on both timelines: recovery reads it, and every later
// segment, from the new timeline (PostgreSQL's XLogFileReadAnyTLI), and reads
// the parent only up to the segment before.
//
// A backup's chain. From the backup's start segment S on its timeline T, the
// chain follows T and its descendants to the newest timeline L that the backup
// can reach (the highest-numbered timeline whose path from T leaves T at or
// after the backup's stop LSN), up to the newest segment archived on that path.
// Every segment in between must be archived; the missing ones are the gaps.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "pg/wal_segment.h"
#include "walferry/status.h"

namespace walferry::backup {

// Segment arithmetic and LSN text: pg/wal_segment.h and pg/lsn.h.

// ---- timeline history

struct HistoryEntry {
  uint32_t timeline = 0;    // a timeline that ended...
  uint64_t switch_lsn = 0;  // ...here, where the next one began
  std::string reason;
};

// Parses one N.history file as PostgreSQL writes it (blank lines and lines
// starting with '#' are skipped; the reason is optional). Timelines must
// increase from line to line and stay below N; switchpoints must not go back.
// kCorruption naming `name` and the line otherwise.
Result<std::vector<HistoryEntry>> ParseHistory(std::string_view text, uint32_t timeline,
                                               const std::string& name);

// The parent links of every timeline known from history files.
class TimelineTree {
 public:
  struct Parent {
    uint32_t timeline = 0;
    uint64_t switch_lsn = 0;  // where the child began
  };
  // Records N.history. Its last line is authoritative for N's parent; the
  // earlier lines fill in ancestors whose own history file was not added.
  void Add(uint32_t timeline, const std::vector<HistoryEntry>& entries);
  bool Has(uint32_t timeline) const { return parents_.count(timeline) != 0; }
  std::optional<Parent> ParentOf(uint32_t timeline) const;
  // The timelines from `ancestor` down to `descendant`, both included, with
  // the switch LSN at which each step began (0 for the first); empty when
  // `descendant` does not descend from (and is not) `ancestor`.
  struct Step {
    uint32_t timeline = 0;
    uint64_t begin_lsn = 0;
  };
  std::vector<Step> Path(uint32_t ancestor, uint32_t descendant) const;
  // Every timeline with a history file, ascending.
  std::vector<uint32_t> Timelines() const;

 private:
  std::map<uint32_t, Parent> parents_;
  std::set<uint32_t> authoritative_;
};

// ---- the chain of one backup

// The archived WAL segments, by timeline (only whole segments count; a
// .partial file is not replayed by recovery as such).
struct WalInventory {
  uint64_t segment_size = pg::kDefaultWalSegmentSize;
  std::map<uint32_t, std::set<uint64_t>> segments;
  void Add(uint32_t timeline, uint64_t segno) { segments[timeline].insert(segno); }
};

struct BackupPoint {
  uint32_t timeline = 0;
  uint64_t start_segno = 0;
  uint64_t stop_segno = 0;  // the segment holding the backup's last WAL byte (its stop_wal)
  uint64_t stop_lsn = 0;    // 0 when unknown: then the start of stop_segno is used
};

struct WalRun {  // consecutive segments of one timeline
  uint32_t timeline = 0;
  uint64_t first = 0;
  uint64_t last = 0;
  uint64_t count() const { return last - first + 1; }
};

struct ChainReport {
  uint32_t target_timeline = 0;  // L
  std::vector<WalRun> path;      // the part of each timeline the chain reads, in order
  std::optional<uint64_t>
      newest;              // newest archived segment on the path (its timeline: the run holding it)
  uint64_t end_segno = 0;  // the chain ends here: max(newest, stop)
  std::vector<WalRun> gaps;            // missing segments, first..last per timeline
  bool recoverable_to_stop = false;    // every segment from start to stop is archived
  bool recoverable_to_newest = false;  // ...and on to the newest one
};

// The chain of `backup` through `tree`, checked against `wal`.
ChainReport ComputeChain(const TimelineTree& tree, const WalInventory& wal,
                         const BackupPoint& backup);

// "000000010000000000000003" or "000000010000000000000003..000000010000000000000007".
std::string DescribeRun(const WalRun& run, uint64_t segment_size);

}  // namespace walferry::backup
