// backup-fetch on the in-memory backend: what LATEST picks, target times, and
// no write outside DEST (a symbolic link planted in DEST is never followed).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

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

namespace walferry::backup {
namespace {

namespace fsys = std::filesystem;
using testing::TempDir;

struct Entry {
  std::string path;
  FileType type = FileType::kFile;
  uint32_t mode = 0600;
  std::string data;    // kFile
  std::string target;  // kLink
};

// A backup of `entries` (plus global/ and global/pg_control), each non-empty
// file in an object of its own.
BackupManifest StoreEntries(Storage& s, std::vector<Entry> entries,
                            std::vector<Tablespace> spaces = {}) {
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
  m.tablespaces = spaces;
  entries.insert(entries.begin(), {"global", FileType::kDir, 0700, "", ""});
  entries.push_back({"global/pg_control", FileType::kFile, 0600, "control", ""});
  for (const Entry& e : entries) {
    ManifestFile f;
    f.path = e.path;
    f.type = e.type;
    f.mode = e.mode;
    f.mtime = 1;
    f.target = e.target;
    if (e.type == FileType::kFile) {
      f.size = e.data.size();
      f.sha256 = crypto::Sha256Hex(e.data);
      if (!e.data.empty()) {
        f.object = static_cast<uint32_t>(m.objects.size());
        StoredObject o{DataObjectKey("b1", static_cast<uint32_t>(m.objects.size() + 1)),
                       e.data.size(), crypto::Sha256Hex(e.data), e.data.size()};
        EXPECT_TRUE(PutString(s, o.key, e.data).ok());
        m.objects.push_back(o);
        m.stored_bytes += e.data.size();
        m.original_bytes += e.data.size();
      }
    }
    m.files.push_back(f);
  }
  auto check = DecodeManifest(EncodeManifest(m), "test");
  EXPECT_TRUE(check.ok()) << check.status().ToString();
  EXPECT_TRUE(PutString(s, ManifestKey("b1"), EncodeManifest(m)).ok());
  return m;
}

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Issue 10: an empty file X and a file X.wf-fetch: after the restore
// X.wf-fetch was gone, exit 0, "verified". Staged names cannot collide.
TEST(FetchTest, TempNamesNeverCollideWithRealNames) {
  auto s = NewMemoryStorage();
  StoreEntries(*s, {{"X", FileType::kFile, 0600, "", ""},
                    {"X.wf-fetch", FileType::kFile, 0600, "real", ""},
                    {"Y.wf-fetch", FileType::kFile, 0600, "", ""},
                    {"Y", FileType::kFile, 0600, "why", ""},
                    {".walferry-fetch-staging", FileType::kFile, 0600, "mine", ""},
                    {"0", FileType::kFile, 0600, "zero", ""},
                    {"ctl\nname\xff", FileType::kFile, 0600, "odd", ""}});
  TempDir t;
  FetchConfig c;
  c.name = "b1";
  c.dest = t.path() + "/data";
  auto r = Fetch(*s, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(fsys::exists(c.dest + "/X"));
  EXPECT_EQ(Slurp(c.dest + "/X.wf-fetch"), "real");
  EXPECT_TRUE(fsys::exists(c.dest + "/Y.wf-fetch"));
  EXPECT_EQ(Slurp(c.dest + "/Y"), "why");
  EXPECT_EQ(Slurp(c.dest + "/.walferry-fetch-staging"), "mine");
  EXPECT_EQ(Slurp(c.dest + "/0"), "zero");
  EXPECT_EQ(Slurp(c.dest + "/ctl\nname\xff"), "odd");
  EXPECT_EQ(Slurp(c.dest + "/global/pg_control"), "control");
  // Nothing else is left: the staging directory is gone.
  size_t n = 0;
  for (const auto& e : fsys::directory_iterator(c.dest)) {
    (void)e;
    ++n;
  }
  EXPECT_EQ(n, 9u);  // 7 files, global/, backup_label
}

// An interrupted or failed restore never leaves global/pg_control: without
// it PostgreSQL does not start from a half-restored directory. With --force
// the old one is removed first.
TEST(FetchTest, FailedRestoreLeavesNoControlFile) {
  auto s = NewMemoryStorage();
  auto m = StoreEntries(*s, {{"base", FileType::kDir, 0700, "", ""},
                             {"base/1", FileType::kFile, 0600, "relation", ""}});
  ASSERT_TRUE(PutString(*s, m.objects[0].key, "RELATION").ok());  // base/1 damaged
  TempDir t;
  fsys::create_directories(t.path() + "/data/global");
  { std::ofstream(t.path() + "/data/global/pg_control") << "old"; }
  FetchConfig c;
  c.name = "b1";
  c.dest = t.path() + "/data";
  c.force = true;
  auto r = Fetch(*s, c);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(fsys::exists(c.dest + "/global/pg_control"));
  EXPECT_NE(r.status().message().find("no global/pg_control"), std::string::npos);
  // A second run with the repaired object completes (the stale staging is reused).
  ASSERT_TRUE(PutString(*s, m.objects[0].key, "relation").ok());
  r = Fetch(*s, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(Slurp(c.dest + "/global/pg_control"), "control");
  EXPECT_FALSE(fsys::exists(c.dest + "/.walferry-fetch-staging"));
}

TEST(FetchTest, NeverRestoresSetuidSetgidOrSticky) {
  auto s = NewMemoryStorage();
  StoreEntries(*s,
               {{"d", FileType::kDir, 01777, "", ""}, {"d/f", FileType::kFile, 06755, "x", ""}});
  TempDir t;
  FetchConfig c;
  c.name = "b1";
  c.dest = t.path() + "/data";
  auto r = Fetch(*s, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  struct stat st;
  ASSERT_EQ(::stat((c.dest + "/d/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  ASSERT_EQ(::stat((c.dest + "/d").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0777u);
}

// Tablespace locations come from the repository: only an empty (or absent)
// recorded location, or one the operator mapped; never DEST or overlapping
// it or another tablespace. A refused restore creates nothing.
TEST(FetchTest, TablespaceLocationsAreRestricted) {
  TempDir t;
  const std::string dest = t.path() + "/data";
  auto attempt = [&](std::vector<Tablespace> spaces, std::map<std::string, std::string> map,
                     bool force) {
    auto s = NewMemoryStorage();
    std::vector<Entry> entries = {{"pg_tblspc", FileType::kDir, 0700, "", ""}};
    for (const auto& sp : spaces) {
      entries.push_back(
          {"pg_tblspc/" + std::to_string(sp.oid), FileType::kLink, 0777, "", sp.location});
      entries.push_back(
          {"pg_tblspc/" + std::to_string(sp.oid) + "/PG_15", FileType::kDir, 0700, "", ""});
      entries.push_back(
          {"pg_tblspc/" + std::to_string(sp.oid) + "/PG_15/f", FileType::kFile, 0600, "ts", ""});
    }
    StoreEntries(*s, entries, spaces);
    FetchConfig c;
    c.name = "b1";
    c.dest = dest;
    c.force = force;
    c.tablespace_map = map;
    return Fetch(*s, c).status();
  };
  auto refused = [&](const Status& st, const char* why) {
    EXPECT_EQ(st.code(), Status::Code::kInvalidArgument) << st.ToString();
    EXPECT_NE(st.message().find(why), std::string::npos) << st.ToString();
    EXPECT_FALSE(fsys::exists(dest)) << "a refused restore created DEST";
  };
  refused(attempt({{16384, "a", dest}}, {}, false), "overlaps DEST");
  refused(attempt({{16384, "a", dest + "/sub"}}, {}, false), "overlaps DEST");
  refused(attempt({{16384, "a", t.path()}}, {}, false), "overlaps DEST");
  refused(attempt({{16384, "a", "/"}}, {}, false), "overlaps DEST");
  refused(attempt({{16384, "a", t.path() + "/x/../data"}}, {}, false), "not an absolute directory");
  refused(
      attempt({{16384, "a", t.path() + "/ts"}, {16385, "b", t.path() + "/ts/inner"}}, {}, false),
      "overlaps the directory of tablespace 16384");
  refused(attempt({{16384, "a", t.path() + "/ts"}, {16385, "b", t.path() + "//ts/"}}, {}, false),
          "overlaps the directory of tablespace 16384");
  // A recorded location that is not empty is never restored over, even with --force.
  fsys::create_directories(t.path() + "/victim");
  { std::ofstream(t.path() + "/victim/keep") << "precious"; }
  refused(attempt({{16384, "a", t.path() + "/victim"}}, {}, true), "recorded in the backup");
  EXPECT_EQ(Slurp(t.path() + "/victim/keep"), "precious");
  // Mapped by the operator: --force restores over it.
  Status ok = attempt({{16384, "a", "/nonexistent/recorded"}}, {{"a", t.path() + "/victim"}}, true);
  ASSERT_TRUE(ok.ok()) << ok.ToString();
  EXPECT_EQ(Slurp(t.path() + "/victim/PG_15/f"), "ts");
  EXPECT_EQ(fsys::read_symlink(dest + "/pg_tblspc/16384"), t.path() + "/victim");
  EXPECT_FALSE(fsys::exists(t.path() + "/victim/.walferry-fetch-staging"));
  EXPECT_NE(Slurp(dest + "/tablespace_map").find("16384 " + t.path() + "/victim"),
            std::string::npos);
}

}  // namespace
}  // namespace walferry::backup

namespace walferry::backup {
namespace {

TEST(FetchTest, RelativeDestIsAccepted) {
  auto s = NewMemoryStorage();
  StoreEntries(*s, {});
  testing::TempDir t;
  char cwd[4096];
  ASSERT_NE(::getcwd(cwd, sizeof cwd), nullptr);
  ASSERT_EQ(::chdir(t.path().c_str()), 0);
  FetchConfig c;
  c.name = "b1";
  c.dest = "rel/data";
  auto r = Fetch(*s, c);
  ASSERT_EQ(::chdir(cwd), 0);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(std::filesystem::exists(t.path() + "/rel/data/global/pg_control"));
}

}  // namespace
}  // namespace walferry::backup
