// wal_chain: .history parsing as
// PostgreSQL writes it, the timeline tree, and a backup's chain with its gaps.
#include "backup/wal_chain.h"

#include <gtest/gtest.h>

namespace walferry::backup {
namespace {

constexpr uint64_t k16M = 16u << 20;

TEST(History, ParsesWhatPostgresWrites) {
  // As written by PostgreSQL 15 for timeline 3 (tab separated, reason last).
  const char* text =
      "1\t0/3000158\tno recovery target specified\n"
      "\n"
      "2\t0/5000060\tat restore point \"before_drop\"\n";
  auto h = ParseHistory(text, 3, "00000003.history");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 2u);
  EXPECT_EQ((*h)[0].timeline, 1u);
  EXPECT_EQ((*h)[0].switch_lsn, 0x3000158u);
  EXPECT_EQ((*h)[0].reason, "no recovery target specified");
  EXPECT_EQ((*h)[1].timeline, 2u);
  EXPECT_EQ((*h)[1].switch_lsn, 0x5000060u);
  EXPECT_EQ((*h)[1].reason, "at restore point \"before_drop\"");
}

TEST(History, CommentsSpacesAndNoReason) {
  auto h = ParseHistory("# comment\n  1   0/3000000\r\n", 2, "00000002.history");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  ASSERT_EQ(h->size(), 1u);
  EXPECT_EQ((*h)[0].switch_lsn, 0x3000000u);
  EXPECT_EQ((*h)[0].reason, "");
}

TEST(History, RefusesMalformedFiles) {
  struct Case {
    const char* text;
    const char* why;
  } cases[] = {
      {"", "no parent"},
      {"# only a comment\n", "no parent"},
      {"x\t0/1\n", "timeline number"},
      {"0\t0/1\n", "timeline number"},
      {"1\t01000000\n", "LSN"},
      {"1\n", "LSN"},
      {"3\t0/1\n", "not below"},
      {"2\t0/1\n1\t0/2\n", "increase"},
      {"1\t0/5\n2\t0/4\n", "go back"},
      {"99999999999\t0/1\n", "timeline number"},
  };
  for (const auto& c : cases) {
    auto h = ParseHistory(c.text, 3, "00000003.history");
    ASSERT_FALSE(h.ok()) << c.text;
    EXPECT_EQ(h.status().code(), Status::Code::kCorruption);
    EXPECT_NE(h.status().message().find("00000003.history"), std::string::npos);
    EXPECT_NE(h.status().message().find(c.why), std::string::npos) << h.status().message();
  }
}

// 1 --(0/5000000 boundary)--> 2 --(0/8000060)--> 4 ; 1 --(0/7000028)--> 3
TimelineTree SampleTree() {
  TimelineTree t;
  t.Add(2, {{1, 0x5000000, ""}});
  t.Add(3, {{1, 0x7000028, ""}});
  t.Add(4, {{1, 0x5000000, ""}, {2, 0x8000060, ""}});
  return t;
}

TEST(TimelineTree, ParentsAndPaths) {
  TimelineTree t = SampleTree();
  EXPECT_FALSE(t.ParentOf(1).has_value());
  EXPECT_EQ(t.ParentOf(4)->timeline, 2u);
  EXPECT_EQ(t.ParentOf(4)->switch_lsn, 0x8000060u);
  auto p = t.Path(1, 4);
  ASSERT_EQ(p.size(), 3u);
  EXPECT_EQ(p[0].timeline, 1u);
  EXPECT_EQ(p[1].timeline, 2u);
  EXPECT_EQ(p[1].begin_lsn, 0x5000000u);
  EXPECT_EQ(p[2].timeline, 4u);
  EXPECT_TRUE(t.Path(3, 4).empty());  // siblings
  EXPECT_TRUE(t.Path(4, 1).empty());  // upwards
  EXPECT_EQ(t.Path(2, 2).size(), 1u);
  EXPECT_EQ(t.Timelines(), (std::vector<uint32_t>{2, 3, 4}));
}

TEST(TimelineTree, OwnHistoryFileWinsOverAncestorsCopies) {
  TimelineTree t;
  t.Add(3, {{1, 0x5000000, ""}, {2, 0x9000000, ""}});  // says 2 began at 0/5000000
  t.Add(2, {{1, 0x6000000, ""}});                      // 2.history says 0/6000000
  EXPECT_EQ(t.ParentOf(2)->switch_lsn, 0x6000000u);
  TimelineTree u;
  u.Add(2, {{1, 0x6000000, ""}});
  u.Add(3, {{1, 0x5000000, ""}, {2, 0x9000000, ""}});
  EXPECT_EQ(u.ParentOf(2)->switch_lsn, 0x6000000u);
  TimelineTree only3;
  only3.Add(3, {{1, 0x5000000, ""}, {2, 0x9000000, ""}});  // 2.history missing: filled in
  EXPECT_EQ(only3.ParentOf(2)->switch_lsn, 0x5000000u);
}

WalInventory Inventory(
    std::initializer_list<std::pair<uint32_t, std::pair<uint64_t, uint64_t>>> runs,
    uint64_t size = k16M) {
  WalInventory w;
  w.segment_size = size;
  for (const auto& [tli, r] : runs) {
    for (uint64_t s = r.first; s <= r.second; ++s) w.Add(tli, s);
  }
  return w;
}

TEST(Chain, OneTimelineComplete) {
  TimelineTree t;
  auto wal = Inventory({{1, {1, 20}}});
  auto r = ComputeChain(t, wal, BackupPoint{1, 3, 4, 0x4000100});
  EXPECT_EQ(r.target_timeline, 1u);
  EXPECT_EQ(r.newest, 20u);
  EXPECT_TRUE(r.gaps.empty());
  EXPECT_TRUE(r.recoverable_to_stop);
  EXPECT_TRUE(r.recoverable_to_newest);
  ASSERT_EQ(r.path.size(), 1u);
  EXPECT_EQ(DescribeRun(r.path[0], k16M), "000000010000000000000003..000000010000000000000014");
}

TEST(Chain, GapAfterStopIsReportedAsOneRun) {
  TimelineTree t;
  auto wal = Inventory({{1, {3, 6}}, {1, {10, 12}}, {1, {14, 14}}});
  auto r = ComputeChain(t, wal, BackupPoint{1, 3, 4, 0});
  ASSERT_EQ(r.gaps.size(), 2u);
  EXPECT_EQ(DescribeRun(r.gaps[0], k16M), "000000010000000000000007..000000010000000000000009");
  EXPECT_EQ(r.gaps[0].count(), 3u);
  EXPECT_EQ(DescribeRun(r.gaps[1], k16M), "00000001000000000000000D");
  EXPECT_TRUE(r.recoverable_to_stop);
  EXPECT_FALSE(r.recoverable_to_newest);
}

TEST(Chain, MissingStartOrStopSegment) {
  TimelineTree t;
  auto r = ComputeChain(t, Inventory({{1, {4, 9}}}), BackupPoint{1, 3, 4, 0});
  ASSERT_EQ(r.gaps.size(), 1u);
  EXPECT_EQ(r.gaps[0].first, 3u);
  EXPECT_FALSE(r.recoverable_to_stop);
  // Nothing archived at all: the backup's own WAL is the gap.
  auto none = ComputeChain(t, Inventory({}), BackupPoint{1, 3, 5, 0});
  EXPECT_FALSE(none.newest.has_value());
  ASSERT_EQ(none.gaps.size(), 1u);
  EXPECT_EQ(none.gaps[0].first, 3u);
  EXPECT_EQ(none.gaps[0].last, 5u);
  EXPECT_FALSE(none.recoverable_to_stop);
  // Stop segment beyond the newest archived one.
  auto r2 = ComputeChain(t, Inventory({{1, {3, 4}}}), BackupPoint{1, 3, 6, 0});
  ASSERT_EQ(r2.gaps.size(), 1u);
  EXPECT_EQ(r2.gaps[0].first, 5u);
  EXPECT_EQ(r2.gaps[0].last, 6u);
  EXPECT_FALSE(r2.recoverable_to_stop);
}

TEST(Chain, FollowsSwitchPointsMidSegment) {
  // Backup on 1 (segments 3..4); 2 begins at 0/8000060 (mid segment 8): segment 8
  // exists on both timelines, recovery reads it from 2; 1's own segment 8 is not needed.
  TimelineTree t;
  t.Add(2, {{1, 0x8000060, ""}});
  auto wal = Inventory({{1, {3, 7}}, {2, {8, 12}}});
  auto r = ComputeChain(t, wal, BackupPoint{1, 3, 4, 0x4000100});
  EXPECT_EQ(r.target_timeline, 2u);
  EXPECT_EQ(r.newest, 12u);
  EXPECT_TRUE(r.gaps.empty()) << DescribeRun(r.gaps[0], k16M);
  ASSERT_EQ(r.path.size(), 2u);
  EXPECT_EQ(DescribeRun(r.path[0], k16M), "000000010000000000000003..000000010000000000000007");
  EXPECT_EQ(DescribeRun(r.path[1], k16M), "000000020000000000000008..00000002000000000000000C");
  // Without 2's copy of segment 8 there is a gap, even if 1 has its own segment 8.
  auto wal2 = Inventory({{1, {3, 8}}, {2, {9, 12}}});
  auto r2 = ComputeChain(t, wal2, BackupPoint{1, 3, 4, 0x4000100});
  ASSERT_EQ(r2.gaps.size(), 1u);
  EXPECT_EQ(DescribeRun(r2.gaps[0], k16M), "000000020000000000000008");
}

TEST(Chain, SwitchAtSegmentBoundary) {
  TimelineTree t;
  t.Add(2, {{1, 0x8000000, ""}});  // 1 ends with segment 7, 2 begins with 8
  auto r = ComputeChain(t, Inventory({{1, {3, 7}}, {2, {8, 9}}}), BackupPoint{1, 3, 4, 0});
  EXPECT_TRUE(r.gaps.empty());
  EXPECT_EQ(r.newest, 9u);
  auto missing7 = ComputeChain(t, Inventory({{1, {3, 6}}, {2, {8, 9}}}), BackupPoint{1, 3, 4, 0});
  ASSERT_EQ(missing7.gaps.size(), 1u);
  EXPECT_EQ(DescribeRun(missing7.gaps[0], k16M), "000000010000000000000007");
}

TEST(Chain, ThroughSeveralTimelinesAndGapsPerTimeline) {
  TimelineTree t = SampleTree();  // 1 -> 2 at seg 5 -> 4 at seg 8; 1 -> 3 at seg 7
  // Backup on 1 at segment 2: reachable are 2 (begins 0/5000000), 3 (0/7000028) and 4. Newest: 4.
  auto wal = Inventory({{1, {2, 4}}, {2, {5, 6}}, {4, {8, 11}}, {3, {7, 30}}});
  auto r = ComputeChain(t, wal, BackupPoint{1, 2, 3, 0x3000100});
  EXPECT_EQ(r.target_timeline, 4u);
  EXPECT_EQ(r.newest, 11u);
  ASSERT_EQ(r.gaps.size(), 1u);  // 2's segment 7 is missing (3's copy belongs to another branch)
  EXPECT_EQ(DescribeRun(r.gaps[0], k16M), "000000020000000000000007");
  EXPECT_TRUE(r.recoverable_to_stop);
  EXPECT_FALSE(r.recoverable_to_newest);
}

TEST(Chain, TimelinesThatLeftBeforeTheBackupStoppedAreNotReachable) {
  TimelineTree t = SampleTree();
  // Backup on 1 from segment 6 to 7, stop at 0/7100000: 2 left 1 at 0/5000000 (before the
  // backup), 3 at 0/7000028 (before its stop): both unreachable; the chain stays on 1.
  auto wal = Inventory({{1, {6, 9}}, {2, {5, 20}}, {3, {7, 20}}, {4, {8, 20}}});
  auto r = ComputeChain(t, wal, BackupPoint{1, 6, 7, 0x7100000});
  EXPECT_EQ(r.target_timeline, 1u);
  EXPECT_EQ(r.newest, 9u);
  EXPECT_TRUE(r.recoverable_to_newest);
  // A backup on 3 only follows 3.
  auto r3 = ComputeChain(t, wal, BackupPoint{3, 10, 11, 0});
  EXPECT_EQ(r3.target_timeline, 3u);
  EXPECT_EQ(r3.newest, 20u);
}

TEST(Chain, NewTimelineWithoutSegmentsYetEndsOnTheParent) {
  TimelineTree t;
  t.Add(2, {{1, 0x9000060, ""}});  // just promoted: 2.history archived, no segment of 2 yet
  auto r = ComputeChain(t, Inventory({{1, {3, 8}}}), BackupPoint{1, 3, 4, 0});
  EXPECT_EQ(r.target_timeline, 2u);
  EXPECT_EQ(r.newest, 8u);
  EXPECT_TRUE(r.recoverable_to_newest);
}

TEST(Chain, LargeSegmentsAndSparseListingsStayCheap) {
  const uint64_t g = 1u << 30;
  TimelineTree t;
  WalInventory w;
  w.segment_size = g;
  w.Add(1, 5);
  w.Add(1, 6);
  w.Add(1, 1ull << 40);  // far away: the gap is one run, not a loop over 2^40 numbers
  auto r = ComputeChain(t, w, BackupPoint{1, 5, 5, 0});
  ASSERT_EQ(r.gaps.size(), 1u);
  EXPECT_EQ(r.gaps[0].first, 7u);
  EXPECT_EQ(r.gaps[0].last, (1ull << 40) - 1);
  EXPECT_EQ(pg::SegmentName(1, 5, g), "000000010000000100000001");
}

}  // namespace
}  // namespace walferry::backup
