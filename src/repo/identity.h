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

// Format 1: a plaintext repository (what every walferry before issue 11 wrote;
// repo-create still writes it without --encryption). Format 2 adds a random
// repository id and the repository's encryption (man/walferry-repository.5).
constexpr int kRepositoryFormat = 2;  // the newest format this walferry reads
constexpr char kEncryptionNone[] = "none";
constexpr char kEncryptionAes256Gcm[] = "aes-256-gcm";

// The cluster a repository belongs to, and how the repository stores it.
struct ClusterIdentity {
  uint64_t system_identifier = 0;
  std::string pg_version;                    // "15"; "" when unknown
  uint32_t wal_segment_size = 0;             // bytes; 0 when unknown
  int format = 1;                            // 1 or 2
  std::string repository_id{};               // format 2: 32 hex digits, random; "" in format 1
  std::string encryption = kEncryptionNone;  // format 2: "none" or "aes-256-gcm"
  bool encrypted() const { return encryption != kEncryptionNone; }
};

// The repository's identity file; nullopt when the repository has none yet.
// kFailedPrecondition when it is of a format this walferry does not read.
Result<std::optional<ClusterIdentity>> LoadIdentity(Storage& storage);
// Creates the identity file once (only-if-absent): format 1 when
// identity.format is 1, else format 2 with identity.repository_id and
// identity.encryption. When another process created it first, the stored
// identity is returned instead.
Result<ClusterIdentity> CreateIdentity(Storage& storage, const ClusterIdentity& identity);
// The identity, or kFailedPrecondition when the repository was never created
// (`walferry repo-create`): a missing repository — an unmounted filesystem, a
// wrong prefix — must never look like a missing WAL file. An encrypted
// repository is refused (kNotSupported) until the commands read and write
// encrypted objects (issue 11, docs/ENCRYPTION.md): no command may write
// plaintext into it.
Result<ClusterIdentity> RequireIdentity(Storage& storage);

// `walferry repo-create`: ties an empty repository to the cluster whose data
// directory is `data_dir`. Ok when it already belongs to that cluster;
// kFailedPrecondition when it belongs to another, or when it exists with
// another encryption than asked for.
//
// With `kek` (32 bytes, repo-create --encryption) the repository is format 2,
// encrypted: its keyring (repo/keyring.h, generation 1 wrapped under the KEK)
// is written before the identity file, so an identity that says "encrypted"
// always has its keys. For an existing encrypted repository the KEK must open
// its keyring (kAuth otherwise).
struct CreateResult {
  ClusterIdentity identity;
  bool created = false;     // false: it existed already, for this cluster
  uint32_t generation = 0;  // encrypted: the keyring's current generation
};
struct CreateSpec {
  std::string data_dir;
  std::optional<std::string> kek;  // set: create an encrypted repository
};
Result<CreateResult> CreateRepository(Storage& storage, const CreateSpec& spec);
Result<CreateResult> CreateRepository(Storage& storage, const std::string& data_dir);

// The identity of the cluster whose data directory is `data_dir` (from
// global/pg_control and PG_VERSION); nullopt when it is not a data directory.
std::optional<ClusterIdentity> ReadDataDirIdentity(const std::string& data_dir);

}  // namespace walferry::repo
