// The spool's commands, as PostgreSQL runs them: the real binary through the worker,
// its fast path (no repository access), `walferry status`, and every fall back to a
// direct push.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/run_walferry.h"
#include "support/temp_dir.h"
#include "unit/spool/push_fixture.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;
using testing::RunResult;
using testing::RunWalferry;
using testing::TempDir;

// ---- the binary, as PostgreSQL runs it
class SpoolCli : public ::testing::Test {
 protected:
  SpoolCli() {
    data_ = t_.path() + "/data";
    MakeDataDir(data_, 7);
    sfs::create_directories(t_.path() + "/repo");
    repo_ = "file://" + t_.path() + "/repo";
    EXPECT_EQ(Run({"repo-create"}).exit_code, 0);
  }
  RunResult Run(std::vector<std::string> args, std::vector<std::string> extra = {}) {
    std::vector<std::string> a{"--config", "", "--repo", repo_, "--spool-path", spool_};
    a.insert(a.end(), extra.begin(), extra.end());
    a.insert(a.end(), args.begin(), args.end());
    return RunWalferry(a, {}, data_);
  }
  void Ready(int i) {
    std::ofstream(data_ + "/pg_wal/" + Name(i), std::ios::binary) << Segment(Name(i), 7, 'w');
    std::ofstream(data_ + "/pg_wal/archive_status/" + Name(i) + ".ready");
  }
  TempDir t_{"wf-spool-cli"};
  std::string data_, repo_, spool_ = t_.path() + "/spool";
};

TEST_F(SpoolCli, PushThroughTheWorkerThenTheFastPathThenStatusJson) {
  Ready(1);
  Ready(2);
  RunResult r = Run({"archive-push", "pg_wal/" + Name(1)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("through the spool"), std::string::npos) << r.err;
  // the worker runs ahead: segment 2 gets confirmed without being asked for
  RunResult s;
  for (int i = 0; i < 200; ++i) {
    s = Run({"status", "--json"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto j = nlohmann::json::parse(s.out);
    if (j["pending"]["segments"] == 0 && j["uploaded"]["segments"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto j = nlohmann::json::parse(s.out);
  EXPECT_EQ(j["pending"]["segments"], 0) << s.out;
  EXPECT_EQ(j["repo"], repo_);
  EXPECT_EQ(j["uploaded"]["segments"], 2) << s.out;
  EXPECT_TRUE(j["pending"]["oldest"].is_null());
  // fast path: no repository access at all (the repository is gone, still exit 0)
  sfs::rename(t_.path() + "/repo", t_.path() + "/repo.away");
  r = Run({"archive-push", "pg_wal/" + Name(2)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 0.5);
  sfs::rename(t_.path() + "/repo.away", t_.path() + "/repo");
  // the text form and the Prometheus file
  r = Run({"status", "--prometheus", t_.path() + "/wf.prom"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pending:      0 segments"), std::string::npos) << r.out;
  EXPECT_NE(testing::ReadAll(t_.path() + "/wf.prom").find("walferry_spool_uploaded_segments_total"),
            std::string::npos);
  // stop the worker we started (by its pid file), so that nothing outlives the test
  std::string pid = testing::ReadAll(spool_ + "/" + RepoId(repo_) + "/push/worker.pid");
  if (!pid.empty()) {
    const pid_t worker = std::stoi(pid);
    ::kill(worker, SIGTERM);
    for (int i = 0; i < 500 && ::kill(worker, 0) == 0; ++i) {  // gone within 10 s
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

// archive-push of a file PostgreSQL did not mark .ready (an operator archiving by hand):
// the worker never looks at it, so it is pushed at once, not after archive-timeout.
TEST_F(SpoolCli, AFileWithoutReadyIsPushedAtOnce) {
  std::ofstream(data_ + "/pg_wal/" + Name(3), std::ios::binary)
      << Segment(Name(3), 7, 'h');  // no .ready
  RunResult r = Run({"archive-push", "pg_wal/" + Name(3)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
  EXPECT_TRUE(sfs::exists(t_.path() + "/repo/wal/0000000100000000/" + Name(3)));
  // outside pg_wal as well
  std::ofstream(t_.path() + "/" + Name(4), std::ios::binary) << Segment(Name(4), 7, 'i');
  r = Run({"archive-push", t_.path() + "/" + Name(4)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
  // and a missing file is local-io (8), never a wait for the worker
  r = Run({"archive-push", "pg_wal/" + Name(8)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
}

// Two data directories archiving to one spool (a promoted PITR copy beside its origin):
// a running worker serving the other one is not waited for.
TEST_F(SpoolCli, AWorkerOfAnotherDataDirectoryIsNotWaitedFor) {
  auto sp = OpenSpool(spool_, repo_, "");
  ASSERT_TRUE(sp.ok());
  auto dirs = OpenPushDirs(*sp);
  ASSERT_TRUE(dirs.ok());
  // A worker that serves another data directory holds the lock (as a test stand-in, this process).
  auto lock = FileLock::TryAcquire(dirs->lock);
  ASSERT_TRUE(lock.ok() && lock->held());
  ASSERT_TRUE(fs::WriteFileAtomically(fs::LocalFs::Posix(), dirs->push, "worker.pid",
                                      std::to_string(::getpid()) + "\n" + t_.path() + "/other\n")
                  .ok());
  sfs::create_directories(t_.path() + "/other/pg_wal");
  Ready(1);
  RunResult r = Run({"archive-push", "pg_wal/" + Name(1)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
  EXPECT_NE(r.err.find("serves another data directory"), std::string::npos) << r.err;
  EXPECT_TRUE(sfs::exists(t_.path() + "/repo/wal/0000000100000000/" + Name(1)));
}

// Secrets given as flags never appear on the worker's command line (ps shows it to every
// user): they reach it through its environment.
TEST_F(SpoolCli, SecretFlagsNeverReachTheWorkersCommandLine) {
  Ready(1);
  RunResult r = Run(
      {"archive-push", "pg_wal/" + Name(1)},
      {"--s3-secret-access-key", "Sekrit-Key-123456", "--s3-session-token", "Sekrit-Token-654321"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string pid_file = spool_ + "/" + RepoId(repo_) + "/push/worker.pid";
  std::string pid = testing::ReadAll(pid_file);
  ASSERT_FALSE(pid.empty());
  const pid_t worker = std::stoi(pid);
  std::string cmdline = testing::ReadAll("/proc/" + std::to_string(worker) + "/cmdline");
  std::string environ = testing::ReadAll("/proc/" + std::to_string(worker) + "/environ");
  ::kill(worker, SIGTERM);
  for (int i = 0; i < 500 && ::kill(worker, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_NE(cmdline.find("archive-push-worker"), std::string::npos)
      << "not the worker: " << cmdline;
  EXPECT_EQ(cmdline.find("Sekrit"), std::string::npos) << "a secret on the worker's command line";
  EXPECT_NE(environ.find(std::string("WALFERRY_S3_SECRET_ACCESS_KEY=Sekrit-Key-123456") + '\0'),
            std::string::npos);
  EXPECT_NE(environ.find(std::string("WALFERRY_S3_SESSION_TOKEN=Sekrit-Token-654321") + '\0'),
            std::string::npos);
}

TEST_F(SpoolCli, StatusWithoutSpoolOrDataDirectoryIsAClearUsageError) {
  RunResult r = RunWalferry({"--config", "", "--repo", repo_, "status", "--json"}, {}, data_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("spool-path is not set"), std::string::npos) << r.err;
  r = Run({"status", "--pg-data", t_.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("archive_status"), std::string::npos) << r.err;
}

TEST_F(SpoolCli, FullSpoolFallsBackToADirectConfirmedPush) {
  ASSERT_EQ(::geteuid(), 0u) << "this test mounts a tmpfs: run it as root (the test command does)";
  std::string mnt = t_.path() + "/tiny";
  sfs::create_directories(mnt);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k"), 0) << std::strerror(errno);
  struct Unmount {
    std::string m;
    ~Unmount() { ::umount2(m.c_str(), MNT_DETACH); }
  } unmount{mnt};
  spool_ = mnt + "/spool";
  std::ofstream(mnt + "/filler", std::ios::binary) << std::string(200 << 10, 'f');
  Ready(1);
  RunResult r = Run({"archive-push", "pg_wal/" + Name(1)}, {"--archive-durability", "spool"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("is full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(mnt + "/spool"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("archived 'pg_wal/" + Name(1) + "'"), std::string::npos) << r.err;
  // with the repository unreachable as well: an error, never a false success
  Ready(2);
  sfs::rename(t_.path() + "/repo", t_.path() + "/repo.away");
  r = Run({"archive-push", "pg_wal/" + Name(2)}, {"--archive-durability", "spool"});
  EXPECT_NE(r.exit_code, 0) << r.err;
  sfs::rename(t_.path() + "/repo.away", t_.path() + "/repo");
}

}  // namespace
}  // namespace walferry::spool
