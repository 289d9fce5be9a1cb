// manifest.h — a base backup's manifest: what the backup holds and where its
// bytes are stored. The format is documented in man/walferry-repository.5.
//
// Layout in the repository (every key of a backup under "backup/<NAME>/", so
// deleting a backup is removing that prefix, manifest first):
//   backup/<NAME>/manifest.json   this manifest, written LAST: a backup exists
//                                 if and only if its manifest object exists
//   backup/<NAME>/started         claims the name when the backup starts
//   backup/<NAME>/data/<NNNNNN>   data objects: each one compressed frame
//                                 (the manifest's codec) of the raw bytes of
//                                 one or more files laid end to end
//
// Decoding is strict: a manifest is input from storage that may have been
// tampered with, so every path, key, size and digest is checked before any
// caller sees it (kCorruption naming the manifest and the field).
//
// Byte strings: a file name may be any bytes but NUL and '/'. A path, link
// target, tablespace name or location, backup label or tablespace map that is
// valid UTF-8 (and, for paths, targets, names and locations, has no control
// byte) is stored as a JSON string under its key ("path"); any other is stored
// base64-encoded under the key with "_b64" appended ("path_b64"). Manifests
// that use a "_b64" key have format 2; all others are written as format 1, which
// older walferry versions read. This walferry reads both.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "repo/keys.h"
#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::backup {

constexpr int kManifestFormat = 2;       // the newest format this walferry reads and writes
constexpr int kManifestFormatPlain = 1;  // written when no field needs "_b64"
// A manifest larger than this is refused as corrupt without being decoded
// (about 1.5 million files at ~180 bytes each), so that a damaged or hostile
// one cannot exhaust memory. backup-push refuses to write a larger one.
constexpr uint64_t kMaxManifestBytes = 256ull << 20;
using repo::kBackupPrefix;  // "backup/", see the key aliases below

enum class FileType { kFile, kDir, kLink };
const char* FileTypeName(FileType type);  // "file", "dir", "link"

struct Tablespace {
  uint32_t oid = 0;
  std::string name;      // spcname; may be empty when unknown
  std::string location;  // absolute path of the tablespace on the backed-up host
};

// One stored data object.
struct StoredObject {
  std::string key;        // "backup/<NAME>/data/..."
  uint64_t size = 0;      // bytes stored (compressed)
  std::string sha256;     // of the stored bytes, lowercase hex
  uint64_t raw_size = 0;  // bytes after decompression = the sum of its files' sizes
};

// One entry of the backed-up tree. Paths are relative to the data directory
// ("base/5/1259"); tablespace contents are under "pg_tblspc/<oid>/...".
struct ManifestFile {
  std::string path;
  FileType type = FileType::kFile;
  uint32_t mode = 0;  // permission bits (07777)
  int64_t mtime = 0;  // seconds since the epoch
  // kFile only:
  uint64_t size = 0;               // bytes stored (as read; a file that shrank is stored as read)
  std::string sha256;              // of those bytes, lowercase hex
  std::optional<uint32_t> object;  // index into objects; absent only when size == 0
  uint64_t offset = 0;             // where the file starts in the object's decompressed bytes
  // kLink only:
  std::string target;
};

struct BackupManifest {
  int format = kManifestFormat;
  std::string name;  // "20260120T140312Z"
  std::string kind = "full";
  std::string system_identifier;  // decimal, as text (64 bits do not fit a JSON number)
  std::string pg_version;         // "15"
  uint32_t timeline = 0;
  std::string start_time, stop_time;  // UTC, "2026-01-20T14:03:12Z"
  std::string start_lsn, stop_lsn;    // "0/3000028"
  std::string start_wal, stop_wal;    // 24-hex segment names
  uint32_t wal_segment_size = 0;
  bool from_standby = false;
  Codec compression = Codec::kZstd;
  uint64_t original_bytes = 0;  // sum of file sizes
  uint64_t stored_bytes = 0;    // sum of object sizes
  double duration_seconds = 0;
  std::string backup_label;    // as returned by pg_backup_stop
  std::string tablespace_map;  // as returned by pg_backup_stop; may be empty
  std::vector<Tablespace> tablespaces;
  std::vector<StoredObject> objects;
  std::vector<ManifestFile> files;
  std::string created_by;  // "walferry 0.1.0"
};

// Backup names: 1..64 of [A-Za-z0-9_.-], not starting with '.'.
Status ValidateBackupName(std::string_view name);
// A relative path inside a backup: no leading '/', no empty, "." or ".."
// component, no NUL byte, at most 4096 bytes. Any other byte (control bytes,
// newlines, bytes that are not UTF-8) may be in a name.
Status ValidateRelativePath(std::string_view path);
// `text` for a message or log line: control bytes, backslashes and bytes that
// are not UTF-8 shown as \xNN (so a name cannot forge a log line), at most
// `max` bytes of it.
std::string Printable(std::string_view text, size_t max = 300);

// The keys of a backup are repo's (repo/keys.h): "backup/<NAME>/manifest.json",
// "backup/<NAME>/started" (claims the name when the backup starts and stays
// beside the manifest; without a manifest it marks an interrupted backup),
// "backup/<NAME>/data/000001". Code in src/ says repo::; these aliases keep the
// existing tests and the CLI compiling unchanged.
using repo::BackupPrefix;
using repo::DataObjectKey;
using repo::ManifestKey;
using repo::StartedKey;

// Never throws: any byte string is representable (see "Byte strings" above).
// `manifest.format` is ignored: the format written is the lowest that holds it.
std::string EncodeManifest(const BackupManifest& manifest);
// Parses and validates; `where` names the manifest in errors (its key).
// Everything wrong is kCorruption "manifest '<where>': <field>: <why>"; a
// format newer than kManifestFormat is kUnsupportedFormat. Never throws.
Result<BackupManifest> DecodeManifest(std::string_view text, const std::string& where);

// Reads and decodes one backup's manifest; kNotFound when there is no such
// backup; kCorruption when it is larger than kMaxManifestBytes.
Result<BackupManifest> LoadManifest(Storage& storage, const std::string& name);
// Every backup in the repository (those with a manifest), oldest first (by
// start_time, then name). A manifest that does not decode is an error.
Result<std::vector<BackupManifest>> ListBackups(Storage& storage);

// A backup whose manifest exists but cannot be used.
struct DamagedBackup {
  std::string name;
  Status status;  // why (kCorruption, kUnsupportedFormat for a newer format, ...)
};
struct BackupScan {
  std::vector<BackupManifest> backups;  // oldest first, as ListBackups
  std::vector<DamagedBackup> damaged;   // in name order
};
// Like ListBackups, but a manifest that cannot be read or decoded is listed in
// `damaged` instead of failing the whole listing; a manifest removed while
// listing is skipped. The Result is an error only when the repository itself
// cannot be read (unreachable, credentials, permission).
Result<BackupScan> ScanBackups(Storage& storage);
// True for a Status about one manifest or object (damage, absence, newer
// format), false for one about the repository as a whole.
bool IsPerObjectProblem(const Status& status);
// The names of the backups (manifest objects) without reading them, in key
// order; for callers that report a damaged manifest instead of stopping (verify).
Result<std::vector<std::string>> ListBackupNames(Storage& storage);

// Receives the files stored in one object, in offset order.
class FileVisitor {
 public:
  virtual ~FileVisitor() = default;
  virtual Status Begin(const ManifestFile& file) = 0;
  virtual Status Data(const char* data, size_t n) = 0;
  // Called once the file's size and SHA-256 matched the manifest.
  virtual Status End(const ManifestFile& file) = 0;
};

// Downloads object `index`, checks its stored size and SHA-256, decompresses
// it and hands each of its files to `visitor` (null: only check). kCorruption
// naming the object or file on any mismatch; storage errors as they come.
Status ReadObject(Storage& storage, const BackupManifest& manifest, uint32_t index,
                  FileVisitor* visitor);

// The files stored in each object, sorted by offset (indexes into files).
std::vector<std::vector<size_t>> FilesByObject(const BackupManifest& manifest);

struct Problem {
  std::string where;  // object key (or file path)
  Status status;      // what is wrong (kCorruption, kNotFound, ...)
};
// Checks every object of the backup (size and SHA-256 of the stored bytes)
// and every file in it (size and SHA-256), `parallel` objects at a time.
// Problems are listed, not returned as an error; the Result is an error only
// when the check could not run (e.g. a storage error that is not about one object).
Result<std::vector<Problem>> VerifyBackupObjects(Storage& storage, const BackupManifest& manifest,
                                                 int parallel = 4);

// (LSN text and segment names: pg/lsn.h, pg/wal_segment.h.)
// "YYYY-MM-DDTHH:MM:SSZ" <-> seconds since the epoch.
std::string FormatUtc(int64_t unix_seconds);
Result<int64_t> ParseUtc(std::string_view text);

}  // namespace walferry::backup
