// records.h — the spool's small JSON records: ok/<name> (a confirmation), err/<name>
// (the last failure of a file) and state.json (what the worker remembers across runs),
// and what an ok record proves.
//
// Decoding never throws and never trusts the disk: a record of the wrong shape (damage,
// another program) is no record; numbers are read by exact type (a float or an
// out-of-range number reads as 0).
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>

#include "archive/archive.h"
#include "spool/push_dirs.h"
#include "walferry/local_fs.h"
#include "walferry/status.h"

namespace walferry::spool {

struct OkRecord {
  std::string name, key, sha256, repo;
  uint64_t size = 0;         // original bytes
  uint64_t stored_size = 0;  // object bytes
  int64_t time_ms = 0;       // unix ms of the confirmation
  bool staged = false;       // uploaded from a staged copy
  archive::SourceStat source;
  std::string data_dir;  // whose pg_wal it came from ("" for staged copies and old records)
};
std::string EncodeOk(const OkRecord& r);
// kCorruption naming `where` when `text` is no ok record.
Result<OkRecord> DecodeOk(const std::string& text, const std::string& where);

struct ErrRecord {
  std::string name, message, hint;
  Status::Code code = Status::Code::kInternal;
  int exit_code = 0;
  int64_t time_ms = 0;
  Status ToStatus() const;  // the same code, the message naming the segment
};
// One JSON line; "code" holds the code's name (Status::CodeId).
std::string EncodeErr(const ErrRecord& e);
// nullopt when `text` is no err record. "code" may be a name or, in records of older
// versions, the enum's number; an unknown one reads as kInternal.
std::optional<ErrRecord> DecodeErr(const std::string& text);

// err/<name>, when the worker recorded a failure of that file.
std::optional<ErrRecord> LoadErr(const PushDirs& dirs, const std::string& name);

// state.json: what the worker remembers across runs.
struct WorkerState {
  std::optional<OkRecord> last_success;
  std::optional<ErrRecord> last_error;
  std::deque<std::pair<int64_t, uint64_t>> recent;  // (time_ms, original bytes) of uploads
  int64_t uploaded_segments = 0, uploaded_bytes = 0;
};
// A missing or damaged file is an empty state (counting starts again).
WorkerState LoadState(const std::string& path);
// Durably (fs::WriteFileAtomically through `fs`).
Status SaveState(const PushDirs& dirs, const WorkerState& s,
                 fs::LocalFs& fs = fs::LocalFs::Posix());

// The fast path: ok/<name> exists, names `repo_url` (any repository when empty), and
// records exactly the stat (dev, ino, size, mtime) of `wal_path`. Reads two small
// things, opens no connection.
bool IsConfirmed(const PushDirs& dirs, const std::string& repo_url, const std::string& name,
                 const std::string& wal_path);

// ---- small helpers the spool's push files share

// Reads at most ~1 MiB of the file at `path`; false when it cannot be opened.
bool ReadSmallFile(const std::string& path, std::string* out);
// stat(2) of `path` as the records keep it; false when it fails.
bool StatOf(const std::string& path, archive::SourceStat* out);
bool SameSource(const archive::SourceStat& a, const archive::SourceStat& b);
// "2026-01-02T03:04:05.678Z" (UTC) of unix milliseconds.
std::string IsoTime(int64_t ms);
// A Status of `code` with message `m` (kInternal for kOk).
Status StatusWithCode(Status::Code code, std::string m);

}  // namespace walferry::spool
