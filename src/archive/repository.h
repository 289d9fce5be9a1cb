// repository.h — walferry's repository format for WAL: the identity file, the
// header every stored object starts with, and reading a WAL page header.
// The format is documented, with its version, in man/walferry-repository.5.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "pg/wal_page.h"
#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::archive {

constexpr int kRepositoryFormat = 1;
constexpr char kIdentityKey[] = "walferry.repo";

// The cluster a repository belongs to.
struct ClusterIdentity {
  uint64_t system_identifier = 0;
  std::string pg_version;         // "15"; "" when unknown
  uint32_t wal_segment_size = 0;  // bytes; 0 when unknown
};

// The repository's identity file; nullopt when the repository has none yet.
// kFailedPrecondition when it is of a format this walferry does not read.
Result<std::optional<ClusterIdentity>> LoadIdentity(Storage& storage);
// Creates the identity file once (only-if-absent). When another process
// created it first, the stored identity is returned instead.
Result<ClusterIdentity> CreateIdentity(Storage& storage, const ClusterIdentity& identity);
// The identity, or kFailedPrecondition when the repository was never created
// (`walferry repo-create`): a missing repository — an unmounted filesystem, a
// wrong prefix — must never look like a missing WAL file.
Result<ClusterIdentity> RequireIdentity(Storage& storage);

// `walferry repo-create`: ties an empty repository to the cluster whose data
// directory is `data_dir`. Ok when it already belongs to that cluster;
// kFailedPrecondition when it belongs to another.
struct CreateResult {
  ClusterIdentity identity;
  bool created = false;  // false: it existed already, for this cluster
};
Result<CreateResult> CreateRepository(Storage& storage, const std::string& data_dir);

// Every stored WAL object: one JSON line, then the (compressed) bytes.
struct ObjectHeader {
  std::string name;  // the WAL file name
  Codec codec = Codec::kZstd;
  uint64_t size = 0;       // of the original file
  std::string sha256_hex;  // of the original file
};
std::string EncodeHeader(const ObjectHeader& header);  // ends in '\n'
// Parses a header line (without the '\n'); `key` names the object in errors.
Result<ObjectHeader> DecodeHeader(std::string_view line, const std::string& key);
constexpr size_t kMaxHeaderSize = 4096;
// The header of a stored object, read with one small ranged Get.
Result<ObjectHeader> ReadHeader(Storage& storage, const std::string& key);

// The identity of the cluster whose data directory is `data_dir` (from
// global/pg_control and PG_VERSION); nullopt when it is not a data directory.
std::optional<ClusterIdentity> ReadDataDirIdentity(const std::string& data_dir);

}  // namespace walferry::archive
