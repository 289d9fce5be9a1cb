#include "spool/spool.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "spool/push_dirs.h"
#include "support/temp_dir.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;
using testing::TempDir;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(SpoolTest, OpenCreatesOneDirectoryPerRepository) {
  TempDir t;
  auto a = OpenSpool(t.path() + "/spool", "s3://bucket/a", "");
  auto b = OpenSpool(t.path() + "/spool/", "s3://bucket/b", "");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_NE(a->repo_dir, b->repo_dir);
  EXPECT_EQ(a->root, t.path() + "/spool");
  for (const auto* d : {&a->push_dir, &a->get_dir, &a->tmp_dir}) EXPECT_TRUE(sfs::is_directory(*d));
  EXPECT_EQ(ReadAll(a->repo_dir + "/repo"), "s3://bucket/a\n");
  EXPECT_EQ(a->repo_dir, t.path() + "/spool/" + RepoId("s3://bucket/a"));
}

TEST(SpoolTest, RefusesRelativePathAndPgWal) {
  TempDir t;
  auto rel = OpenSpool("spool", "file:///r", "");
  EXPECT_EQ(rel.status().code(), Status::Code::kInvalidArgument);
  sfs::create_directories(t.path() + "/data/pg_wal");
  auto inside = OpenSpool(t.path() + "/data/pg_wal/spool", "file:///r", t.path() + "/data");
  EXPECT_EQ(inside.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(inside.status().message().find("inside pg_wal"), std::string::npos);
  // pg_wal as a symlink to another disk, the spool given through the link's target
  sfs::create_directories(t.path() + "/waldisk");
  sfs::create_directories(t.path() + "/data2");
  sfs::create_directory_symlink(t.path() + "/waldisk", t.path() + "/data2/pg_wal");
  auto via_link = OpenSpool(t.path() + "/waldisk/x/spool", "file:///r", t.path() + "/data2");
  EXPECT_EQ(via_link.status().code(), Status::Code::kInvalidArgument);
  auto beside = OpenSpool(t.path() + "/data/spool", "file:///r", t.path() + "/data");
  EXPECT_TRUE(beside.ok()) << beside.status().ToString();
}

TEST(SpoolTest, FileLockIsExclusiveAndReleased) {
  TempDir t;
  std::string path = t.path() + "/lock";
  auto first = FileLock::TryAcquire(path);
  ASSERT_TRUE(first.ok());
  EXPECT_TRUE(first->held());
  auto second = FileLock::TryAcquire(path);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(second->held());
  auto waited = FileLock::Acquire(path, 0.05);
  EXPECT_EQ(waited.status().code(), Status::Code::kUnavailable);
  first->Release();
  auto third = FileLock::TryAcquire(path);
  ASSERT_TRUE(third.ok());
  EXPECT_TRUE(third->held());
}

TEST(SpoolTest, LockOfAKilledProcessIsFree) {
  TempDir t;
  std::string path = t.path() + "/lock";
  pid_t pid = ::fork();
  if (pid == 0) {
    auto l = FileLock::Acquire(path, 30);
    if (l.ok() && l->held()) ::pause();
    ::_exit(0);
  }
  // wait until the child holds it, bounded (generous: a loaded machine may
  // take seconds to schedule the child)
  bool seen = false;
  for (int i = 0; i < 6000 && !seen; ++i) {
    auto l = FileLock::TryAcquire(path);
    seen = l.ok() && !l->held();
    if (!seen) ::usleep(5000);
  }
  ::kill(pid, SIGKILL);
  int st = 0;
  ::waitpid(pid, &st, 0);
  ASSERT_TRUE(seen);
  auto after = FileLock::TryAcquire(path);
  ASSERT_TRUE(after.ok());
  EXPECT_TRUE(after->held());
}

// The spool's writes are fs::WriteFileAtomically (LocalFsTest.*); its scans never take a
// temp for a record or a staged copy, whatever name it is the temp of.
TEST(SpoolTest, ScansSkipTempNames) {
  TempDir t;
  const std::string name = "000000010000000000000001";
  t.Write(name, "a staged copy");
  t.Write(fs::TempName(name), "being written");
  t.Write(name + ".wf-tmp.4194305.abcdefghijkl", "left by a dead process");
  t.Write(".hidden", "x");
  EXPECT_EQ(ListWithSuffix(t.path(), ""), std::vector<std::string>{name});
  // the sweep removes only the dead process's temp (pid 2^22+1 is above pid_max's default)
  EXPECT_EQ(fs::SweepStaleTemps(fs::LocalFs::Posix(), t.path()), 1);
  EXPECT_FALSE(sfs::exists(t.path() + "/" + name + ".wf-tmp.4194305.abcdefghijkl"));
  EXPECT_TRUE(sfs::exists(t.path() + "/" + name));
}

TEST(SpoolTest, SpawnDetachedRunsAndLogs) {
  TempDir t;
  std::string log = t.path() + "/log";
  ASSERT_TRUE(SpawnDetached({"/bin/sh", "-c", "echo started; echo err >&2"}, log).ok());
  std::string text;
  for (int i = 0; i < 6000 && text.find("err") == std::string::npos; ++i) {
    ::usleep(5000);
    text = ReadAll(log);
  }
  EXPECT_NE(text.find("started"), std::string::npos);
  EXPECT_NE(text.find("err"), std::string::npos);
  EXPECT_FALSE(SelfExe().empty());
}

}  // namespace
}  // namespace walferry::spool
