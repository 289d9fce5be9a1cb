// archive-push through the spool, without the binary: when it pushes directly (and says
// why), when it fails at once, and that it never reports success without a confirmation.
// The whole protocol with a real worker: tests/unit/cli/spool_cli_test.cc.
#include "spool/foreground.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "spool/records.h"
#include "spool/worker.h"
#include "support/fault_fs.h"
#include "support/temp_dir.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;
using testing::TempDir;

constexpr char kName[] = "000000010000000000000001";

class Foreground : public ::testing::Test {
 protected:
  Foreground() {
    data_ = t_.path() + "/data";
    sfs::create_directories(data_ + "/pg_wal/archive_status");
    std::ofstream(data_ + "/pg_wal/" + kName) << "segment";
    cfg_.spool.spool_path = t_.path() + "/spool";
    cfg_.spool.repo = "file:///nowhere";
    cfg_.archive_timeout_seconds = 0.3;
    cfg_.worker_argv = {"/bin/true"};  // a worker that never confirms anything
    cfg_.push_direct = [this] {
      ++direct_;
      return direct_status_;
    };
  }
  Status Push(const std::string& path = std::string("pg_wal/") + kName) {
    return PushThroughSpool(cfg_, path, data_);
  }
  PushDirs Dirs() {
    auto sp = OpenSpool(cfg_.spool.spool_path, cfg_.spool.repo, data_);
    EXPECT_TRUE(sp.ok());
    auto d = OpenPushDirs(*sp);
    EXPECT_TRUE(d.ok());
    return *d;
  }
  TempDir t_{"wf-foreground"};
  std::string data_;
  ForegroundConfig cfg_;
  int direct_ = 0;
  Status direct_status_ = Status::Unavailable("the repository is away");
};

TEST_F(Foreground, AConfirmedFileIsDoneWithoutTheRepository) {
  OkRecord r;
  r.name = kName;
  r.sha256 = std::string(64, '0');
  r.repo = cfg_.spool.repo;
  ASSERT_TRUE(StatOf(data_ + "/pg_wal/" + kName, &r.source));
  ASSERT_TRUE(fs::WriteFileAtomically(fs::LocalFs::Posix(), Dirs().ok, kName, EncodeOk(r)).ok());
  EXPECT_TRUE(Push().ok());
  EXPECT_EQ(direct_, 0);
}

// The free-space check asks the spool's LocalFs: a spool filesystem with less room than
// the records need is never waited on; the file goes to the repository directly.
TEST_F(Foreground, AFullSpoolFilesystemMeansADirectPush) {
  testing::FaultFs full;
  full.NoSpaceAfter(64 << 10);
  cfg_.local_fs = &full;
  std::ofstream(data_ + "/pg_wal/archive_status/" + kName + ".ready");
  Status s = Push();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();  // push_direct's answer
  EXPECT_EQ(direct_, 1);
  EXPECT_FALSE(sfs::exists(Dirs().ok + "/" + kName));
}

TEST_F(Foreground, AMissingFileIsALocalErrorAtOnce) {
  Status s = Push("pg_wal/000000010000000000000009");
  EXPECT_EQ(s.code(), Status::Code::kIo) << s.ToString();
  EXPECT_NE(s.message().find("000000010000000000000009"), std::string::npos) << s.message();
  EXPECT_EQ(direct_, 0);
}

TEST_F(Foreground, ASpoolInsidePgWalIsAConfigurationError) {
  cfg_.spool.spool_path = data_ + "/pg_wal/spool";
  Status s = Push();
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument) << s.ToString();
  EXPECT_EQ(direct_, 0);
}

// Without .ready the worker never looks at the file: pushed directly, and the direct
// push's own answer is the answer (here a failure: never a success in its place).
TEST_F(Foreground, AFileWithoutReadyIsPushedDirectly) {
  Status s = Push();
  EXPECT_EQ(direct_, 1);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_EQ(s.message(), "the repository is away");
  direct_status_ = Status::Ok();
  EXPECT_TRUE(Push().ok());
  EXPECT_EQ(direct_, 2);
}

TEST_F(Foreground, AWorkerServingAnotherDataDirectoryIsNotWaitedFor) {
  std::ofstream(data_ + "/pg_wal/archive_status/" + std::string(kName) + ".ready");
  PushDirs dirs = Dirs();
  auto lock = FileLock::TryAcquire(dirs.lock);  // this process stands in for that worker
  ASSERT_TRUE(lock.ok() && lock->held());
  sfs::create_directories(t_.path() + "/other/pg_wal");
  ASSERT_TRUE(fs::WriteFileAtomically(fs::LocalFs::Posix(), dirs.push, "worker.pid",
                                      std::to_string(::getpid()) + "\n" + t_.path() + "/other\n")
                  .ok());
  direct_status_ = Status::Ok();
  EXPECT_TRUE(Push().ok());
  EXPECT_EQ(direct_, 1);
}

// No confirmation within archive-timeout: kUnavailable (exit 3, PostgreSQL retries),
// never exit 0, and no direct push behind the worker's back.
TEST_F(Foreground, NoConfirmationInTimeIsAFailureNamingTheFile) {
  std::ofstream(data_ + "/pg_wal/archive_status/" + std::string(kName) + ".ready");
  Status s = Push();
  EXPECT_EQ(s.code(), Status::Code::kUnavailable) << s.ToString();
  EXPECT_NE(s.message().find(std::string("no confirmation of '") + kName + "'"), std::string::npos)
      << s.message();
  EXPECT_NE(s.hint().find("walferry status"), std::string::npos) << s.hint();
  EXPECT_EQ(direct_, 0);
}

}  // namespace
}  // namespace walferry::spool
