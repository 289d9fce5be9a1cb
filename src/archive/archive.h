// archive.h — the two commands PostgreSQL runs: push one WAL file into the
// repository (archive_command) and get one back (restore_command).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "pg/wal_page.h"
#include "repo/identity.h"
#include "repo/object.h"
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
// When the name is taken, the stored object is read back whole and verified:
// exactly this content is success (already_archived). Errors: kInvalidArgument
// (not a WAL file name), kAlreadyExists (the name is taken by other, valid
// content: never overwritten), kCorruption (the file is not a whole WAL
// segment, or the stored copy under its name is damaged: never overwritten
// either), kWrongRepository (another cluster's WAL), kIo/kPermission (the
// local file), and the storage errors.
Result<PushResult> Push(Storage& storage, const PushConfig& config);

// Push in two steps, for the spool: BuildObject reads, checks, hashes and
// compresses the file into the stored object (repo::ObjectWriter::InMemory:
// at most the segment's size plus 1 MiB of read buffer); StoreObject checks the cluster
// against the repository's identity and stores it write-once (Push's rules).
struct SourceStat {  // the file that was read, as fstat(2) saw it
  uint64_t dev = 0, ino = 0, size = 0;
  int64_t mtime_ns = 0;
};
struct BuiltObject {
  std::string name;  // WAL file name
  std::string key;   // object key
  repo::ObjectHeader header;
  std::optional<pg::WalPageIdentity> page;
  std::optional<repo::ClusterIdentity> local;  // pg_control of data_dir
  SourceStat source;
  std::string buffer;  // [room][header line][compressed bytes]
  size_t start = 0;    // where the object starts in buffer
  std::string_view object() const { return std::string_view(buffer).substr(start); }
};
// `after_first_read` (optional) runs once the first chunk was read and checked.
Result<BuiltObject> BuildObject(const PushConfig& config,
                                const std::function<void()>& after_first_read = {});
Result<PushResult> StoreObject(Storage& storage, const BuiltObject& built,
                               const repo::ClusterIdentity& repo);

struct GetConfig {
  std::string wal_name;  // %f
  std::string path;      // %p: relative to data_dir, or absolute
  std::string data_dir;
  // The file at `path` (temp, fsync, rename, directory fsync) goes through it.
  fs::LocalFs* local_fs = &fs::LocalFs::Posix();
};

struct GetResult {
  std::string key;
  uint64_t size = 0;         // of the original file, verified
  uint64_t stored_size = 0;  // of the object
  std::string sha256_hex;    // of the original file, verified
};

// Streams the original bytes of the object holding `wal` into `out`, then
// checks them against the object's header (name, size, SHA-256) and codec
// frame (repo::GetObject). The bytes reach `out` before the verdict: for reading (verify,
// history files), not for putting a file in place. kNotFound when missing.
Result<GetResult> FetchObject(Storage& storage, const WalFileName& wal, ByteSink& out);
// The same checks for an object held in memory (a staged copy): decodes it into
// `out` and verifies name, size and SHA-256; `where` names it in errors.
Result<GetResult> DecodeObject(std::string_view object, const WalFileName& wal,
                               const std::string& where, ByteSink& out);

// Fetches one WAL file and writes it to `path` atomically, after checking its
// size and SHA-256. kNotFound when the repository does not have it; on any
// error nothing is left at `path` (nor a temp file beside it).
Result<GetResult> Get(Storage& storage, const GetConfig& config);

}  // namespace walferry::archive
