// worker.cc — the upload worker (see worker.h).
//
// Worker::Run is a loop of named steps: Housekeep (stale temps, pruning), Collect
// (finished uploads become ok/err records and state), Persist (state.json and the
// Prometheus file), Dispatch (scan staged/ and archive_status/, start uploads). Upload
// runs on its own thread per segment; only the repository identity is shared with it.
#include "spool/worker.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <future>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "common/fs.h"
#include "common/log.h"
#include "repo/identity.h"
#include "spool/push_status.h"
#include "spool/records.h"
#include "spool/staged.h"
#include "walferry/exit_codes.h"

namespace walferry::spool {
namespace {

constexpr size_t kRecentEvents = 256;  // uploads kept in state.json for the rate

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

void RemoveTempsEverywhere(fs::LocalFs& lfs, const PushDirs& d) {
  for (const std::string* dir : {&d.push, &d.ok, &d.err, &d.staged, &d.spool.tmp_dir})
    fs::SweepStaleTemps(lfs, *dir);
}

// ok/ and err/ files of segments PostgreSQL has marked .done, or that are gone.
void Prune(fs::LocalFs& lfs, const PushDirs& d, const std::string& data_dir) {
  const std::string status_dir = data_dir + "/pg_wal/archive_status/";
  for (const std::string* dir : {&d.ok, &d.err}) {
    for (const std::string& name : ListWithSuffix(*dir, "")) {
      bool done = Exists(status_dir + name + ".done");
      bool gone = !Exists(status_dir + name + ".ready") && !Exists(data_dir + "/pg_wal/" + name);
      bool confirmed = dir == &d.err && Exists(d.ok + "/" + name);
      if ((done || gone) && dir == &d.ok) {
        // Another data directory's confirmation (two clusters, one spool): its own worker prunes
        // it.
        std::string text;
        std::optional<OkRecord> r;
        if (ReadSmallFile(*dir + "/" + name, &text)) {
          auto decoded = DecodeOk(text, *dir + "/" + name);
          if (decoded.ok()) r = *decoded;
        }
        if (r && !r->data_dir.empty() && r->data_dir != data_dir && Exists(r->data_dir + "/pg_wal"))
          continue;
      }
      if (done || gone || confirmed) (void)lfs.Unlink(AT_FDCWD, *dir + "/" + name, false);
    }
  }
}

class Worker {
 public:
  Worker(Storage& storage, const PushDirs& dirs, const WorkerOptions& opt)
      : storage_(storage),
        dirs_(dirs),
        opt_(opt),
        fs_(*opt.local_fs),
        now_(opt.now_ms ? opt.now_ms : std::function<int64_t()>(NowMs)),
        parallel_(std::max(1, opt.parallel)) {}

  Result<WorkerReport> Run();

 private:
  // What one upload came to.
  struct Outcome {
    std::string name;
    bool staged = false;
    Status status;
    OkRecord ok;
  };
  struct Running {
    std::string name;
    std::future<Outcome> future;
  };
  // A confirmation by this worker, or seen on disk: the WAL file's stat and its ok file's.
  struct Known {
    archive::SourceStat wal, ok;
  };

  bool Stopping() const { return opt_.stop != nullptr && *opt_.stop; }
  void WaitForAll() {
    for (auto& r : running_) r.future.wait();
  }
  Result<archive::BuiltObject> Build(const std::string& name, bool staged);
  Result<repo::ClusterIdentity> Identity();
  Outcome Upload(const std::string& name, bool staged);
  void Housekeep();
  void Collect();
  void Succeeded(const Outcome& o);
  void Failed(const Outcome& o);
  void Persist(bool force, bool idle);
  bool Dispatch();
  bool StillConfirmed(const std::string& name);
  void LogExit();

  Storage& storage_;
  const PushDirs& dirs_;
  const WorkerOptions& opt_;
  fs::LocalFs& fs_;
  const std::function<int64_t()> now_;
  const int parallel_;
  WorkerReport report_;
  WorkerState state_;

  // Shared with the upload threads.
  std::mutex identity_mu_;
  std::optional<repo::ClusterIdentity> identity_;  // the repository's, fetched once

  // The loop's own (this thread only).
  std::vector<Running> running_;
  std::map<std::string, std::pair<int, int64_t>> backoff_;  // name -> (failures, next try ms)
  // The ok file is stat'ed again at every scan: a lost or replaced record is noticed at
  // once (the segment is uploaded again, a write-once put that finds it), never cached.
  std::map<std::string, Known> confirmed_;
  int64_t idle_since_ = 0, last_prune_ = 0, last_temps_ = 0, last_save_ = 0, last_scan_ = 0;
  bool dirty_ = false, error_dirty_ = false, slot_freed_ = false;
};

// The object to upload: built from pg_wal, or the staged copy, checked whole.
Result<archive::BuiltObject> Worker::Build(const std::string& name, bool staged) {
  const std::string wal_path = opt_.data_dir + "/pg_wal/" + name;
  auto build = [&] {
    return archive::BuildObject(
        archive::PushConfig{wal_path, opt_.data_dir, opt_.codec, opt_.level});
  };
  Result<archive::BuiltObject> built =
      staged ? LoadStaged(dirs_.staged + "/" + name, name) : build();
  if (staged && built.status().code() == Status::Code::kCorruption) {
    // A damaged staged copy is never uploaded. The very file it was made of, when
    // pg_wal still holds it unchanged, is the good copy.
    auto source = StagedSource(dirs_.staged + "/" + name, name);
    archive::SourceStat now_stat;
    if (source && StatOf(wal_path, &now_stat) && SameSource(*source, now_stat)) {
      log::Warn(built.status().message() + "; uploading '" + wal_path +
                "', which it was made of, instead");
      built = build();
    }
  }
  return built;
}

// The repository's identity, read once and again after it was unreachable.
Result<repo::ClusterIdentity> Worker::Identity() {
  std::lock_guard<std::mutex> g(identity_mu_);
  if (!identity_) {
    auto id = repo::RequireIdentity(storage_);
    if (!id.ok()) return id.status();
    identity_ = *id;
  }
  return *identity_;
}

// One segment (on its own thread): build, store, record the confirmation, then remove
// the staged copy and the err record. A crash between any two steps leaves no ok file
// for content the repository does not hold.
Worker::Outcome Worker::Upload(const std::string& name, bool staged) {
  Outcome out{name, staged, Status::Ok(), {}};
  Result<archive::BuiltObject> built = Build(name, staged);
  if (!built.ok()) {
    out.status = built.status();
    return out;
  }
  auto repo = Identity();
  if (!repo.ok()) {
    out.status = repo.status();
    return out;
  }
  auto stored = archive::StoreObject(storage_, *built, *repo);
  if (!stored.ok()) {
    out.status = stored.status();
    return out;
  }
  out.ok = OkRecord{name,
                    stored->key,
                    stored->sha256_hex,
                    opt_.repo_url,
                    stored->original_size,
                    stored->stored_size,
                    now_(),
                    staged,
                    built->source,
                    staged ? "" : opt_.data_dir};
  Status w = fs::WriteFileAtomically(fs_, dirs_.ok, name, EncodeOk(out.ok));
  if (!w.ok()) {
    out.status = w.Annotate("record the confirmation of '" + name + "' in the spool '" +
                            dirs_.spool.root + "'");
    return out;
  }
  if (staged) {
    if (int e = fs_.Unlink(AT_FDCWD, dirs_.staged + "/" + name, false); e != 0 && e != ENOENT) {
      log::Warn("cannot remove the uploaded staged copy '" + dirs_.staged + "/" + name +
                "': " + std::strerror(e));
    }
    (void)fs::SyncDir(fs_, dirs_.staged);
  }
  (void)fs_.Unlink(AT_FDCWD, dirs_.err + "/" + name, false);
  return out;
}

// Stale temps every 10 s; pruning (and forgetting confirmations of files no longer
// .ready) every 2 s.
void Worker::Housekeep() {
  const int64_t t = now_();
  if (t - last_temps_ > 10000) {
    RemoveTempsEverywhere(fs_, dirs_);
    last_temps_ = t;
  }
  if (t - last_prune_ > 2000) {
    Prune(fs_, dirs_, opt_.data_dir);
    for (auto it = confirmed_.begin(); it != confirmed_.end();) {  // bounded by the .ready files
      it = Exists(opt_.data_dir + "/pg_wal/archive_status/" + it->first + ".ready")
               ? std::next(it)
               : confirmed_.erase(it);
    }
    last_prune_ = t;
  }
}

// Finished uploads become records.
void Worker::Collect() {
  for (size_t i = 0; i < running_.size();) {
    if (running_[i].future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
      ++i;
      continue;
    }
    Outcome o = running_[i].future.get();
    running_.erase(running_.begin() + static_cast<long>(i));
    slot_freed_ = true;
    if (o.status.ok()) {
      Succeeded(o);
    } else {
      Failed(o);
    }
  }
}

void Worker::Succeeded(const Outcome& o) {
  Known k{o.ok.source, {}};
  if (StatOf(dirs_.ok + "/" + o.name, &k.ok)) confirmed_[o.name] = k;
  ++report_.uploaded;
  backoff_.erase(o.name);
  state_.last_success = o.ok;
  state_.recent.emplace_back(o.ok.time_ms, o.ok.size);
  ++state_.uploaded_segments;
  state_.uploaded_bytes += static_cast<int64_t>(o.ok.size);
  dirty_ = true;
  log::Debug("archived '" + o.name + "' as '" + o.ok.key + "'" +
             (o.staged ? " (from its staged copy)" : ""));
}

// err/<name>, the state's last error, and a backoff: 0.5 s doubling to 5 s.
void Worker::Failed(const Outcome& o) {
  ++report_.failed;
  auto& b = backoff_[o.name];
  b.first++;
  int64_t delay = std::min<int64_t>(5000, 250LL << std::min(b.first, 5));
  b.second = now_() + delay;
  ErrRecord e{o.name,
              o.status.message(),
              o.status.hint(),
              o.status.code(),
              static_cast<int>(ExitCodeFor(o.status)),
              now_()};
  state_.last_error = e;
  error_dirty_ = true;
  if (o.status.code() == Status::Code::kUnavailable) {
    std::lock_guard<std::mutex> g(identity_mu_);
    identity_.reset();  // fetched again once the repository answers
  }
  Status w = fs::WriteFileAtomically(fs_, dirs_.err, o.name, EncodeErr(e));
  log::Error("cannot archive '" + o.name + "' (attempt " + std::to_string(b.first) + ", next in " +
             std::to_string(delay) + " ms): " + o.status.ToString() +
             (w.ok() ? "" : " [and cannot record the error: " + w.message() + "]"));
}

// state.json (and the Prometheus file): at once for errors and when idle,
// at most every 250 ms while uploads run.
void Worker::Persist(bool force, bool idle) {
  int64_t t = now_();
  if (!force && !error_dirty_ && (!dirty_ || (!idle && t - last_save_ < 250))) return;
  while (!state_.recent.empty() && state_.recent.size() > kRecentEvents) state_.recent.pop_front();
  Status s = SaveState(dirs_, state_, fs_);
  if (!s.ok()) log::Warn("cannot update '" + dirs_.state + "': " + s.message());
  if (!opt_.prometheus_file.empty()) {
    SpoolStatus st = ComputeStatus(dirs_, opt_.repo_url, opt_.data_dir, t);
    Status p = WritePrometheusFile(opt_.prometheus_file, st, fs_);
    if (!p.ok())
      log::Warn("cannot write the Prometheus file '" + opt_.prometheus_file + "': " + p.message());
  }
  last_save_ = t;
  dirty_ = error_dirty_ = false;
}

// True when `name` (.ready) is confirmed: known to this worker with the same WAL file
// and ok file as now, or confirmed by its ok file on disk.
bool Worker::StillConfirmed(const std::string& name) {
  const std::string wal = opt_.data_dir + "/pg_wal/" + name;
  archive::SourceStat now_stat, now_ok;
  auto known = confirmed_.find(name);
  if (known != confirmed_.end() && StatOf(wal, &now_stat) &&
      SameSource(known->second.wal, now_stat) && StatOf(dirs_.ok + "/" + name, &now_ok) &&
      SameSource(known->second.ok, now_ok)) {
    return true;
  }
  if (known != confirmed_.end()) confirmed_.erase(known);
  if (IsConfirmed(dirs_, opt_.repo_url, name, wal)) {
    Known k;
    if (StatOf(wal, &k.wal) && StatOf(dirs_.ok + "/" + name, &k.ok)) confirmed_[name] = k;
    return true;
  }
  return false;
}

// New work, in archive order: staged copies first. True when something is pending.
// Scans again when a slot came free, when idle, or every 100 ms: a scan reads two
// directories, and confirmations this worker made are known without reading them.
bool Worker::Dispatch() {
  bool pending = !running_.empty();
  const bool scan = running_.empty() || slot_freed_ || now_() - last_scan_ >= 100;
  if (!scan || static_cast<int>(running_.size()) >= parallel_) return pending;
  slot_freed_ = false;
  last_scan_ = now_();
  std::vector<std::pair<std::string, bool>> todo;
  for (const std::string& n : ListWithSuffix(dirs_.staged, "")) todo.emplace_back(n, true);
  const std::string status_dir = opt_.data_dir + "/pg_wal/archive_status";
  for (const std::string& n : ListWithSuffix(status_dir, ".ready")) todo.emplace_back(n, false);
  std::set<std::string> busy;
  for (const auto& r : running_) busy.insert(r.name);
  for (const auto& [name, staged] : todo) {
    if (static_cast<int>(running_.size()) >= parallel_) return true;
    if (busy.count(name)) continue;
    if (!staged && (Exists(dirs_.staged + "/" + name) || StillConfirmed(name))) continue;
    pending = true;
    auto b = backoff_.find(name);
    if (b != backoff_.end() && b->second.second > now_()) continue;
    busy.insert(name);
    running_.push_back({name, std::async(std::launch::async, &Worker::Upload, this, name, staged)});
  }
  return pending;
}

void Worker::LogExit() {
  log::Info(std::string("spool worker exits: ") +
            (Stopping() ? "asked to stop"
                        : "nothing to do for " +
                              std::to_string(std::lround(opt_.idle_exit_seconds * 1000)) + " ms") +
            " (" + std::to_string(report_.uploaded) + " uploaded, " +
            std::to_string(report_.failed) + " failures)");
}

Result<WorkerReport> Worker::Run() {
  auto lock = FileLock::TryAcquire(dirs_.lock);
  if (!lock.ok()) return lock.status();
  if (!lock->held()) return report_;
  report_.ran = true;
  // The pid, then the data directory this worker serves (archive-push of another
  // data directory does not wait for it: see foreground.cc).
  WF_RETURN_IF_ERROR(fs::WriteFileAtomically(
      fs_, dirs_.push, "worker.pid", std::to_string(::getpid()) + "\n" + opt_.data_dir + "\n"));
  RemoveTempsEverywhere(fs_, dirs_);
  state_ = LoadState(dirs_.state);
  idle_since_ = now_();
  last_temps_ = now_();
  log::Info("spool worker started for " + storage_.Describe() + " (data directory '" +
            opt_.data_dir + "', spool '" + dirs_.spool.repo_dir + "', " +
            std::to_string(parallel_) + " uploads at once)");
  for (;;) {
    Housekeep();
    Collect();
    Persist(false, running_.empty());
    if (Stopping() && running_.empty()) break;
    const bool pending = Dispatch();
    if (Stopping()) {
      WaitForAll();
      continue;  // collects them, then leaves above once nothing runs
    }
    if (pending) {
      idle_since_ = now_();
    } else if (now_() - idle_since_ > static_cast<int64_t>(opt_.idle_exit_seconds * 1000)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        running_.empty() ? static_cast<int64_t>(opt_.poll_seconds * 1000) : 2));
  }
  Persist(true, true);
  LogExit();
  return report_;
}

std::atomic<bool> g_stop{false};
extern "C" void OnStopSignal(int) { g_stop = true; }

}  // namespace

Result<WorkerReport> RunWorker(Storage& storage, const PushDirs& dirs,
                               const WorkerOptions& options) {
  Worker worker(storage, dirs, options);
  return worker.Run();
}

Status ServeSpool(const StorageConfig& storage_config, const std::string& spool_path,
                  WorkerOptions options) {
  auto sp = OpenSpool(spool_path, options.repo_url, options.data_dir, *options.local_fs);
  if (!sp.ok()) return sp.status();
  auto dirs = OpenPushDirs(*sp, *options.local_fs);
  if (!dirs.ok()) return dirs.status();
  auto storage = OpenStorage(storage_config);
  if (!storage.ok()) return storage.status();
  options.stop = &g_stop;
  struct sigaction sa {};
  sa.sa_handler = OnStopSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);
  auto r = RunWorker(**storage, *dirs, options);
  if (!r.ok()) return r.status();
  if (!r->ran)
    log::Debug("another spool worker runs already ('" + dirs->lock + "'); nothing to do");
  return Status::Ok();
}

WorkerInfo ProbeWorker(const PushDirs& dirs) {
  WorkerInfo w;
  if (!Exists(dirs.lock)) return w;
  auto lock = FileLock::TryAcquire(dirs.lock);
  if (!lock.ok()) return w;
  w.running = !lock->held();
  lock->Release();
  std::string text;
  if (w.running && ReadSmallFile(dirs.pid, &text)) {
    w.pid = std::strtol(text.c_str(), nullptr, 10);
    size_t nl = text.find('\n');
    if (nl != std::string::npos) {
      std::string dir = text.substr(nl + 1);
      while (!dir.empty() && dir.back() == '\n') dir.pop_back();
      w.data_dir = dir;
    }
  }
  return w;
}

}  // namespace walferry::spool
