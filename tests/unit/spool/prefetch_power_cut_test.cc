// archive-get with restore prefetch under power cuts (prefetch.h; RELIABILITY.md, "Power
// cuts"): recovery asks for segments 1..N in turn (spool::ArchiveGet, served from the
// prefetch worker's get/ or fetched directly) while the worker runs ahead, all on the
// fault-injecting filesystem; the power is cut after step 0, 1, 2, ... in turn until a
// run completes without reaching the cut. After each cut ("reboot"):
//   - no file in the destination pg_wal under a final WAL name is corrupt or partial:
//     each holds exactly the archived segment;
//   - every archive-get that returned ok left its file there, exactly (exit 0 is durable);
//   - a rerun (a new worker, archive-get of every segment again) serves the right bytes,
//     whatever the cut left in get/.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <set>
#include <thread>

#include "archive/archive.h"
#include "repo/identity.h"
#include "spool/archive_get.h"
#include "spool/prefetch.h"
#include "support/fault_fs.h"
#include "support/forwarding_storage.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"

namespace walferry::spool {
namespace {

using testing::FaultFs;
using testing::ForwardingStorage;
using testing::TempDir;
namespace sfs = std::filesystem;

constexpr uint32_t kSize = 1u << 20;
constexpr uint64_t kSysid = 7;
constexpr int kSegments = 4;
constexpr char kRepo[] = "memory://prefetch-cut";

std::string Slurp(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

std::string Name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000000100000000000000%02X", i);
  return buf;
}

bool IsWalName(const std::string& n) {
  return n.size() == 24 && n.find_first_not_of("0123456789ABCDEF") == std::string::npos;
}

// The repository (in memory; a power cut of the restoring machine does not touch it) with
// segments 1..kSegments of a source cluster, and an empty data directory to restore into.
struct World {
  World() {
    testing::MakeDataDir(src, kSysid);
    testing::MakeDataDir(dst, kSysid);
    EXPECT_TRUE(repo::CreateRepository(*storage, src.path()).ok());
    for (int i = 1; i <= kSegments; ++i) {
      const std::string content = testing::WalSegment(Name(i), kSysid, 'a' + i, kSize);
      src.Write("pg_wal/" + Name(i), content);
      original[Name(i)] = content;
      auto r = archive::Push(*storage,
                             archive::PushConfig{"pg_wal/" + Name(i), src.path(), Codec::kLz4, 0});
      EXPECT_TRUE(r.ok()) << r.status().ToString();
    }
  }
  StorageFactory Factory() {
    return [this]() -> Result<std::unique_ptr<Storage>> {
      return std::unique_ptr<Storage>(new ForwardingStorage(*storage));
    };
  }
  PrefetchOptions Options(fs::LocalFs* lfs) {
    PrefetchOptions o;
    o.window = 2;
    o.parallel = 1;
    o.idle_seconds = 0.15;
    o.end_retry_seconds = 30;
    o.poll_seconds = 0.002;
    o.local_fs = lfs;
    return o;
  }
  ArchiveGetConfig Get(int i, fs::LocalFs* lfs) {
    ArchiveGetConfig c;
    c.wal_name = Name(i);
    c.path = "pg_wal/" + Name(i);
    c.data_dir = dst.path();
    c.spool_path = spool_root;
    c.repo = kRepo;
    c.prefetch = 2;
    c.worker_argv = {"/bin/true"};  // the worker runs in this process (below)
    c.open_storage = [this]() -> Result<std::unique_ptr<Storage>> {
      ++direct;  // called only when the segment is fetched directly, not served from get/
      return factory();
    };
    c.local_fs = lfs;
    return c;
  }
  // Recovery: archive-get of every segment in turn beside a prefetch worker, on `lfs`;
  // stops asking once the power is off. The segments whose archive-get returned ok.
  std::set<std::string> Recover(fs::LocalFs* lfs, const FaultFs* f, SpoolDir& spool) {
    std::set<std::string> ok;
    PrefetchOptions options = Options(lfs);
    Status worker;
    std::thread t([&] { worker = RunPrefetchWorker(spool, options, factory); });
    for (int i = 1; i <= kSegments; ++i) {
      if (f != nullptr && f->cut()) break;
      if (ArchiveGet(Get(i, lfs)).ok()) ok.insert(Name(i));
      // Recovery replays the segment meanwhile: the worker gets the next one ready (bounded).
      for (int k = 0; k < 1000 && i < kSegments && !sfs::exists(spool.get_dir + "/" + Name(i + 1));
           ++k) {
        if (f != nullptr && f->cut()) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
    }
    t.join();
    return ok;
  }

  TempDir src{"wf-pcut-src"}, dst{"wf-pcut-dst"}, spool_dir{"wf-pcut-spool"};
  std::string spool_root = spool_dir.path() + "/spool";
  std::unique_ptr<Storage> storage = NewMemoryStorage();
  StorageFactory factory = Factory();
  std::atomic<int> direct{0};
  std::map<std::string, std::string> original;
};

TEST(PrefetchPowerCut, RecoveryThroughThePrefetchSpool) {
  long steps = -1, cuts = 0, present = 0, returned_ok = 0, served_total = 0;
  for (long cut = 0; cut < 1000 && steps < 0; ++cut) {
    World w;
    auto sp = OpenSpool(w.spool_root, kRepo, w.dst.path());
    ASSERT_TRUE(sp.ok()) << sp.status().ToString();
    FaultFs f;
    f.CutAfterSteps(cut);
    std::set<std::string> ok = w.Recover(&f, &f, *sp);
    const bool was_cut = f.cut();
    f.PowerCut();  // the reboot
    const std::string when = "power cut after step " + std::to_string(cut);
    if (!was_cut) {
      steps = cut;
      EXPECT_EQ(ok.size(), static_cast<size_t>(kSegments)) << when;
      served_total = kSegments - w.direct;
      EXPECT_GT(served_total, 0) << "no segment came from the prefetch spool";
    } else {
      ++cuts;
    }
    returned_ok += static_cast<long>(ok.size());
    const std::string pg_wal = w.dst.path() + "/pg_wal";
    for (const auto& e : sfs::directory_iterator(pg_wal)) {
      const std::string n = e.path().filename();
      if (!IsWalName(n)) continue;
      ++present;
      ASSERT_TRUE(w.original.count(n)) << when << ": " << n;
      EXPECT_TRUE(Slurp(e.path()) == w.original.at(n))
          << when << ": '" << n << "' in pg_wal is corrupt or partial (" << sfs::file_size(e.path())
          << " bytes)";
    }
    for (const std::string& n : ok) {
      EXPECT_TRUE(sfs::exists(pg_wal + "/" + n))
          << when << ": archive-get of '" << n << "' returned ok, the file is gone";
    }
    // The rerun: a new worker on the real filesystem, every segment asked for again.
    std::set<std::string> again = w.Recover(&fs::LocalFs::Posix(), nullptr, *sp);
    EXPECT_EQ(again.size(), static_cast<size_t>(kSegments)) << when << ", rerun";
    for (const auto& [n, content] : w.original) {
      EXPECT_TRUE(Slurp(pg_wal + "/" + n) == content) << when << ", rerun: " << n;
    }
    if (HasFailure()) return;
  }
  ASSERT_GT(steps, 10) << "recovery never finished within the bound";
  EXPECT_GT(present, 0);
  std::cout << "archive-get prefetch power cuts: " << steps << " steps, " << cuts
            << " cuts; after them " << present << " files under WAL names in pg_wal, all exact, "
            << returned_ok
            << " archive-get calls that returned ok, all durable (uncut: " << served_total << " of "
            << kSegments << " served from the spool); every rerun "
            << "served the right bytes; 0 wrong\n";
}

}  // namespace
}  // namespace walferry::spool
