// push_status.h — the archive-push backlog as `walferry status` reports it: computed from
// the spool and pg_wal/archive_status, rendered as JSON (walferry-status(1): stable
// fields), text for humans and the Prometheus text format.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "spool/push_dirs.h"
#include "spool/records.h"
#include "spool/worker.h"
#include "walferry/status.h"

namespace walferry::spool {

struct SpoolStatus {
  std::string spool_dir, repo, data_dir;
  WorkerInfo worker;
  int64_t pending_segments = 0, pending_bytes = 0, ready = 0, staged = 0;
  std::string oldest;  // "" when nothing is pending
  double oldest_age_seconds = 0;
  std::optional<OkRecord> last_success;
  std::optional<ErrRecord> last_error;
  double window_seconds = 60, segments_per_second = 0, bytes_per_second = 0;
  int64_t uploaded_segments = 0, uploaded_bytes = 0;  // since the spool was made
  int64_t now_ms = 0;
};
// Pending: staged copies, then .ready segments without a matching confirmation.
SpoolStatus ComputeStatus(const PushDirs& dirs, const std::string& repo_url,
                          const std::string& data_dir, int64_t now_ms);
std::string StatusJson(const SpoolStatus& s);        // one line, stable fields (walferry-status(1))
std::string StatusText(const SpoolStatus& s);        // for humans
std::string StatusPrometheus(const SpoolStatus& s);  // text format
// Pending segments only (cheaper: no state file), for the backlog warning.
int64_t CountPending(const PushDirs& dirs, const std::string& data_dir);

// `walferry status`: the status of the spool at `spool_path` for `repo_url` and the data
// directory `data_dir` (absolute). An error naming pg_wal/archive_status when that cannot
// be read (not a data directory).
Result<SpoolStatus> ReadSpoolStatus(const std::string& spool_path, const std::string& repo_url,
                                    const std::string& data_dir);
// Writes StatusPrometheus(s) to `file` (absolute) atomically.
Status WritePrometheusFile(const std::string& file, const SpoolStatus& s,
                           fs::LocalFs& fs = fs::LocalFs::Posix());

}  // namespace walferry::spool
