// backup-fetch's promise under power cuts (man/walferry-backup-fetch.1, "Order of
// the restore"; RELIABILITY.md, "Power cuts"): the restore runs on the
// fault-injecting filesystem, the power is cut after step 0, 1, 2, ... in turn
// (every create, write, fsync, rename, unlink, mkdir and symlink is a step), and
// what the model says survives is checked. After every cut DEST is either
//   - complete: global/pg_control is there, and then every file of the manifest is
//     there with its exact content, with backup_label and the recovery settings; or
//   - recognisably incomplete: DEST has no global/pg_control, so PostgreSQL does not
//     start from it; and a second backup-fetch --force then completes it.
// Never a pg_control beside a missing, empty or partial file.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>

#include "backup/backup.h"
#include "common/crypto.h"
#include "support/fault_fs.h"
#include "support/temp_dir.h"

namespace walferry::backup {
namespace {

using testing::FaultFs;
using testing::TempDir;
namespace fsys = std::filesystem;

struct Entry {
  std::string path;
  FileType type = FileType::kFile;
  std::string data;    // kFile
  std::string target;  // kLink
};

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// A backup "b1" of `entries` plus global/pg_control, each non-empty file in an
// object of its own; `spaces` its tablespaces.
BackupManifest Store(Storage& s, std::vector<Entry> entries, std::vector<Tablespace> spaces) {
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
  entries.insert(entries.begin(), {"global", FileType::kDir, "", ""});
  entries.push_back({"global/pg_control", FileType::kFile, "new control", ""});
  for (const Entry& e : entries) {
    ManifestFile f;
    f.path = e.path;
    f.type = e.type;
    f.mode = e.type == FileType::kDir ? 0700 : e.type == FileType::kLink ? 0777 : 0600;
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
  EXPECT_TRUE(PutString(s, ManifestKey("b1"), EncodeManifest(m)).ok());
  return m;
}

class FetchPowerCutTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage_ = NewMemoryStorage();
    m_ = Store(*storage_,
               {{"base", FileType::kDir, "", ""},
                {"base/1", FileType::kDir, "", ""},
                {"base/1/1259", FileType::kFile, std::string(3000, 'r'), ""},
                {"base/1/1259_fsm", FileType::kFile, "fsm", ""},
                {"base/1/empty", FileType::kFile, "", ""},
                {"PG_VERSION", FileType::kFile, "15\n", ""},
                {"X", FileType::kFile, "", ""},
                {"X.wf-fetch", FileType::kFile, "real", ""},
                {"postgresql.auto.conf", FileType::kFile, "# auto\n", ""},
                {"pg_tblspc", FileType::kDir, "", ""},
                {"pg_tblspc/16400", FileType::kLink, "", "/recorded/location"},
                {"pg_tblspc/16400/PG_15", FileType::kDir, "", ""},
                {"pg_tblspc/16400/PG_15/f", FileType::kFile, "tablespace data", ""}},
               {{16400, "ts", "/recorded/location"}});
  }

  FetchConfig Config(const TempDir& t, bool force) {
    FetchConfig c;
    c.name = "b1";
    c.dest = t.path() + "/data";
    c.force = force;
    c.parallel = 1;  // one order of steps: the cut number names one moment
    c.recovery = true;
    c.restore_command = "walferry archive-get %f %p";
    c.target_name = "t";
    c.tablespace_map = {{"16400", t.path() + "/ts"}};
    return c;
  }

  // Where manifest path `p` is restored.
  static std::string Where(const FetchConfig& c, const std::string& p) {
    const std::string ts = "pg_tblspc/16400/";
    if (p.starts_with(ts)) return c.tablespace_map.at("16400") + "/" + p.substr(ts.size());
    return c.dest + "/" + p;
  }

  // Complete: every manifest entry restored exactly, and the files walferry writes.
  void ExpectComplete(const FetchConfig& c, const std::string& when) {
    for (const ManifestFile& f : m_.files) {
      const std::string p = Where(c, f.path);
      if (f.type == FileType::kDir) {
        EXPECT_TRUE(fsys::is_directory(fsys::symlink_status(p))) << when << ": " << f.path;
      } else if (f.type == FileType::kLink) {
        EXPECT_TRUE(fsys::is_symlink(p)) << when << ": " << f.path;
      } else if (f.path == "postgresql.auto.conf") {  // restored, then the settings appended
        EXPECT_EQ(Slurp(p).rfind("# auto\n", 0), 0u) << when;
      } else {
        EXPECT_TRUE(fsys::is_regular_file(fsys::symlink_status(p))) << when << ": " << f.path;
        EXPECT_EQ(crypto::Sha256Hex(Slurp(p)), f.sha256) << when << ": " << f.path;
      }
    }
    EXPECT_EQ(Slurp(c.dest + "/backup_label"), "label\n") << when;
    EXPECT_NE(Slurp(c.dest + "/tablespace_map").find("16400 "), std::string::npos) << when;
    EXPECT_NE(Slurp(c.dest + "/postgresql.auto.conf").find("restore_command = "), std::string::npos)
        << when;
    EXPECT_TRUE(fsys::exists(c.dest + "/recovery.signal")) << when;
  }

  // Cuts the power after every step of a restore in turn (bounded), checking
  // the promise after each; `prepare` sets DEST up before each try.
  void CutEverywhere(bool force, const std::function<void(const TempDir&)>& prepare) {
    long complete = 0, incomplete = 0, old = 0, total_steps = -1;
    long last_old = -1, first_new = -1;  // cuts that left the old pg_control / not
    for (long cut = 0; cut < 5000 && total_steps < 0; ++cut) {
      TempDir t("wf-fetch-cut");
      prepare(t);
      FetchConfig c = Config(t, force);
      FaultFs f;
      f.CutAfterSteps(cut);
      c.local_fs = &f;
      auto r = Fetch(*storage_, c);
      const bool was_cut = f.cut();
      f.PowerCut();
      const std::string when = "power cut after step " + std::to_string(cut);
      if (!was_cut) {
        total_steps = cut;
        ASSERT_TRUE(r.ok()) << when << ": " << r.status().ToString();
      }
      const std::string control = Slurp(c.dest + "/global/pg_control");
      if (control != "old control" && first_new < 0) first_new = cut;
      // Exit 0 only for a restore that survives the cut (a cut while the
      // staging directory is removed, after pg_control is durable, is one).
      if (r.ok()) {
        EXPECT_EQ(control, "new control") << when;
      }
      if (control == "new control") {
        ++complete;
        ExpectComplete(c, when);
      } else if (control == "old control") {
        // Only before anything else changed: the old data directory, untouched.
        ++old;
        last_old = cut;
        EXPECT_EQ(Slurp(c.dest + "/base/1/1259"), "old relation") << when;
        EXPECT_EQ(Slurp(c.dest + "/PG_VERSION"), "14\n") << when;
        EXPECT_FALSE(fsys::exists(c.dest + "/backup_label")) << when;
      } else {
        ++incomplete;
        EXPECT_FALSE(fsys::exists(fsys::symlink_status(c.dest + "/global/pg_control")))
            << when << ": a pg_control that is not the restored one";
        // The way out the man page gives: backup-fetch --force again completes it.
        FetchConfig again = Config(t, /*force=*/true);
        auto r2 = Fetch(*storage_, again);
        ASSERT_TRUE(r2.ok()) << when << ", then --force: " << r2.status().ToString();
        ExpectComplete(again, when + ", then --force");
      }
      if (HasFatalFailure()) return;
    }
    ASSERT_GT(total_steps, 0) << "the restore never finished within the bound";
    // Every cut before the last fsync of global/ leaves an incomplete DEST.
    EXPECT_GT(incomplete, total_steps / 2);
    EXPECT_GE(complete, 1);
    // The old pg_control survives only cuts before its removal was made
    // durable, which comes before any other change to DEST.
    EXPECT_LT(last_old, first_new) << "an old pg_control came back after DEST was changed";
    std::cout << "backup-fetch power cuts: " << total_steps << " steps, " << incomplete
              << " incomplete, " << complete << " complete, " << old
              << " old directory untouched, 0 wrong\n";
  }

  std::unique_ptr<Storage> storage_;
  BackupManifest m_;
};

TEST_F(FetchPowerCutTest, IntoANewDirectory) {
  CutEverywhere(/*force=*/false, [](const TempDir&) {});
}

// --force over an old data directory: its pg_control must never come back
// beside new files, nor stay beside a mix.
TEST_F(FetchPowerCutTest, OverAnOldDataDirectoryWithForce) {
  CutEverywhere(/*force=*/true, [](const TempDir& t) {
    fsys::create_directories(t.path() + "/data/global");
    fsys::create_directories(t.path() + "/data/base/1");
    fsys::create_directories(t.path() + "/ts");
    std::ofstream(t.path() + "/data/global/pg_control") << "old control";
    std::ofstream(t.path() + "/data/base/1/1259") << "old relation";
    std::ofstream(t.path() + "/data/PG_VERSION") << "14\n";
  });
}

}  // namespace
}  // namespace walferry::backup
