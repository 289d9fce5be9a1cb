// identity.h — the repository's identity file, `walferry.repo`: which cluster a
// repository belongs to. Written once (only-if-absent) by `walferry repo-create`
// and never modified; every command that reads or writes WAL or backups first
// requires it, so that a missing repository (an unmounted filesystem, a wrong
// prefix) never looks like a missing WAL file. The file's format, with its
// version, is in man/walferry-repository.5.
//
// Contract: every function reads or writes only the key repo::kIdentityKey
// (keys.h). A stored identity file is untrusted input: any damage is an error
// naming it (kFailedPrecondition), never an exception. Thread-safe as far as
// the Storage passed in is.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::repo {

constexpr int kRepositoryFormat = 1;

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

// The identity of the cluster whose data directory is `data_dir` (from
// global/pg_control and PG_VERSION); nullopt when it is not a data directory.
std::optional<ClusterIdentity> ReadDataDirIdentity(const std::string& data_dir);

}  // namespace walferry::repo
