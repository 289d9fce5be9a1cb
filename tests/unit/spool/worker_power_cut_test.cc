// The spool's promises under power cuts (push_dirs.h "Crash safety"; RELIABILITY.md,
// "Power cuts"): the upload worker and the staging of a copy run on the fault-injecting
// filesystem, the power is cut after step 0, 1, 2, ... in turn (every create, write,
// fsync, rename, unlink and mkdir is a step) until a run completes without reaching the
// cut, and after each cut ("reboot": what was not fsynced is gone) the test checks:
//   - no confirmation without a durable remote copy: every ok/ record is whole and the
//     repository holds, under its key, an object that decodes to exactly the segment
//     (SHA-256 compared with the original);
//   - no staged copy lost: a staged segment is still staged (and whole) or the
//     repository holds it exactly;
//   - a rerun of the worker completes all: every segment confirmed and stored exactly.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <thread>

#include "archive/archive.h"
#include "common/crypto.h"
#include "repo/identity.h"
#include "spool/push.h"
#include "support/fault_fs.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"
#include "unit/spool/push_fixture.h"

namespace walferry::spool {
namespace {

using testing::FaultFs;
using testing::TempDir;
namespace sfs = std::filesystem;

constexpr uint32_t kSmall = 1u << 20;  // small segments: many cuts, fast
constexpr uint64_t kSysid = 42;

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// One machine: a data directory, a spool, an in-memory repository (the remote, which a
// power cut of the machine does not touch).
struct World {
  World() {
    data = t.path() + "/data";
    MakeDataDir(data, kSysid);
    EXPECT_TRUE(repo::CreateRepository(*storage, data).ok());
    auto sp = OpenSpool(t.path() + "/spool", kRepo, data);
    EXPECT_TRUE(sp.ok()) << sp.status().ToString();
    auto d = OpenPushDirs(*sp);
    EXPECT_TRUE(d.ok());
    dirs = *d;
  }
  std::string Wal(int i, char fill) {
    const std::string path = data + "/pg_wal/" + Name(i);
    const std::string content = testing::WalSegment(Name(i), kSysid, fill, kSmall);
    std::ofstream(path, std::ios::binary) << content;
    original[Name(i)] = content;
    return path;
  }
  void Ready(int i, char fill) {
    Wal(i, fill);
    std::ofstream(data + "/pg_wal/archive_status/" + Name(i) + ".ready");
  }
  archive::BuiltObject Build(int i) {
    auto b = archive::BuildObject(archive::PushConfig{"pg_wal/" + Name(i), data, Codec::kZstd, 1});
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return *b;
  }
  // archive-durability = spool: staged, and PostgreSQL marked it .done (archive-push exit 0).
  void Staged(int i, char fill) {
    Wal(i, fill);
    ASSERT_TRUE(StageObject(dirs, Build(i)).ok());
    std::ofstream(data + "/pg_wal/archive_status/" + Name(i) + ".done");
    staged.push_back(Name(i));
  }
  WorkerOptions Options(fs::LocalFs* lfs) {
    WorkerOptions o;
    o.data_dir = data;
    o.repo_url = kRepo;
    o.parallel = 1;  // one order of steps: the cut number names one moment
    o.level = 1;
    o.idle_exit_seconds = 0.05;
    o.poll_seconds = 0.005;
    o.local_fs = lfs;
    return o;
  }
  // The repository's copy of `name`, read back and verified ("" when it has none).
  std::string Remote(const std::string& name) {
    const std::string back = t.path() + "/back";
    auto r = archive::Get(*storage, archive::GetConfig{name, back, ""});
    std::string got = r.ok() ? Slurp(back) : "";
    sfs::remove(back);
    return got;
  }
  bool RemoteIsExact(const std::string& name) {
    return crypto::Sha256Hex(Remote(name)) == crypto::Sha256Hex(original.at(name));
  }

  TempDir t{"wf-spool-cut"};
  std::string data;
  std::unique_ptr<Storage> storage = NewMemoryStorage();
  PushDirs dirs;
  std::map<std::string, std::string> original;  // name -> the segment's bytes
  std::vector<std::string> staged;
};

// The worker on `f` until it is idle, or until the power went off (then it is asked to
// stop: whatever it still does fails with EIO, as on a machine without power).
Result<WorkerReport> RunUntilCut(World& w, FaultFs& f, int parallel) {
  std::atomic<bool> stop{false}, done{false};
  WorkerOptions o = w.Options(&f);
  o.parallel = parallel;
  o.stop = &stop;
  std::thread watch([&] {
    while (!done) {
      if (f.cut()) stop = true;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  });
  auto r = RunWorker(*w.storage, w.dirs, o);
  done = true;
  watch.join();
  return r;
}

struct Counts {
  long steps = -1, cuts = 0, confirmations = 0, staged_kept = 0, staged_uploaded = 0;
};

// Cuts the power at every step of a worker run over `prepare`'s spool; checks the promises
// after each cut and after a rerun.
Counts CutEverywhere(int parallel, const std::function<void(World&)>& prepare) {
  Counts n;
  for (long cut = 0; cut < 2000 && n.steps < 0; ++cut) {
    World w;
    prepare(w);
    if (::testing::Test::HasFatalFailure()) return n;
    FaultFs f;
    f.CutAfterSteps(cut);
    auto r = RunUntilCut(w, f, parallel);
    const bool was_cut = f.cut();
    f.PowerCut();  // the reboot
    const std::string when = "power cut after step " + std::to_string(cut);
    if (!was_cut) {
      n.steps = cut;
      EXPECT_TRUE(r.ok()) << when << ": " << r.status().ToString();
    } else {
      ++n.cuts;
    }
    // Whatever survived under a final name in ok/ and staged/ is whole.
    for (const auto& e : sfs::directory_iterator(w.dirs.ok)) {
      const std::string name = e.path().filename();
      if (fs::IsTempName(name)) continue;
      auto rec = DecodeOk(Slurp(e.path()), e.path());
      EXPECT_TRUE(rec.ok()) << when << ": a partial ok record '" << name << "'";
    }
    for (const auto& e : sfs::directory_iterator(w.dirs.staged)) {
      const std::string name = e.path().filename();
      if (fs::IsTempName(name)) continue;
      auto b = LoadStaged(e.path(), name);
      EXPECT_TRUE(b.ok()) << when << ": " << b.status().ToString();
    }
    for (const auto& [name, content] : w.original) {
      const std::string ok = w.dirs.ok + "/" + name;
      if (sfs::exists(ok)) {
        auto rec = DecodeOk(Slurp(ok), ok);
        if (rec.ok()) {
          ++n.confirmations;
          EXPECT_EQ(rec->sha256, crypto::Sha256Hex(content)) << when << ": " << name;
          EXPECT_TRUE(w.RemoteIsExact(name))
              << when << ": '" << name << "' confirmed without a durable remote copy";
        }
      }
    }
    for (const std::string& name : w.staged) {
      if (sfs::exists(w.dirs.staged + "/" + name)) {
        ++n.staged_kept;
      } else {
        ++n.staged_uploaded;
        EXPECT_TRUE(w.RemoteIsExact(name))
            << when << ": the staged copy of '" << name << "' is gone, the repository lacks it";
      }
    }
    // The rerun (on the real filesystem) completes all.
    auto again = RunWorker(*w.storage, w.dirs, w.Options(&fs::LocalFs::Posix()));
    EXPECT_TRUE(again.ok()) << when << ", rerun: " << again.status().ToString();
    if (again.ok()) {
      EXPECT_EQ(again->failed, 0) << when << ", rerun";
    }
    for (const auto& [name, content] : w.original) {
      EXPECT_TRUE(w.RemoteIsExact(name)) << when << ", rerun: " << name;
      const bool was_staged = std::find(w.staged.begin(), w.staged.end(), name) != w.staged.end();
      if (was_staged) {
        EXPECT_FALSE(sfs::exists(w.dirs.staged + "/" + name)) << when << ", rerun: " << name;
      } else {
        EXPECT_TRUE(IsConfirmed(w.dirs, kRepo, name, w.data + "/pg_wal/" + name))
            << when << ", rerun: " << name;
      }
    }
    if (::testing::Test::HasFailure()) return n;
  }
  EXPECT_GT(n.steps, 10) << "the worker never finished within the bound";
  return n;
}

void Print(const std::string& what, const Counts& n) {
  std::cout << what << ": " << n.steps << " steps, " << n.cuts << " cuts; after them "
            << n.confirmations << " ok records each matched by the repository's exact copy, "
            << n.staged_kept << " staged copies kept, " << n.staged_uploaded
            << " uploaded exactly before removal; every rerun completed; 0 wrong\n";
}

// Two segments PostgreSQL marked .ready (remote durability) and one staged copy
// (archive-durability = spool), uploaded one at a time.
TEST(SpoolWorkerPowerCut, ReadySegmentsAndAStagedCopyOneAtATime) {
  Counts n = CutEverywhere(1, [](World& w) {
    w.Staged(3, 's');
    w.Ready(1, 'a');
    w.Ready(2, 'b');
  });
  EXPECT_GT(n.confirmations, 0);
  EXPECT_GT(n.staged_kept, 0);
  EXPECT_GT(n.staged_uploaded, 0);
  Print("spool worker power cuts (1 upload at a time)", n);
}

// The same with three uploads at once: the order of steps varies from run to run, and
// every moment must keep the promises all the same.
TEST(SpoolWorkerPowerCut, ThreeUploadsAtOnce) {
  Counts n = CutEverywhere(3, [](World& w) {
    w.Staged(3, 's');
    w.Staged(4, 't');
    w.Ready(1, 'a');
    w.Ready(2, 'b');
  });
  EXPECT_GT(n.confirmations, 0);
  Print("spool worker power cuts (3 uploads at once)", n);
}

// archive-push with archive-durability = spool: once StageObject returned ok the staged
// copy survives the cut; before, it is whole or absent (never partial under its name).
TEST(SpoolWorkerPowerCut, StagingACopy) {
  long steps = -1, present = 0, absent = 0;
  for (long cut = 0; cut < 100 && steps < 0; ++cut) {
    World w;
    w.Wal(5, 'x');
    archive::BuiltObject b = w.Build(5);
    FaultFs f;
    f.CutAfterSteps(cut);
    Status s = StageObject(w.dirs, b, f);
    const bool was_cut = f.cut();
    f.PowerCut();
    const std::string when = "power cut after step " + std::to_string(cut);
    if (!was_cut) steps = cut;
    const std::string path = w.dirs.staged + "/" + Name(5);
    if (s.ok()) {
      EXPECT_TRUE(sfs::exists(path)) << when << ": staged (exit 0), then lost";
    }
    if (sfs::exists(path)) {
      ++present;
      auto loaded = LoadStaged(path, Name(5));
      EXPECT_TRUE(loaded.ok()) << when << ": " << loaded.status().ToString();
    } else {
      ++absent;
      EXPECT_TRUE(ListWithSuffix(w.dirs.staged, "").empty()) << when;
    }
  }
  EXPECT_EQ(steps, 5) << "create, write, fsync, rename, fsync of the directory";
  EXPECT_GE(present, 1);
  EXPECT_GE(absent, 4);
  std::cout << "spool staging power cuts: " << steps << " steps, " << absent << " absent, "
            << present << " whole, 0 partial\n";
}

// The first archive-push into a new spool: its directories are created, then the copy
// staged, all on the cut filesystem. A staged copy that was reported (exit 0) survives with
// every directory above it; the spool opens again after any cut.
TEST(SpoolWorkerPowerCut, ANewSpoolAndItsFirstStagedCopy) {
  long steps = -1, kept = 0;
  for (long cut = 0; cut < 200 && steps < 0; ++cut) {
    World w;
    w.Wal(6, 'y');
    archive::BuiltObject b = w.Build(6);
    const std::string root = w.t.path() + "/new-spool";
    FaultFs f;
    f.CutAfterSteps(cut);
    auto sp = OpenSpool(root, kRepo, w.data, f);
    Result<PushDirs> d = sp.ok() ? OpenPushDirs(*sp, f) : Result<PushDirs>(sp.status());
    Status s = d.ok() ? StageObject(*d, b, f) : d.status();
    const bool was_cut = f.cut();
    f.PowerCut();
    const std::string when = "power cut after step " + std::to_string(cut);
    if (!was_cut) {
      steps = cut;
      EXPECT_TRUE(s.ok()) << when << ": " << s.ToString();
    }
    auto again = OpenSpool(root, kRepo, w.data);
    ASSERT_TRUE(again.ok()) << when << ": " << again.status().ToString();
    auto dirs = OpenPushDirs(*again);
    ASSERT_TRUE(dirs.ok()) << when << ": " << dirs.status().ToString();
    const std::string path = dirs->staged + "/" + Name(6);
    if (s.ok()) {
      ++kept;
      ASSERT_TRUE(sfs::exists(path)) << when << ": staged (exit 0), then lost with its directory";
    }
    if (sfs::exists(path)) {
      auto loaded = LoadStaged(path, Name(6));
      EXPECT_TRUE(loaded.ok()) << when << ": " << loaded.status().ToString();
    }
  }
  EXPECT_GT(steps, 5);
  std::cout << "new spool power cuts: " << steps << " steps, the staged copy reported " << kept
            << " times and kept each time, 0 wrong\n";
}

}  // namespace
}  // namespace walferry::spool
