// archive-get with restore prefetch, as PostgreSQL runs it: the worker it
// starts, the next call served from the spool, and prefetch turned off.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "spool/spool.h"
#include "support/run_walferry.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"

namespace walferry {
namespace {

using testing::RunResult;
using testing::RunWalferry;
using testing::TempDir;
namespace sfs = std::filesystem;

std::string Segment(std::string_view name, char fill) { return testing::WalSegment(name, 7, fill); }

class PrefetchCli : public ::testing::Test {
 protected:
  PrefetchCli() {
    testing::MakeDataDir(data_, 7);
    repo_ = "file://" + repo_dir_.path();
    EXPECT_EQ(Run({"repo-create"}).exit_code, 0);
    for (int i = 1; i <= 3; ++i) {
      std::string name = "00000001000000000000000" + std::to_string(i);
      data_.Write("pg_wal/" + name, Segment(name, static_cast<char>('a' + i)));
      RunResult push = Run({"archive-push", "--compression", "lz4", "pg_wal/" + name});
      EXPECT_EQ(push.exit_code, 0) << push.err;
      sfs::remove(data_.path() + "/pg_wal/" + name);
    }
    get_dir_ = spool_.path() + "/" + spool::RepoId(repo_) + "/get";
  }
  ~PrefetchCli() override { StopWorker(); }

  RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", "", "--repo", repo_});
    return RunWalferry(args, {}, data_.path());
  }
  RunResult Get(const std::string& name, const std::string& prefetch) {
    return Run({"--spool-path", spool_.path(), "--archive-get-prefetch", prefetch, "archive-get",
                name, "pg_wal/RECOVERYXLOG"});
  }
  // The worker this test's archive-get started (its command line names our spool).
  pid_t WorkerPid() {
    for (const auto& e : sfs::directory_iterator("/proc")) {
      std::string cmdline = testing::ReadAll(e.path().string() + "/cmdline");
      std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
      if (cmdline.find("archive-get-worker") != std::string::npos &&
          cmdline.find("--spool-path=" + spool_.path() + " ") != std::string::npos) {
        return static_cast<pid_t>(std::stol(e.path().filename().string()));
      }
    }
    return 0;
  }
  void StopWorker() {
    if (pid_t pid = WorkerPid(); pid > 0) ::kill(pid, SIGKILL);
  }
  bool WaitForFile(const std::string& path) {
    for (int i = 0; i < 500 && !sfs::exists(path); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return sfs::exists(path);
  }

  TempDir data_{"wf-data"}, repo_dir_{"wf-repo"}, spool_{"wf-spool"};
  std::string repo_, get_dir_;
};

TEST_F(PrefetchCli, NextSegmentIsServedFromTheSpool) {
  RunResult first = Get("000000010000000000000001", "2");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_EQ(first.err.find("prefetch spool"), std::string::npos)
      << "fetched directly: " << first.err;
  ASSERT_TRUE(WaitForFile(get_dir_ + "/000000010000000000000003"))
      << testing::ReadAll(get_dir_ + "/worker.log");
  EXPECT_GT(WorkerPid(), 0) << "a detached worker runs";
  EXPECT_NE(testing::ReadAll(get_dir_ + "/want").find("000000010000000000000001 16777216"),
            std::string::npos);

  RunResult second = Get("000000010000000000000002", "2");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_NE(
      second.err.find(
          "restored '000000010000000000000002' to 'pg_wal/RECOVERYXLOG' from the prefetch spool"),
      std::string::npos)
      << second.err;
  EXPECT_TRUE(testing::ReadAll(data_.path() + "/pg_wal/RECOVERYXLOG") ==
              Segment("000000010000000000000002", 'c'));
  EXPECT_FALSE(sfs::exists(get_dir_ + "/000000010000000000000002")) << "moved into place";

  // the end of the archive: exit 1, quietly, as without prefetch; .history never goes through the
  // spool
  EXPECT_EQ(Get("000000010000000000000004", "2").exit_code, 1);
  EXPECT_EQ(Get("00000002.history", "2").exit_code, 1);
  std::string log = testing::ReadAll(get_dir_ + "/worker.log");
  EXPECT_NE(log.find("prefetched 000000010000000000000002"), std::string::npos) << log;
  EXPECT_NE(log.find("the repository has no 000000010000000000000004"), std::string::npos) << log;
}

TEST_F(PrefetchCli, PrefetchOffFetchesDirectlyAndStartsNothing) {
  RunResult get = Get("000000010000000000000001", "0");
  ASSERT_EQ(get.exit_code, 0) << get.err;
  get = Get("000000010000000000000002", "0");
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(get.err.find("prefetch spool"), std::string::npos) << get.err;
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(WorkerPid(), 0);
  EXPECT_FALSE(sfs::exists(get_dir_ + "/want"));
  EXPECT_FALSE(sfs::exists(get_dir_ + "/worker.log"));
  // and without a spool-path at all
  get = Run({"--archive-get-prefetch", "8", "archive-get", "000000010000000000000003",
             "pg_wal/RECOVERYXLOG"});
  ASSERT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(WorkerPid(), 0);
}

TEST_F(PrefetchCli, ASpoolInsidePgWalIsRefused) {
  RunResult get = Run({"--spool-path", data_.path() + "/pg_wal/spool", "archive-get",
                       "000000010000000000000001", "pg_wal/RECOVERYXLOG"});
  EXPECT_EQ(get.exit_code, 2) << get.err;
  EXPECT_NE(get.err.find("lies inside pg_wal"), std::string::npos) << get.err;
}

}  // namespace
}  // namespace walferry
