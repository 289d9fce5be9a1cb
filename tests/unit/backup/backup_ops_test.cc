// delete and verify on the in-memory backend: a repository with backups, WAL
// and history files built object by object, then damaged in known ways.
#include <gtest/gtest.h>

#include <ctime>
#include <nlohmann/json.hpp>

#include "archive/repository.h"
#include "backup/delete.h"
#include "backup/manifest.h"
#include "backup/verify.h"
#include "common/crypto.h"
#include "pg/lsn.h"
#include "walferry/wal_name.h"

namespace walferry::backup {
namespace {

using nlohmann::json;
constexpr uint32_t kSeg = 1u << 20;  // 1 MiB segments keep the test small
constexpr int64_t kDay = 86400;
constexpr int64_t kNow = 1800000000;

class Repo {
 public:
  Repo() : storage_(NewMemoryStorage()) {
    EXPECT_TRUE(archive::CreateIdentity(*storage_, {7318012345678901234ull, "15", kSeg}).ok());
  }
  Storage& storage() { return *storage_; }

  // A WAL object as archive-push stores it (codec none: header line, then the bytes).
  void PutWalFile(const std::string& name, const std::string& bytes) {
    auto wal = ParseWalFileName(name);
    ASSERT_TRUE(wal.ok()) << name;
    archive::ObjectHeader h{name, Codec::kNone, bytes.size(), crypto::Sha256Hex(bytes)};
    ASSERT_TRUE(PutString(*storage_, WalObjectKey(*wal), archive::EncodeHeader(h) + bytes).ok());
  }
  void PutSegments(uint32_t tli, uint64_t first, uint64_t last) {
    for (uint64_t s = first; s <= last; ++s)
      PutWalFile(pg::SegmentName(tli, s, kSeg), std::string(kSeg, char('a' + s % 26)));
  }
  void Drop(const std::string& key) { ASSERT_TRUE(storage_->Remove(key).ok()); }
  static std::string SegKey(uint32_t tli, uint64_t segno) {
    std::string n = pg::SegmentName(tli, segno, kSeg);
    return "wal/" + n.substr(0, 16) + "/" + n;
  }

  // A backup of one small file, stopped `age` seconds before kNow.
  BackupManifest PutBackup(const std::string& name, uint32_t tli, uint64_t start, uint64_t stop,
                           int64_t age) {
    const std::string data = "contents of " + name;
    BackupManifest m;
    m.name = name;
    m.system_identifier = "7318012345678901234";
    m.pg_version = "15";
    m.timeline = tli;
    m.start_time = FormatUtc(kNow - age - 60);
    m.stop_time = FormatUtc(kNow - age);
    m.start_lsn = pg::FormatLsn(start * kSeg + 0x28);
    m.stop_lsn = pg::FormatLsn(stop * kSeg + 0x138);
    m.start_wal = pg::SegmentName(tli, start, kSeg);
    m.stop_wal = pg::SegmentName(tli, stop, kSeg);
    m.wal_segment_size = kSeg;
    m.compression = Codec::kNone;
    m.backup_label = "START WAL LOCATION: " + m.start_lsn + "\n";
    ManifestFile f;
    f.path = "PG_VERSION";
    f.mode = 0600;
    f.size = data.size();
    f.sha256 = crypto::Sha256Hex(data);
    f.object = 0;
    m.files.push_back(f);
    m.objects.push_back(
        {DataObjectKey(name, 1), data.size(), crypto::Sha256Hex(data), data.size()});
    m.original_bytes = m.stored_bytes = data.size();
    EXPECT_TRUE(PutString(*storage_, m.objects[0].key, data).ok());
    EXPECT_TRUE(PutString(*storage_, ManifestKey(name), EncodeManifest(m)).ok());
    return m;
  }
  bool Has(const std::string& key) { return storage_->Head(key).ok(); }
  size_t Count(const std::string& prefix) { return ListAll(*storage_, prefix)->size(); }

 private:
  std::unique_ptr<Storage> storage_;
};

// Four daily backups b0..b3 starting at segments 3, 10, 17, 24; WAL 1..30 on timeline 1.
void Daily(Repo& repo) {
  for (int i = 0; i < 4; ++i)
    repo.PutBackup("b" + std::to_string(i), 1, 3 + 7 * i, 4 + 7 * i, (3 - i) * kDay + 3600);
  repo.PutSegments(1, 1, 30);
}

VerifyReport MustVerify(Repo& repo, WalCheck depth = WalCheck::kFull) {
  auto r = Verify(repo.storage(), VerifyConfig{3, depth});
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : VerifyReport{};
}

TEST(VerifyTest, HealthyRepositoryIsOk) {
  Repo repo;
  Daily(repo);
  repo.PutWalFile("000000010000000000000004.00000028.backup", "START WAL LOCATION: 0/400028\n");
  VerifyReport r = MustVerify(repo);
  EXPECT_TRUE(r.ok()) << (r.problems.empty() ? "" : r.problems[0]);
  EXPECT_TRUE(VerifyOutcome(r).ok());
  ASSERT_EQ(r.backups.size(), 4u);
  EXPECT_EQ(r.wal_objects, 31u);
  EXPECT_EQ(r.newest, pg::SegmentName(1, 30, kSeg));
  json j = json::parse(VerifyReportJson(r));
  EXPECT_TRUE(j["ok"].get<bool>());
  EXPECT_EQ(j["wal_check"], "full");
  EXPECT_EQ(j["backups"][0]["name"], "b0");
  EXPECT_EQ(j["backups"][0]["newest_wal"], pg::SegmentName(1, 30, kSeg));
  EXPECT_TRUE(j["backups"][0]["recoverable_to_newest"].get<bool>());
  EXPECT_EQ(j["backups"][0]["chain"][0],
            pg::SegmentName(1, 3, kSeg) + ".." + pg::SegmentName(1, 30, kSeg));
  EXPECT_TRUE(j["wal"]["corrupt"].empty());
  EXPECT_NE(VerifyReportText(r).find("verify: ok: 4 backups"), std::string::npos);
}

TEST(VerifyTest, NoBackupIsNotFound) {
  Repo repo;
  repo.PutSegments(1, 1, 3);
  VerifyReport r = MustVerify(repo);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(VerifyOutcome(r).IsNotFound());
}

TEST(VerifyTest, NotARepositoryIsAnError) {
  auto storage = NewMemoryStorage();
  auto r = Verify(*storage, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition);
}

TEST(VerifyTest, GapIsListedForEveryBackupBeforeIt) {
  Repo repo;
  Daily(repo);
  repo.Drop(Repo::SegKey(1, 20));
  repo.Drop(Repo::SegKey(1, 21));
  VerifyReport r = MustVerify(repo);
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(VerifyOutcome(r).code(), Status::Code::kCorruption);
  // b0..b2 start before segment 20: their chains have the gap; b3 (from 24) does not.
  json j = json::parse(VerifyReportJson(r));
  for (int i = 0; i < 3; ++i) {
    auto& b = j["backups"][i];
    EXPECT_TRUE(b["recoverable_to_stop"].get<bool>());
    EXPECT_FALSE(b["recoverable_to_newest"].get<bool>());
    ASSERT_EQ(b["gaps"].size(), 1u);
    EXPECT_EQ(b["gaps"][0]["first"], pg::SegmentName(1, 20, kSeg));
    EXPECT_EQ(b["gaps"][0]["last"], pg::SegmentName(1, 21, kSeg));
    EXPECT_EQ(b["gaps"][0]["segments"], 2);
  }
  EXPECT_TRUE(j["backups"][3]["recoverable_to_newest"].get<bool>());
  EXPECT_EQ(r.problems.size(), 3u);
  EXPECT_NE(VerifyReportText(r).find("wal gap " + pg::SegmentName(1, 20, kSeg) + ".." +
                                     pg::SegmentName(1, 21, kSeg)),
            std::string::npos);
}

TEST(VerifyTest, MissingStopSegmentMeansNotEvenConsistent) {
  Repo repo;
  Daily(repo);
  repo.Drop(Repo::SegKey(1, 25));  // b3 stops in segment 25
  VerifyReport r = MustVerify(repo);
  EXPECT_FALSE(r.backups[3].chain.recoverable_to_stop);
  EXPECT_NE(r.backups[3].problems[0].find("cannot be made consistent"), std::string::npos);
}

TEST(VerifyTest, DamagedWalPayloadFoundByFullCheckOnly) {
  Repo repo;
  Daily(repo);
  std::string key = Repo::SegKey(1, 12);
  std::string obj = *GetString(repo.storage(), key);
  obj[obj.size() - 100] ^= 1;
  ASSERT_TRUE(PutString(repo.storage(), key, obj).ok());
  VerifyReport full = MustVerify(repo);
  ASSERT_EQ(full.corrupt.size(), 1u);
  EXPECT_EQ(full.corrupt[0].key, key);
  EXPECT_NE(full.corrupt[0].error.find("sha256"), std::string::npos);
  EXPECT_FALSE(full.backups[0].chain.recoverable_to_newest);  // a damaged segment is a gap
  EXPECT_TRUE(full.backups[2].chain.recoverable_to_newest);   // b2 starts at 17
  VerifyReport header = MustVerify(repo, WalCheck::kHeader);
  EXPECT_TRUE(header.ok()) << "the header check does not read payloads";
}

TEST(VerifyTest, HeaderCheckFindsShortAndMisfiledSegments) {
  Repo repo;
  Daily(repo);
  // Segment 13's object holds segment 14's header; segment 15 is short.
  std::string other = *GetString(repo.storage(), Repo::SegKey(1, 14));
  ASSERT_TRUE(PutString(repo.storage(), Repo::SegKey(1, 13), other).ok());
  repo.PutWalFile(pg::SegmentName(1, 15, kSeg), "short");
  VerifyReport r = MustVerify(repo, WalCheck::kHeader);
  ASSERT_EQ(r.corrupt.size(), 2u);
  EXPECT_NE(r.corrupt[0].error.find("holds '" + pg::SegmentName(1, 14, kSeg) + "'"),
            std::string::npos);
  EXPECT_NE(r.corrupt[1].error.find("not a whole segment"), std::string::npos);
}

TEST(VerifyTest, DamagedBackupObject) {
  Repo repo;
  Daily(repo);
  ASSERT_TRUE(PutString(repo.storage(), DataObjectKey("b1", 1), "contents of bX").ok());
  VerifyReport r = MustVerify(repo);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.backups[1].objects_ok);
  EXPECT_TRUE(r.backups[0].objects_ok);
  EXPECT_NE(r.problems[0].find("backup 'b1'"), std::string::npos);
  repo.Drop(DataObjectKey("b2", 1));
  EXPECT_FALSE(MustVerify(repo).backups[2].objects_ok);
}

TEST(VerifyTest, FollowsTimelinesAndNeedsTheirHistory) {
  Repo repo;
  repo.PutBackup("b0", 1, 3, 4, kDay);
  repo.PutSegments(1, 1, 9);
  // Timeline 2 began at segment 8 (mid-segment): 2 has its own copy of 8.
  repo.PutSegments(2, 8, 12);
  VerifyReport without = MustVerify(repo);
  EXPECT_FALSE(without.ok());
  ASSERT_FALSE(without.problems.empty());
  EXPECT_NE(without.problems[0].find("timeline 2 has WAL segments but no history file"),
            std::string::npos);
  repo.PutWalFile("00000002.history",
                  "1\t" + pg::FormatLsn(8 * kSeg + 0x60) + "\tno recovery target specified\n");
  VerifyReport with = MustVerify(repo);
  EXPECT_TRUE(with.ok()) << (with.problems.empty() ? "" : with.problems[0]);
  EXPECT_EQ(with.backups[0].chain.target_timeline, 2u);
  EXPECT_EQ(with.newest, pg::SegmentName(2, 12, kSeg));
  repo.Drop(Repo::SegKey(2, 8));  // 1's own segment 8 does not replace it
  EXPECT_FALSE(MustVerify(repo).ok());
}

TEST(VerifyTest, DamagedHistoryFileIsAProblem) {
  Repo repo;
  repo.PutBackup("b0", 1, 3, 4, kDay);
  repo.PutSegments(1, 1, 5);
  repo.PutWalFile("00000002.history", "garbage\n");
  VerifyReport r = MustVerify(repo);
  ASSERT_EQ(r.corrupt.size(), 1u);
  EXPECT_NE(r.corrupt[0].error.find("00000002.history"), std::string::npos);
}

TEST(VerifyTest, DamagedManifestIsListedAndTheRestStillChecked) {
  Repo repo;
  Daily(repo);
  ASSERT_TRUE(PutString(repo.storage(), ManifestKey("b1"), "{\"format\": 1, \"name\": 7}").ok());
  repo.Drop(Repo::SegKey(1, 27));
  VerifyReport r = MustVerify(repo);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.backups.size(), 4u);
  EXPECT_EQ(r.backups.back().name, "b1");  // the damaged one, after the others
  EXPECT_FALSE(r.backups.back().objects_ok);
  EXPECT_NE(r.backups.back().problems[0].find("manifest: "), std::string::npos);
  EXPECT_EQ(r.backups[0].name, "b0");
  EXPECT_EQ(r.backups[0].chain.gaps.size(), 1u);  // the others are still checked
  EXPECT_EQ(VerifyOutcome(r).code(), Status::Code::kCorruption);
}

// Issue 10: verify stopped at the first manifest of a newer format.
TEST(VerifyTest, NewerFormatManifestIsReportedAndTheRestStillChecked) {
  Repo repo;
  Daily(repo);
  ASSERT_TRUE(
      PutString(repo.storage(), ManifestKey("b0"), "{\"format\": 99, \"name\": \"b0\"}").ok());
  auto r = Verify(repo.storage(), VerifyConfig{3, WalCheck::kFull});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->backups.size(), 4u);
  EXPECT_EQ(r->backups.back().name, "b0");
  EXPECT_NE(r->backups.back().problems[0].find("format 99"), std::string::npos)
      << r->backups.back().problems[0];
  EXPECT_TRUE(r->backups[0].objects_ok);  // b1..b3 checked
  EXPECT_EQ(VerifyOutcome(*r).code(), Status::Code::kCorruption);
}

TEST(VerifyTest, OrphanObjectsAreNotesNotProblems) {
  Repo repo;
  Daily(repo);
  ASSERT_TRUE(PutString(repo.storage(), DataObjectKey("b9", 1), "half a backup").ok());
  VerifyReport r = MustVerify(repo);
  EXPECT_TRUE(r.ok());
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("backup/b9/ has 1 object but no manifest"), std::string::npos);
}

Result<DeleteReport> RunDelete(Repo& repo, RetentionPolicy policy, bool confirm) {
  return DeleteBackups(repo.storage(), DeleteConfig{policy, confirm, kNow});
}

TEST(DeleteTest, DryRunChangesNothing) {
  Repo repo;
  Daily(repo);
  repo.PutWalFile("00000002.history", "1\t0/1F000000\tx\n");
  const size_t before = repo.Count("");
  auto r = RunDelete(repo, {2, std::nullopt}, false);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->dry_run);
  EXPECT_EQ(repo.Count(""), before);
  ASSERT_EQ(r->backups.size(), 4u);
  EXPECT_FALSE(r->backups[0].keep);
  EXPECT_FALSE(r->backups[1].keep);
  EXPECT_TRUE(r->backups[2].keep);
  EXPECT_EQ(r->wal_delete_below, pg::SegmentName(1, 17, kSeg));
  EXPECT_EQ(r->wal.size(), 16u);  // segments 1..16; the history file stays
  json j = json::parse(DeleteReportJson(*r));
  EXPECT_TRUE(j["dry_run"].get<bool>());
  EXPECT_EQ(j["retain_full"], 2);
  EXPECT_TRUE(j["retain_days"].is_null());
  EXPECT_EQ(j["backups"][0]["action"], "delete");
  EXPECT_EQ(j["backups"][3]["reason"], "the newest backup");
  EXPECT_EQ(j["wal"]["objects"], 16);
  EXPECT_EQ(j["wal"]["first"], Repo::SegKey(1, 1));
  EXPECT_TRUE(j["deleted"].is_null());
  EXPECT_NE(DeleteReportText(*r).find("dry run"), std::string::npos);
}

TEST(DeleteTest, ConfirmDeletesBackupsAndOldWalAndVerifyStillPasses) {
  Repo repo;
  Daily(repo);
  repo.PutWalFile("00000002.history", "1\t0/1F000000\tx\n");
  repo.PutSegments(2, 31, 32);
  auto r = RunDelete(repo, {2, std::nullopt}, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_FALSE(r->dry_run);
  EXPECT_EQ(r->deleted_backups, 2u);
  EXPECT_EQ(r->deleted_backup_objects, 1u * 2);  // one data object each (marker not counted)
  EXPECT_EQ(r->deleted_wal, 16u);
  EXPECT_EQ(repo.Count("backup/b0/"), 0u);
  EXPECT_EQ(repo.Count("backup/b1/"), 0u);
  EXPECT_TRUE(repo.Has(ManifestKey("b2")));
  EXPECT_FALSE(repo.Has(Repo::SegKey(1, 16)));
  EXPECT_TRUE(repo.Has(Repo::SegKey(1, 17)));
  EXPECT_TRUE(repo.Has("wal/history/00000002.history"));
  VerifyReport v = MustVerify(repo);
  EXPECT_TRUE(v.ok()) << (v.problems.empty() ? "" : v.problems[0]);
  EXPECT_EQ(v.backups.size(), 2u);
  // Again: nothing more to do.
  auto again = RunDelete(repo, {2, std::nullopt}, true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->deleted_backups, 0u);
  EXPECT_EQ(again->deleted_wal, 0u);
}

TEST(DeleteTest, RetainDaysKeepsTheBackupBeforeTheWindow) {
  Repo repo;
  Daily(repo);  // stopped 3d1h, 2d1h, 1d1h, 1h ago
  auto r = RunDelete(repo, {std::nullopt, 2}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted_backups, 1u);  // b0; b1 (2d1h) recovers the start of the window
  EXPECT_FALSE(repo.Has(ManifestKey("b0")));
  EXPECT_TRUE(repo.Has(ManifestKey("b1")));
  EXPECT_TRUE(MustVerify(repo).ok());
}

TEST(DeleteTest, InterruptedDeleteIsFinishedNextTime) {
  Repo repo;
  Daily(repo);
  // As if a run died after the marker and the manifest: objects left behind.
  ASSERT_TRUE(PutString(repo.storage(), "backup/b0/deleting", "{}").ok());
  repo.Drop(ManifestKey("b0"));
  VerifyReport v = MustVerify(repo);
  EXPECT_TRUE(v.ok());
  ASSERT_EQ(v.notes.size(), 1u);
  EXPECT_NE(v.notes[0].find("interrupted delete"), std::string::npos);
  auto dry = RunDelete(repo, {10, std::nullopt}, false);
  ASSERT_TRUE(dry.ok());
  EXPECT_EQ(dry->unfinished, std::vector<std::string>{"b0"});
  EXPECT_EQ(repo.Count("backup/b0/"), 2u);
  auto r = RunDelete(repo, {10, std::nullopt}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(repo.Count("backup/b0/"), 0u);
  EXPECT_EQ(r->deleted_backups, 0u);
  EXPECT_EQ(r->deleted_backup_objects, 1u);
  // An unmarked prefix (a push that is running) is never touched.
  ASSERT_TRUE(PutString(repo.storage(), DataObjectKey("b9", 1), "in progress").ok());
  ASSERT_TRUE(RunDelete(repo, {1, std::nullopt}, true).ok());
  EXPECT_TRUE(repo.Has(DataObjectKey("b9", 1)));
}

TEST(DeleteTest, WalIsKeptWhileABackupPushMayBeRunning) {
  Repo repo;
  Daily(repo);
  // Objects of a backup without a manifest, written just now: its start segment is unknown.
  ASSERT_TRUE(PutString(repo.storage(), DataObjectKey("b4", 1), "being uploaded").ok());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  auto r = DeleteBackups(repo.storage(), DeleteConfig{{1, std::nullopt}, true, now});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->running, std::vector<std::string>{"b4"});
  EXPECT_EQ(r->deleted_backups, 3u);  // backups still go (b3 is the newest and stays)...
  EXPECT_EQ(r->deleted_wal, 0u);      // ...but no WAL
  EXPECT_EQ(repo.Count("wal/"), 30u);
  EXPECT_NE(DeleteReportText(*r).find("a backup-push may be running"), std::string::npos);
  EXPECT_EQ(json::parse(DeleteReportJson(*r))["running"][0], "b4");
  // A day later it is a failed push, not a running one: WAL goes.
  auto later = DeleteBackups(repo.storage(), DeleteConfig{{1, std::nullopt}, true, now + 2 * kDay});
  ASSERT_TRUE(later.ok());
  EXPECT_TRUE(later->running.empty());
  EXPECT_EQ(later->deleted_wal, 23u);  // below b3's start segment 24
  EXPECT_TRUE(repo.Has(DataObjectKey("b4", 1)));
}

// Issue 10: one damaged manifest used to stop retention for the whole
// repository. Now the others are planned as usual; the damaged backup is kept
// and, as the WAL it needs is unknown, no WAL is deleted.
TEST(DeleteTest, DamagedManifestIsKeptAndKeepsAllWal) {
  Repo repo;
  Daily(repo);
  ASSERT_TRUE(PutString(repo.storage(), ManifestKey("b2"), "{not json").ok());
  const size_t wal_before = repo.Count("wal/");
  auto r = RunDelete(repo, {1, std::nullopt}, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->damaged.size(), 1u);
  EXPECT_EQ(r->damaged[0].first, "b2");
  EXPECT_FALSE(r->wal_delete_below.has_value());
  EXPECT_EQ(r->deleted_wal, 0u);
  EXPECT_EQ(repo.Count("wal/"), wal_before);
  EXPECT_EQ(repo.Count(ManifestKey("b2")), 1u);  // never deleted
  EXPECT_EQ(repo.Count(ManifestKey("b3")), 1u);  // the newest good one is kept
  EXPECT_GT(r->deleted_backups, 0u);
  EXPECT_NE(DeleteReportText(*r).find("damaged  b2"), std::string::npos) << DeleteReportText(*r);
  EXPECT_NE(DeleteReportJson(*r).find("\"damaged\""), std::string::npos);
}

TEST(DeleteTest, NeedsARuleAndARepository) {
  Repo repo;
  EXPECT_EQ(RunDelete(repo, {}, false).status().code(), Status::Code::kInvalidArgument);
  auto empty = NewMemoryStorage();
  EXPECT_EQ(DeleteBackups(*empty, {{1, std::nullopt}, true, kNow}).status().code(),
            Status::Code::kFailedPrecondition);
  // No backup: nothing goes, not even WAL.
  repo.PutSegments(1, 1, 3);
  auto r = RunDelete(repo, {1, std::nullopt}, true);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->deleted_wal, 0u);
  EXPECT_EQ(repo.Count("wal/"), 3u);
}

TEST(DeleteTest, ManyWalObjectsGoInBatches) {
  Repo repo;
  // 2100 tiny .backup files below the cutoff: three RemoveMany batches.
  repo.PutBackup("b0", 1, 3000, 3000, 2 * kDay);
  repo.PutBackup("b1", 1, 3001, 3001, kDay);
  repo.PutSegments(1, 3000, 3001);
  for (uint64_t s = 0; s < 2100; ++s)
    repo.PutWalFile(pg::SegmentName(1, s, kSeg) + ".00000028.backup", "x");
  auto r = RunDelete(repo, {1, std::nullopt}, true);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->deleted_wal, 2101u);
  EXPECT_EQ(repo.Count("wal/"), 1u);  // b0's start segment 3000 went with b0; 3001 stays
}

}  // namespace
}  // namespace walferry::backup
