// walferry delete and walferry verify as cron and operators run them: exit codes of the
// failure paths, and their man pages.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "archive/repository.h"
#include "support/run_walferry.h"
#include "support/temp_dir.h"

namespace walferry {
namespace {

using testing::RunWalferry;
using testing::TempDir;

std::map<std::string, std::string> Env(const std::string& repo_dir) {
  return {{"WALFERRY_REPO", "file://" + repo_dir}};
}

TEST(BackupOpsCli, DeleteNeedsARule) {
  TempDir repo;
  auto r = RunWalferry({"delete", "--confirm"}, Env(repo.path()));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("--retain-full N and/or --retain-days D"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HINT: "), std::string::npos);
  EXPECT_EQ(RunWalferry({"delete", "--retain-full", "0"}, Env(repo.path())).exit_code, 2);
  EXPECT_EQ(RunWalferry({"delete", "--retain-days", "x"}, Env(repo.path())).exit_code, 2);
}

TEST(BackupOpsCli, NotARepository) {
  TempDir repo;
  EXPECT_EQ(RunWalferry({"delete", "--retain-full", "1"}, Env(repo.path())).exit_code, 11);
  auto v = RunWalferry({"verify"}, Env(repo.path()));
  EXPECT_EQ(v.exit_code, 11) << v.err;
}

// Issue 10: backup-list and backup-fetch LATEST said "no backups" for a
// directory that is no repository; like verify they say wrong-repository. A
// refused backup-fetch leaves no DEST behind.
TEST(BackupOpsCli, ListAndFetchOfNotARepository) {
  TempDir repo, dest;
  auto l = RunWalferry({"backup-list"}, Env(repo.path()));
  EXPECT_EQ(l.exit_code, 11) << l.out << l.err;
  EXPECT_NE(l.err.find("no walferry repository"), std::string::npos) << l.err;
  auto f = RunWalferry({"backup-fetch", "LATEST", dest.path() + "/new"}, Env(repo.path()));
  EXPECT_EQ(f.exit_code, 11) << f.err;
  EXPECT_FALSE(std::filesystem::exists(dest.path() + "/new"));
}

TEST(BackupOpsCli, ListShowsDamagedBackupsAndFetchLatestSkipsThem) {
  TempDir repo, dest;
  auto storage = OpenPosixStorage(repo.path());
  ASSERT_TRUE(storage.ok());
  ASSERT_TRUE(archive::CreateIdentity(**storage, {1234, "15", 16u << 20}).ok());
  ASSERT_TRUE(PutString(**storage, "backup/20260101T000000Z/manifest.json", "{broken").ok());
  auto l = RunWalferry({"backup-list"}, Env(repo.path()));
  EXPECT_EQ(l.exit_code, 0) << l.err;
  EXPECT_NE(l.out.find("DAMAGED 20260101T000000Z"), std::string::npos) << l.out;
  EXPECT_NE(l.out.find("not valid JSON"), std::string::npos) << l.out;
  auto j = RunWalferry({"backup-list", "--json"}, Env(repo.path()));
  ASSERT_EQ(j.exit_code, 0) << j.err;
  auto parsed = nlohmann::json::parse(j.out);
  EXPECT_EQ(parsed["damaged"][0]["name"], "20260101T000000Z");
  auto f = RunWalferry({"backup-fetch", "LATEST", dest.path() + "/new"}, Env(repo.path()));
  EXPECT_EQ(f.exit_code, 1) << f.err;  // no usable backup
  EXPECT_NE(f.err.find("LATEST skips backup '20260101T000000Z'"), std::string::npos) << f.err;
  EXPECT_FALSE(std::filesystem::exists(dest.path() + "/new"));
}

TEST(BackupOpsCli, EmptyRepository) {
  TempDir repo;
  auto storage = OpenPosixStorage(repo.path());
  ASSERT_TRUE(storage.ok());
  ASSERT_TRUE(archive::CreateIdentity(**storage, {1234, "15", 16u << 20}).ok());
  auto v = RunWalferry({"verify", "--json"}, Env(repo.path()));
  EXPECT_EQ(v.exit_code, 1) << "no backup: nothing could be restored; " << v.err;
  auto j = nlohmann::json::parse(v.out);
  EXPECT_FALSE(j["ok"].get<bool>());
  EXPECT_TRUE(j["backups"].empty());
  EXPECT_NE(v.err.find("no backup in"), std::string::npos) << v.err;
  EXPECT_EQ(RunWalferry({"verify", "--wal-check", "deep"}, Env(repo.path())).exit_code, 2);
  auto d = RunWalferry({"delete", "--retain-full", "3"}, Env(repo.path()));
  EXPECT_EQ(d.exit_code, 0) << d.err;
  EXPECT_NE(d.out.find("dry run: nothing was changed"), std::string::npos) << d.out;
}

TEST(BackupOpsCli, ManPagesExistAndAreLinked) {
  std::ifstream main_page(std::string(WALFERRY_SOURCE_DIR) + "/man/walferry.1");
  std::string text((std::istreambuf_iterator<char>(main_page)), std::istreambuf_iterator<char>());
  for (const char* name : {"delete", "verify"}) {
    std::ifstream page(std::string(WALFERRY_SOURCE_DIR) + "/man/walferry-" + name + ".1");
    ASSERT_TRUE(page.good()) << name;
    std::string body((std::istreambuf_iterator<char>(page)), std::istreambuf_iterator<char>());
    EXPECT_NE(body.find(".SH EXIT STATUS"), std::string::npos) << name;
    EXPECT_NE(body.find("\\-\\-json"), std::string::npos) << name;
    EXPECT_NE(text.find(std::string(".BR walferry\\-") + name + " (1)"), std::string::npos) << name;
  }
}

}  // namespace
}  // namespace walferry
