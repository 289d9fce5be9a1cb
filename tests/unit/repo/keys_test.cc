// The key table (repo/keys.h) spells every key as man/walferry-repository.5
// documents it: these strings are the repository format.
#include "repo/keys.h"

#include <gtest/gtest.h>

namespace walferry::repo {
namespace {

std::string KeyOf(const std::string& name) {
  auto wal = ParseWalFileName(name);
  EXPECT_TRUE(wal.ok()) << name;
  return wal.ok() ? WalObjectKey(*wal) : "";
}

TEST(Keys, WalFilesUnderTheirTimelineAndLog) {
  EXPECT_EQ(KeyOf("0000000100000002000000A1"), "wal/0000000100000002/0000000100000002000000A1");
  EXPECT_EQ(KeyOf("000000020000000A000000FF.partial"),
            "wal/000000020000000A/000000020000000A000000FF.partial");
  EXPECT_EQ(KeyOf("000000010000000000000002.00000028.backup"),
            "wal/0000000100000000/000000010000000000000002.00000028.backup");
  EXPECT_EQ(KeyOf("00000002.history"), "wal/history/00000002.history");
  EXPECT_EQ(std::string(kWalPrefix), "wal/");
  EXPECT_EQ(std::string(kHistoryPrefix), "wal/history/");
}

TEST(Keys, EveryKeyOfABackupUnderItsPrefix) {
  const std::string n = "20260120T140312Z";
  EXPECT_EQ(BackupPrefix(n), "backup/20260120T140312Z/");
  EXPECT_EQ(ManifestKey(n), "backup/20260120T140312Z/manifest.json");
  EXPECT_EQ(StartedKey(n), "backup/20260120T140312Z/started");
  EXPECT_EQ(DeletingKey(n), "backup/20260120T140312Z/deleting");
  EXPECT_EQ(DataPrefix(n), "backup/20260120T140312Z/data/");
  EXPECT_EQ(DataObjectKey(n, 1), "backup/20260120T140312Z/data/000001");
  EXPECT_EQ(DataObjectKey(n, 1234567), "backup/20260120T140312Z/data/1234567");
  for (const std::string& k :
       {ManifestKey(n), StartedKey(n), DeletingKey(n), DataObjectKey(n, 7)}) {
    EXPECT_EQ(k.rfind(BackupPrefix(n), 0), 0u) << k;
    EXPECT_EQ(BackupNameOf(k), n) << k;
  }
}

TEST(Keys, BackupNameOfOnlyForKeysUnderABackup) {
  EXPECT_EQ(BackupNameOf("backup/x/"), "x");
  EXPECT_EQ(BackupNameOf("backup//manifest.json"), "");
  EXPECT_FALSE(BackupNameOf("backup/x"));
  EXPECT_FALSE(BackupNameOf("backup/"));
  EXPECT_FALSE(BackupNameOf("wal/0000000100000000/000000010000000000000001"));
  EXPECT_FALSE(BackupNameOf("backups/x/manifest.json"));
}

TEST(Keys, TheRestOfTheTable) {
  EXPECT_EQ(std::string(kIdentityKey), "walferry.repo");
  EXPECT_EQ(std::string(kBackupPrefix), "backup/");
  EXPECT_EQ(std::string(kProbePrefix), "walferry-check/");
}

}  // namespace
}  // namespace walferry::repo
