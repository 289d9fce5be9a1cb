// The archive-push side of the spool against the in-memory backend: what an
// ok file proves, staged copies surviving crashes between any two steps, a
// full spool, and the status report. CLI tests run the real binary.
#include "spool/push.h"

#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "archive/repository.h"
#include "support/run_walferry.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;
using testing::RunResult;
using testing::RunWalferry;
using testing::TempDir;

constexpr uint32_t kSegSize = 16u << 20;
constexpr char kRepo[] = "memory://test";

std::string Segment(std::string_view name, uint64_t sysid, char fill) {
  return testing::WalSegment(name, sysid, fill, kSegSize);
}

void MakeDataDir(const std::string& dir, uint64_t sysid) {
  sfs::create_directories(dir + "/global");
  sfs::create_directories(dir + "/pg_wal/archive_status");
  std::ofstream(dir + "/global/pg_control")
      << std::string(reinterpret_cast<char*>(&sysid), 8) + std::string(8184, '\0');
  std::ofstream(dir + "/PG_VERSION") << "15\n";
}

std::string Name(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0000000100000000000000%02X", i);
  return buf;
}

class SpoolPushTest : public ::testing::Test {
 protected:
  SpoolPushTest() : storage_(NewMemoryStorage()) {
    data_ = t_.path() + "/data";
    MakeDataDir(data_, 42);
    EXPECT_TRUE(archive::CreateRepository(*storage_, data_).ok());
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
    sfs::rename(data_ + "/pg_wal/archive_status/" + Name(i) + ".ready",
                data_ + "/pg_wal/archive_status/" + Name(i) + ".done");
  }
  WorkerOptions Options(int crash_after = 0) {
    WorkerOptions o;
    o.data_dir = data_;
    o.repo_url = kRepo;
    o.parallel = crash_after > 0 ? 1 : 3;
    o.level = 1;
    o.idle_exit_seconds = 0.05;
    o.poll_seconds = 0.01;
    o.crash_after_steps = crash_after;
    return o;
  }
  WorkerReport Work(int crash_after = 0) {
    auto r = RunWorker(*storage_, dirs_, Options(crash_after));
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : WorkerReport{};
  }
  bool Stored(int i) {
    auto h = archive::ReadHeader(*storage_, "wal/" + Name(i).substr(0, 16) + "/" + Name(i));
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
  TempDir t_{"wf-spool-push"};
  std::string data_;
  std::unique_ptr<Storage> storage_;
  PushDirs dirs_;
};

TEST_F(SpoolPushTest, WorkerConfirmsEveryReadySegmentAndTheOkFileMatchesOnlyThatFile) {
  std::string p1 = Ready(1), p2 = Ready(2);
  std::ofstream(data_ + "/pg_wal/00000002.history")
      << "1\t0/3000000\tno recovery target specified\n";
  std::ofstream(data_ + "/pg_wal/archive_status/00000002.history.ready");
  EXPECT_FALSE(IsConfirmed(dirs_, kRepo, Name(1), p1));
  WorkerReport r = Work();
  EXPECT_TRUE(r.ran);
  EXPECT_EQ(r.uploaded, 3);
  EXPECT_EQ(r.failed, 0);
  EXPECT_TRUE(Stored(1) && Stored(2));
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, Name(1), p1));
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, Name(2), p2));
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, "00000002.history", data_ + "/pg_wal/00000002.history"));
  // another repository's confirmation proves nothing here
  EXPECT_FALSE(IsConfirmed(dirs_, "s3://other/repo", Name(1), p1));
  // a file with the same name but another inode (recycled, rewritten) is not confirmed
  sfs::remove(p1);
  std::ofstream(p1, std::ios::binary) << Segment(Name(1), 42, 'x');
  EXPECT_FALSE(IsConfirmed(dirs_, kRepo, Name(1), p1));
  // ok record: the fields walferry-archive-push(1) documents
  auto ok = DecodeOk(testing::ReadAll(dirs_.ok + "/" + Name(2)), "ok");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->key, "wal/0000000100000000/" + Name(2));
  EXPECT_EQ(ok->size, kSegSize);
  EXPECT_EQ(ok->sha256.size(), 64u);
  EXPECT_EQ(ok->repo, kRepo);
}

TEST_F(SpoolPushTest, HistoryFilesGoFirstThenOldest) {
  std::vector<std::string> v{Name(3), "00000002.history", Name(1),
                             "000000010000000000000002.partial"};
  std::sort(v.begin(), v.end(), ArchiveOrderLess);
  EXPECT_EQ(v[0], "00000002.history");
  EXPECT_EQ(v[1], Name(1));
}

TEST_F(SpoolPushTest, CrashBetweenAnyTwoStepsNeverConfirmsUnstoredDataAndConverges) {
  for (int k = 1; k <= 4; ++k) {
    SCOPED_TRACE("crash after step " + std::to_string(k));
    storage_ = NewMemoryStorage();
    ASSERT_TRUE(archive::CreateRepository(*storage_, data_).ok());
    sfs::remove_all(dirs_.ok);
    sfs::create_directories(dirs_.ok);
    std::string p = Ready(1);
    WorkerReport r = Work(k);
    EXPECT_TRUE(r.crashed);
    // the invariant: an ok file only for stored content
    EXPECT_TRUE(!IsConfirmed(dirs_, kRepo, Name(1), p) || Stored(1));
    EXPECT_EQ(sfs::exists(dirs_.ok + "/" + Name(1)), k >= 3);
    EXPECT_EQ(Stored(1), k >= 2);
    r = Work();  // the next run converges
    EXPECT_EQ(r.failed, 0);
    EXPECT_TRUE(IsConfirmed(dirs_, kRepo, Name(1), p));
    EXPECT_TRUE(Stored(1));
  }
}

TEST_F(SpoolPushTest, StagedCopyIsKeptUntilConfirmedThroughEveryCrashPoint) {
  for (int k = 1; k <= 4; ++k) {
    SCOPED_TRACE("crash after step " + std::to_string(k));
    storage_ = NewMemoryStorage();
    ASSERT_TRUE(archive::CreateRepository(*storage_, data_).ok());
    std::string p = Ready(5, 'a' + k);
    archive::BuiltObject b = Build(5);
    ASSERT_TRUE(StageObject(dirs_, b).ok());
    EXPECT_TRUE(IsStaged(dirs_, Name(5), p));
    // PostgreSQL marks it .done once archive-push exited 0 in spool mode
    MarkDone(5);
    WorkerReport r = Work(k);
    EXPECT_TRUE(r.crashed);
    const bool staged = sfs::exists(dirs_.staged + "/" + Name(5));
    EXPECT_TRUE(staged || (Stored(5) && sfs::exists(dirs_.ok + "/" + Name(5))));
    EXPECT_EQ(staged, k < 4) << "removed only after the ok file is durable";
    r = Work();
    EXPECT_FALSE(sfs::exists(dirs_.staged + "/" + Name(5)));
    EXPECT_TRUE(Stored(5));
    // the stored object is the staged file's content: get it back
    auto got = archive::Get(*storage_, archive::GetConfig{Name(5), t_.path() + "/back", ""});
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(testing::ReadAll(t_.path() + "/back"), Segment(Name(5), 42, 'a' + k));
    sfs::remove(t_.path() + "/back");
    sfs::remove(data_ + "/pg_wal/archive_status/" + Name(5) + ".done");
  }
}

TEST_F(SpoolPushTest, FailuresAreRecordedPerSegmentWithTheirExitCode) {
  storage_ = NewMemoryStorage();  // no repository: kFailedPrecondition
  Ready(1);
  std::atomic<bool> stop{false};
  auto o = Options();
  o.stop = &stop;
  std::thread stopper([&] {
    for (int i = 0; i < 500 && !LoadErr(dirs_, Name(1)); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    stop = true;
  });
  auto r = RunWorker(*storage_, dirs_, o);
  stopper.join();
  ASSERT_TRUE(r.ok());
  EXPECT_GE(r->failed, 1);
  auto err = LoadErr(dirs_, Name(1));
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->exit_code, 11);
  Status s = err->ToStatus();
  EXPECT_EQ(s.code(), Status::Code::kFailedPrecondition);
  EXPECT_NE(s.message().find(Name(1)), std::string::npos) << s.message();
  EXPECT_FALSE(sfs::exists(dirs_.ok + "/" + Name(1)));
}

TEST_F(SpoolPushTest, OkFilesArePrunedOncePostgresMarkedTheSegmentDone) {
  Ready(1);
  Ready(2);
  Work();
  ASSERT_TRUE(sfs::exists(dirs_.ok + "/" + Name(1)));
  MarkDone(1);
  Ready(3);
  Work();
  EXPECT_FALSE(sfs::exists(dirs_.ok + "/" + Name(1)));
  EXPECT_TRUE(sfs::exists(dirs_.ok + "/" + Name(2)));
}

TEST_F(SpoolPushTest, StatusCountsPendingAndReportsSuccessAndRate) {
  Ready(1);
  Work();
  Ready(2);
  Ready(3);
  SpoolStatus s = ComputeStatus(dirs_, kRepo, data_, NowMs());
  EXPECT_EQ(s.pending_segments, 2);
  EXPECT_EQ(s.pending_bytes, 2 * int64_t{kSegSize});
  EXPECT_EQ(s.oldest, Name(2));
  ASSERT_TRUE(s.last_success.has_value());
  EXPECT_EQ(s.last_success->name, Name(1));
  EXPECT_GT(s.segments_per_second, 0);
  auto j = nlohmann::json::parse(StatusJson(s));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["pending"]["segments"], 2);
  EXPECT_EQ(j["pending"]["oldest"], Name(2));
  EXPECT_EQ(j["last_success"]["name"], Name(1));
  EXPECT_TRUE(j["last_error"].is_null());
  EXPECT_FALSE(j["worker"]["running"].get<bool>());
  std::string prom = StatusPrometheus(s);
  EXPECT_NE(prom.find("walferry_spool_pending_segments{repo=\"memory://test\"} 2\n"),
            std::string::npos)
      << prom;
}

// Local damage to a staged copy between staging and upload never reaches the repository.
TEST_F(SpoolPushTest, ADamagedStagedCopyIsNeverUploaded) {
  std::string p = Ready(5, 'd');
  ASSERT_TRUE(StageObject(dirs_, Build(5)).ok());
  MarkDone(5);
  const std::string staged = dirs_.staged + "/" + Name(5);
  std::string bytes = testing::ReadAll(staged);
  bytes[bytes.size() - 50] ^= 1;
  std::ofstream(staged, std::ios::binary) << bytes;
  sfs::remove(p);  // the file it was made of is gone: no good copy anywhere
  WorkUntilFailed(Name(5));
  EXPECT_FALSE(Stored(5)) << "a damaged staged copy was uploaded";
  EXPECT_TRUE(sfs::exists(staged)) << "a staged copy is never deleted unless uploaded";
  auto err = LoadErr(dirs_, Name(5));
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, Status::Code::kCorruption);
  EXPECT_NE(err->message.find("damaged"), std::string::npos) << err->message;
}

TEST_F(SpoolPushTest, ADamagedStagedCopyIsReplacedByTheUnchangedFileItWasMadeOf) {
  std::string p = Ready(5, 'e');
  ASSERT_TRUE(StageObject(dirs_, Build(5)).ok());
  const std::string staged = dirs_.staged + "/" + Name(5);
  sfs::resize_file(staged, sfs::file_size(staged) - 7);  // truncated
  Work();
  ASSERT_TRUE(Stored(5));
  EXPECT_FALSE(sfs::exists(staged));
  auto got = archive::Get(*storage_, archive::GetConfig{Name(5), t_.path() + "/back", ""});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(testing::ReadAll(t_.path() + "/back") == Segment(Name(5), 42, 'e'));
}

// The object key comes from the staged file's own name, never from what the file says.
TEST_F(SpoolPushTest, AStagedCopyNeverChoosesItsOwnObjectKey) {
  Ready(5, 'k');
  ASSERT_TRUE(StageObject(dirs_, Build(5)).ok());
  MarkDone(5);
  sfs::remove(data_ + "/pg_wal/" + Name(5));
  const std::string staged = dirs_.staged + "/" + Name(5);
  std::string bytes = testing::ReadAll(staged);
  const std::string key5 = "wal/0000000100000000/" + Name(5),
                    key9 = "wal/0000000100000000/" + Name(9);
  ASSERT_NE(bytes.find(key5), std::string::npos);
  std::string redirected = bytes;
  redirected.replace(redirected.find(key5), key5.size(), key9);
  std::ofstream(staged, std::ios::binary) << redirected;
  WorkUntilFailed(Name(5));
  EXPECT_FALSE(Stored(9)) << "the meta line chose the key";
  EXPECT_FALSE(Stored(5));
  // The same staged file under another segment's name: its contents name segment 5.
  sfs::remove(staged);
  std::ofstream(dirs_.staged + "/" + Name(9), std::ios::binary) << bytes;
  WorkUntilFailed(Name(9));
  EXPECT_FALSE(Stored(9)) << "segment 5's bytes were stored as segment 9";
  EXPECT_TRUE(sfs::exists(dirs_.staged + "/" + Name(9)));
  // A staged file whose name is no WAL name is never uploaded.
  std::ofstream(dirs_.staged + "/junk", std::ios::binary) << bytes;
  WorkUntilFailed("junk");
  EXPECT_TRUE(ListAll(*storage_, "wal/")->empty());
}

// A lost ok record is noticed by the running worker at once, not after its idle time.
TEST_F(SpoolPushTest, ALostConfirmationIsWrittenAgainByTheRunningWorker) {
  Ready(1);
  std::atomic<bool> stop{false};
  auto o = Options();
  o.idle_exit_seconds = 60;  // stays up: only `stop` ends it
  o.stop = &stop;
  bool rewritten = false;
  std::thread test([&] {
    const std::string ok = dirs_.ok + "/" + Name(1);
    for (int i = 0; i < 500 && !sfs::exists(ok); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    sfs::remove(ok);  // lost (an operator, a restore of the spool, a bad disk)
    for (int i = 0; i < 500 && !rewritten; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      rewritten = IsConfirmed(dirs_, kRepo, Name(1), data_ + "/pg_wal/" + Name(1));
    }
    stop = true;
  });
  auto r = RunWorker(*storage_, dirs_, o);
  test.join();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(rewritten) << "the worker trusted its memory over the disk";
}

// A damaged record in the spool is no record, never a crash.
TEST_F(SpoolPushTest, DamagedRecordsAreIgnoredNeverACrash) {
  std::string p = Ready(1);
  std::ofstream(dirs_.ok + "/" + Name(1)) << R"({"name": 5, "sha256": [1], "source": "x"})";
  std::ofstream(dirs_.err + "/" + Name(1)) << R"({"name": {}, "code": "x"})";
  std::ofstream(dirs_.state) << R"({"recent": [["a", "b"]], "uploaded_segments": "many"})";
  EXPECT_FALSE(IsConfirmed(dirs_, kRepo, Name(1), p));
  EXPECT_FALSE(LoadErr(dirs_, Name(1)).has_value());
  Work();
  EXPECT_TRUE(IsConfirmed(dirs_, kRepo, Name(1), p));
}

// A spool on a 64 KiB tmpfs: staging is a clear kIo naming the spool, never a success.
TEST_F(SpoolPushTest, FullSpoolIsAClearErrorNamingTheSpool) {
  ASSERT_EQ(::geteuid(), 0u) << "this test mounts a tmpfs: run it as root (the test command does)";
  std::string mnt = t_.path() + "/tiny";
  sfs::create_directories(mnt);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k"), 0) << std::strerror(errno);
  struct Unmount {
    std::string m;
    ~Unmount() { ::umount2(m.c_str(), MNT_DETACH); }
  } unmount{mnt};
  auto sp = OpenSpool(mnt + "/spool", kRepo, data_);
  ASSERT_TRUE(sp.ok());
  auto d = OpenPushDirs(*sp);
  ASSERT_TRUE(d.ok());
  std::ofstream(mnt + "/filler", std::ios::binary) << std::string(64 << 10, 'f');  // fills it
  Ready(1);
  Status s = StageObject(*d, Build(1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIo);
  EXPECT_NE(s.message().find(mnt + "/spool"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No space left"), std::string::npos) << s.message();
  EXPECT_FALSE(sfs::exists(d->staged + "/" + Name(1)));
  EXPECT_TRUE(ListWithSuffix(d->staged, "").empty());
}

// ---- the binary, as PostgreSQL runs it
class SpoolCli : public ::testing::Test {
 protected:
  SpoolCli() {
    data_ = t_.path() + "/data";
    MakeDataDir(data_, 7);
    sfs::create_directories(t_.path() + "/repo");
    repo_ = "file://" + t_.path() + "/repo";
    EXPECT_EQ(Run({"repo-create"}).exit_code, 0);
  }
  RunResult Run(std::vector<std::string> args, std::vector<std::string> extra = {}) {
    std::vector<std::string> a{"--config", "", "--repo", repo_, "--spool-path", spool_};
    a.insert(a.end(), extra.begin(), extra.end());
    a.insert(a.end(), args.begin(), args.end());
    return RunWalferry(a, {}, data_);
  }
  void Ready(int i) {
    std::ofstream(data_ + "/pg_wal/" + Name(i), std::ios::binary) << Segment(Name(i), 7, 'w');
    std::ofstream(data_ + "/pg_wal/archive_status/" + Name(i) + ".ready");
  }
  TempDir t_{"wf-spool-cli"};
  std::string data_, repo_, spool_ = t_.path() + "/spool";
};

TEST_F(SpoolCli, PushThroughTheWorkerThenTheFastPathThenStatusJson) {
  Ready(1);
  Ready(2);
  RunResult r = Run({"archive-push", "pg_wal/" + Name(1)});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("through the spool"), std::string::npos) << r.err;
  // the worker runs ahead: segment 2 gets confirmed without being asked for
  RunResult s;
  for (int i = 0; i < 200; ++i) {
    s = Run({"status", "--json"});
    ASSERT_EQ(s.exit_code, 0) << s.err;
    auto j = nlohmann::json::parse(s.out);
    if (j["pending"]["segments"] == 0 && j["uploaded"]["segments"] == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto j = nlohmann::json::parse(s.out);
  EXPECT_EQ(j["pending"]["segments"], 0) << s.out;
  EXPECT_EQ(j["repo"], repo_);
  EXPECT_EQ(j["uploaded"]["segments"], 2) << s.out;
  EXPECT_TRUE(j["pending"]["oldest"].is_null());
  // fast path: no repository access at all (the repository is gone, still exit 0)
  sfs::rename(t_.path() + "/repo", t_.path() + "/repo.away");
  r = Run({"archive-push", "pg_wal/" + Name(2)});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 0.5);
  sfs::rename(t_.path() + "/repo.away", t_.path() + "/repo");
  // the text form and the Prometheus file
  r = Run({"status", "--prometheus", t_.path() + "/wf.prom"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("pending:      0 segments"), std::string::npos) << r.out;
  EXPECT_NE(testing::ReadAll(t_.path() + "/wf.prom").find("walferry_spool_uploaded_segments_total"),
            std::string::npos);
  // stop the worker we started (by its pid file), so that nothing outlives the test
  std::string pid = testing::ReadAll(spool_ + "/" + RepoId(repo_) + "/push/worker.pid");
  if (!pid.empty()) {
    const pid_t worker = std::stoi(pid);
    ::kill(worker, SIGTERM);
    for (int i = 0; i < 500 && ::kill(worker, 0) == 0; ++i) {  // gone within 10 s
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

// archive-push of a file PostgreSQL did not mark .ready (an operator archiving by hand):
// the worker never looks at it, so it is pushed at once, not after archive-timeout.
TEST_F(SpoolCli, AFileWithoutReadyIsPushedAtOnce) {
  std::ofstream(data_ + "/pg_wal/" + Name(3), std::ios::binary)
      << Segment(Name(3), 7, 'h');  // no .ready
  RunResult r = Run({"archive-push", "pg_wal/" + Name(3)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
  EXPECT_TRUE(sfs::exists(t_.path() + "/repo/wal/0000000100000000/" + Name(3)));
  // outside pg_wal as well
  std::ofstream(t_.path() + "/" + Name(4), std::ios::binary) << Segment(Name(4), 7, 'i');
  r = Run({"archive-push", t_.path() + "/" + Name(4)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
  // and a missing file is local-io (8), never a wait for the worker
  r = Run({"archive-push", "pg_wal/" + Name(8)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 8) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
}

// Two data directories archiving to one spool (a promoted PITR copy beside its origin):
// a running worker serving the other one is not waited for.
TEST_F(SpoolCli, AWorkerOfAnotherDataDirectoryIsNotWaitedFor) {
  auto sp = OpenSpool(spool_, repo_, "");
  ASSERT_TRUE(sp.ok());
  auto dirs = OpenPushDirs(*sp);
  ASSERT_TRUE(dirs.ok());
  // A worker that serves another data directory holds the lock (as a test stand-in, this process).
  auto lock = FileLock::TryAcquire(dirs->lock);
  ASSERT_TRUE(lock.ok() && lock->held());
  ASSERT_TRUE(WriteFileAtomic(dirs->push, "worker.pid",
                              std::to_string(::getpid()) + "\n" + t_.path() + "/other\n")
                  .ok());
  sfs::create_directories(t_.path() + "/other/pg_wal");
  Ready(1);
  RunResult r = Run({"archive-push", "pg_wal/" + Name(1)}, {"--archive-timeout", "20"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_LT(r.seconds, 10) << r.err;
  EXPECT_NE(r.err.find("serves another data directory"), std::string::npos) << r.err;
  EXPECT_TRUE(sfs::exists(t_.path() + "/repo/wal/0000000100000000/" + Name(1)));
}

// Secrets given as flags never appear on the worker's command line (ps shows it to every
// user): they reach it through its environment.
TEST_F(SpoolCli, SecretFlagsNeverReachTheWorkersCommandLine) {
  Ready(1);
  RunResult r = Run(
      {"archive-push", "pg_wal/" + Name(1)},
      {"--s3-secret-access-key", "Sekrit-Key-123456", "--s3-session-token", "Sekrit-Token-654321"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const std::string pid_file = spool_ + "/" + RepoId(repo_) + "/push/worker.pid";
  std::string pid = testing::ReadAll(pid_file);
  ASSERT_FALSE(pid.empty());
  const pid_t worker = std::stoi(pid);
  std::string cmdline = testing::ReadAll("/proc/" + std::to_string(worker) + "/cmdline");
  std::string environ = testing::ReadAll("/proc/" + std::to_string(worker) + "/environ");
  ::kill(worker, SIGTERM);
  for (int i = 0; i < 500 && ::kill(worker, 0) == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  ASSERT_NE(cmdline.find("archive-push-worker"), std::string::npos)
      << "not the worker: " << cmdline;
  EXPECT_EQ(cmdline.find("Sekrit"), std::string::npos) << "a secret on the worker's command line";
  EXPECT_NE(environ.find(std::string("WALFERRY_S3_SECRET_ACCESS_KEY=Sekrit-Key-123456") + '\0'),
            std::string::npos);
  EXPECT_NE(environ.find(std::string("WALFERRY_S3_SESSION_TOKEN=Sekrit-Token-654321") + '\0'),
            std::string::npos);
}

TEST_F(SpoolCli, StatusWithoutSpoolOrDataDirectoryIsAClearUsageError) {
  RunResult r = RunWalferry({"--config", "", "--repo", repo_, "status", "--json"}, {}, data_);
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("spool-path is not set"), std::string::npos) << r.err;
  r = Run({"status", "--pg-data", t_.path()});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("archive_status"), std::string::npos) << r.err;
}

TEST_F(SpoolCli, FullSpoolFallsBackToADirectConfirmedPush) {
  ASSERT_EQ(::geteuid(), 0u) << "this test mounts a tmpfs: run it as root (the test command does)";
  std::string mnt = t_.path() + "/tiny";
  sfs::create_directories(mnt);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=256k"), 0) << std::strerror(errno);
  struct Unmount {
    std::string m;
    ~Unmount() { ::umount2(m.c_str(), MNT_DETACH); }
  } unmount{mnt};
  spool_ = mnt + "/spool";
  std::ofstream(mnt + "/filler", std::ios::binary) << std::string(200 << 10, 'f');
  Ready(1);
  RunResult r = Run({"archive-push", "pg_wal/" + Name(1)}, {"--archive-durability", "spool"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.err.find("is full"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(mnt + "/spool"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("archived 'pg_wal/" + Name(1) + "'"), std::string::npos) << r.err;
  // with the repository unreachable as well: an error, never a false success
  Ready(2);
  sfs::rename(t_.path() + "/repo", t_.path() + "/repo.away");
  r = Run({"archive-push", "pg_wal/" + Name(2)}, {"--archive-durability", "spool"});
  EXPECT_NE(r.exit_code, 0) << r.err;
  sfs::rename(t_.path() + "/repo.away", t_.path() + "/repo");
}

}  // namespace
}  // namespace walferry::spool
