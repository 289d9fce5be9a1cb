// archive-push / archive-get as PostgreSQL runs them: a fresh process, the
// data directory as working directory, and the exit code as the only answer.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>

#include "support/run_walferry.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"

namespace walferry {
namespace {

using testing::RunResult;
using testing::RunWalferry;
using testing::TempDir;

std::string Segment(uint64_t sysid) { return testing::WalSegment(sysid); }

class ArchiveCli : public ::testing::Test {
 protected:
  ArchiveCli() {
    testing::MakeDataDir(data_, 7);
    repo_ = "file://" + repo_dir_.path();
    RunResult created = Run({"repo-create"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    EXPECT_NE(created.out.find("created for the cluster with system identifier 7"), std::string::npos) << created.out;
  }
  RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", "", "--repo", repo_});
    return RunWalferry(args, {}, data_.path());
  }
  TempDir data_{"wf-data"}, repo_dir_{"wf-repo"};
  std::string repo_;
};

TEST_F(ArchiveCli, PushThenGetExitZeroAndLogOneLineEach) {
  data_.Write("pg_wal/000000010000000000000001", Segment(7));
  RunResult push = Run({"archive-push", "pg_wal/000000010000000000000001"});
  EXPECT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("archived 'pg_wal/000000010000000000000001'"), std::string::npos) << push.err;
  RunResult get = Run({"archive-get", "000000010000000000000001", "pg_wal/RECOVERYXLOG"});
  EXPECT_EQ(get.exit_code, 0) << get.err;
  EXPECT_EQ(std::filesystem::file_size(data_.path() + "/pg_wal/RECOVERYXLOG"), 16u << 20);
}

TEST_F(ArchiveCli, RepoCreateTwiceIsFineAndAMissingRepositoryIsNeverNotFound) {
  RunResult again = Run({"repo-create"});
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_NE(again.out.find("already belongs to"), std::string::npos) << again.out;
  // A repository that is not there (an unmounted filesystem, a typo in the path).
  const std::string gone = "file://" + repo_dir_.path() + "/not-mounted";
  data_.Write("pg_wal/000000010000000000000001", Segment(7));
  RunResult push = RunWalferry({"--config", "", "--repo", gone, "archive-push", "pg_wal/000000010000000000000001"}, {},
                               data_.path());
  EXPECT_EQ(push.exit_code, 11) << push.err;
  EXPECT_FALSE(std::filesystem::exists(repo_dir_.path() + "/not-mounted")) << "archive-push created a repository";
  RunResult get = RunWalferry({"--config", "", "--repo", gone, "archive-get", "000000010000000000000001",
                               "pg_wal/RECOVERYXLOG"}, {}, data_.path());
  EXPECT_EQ(get.exit_code, 11) << get.err;
  data_.Write("recovery.signal", "");
  get = RunWalferry({"--config", "", "--repo", gone, "archive-get", "000000010000000000000001", "pg_wal/RECOVERYXLOG"},
                    {}, data_.path());
  EXPECT_EQ(get.exit_code, 200) << "recovery must stop, not end: " << get.err;
}

TEST_F(ArchiveCli, MissingFileIsExitOneAndSilent) {
  RunResult get = Run({"archive-get", "00000002.history", "pg_wal/RECOVERYHISTORY"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_EQ(get.err, "") << "PostgreSQL asks for missing files as a matter of course";
  data_.Write("recovery.signal", "");
  EXPECT_EQ(Run({"archive-get", "00000002.history", "pg_wal/RECOVERYHISTORY"}).exit_code, 1)
      << "not found stays 1 during archive recovery: that is how recovery learns the end of the WAL";
}

TEST_F(ArchiveCli, FailureDuringArchiveRecoveryStopsRecoveryButNotOnAStandby) {
  auto get = [&] {
    return RunWalferry({"--config", "", "--repo", "s3://b/p", "--s3-endpoint", "http://127.0.0.1:1",
                        "--s3-access-key-id", "id", "--s3-secret-access-key", "secret-xyz", "--s3-max-attempts", "1",
                        "archive-get", "000000010000000000000001", "pg_wal/RECOVERYXLOG"},
                       {}, data_.path());
  };
  EXPECT_EQ(get().exit_code, 3) << "outside recovery: the plain 'unreachable' code";
  data_.Write("recovery.signal", "");
  RunResult r = get();
  EXPECT_EQ(r.exit_code, 200) << r.err;
  EXPECT_NE(r.err.find("stops recovery"), std::string::npos) << r.err;
  data_.Write("standby.signal", "");
  EXPECT_EQ(get().exit_code, 3) << "a standby retries by itself";
}

TEST_F(ArchiveCli, ConfigErrorDuringArchiveRecoveryStopsRecoveryToo) {
  data_.Write("recovery.signal", "");
  RunResult r = RunWalferry({"--config", "", "archive-get", "000000010000000000000001", "pg_wal/RECOVERYXLOG"}, {},
                            data_.path());
  EXPECT_EQ(r.exit_code, 200) << "no repository configured must not read as 'end of WAL': " << r.err;
  r = RunWalferry({"--config", data_.path() + "/missing.conf", "archive-get", "000000010000000000000001",
                   "pg_wal/RECOVERYXLOG"}, {}, data_.path());
  EXPECT_EQ(r.exit_code, 200) << r.err;
}

TEST_F(ArchiveCli, PushFailuresStayWithinOneTo125) {
  data_.Write("pg_wal/000000010000000000000001", Segment(7));
  ASSERT_EQ(Run({"archive-push", "pg_wal/000000010000000000000001"}).exit_code, 0);
  data_.Write("pg_wal/000000010000000000000002", Segment(8));
  RunResult other = Run({"archive-push", "pg_wal/000000010000000000000002"});
  EXPECT_EQ(other.exit_code, 11) << other.err;
  EXPECT_NE(other.err.find("HINT:"), std::string::npos);
  data_.Write("pg_wal/000000010000000000000001", Segment(7) + "x");
  RunResult longer = Run({"archive-push", "pg_wal/000000010000000000000001"});
  EXPECT_EQ(longer.exit_code, 7) << "a 16 MiB + 1 byte file is not a whole segment: " << longer.err;
  std::string changed_segment = Segment(7);
  changed_segment[1000] = 'X';
  data_.Write("pg_wal/000000010000000000000001", changed_segment);
  RunResult changed = Run({"archive-push", "pg_wal/000000010000000000000001"});
  EXPECT_EQ(changed.exit_code, 6) << changed.err;
  data_.Write("pg_wal/junk", "x");
  EXPECT_EQ(Run({"archive-push", "pg_wal/junk"}).exit_code, 2);
  EXPECT_EQ(Run({"archive-push", "pg_wal/000000010000000000000003"}).exit_code, 1) << "missing file";
  data_.Write("recovery.signal", "");
  EXPECT_EQ(Run({"archive-push", "pg_wal/000000010000000000000003"}).exit_code, 1)
      << "archive-push never uses the recovery exit code";
}

}  // namespace
}  // namespace walferry
