// The upload worker against the in-memory backend: what an ok file proves, failures
// recorded per segment, pruning, lost and damaged records. Power cuts between any two
// steps: worker_power_cut_test.cc. The binary: tests/unit/cli/spool_cli_test.cc.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/run_walferry.h"
#include "unit/spool/push_fixture.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;

TEST_F(SpoolPushTest, WorkerConfirmsEveryReadySegmentAndTheOkFileMatchesOnlyThatFile) {
  std::string p1 = Ready(1), p2 = Ready(2);
  std::ofstream(data_ + "/pg_wal/00000002.history")
      << "1\t0/3000000\tno recovery target specified\n";
  std::ofstream(data_ + "/pg_wal/archive_status/00000002.history.ready");
  EXPECT_FALSE(IsConfirmed(dirs_, kRepo, Name(1), p1));
  WorkerReport r = Work();
  EXPECT_TRUE(r.ran);
  EXPECT_EQ(r.uploaded, 3);
  EXPECT_EQ(r.failed, 0);
  EXPECT_TRUE(Stored(1) && Stored(2));
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, Name(1), p1));
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, Name(2), p2));
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, "00000002.history", data_ + "/pg_wal/00000002.history"));
  // another repository's confirmation proves nothing here
  EXPECT_FALSE(IsConfirmed(dirs_, "s3://other/repo", Name(1), p1));
  // a file with the same name but another inode (recycled, rewritten) is not confirmed
  sfs::remove(p1);
  std::ofstream(p1, std::ios::binary) << Segment(Name(1), 42, 'x');
  EXPECT_FALSE(IsConfirmed(dirs_, kRepo, Name(1), p1));
  // ok record: the fields walferry-archive-push(1) documents
  auto ok = DecodeOk(testing::ReadAll(dirs_.ok + "/" + Name(2)), "ok");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->key, "wal/0000000100000000/" + Name(2));
  EXPECT_EQ(ok->size, kSegSize);
  EXPECT_EQ(ok->sha256.size(), 64u);
  EXPECT_EQ(ok->repo, kRepo);
}

TEST_F(SpoolPushTest, HistoryFilesGoFirstThenOldest) {
  std::vector<std::string> v{Name(3), "00000002.history", Name(1),
                             "000000010000000000000002.partial"};
  std::sort(v.begin(), v.end(), ArchiveOrderLess);
  EXPECT_EQ(v[0], "00000002.history");
  EXPECT_EQ(v[1], Name(1));
}

TEST_F(SpoolPushTest, FailuresAreRecordedPerSegmentWithTheirExitCode) {
  storage_ = NewMemoryStorage();  // no repository: kFailedPrecondition
  Ready(1);
  std::atomic<bool> stop{false};
  auto o = Options();
  o.stop = &stop;
  std::thread stopper([&] {
    for (int i = 0; i < 500 && !LoadErr(dirs_, Name(1)); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;
  });
  auto r = RunWorker(*storage_, dirs_, o);
  stopper.join();
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->failed, 1);
  auto err = LoadErr(dirs_, Name(1));
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->exit_code, 11);
  Status s = err->ToStatus();
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find(Name(1)), std::string::npos) << s.message();
  EXPECT_FALSE(sfs::exists(dirs_.ok + "/" + Name(1)));
}

TEST_F(SpoolPushTest, OkFilesArePrunedOncePostgresMarkedTheSegmentDone) {
  Ready(1);
  Ready(2);
  Work();
  ASSERT_TRUE(sfs::exists(dirs_.ok + "/" + Name(1)));
  MarkDone(1);
  Ready(3);
  Work();
  EXPECT_FALSE(sfs::exists(dirs_.ok + "/" + Name(1)));
  EXPECT_TRUE(sfs::exists(dirs_.ok + "/" + Name(2)));
}

// A lost ok record is noticed by the running worker at once, not after its idle time.
TEST_F(SpoolPushTest, ALostConfirmationIsWrittenAgainByTheRunningWorker) {
  Ready(1);
  std::atomic<bool> stop{false};
  auto o = Options();
  o.idle_exit_seconds = 60;  // stays up: only `stop` ends it
  o.stop = &stop;
  bool rewritten = false;
  std::thread test([&] {
    const std::string ok = dirs_.ok + "/" + Name(1);
    for (int i = 0; i < 500 && !sfs::exists(ok); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    sfs::remove(ok);  // lost (an operator, a restore of the spool, a bad disk)
    for (int i = 0; i < 500 && !rewritten; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      rewritten = IsConfirmed(dirs_, kRepo, Name(1), data_ + "/pg_wal/" + Name(1));
    }
    stop = true;
  });
  auto r = RunWorker(*storage_, dirs_, o);
  test.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(rewritten) << "the worker trusted its memory over the disk";
}

// A damaged record in the spool is no record, never a crash.
TEST_F(SpoolPushTest, DamagedRecordsAreIgnoredNeverACrash) {
  std::string p = Ready(1);
  std::ofstream(dirs_.ok + "/" + Name(1)) << R"({"name": 5, "sha256": [1], "source": "x"})";
  std::ofstream(dirs_.err + "/" + Name(1)) << R"({"name": {}, "code": "x"})";
  std::ofstream(dirs_.state) << R"({"recent": [["a", "b"]], "uploaded_segments": "many"})";
  EXPECT_FALSE(IsConfirmed(dirs_, kRepo, Name(1), p));
  EXPECT_FALSE(LoadErr(dirs_, Name(1)).has_value());
  Work();
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, Name(1), p));
}

// The worker's failure record names its code ("wrong_repository"), never the enum's number.
TEST_F(SpoolPushTest, AFailureRecordStoresTheCodesName) {
  storage_ = NewMemoryStorage();  // no repository: kWrongRepository
  Ready(1);
  WorkUntilFailed(Name(1));
  auto j = nlohmann::json::parse(testing::ReadAll(dirs_.err + "/" + Name(1)));
  EXPECT_EQ(j["code"], "wrong_repository") << j.dump();
  auto state = nlohmann::json::parse(testing::ReadAll(dirs_.state));
  EXPECT_EQ(state["last_error"]["code"], "wrong_repository") << state.dump();
}

}  // namespace
}  // namespace walferry::spool
