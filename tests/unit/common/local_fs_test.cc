// The local-filesystem seam's patterns (atomic write, bounded read, the temp-name
// scheme, the stale-temp sweeper) on the real filesystem and on the fault-injecting
// one: a failed step leaves the old file and no temp file; a power cut at any step
// leaves the old file or the new one, whole.
#include "walferry/local_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <fstream>

#include "support/fault_fs.h"
#include "support/temp_dir.h"

namespace walferry::fs {
namespace {

using testing::FaultFs;
using testing::TempDir;
namespace fsys = std::filesystem;

std::string Slurp(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

size_t Entries(const std::string& dir) {
  size_t n = 0;
  for (const auto& e : fsys::directory_iterator(dir)) {
    (void)e;
    ++n;
  }
  return n;
}

TEST(LocalFsTest, TempNamesAreRecognisedAndNeverAPostgresName) {
  const std::string t = TempName("000000010000000000000003");
  long pid = 0;
  EXPECT_TRUE(IsTempName(t, &pid));
  EXPECT_EQ(pid, ::getpid());
  EXPECT_EQ(t.rfind("000000010000000000000003.wf-tmp.", 0), 0u) << t;
  EXPECT_TRUE(IsTempName(TempName("")));
  EXPECT_TRUE(IsTempName(TempName("x.wf-tmp.1.abcdefghijkl")));  // any final name
  EXPECT_NE(TempName("a"), TempName("a"));                       // a fresh token each time
  for (const char* name :
       {"pg_control", "X.wf-fetch", ".wf-tmp.", ".wf-tmp.12.", "a.wf-tmp.x.abcdefghijkl",
        "a.wf-tmp.12.ABCDEFGHIJKL", "a.wf-tmp.12.abcdefghijk", "postgresql.auto.conf.tmp",
        "backup_manifest.tmp", "000000010000000000000003.partial"}) {
    EXPECT_FALSE(IsTempName(name)) << name;
  }
}

TEST(LocalFsTest, WriteFileAtomicallyReplacesWholeAndLeavesNoTemp) {
  TempDir t;
  t.Write("f", "old");
  ASSERT_TRUE(WriteFileAtomically(LocalFs::Posix(), t.path(), "f", "new").ok());
  EXPECT_EQ(Slurp(t.path() + "/f"), "new");
  EXPECT_EQ(Entries(t.path()), 1u);
  // A directory in the way: the rename fails, nothing is left behind.
  fsys::create_directories(t.path() + "/d/sub");
  Status s = WriteFileAtomically(LocalFs::Posix(), t.path(), "d", "x");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("rename '"), std::string::npos) << s.ToString();
  EXPECT_EQ(Entries(t.path()), 2u);
}

TEST(LocalFsTest, ReadFileBoundedRefusesLargeFilesBeforeReading) {
  TempDir t;
  const std::string p = t.Write("f", std::string(100, 'x'));
  auto ok = ReadFileBounded(LocalFs::Posix(), p, 100);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->size(), 100u);
  auto big = ReadFileBounded(LocalFs::Posix(), p, 99);
  EXPECT_EQ(big.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(big.status().message().find("is larger than 99 bytes"), std::string::npos);
  EXPECT_NE(big.status().message().find(p), std::string::npos);
  EXPECT_EQ(ReadFileBounded(LocalFs::Posix(), t.path() + "/none", 10).status().code(),
            Status::Code::kIo);  // a local error, never "not found"
  FaultFs f;
  EXPECT_EQ(ReadFileBounded(f, p, 99).status().code(), Status::Code::kInvalidArgument);
}

TEST(LocalFsTest, SweepRemovesOnlyTempsOfDeadProcesses) {
  TempDir t;
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ASSERT_GT(child, 0);
  ::waitpid(child, nullptr, 0);  // a pid that is gone
  const std::string dead = "seg.wf-tmp." + std::to_string(child) + ".abcdefghijkl";
  t.Write(dead, "x");
  t.Write(TempName("seg"), "mine");                 // this process: alive
  t.Write("seg.wf-tmp.1.abcdefghijkl", "init");     // pid 1: alive
  t.Write("user.wf-tmp.notapid", "a user's file");  // not the scheme
  t.Write("seg", "real");
  EXPECT_EQ(SweepStaleTemps(LocalFs::Posix(), t.path()), 1);
  EXPECT_FALSE(fsys::exists(t.path() + "/" + dead));
  EXPECT_EQ(Entries(t.path()), 4u);
}

// Every single step of an atomic write failing, in turn: the old content stays,
// no temp file is left, and the error names the step.
TEST(LocalFsTest, AtomicWriteFailingAtEachStepKeepsTheOldFile) {
  struct Case {
    FaultFs::Op op;
    int n;
    const char* said;
  } cases[] = {{FaultFs::Op::kCreate, 1, "create '"},
               {FaultFs::Op::kWrite, 1, "write '"},
               {FaultFs::Op::kSync, 1, "fsync '"},
               {FaultFs::Op::kRename, 1, "rename '"},
               {FaultFs::Op::kSync, 2, "fsync directory '"}};
  for (const Case& c : cases) {
    TempDir t;
    t.Write("f", "old");
    FaultFs f;
    f.FailNth(c.op, c.n, EIO);
    Status s = WriteFileAtomically(f, t.path(), "f", "new");
    ASSERT_FALSE(s.ok()) << c.said;
    EXPECT_NE(s.message().find(c.said), std::string::npos) << s.ToString();
    if (c.op != FaultFs::Op::kSync || c.n != 2) {  // before the rename: untouched
      EXPECT_EQ(Slurp(t.path() + "/f"), "old") << c.said;
      EXPECT_EQ(Entries(t.path()), 1u) << c.said;
    }
  }
}

TEST(LocalFsTest, AtomicWriteOnAFullDiskKeepsTheOldFile) {
  TempDir t;
  t.Write("f", "old");
  FaultFs f;
  f.NoSpaceAfter(3);
  Status s = WriteFileAtomically(f, t.path(), "f", "new content");
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.message().find("write '"), std::string::npos) << s.ToString();
  EXPECT_EQ(s.code(), Status::Code::kIo) << s.ToString();
  EXPECT_EQ(Slurp(t.path() + "/f"), "old");
  EXPECT_EQ(Entries(t.path()), 1u);
}

// The promise of WriteFileAtomically under power cuts: cut after every step in
// turn; afterwards the file holds the old content or the new one, never a part
// or nothing; once it returned ok, the new one.
TEST(LocalFsTest, AtomicWriteSurvivesAPowerCutAtEveryStep) {
  int finished_at = -1;
  for (long cut = 0; cut < 50 && finished_at < 0; ++cut) {
    TempDir t;
    t.Write("f", "old");
    FaultFs f;
    f.CutAfterSteps(cut);
    Status s = WriteFileAtomically(f, t.path(), "f", "new");
    bool was_cut = f.cut();
    f.PowerCut();
    const std::string got = Slurp(t.path() + "/f");
    if (s.ok()) {
      EXPECT_EQ(got, "new") << "cut after " << cut;
    } else {
      EXPECT_TRUE(got == "old" || got == "new") << "cut after " << cut << ": '" << got << "'";
    }
    if (!was_cut) finished_at = static_cast<int>(cut);
  }
  EXPECT_EQ(finished_at, 5);  // create, write, fsync, rename, fsync dir
}

}  // namespace
}  // namespace walferry::fs
