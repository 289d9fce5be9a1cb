// The fault-injecting filesystem itself: injected failures, a full disk, and the
// power-cut model (what was not fsynced is lost; what was, survives).
#include "support/fault_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"

namespace walferry::testing {
namespace {

namespace fsys = std::filesystem;

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class FaultFsTest : public ::testing::Test {
 protected:
  // Creates dir/name with `data`; fsyncs the file when `sync`.
  void Make(const std::string& name, const std::string& data, bool sync) {
    int fd = -1;
    ASSERT_EQ(f_.Create(AT_FDCWD, t_.path() + "/" + name, 0600, &fd), 0);
    ASSERT_EQ(f_.Write(fd, data.data(), data.size()), 0);
    if (sync) {
      ASSERT_EQ(f_.Sync(fd), 0);
    }
    ASSERT_EQ(f_.Close(fd), 0);
  }
  void SyncDir(const std::string& rel = "") {
    int fd = -1;
    ASSERT_EQ(f_.OpenDir(AT_FDCWD, t_.path() + (rel.empty() ? "" : "/" + rel), true, &fd), 0);
    ASSERT_EQ(f_.Sync(fd), 0);
    ASSERT_EQ(f_.Close(fd), 0);
  }
  bool Exists(const std::string& rel) { return fsys::exists(t_.path() + "/" + rel); }
  std::string Read(const std::string& rel) { return Slurp(t_.path() + "/" + rel); }

  TempDir t_;
  FaultFs f_;
};

TEST_F(FaultFsTest, FailsTheNthCallOnlyAndDoesNothing) {
  f_.FailNth(FaultFs::Op::kRename, 2, EXDEV);
  Make("a", "1", true);
  EXPECT_EQ(f_.Rename(AT_FDCWD, t_.path() + "/a", AT_FDCWD, t_.path() + "/b"), 0);
  EXPECT_EQ(f_.Rename(AT_FDCWD, t_.path() + "/b", AT_FDCWD, t_.path() + "/c"), EXDEV);
  EXPECT_TRUE(Exists("b"));
  EXPECT_EQ(f_.Rename(AT_FDCWD, t_.path() + "/b", AT_FDCWD, t_.path() + "/c"), 0);
  EXPECT_EQ(f_.calls(FaultFs::Op::kRename), 3);
  f_.FailNth(FaultFs::Op::kLink, 1, EPERM);
  EXPECT_EQ(f_.Link(AT_FDCWD, t_.path() + "/c", AT_FDCWD, t_.path() + "/d"), EPERM);
  EXPECT_FALSE(Exists("d"));
}

TEST_F(FaultFsTest, FullDiskWritesWhatFits) {
  f_.NoSpaceAfter(5);
  int fd = -1;
  ASSERT_EQ(f_.Create(AT_FDCWD, t_.path() + "/a", 0600, &fd), 0);
  EXPECT_EQ(f_.Write(fd, "abc", 3), 0);
  EXPECT_EQ(f_.Write(fd, "defg", 4), ENOSPC);
  EXPECT_EQ(f_.Write(fd, "h", 1), ENOSPC);
  f_.Close(fd);
  EXPECT_EQ(Read("a"), "abcde");
  uint64_t free_bytes = 1;
  EXPECT_EQ(f_.FreeBytes(t_.path(), &free_bytes), 0);
  EXPECT_EQ(free_bytes, 0u);
}

TEST_F(FaultFsTest, PowerCutDropsFilesWhoseDirectoryWasNotSynced) {
  Make("synced-file-only", "x", true);
  Make("nothing-synced", "x", false);
  f_.PowerCut();
  EXPECT_FALSE(Exists("synced-file-only"));
  EXPECT_FALSE(Exists("nothing-synced"));
}

TEST_F(FaultFsTest, PowerCutKeepsWhatWasSyncedAndEmptiesUnsyncedData) {
  Make("durable", "data", true);
  Make("entry-only", "data", false);
  SyncDir();
  f_.PowerCut();
  EXPECT_EQ(Read("durable"), "data");
  EXPECT_TRUE(Exists("entry-only"));
  EXPECT_EQ(Read("entry-only"), "");  // its data was never fsynced
}

TEST_F(FaultFsTest, PowerCutRollsBackWritesAfterTheLastSync) {
  int fd = -1;
  ASSERT_EQ(f_.Create(AT_FDCWD, t_.path() + "/a", 0600, &fd), 0);
  ASSERT_EQ(f_.Write(fd, "one", 3), 0);
  ASSERT_EQ(f_.Sync(fd), 0);
  SyncDir();
  ASSERT_EQ(f_.Write(fd, "two", 3), 0);
  f_.Close(fd);
  EXPECT_EQ(Read("a"), "onetwo");
  f_.PowerCut();
  EXPECT_EQ(Read("a"), "one");
}

TEST_F(FaultFsTest, PowerCutUndoesUnsyncedRenamesUnlinksAndLinks) {
  t_.Write("old", "before");  // there before: durable
  t_.Write("gone", "kept");
  Make("new", "after", true);
  SyncDir();
  ASSERT_EQ(f_.Rename(AT_FDCWD, t_.path() + "/new", AT_FDCWD, t_.path() + "/old"), 0);
  ASSERT_EQ(f_.Unlink(AT_FDCWD, t_.path() + "/gone", false), 0);
  ASSERT_EQ(f_.Link(AT_FDCWD, t_.path() + "/old", AT_FDCWD, t_.path() + "/hard"), 0);
  EXPECT_EQ(Read("old"), "after");
  f_.PowerCut();
  EXPECT_EQ(Read("old"), "before");
  EXPECT_EQ(Read("new"), "after");
  EXPECT_EQ(Read("gone"), "kept");
  EXPECT_FALSE(Exists("hard"));
}

TEST_F(FaultFsTest, PowerCutKeepsASyncedRename) {
  t_.Write("old", "before");
  Make("new", "after", true);
  ASSERT_EQ(f_.Rename(AT_FDCWD, t_.path() + "/new", AT_FDCWD, t_.path() + "/old"), 0);
  SyncDir();
  f_.PowerCut();
  EXPECT_EQ(Read("old"), "after");
  EXPECT_FALSE(Exists("new"));
}

TEST_F(FaultFsTest, PowerCutRemovesAnUnsyncedDirectoryWithItsContents) {
  ASSERT_EQ(f_.Mkdir(AT_FDCWD, t_.path() + "/d", 0700), 0);
  Make("d/f", "x", true);
  SyncDir("d");  // d's entries are durable, but d itself is not in its parent
  ASSERT_EQ(f_.Mkdir(AT_FDCWD, t_.path() + "/e", 0700), 0);
  ASSERT_EQ(f_.Symlink("/nowhere", AT_FDCWD, t_.path() + "/l"), 0);
  SyncDir();  // now e and l are; d was too (it is in the listing at this sync)
  ASSERT_EQ(f_.Mkdir(AT_FDCWD, t_.path() + "/late", 0700), 0);
  f_.PowerCut();
  EXPECT_EQ(Read("d/f"), "x");
  EXPECT_TRUE(fsys::is_directory(t_.path() + "/e"));
  EXPECT_TRUE(fsys::is_symlink(t_.path() + "/l"));
  EXPECT_FALSE(Exists("late"));

  FaultFs g;
  ASSERT_EQ(g.Mkdir(AT_FDCWD, t_.path() + "/x", 0700), 0);
  int fd = -1;
  ASSERT_EQ(g.Create(AT_FDCWD, t_.path() + "/x/f", 0600, &fd), 0);
  ASSERT_EQ(g.Sync(fd), 0);
  g.Close(fd);
  ASSERT_EQ(g.OpenDir(AT_FDCWD, t_.path() + "/x", true, &fd), 0);
  ASSERT_EQ(g.Sync(fd), 0);
  g.Close(fd);
  g.PowerCut();  // x's entry in its parent was never synced: x and f are gone
  EXPECT_FALSE(Exists("x"));
}

TEST_F(FaultFsTest, CutAfterStepsStopsEveryLaterStep) {
  f_.CutAfterSteps(2);
  int fd = -1;
  ASSERT_EQ(f_.Create(AT_FDCWD, t_.path() + "/a", 0600, &fd), 0);  // step 1
  EXPECT_EQ(f_.Write(fd, "x", 1), 0);                              // step 2
  EXPECT_EQ(f_.Sync(fd), EIO);                                     // the power is off
  EXPECT_EQ(f_.Write(fd, "y", 1), EIO);
  EXPECT_TRUE(f_.cut());
  EXPECT_EQ(f_.steps(), 4);
  ::close(fd);
  f_.PowerCut();
  EXPECT_FALSE(f_.cut());
  EXPECT_FALSE(Exists("a"));
  ASSERT_EQ(f_.Create(AT_FDCWD, t_.path() + "/b", 0600, &fd), 0);  // on again
  f_.Close(fd);
}

TEST_F(FaultFsTest, DirectoryRelativeCallsAreTrackedByPath) {
  int dfd = -1;
  ASSERT_EQ(f_.Mkdir(AT_FDCWD, t_.path() + "/d", 0700), 0);
  SyncDir();
  ASSERT_EQ(f_.OpenDir(AT_FDCWD, t_.path() + "/d", true, &dfd), 0);
  int fd = -1;
  ASSERT_EQ(f_.Create(dfd, "f", 0600, &fd), 0);
  ASSERT_EQ(f_.Write(fd, "z", 1), 0);
  ASSERT_EQ(f_.Sync(fd), 0);
  f_.Close(fd);
  ASSERT_EQ(f_.Rename(dfd, "f", dfd, "g"), 0);
  ASSERT_EQ(f_.Sync(dfd), 0);
  f_.Close(dfd);
  f_.PowerCut();
  EXPECT_EQ(Read("d/g"), "z");
  EXPECT_FALSE(Exists("d/f"));
}

}  // namespace
}  // namespace walferry::testing
