// archive-push's fast path, without the binary: the plain command line it reads, and
// the decision that a file is confirmed (or staged) already.
#include "spool/fast_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "spool/records.h"
#include "support/temp_dir.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;
using testing::TempDir;

// A stand-in for the option table: three options that take a value, one boolean.
FlagKind Kind(std::string_view name) {
  if (name == "repo" || name == "spool-path" || name == "config") return FlagKind::kValue;
  if (name == "verbose") return FlagKind::kBool;
  return FlagKind::kUnknown;
}

std::optional<FastPathArgs> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "walferry");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  return ParseFastPathArgs(static_cast<int>(argv.size()), argv.data(), Kind);
}

TEST(FastPathArgs, ThePlainShapeGivesTheFlagsAndThePath) {
  auto a = Parse({"--config", "/etc/x.conf", "--repo=s3://b/p", "archive-push", "pg_wal/0001"});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->path, "pg_wal/0001");
  EXPECT_EQ(a->flags.size(), 2u);
  EXPECT_EQ(a->flags["config"], "/etc/x.conf");
  EXPECT_EQ(a->flags["repo"], "s3://b/p");
  a = Parse({"archive-push", "p", "--verbose=true"});
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->flags["verbose"], "true");
  a = Parse({"--config", "", "archive-push", "p"});  // an empty value is a value
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->flags["config"], "");
}

TEST(FastPathArgs, AnyOtherShapeGoesToTheFullParser) {
  EXPECT_FALSE(Parse({}).has_value());
  EXPECT_FALSE(Parse({"archive-push"}).has_value());                      // no path
  EXPECT_FALSE(Parse({"archive-get", "a", "b"}).has_value());             // another command
  EXPECT_FALSE(Parse({"archive-push", "a", "b"}).has_value());            // two paths
  EXPECT_FALSE(Parse({"p", "archive-push"}).has_value());                 // path first
  EXPECT_FALSE(Parse({"--unknown=1", "archive-push", "p"}).has_value());  // not an option
  EXPECT_FALSE(Parse({"--verbose", "archive-push", "p"}).has_value());    // boolean without '='
  EXPECT_FALSE(Parse({"-h", "archive-push", "p"}).has_value());           // short option
  EXPECT_FALSE(Parse({"archive-push", "p", "--repo"}).has_value());       // value missing
  EXPECT_FALSE(Parse({"--repo=a", "--repo=b", "archive-push", "p"}).has_value());  // twice
}

class FastPath : public ::testing::Test {
 protected:
  FastPath() {
    data_ = t_.path() + "/data";
    sfs::create_directories(data_ + "/pg_wal/archive_status");
    cfg_.spool_path = t_.path() + "/spool";
    cfg_.repo = "file:///nowhere";
    auto sp = OpenSpool(cfg_.spool_path, cfg_.repo, data_);
    EXPECT_TRUE(sp.ok()) << sp.status().ToString();
    auto d = OpenPushDirs(*sp);
    EXPECT_TRUE(d.ok());
    dirs_ = *d;
    std::ofstream(data_ + "/pg_wal/" + kName) << "segment";
  }
  // ok/<name> as the worker writes it, for `repo`, with the file's stat now.
  void Confirm(const std::string& repo) {
    OkRecord r;
    r.name = kName;
    r.sha256 = std::string(64, '0');
    r.repo = repo;
    ASSERT_TRUE(StatOf(data_ + "/pg_wal/" + kName, &r.source));
    ASSERT_TRUE(fs::WriteFileAtomically(fs::LocalFs::Posix(), dirs_.ok, kName, EncodeOk(r)).ok());
  }
  static constexpr char kName[] = "000000010000000000000001";
  TempDir t_{"wf-fast-path"};
  std::string data_;
  SpoolPushConfig cfg_;
  PushDirs dirs_;
};

TEST_F(FastPath, OnlyARecordOfThisRepositoryAndThisVeryFileConfirms) {
  const std::string path = std::string("pg_wal/") + kName;
  EXPECT_FALSE(AlreadyConfirmed(cfg_, path, data_));
  Confirm("s3://another/repo");
  EXPECT_FALSE(AlreadyConfirmed(cfg_, path, data_));
  Confirm(cfg_.repo);
  EXPECT_TRUE(AlreadyConfirmed(cfg_, path, data_));
  // the same name, rewritten: another file
  sfs::remove(data_ + "/pg_wal/" + kName);
  std::ofstream(data_ + "/pg_wal/" + kName) << "other content";
  EXPECT_FALSE(AlreadyConfirmed(cfg_, path, data_));
}

TEST_F(FastPath, AStagedCopyCountsOnlyWithSpoolDurability) {
  archive::SourceStat st;
  ASSERT_TRUE(StatOf(data_ + "/pg_wal/" + kName, &st));
  const std::string meta = std::string(R"({"name":")") + kName + R"(","source":{"dev":)" +
                           std::to_string(st.dev) + R"(,"ino":)" + std::to_string(st.ino) +
                           R"(,"size":)" + std::to_string(st.size) + R"(,"mtime_ns":)" +
                           std::to_string(st.mtime_ns) + "}}\n";
  ASSERT_TRUE(
      fs::WriteFileAtomically(fs::LocalFs::Posix(), dirs_.staged, kName, meta + "object").ok());
  const std::string path = std::string("pg_wal/") + kName;
  EXPECT_FALSE(AlreadyConfirmed(cfg_, path, data_));
  cfg_.durability_spool = true;
  EXPECT_TRUE(AlreadyConfirmed(cfg_, path, data_));
}

TEST_F(FastPath, TheBacklogWarningComesOnceAMinuteFromTheThreshold) {
  cfg_.backlog_warn = 2;
  for (const char* n : {"000000010000000000000002", "000000010000000000000003"}) {
    std::ofstream(data_ + "/pg_wal/" + n) << "x";
    std::ofstream(data_ + "/pg_wal/archive_status/" + std::string(n) + ".ready");
  }
  WarnBacklog(cfg_, dirs_, data_);
  EXPECT_TRUE(sfs::exists(dirs_.warned)) << "two waiting files reach spool-backlog-warn = 2";
  sfs::remove(dirs_.warned);
  cfg_.backlog_warn = 3;
  WarnBacklog(cfg_, dirs_, data_);
  EXPECT_FALSE(sfs::exists(dirs_.warned)) << "below the threshold";
  cfg_.backlog_warn = 0;
  WarnBacklog(cfg_, dirs_, data_);
  EXPECT_FALSE(sfs::exists(dirs_.warned)) << "0 = never";
}

}  // namespace
}  // namespace walferry::spool
