// records.cc — the ok/, err/ and state.json codecs (see records.h).
#include "spool/records.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <nlohmann/json.hpp>

#include "spool/record_fields.h"

namespace walferry::spool {
namespace {

using nlohmann::json;
using record::I64;
using record::SourceFrom;
using record::SourceJson;
using record::U64;

// The code of a failure record: its name (Status::CodeId); records written by older
// versions hold the enum's number instead. Only codes that exist and are failures;
// anything else reads as kInternal.
Status::Code RecordedCode(const json& j) {
  auto it = j.find("code");
  if (it == j.end()) return Status::Code::kInternal;
  if (it->is_string()) {
    std::optional<Status::Code> c = Status::CodeFromId(it->get_ref<const std::string&>());
    return c && *c != Status::Code::kOk ? *c : Status::Code::kInternal;
  }
  const int64_t code = I64(j, "code");
  return code > 0 && code <= static_cast<int64_t>(Status::Code::kUnsupportedFormat)
             ? static_cast<Status::Code>(code)
             : Status::Code::kInternal;
}

json ErrJson(const ErrRecord& e) {
  return {{"name", e.name},           {"message", e.message},
          {"hint", e.hint},           {"code", Status::CodeId(e.code)},
          {"exit_code", e.exit_code}, {"time_ms", e.time_ms}};
}

// A spool record of the wrong shape (damage, another program) is no record: never an
// exception out of a parser.
std::optional<ErrRecord> ErrFromJson(const json& j) try {
  if (!j.is_object() || !j.contains("name")) return std::nullopt;
  ErrRecord e;
  e.name = j.value("name", "");
  e.message = j.value("message", "");
  e.hint = j.value("hint", "");
  e.code = RecordedCode(j);
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

}  // namespace

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

std::string EncodeOk(const OkRecord& r) { return OkJson(r).dump() + "\n"; }

Result<OkRecord> DecodeOk(const std::string& text, const std::string& where) {
  json j = json::parse(text, nullptr, false);
  auto r = OkFromJson(j);
  if (!r) return Status::Corruption("confirmation '" + where + "' is not a walferry ok record");
  return *r;
}

std::string EncodeErr(const ErrRecord& e) { return ErrJson(e).dump() + "\n"; }

std::optional<ErrRecord> DecodeErr(const std::string& text) {
  return ErrFromJson(json::parse(text, nullptr, false));
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
  return DecodeErr(text);
}

WorkerState LoadState(const std::string& path) try {
  WorkerState s;
  std::string text;
  if (!ReadSmallFile(path, &text)) return s;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return s;
  if (j.contains("last_success")) s.last_success = OkFromJson(j["last_success"]);
  if (j.contains("last_error")) s.last_error = ErrFromJson(j["last_error"]);
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

Status SaveState(const PushDirs& dirs, const WorkerState& s, fs::LocalFs& lfs) {
  json j = {{"version", 1},
            {"uploaded_segments", s.uploaded_segments},
            {"uploaded_bytes", s.uploaded_bytes},
            {"recent", json::array()}};
  if (s.last_success) j["last_success"] = OkJson(*s.last_success);
  if (s.last_error) j["last_error"] = ErrJson(*s.last_error);
  for (const auto& [t, b] : s.recent) j["recent"].push_back({t, b});
  return fs::WriteFileAtomically(lfs, dirs.push, "state.json", j.dump() + "\n");
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

}  // namespace walferry::spool
