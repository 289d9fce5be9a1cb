// What of a data directory goes into a base backup (PostgreSQL's exclusion list).
#include "backup/walker.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>

#include "support/temp_dir.h"

namespace walferry::backup {
namespace {

using testing::TempDir;
namespace fsys = std::filesystem;

std::set<std::string> Paths(const WalkResult& r) {
  std::set<std::string> out;
  for (const auto& e : r.entries) out.insert(e.path);
  return out;
}

TEST(WalkerTest, ExclusionList) {
  EXPECT_TRUE(ExcludedEntry("", "postmaster.pid", false));
  EXPECT_TRUE(ExcludedEntry("", "postmaster.opts", false));
  EXPECT_TRUE(ExcludedEntry("", "backup_label", false));
  EXPECT_TRUE(ExcludedEntry("", "tablespace_map", false));
  EXPECT_TRUE(ExcludedEntry("", "backup_label.old", false));
  EXPECT_TRUE(ExcludedEntry("", "standby.signal", false));
  EXPECT_TRUE(ExcludedEntry("", "recovery.signal", false));
  EXPECT_TRUE(ExcludedEntry("", "postgresql.auto.conf.tmp", false));
  EXPECT_TRUE(ExcludedEntry("base/5", "pg_internal.init", false));
  EXPECT_TRUE(ExcludedEntry("base/5", "pgsql_tmp", true));
  EXPECT_TRUE(ExcludedEntry("base", "pgsql_tmp12.3", false));
  EXPECT_FALSE(ExcludedEntry("base/5", "postmaster.pid", false));  // only at the top
  EXPECT_FALSE(ExcludedEntry("", "postgresql.auto.conf", false));
  EXPECT_FALSE(ExcludedEntry("", "pg_wal", true));
  for (const char* d : {"pg_wal", "pg_replslot", "pg_dynshmem", "pg_notify", "pg_serial",
                        "pg_snapshots", "pg_stat_tmp", "pg_subtrans"}) {
    EXPECT_TRUE(ContentsExcluded(d)) << d;
  }
  EXPECT_FALSE(ContentsExcluded("pg_xact"));
  EXPECT_FALSE(ContentsExcluded("base/pg_wal"));
}

TEST(WalkerTest, WalksADataDirectory) {
  TempDir t;
  const std::string d = t.path();
  for (const char* dir : {"base/5", "global", "pg_wal/archive_status", "pg_replslot/slot1",
                          "pg_stat_tmp", "pg_xact", "base/pgsql_tmp"}) {
    fsys::create_directories(d + "/" + dir);
  }
  for (const char* f : {"PG_VERSION",
                        "postmaster.pid",
                        "backup_label",
                        "standby.signal",
                        "global/pg_control",
                        "global/1262",
                        "base/5/16384",
                        "base/5/16384.1",
                        "base/5/16385",
                        "base/5/16385_init",
                        "base/5/16385_fsm",
                        "base/5/16385.1",
                        "base/5/t3_16390",
                        "base/5/pg_internal.init",
                        "pg_wal/000000010000000000000001",
                        "pg_wal/archive_status/000000010000000000000001.done",
                        "pg_replslot/slot1/state",
                        "pg_stat_tmp/x",
                        "pg_xact/0000",
                        "base/pgsql_tmp/pgsql_tmp1.0"}) {
    t.Write(f, "x");
  }
  fsys::create_directories(d + "/../wf-walker-ts-" + std::to_string(::getpid()) + "/PG_15_1/5");
  std::string ts = fsys::canonical(d + "/../wf-walker-ts-" + std::to_string(::getpid())).string();
  t.Write("../" + fsys::path(ts).filename().string() + "/PG_15_1/5/16400", "y");
  fsys::create_directories(d + "/pg_tblspc");
  fsys::create_directory_symlink(ts, d + "/pg_tblspc/16399");
  fsys::create_directory_symlink("/nonexistent",
                                 d + "/pg_tblspc/notes");  // not a tablespace: skipped
  fsys::create_directory_symlink("/var/log", d + "/log");  // kept as a link, not followed

  auto r = WalkDataDirectory(d);
  fsys::remove_all(ts);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  std::set<std::string> want = {"PG_VERSION",
                                "base",
                                "base/5",
                                "base/5/16384",
                                "base/5/16384.1",
                                "base/5/16385_init",
                                "global",
                                "global/1262",
                                "global/pg_control",
                                "pg_replslot",
                                "pg_stat_tmp",
                                "pg_wal",
                                "pg_wal/archive_status",
                                "pg_xact",
                                "pg_xact/0000",
                                "pg_tblspc",
                                "pg_tblspc/16399",
                                "pg_tblspc/16399/PG_15_1",
                                "pg_tblspc/16399/PG_15_1/5",
                                "pg_tblspc/16399/PG_15_1/5/16400",
                                "log"};
  EXPECT_EQ(Paths(*r), want);
  for (const auto& e : r->entries) {
    if (e.path == "pg_tblspc/16399") {
      EXPECT_EQ(e.type, FileType::kLink);
      EXPECT_EQ(e.target, ts);
    }
  }
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("pg_tblspc/notes"), std::string::npos);
  // Parents come before their children.
  for (size_t i = 1; i < r->entries.size(); ++i)
    EXPECT_LT(r->entries[i - 1].path, r->entries[i].path);
}

}  // namespace
}  // namespace walferry::backup
