// push.cc — `walferry backup-push`: a full base backup through the
// non-exclusive backup API, on one libpq session held open throughout.
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "backup/backup.h"
#include "backup/pg.h"
#include "backup/walker.h"
#include "common/crypto.h"
#include "common/log.h"
#include "common/parallel.h"
#include "pg/lsn.h"
#include "pg/page_checksum.h"
#include "pg/tablespace.h"
#include "pg/wal_segment.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "walferry/wal_name.h"

namespace walferry::backup {
namespace {

constexpr size_t kChunk = 1u << 20;  // a multiple of the page size

// Warnings gathered from the worker threads.
class Warnings {
 public:
  void Add(const std::string& w) {
    log::Warn(w);
    std::lock_guard<std::mutex> lock(mu_);
    list_.push_back(w);
  }
  std::vector<std::string> Take() {
    std::lock_guard<std::mutex> lock(mu_);
    return std::move(list_);
  }

 private:
  std::mutex mu_;
  std::vector<std::string> list_;
};

struct ReadContext {
  bool checksums = false;
  uint64_t start_lsn = 0;
  Progress* progress = nullptr;
  Warnings* warnings = nullptr;
  std::atomic<uint64_t>* corrupt_pages = nullptr;
};

// Reads one file of the walk up to its size at walk time (what was appended
// since is in the WAL), checking its pages. Its SHA-256 is the object
// writer's (repo/object.h), which every byte read goes to.
class FileReader {
 public:
  FileReader(const WalkEntry& e, const ReadContext& ctx) : e_(e), ctx_(ctx) {
    if (ctx.checksums) first_block_ = pg::RelationFirstBlock(e.path);
  }
  ~FileReader() {
    if (fd_ >= 0) ::close(fd_);
  }
  // False when the file vanished (PostgreSQL dropped it: nothing to back up).
  Result<bool> Open() {
    fd_ = ::open(e_.abs_path.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd_ < 0) {
      if (errno == ENOENT) return false;
      return Status::FromErrno(errno, "open '" + e_.abs_path + "'");
    }
    return true;
  }
  // Up to n bytes (n a multiple of the page size); 0 at the end.
  Result<size_t> Read(char* buf, size_t n) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(n, e_.size - offset_));
    size_t got = 0;
    while (got < want) {
      ssize_t r = ::pread(fd_, buf + got, want - got, static_cast<off_t>(offset_ + got));
      if (r < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "read '" + e_.abs_path + "'");
      }
      if (r == 0) break;  // the file shrank: stored as read, WAL replay fixes it
      got += static_cast<size_t>(r);
    }
    if (first_block_) CheckPages(buf, got);
    offset_ += got;
    if (ctx_.progress) ctx_.progress->done += got;
    if (got < want) e_.size = offset_;  // no more reads
    return got;
  }
  uint64_t size() const { return offset_; }

 private:
  void CheckPages(const char* buf, size_t n) {
    for (size_t at = 0; at + pg::kBlockSize <= n; at += pg::kBlockSize) {
      uint64_t file_block = (offset_ + at) / pg::kBlockSize;
      uint32_t block = *first_block_ + static_cast<uint32_t>(file_block);
      pg::PageCheck c = pg::CheckPage(buf + at, block, ctx_.start_lsn);
      if (c.verdict != pg::PageVerdict::kBad) continue;
      // A page being written while we read it looks torn: read it once more.
      char again[pg::kBlockSize];
      if (::pread(fd_, again, pg::kBlockSize, static_cast<off_t>(offset_ + at)) ==
          static_cast<ssize_t>(pg::kBlockSize)) {
        c = pg::CheckPage(again, block, ctx_.start_lsn);
        if (c.verdict != pg::PageVerdict::kBad) continue;
      }
      char msg[128];
      std::snprintf(msg, sizeof msg, "' block %llu: checksum 0x%04X, expected 0x%04X",
                    static_cast<unsigned long long>(file_block), c.stored, c.computed);
      ctx_.warnings->Add("page checksum mismatch in '" + Printable(e_.path) + msg +
                         " (the page is backed up as it is)");
      ++*ctx_.corrupt_pages;
    }
  }

  WalkEntry e_;
  const ReadContext& ctx_;
  std::optional<uint32_t> first_block_;
  int fd_ = -1;
  uint64_t offset_ = 0;
};

// What became of one file of the walk.
struct FileOutcome {
  bool vanished = false;
  uint64_t size = 0;
  std::string sha256;
  uint64_t offset = 0;
};

// A large file as the original of its object (repo::ObjectSource): read
// while the upload runs; a retried upload reopens it and reads it again.
class WalkFileSource final : public ByteSource {
 public:
  WalkFileSource(const WalkEntry& e, const ReadContext& ctx) : e_(e), ctx_(ctx) {}

  // False when the file vanished.
  Result<bool> Open() {
    reader_ = std::make_unique<FileReader>(e_, ctx_);
    return reader_->Open();
  }
  Result<size_t> Read(char* buf, size_t n) override { return reader_->Read(buf, n); }
  Status Rewind() override {
    auto opened = Open();
    if (!opened.ok()) return opened.status();
    if (!*opened) return Status::NotFound("'" + e_.abs_path + "' vanished during its upload");
    return Status::Ok();
  }
  std::optional<uint64_t> Size() const override { return std::nullopt; }

 private:
  WalkEntry e_;
  const ReadContext& ctx_;
  std::unique_ptr<FileReader> reader_;
};

struct Job {
  std::vector<size_t> entries;  // indexes into the walk
  bool large = false;
};

struct JobResult {
  bool stored = false;
  StoredObject object;
};

std::string Compact(int64_t unix_seconds) {  // 20260120T140312Z
  std::string t = FormatUtc(unix_seconds);
  std::string out;
  for (char c : t) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

// "START WAL LOCATION: 0/2000028 (file 000000010000000000000002)" -> the value after "KEY: ".
std::string LabelField(const std::string& label, const std::string& key) {
  size_t at = label.find(key + ": ");
  if (at == std::string::npos) return "";
  size_t start = at + key.size() + 2;
  size_t end = label.find('\n', start);
  return label.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

class Pusher {
 public:
  Pusher(Storage& storage, const PushConfig& cfg) : storage_(storage), cfg_(cfg) {}

  // Nothing escapes as an exception: a bug or an allocation failure ends the
  // backup like any other failure (objects removed, no manifest).
  Result<PushResult> Run() {
    try {
      return RunSteps();
    } catch (const std::exception& e) {
      return Abandon(Status::Internal(std::string("unexpected failure: ") + e.what()));
    }
  }

 private:
  Result<PushResult> RunSteps() {
    const auto t0 = std::chrono::steady_clock::now();
    auto identity = repo::RequireIdentity(storage_);
    if (!identity.ok()) return identity.status();
    auto session = PgSession::Connect(cfg_.conninfo);
    if (!session.ok()) return session.status();
    pg_ = std::move(*session);
    WF_RETURN_IF_ERROR(Inspect(*identity));

    int64_t start_unix = std::chrono::duration_cast<std::chrono::seconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    // The name is claimed with an only-if-absent marker object, so that two
    // backups started in the same second never write the same data keys.
    m_.name = Compact(start_unix);
    for (int i = 1;; ++i) {
      PutOptions once;
      once.if_absent = true;
      auto claimed = PutString(storage_, repo::StartedKey(m_.name),
                               "{\"start_time\":\"" + FormatUtc(start_unix) + "\"}\n", once);
      if (claimed.ok()) break;
      if (!claimed.status().IsAlreadyExists()) return claimed.status();
      if (i > 50) {
        return Status::AlreadyExists("backups named '" + Compact(start_unix) +
                                     "-N' exist up to 50");
      }
      m_.name = Compact(start_unix) + "-" + std::to_string(i);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      written_.push_back(repo::StartedKey(m_.name));
    }
    m_.start_time = FormatUtc(start_unix);
    log::Info("starting backup '" + m_.name + "' of " + pg_->Describe() + " (data directory '" +
              data_dir_ + "'" + (m_.from_standby ? ", a standby" : "") + ") to " +
              storage_.Describe());

    auto start = pg_->Value("pg_backup_start", "SELECT pg_backup_start($1, $2)::text",
                            {"walferry " + m_.name, cfg_.fast_checkpoint ? "true" : "false"});
    if (!start.ok()) return start.status();
    auto start_lsn = pg::ParseLsn(*start);
    if (!start_lsn.ok()) return Status::Internal("pg_backup_start returned '" + *start + "'");
    ctx_.start_lsn = *start_lsn;
    m_.start_lsn = *start;

    Status copied = CopyFiles();
    if (!copied.ok()) return Abandon(copied);

    auto stop = pg_->Query(
        "pg_backup_stop",
        "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(wait_for_archive => false)");
    if (!stop.ok()) return Abandon(stop.status());
    if (stop->empty() || stop->front().size() != 3)
      return Abandon(Status::Internal("pg_backup_stop returned no row"));
    m_.stop_lsn = (*stop)[0][0];
    m_.backup_label = (*stop)[0][1];
    m_.tablespace_map = (*stop)[0][2];
    int64_t stop_unix = std::chrono::duration_cast<std::chrono::seconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count() +
                        1;
    m_.stop_time = FormatUtc(stop_unix);
    Status described = DescribeWal();
    if (!described.ok()) return Abandon(described);
    Status archived = WaitForStopSegment();
    if (!archived.ok()) return Abandon(archived);

    BuildManifest();
    m_.duration_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    // The manifest is stored only if this walferry reads it back exactly:
    // exit 0 must mean the backup can be listed and restored.
    const std::string text = EncodeManifest(m_);
    if (text.size() > kMaxManifestBytes) {
      return Abandon(Status::NotSupported(
          "the manifest of backup '" + m_.name + "' would have " + std::to_string(text.size()) +
          " bytes (" + std::to_string(m_.files.size()) + " files), more than the " +
          std::to_string(kMaxManifestBytes >> 20) + " MiB limit of a manifest"));
    }
    auto back = DecodeManifest(text, repo::ManifestKey(m_.name));
    if (!back.ok()) {
      return Abandon(Status::Internal("the manifest of backup '" + m_.name +
                                      "' does not pass its own check: " + back.status().message())
                         .WithHint("this is a bug in walferry: please report it"));
    }
    if (EncodeManifest(*back) != text) {
      return Abandon(
          Status::Internal("the manifest of backup '" + m_.name + "' does not read back as written")
              .WithHint("this is a bug in walferry: please report it"));
    }
    PutOptions once;
    once.if_absent = true;
    auto put = repo::PutObject(storage_, repo::ManifestKey(m_.name), repo::WriteSpec::Manifest(),
                               text, once);
    if (!put.ok()) {
      Status stored = ManifestAfterFailedPut(text, put.status());
      if (!stored.ok()) return stored;
    }

    PushResult r;
    r.manifest = m_;
    r.warnings = warnings_.Take();
    r.corrupt_pages = corrupt_pages_;
    for (const auto& f : m_.files) r.files += f.type == FileType::kFile;
    return r;
  }

  // What the server says about itself, checked against the repository.
  Status Inspect(const repo::ClusterIdentity& repo) {
    if (pg_->ServerVersion() < 150000) {
      return Status::NotSupported(pg_->Describe() + " is PostgreSQL " +
                                  std::to_string(pg_->ServerVersion() / 10000) +
                                  "; backup-push needs 15 or later (pg_backup_start)");
    }
    auto rows =
        pg_->Query("inspect the cluster",
                   "SELECT pg_is_in_recovery()::text, current_setting('data_directory'), "
                   "(SELECT system_identifier::text FROM pg_control_system()), "
                   "(SELECT bytes_per_wal_segment::text FROM pg_control_init()), "
                   "current_setting('data_checksums'), current_setting('server_version_num')");
    if (!rows.ok()) return rows.status();
    const auto& row = rows->front();
    m_.from_standby = row[0] == "true";
    data_dir_ = cfg_.data_dir.empty() ? row[1] : cfg_.data_dir;
    m_.system_identifier = row[2];
    m_.wal_segment_size = static_cast<uint32_t>(std::stoul(row[3]));
    ctx_.checksums = row[4] == "on";
    m_.pg_version = std::to_string(std::stoi(row[5]) / 10000);
    if (std::to_string(repo.system_identifier) != m_.system_identifier) {
      return Status::WrongRepository("repository " + storage_.Describe() +
                                     " belongs to the cluster with system identifier " +
                                     std::to_string(repo.system_identifier) + ", not to " +
                                     pg_->Describe() + " (" + m_.system_identifier + ")")
          .WithHint("give each cluster its own repository or prefix");
    }
    auto local = repo::ReadDataDirIdentity(data_dir_);
    if (!local || std::to_string(local->system_identifier) != m_.system_identifier) {
      return Status::InvalidArgument(
                 "'" + data_dir_ + "' is not the data directory of " + pg_->Describe() +
                 (local ? " (another system identifier)" : " (no readable global/pg_control)"))
          .WithHint(
              "run backup-push on the database host, as a user who can read the data directory (or "
              "pass --pg-data)");
    }
    auto spaces = pg_->Query("list tablespaces",
                             "SELECT oid::text, spcname FROM pg_tablespace WHERE spcname NOT IN "
                             "('pg_default', 'pg_global')");
    if (!spaces.ok()) return spaces.status();
    for (const auto& s : *spaces) space_names_[s[0]] = s[1];
    m_.compression = cfg_.codec;
    m_.created_by = std::string("walferry ") + WALFERRY_VERSION;
    return Status::Ok();
  }

  Status CopyFiles() {
    auto walk = WalkDataDirectory(data_dir_);
    if (!walk.ok()) return walk.status();
    walk_ = std::move(walk->entries);
    for (const auto& w : walk->warnings) warnings_.Add(w);
    ctx_.progress = cfg_.progress;
    ctx_.warnings = &warnings_;
    ctx_.corrupt_pages = &corrupt_pages_;

    // Plan: large files alone, small ones bundled in path order.
    std::vector<Job> jobs;
    Job bundle;
    std::optional<size_t> control;
    uint64_t bundled = 0, total = 0;
    for (size_t i = 0; i < walk_.size(); ++i) {
      const WalkEntry& e = walk_[i];
      if (e.type != FileType::kFile || e.size == 0) continue;
      total += e.size;
      if (e.path == "global/pg_control") {
        control = i;
        continue;
      }
      if (e.size >= cfg_.large_file_bytes) {
        jobs.push_back(Job{{i}, true});
        continue;
      }
      bundle.entries.push_back(i);
      bundled += e.size;
      if (bundled >= cfg_.bundle_bytes) {
        jobs.push_back(std::move(bundle));
        bundle = Job{};
        bundled = 0;
      }
    }
    if (!bundle.entries.empty()) jobs.push_back(std::move(bundle));
    // Largest first: a big relation file started last would run alone at the end.
    auto job_bytes = [&](const Job& j) {
      uint64_t n = 0;
      for (size_t i : j.entries) n += walk_[i].size;
      return n;
    };
    std::stable_sort(jobs.begin(), jobs.end(),
                     [&](const Job& a, const Job& b) { return job_bytes(a) > job_bytes(b); });
    if (cfg_.progress) cfg_.progress->total = total;
    // pg_control is read last, after every other file: recovery of a backup
    // taken from a standby ends at its minRecoveryPoint (as pg_basebackup does).
    if (control) jobs.push_back(Job{{*control}, false});
    for (const auto& j : jobs) job_entries_.push_back(j.entries);
    outcomes_.assign(walk_.size(), FileOutcome{});
    results_.assign(jobs.size(), JobResult{});
    auto run = [&](size_t j) {
      const std::string key = repo::DataObjectKey(m_.name, static_cast<uint32_t>(j + 1));
      Status s = jobs[j].large ? PushLarge(jobs[j], key, &results_[j])
                               : PushBundle(jobs[j], key, &results_[j]);
      if (s.ok() && results_[j].stored) {
        std::lock_guard<std::mutex> lock(mu_);
        written_.push_back(key);
      }
      return s;
    };
    size_t parallel_jobs = jobs.size() - (control ? 1 : 0);
    WF_RETURN_IF_ERROR(ParallelFor(parallel_jobs, cfg_.parallel, run));
    if (control) return run(jobs.size() - 1);
    return Status::Ok();
  }

  Status PushBundle(const Job& job, const std::string& key, JobResult* out) {
    // The files laid end to end into one object, built in memory; each file
    // is a part of it (its offset, size and SHA-256).
    auto writer = repo::ObjectWriter::InMemory(repo::WriteSpec::Data(cfg_.codec, cfg_.level), 0);
    if (!writer.ok()) return writer.status();
    repo::ObjectWriter& object = **writer;
    std::string buf(kChunk, '\0');
    for (size_t i : job.entries) {
      FileReader reader(walk_[i], ctx_);
      auto opened = reader.Open();
      if (!opened.ok()) return opened.status();
      if (!*opened) {
        outcomes_[i].vanished = true;
        continue;
      }
      for (;;) {
        auto n = reader.Read(buf.data(), buf.size());
        if (!n.ok()) return n.status();
        if (*n == 0) break;
        WF_RETURN_IF_ERROR(object.Write(buf.data(), *n));
      }
      repo::Part part = object.EndPart();
      outcomes_[i] = FileOutcome{false, part.size, part.sha256_hex, part.offset};
    }
    WF_RETURN_IF_ERROR(object.Finish());
    const uint64_t raw = object.original_size();
    if (raw == 0) return Status::Ok();  // everything vanished or shrank to nothing
    auto put = PutString(storage_, key, object.object());
    if (!put.ok()) return put.status();
    *out = JobResult{true, StoredObject{key, put->size, put->sha256_hex, raw}};
    return Status::Ok();
  }

  Status PushLarge(const Job& job, const std::string& key, JobResult* out) {
    size_t i = job.entries.front();
    WalkFileSource file(walk_[i], ctx_);
    auto opened = file.Open();
    if (!opened.ok()) return opened.status();
    if (!*opened) {
      outcomes_[i].vanished = true;
      return Status::Ok();
    }
    // The file compressed while it is read and uploaded: never whole in memory.
    auto source = repo::ObjectSource::New(repo::WriteSpec::Data(cfg_.codec, cfg_.level), file);
    if (!source.ok()) return source.status();
    auto put = storage_.Put(key, **source, PutOptions{});
    if (!put.ok()) return put.status();
    const repo::ObjectWriter& object = (*source)->writer();
    if (!object.finished())
      return Status::Internal("the upload of '" + walk_[i].abs_path + "' ended before the file");
    uint64_t raw = object.original_size();
    outcomes_[i] = FileOutcome{false, raw, object.last_part().sha256_hex, 0};
    if (raw == 0) {  // shrank to nothing: an empty file needs no object
      std::lock_guard<std::mutex> lock(mu_);
      written_.push_back(key);  // removed with the rest on failure; harmless otherwise
      return Status::Ok();
    }
    *out = JobResult{true, StoredObject{key, put->size, put->sha256_hex, raw}};
    return Status::Ok();
  }

  // Timeline and segment names from the label pg_backup_stop returned.
  Status DescribeWal() {
    std::string tli = LabelField(m_.backup_label, "START TIMELINE");
    std::string start = LabelField(m_.backup_label, "START WAL LOCATION");
    size_t file = start.find("(file ");
    if (tli.empty() || file == std::string::npos || start.size() < file + 6 + 24) {
      return Status::Internal("cannot read the backup label pg_backup_stop returned");
    }
    m_.timeline = static_cast<uint32_t>(std::stoul(tli));
    m_.start_wal = start.substr(file + 6, 24);
    auto stop = pg::ParseLsn(m_.stop_lsn);
    if (!stop.ok()) return Status::Internal("pg_backup_stop returned '" + m_.stop_lsn + "'");
    // The last byte of WAL the backup needs is just before stop_lsn.
    m_.stop_wal = pg::SegmentNameOfLsn(m_.timeline, *stop > 0 ? *stop - 1 : 0, m_.wal_segment_size);
    if (m_.stop_wal < m_.start_wal) m_.stop_wal = m_.start_wal;
    return Status::Ok();
  }

  Status WaitForStopSegment() {
    auto wal = ParseWalFileName(m_.stop_wal);
    if (!wal.ok()) return wal.status();
    const std::string key = repo::WalObjectKey(*wal);
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(cfg_.archive_wait_seconds);
    bool said = false;
    for (;;) {
      auto head = storage_.Head(key);
      if (head.ok()) return Status::Ok();
      if (!head.status().IsNotFound()) return head.status();
      if (std::chrono::steady_clock::now() >= deadline) {
        return Status::Unavailable(
                   "backup '" + m_.name + "': WAL segment " + m_.stop_wal +
                   " (the backup's stop segment) did not reach " + storage_.Describe() +
                   " within " + std::to_string(static_cast<int>(cfg_.archive_wait_seconds)) + " s")
            .WithHint(m_.from_standby
                          ? "a standby's stop segment is archived by the primary once it is "
                            "complete: set archive_timeout "
                            "on the primary (or run pg_switch_wal() there), or raise --archive-wait"
                          : "check archive_command and pg_stat_archiver (failed_count, "
                            "last_failed_wal), or raise --archive-wait");
      }
      if (!said) {
        log::Info("waiting for WAL segment " + m_.stop_wal + " to be archived");
        said = true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  }

  void BuildManifest() {
    std::vector<int64_t> index(results_.size(), -1);
    for (size_t j = 0; j < results_.size(); ++j) {
      if (!results_[j].stored) continue;
      index[j] = static_cast<int64_t>(m_.objects.size());
      m_.objects.push_back(results_[j].object);
      m_.stored_bytes += results_[j].object.size;
    }
    for (size_t i = 0; i < walk_.size(); ++i) {
      const WalkEntry& e = walk_[i];
      ManifestFile f;
      f.path = e.path;
      f.type = e.type;
      f.mode = e.mode;
      f.mtime = e.mtime;
      f.target = e.target;
      if (e.type == FileType::kFile) {
        const FileOutcome& o = outcomes_[i];
        if (o.vanished) continue;
        f.size = o.size;
        f.sha256 = o.size == 0 && o.sha256.empty() ? crypto::Sha256Hex("") : o.sha256;
        f.offset = o.offset;
        m_.original_bytes += f.size;
      }
      if (e.type == FileType::kLink && pg::IsTablespaceLinkPath(e.path)) {
        std::string oid(pg::TablespaceLinkName(e.path));
        m_.tablespaces.push_back(
            Tablespace{static_cast<uint32_t>(std::stoul(oid)), space_names_[oid], e.target});
      }
      m_.files.push_back(std::move(f));
      file_of_walk_[i] = m_.files.size() - 1;
    }
    for (size_t j = 0; j < results_.size(); ++j) {
      if (index[j] < 0) continue;
      for (size_t i : job_entries_[j]) {
        auto it = file_of_walk_.find(i);
        if (it == file_of_walk_.end() || m_.files[it->second].size == 0) continue;
        m_.files[it->second].object = static_cast<uint32_t>(index[j]);
      }
    }
  }

  // The manifest's PUT failed, but its outcome may be unknown: the server can
  // store an object and its answer be lost, and the retried only-if-absent PUT
  // then finds the manifest in place (kAlreadyExists). Decide from what the
  // repository holds, never from the answer alone:
  // - the manifest we sent is stored: the backup exists and is complete (ok);
  // - no manifest is stored: abandon the backup as for any failure;
  // - another manifest, or no way to tell: the data objects stay (a stored
  //   manifest may refer to them) and the error says so.
  Status ManifestAfterFailedPut(const std::string& text, const Status& put) {
    const std::string key = repo::ManifestKey(m_.name);
    const std::string what = "store the manifest of backup '" + m_.name + "'";
    BoundedSink_ back(text.size() + 1);
    repo::ObjectReader reader(repo::ReadSpec::Manifest(key), back);
    Status got = storage_.Get(key, reader, std::nullopt);
    if (got.ok()) got = reader.Finish();
    if (got.ok() && back.out == text) {
      log::Warn("the manifest of backup '" + m_.name + "' is stored in " + storage_.Describe() +
                " although its upload reported '" + put.ToString() +
                "' (an answer was lost); read back and identical: the backup is complete");
      return Status::Ok();
    }
    if (got.IsNotFound()) return Abandon(put.Annotate(what));
    if (got.ok() || back.over) {
      return Status::AlreadyExists(what + ": '" + key + "' already holds another manifest")
          .WithHint(
              "the data objects of this backup were kept; 'walferry verify' checks the "
              "repository");
    }
    return put
        .Annotate(what + " (outcome unknown: reading it back failed too: " + got.ToString() + ")")
        .WithHint(
            "the data objects were kept in case the manifest was stored; "
            "'walferry backup-list' and 'walferry verify' tell whether the backup exists");
  }
  // Collects at most `max` bytes (a manifest read back for comparison).
  struct BoundedSink_ final : ByteSink {
    explicit BoundedSink_(size_t max) : max_(max) {}
    Status Write(const char* data, size_t n) override {
      if (out.size() + n > max_) {
        over = true;
        return Status::Corruption("longer than the manifest sent");
      }
      out.append(data, n);
      return Status::Ok();
    }
    std::string out;
    bool over = false;
    size_t max_;
  };

  // On failure: the server's backup ends with the session; the data objects
  // already written are removed so that nothing half-made stays behind.
  Status Abandon(const Status& why) {
    std::vector<std::string> keys;
    {
      std::lock_guard<std::mutex> lock(mu_);
      keys = written_;
    }
    if (!keys.empty()) {
      Status s = storage_.RemoveMany(keys);
      if (!s.ok())
        log::Warn("could not remove the " + std::to_string(keys.size()) +
                  " data objects of the failed backup '" + m_.name + "': " + s.ToString());
    }
    return why.Annotate("backup '" + m_.name +
                        "' failed (no manifest was written: the backup does not exist)");
  }

  Storage& storage_;
  const PushConfig& cfg_;
  std::unique_ptr<PgSession> pg_;
  std::string data_dir_;
  BackupManifest m_;
  std::map<std::string, std::string> space_names_;
  ReadContext ctx_;
  Warnings warnings_;
  std::atomic<uint64_t> corrupt_pages_{0};
  std::vector<WalkEntry> walk_;
  std::vector<FileOutcome> outcomes_;
  std::vector<JobResult> results_;
  std::vector<std::vector<size_t>> job_entries_;
  std::map<size_t, size_t> file_of_walk_;
  std::mutex mu_;
  std::vector<std::string> written_;
};

}  // namespace

Result<PushResult> Push(Storage& storage, const PushConfig& config) {
  Pusher p(storage, config);
  return p.Run();
}

}  // namespace walferry::backup
