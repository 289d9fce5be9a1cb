// push_status.cc — the backlog and its three renderings (see push_status.h).
#include "spool/push_status.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/fs.h"

namespace walferry::spool {
namespace {

using nlohmann::json;

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

Result<SpoolStatus> ReadSpoolStatus(const std::string& spool_path, const std::string& repo_url,
                                    const std::string& data_dir) {
  if (::access((data_dir + "/pg_wal/archive_status").c_str(), R_OK) != 0) {
    return Status::FromErrno(errno, "read '" + data_dir + "/pg_wal/archive_status'")
        .WithHint("run in PostgreSQL's data directory or pass --pg-data");
  }
  PushDirs dirs = PushPaths(spool_path, repo_url);
  return ComputeStatus(dirs, repo_url, data_dir, NowMs());
}

Status WritePrometheusFile(const std::string& file, const SpoolStatus& s, fs::LocalFs& lfs) {
  return fs::WriteFileAtomically(lfs, fs::DirName(file), file.substr(file.find_last_of('/') + 1),
                                 StatusPrometheus(s));
}

}  // namespace walferry::spool
