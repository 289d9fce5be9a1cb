// retention: which backups `delete` keeps under --retain-full / --retain-days,
// and that the WAL it removes is never needed by a kept backup.
#include "backup/retention.h"

#include <gtest/gtest.h>

#include "backup/wal_chain.h"

namespace walferry::backup {
namespace {

constexpr uint64_t k16M = 16u << 20;
constexpr int64_t kDay = 86400;
constexpr int64_t kNow = 1800000000;

// Daily backups b0 (oldest) .. b{n-1}, the newest stopped one hour ago; b_i starts at segment
// 10*i+3.
std::vector<RetentionBackup> Daily(int n) {
  std::vector<RetentionBackup> out;
  for (int i = 0; i < n; ++i) {
    int64_t stop = kNow - 3600 - int64_t{n - 1 - i} * kDay;
    out.push_back({"b" + std::to_string(i), "full", stop - 600, stop, 1, uint64_t(10 * i + 3)});
  }
  return out;
}

RetentionPolicy Full(int n) { return RetentionPolicy{n, std::nullopt}; }
RetentionPolicy Days(int d) { return RetentionPolicy{std::nullopt, d}; }

TEST(Retention, PolicyNeedsARuleAndPositiveValues) {
  EXPECT_EQ(ValidatePolicy({}).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ValidatePolicy(Full(0)).code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(ValidatePolicy(Days(-1)).code(), Status::Code::kInvalidArgument);
  EXPECT_TRUE(ValidatePolicy(Full(1)).ok());
  EXPECT_TRUE(ValidatePolicy(RetentionPolicy{2, 3}).ok());
  EXPECT_FALSE(PlanRetention(Daily(3), {}, kNow).ok());
}

TEST(Retention, RetainFullKeepsTheNewestN) {
  auto plan = PlanRetention(Daily(10), Full(3), kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->Kept(), (std::vector<std::string>{"b7", "b8", "b9"}));
  EXPECT_EQ(plan->Deleted().size(), 7u);
  EXPECT_EQ(plan->Deleted().front(), "b0");
  EXPECT_EQ(plan->wal_cutoff_segno, 73u);  // b7's start segment
  EXPECT_EQ(plan->backups.back().reason, "the newest backup");
  EXPECT_EQ(plan->backups[7].reason, "one of the 3 newest full backups");
  EXPECT_EQ(plan->backups[0].reason, "older than the retention");
}

TEST(Retention, FewerBackupsThanTheRuleKeepsAll) {
  auto plan = PlanRetention(Daily(2), Full(7), kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->Deleted().empty());
  EXPECT_EQ(plan->wal_cutoff_segno, 3u);
}

TEST(Retention, NoBackupsDeletesNothing) {
  auto plan = PlanRetention({}, Full(1), kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_TRUE(plan->backups.empty());
  EXPECT_FALSE(plan->wal_cutoff_segno.has_value());
  std::vector<ObjectInfo> wal{{"wal/0000000100000000/000000010000000000000001", 1, 0, ""}};
  EXPECT_TRUE(WalToDelete(wal, plan->wal_cutoff_segno, k16M).empty());
}

TEST(Retention, RetainDaysKeepsTheWindowAndTheBackupBeforeIt) {
  // Newest stopped 1 h ago, then one per day: b9 (1h), b8 (1d1h), b7 (2d1h), b6 (3d1h)...
  auto plan = PlanRetention(Daily(10), Days(2), kNow);
  ASSERT_TRUE(plan.ok());
  // b9, b8 are within 2 days; b7 stopped 2d1h ago: the newest before the window, kept
  // so that a point 1d23h ago is still recoverable.
  EXPECT_EQ(plan->Kept(), (std::vector<std::string>{"b7", "b8", "b9"}));
  EXPECT_NE(plan->backups[7].reason.find("before the 2-day window"), std::string::npos);
  EXPECT_EQ(plan->backups[8].reason, "stopped within the last 2 days");
}

TEST(Retention, EitherRuleKeeps) {
  auto plan = PlanRetention(Daily(10), RetentionPolicy{5, 1}, kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->Kept().size(), 5u);  // the count rule keeps more here
  auto plan2 = PlanRetention(Daily(10), RetentionPolicy{1, 4}, kNow);
  ASSERT_TRUE(plan2.ok());
  // b9..b6 stopped within 4 days, b5 (4d1h) is the newest before the window.
  EXPECT_EQ(plan2->Kept(), (std::vector<std::string>{"b5", "b6", "b7", "b8", "b9"}));
}

TEST(Retention, NewestIsAlwaysKeptEvenWhenOld) {
  auto old = Daily(3);
  for (auto& b : old) b.stop_time -= 100 * kDay;
  auto plan = PlanRetention(old, Days(7), kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->Kept(), (std::vector<std::string>{"b2"}));
}

TEST(Retention, OrderComesFromStopTimeNotInput) {
  auto b = Daily(4);
  std::swap(b[0], b[3]);
  auto plan = PlanRetention(b, Full(2), kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->Kept(), (std::vector<std::string>{"b2", "b3"}));
  EXPECT_EQ(plan->backups.front().name, "b0");
}

TEST(Retention, CountRuleSkipsIncrementals) {
  auto b = Daily(4);
  b[3].kind = "incremental";
  auto plan = PlanRetention(b, Full(1), kNow);
  ASSERT_TRUE(plan.ok());
  // b3 is the newest (always kept); b2 is the newest full one.
  EXPECT_EQ(plan->Kept(), (std::vector<std::string>{"b2", "b3"}));
}

TEST(Retention, CutoffIsTheLowestStartOfKeptBackupsAcrossTimelines) {
  auto b = Daily(4);
  b[3].timeline = 2;
  b[3].start_segno = 5;  // a backup on timeline 2 that starts lower than b2 (after a PITR)
  auto plan = PlanRetention(b, Full(2), kNow);
  ASSERT_TRUE(plan.ok());
  EXPECT_EQ(plan->wal_cutoff_segno, 5u);
}

std::vector<ObjectInfo> Listing(const std::vector<std::string>& names) {
  std::vector<ObjectInfo> out;
  for (const auto& n : names) {
    std::string key =
        n.ends_with(".history") ? "wal/history/" + n : "wal/" + n.substr(0, 16) + "/" + n;
    out.push_back({key, 100, 0, ""});
  }
  return out;
}

std::vector<std::string> Keys(const std::vector<ObjectInfo>& objects) {
  std::vector<std::string> out;
  for (const auto& o : objects) out.push_back(o.key.substr(o.key.rfind('/') + 1));
  return out;
}

TEST(RetentionWal, DeletesOnlyBelowTheCutoffOnEveryTimeline) {
  auto wal = Listing({"000000010000000000000004", "000000010000000000000004.00000028.backup",
                      "000000010000000000000005", "000000010000000000000006.partial",
                      "000000010000000000000007", "000000020000000000000006",
                      "000000020000000000000007", "00000002.history", "000000010000000100000000"});
  auto del = WalToDelete(wal, 7, k16M);
  EXPECT_EQ(Keys(del), (std::vector<std::string>{
                           "000000010000000000000004", "000000010000000000000004.00000028.backup",
                           "000000010000000000000005", "000000010000000000000006.partial",
                           "000000020000000000000006"}));
}

TEST(RetentionWal, NeverTouchesForeignOrMisfiledKeys) {
  std::vector<ObjectInfo> wal{
      {"wal/0000000100000000/notes.txt", 1, 0, ""},
      {"wal/0000000100000001/000000010000000000000001", 1, 0, ""},  // misfiled
      {"wal/history/00000001.history", 1, 0, ""},
      {"wal/000000010000000000000001", 1, 0, ""}};
  EXPECT_TRUE(WalToDelete(wal, 1000, k16M).empty());
}

TEST(RetentionWal, SegmentSizeMatters) {
  // With 1 GiB segments "0000000100000001 00000002" is segment 4+2 = 6.
  auto wal = Listing({"000000010000000100000002"});
  EXPECT_EQ(WalToDelete(wal, 6, 1u << 30).size(), 0u);
  EXPECT_EQ(WalToDelete(wal, 7, 1u << 30).size(), 1u);
}

// The promise of delete: after removing what the plan says, every kept backup
// still has a gap-free chain to the newest WAL.
TEST(RetentionWal, KeptBackupsStayRecoverableAfterTheDelete) {
  auto backups = Daily(6);  // starts at 3, 13, ..., 53; WAL 0..60 on timeline 1
  std::vector<std::string> names;
  for (uint64_t s = 0; s <= 60; ++s) names.push_back(pg::SegmentName(1, s, k16M));
  auto wal = Listing(names);
  for (int keep = 1; keep <= 6; ++keep) {
    auto plan = PlanRetention(backups, Full(keep), kNow);
    ASSERT_TRUE(plan.ok());
    auto del = WalToDelete(wal, plan->wal_cutoff_segno, k16M);
    WalInventory inv;
    for (uint64_t s = 0; s <= 60; ++s) inv.Add(1, s);
    for (const auto& o : del)
      inv.segments[1].erase(*pg::SegmentNumber(o.key.substr(o.key.size() - 16), k16M));
    const std::vector<std::string> kept_names = plan->Kept();
    for (const auto& b : backups) {
      bool kept = std::find(kept_names.begin(), kept_names.end(), b.name) != kept_names.end();
      auto chain =
          ComputeChain(TimelineTree{}, inv, BackupPoint{1, b.start_segno, b.start_segno + 1, 0});
      if (kept) {
        EXPECT_TRUE(chain.recoverable_to_newest) << b.name << " keep " << keep;
      }
    }
    EXPECT_EQ(del.size(), backups[6 - keep].start_segno) << keep;
  }
}

}  // namespace
}  // namespace walferry::backup
