// Restore prefetch: the window, the worker against a file:// repository
// (in process), and serving by rename.
#include "spool/prefetch.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "archive/archive.h"
#include "repo/identity.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;
using testing::TempDir;

constexpr uint32_t kMiB = 1u << 20;

TEST(PrefetchArithmetic, WindowIsTheNextSegmentsOfTheSameTimeline) {
  auto w = PrefetchWindow("0000000200000000000000FE", 16 * kMiB, 3);
  ASSERT_TRUE(w.ok());
  EXPECT_EQ(*w, (std::vector<std::string>{"0000000200000000000000FF", "000000020000000100000000",
                                          "000000020000000100000001"}));
  EXPECT_TRUE(PrefetchWindow("000000010000000000000001", 16 * kMiB, 0)->empty());
}

// ---- a cluster's WAL in a file:// repository

constexpr uint64_t kSysid = 7;

std::string Segment(std::string_view name, char fill, uint32_t size) {
  return testing::WalSegment(name, kSysid, fill, size);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> SegmentFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : sfs::directory_iterator(dir)) {
    std::string n = e.path().filename();
    if (n.size() >= 24 && n.find_first_not_of("0123456789ABCDEF") >= 24 && !n.ends_with(".sum"))
      out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

class PrefetchWorkerTest : public ::testing::Test {
 protected:
  static constexpr uint32_t kSize = kMiB;  // small segments: fast tests

  PrefetchWorkerTest() {
    testing::MakeDataDir(data_, kSysid);
    storage_config_.repo = "file://" + repo_.path();
    auto storage = OpenStorage(storage_config_);
    EXPECT_TRUE(storage.ok());
    storage_ = std::move(*storage);
    EXPECT_TRUE(repo::CreateRepository(*storage_, data_.path()).ok());
    auto dir =
        OpenSpool(data_.path() + "/../" + sfs::path(data_.path()).filename().string() + "-spool",
                  storage_config_.repo, data_.path());
    EXPECT_TRUE(dir.ok()) << dir.status().ToString();
    spool_ = *dir;
    options_.window = 4;
    options_.parallel = 2;
    options_.idle_seconds = 0.6;
    options_.end_retry_seconds = 30;
  }
  ~PrefetchWorkerTest() override { sfs::remove_all(spool_.root); }

  // Archives segment `name` with content `fill`.
  void Archive(const std::string& name, char fill = 'w') {
    data_.Write("pg_wal/" + name, Segment(name, fill, kSize));
    auto r = archive::Push(*storage_,
                           archive::PushConfig{"pg_wal/" + name, data_.path(), Codec::kLz4, 0});
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  StorageFactory Factory() {
    return [this]() -> Result<std::unique_ptr<Storage>> {
      ++opened_;
      return OpenStorage(storage_config_);
    };
  }
  // Runs the worker in a thread; returns it (join it).
  std::thread StartWorker() {
    return std::thread([this] { worker_status_ = RunPrefetchWorker(spool_, options_, factory_); });
  }
  // Waits (at most 5 s) until get/ holds exactly `want`.
  bool WaitFor(const std::vector<std::string>& want) {
    for (int i = 0; i < 500; ++i) {
      if (SegmentFiles(spool_.get_dir) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  }

  TempDir data_{"wf-prefetch-data"};
  TempDir repo_{"wf-prefetch-repo"};
  StorageConfig storage_config_;
  std::unique_ptr<Storage> storage_;
  SpoolDir spool_;
  PrefetchOptions options_;
  std::atomic<int> opened_{0};
  StorageFactory factory_ = Factory();
  Status worker_status_;
};

TEST_F(PrefetchWorkerTest, FetchesTheWindowStopsAtTheEndAndFollowsTheRequest) {
  for (int i = 1; i <= 6; ++i)
    Archive("00000001000000000000000" + std::to_string(i), static_cast<char>('a' + i));
  ASSERT_TRUE(WriteWant(spool_, Want{"000000010000000000000001", kSize}).ok());
  std::thread worker = StartWorker();
  EXPECT_TRUE(WaitFor({"000000010000000000000002", "000000010000000000000003",
                       "000000010000000000000004", "000000010000000000000005"}))
      << "the next 4 segments";
  EXPECT_TRUE(ReadAll(spool_.get_dir + "/000000010000000000000003") ==
              Segment("000000010000000000000003", 'a' + 3, kSize))
      << "verified content";

  // replay moves on: what was passed is discarded (the requested one stays until archive-get
  // takes it), the window slides up to the end of the archive
  ASSERT_TRUE(WriteWant(spool_, Want{"000000010000000000000004", kSize}).ok());
  EXPECT_TRUE(
      WaitFor({"000000010000000000000004", "000000010000000000000005", "000000010000000000000006"}))
      << "7 and later are not in the repository: nothing more";

  // a new timeline: the old one's files are discarded
  Archive("000000020000000000000005", 'T');
  ASSERT_TRUE(WriteWant(spool_, Want{"000000020000000000000004", kSize}).ok());
  EXPECT_TRUE(WaitFor({"000000020000000000000005"}));
  EXPECT_TRUE(ReadAll(spool_.get_dir + "/000000020000000000000005") ==
              Segment("000000020000000000000005", 'T', kSize));

  worker.join();  // idle after 0.6 s
  EXPECT_TRUE(worker_status_.ok()) << worker_status_.ToString();
  EXPECT_TRUE(SegmentFiles(spool_.get_dir).empty())
      << "the worker removes what it prefetched when it exits";
  EXPECT_LE(opened_.load(), options_.parallel) << "one storage per download thread";
}

TEST_F(PrefetchWorkerTest, ASecondWorkerLeavesAtOnceAndLeftoversOfAKilledOneAreRemoved) {
  Archive("000000010000000000000002");
  // a killed worker's leftovers: a finished file and a temp
  std::ofstream(spool_.get_dir + "/000000010000000000000009") << "stale";
  std::ofstream(spool_.get_dir + "/000000010000000000000002.wf-tmp.abc") << "half";
  auto lock = FileLock::TryAcquire(spool_.get_dir + "/worker.lock");
  ASSERT_TRUE(lock.ok() && lock->held());
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(RunPrefetchWorker(spool_, options_, factory_).ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(200))
      << "lock held: leaves";
  EXPECT_EQ(SegmentFiles(spool_.get_dir).size(), 2u) << "and touches nothing";
  lock->Release();

  ASSERT_TRUE(WriteWant(spool_, Want{"000000010000000000000001", kSize}).ok());
  std::thread worker = StartWorker();
  EXPECT_TRUE(WaitFor({"000000010000000000000002"})) << "stale files removed, 2 fetched, 3 missing";
  worker.join();
}

TEST_F(PrefetchWorkerTest, ServesByRenameOnlyWhileAWorkerRuns) {
  Archive("000000010000000000000002", 'q');
  const std::string dest = data_.path() + "/pg_wal/RECOVERYXLOG";
  std::ofstream(spool_.get_dir + "/000000010000000000000002") << "leftover of a killed worker";
  auto served = ServeFromSpool(spool_, "000000010000000000000002", dest);
  ASSERT_TRUE(served.ok());
  EXPECT_FALSE(*served) << "no worker: never served";
  EXPECT_FALSE(sfs::exists(dest));

  ASSERT_TRUE(WriteWant(spool_, Want{"000000010000000000000001", kSize}).ok());
  std::thread worker = StartWorker();
  for (int i = 0; i < 500 && ReadAll(spool_.get_dir + "/000000010000000000000002").size() != kSize;
       ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  served = ServeFromSpool(spool_, "000000010000000000000002", dest);
  ASSERT_TRUE(served.ok()) << served.status().ToString();
  EXPECT_TRUE(*served);
  EXPECT_TRUE(ReadAll(dest) == Segment("000000010000000000000002", 'q', kSize));
  EXPECT_FALSE(sfs::exists(spool_.get_dir + "/000000010000000000000002")) << "moved, not copied";
  EXPECT_EQ(ReadWant(spool_)->segment, "000000010000000000000002") << "the worker is told first";
  EXPECT_FALSE(*ServeFromSpool(spool_, "000000010000000000000003", dest))
      << "not prefetched: not served";
  worker.join();
}

// Local damage to a prefetched segment between its download and its use never reaches
// PostgreSQL: it is checked again right before it goes into place, and discarded.
TEST_F(PrefetchWorkerTest, ADamagedPrefetchedCopyIsDiscardedNeverServed) {
  Archive("000000010000000000000002", 'q');
  Archive("000000010000000000000003", 'r');
  Archive("000000010000000000000004", 's');
  const std::string dest = data_.path() + "/pg_wal/RECOVERYXLOG";
  options_.idle_seconds = 5;
  ASSERT_TRUE(WriteWant(spool_, Want{"000000010000000000000001", kSize}).ok());
  std::thread worker = StartWorker();
  ASSERT_TRUE(WaitFor(
      {"000000010000000000000002", "000000010000000000000003", "000000010000000000000004"}));
  const std::string two = spool_.get_dir + "/000000010000000000000002";
  for (int i = 0; i < 500 && !sfs::exists(two + ".sum"); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  // a flipped byte
  std::string bytes = ReadAll(two);
  bytes[kSize / 2] ^= 1;
  std::ofstream(two, std::ios::binary) << bytes;
  auto served = ServeFromSpool(spool_, "000000010000000000000002", dest);
  EXPECT_EQ(served.status().code(), Status::Code::kCorruption) << served.status().ToString();
  EXPECT_FALSE(sfs::exists(dest)) << "a damaged prefetched copy reached pg_wal";
  EXPECT_FALSE(sfs::exists(two)) << "and it is discarded";
  // truncated
  const std::string three = spool_.get_dir + "/000000010000000000000003";
  sfs::resize_file(three, kSize - 1);
  served = ServeFromSpool(spool_, "000000010000000000000003", dest);
  EXPECT_EQ(served.status().code(), Status::Code::kCorruption) << served.status().ToString();
  EXPECT_FALSE(sfs::exists(dest));
  // its checksum record lost
  sfs::remove(spool_.get_dir + "/000000010000000000000004.sum");
  served = ServeFromSpool(spool_, "000000010000000000000004", dest);
  EXPECT_FALSE(served.ok() && *served) << "served without its checksum";
  EXPECT_FALSE(sfs::exists(dest));
  // archive-get then fetches it directly from the repository: the good copy
  auto got = archive::Get(*storage_, archive::GetConfig{"000000010000000000000002", dest, ""});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(ReadAll(dest) == Segment("000000010000000000000002", 'q', kSize));
  worker.join();
}

TEST_F(PrefetchWorkerTest, RequestRecordsThePositionAndSegmentSizeFromTheFile) {
  const std::string dest = data_.path() + "/pg_wal/RECOVERYXLOG";
  std::ofstream(dest, std::ios::binary) << Segment("00000001000000000000000A", 'x', kSize);
  // a worker "runs" (the lock is held): nothing is spawned, the request is recorded
  auto lock = FileLock::TryAcquire(spool_.get_dir + "/worker.lock");
  ASSERT_TRUE(lock.ok() && lock->held());
  EXPECT_TRUE(RequestPrefetch(spool_, "00000001000000000000000A", dest, {"/nonexistent"}).ok());
  auto want = ReadWant(spool_);
  ASSERT_TRUE(want.has_value());
  EXPECT_EQ(want->segment, "00000001000000000000000A");
  EXPECT_EQ(want->segment_size, kSize);
  std::ofstream(dest, std::ios::binary) << "not a WAL segment";
  EXPECT_FALSE(RequestPrefetch(spool_, "00000001000000000000000B", dest, {"/nonexistent"}).ok());
  EXPECT_EQ(ReadWant(spool_)->segment, "00000001000000000000000A");
}

}  // namespace
}  // namespace walferry::spool

namespace walferry::spool {
namespace {

// Issue 10: the page header of the segment just restored is checked against its name
// before its segment size steers the prefetch window.
TEST(PrefetchRequest, ARestoredFileWhosePageHeaderNamesAnotherSegmentIsRefused) {
  TempDir t;
  const std::string good = t.Write("good", testing::WalSegment("00000001000000000000000A", 7));
  const std::string other = t.Write("other", testing::WalSegment("000000010000000000000009", 7));
  auto size = SegmentSizeOfFile(good, "00000001000000000000000A");
  ASSERT_TRUE(size.ok()) << size.status().ToString();
  EXPECT_EQ(*size, 16u << 20);
  auto refused = SegmentSizeOfFile(other, "00000001000000000000000A");
  EXPECT_EQ(refused.status().code(), Status::Code::kCorruption) << refused.status().ToString();
  EXPECT_NE(refused.status().message().find("xlp_pageaddr"), std::string::npos);
}

}  // namespace
}  // namespace walferry::spool
