// backup-fetch on the in-memory backend: what LATEST picks, target times, and
// no write outside DEST (a symbolic link planted in DEST is never followed).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "backup/backup.h"
#include "common/crypto.h"
#include "support/temp_dir.h"

namespace walferry::backup {
namespace {

using testing::TempDir;
namespace fsys = std::filesystem;

BackupManifest At(const std::string& name, const std::string& stop) {
  BackupManifest m;
  m.name = name;
  m.stop_time = stop;
  return m;
}

TEST(FetchTest, ChooseBackup) {
  std::vector<BackupManifest> list = {At("a", "2026-01-01T00:00:00Z"),
                                      At("b", "2026-01-02T00:00:00Z")};
  EXPECT_EQ(ChooseBackup(list, std::nullopt)->name, "b");
  EXPECT_EQ(ChooseBackup(list, *ParseUtc("2026-01-01T12:00:00Z"))->name, "a");
  EXPECT_EQ(ChooseBackup(list, *ParseUtc("2026-01-02T00:00:00Z"))->name,
            "a");  // must end before it
  EXPECT_TRUE(ChooseBackup(list, *ParseUtc("2025-12-31T00:00:00Z")).status().IsNotFound());
  EXPECT_TRUE(ChooseBackup({}, std::nullopt).status().IsNotFound());
}

TEST(FetchTest, ParseTargetTime) {
  EXPECT_EQ(*ParseTargetTime("2026-01-20 14:03:12+00"), *ParseUtc("2026-01-20T14:03:12Z"));
  EXPECT_EQ(*ParseTargetTime("2026-01-20 14:03:12.123456+00"), *ParseUtc("2026-01-20T14:03:12Z"));
  EXPECT_EQ(*ParseTargetTime("2026-01-20T14:03:12Z"), *ParseUtc("2026-01-20T14:03:12Z"));
  EXPECT_EQ(*ParseTargetTime("2026-01-20 16:03:12+02"), *ParseUtc("2026-01-20T14:03:12Z"));
  EXPECT_EQ(*ParseTargetTime("2026-01-20 08:33:12-05:30"), *ParseUtc("2026-01-20T14:03:12Z"));
  EXPECT_EQ(*ParseTargetTime("2026-01-20 14:03:12 UTC"), *ParseUtc("2026-01-20T14:03:12Z"));
  for (const char* bad : {"2026-01-20 14:03:12", "yesterday", "2026-01-20 14:03:12+0",
                          "2026-13-20 14:03:12Z", "2026-01-20 14:03:12 CET", ""}) {
    EXPECT_EQ(ParseTargetTime(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
}

// One backup with a directory "global" and a file in it, stored in memory.
BackupManifest Store(Storage& s) {
  BackupManifest m;
  m.name = "b1";
  m.system_identifier = "1";
  m.pg_version = "15";
  m.timeline = 1;
  m.start_time = m.stop_time = "2026-01-20T14:03:12Z";
  m.start_lsn = m.stop_lsn = "0/3000028";
  m.start_wal = m.stop_wal = "000000010000000000000003";
  m.wal_segment_size = 16u << 20;
  m.compression = Codec::kNone;
  m.backup_label = "label\n";
  const std::string data = "control";
  m.files.push_back({"global", FileType::kDir, 0700, 1, 0, "", std::nullopt, 0, ""});
  m.files.push_back({"global/pg_control", FileType::kFile, 0600, 1, data.size(),
                     crypto::Sha256Hex(data), 0u, 0, ""});
  m.files.push_back(
      {"empty", FileType::kFile, 0600, 1, 0, crypto::Sha256Hex(""), std::nullopt, 0, ""});
  m.objects.push_back({DataObjectKey("b1", 1), data.size(), crypto::Sha256Hex(data), data.size()});
  m.original_bytes = m.stored_bytes = data.size();
  EXPECT_TRUE(PutString(s, m.objects[0].key, data).ok());
  EXPECT_TRUE(PutString(s, ManifestKey("b1"), EncodeManifest(m)).ok());
  return m;
}

TEST(FetchTest, RestoresAndRefusesNonEmptyDest) {
  auto s = NewMemoryStorage();
  Store(*s);
  TempDir t;
  FetchConfig c;
  c.name = "LATEST";
  c.dest = t.path() + "/data";
  auto r = Fetch(*s, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::ifstream in(c.dest + "/global/pg_control");
  std::string got((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(got, "control");
  EXPECT_TRUE(fsys::exists(c.dest + "/empty"));
  EXPECT_TRUE(fsys::exists(c.dest + "/backup_label"));
  EXPECT_FALSE(fsys::exists(c.dest + "/recovery.signal"));
  EXPECT_EQ(fsys::status(c.dest).permissions() & fsys::perms::all, fsys::perms::owner_all);
  c.name = "b1";
  EXPECT_EQ(Fetch(*s, c).status().code(), Status::Code::kInvalidArgument);  // not empty
}

TEST(FetchTest, NeverFollowsALinkInDest) {
  auto s = NewMemoryStorage();
  Store(*s);
  TempDir t;
  fsys::create_directories(t.path() + "/data");
  fsys::create_directories(t.path() + "/outside");
  fsys::create_directory_symlink(t.path() + "/outside", t.path() + "/data/global");
  FetchConfig c;
  c.name = "b1";
  c.dest = t.path() + "/data";
  c.force = true;
  c.recovery = true;
  c.restore_command = "walferry archive-get %f %p";
  c.target_name = "it's";
  auto r = Fetch(*s, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(fsys::is_empty(t.path() + "/outside"));
  EXPECT_FALSE(fsys::is_symlink(c.dest + "/global"));
  EXPECT_TRUE(fsys::exists(c.dest + "/global/pg_control"));
  EXPECT_TRUE(fsys::exists(c.dest + "/recovery.signal"));
  std::ifstream in(c.dest + "/postgresql.auto.conf");
  std::string conf((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(conf.find("restore_command = 'walferry archive-get %f %p'"), std::string::npos) << conf;
  EXPECT_NE(conf.find("recovery_target_name = 'it''s'"), std::string::npos) << conf;
}

TEST(FetchTest, CorruptObjectLeavesNoFileInPlace) {
  auto s = NewMemoryStorage();
  auto m = Store(*s);
  ASSERT_TRUE(PutString(*s, m.objects[0].key, "CONTROL").ok());  // same size, other bytes
  TempDir t;
  FetchConfig c;
  c.name = "b1";
  c.dest = t.path() + "/data";
  auto r = Fetch(*s, c);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(fsys::exists(c.dest + "/global/pg_control"));
  EXPECT_FALSE(fsys::exists(c.dest + "/global/pg_control.wf-fetch"));
}

}  // namespace
}  // namespace walferry::backup

namespace walferry::backup {
namespace {

TEST(FetchTest, LatestWithTargetLsn) {
  auto s = NewMemoryStorage();
  Store(*s);  // stop_lsn 0/3000028
  TempDir t;
  FetchConfig c;
  c.name = "LATEST";
  c.dest = t.path() + "/data";
  c.target_lsn = "0/2000000";
  EXPECT_TRUE(Fetch(*s, c).status().IsNotFound());
  EXPECT_FALSE(std::filesystem::exists(c.dest));  // nothing written when no backup fits
  c.target_lsn = "0/3000028";
  auto r = Fetch(*s, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->manifest.name, "b1");
}

}  // namespace
}  // namespace walferry::backup
