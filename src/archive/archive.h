// archive.h — the two commands PostgreSQL runs: push one WAL file into the
// repository (archive_command) and get one back (restore_command).
#pragma once

#include <string>

#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"
#include "walferry/wal_name.h"

namespace walferry::archive {

struct PushConfig {
  std::string path;      // as PostgreSQL passes %p: relative to data_dir, or absolute
  std::string data_dir;  // PostgreSQL's working directory when it runs archive_command
  Codec codec = Codec::kZstd;
  int level = 3;
};

struct PushResult {
  std::string key;
  uint64_t original_size = 0;
  uint64_t stored_size = 0;
  std::string sha256_hex;
  bool already_archived = false;  // the same content was in the repository already
};

// Stores one WAL file, write-once. Ok only when the repository durably holds
// exactly this content under the file's name (stored now, or found there).
// Errors: kInvalidArgument (not a WAL file name), kAlreadyExists (the name is
// taken by other content: never overwritten), kFailedPrecondition (another
// cluster's WAL), kCorruption (the file is not a whole WAL segment), and the
// storage errors.
Result<PushResult> Push(Storage& storage, const PushConfig& config);

struct GetConfig {
  std::string wal_name;  // %f
  std::string path;      // %p: relative to data_dir, or absolute
  std::string data_dir;
};

struct GetResult {
  std::string key;
  uint64_t size = 0;
  uint64_t stored_size = 0;
};

// Streams the original bytes of the object holding `wal` into `out`, then
// checks them against the object's header (name, size, SHA-256) and codec
// frame. The bytes reach `out` before the verdict: for reading (verify,
// history files), not for putting a file in place. kNotFound when missing.
Result<GetResult> FetchObject(Storage& storage, const WalFileName& wal, ByteSink& out);

// Fetches one WAL file and writes it to `path` atomically, after checking its
// size and SHA-256. kNotFound when the repository does not have it; on any
// error nothing is left at `path` (nor a temp file beside it).
Result<GetResult> Get(Storage& storage, const GetConfig& config);

}  // namespace walferry::archive
