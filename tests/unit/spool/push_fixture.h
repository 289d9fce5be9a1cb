// push_fixture.h — what the tests of the spool's archive-push side share: WAL segments
// with a page header, a data directory, and SpoolPushTest (a spool, an in-memory
// repository and a worker run to its idle exit).
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>

#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "spool/push.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"

namespace walferry::spool {

inline constexpr uint32_t kSegSize = 16u << 20;
inline constexpr char kRepo[] = "memory://test";

inline std::string Segment(std::string_view name, uint64_t sysid, char fill) {
  return testing::WalSegment(name, sysid, fill, kSegSize);
}

inline void MakeDataDir(const std::string& dir, uint64_t sysid) {
  std::filesystem::create_directories(dir + "/global");
  std::filesystem::create_directories(dir + "/pg_wal/archive_status");
  std::ofstream(dir + "/global/pg_control")
      << std::string(reinterpret_cast<char*>(&sysid), 8) + std::string(8184, '\0');
  std::ofstream(dir + "/PG_VERSION") << "15\n";
}

inline std::string Name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000000100000000000000%02X", i);
  return buf;
}

class SpoolPushTest : public ::testing::Test {
 protected:
  SpoolPushTest() : storage_(NewMemoryStorage()) {
    data_ = t_.path() + "/data";
    MakeDataDir(data_, 42);
    EXPECT_TRUE(repo::CreateRepository(*storage_, data_).ok());
    auto sp = OpenSpool(t_.path() + "/spool", kRepo, data_);
    EXPECT_TRUE(sp.ok()) << sp.status().ToString();
    auto d = OpenPushDirs(*sp);
    EXPECT_TRUE(d.ok());
    dirs_ = *d;
  }
  // A completed segment PostgreSQL marked .ready.
  std::string Ready(int i, char fill = 'w') {
    std::string path = data_ + "/pg_wal/" + Name(i);
    std::ofstream(path, std::ios::binary) << Segment(Name(i), 42, fill);
    std::ofstream(data_ + "/pg_wal/archive_status/" + Name(i) + ".ready");
    return path;
  }
  void MarkDone(int i) {
    std::filesystem::rename(data_ + "/pg_wal/archive_status/" + Name(i) + ".ready",
                            data_ + "/pg_wal/archive_status/" + Name(i) + ".done");
  }
  WorkerOptions Options() {
    WorkerOptions o;
    o.data_dir = data_;
    o.repo_url = kRepo;
    o.parallel = 3;
    o.level = 1;
    o.idle_exit_seconds = 0.05;
    o.poll_seconds = 0.01;
    return o;
  }
  WorkerReport Work() {
    auto r = RunWorker(*storage_, dirs_, Options());
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : WorkerReport{};
  }
  bool Stored(int i) {
    auto h = repo::ReadHeader(*storage_, "wal/" + Name(i).substr(0, 16) + "/" + Name(i));
    return h.ok();
  }
  // Runs the worker until it recorded a failure of `name` (a failing file keeps it busy), at most 5
  // s.
  void WorkUntilFailed(const std::string& name) {
    std::atomic<bool> stop{false};
    auto o = Options();
    o.stop = &stop;
    std::thread stopper([&] {
      for (int i = 0; i < 500 && !LoadErr(dirs_, name); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      stop = true;
    });
    auto r = RunWorker(*storage_, dirs_, o);
    stopper.join();
    EXPECT_TRUE(r.ok()) << r.status().ToString();
  }
  archive::BuiltObject Build(int i) {
    auto b = archive::BuildObject(archive::PushConfig{"pg_wal/" + Name(i), data_, Codec::kZstd, 1});
    EXPECT_TRUE(b.ok()) << b.status().ToString();
    return *b;
  }
  testing::TempDir t_{"wf-spool-push"};
  std::string data_;
  std::unique_ptr<Storage> storage_;
  PushDirs dirs_;
};

}  // namespace walferry::spool
