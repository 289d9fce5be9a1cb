// prefetch.cc — restore prefetch (see prefetch.h).
#include "spool/prefetch.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "archive/archive.h"
#include "common/fs.h"
#include "common/log.h"
#include "pg/wal_page.h"
#include "walferry/pipeline.h"
#include "walferry/wal_name.h"

namespace walferry::spool {
namespace {

using Clock = std::chrono::steady_clock;

constexpr char kWantFile[] = "want";
constexpr char kLockFile[] = "worker.lock";
constexpr char kLogFile[] = "worker.log";
constexpr off_t kMaxLogBytes = 1 << 20;
constexpr size_t kSegmentNameLength = 24;

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

constexpr char kSumSuffix[] = ".sum";

// A file in get/ that holds (or is becoming) a segment, or records its checksum:
// "<24 hex>", "<24 hex>.wf-tmp.*" or "<24 hex>.sum".
bool IsSegmentFile(const std::string& name) {
  return name.size() >= kSegmentNameLength &&
         IsHex(std::string_view(name).substr(0, kSegmentNameLength)) &&
         (name.size() == kSegmentNameLength ||
          name.compare(kSegmentNameLength, 8, ".wf-tmp.") == 0 ||
          name.substr(kSegmentNameLength) == kSumSuffix);
}

// get/<segment>.sum: "<sha256> <size>" of the verified segment, written before the
// segment takes its name, checked again before the segment is served.
struct Sum {
  std::string sha256_hex;
  uint64_t size = 0;
};
std::optional<Sum> ReadSum(const SpoolDir& spool, const std::string& segment) {
  std::ifstream in(spool.get_dir + "/" + segment + kSumSuffix);
  Sum sum;
  if (!(in >> sum.sha256_hex >> sum.size) || sum.sha256_hex.size() != 64) return std::nullopt;
  return sum;
}

// Every byte of the local file at `path`, in order, into `out` (FileSource's reads).
Status StreamFile(const std::string& path, ByteSink& out) {
  auto in = FileSource::Open(path);
  if (!in.ok()) return in.status();
  std::vector<char> buf(1 << 20);
  for (;;) {
    auto n = (*in)->Read(buf.data(), buf.size());
    if (!n.ok()) return n.status();
    if (*n == 0) return Status::Ok();
    WF_RETURN_IF_ERROR(out.Write(buf.data(), *n));
  }
}

// Size and SHA-256 of the file at `path`, read whole.
Result<Sum> HashFile(const std::string& path) {
  HashSink hash(nullptr);
  WF_RETURN_IF_ERROR(StreamFile(path, hash));
  return Sum{hash.Sha256Hex(), hash.size()};
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return names;
  while (dirent* e = ::readdir(d)) names.emplace_back(e->d_name);
  ::closedir(d);
  return names;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

double SecondsSince(Clock::time_point t) {
  return std::chrono::duration<double>(Clock::now() - t).count();
}

// Removes every segment file and temp in get/; returns how many.
int ClearSegments(fs::LocalFs& lfs, const SpoolDir& spool) {
  int removed = 0;
  for (const std::string& name : ListDir(spool.get_dir)) {
    if (IsSegmentFile(name) && lfs.Unlink(AT_FDCWD, spool.get_dir + "/" + name, false) == 0)
      ++removed;
  }
  return removed + fs::SweepStaleTemps(lfs, spool.get_dir);
}

// Copies `src` to `dest` through a temp file beside it (fsync, rename, directory fsync),
// only when the bytes copied have the size and SHA-256 of `sum` (else kCorruption, and
// nothing at `dest`).
Status CopyAtomically(fs::LocalFs& lfs, const std::string& src, const std::string& dest,
                      const Sum& sum) {
  auto sink = AtomicFileSink::Create(dest, lfs);
  if (!sink.ok()) return sink.status();
  HashSink hash(sink->get());
  WF_RETURN_IF_ERROR(StreamFile(src, hash));
  if (hash.size() != sum.size || hash.Sha256Hex() != sum.sha256_hex) {
    return Status::Corruption("prefetched '" + src + "' is not what was downloaded and verified (" +
                              std::to_string(hash.size()) + " bytes, expected " +
                              std::to_string(sum.size) + ")");
  }
  return (*sink)->Commit();
}

// What the worker knows, shared by its download threads.
class Prefetcher {
 public:
  Prefetcher(const SpoolDir& spool, const PrefetchOptions& options,
             const StorageFactory& open_storage)
      : spool_(spool),
        options_(options),
        open_storage_(open_storage),
        fs_(*options.local_fs),
        last_request_(Clock::now()) {}

  void Run() {
    int threads = std::max(1, std::min(options_.parallel, options_.window));
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) pool.emplace_back([this] { Loop(); });
    for (auto& t : pool) t.join();
  }
  int fetched() const { return fetched_; }

 private:
  void Loop() {
    std::unique_ptr<Storage> storage;
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      Refresh();
      std::string pick = Pick();
      if (pick.empty()) {
        if (inflight_.empty() && SecondsSince(last_request_) >= options_.idle_seconds) {
          stop_ = true;
          break;
        }
        wake_.wait_for(lock, std::chrono::duration<double>(options_.poll_seconds));
        continue;
      }
      inflight_.insert(pick);
      lock.unlock();
      Status s = Fetch(storage, pick);
      lock.lock();
      inflight_.erase(pick);
      Done(pick, s);
    }
    wake_.notify_all();
  }

  // Re-reads want; when it moved, recomputes the window and discards what left it.
  void Refresh() {
    std::optional<Want> want = ReadWant(spool_);
    if (!want || (want->segment == want_.segment && want->segment_size == want_.segment_size))
      return;
    auto window = PrefetchWindow(want->segment, want->segment_size, options_.window);
    if (!window.ok()) {
      log::Warn("ignoring request " + want->segment + ": " + window.status().message());
      want_ = *want;
      window_.clear();
      return;
    }
    want_ = *want;
    window_ = *window;
    last_request_ = Clock::now();
    if (!end_.empty() && (end_.substr(0, 8) != want_.segment.substr(0, 8) || end_ <= want_.segment))
      end_.clear();
    Discard();
  }

  void Discard() {
    std::set<std::string> keep(window_.begin(), window_.end());
    for (const std::string& name : ListDir(spool_.get_dir)) {
      if (name.size() == kSegmentNameLength + std::strlen(kSumSuffix) && IsSegmentFile(name)) {
        // the checksum of a segment that leaves the window (the segment goes below)
        const std::string segment = name.substr(0, kSegmentNameLength);
        if (segment != want_.segment && keep.count(segment) == 0)
          (void)fs_.Unlink(AT_FDCWD, spool_.get_dir + "/" + name, false);
        continue;
      }
      if (name.size() != kSegmentNameLength || !IsSegmentFile(name) || keep.count(name) != 0)
        continue;
      if (name == want_.segment) continue;  // being served right now
      std::string why =
          name.substr(0, 8) != want_.segment.substr(0, 8)
              ? "timeline " + name.substr(0, 8) + ", recovery asks for " + want_.segment
          : name < want_.segment ? "before " + want_.segment + ", which recovery asked for"
                                 : "beyond the window of " + std::to_string(options_.window) +
                                       " segments after " + want_.segment;
      if (fs_.Unlink(AT_FDCWD, spool_.get_dir + "/" + name, false) == 0)
        log::Info("discarded prefetched " + name + ": " + why);
    }
  }

  // The first segment of the window that is neither there nor being fetched.
  std::string Pick() {
    if (Clock::now() < backoff_until_) return "";
    for (const std::string& name : window_) {
      if (!end_.empty() && name >= end_) {
        if (SecondsSince(end_at_) < options_.end_retry_seconds) return "";
        end_.clear();
      }
      if (inflight_.count(name) != 0 || FileExists(spool_.get_dir + "/" + name)) continue;
      return name;
    }
    return "";
  }

  Status Fetch(std::unique_ptr<Storage>& storage, const std::string& name) {
    if (!storage) {
      auto opened = open_storage_();
      if (!opened.ok()) return opened.status();
      storage = std::move(*opened);
    }
    const auto start = Clock::now();
    // Verified into a name that reads as "in flight", its checksum recorded, then renamed:
    // get/<name> never exists without the sum it is checked against before it is served.
    const std::string fetched = spool_.get_dir + "/" + fs::TempName(name);
    archive::GetConfig get{name, fetched, ""};
    get.local_fs = &fs_;
    auto r = archive::Get(*storage, get);
    if (!r.ok()) return r.status();
    Status sum = fs::WriteFileAtomically(fs_, spool_.get_dir, name + kSumSuffix,
                                         r->sha256_hex + " " + std::to_string(r->size) + "\n");
    if (sum.ok()) {
      if (int e = fs_.Rename(AT_FDCWD, fetched, AT_FDCWD, spool_.get_dir + "/" + name))
        sum = Status::FromErrno(e, "rename '" + fetched + "'");
    }
    if (!sum.ok()) {
      (void)fs_.Unlink(AT_FDCWD, fetched, false);
      return sum;
    }
    log::Info("prefetched " + name + " (" + std::to_string(r->stored_size) + " -> " +
              std::to_string(r->size) + " bytes, " +
              std::to_string(static_cast<long>(SecondsSince(start) * 1000)) + " ms)");
    return Status::Ok();
  }

  void Done(const std::string& name, const Status& s) {
    if (s.ok()) {
      ++fetched_;
      // fetched for a window that has moved on: discard at once
      if (std::find(window_.begin(), window_.end(), name) == window_.end()) Discard();
      return;
    }
    if (s.IsNotFound()) {
      if (end_.empty() || name < end_) {
        end_ = name;
        end_at_ = Clock::now();
        log::Info("the repository has no " + name + " (yet): not prefetching from there for " +
                  std::to_string(static_cast<int>(options_.end_retry_seconds)) + " s");
      }
      return;
    }
    log::Error("prefetch of " + name + " failed: " + s.ToString() + "; retrying in 1 s");
    backoff_until_ = Clock::now() + std::chrono::seconds(1);
  }

  const SpoolDir& spool_;
  const PrefetchOptions& options_;
  const StorageFactory& open_storage_;
  fs::LocalFs& fs_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;
  Want want_;
  std::vector<std::string> window_;
  std::set<std::string> inflight_;
  std::string end_;  // the first segment found missing ("" when none)
  Clock::time_point end_at_;
  Clock::time_point backoff_until_;
  Clock::time_point last_request_;
  int fetched_ = 0;
};

}  // namespace

Result<std::vector<std::string>> PrefetchWindow(std::string_view segment, uint32_t segment_size,
                                                int count) {
  std::vector<std::string> out;
  std::string at(segment);
  for (int i = 0; i < count; ++i) {
    auto next = pg::NextSegment(at, segment_size);
    if (!next.ok()) {
      if (i > 0) break;  // the end of the WAL address space
      return next.status();
    }
    at = *next;
    out.push_back(at);
  }
  return out;
}

Result<uint32_t> SegmentSizeOfFile(const std::string& path, const std::string& segment) {
  auto wal = ParseWalFileName(segment);
  if (!wal.ok()) return wal.status();
  char buf[64];
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "open '" + path + "'");
  in.read(buf, sizeof buf);
  auto page = pg::ReadCheckedWalPageHeader(std::string_view(buf, static_cast<size_t>(in.gcount())),
                                           *wal, 0, path);
  if (!page.ok()) return page.status();
  return page->segment_size;
}

// A hint, not a record: written atomically (temp file, rename) but not fsynced. After a
// crash no worker runs, and the next archive-get writes it again.
Status WriteWant(const SpoolDir& spool, const Want& want, fs::LocalFs& lfs) {
  const std::string text = want.segment + " " + std::to_string(want.segment_size) + "\n";
  const std::string tmp = spool.get_dir + "/" + fs::TempName(kWantFile);
  const std::string dest = spool.get_dir + "/" + kWantFile;
  int fd = -1;
  if (int e = lfs.Create(AT_FDCWD, tmp, 0640, &fd))
    return Status::FromErrno(e, "create '" + tmp + "'");
  Status s;
  if (int e = lfs.Write(fd, text.data(), text.size()))
    s = Status::FromErrno(e, "write '" + tmp + "'");
  if (int e = lfs.Close(fd); e != 0 && s.ok()) s = Status::FromErrno(e, "close '" + tmp + "'");
  if (s.ok())
    if (int e = lfs.Rename(AT_FDCWD, tmp, AT_FDCWD, dest))
      s = Status::FromErrno(e, "rename '" + tmp + "'");
  if (!s.ok()) (void)lfs.Unlink(AT_FDCWD, tmp, false);
  return s;
}

std::optional<Want> ReadWant(const SpoolDir& spool) {
  std::ifstream in(spool.get_dir + "/" + kWantFile);
  Want w;
  if (!(in >> w.segment >> w.segment_size)) return std::nullopt;
  return w;
}

namespace {

enum class InSpool { kReady, kInFlight, kAbsent };

// get/<segment> is there, being written (its temp file), or neither.
InSpool Look(const SpoolDir& spool, const std::string& segment) {
  if (FileExists(spool.get_dir + "/" + segment)) return InSpool::kReady;
  const std::string temp = segment + ".wf-tmp.";
  for (const std::string& name : ListDir(spool.get_dir)) {
    if (name.compare(0, temp.size(), temp) == 0) return InSpool::kInFlight;
  }
  return FileExists(spool.get_dir + "/" + segment) ? InSpool::kReady : InSpool::kAbsent;
}

bool WorkerRuns(const SpoolDir& spool) {
  auto probe = FileLock::TryAcquire(spool.get_dir + "/" + kLockFile);
  return probe.ok() && !probe->held();  // taken: no worker (released again at once)
}

Status SpawnWorker(const SpoolDir& spool, const std::vector<std::string>& worker_argv,
                   const std::vector<std::string>& worker_env) {
  const std::string log_path = spool.get_dir + "/" + kLogFile;
  struct stat st;
  if (::stat(log_path.c_str(), &st) == 0 && st.st_size > kMaxLogBytes) {
    ::rename(log_path.c_str(), (log_path + ".1").c_str());
  }
  return SpawnDetached(worker_argv, log_path, worker_env);
}

}  // namespace

Result<bool> ServeFromSpool(const SpoolDir& spool, const std::string& segment,
                            const std::string& dest, double wait_seconds, fs::LocalFs& lfs) {
  InSpool state = Look(spool, segment);
  if (state == InSpool::kAbsent) return false;
  // Only a running worker's files: a killed worker's leftovers wait for the next one to remove
  // them.
  if (!WorkerRuns(spool)) return false;
  // Tell the worker first, so that it does not fetch this segment again once it is gone.
  if (std::optional<Want> last = ReadWant(spool); last && last->segment != segment) {
    Status s = WriteWant(spool, Want{segment, last->segment_size}, lfs);
    if (!s.ok()) log::Warn("prefetch request not recorded: " + s.ToString());
  }
  // Being downloaded: waiting for it beats downloading it a second time.
  const auto deadline = Clock::now() + std::chrono::duration<double>(wait_seconds);
  while (state == InSpool::kInFlight && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    state = Look(spool, segment);
    if (state == InSpool::kInFlight && !WorkerRuns(spool)) return false;
  }
  if (state != InSpool::kReady) return false;
  const std::string src = spool.get_dir + "/" + segment;
  const std::string sum_path = src + kSumSuffix;
  // Checked again right before it goes into place: local damage since the download
  // (disk, another process, a power cut) never reaches PostgreSQL.
  auto discard = [&](const std::string& why) -> Result<bool> {
    (void)lfs.Unlink(AT_FDCWD, src, false);
    (void)lfs.Unlink(AT_FDCWD, sum_path, false);
    return Status::Corruption("prefetched '" + src + "' discarded: " + why);
  };
  std::optional<Sum> sum = ReadSum(spool, segment);
  if (!sum) return discard("its checksum record '" + sum_path + "' is missing or damaged");
  auto now = HashFile(src);
  if (!now.ok()) {
    if (!FileExists(src)) return false;  // discarded meanwhile
    return now.status();
  }
  if (now->size != sum->size || now->sha256_hex != sum->sha256_hex) {
    return discard("it has " + std::to_string(now->size) + " bytes, sha256 " +
                   now->sha256_hex.substr(0, 12) + "..., but was downloaded and verified with " +
                   std::to_string(sum->size) + " bytes, sha256 " + sum->sha256_hex.substr(0, 12) +
                   "...");
  }
  if (int err = lfs.Rename(AT_FDCWD, src, AT_FDCWD, dest)) {
    if (err == ENOENT && !FileExists(src)) return false;  // discarded meanwhile
    if (err != EXDEV) return Status::FromErrno(err, "rename '" + src + "' to '" + dest + "'");
    Status copied = CopyAtomically(lfs, src, dest, *sum);
    if (copied.code() == Status::Code::kCorruption) return discard(copied.message());
    WF_RETURN_IF_ERROR(copied);
    (void)lfs.Unlink(AT_FDCWD, src, false);
    (void)lfs.Unlink(AT_FDCWD, sum_path, false);
    return true;
  }
  (void)lfs.Unlink(AT_FDCWD, sum_path, false);
  WF_RETURN_IF_ERROR(fs::SyncDir(lfs, fs::DirName(dest)));
  return true;
}

Status RequestPrefetch(const SpoolDir& spool, const std::string& segment, const std::string& dest,
                       const std::vector<std::string>& worker_argv,
                       const std::vector<std::string>& worker_env, fs::LocalFs& lfs) {
  std::optional<Want> last = ReadWant(spool);
  uint32_t size = 0;
  if (!dest.empty()) {
    auto from_file = SegmentSizeOfFile(dest, segment);
    if (!from_file.ok()) return from_file.status();
    size = *from_file;
  } else if (last) {
    size = last->segment_size;  // one cluster per repository: one segment size
  } else {
    return Status::Ok();  // the first request ever: after the fetch, with the size
  }
  if (!last || last->segment != segment || last->segment_size != size) {
    WF_RETURN_IF_ERROR(WriteWant(spool, Want{segment, size}, lfs));
  }
  if (WorkerRuns(spool)) return Status::Ok();  // it reads want
  return SpawnWorker(spool, worker_argv, worker_env);
}

Status RunPrefetchWorker(const SpoolDir& spool, const PrefetchOptions& options,
                         const StorageFactory& open_storage) {
  auto lock = FileLock::TryAcquire(spool.get_dir + "/" + kLockFile);
  if (!lock.ok()) return lock.status();
  if (!lock->held()) {
    log::Debug("another prefetch worker runs in " + spool.get_dir);
    return Status::Ok();
  }
  int stale = ClearSegments(*options.local_fs, spool);
  log::Info(
      "prefetch worker started in " + spool.get_dir + " (" + std::to_string(options.window) +
      " segments ahead, " + std::to_string(options.parallel) + " at once" +
      (stale > 0 ? ", removed " + std::to_string(stale) + " files of a previous worker" : "") +
      ")");
  Prefetcher prefetcher(spool, options, open_storage);
  prefetcher.Run();
  int left = ClearSegments(*options.local_fs, spool);
  log::Info("no request for " + std::to_string(static_cast<int>(options.idle_seconds)) +
            " s: exiting after " + std::to_string(prefetcher.fetched()) + " prefetched segments, " +
            std::to_string(left) + " unused removed");
  return Status::Ok();
}

}  // namespace walferry::spool
