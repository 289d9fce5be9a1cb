// push.cc — the archive-push side of the spool (see push.h).
#include "spool/push.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <ctime>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <thread>

#include "archive/repository.h"
#include "common/crypto.h"
#include "common/fs.h"
#include "common/log.h"
#include "pg/wal_page.h"
#include "walferry/exit_codes.h"

namespace walferry::spool {
namespace {

using nlohmann::json;

constexpr size_t kRecentEvents = 256;  // uploads kept in state.json for the rate

bool ReadSmallFile(const std::string& path, std::string* out) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[4096];
  out->clear();
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    out->append(buf, static_cast<size_t>(r));
    if (out->size() > (1 << 20)) break;
  }
  ::close(fd);
  return true;
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Io("read '" + path + "' failed");
  return ss.str();
}

bool StatOf(const std::string& path, archive::SourceStat* out) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return false;
  *out = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
          static_cast<uint64_t>(st.st_size),
          static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  return true;
}

bool SameSource(const archive::SourceStat& a, const archive::SourceStat& b) {
  return a.dev == b.dev && a.ino == b.ino && a.size == b.size && a.mtime_ns == b.mtime_ns;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

// Numbers of the spool's JSON records, read by exact type. nlohmann's value()
// and get<>() turn a float into an integer by a cast that is undefined beyond
// the integer's range (found by tests/fuzz: fuzz_spool), so a record damaged on
// disk must never reach them: another type, or out of range, reads as 0.
uint64_t U64(const json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}
int64_t I64(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? 0 : static_cast<int64_t>(u);
  }
  return it->get<int64_t>();
}

json SourceJson(const archive::SourceStat& s) {
  return {{"dev", s.dev}, {"ino", s.ino}, {"size", s.size}, {"mtime_ns", s.mtime_ns}};
}
archive::SourceStat SourceFrom(const json& j) {
  archive::SourceStat s;
  if (!j.is_object()) return s;
  s.dev = U64(j, "dev");
  s.ino = U64(j, "ino");
  s.size = U64(j, "size");
  s.mtime_ns = I64(j, "mtime_ns");
  return s;
}

std::string IsoTime(int64_t ms) {
  std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(ms % 1000));
  return out;
}

Status StatusWithCode(Status::Code code, std::string m) {
  switch (code) {
    case Status::Code::kNotFound: return Status::NotFound(std::move(m));
    case Status::Code::kAlreadyExists: return Status::AlreadyExists(std::move(m));
    case Status::Code::kInvalidArgument: return Status::InvalidArgument(std::move(m));
    case Status::Code::kAuth: return Status::Auth(std::move(m));
    case Status::Code::kPermission: return Status::Permission(std::move(m));
    case Status::Code::kUnavailable: return Status::Unavailable(std::move(m));
    case Status::Code::kCorruption: return Status::Corruption(std::move(m));
    case Status::Code::kIo: return Status::Io(std::move(m));
    case Status::Code::kNotSupported: return Status::NotSupported(std::move(m));
    case Status::Code::kWrongRepository: return Status::WrongRepository(std::move(m));
    case Status::Code::kUnsupportedFormat: return Status::UnsupportedFormat(std::move(m));
    case Status::Code::kOk:
    case Status::Code::kInternal: break;
  }
  return Status::Internal(std::move(m));
}

// ---- err records
std::string EncodeErr(const ErrRecord& e) {
  return json{{"name", e.name},           {"message", e.message},
              {"hint", e.hint},           {"code", static_cast<int>(e.code)},
              {"exit_code", e.exit_code}, {"time_ms", e.time_ms}}
             .dump() +
         "\n";
}
// A spool record of the wrong shape (damage, another program) is no record: never an
// exception out of a parser.
std::optional<ErrRecord> DecodeErr(const json& j) try {
  if (!j.is_object() || !j.contains("name")) return std::nullopt;
  ErrRecord e;
  e.name = j.value("name", "");
  e.message = j.value("message", "");
  e.hint = j.value("hint", "");
  // Only the codes that exist (records store their numbers; see status.h).
  const int64_t code = I64(j, "code");
  e.code = j.contains("code") && code > 0 &&
                   code <= static_cast<int64_t>(Status::Code::kUnsupportedFormat)
               ? static_cast<Status::Code>(code)
               : Status::Code::kInternal;
  e.exit_code = static_cast<int>(std::clamp<int64_t>(I64(j, "exit_code"), 0, 255));
  e.time_ms = I64(j, "time_ms");
  return e;
} catch (const json::exception&) {
  return std::nullopt;
}

json OkJson(const OkRecord& r) {
  return {{"name", r.name},
          {"key", r.key},
          {"sha256", r.sha256},
          {"size", r.size},
          {"stored_size", r.stored_size},
          {"repo", r.repo},
          {"time", IsoTime(r.time_ms)},
          {"time_ms", r.time_ms},
          {"staged", r.staged},
          {"source", SourceJson(r.source)},
          {"data_dir", r.data_dir}};
}
std::optional<OkRecord> OkFromJson(const json& j) try {
  if (!j.is_object() || !j.contains("name") || !j.contains("sha256")) return std::nullopt;
  OkRecord r;
  r.name = j.value("name", "");
  r.key = j.value("key", "");
  r.sha256 = j.value("sha256", "");
  r.repo = j.value("repo", "");
  r.size = U64(j, "size");
  r.stored_size = U64(j, "stored_size");
  r.time_ms = I64(j, "time_ms");
  r.staged = j.value("staged", false);
  if (j.contains("source")) r.source = SourceFrom(j["source"]);
  r.data_dir = j.value("data_dir", "");
  return r;
} catch (const json::exception&) {
  return std::nullopt;
}

// ---- state.json: what the worker remembers across runs
struct WorkerState {
  std::optional<OkRecord> last_success;
  std::optional<ErrRecord> last_error;
  std::deque<std::pair<int64_t, uint64_t>> recent;  // (time_ms, original bytes) of uploads
  int64_t uploaded_segments = 0, uploaded_bytes = 0;
};

WorkerState LoadState(const std::string& path) try {
  WorkerState s;
  std::string text;
  if (!ReadSmallFile(path, &text)) return s;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  if (j.contains("last_success")) s.last_success = OkFromJson(j["last_success"]);
  if (j.contains("last_error")) s.last_error = DecodeErr(j["last_error"]);
  if (j.contains("recent") && j["recent"].is_array()) {
    for (const json& e : j["recent"]) {
      if (e.is_array() && e.size() == 2 && e[0].is_number_integer() && e[1].is_number_unsigned())
        s.recent.emplace_back(e[0].get<int64_t>(), e[1].get<uint64_t>());
    }
  }
  s.uploaded_segments = I64(j, "uploaded_segments");
  s.uploaded_bytes = I64(j, "uploaded_bytes");
  return s;
} catch (const nlohmann::json::exception&) {
  return WorkerState{};  // damaged: start counting again
}

Status SaveState(const PushDirs& dirs, const WorkerState& s) {
  json j = {{"version", 1},
            {"uploaded_segments", s.uploaded_segments},
            {"uploaded_bytes", s.uploaded_bytes},
            {"recent", json::array()}};
  if (s.last_success) j["last_success"] = OkJson(*s.last_success);
  if (s.last_error) j["last_error"] = json::parse(EncodeErr(*s.last_error));
  for (const auto& [t, b] : s.recent) j["recent"].push_back({t, b});
  return WriteFileAtomic(dirs.push, "state.json", j.dump() + "\n");
}

// ---- staged copies: one JSON line (StagedMeta), then the object
// The meta line records the object's own size and SHA-256 and the original's: the
// worker checks the staged copy against them (and decodes it whole) before upload.
std::string StagedMeta(const archive::BuiltObject& b) {
  const std::string_view object = b.object();
  json j = {{"name", b.name},
            {"key", b.key},
            {"source", SourceJson(b.source)},
            {"size", b.header.size},
            {"sha256", b.header.sha256_hex},
            {"object_size", object.size()},
            {"object_sha256", crypto::Sha256Hex(object)}};
  if (b.local) j["local"] = {{"system_identifier", b.local->system_identifier}};
  return j.dump() + "\n";
}

// Keeps the first bytes written (a segment's page header).
class FirstBytesSink final : public ByteSink {
 public:
  Status Write(const char* data, size_t n) override {
    if (bytes.size() < 64) bytes.append(data, std::min(n, 64 - bytes.size()));
    return Status::Ok();
  }
  std::string bytes;
};

// The source stat a staged copy's meta line records (nullopt when unreadable).
std::optional<archive::SourceStat> StagedSource(const std::string& path, const std::string& name) {
  std::string head;
  if (!ReadSmallFile(path, &head)) return std::nullopt;
  size_t nl = head.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  json j = json::parse(head.substr(0, nl), nullptr, false);
  try {
    if (!j.is_object() || j.value("name", "") != name || !j.contains("source")) return std::nullopt;
    return SourceFrom(j["source"]);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

// Loads staged/<name> and checks it whole: the name comes from the file's own name,
// never from its contents; the object must be what was staged (size and SHA-256 in
// the meta line) and decode to what its header says; the page header is read from
// the decoded bytes again.
Result<archive::BuiltObject> LoadStaged(const std::string& path, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("staged copy '" + path + "' is damaged (" + why +
                              "); it was not uploaded")
        .WithHint("PostgreSQL was told '" + name +
                  "' is archived. While pg_wal still holds that very file the "
                  "worker uploads it instead; if it is gone, this segment is not in the "
                  "repository: take a new "
                  "base backup, and find out what damaged the spool");
  };
  auto wal = ParseWalFileName(name);
  if (!wal.ok()) return bad("'" + name + "' is not a WAL file name");
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  archive::BuiltObject b;
  b.buffer = std::move(*text);
  b.name = name;
  b.key = WalObjectKey(*wal);
  size_t nl = b.buffer.find('\n');
  if (nl == std::string::npos) return bad("no meta line");
  json j = json::parse(b.buffer.substr(0, nl), nullptr, false);
  uint64_t object_size = 0, size = 0;
  std::string object_sha, sha;
  bool recorded = false;
  try {
    if (!j.is_object() || j.value("name", "") != name)
      return bad("its meta line names another file");
    if (j.value("key", b.key) != b.key) return bad("its meta line names another object key");
    b.source = SourceFrom(j.value("source", json::object()));
    if (j.contains("local")) {
      archive::ClusterIdentity c;
      c.system_identifier = U64(j["local"], "system_identifier");
      b.local = c;
    }
    recorded = j.contains("object_sha256");  // staged copies of older versions lack the checksums
    object_size = U64(j, "object_size");
    object_sha = j.value("object_sha256", "");
    size = U64(j, "size");
    sha = j.value("sha256", "");
  } catch (const json::exception&) {
    return bad("malformed meta line");
  }
  b.start = nl + 1;
  const std::string_view object = b.object();
  if (recorded && (object.size() != object_size || crypto::Sha256Hex(object) != object_sha)) {
    return bad("its object has " + std::to_string(object.size()) +
               " bytes and another checksum than the " + std::to_string(object_size) +
               " bytes staged");
  }
  size_t hl = b.buffer.find('\n', b.start);
  if (hl == std::string::npos) return bad("no object header");
  auto h = archive::DecodeHeader(std::string_view(b.buffer).substr(b.start, hl - b.start), path);
  if (!h.ok()) return bad(h.status().message());
  b.header = *h;
  FirstBytesSink first;
  auto decoded = archive::DecodeObject(object, *wal, path, first);
  if (!decoded.ok()) return bad(decoded.status().message());
  if (recorded && (decoded->size != size || decoded->sha256_hex != sha)) {
    return bad("it decodes to other content than was staged");
  }
  if (wal->HasWalHeader()) {
    auto page = pg::ReadCheckedWalPageHeader(first.bytes, *wal, 0, path);
    if (!page.ok()) return bad(page.status().message());
    b.page = *page;
  }
  return b;
}

void RemoveTempsEverywhere(const PushDirs& d) {
  for (const std::string* dir : {&d.push, &d.ok, &d.err, &d.staged, &d.spool.tmp_dir})
    RemoveStaleTemps(*dir);
}

// ok/ and err/ files of segments PostgreSQL has marked .done, or that are gone.
void Prune(const PushDirs& d, const std::string& data_dir) {
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
        if (ReadSmallFile(*dir + "/" + name, &text))
          r = OkFromJson(json::parse(text, nullptr, false));
        if (r && !r->data_dir.empty() && r->data_dir != data_dir && Exists(r->data_dir + "/pg_wal"))
          continue;
      }
      if (done || gone || confirmed) ::unlink((*dir + "/" + name).c_str());
    }
  }
}

struct PendingItem {
  std::string name;
  int64_t bytes = 0;
  int64_t since_ms = 0;  // when it became pending (mtime of .ready or of the staged copy)
  bool staged = false;
};

int64_t MtimeMs(const struct stat& st) {
  return static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1000000;
}

// Staged copies, then .ready segments without a matching confirmation, in archive order.
std::vector<PendingItem> ListPending(const PushDirs& d, const std::string& data_dir,
                                     bool with_sizes) {
  std::vector<PendingItem> out;
  std::set<std::string> seen;
  for (const std::string& name : ListWithSuffix(d.staged, "")) {
    PendingItem it{name, 0, 0, true};
    struct stat st;
    if (with_sizes && ::stat((d.staged + "/" + name).c_str(), &st) == 0) {
      it.bytes = st.st_size;
      it.since_ms = MtimeMs(st);
    }
    seen.insert(name);
    out.push_back(it);
  }
  const std::string status_dir = data_dir + "/pg_wal/archive_status";
  for (const std::string& name : ListWithSuffix(status_dir, ".ready")) {
    if (seen.count(name)) continue;
    const std::string wal = data_dir + "/pg_wal/" + name;
    if (IsConfirmed(d, "", name, wal)) continue;
    PendingItem it{name, 0, 0, false};
    struct stat st;
    if (with_sizes) {
      if (::stat(wal.c_str(), &st) == 0) it.bytes = st.st_size;
      if (::stat((status_dir + "/" + name + ".ready").c_str(), &st) == 0) it.since_ms = MtimeMs(st);
    }
    out.push_back(it);
  }
  return out;
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

namespace {
void FillPushPaths(PushDirs& d) {
  d.push = d.spool.push_dir;
  d.ok = d.push + "/ok";
  d.err = d.push + "/err";
  d.staged = d.push + "/staged";
  d.lock = d.push + "/worker.lock";
  d.pid = d.push + "/worker.pid";
  d.log = d.push + "/worker.log";
  d.state = d.push + "/state.json";
  d.warned = d.push + "/warned";
}
}  // namespace

PushDirs PushPaths(const std::string& spool_path, const std::string& repo_url) {
  PushDirs d;
  std::string root = spool_path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  d.spool.root = root;
  d.spool.repo_dir = root + "/" + RepoId(repo_url);
  d.spool.push_dir = d.spool.repo_dir + "/push";
  d.spool.get_dir = d.spool.repo_dir + "/get";
  d.spool.tmp_dir = d.spool.repo_dir + "/tmp";
  FillPushPaths(d);
  return d;
}

Result<PushDirs> OpenPushDirs(const SpoolDir& spool) {
  PushDirs d;
  d.spool = spool;
  FillPushPaths(d);
  for (const std::string* dir : {&d.ok, &d.err, &d.staged}) {
    Status s = fs::CreateDirs(*dir);
    if (!s.ok()) return s.Annotate("spool");
  }
  return d;
}

std::string EncodeOk(const OkRecord& r) { return OkJson(r).dump() + "\n"; }

Result<OkRecord> DecodeOk(const std::string& text, const std::string& where) {
  json j = json::parse(text, nullptr, false);
  auto r = OkFromJson(j);
  if (!r) return Status::Corruption("confirmation '" + where + "' is not a walferry ok record");
  return *r;
}

Status ErrRecord::ToStatus() const {
  Status s = StatusWithCode(code, "the spool worker could not archive '" + name + "' (" +
                                      IsoTime(time_ms) + "): " + message);
  if (!hint.empty()) return std::move(s).WithHint(hint);
  return s;
}

std::optional<ErrRecord> LoadErr(const PushDirs& dirs, const std::string& name) {
  std::string text;
  if (!ReadSmallFile(dirs.err + "/" + name, &text)) return std::nullopt;
  return DecodeErr(json::parse(text, nullptr, false));
}

bool ArchiveOrderLess(const std::string& a, const std::string& b) {
  const bool ha = a.ends_with(".history"), hb = b.ends_with(".history");
  if (ha != hb) return ha;
  return a < b;
}

std::vector<std::string> ListWithSuffix(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.') continue;
    if (!name.ends_with(suffix) || name.size() == suffix.size()) continue;
    out.push_back(name.substr(0, name.size() - suffix.size()));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), ArchiveOrderLess);
  return out;
}

bool IsConfirmed(const PushDirs& dirs, const std::string& repo_url, const std::string& name,
                 const std::string& wal_path) {
  std::string text;
  if (!ReadSmallFile(dirs.ok + "/" + name, &text)) return false;
  archive::SourceStat now;
  if (!StatOf(wal_path, &now)) return false;
  json j = json::parse(text, nullptr, false);
  auto r = OkFromJson(j);
  if (!r || r->name != name) return false;
  if (!repo_url.empty() && r->repo != repo_url) return false;
  return SameSource(r->source, now);
}

bool IsStaged(const PushDirs& dirs, const std::string& name, const std::string& wal_path) {
  int fd = ::open((dirs.staged + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return false;
  std::string_view head(buf, static_cast<size_t>(n));
  size_t nl = head.find('\n');
  if (nl == std::string_view::npos) return false;
  json j = json::parse(head.substr(0, nl), nullptr, false);
  if (!j.is_object() || j.value("name", "") != name) return false;
  archive::SourceStat now;
  if (!StatOf(wal_path, &now)) return false;
  return SameSource(SourceFrom(j.value("source", json::object())), now);
}

Status StageObject(const PushDirs& dirs, const archive::BuiltObject& built) {
  std::string data = StagedMeta(built);
  data.append(built.object());
  Status s = WriteFileAtomic(dirs.staged, built.name, data);
  if (!s.ok()) {
    return StatusWithCode(s.code(), "cannot stage '" + built.name + "' in the spool '" +
                                        dirs.spool.root + "': " + s.message())
        .WithHint(s.hint().empty() ? "check the spool filesystem (space, permissions)" : s.hint());
  }
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

Result<WorkerReport> RunWorker(Storage& storage, const PushDirs& dirs, const WorkerOptions& opt) {
  auto now = opt.now_ms ? opt.now_ms : std::function<int64_t()>(NowMs);
  WorkerReport report;
  auto lock = FileLock::TryAcquire(dirs.lock);
  if (!lock.ok()) return lock.status();
  if (!lock->held()) return report;
  report.ran = true;
  // The pid, then the data directory this worker serves (archive-push of another
  // data directory does not wait for it: see RunSpoolPush).
  WF_RETURN_IF_ERROR(WriteFileAtomic(dirs.push, "worker.pid",
                                     std::to_string(::getpid()) + "\n" + opt.data_dir + "\n"));
  RemoveTempsEverywhere(dirs);

  WorkerState state = LoadState(dirs.state);
  std::mutex identity_mu;
  std::optional<archive::ClusterIdentity> identity;
  std::atomic<int> steps{0};
  std::atomic<bool> crashed{false};
  // One step done; false when the simulated crash happens here.
  auto step = [&]() {
    if (crashed) return false;
    int n = ++steps;
    if (opt.crash_after_steps > 0 && n >= opt.crash_after_steps) {
      crashed = true;
      return false;
    }
    return true;
  };

  struct Outcome {
    std::string name;
    bool staged = false;
    Status status;
    OkRecord ok;
  };
  auto job = [&](const std::string& name, bool staged) -> Outcome {
    Outcome out{name, staged, Status::Ok(), {}};
    const std::string wal_path = opt.data_dir + "/pg_wal/" + name;
    auto build = [&] {
      return archive::BuildObject(
          archive::PushConfig{wal_path, opt.data_dir, opt.codec, opt.level});
    };
    Result<archive::BuiltObject> built =
        staged ? LoadStaged(dirs.staged + "/" + name, name) : build();
    if (staged && built.status().code() == Status::Code::kCorruption) {
      // A damaged staged copy is never uploaded. The very file it was made of, when
      // pg_wal still holds it unchanged, is the good copy.
      auto source = StagedSource(dirs.staged + "/" + name, name);
      archive::SourceStat now_stat;
      if (source && StatOf(wal_path, &now_stat) && SameSource(*source, now_stat)) {
        log::Warn(built.status().message() + "; uploading '" + wal_path +
                  "', which it was made of, instead");
        built = build();
      }
    }
    if (!built.ok()) {
      out.status = built.status();
      return out;
    }
    if (!step()) return out;
    archive::ClusterIdentity repo;
    {
      std::lock_guard<std::mutex> g(identity_mu);
      if (!identity) {
        auto id = archive::RequireIdentity(storage);
        if (!id.ok()) {
          out.status = id.status();
          return out;
        }
        identity = *id;
      }
      repo = *identity;
    }
    auto stored = archive::StoreObject(storage, *built, repo);
    if (!stored.ok()) {
      out.status = stored.status();
      return out;
    }
    if (!step()) return out;
    out.ok = OkRecord{name,
                      stored->key,
                      stored->sha256_hex,
                      opt.repo_url,
                      stored->original_size,
                      stored->stored_size,
                      now(),
                      staged,
                      built->source,
                      staged ? "" : opt.data_dir};
    Status w = WriteFileAtomic(dirs.ok, name, EncodeOk(out.ok));
    if (!w.ok()) {
      out.status = w.Annotate("record the confirmation of '" + name + "' in the spool '" +
                              dirs.spool.root + "'");
      return out;
    }
    if (!step()) return out;
    if (staged) {
      if (::unlink((dirs.staged + "/" + name).c_str()) != 0 && errno != ENOENT) {
        log::Warn("cannot remove the uploaded staged copy '" + dirs.staged + "/" + name +
                  "': " + std::strerror(errno));
      }
      (void)fs::SyncDir(dirs.staged);
    }
    ::unlink((dirs.err + "/" + name).c_str());
    step();
    return out;
  };

  struct Running {
    std::string name;
    std::future<Outcome> future;
  };
  std::vector<Running> running;
  std::map<std::string, std::pair<int, int64_t>> backoff;  // name -> (failures, next try ms)
  int64_t idle_since = now(), last_prune = 0, last_temps = now(), last_save = 0;
  bool dirty = false, error_dirty = false, slot_freed = false;
  int64_t last_scan = 0;
  // Confirmations by this worker, or seen on disk: the WAL file's stat and its ok file's.
  // The ok file is stat'ed again at every scan: a lost or replaced record is noticed at
  // once (the segment is uploaded again, a write-once put that finds it), never cached.
  struct Known {
    archive::SourceStat wal, ok;
  };
  std::map<std::string, Known> confirmed;
  auto ok_stat = [&](const std::string& name, archive::SourceStat* out) {
    return StatOf(dirs.ok + "/" + name, out);
  };
  const int parallel = std::max(1, opt.parallel);

  // state.json (and the Prometheus file): at once for errors and when idle,
  // at most every 250 ms while uploads run.
  auto save = [&](bool force, bool idle) {
    int64_t t = now();
    if (!force && !error_dirty && (!dirty || (!idle && t - last_save < 250))) return;
    while (!state.recent.empty() && state.recent.size() > kRecentEvents) state.recent.pop_front();
    Status s = SaveState(dirs, state);
    if (!s.ok()) log::Warn("cannot update '" + dirs.state + "': " + s.message());
    if (!opt.prometheus_file.empty()) {
      SpoolStatus st = ComputeStatus(dirs, opt.repo_url, opt.data_dir, t);
      std::string file = opt.prometheus_file;
      Status p = WriteFileAtomic(fs::DirName(file), file.substr(file.find_last_of('/') + 1),
                                 StatusPrometheus(st));
      if (!p.ok()) log::Warn("cannot write the Prometheus file '" + file + "': " + p.message());
    }
    last_save = t;
    dirty = error_dirty = false;
  };

  log::Info("spool worker started for " + storage.Describe() + " (data directory '" + opt.data_dir +
            "', spool '" + dirs.spool.repo_dir + "', " + std::to_string(parallel) +
            " uploads at once)");
  for (;;) {
    int64_t t = now();
    if (t - last_temps > 10000) {
      RemoveTempsEverywhere(dirs);
      last_temps = t;
    }
    if (t - last_prune > 2000) {
      Prune(dirs, opt.data_dir);
      for (auto it = confirmed.begin(); it != confirmed.end();) {  // bounded by the .ready files
        it = Exists(opt.data_dir + "/pg_wal/archive_status/" + it->first + ".ready")
                 ? std::next(it)
                 : confirmed.erase(it);
      }
      last_prune = t;
    }
    // Collect finished uploads.
    for (size_t i = 0; i < running.size();) {
      if (running[i].future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        ++i;
        continue;
      }
      Outcome o = running[i].future.get();
      running.erase(running.begin() + static_cast<long>(i));
      if (crashed) continue;
      slot_freed = true;
      if (o.status.ok()) {
        Known k{o.ok.source, {}};
        if (ok_stat(o.name, &k.ok)) confirmed[o.name] = k;
        ++report.uploaded;
        backoff.erase(o.name);
        state.last_success = o.ok;
        state.recent.emplace_back(o.ok.time_ms, o.ok.size);
        ++state.uploaded_segments;
        state.uploaded_bytes += static_cast<int64_t>(o.ok.size);
        dirty = true;
        log::Debug("archived '" + o.name + "' as '" + o.ok.key + "'" +
                   (o.staged ? " (from its staged copy)" : ""));
      } else {
        ++report.failed;
        auto& b = backoff[o.name];
        b.first++;
        int64_t delay = std::min<int64_t>(5000, 250LL << std::min(b.first, 5));
        b.second = now() + delay;
        ErrRecord e{o.name,
                    o.status.message(),
                    o.status.hint(),
                    o.status.code(),
                    static_cast<int>(ExitCodeFor(o.status)),
                    now()};
        state.last_error = e;
        error_dirty = true;
        if (o.status.code() == Status::Code::kUnavailable) {
          std::lock_guard<std::mutex> g(identity_mu);
          identity.reset();  // fetched again once the repository answers
        }
        Status w = WriteFileAtomic(dirs.err, o.name, EncodeErr(e));
        log::Error("cannot archive '" + o.name + "' (attempt " + std::to_string(b.first) +
                   ", next in " + std::to_string(delay) + " ms): " + o.status.ToString() +
                   (w.ok() ? "" : " [and cannot record the error: " + w.message() + "]"));
      }
    }
    if (crashed) {
      for (auto& r : running) r.future.wait();
      report.crashed = true;
      return report;
    }
    save(false, running.empty());
    if (opt.stop != nullptr && *opt.stop && running.empty()) break;

    // New work, in archive order: staged copies first.
    bool pending = !running.empty();
    // Scan again when a slot came free, when idle, or every 100 ms: a scan reads two
    // directories, and confirmations this worker made are known without reading them.
    const bool scan = running.empty() || slot_freed || now() - last_scan >= 100;
    if (scan && static_cast<int>(running.size()) < parallel) {
      slot_freed = false;
      last_scan = now();
      std::vector<std::pair<std::string, bool>> todo;
      for (const std::string& n : ListWithSuffix(dirs.staged, "")) todo.emplace_back(n, true);
      const std::string status_dir = opt.data_dir + "/pg_wal/archive_status";
      for (const std::string& n : ListWithSuffix(status_dir, ".ready")) todo.emplace_back(n, false);
      std::set<std::string> busy;
      for (const auto& r : running) busy.insert(r.name);
      for (const auto& [name, staged] : todo) {
        if (static_cast<int>(running.size()) >= parallel) {
          pending = true;
          break;
        }
        if (busy.count(name)) continue;
        if (!staged) {
          if (Exists(dirs.staged + "/" + name)) continue;
          const std::string wal = opt.data_dir + "/pg_wal/" + name;
          archive::SourceStat now_stat, now_ok;
          auto known = confirmed.find(name);
          if (known != confirmed.end() && StatOf(wal, &now_stat) &&
              SameSource(known->second.wal, now_stat) && ok_stat(name, &now_ok) &&
              SameSource(known->second.ok, now_ok)) {
            continue;
          }
          if (known != confirmed.end()) confirmed.erase(known);
          if (IsConfirmed(dirs, opt.repo_url, name, wal)) {
            Known k;
            if (StatOf(wal, &k.wal) && ok_stat(name, &k.ok)) confirmed[name] = k;
            continue;
          }
        }
        pending = true;
        auto b = backoff.find(name);
        if (b != backoff.end() && b->second.second > now()) continue;
        busy.insert(name);
        running.push_back({name, std::async(std::launch::async, job, name, staged)});
      }
    }
    if (opt.stop != nullptr && *opt.stop) {
      for (auto& r : running) r.future.wait();
      continue;  // collects them, then leaves below once nothing runs
    }
    if (pending) {
      idle_since = now();
    } else if (now() - idle_since > static_cast<int64_t>(opt.idle_exit_seconds * 1000)) {
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(
        running.empty() ? static_cast<int64_t>(opt.poll_seconds * 1000) : 2));
  }
  save(true, true);
  const bool stopped = opt.stop != nullptr && *opt.stop;
  log::Info(std::string("spool worker exits: ") +
            (stopped ? "asked to stop"
                     : "nothing to do for " +
                           std::to_string(std::lround(opt.idle_exit_seconds * 1000)) + " ms") +
            " (" + std::to_string(report.uploaded) + " uploaded, " + std::to_string(report.failed) +
            " failures)");
  return report;
}

SpoolStatus ComputeStatus(const PushDirs& dirs, const std::string& repo_url,
                          const std::string& data_dir, int64_t now_ms) {
  SpoolStatus s;
  s.spool_dir = dirs.spool.repo_dir;
  s.repo = repo_url;
  s.data_dir = data_dir;
  s.now_ms = now_ms;
  s.worker = ProbeWorker(dirs);
  auto pending = ListPending(dirs, data_dir, true);
  for (const PendingItem& p : pending) {
    ++s.pending_segments;
    s.pending_bytes += p.bytes;
    (p.staged ? s.staged : s.ready)++;
  }
  if (!pending.empty()) {
    // archive order: staged copies are older than anything still .ready
    const PendingItem* oldest = &pending.front();
    for (const PendingItem& p : pending) {
      if (ArchiveOrderLess(p.name, oldest->name)) oldest = &p;
    }
    s.oldest = oldest->name;
    s.oldest_age_seconds =
        oldest->since_ms > 0 ? std::max<double>(0, (now_ms - oldest->since_ms) / 1000.0) : 0;
  }
  WorkerState st = LoadState(dirs.state);
  s.last_success = st.last_success;
  s.last_error = st.last_error;
  s.uploaded_segments = st.uploaded_segments;
  s.uploaded_bytes = st.uploaded_bytes;
  int64_t n = 0, bytes = 0;
  for (const auto& [t, b] : st.recent) {
    if (t >= now_ms - static_cast<int64_t>(s.window_seconds * 1000)) {
      ++n;
      // Saturating: state.json is read from disk and may hold anything.
      const int64_t add =
          b > static_cast<uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<int64_t>(b);
      bytes = add > INT64_MAX - bytes ? INT64_MAX : bytes + add;
    }
  }
  s.segments_per_second = n / s.window_seconds;
  s.bytes_per_second = bytes / s.window_seconds;
  return s;
}

int64_t CountPending(const PushDirs& dirs, const std::string& data_dir) {
  return static_cast<int64_t>(ListPending(dirs, data_dir, false).size());
}

std::string StatusJson(const SpoolStatus& s) {
  json j = {
      {"version", 1},
      {"time", IsoTime(s.now_ms)},
      {"repo", s.repo},
      {"spool", s.spool_dir},
      {"data_dir", s.data_dir},
      {"worker",
       {{"running", s.worker.running}, {"pid", s.worker.pid > 0 ? json(s.worker.pid) : json()}}},
      {"pending",
       {{"segments", s.pending_segments},
        {"bytes", s.pending_bytes},
        {"ready", s.ready},
        {"staged", s.staged},
        {"oldest", s.oldest.empty() ? json() : json(s.oldest)},
        {"oldest_age_seconds", s.oldest.empty() ? json() : json(s.oldest_age_seconds)}}},
      {"last_success", json()},
      {"last_error", json()},
      {"rate",
       {{"window_seconds", s.window_seconds},
        {"segments_per_second", s.segments_per_second},
        {"bytes_per_second", s.bytes_per_second}}},
      {"uploaded", {{"segments", s.uploaded_segments}, {"bytes", s.uploaded_bytes}}}};
  if (s.last_success) {
    j["last_success"] = {{"name", s.last_success->name},
                         {"time", IsoTime(s.last_success->time_ms)},
                         {"age_seconds", (s.now_ms - s.last_success->time_ms) / 1000.0}};
  }
  if (s.last_error) {
    j["last_error"] = {{"name", s.last_error->name},
                       {"time", IsoTime(s.last_error->time_ms)},
                       {"age_seconds", (s.now_ms - s.last_error->time_ms) / 1000.0},
                       {"message", s.last_error->message},
                       {"exit_code", s.last_error->exit_code}};
  }
  return j.dump() + "\n";
}

std::string StatusText(const SpoolStatus& s) {
  std::ostringstream o;
  char buf[256];
  o << "repository:   " << s.repo << "\n";
  o << "spool:        " << s.spool_dir << "\n";
  o << "worker:       "
    << (s.worker.running ? "running, pid " + std::to_string(s.worker.pid) : "not running") << "\n";
  std::snprintf(buf, sizeof buf,
                "pending:      %lld segments, %.1f MiB (%lld ready, %lld staged)\n",
                static_cast<long long>(s.pending_segments), s.pending_bytes / 1048576.0,
                static_cast<long long>(s.ready), static_cast<long long>(s.staged));
  o << buf;
  if (!s.oldest.empty()) {
    std::snprintf(buf, sizeof buf, "oldest:       %s, pending for %.0f s\n", s.oldest.c_str(),
                  s.oldest_age_seconds);
    o << buf;
  }
  o << "last success: "
    << (s.last_success ? s.last_success->name + " at " + IsoTime(s.last_success->time_ms)
                       : std::string("none"))
    << "\n";
  o << "last error:   "
    << (s.last_error ? s.last_error->name + " at " + IsoTime(s.last_error->time_ms) + ": " +
                           s.last_error->message
                     : std::string("none"))
    << "\n";
  std::snprintf(buf, sizeof buf, "upload rate:  %.2f segments/s, %.1f MiB/s (last %.0f s)\n",
                s.segments_per_second, s.bytes_per_second / 1048576.0, s.window_seconds);
  o << buf;
  return o.str();
}

std::string StatusPrometheus(const SpoolStatus& s) {
  std::string repo = s.repo;
  std::string esc;
  for (char c : repo) {
    if (c == '\\' || c == '"') esc += '\\';
    if (c == '\n') {
      esc += "\\n";
      continue;
    }
    esc += c;
  }
  const std::string label = "{repo=\"" + esc + "\"}";
  std::ostringstream o;
  auto metric = [&](const char* name, const char* type, const char* help, double value) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", value);
    o << "# HELP " << name << " " << help << "\n# TYPE " << name << " " << type << "\n"
      << name << label << " " << buf << "\n";
  };
  metric("walferry_spool_pending_segments", "gauge",
         "WAL files not yet confirmed by the repository", static_cast<double>(s.pending_segments));
  metric("walferry_spool_pending_bytes", "gauge", "bytes of the pending WAL files",
         static_cast<double>(s.pending_bytes));
  metric("walferry_spool_oldest_pending_age_seconds", "gauge",
         "age of the oldest pending WAL file (0: none)", s.oldest_age_seconds);
  metric("walferry_spool_last_success_timestamp_seconds", "gauge",
         "unix time of the last confirmation (0: none)",
         s.last_success ? s.last_success->time_ms / 1000.0 : 0);
  metric("walferry_spool_last_error_timestamp_seconds", "gauge",
         "unix time of the last failure (0: none)",
         s.last_error ? s.last_error->time_ms / 1000.0 : 0);
  metric("walferry_spool_upload_segments_per_second", "gauge",
         "uploads per second over the last 60 s", s.segments_per_second);
  metric("walferry_spool_upload_bytes_per_second", "gauge",
         "original bytes uploaded per second over the last 60 s", s.bytes_per_second);
  metric("walferry_spool_worker_running", "gauge", "1 when the spool worker runs",
         s.worker.running ? 1 : 0);
  metric("walferry_spool_uploaded_segments_total", "counter",
         "WAL files uploaded through the spool", static_cast<double>(s.uploaded_segments));
  metric("walferry_spool_uploaded_bytes_total", "counter",
         "original bytes uploaded through the spool", static_cast<double>(s.uploaded_bytes));
  return o.str();
}

}  // namespace walferry::spool
