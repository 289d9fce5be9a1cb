#include "repo/identity.h"

#include <nlohmann/json.hpp>

#include "common/aead.h"
#include "common/crypto.h"
#include "pg/control_file.h"
#include "pg/wal_page.h"
#include "repo/keyring.h"
#include "repo/keys.h"

namespace walferry::repo {
namespace {

using nlohmann::json;

std::string Hex64(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

Result<std::optional<ClusterIdentity>> LoadIdentity(Storage& storage) {
  auto text = GetString(storage, kIdentityKey);
  if (!text.ok()) {
    if (text.status().IsNotFound()) return std::optional<ClusterIdentity>();
    return text.status();
  }
  json j = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  auto bad = [&](const std::string& why) {
    return Status::FailedPrecondition("repository " + storage.Describe() + ": '" + kIdentityKey +
                                      "' " + why)
        .WithHint("is --repo the right repository? see walferry-repository(5)");
  };
  if (!j.is_object() || !j.contains("format") || !j["format"].is_number_integer())
    return bad("is not a walferry identity file");
  int format = j["format"].get<int>();
  if (format != 1 && format != 2) {
    return bad("has format " + std::to_string(format) + "; this walferry reads formats 1 to " +
               std::to_string(kRepositoryFormat));
  }
  if (!j.contains("system_identifier") || !j["system_identifier"].is_string())
    return bad("has no system identifier");
  ClusterIdentity id;
  id.format = format;
  if (format == 2) {
    if (!j.contains("repository_id") || !j["repository_id"].is_string())
      return bad("has no repository id");
    id.repository_id = j["repository_id"].get<std::string>();
    if (id.repository_id.size() != 32 ||
        id.repository_id.find_first_not_of("0123456789abcdef") != std::string::npos) {
      return bad("has a malformed repository id");
    }
    if (!j.contains("encryption") || !j["encryption"].is_string())
      return bad("does not say whether the repository is encrypted");
    id.encryption = j["encryption"].get<std::string>();
    if (id.encryption != kEncryptionNone && id.encryption != kEncryptionAes256Gcm)
      return bad("has encryption '" + id.encryption + "', which this walferry does not know");
  }
  try {
    id.system_identifier = std::stoull(j["system_identifier"].get<std::string>());
  } catch (...) {
    return bad("has a malformed system identifier");
  }
  // Every field is checked for its type: a crafted identity file is an
  // error naming it, never an exception (nlohmann's value() throws on a type
  // mismatch).
  if (j.contains("pg_version")) {
    if (!j["pg_version"].is_string()) return bad("has a pg_version that is not text");
    id.pg_version = j["pg_version"].get<std::string>();
  }
  if (j.contains("wal_segment_size")) {
    const json& v = j["wal_segment_size"];
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() == 0)) {
      return bad("has a wal_segment_size that is not a whole number");
    }
    uint64_t size = v.get<uint64_t>();
    // 0: recorded by versions that did not know the size (no check then).
    if (size != 0 && !pg::ValidWalSegmentSize(size)) {
      return bad("has wal_segment_size " + std::to_string(size) +
                 ", not a power of two from 1 MiB to 1 GiB");
    }
    id.wal_segment_size = static_cast<uint32_t>(size);
  }
  return std::optional<ClusterIdentity>(id);
}

Result<ClusterIdentity> CreateIdentity(Storage& storage, const ClusterIdentity& identity) {
  json j = {{"format", 1},
            {"system_identifier",
             Hex64(identity.system_identifier)},  // as text: JSON numbers lose 64-bit precision
            {"pg_version", identity.pg_version},
            {"wal_segment_size", identity.wal_segment_size},
            {"created_by", std::string("walferry ") + WALFERRY_VERSION}};
  if (identity.format != 1) {
    j["format"] = 2;
    j["repository_id"] = identity.repository_id;
    j["encryption"] = identity.encryption;
  }
  PutOptions o;
  o.if_absent = true;
  auto put = PutString(storage, kIdentityKey, j.dump(2) + "\n", o);
  if (put.ok()) return identity;
  if (!put.status().IsAlreadyExists()) return put.status();
  auto stored = LoadIdentity(storage);
  if (!stored.ok()) return stored.status();
  if (!stored->has_value())
    return Status::Unavailable("repository identity appeared and vanished; try again");
  return **stored;
}

Result<ClusterIdentity> RequireIdentity(Storage& storage) {
  auto id = LoadIdentity(storage);
  if (!id.ok()) return id.status();
  if (id->has_value() && (*id)->encrypted()) {
    // Until every reader and writer of objects has its encryption stage, a
    // command refuses an encrypted repository rather than store plaintext.
    return Status::NotSupported("repository " + storage.Describe() +
                                " is encrypted; this walferry cannot yet read or write its WAL "
                                "and backups")
        .WithHint("see docs/ENCRYPTION.md, 'What remains'; use a plaintext repository meanwhile");
  }
  if (id->has_value()) return **id;
  return Status::FailedPrecondition("there is no walferry repository at " + storage.Describe() +
                                    " (no '" + kIdentityKey + "')")
      .WithHint(
          "check --repo (and that its filesystem is mounted); create a new repository once with "
          "'walferry repo-create' in the cluster's data directory");
}

namespace {

// Repository id: 16 random bytes in hex.
Result<std::string> NewRepositoryId() {
  auto bytes = crypto::RandomBytes(16);
  if (!bytes.ok()) return bytes.status();
  return crypto::Hex(*bytes);
}

// `local` made an encrypted format-2 identity: a repository id, the keyring
// (before the identity file names it), then the identity file.
Result<CreateResult> CreateEncrypted(Storage& storage, ClusterIdentity local,
                                     const std::string& kek) {
  auto id = NewRepositoryId();
  if (!id.ok()) return id.status();
  local.format = 2;
  local.repository_id = *id;
  local.encryption = kEncryptionAes256Gcm;
  auto ring = Keyring::Create(storage, local.repository_id, kek);
  if (!ring.ok()) {
    if (ring.status().IsAlreadyExists()) {
      return Status::FailedPrecondition("repository " + storage.Describe() +
                                        " has key objects under '" + kKeyringPrefix +
                                        "' but no identity file")
          .WithHint("a repo-create --encryption was interrupted or raced; remove '" +
                    std::string(kKeyringPrefix) + "' if the repository holds nothing else");
    }
    return ring.status();
  }
  auto created = CreateIdentity(storage, local);
  if (!created.ok()) return created.status();
  if (created->repository_id != local.repository_id) {
    return Status::FailedPrecondition("repository " + storage.Describe() +
                                      " was created by another process at the same time")
        .WithHint("run repo-create once");
  }
  return CreateResult{*created, true, ring->current()};
}

}  // namespace

Result<CreateResult> CreateRepository(Storage& storage, const std::string& data_dir) {
  return CreateRepository(storage, CreateSpec{data_dir, std::nullopt});
}

Result<CreateResult> CreateRepository(Storage& storage, const CreateSpec& spec) {
  const std::string& data_dir = spec.data_dir;
  auto local = ReadDataDirIdentity(data_dir);
  if (!local) {
    return Status::InvalidArgument(
               "'" + data_dir +
               "' is not a PostgreSQL data directory (no readable global/pg_control)")
        .WithHint("run repo-create in the data directory, or pass --pg-data DIR");
  }
  auto existing = LoadIdentity(storage);
  if (!existing.ok()) return existing.status();
  if (!existing->has_value() && spec.kek) return CreateEncrypted(storage, *local, *spec.kek);
  if (!existing->has_value()) {
    auto created = CreateIdentity(storage, *local);
    if (!created.ok()) return created.status();
    existing = std::optional<ClusterIdentity>(*created);
    if (created->system_identifier == local->system_identifier) return CreateResult{*created, true};
  }
  const ClusterIdentity& id = **existing;
  if (id.system_identifier != local->system_identifier) {
    return Status::FailedPrecondition("repository " + storage.Describe() +
                                      " belongs to the cluster with system identifier " +
                                      std::to_string(id.system_identifier) + ", not to this one (" +
                                      std::to_string(local->system_identifier) + ")")
        .WithHint("give each cluster its own repository or prefix");
  }
  if (spec.kek && !id.encrypted()) {
    return Status::FailedPrecondition("repository " + storage.Describe() +
                                      " exists and is not encrypted")
        .WithHint(
            "an existing repository is never encrypted in place; create a new one (another "
            "prefix) with --encryption");
  }
  if (!spec.kek && id.encrypted()) {
    return Status::FailedPrecondition("repository " + storage.Describe() +
                                      " exists and is encrypted")
        .WithHint("pass --encryption and its key-encryption key to check it");
  }
  uint32_t generation = 0;
  if (spec.kek) {
    auto ring = Keyring::Open(storage, id.repository_id, *spec.kek);
    if (!ring.ok()) return ring.status();
    generation = ring->current();
  }
  return CreateResult{id, false, generation};
}

std::optional<ClusterIdentity> ReadDataDirIdentity(const std::string& data_dir) {
  auto facts = pg::ReadDataDirFacts(data_dir);
  if (!facts) return std::nullopt;
  ClusterIdentity id;
  id.system_identifier = facts->system_identifier;
  id.pg_version = facts->pg_version;
  id.wal_segment_size = facts->wal_segment_size;  // 0 when pg_control does not say
  return id;
}

}  // namespace walferry::repo
