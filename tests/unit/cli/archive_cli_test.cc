// archive-push / archive-get as PostgreSQL runs them: a fresh process, the
// data directory as working directory, and the exit code as the only answer.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
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

std::string Segment(std::string_view name, uint64_t sysid) {
  return testing::WalSegment(name, sysid);
}

class ArchiveCli : public ::testing::Test {
 protected:
  ArchiveCli() {
    testing::MakeDataDir(data_, 7);
    repo_ = "file://" + repo_dir_.path();
    RunResult created = Run({"repo-create"});
    EXPECT_EQ(created.exit_code, 0) << created.err;
    EXPECT_NE(created.out.find("created for the cluster with system identifier 7"),
              std::string::npos)
        << created.out;
  }
  RunResult Run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--config", "", "--repo", repo_});
    return RunWalferry(args, {}, data_.path());
  }
  TempDir data_{"wf-data"}, repo_dir_{"wf-repo"};
  std::string repo_;
};

TEST_F(ArchiveCli, PushThenGetExitZeroAndLogOneLineEach) {
  data_.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 7));
  RunResult push = Run({"archive-push", "pg_wal/000000010000000000000001"});
  EXPECT_EQ(push.exit_code, 0) << push.err;
  EXPECT_NE(push.err.find("archived 'pg_wal/000000010000000000000001'"), std::string::npos)
      << push.err;
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
  data_.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 7));
  RunResult push = RunWalferry(
      {"--config", "", "--repo", gone, "archive-push", "pg_wal/000000010000000000000001"}, {},
      data_.path());
  EXPECT_EQ(push.exit_code, 11) << push.err;
  EXPECT_FALSE(std::filesystem::exists(repo_dir_.path() + "/not-mounted"))
      << "archive-push created a repository";
  RunResult get = RunWalferry({"--config", "", "--repo", gone, "archive-get",
                               "000000010000000000000001", "pg_wal/RECOVERYXLOG"},
                              {}, data_.path());
  EXPECT_EQ(get.exit_code, 11) << get.err;
  data_.Write("recovery.signal", "");
  get = RunWalferry({"--config", "", "--repo", gone, "archive-get", "000000010000000000000001",
                     "pg_wal/RECOVERYXLOG"},
                    {}, data_.path());
  EXPECT_EQ(get.exit_code, 200) << "recovery must stop, not end: " << get.err;
}

TEST_F(ArchiveCli, MissingFileIsExitOneAndSilent) {
  RunResult get = Run({"archive-get", "00000002.history", "pg_wal/RECOVERYHISTORY"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_EQ(get.err, "") << "PostgreSQL asks for missing files as a matter of course";
  data_.Write("recovery.signal", "");
  EXPECT_EQ(Run({"archive-get", "00000002.history", "pg_wal/RECOVERYHISTORY"}).exit_code, 1)
      << "not found stays 1 during archive recovery: that is how recovery learns the end of the "
         "WAL";
}

TEST_F(ArchiveCli, FailureDuringArchiveRecoveryStopsRecoveryButNotOnAStandby) {
  auto get = [&] {
    return RunWalferry(
        {"--config", "", "--repo", "s3://b/p", "--s3-endpoint", "http://127.0.0.1:1",
         "--s3-access-key-id", "id", "--s3-secret-access-key", "secret-xyz", "--s3-max-attempts",
         "1", "archive-get", "000000010000000000000001", "pg_wal/RECOVERYXLOG"},
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
  RunResult r = RunWalferry(
      {"--config", "", "archive-get", "000000010000000000000001", "pg_wal/RECOVERYXLOG"}, {},
      data_.path());
  EXPECT_EQ(r.exit_code, 200) << "no repository configured must not read as 'end of WAL': "
                              << r.err;
  r = RunWalferry({"--config", data_.path() + "/missing.conf", "archive-get",
                   "000000010000000000000001", "pg_wal/RECOVERYXLOG"},
                  {}, data_.path());
  EXPECT_EQ(r.exit_code, 200) << r.err;
}

TEST_F(ArchiveCli, PushFailuresStayWithinOneTo125) {
  data_.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 7));
  ASSERT_EQ(Run({"archive-push", "pg_wal/000000010000000000000001"}).exit_code, 0);
  data_.Write("pg_wal/000000010000000000000002", Segment("000000010000000000000002", 8));
  RunResult other = Run({"archive-push", "pg_wal/000000010000000000000002"});
  EXPECT_EQ(other.exit_code, 11) << other.err;
  EXPECT_NE(other.err.find("HINT:"), std::string::npos);
  data_.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 7) + "x");
  RunResult longer = Run({"archive-push", "pg_wal/000000010000000000000001"});
  EXPECT_EQ(longer.exit_code, 7) << "a 16 MiB + 1 byte file is not a whole segment: " << longer.err;
  std::string changed_segment = Segment("000000010000000000000001", 7);
  changed_segment[1000] = 'X';
  data_.Write("pg_wal/000000010000000000000001", changed_segment);
  RunResult changed = Run({"archive-push", "pg_wal/000000010000000000000001"});
  EXPECT_EQ(changed.exit_code, 6) << changed.err;
  // A damaged stored copy under the name: corruption (7), never "already archived" (0), never
  // replaced.
  data_.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 7));
  const std::string object = repo_dir_.path() + "/wal/0000000100000000/000000010000000000000001";
  std::filesystem::resize_file(object, std::filesystem::file_size(object) - 5);
  RunResult damaged = Run({"archive-push", "pg_wal/000000010000000000000001"});
  EXPECT_EQ(damaged.exit_code, 7) << damaged.err;
  EXPECT_NE(damaged.err.find("stored copy is damaged"), std::string::npos) << damaged.err;
  EXPECT_EQ(damaged.err.find("identical content"), std::string::npos) << damaged.err;
  data_.Write("pg_wal/junk", "x");
  EXPECT_EQ(Run({"archive-push", "pg_wal/junk"}).exit_code, 2);
  RunResult missing = Run({"archive-push", "pg_wal/000000010000000000000003"});
  EXPECT_EQ(missing.exit_code, 8) << "a missing local file is local-io, as the README says: "
                                  << missing.err;
  EXPECT_NE(missing.err.find("pg_wal/000000010000000000000003"), std::string::npos) << missing.err;
  data_.Write("recovery.signal", "");
  EXPECT_EQ(Run({"archive-push", "pg_wal/000000010000000000000003"}).exit_code, 8)
      << "archive-push never uses the recovery exit code";
}

// Exit 1 means only "the repository definitively lacks this file": a local error at %p
// during archive recovery must stop recovery (200), never end it.
TEST_F(ArchiveCli, LocalErrorsAtTheDestinationAreNeverNotFound) {
  data_.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 7));
  ASSERT_EQ(Run({"archive-push", "pg_wal/000000010000000000000001"}).exit_code, 0);
  for (const char* wal :
       {"000000010000000000000001", "000000010000000000000002"}) {  // stored, and not
    RunResult dir = Run({"archive-get", wal, "no-such-dir/RECOVERYXLOG"});
    EXPECT_EQ(dir.exit_code, 8) << wal << ": " << dir.err;
    EXPECT_NE(dir.err.find("no-such-dir"), std::string::npos) << dir.err;
    EXPECT_EQ(Run({"archive-get", wal, ""}).exit_code, 2) << wal;
  }
  data_.Write("recovery.signal", "");
  for (const char* wal : {"000000010000000000000001", "000000010000000000000002"}) {
    RunResult dir = Run({"archive-get", wal, "no-such-dir/RECOVERYXLOG"});
    EXPECT_EQ(dir.exit_code, 200) << wal << ": recovery must stop, not end: " << dir.err;
    RunResult empty = Run({"archive-get", wal, ""});
    EXPECT_EQ(empty.exit_code, 200) << wal << ": " << empty.err;
  }
}

// EACCES on %p blames %p, not the repository. Runs walferry as 'nobody' (root bypasses modes).
TEST_F(ArchiveCli, PermissionDeniedAtTheDestinationBlamesTheLocalPath) {
  ASSERT_EQ(::geteuid(), 0u) << "this test runs walferry as nobody through setpriv: run it as root";
  data_.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 7));
  ASSERT_EQ(Run({"archive-push", "pg_wal/000000010000000000000001"}).exit_code, 0);
  namespace sfs = std::filesystem;
  for (const std::string& p : {data_.path(), repo_dir_.path()}) {
    for (const auto& e : sfs::recursive_directory_iterator(p)) {
      sfs::permissions(e.path(), e.is_directory() ? sfs::perms(0755) : sfs::perms(0644));
    }
    sfs::permissions(p, sfs::perms(0755));
  }
  TempDir io;
  const std::string cmd = "cd '" + data_.path() +
                          "' && /usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups " +
                          WALFERRY_BINARY + " --config '' --repo '" + repo_ +
                          "' archive-get 000000010000000000000001 "
                          "pg_wal/RECOVERYXLOG 2>'" +
                          io.path() + "/err'";
  const int status = std::system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  const std::string err = testing::ReadAll(io.path() + "/err");
  EXPECT_EQ(WEXITSTATUS(status), 5) << err;
  EXPECT_NE(err.find("pg_wal"), std::string::npos) << err;
  EXPECT_NE(err.find("RECOVERYXLOG' is where PostgreSQL wants the file"), std::string::npos)
      << "the hint names %p: " << err;
  EXPECT_EQ(err.find("repository directory"), std::string::npos)
      << "not the repository's fault: " << err;
}

}  // namespace
}  // namespace walferry
