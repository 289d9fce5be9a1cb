#include "repo/identity.h"

#include <nlohmann/json.hpp>

#include "pg/control_file.h"
#include "pg/wal_page.h"
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
  if (j["format"].get<int>() != kRepositoryFormat) {
    return bad("has format " + std::to_string(j["format"].get<int>()) +
               "; this walferry reads format " + std::to_string(kRepositoryFormat));
  }
  if (!j.contains("system_identifier") || !j["system_identifier"].is_string())
    return bad("has no system identifier");
  ClusterIdentity id;
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
  json j = {{"format", kRepositoryFormat},
            {"system_identifier",
             Hex64(identity.system_identifier)},  // as text: JSON numbers lose 64-bit precision
            {"pg_version", identity.pg_version},
            {"wal_segment_size", identity.wal_segment_size},
            {"created_by", std::string("walferry ") + WALFERRY_VERSION}};
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
  if (id->has_value()) return **id;
  return Status::FailedPrecondition("there is no walferry repository at " + storage.Describe() +
                                    " (no '" + kIdentityKey + "')")
      .WithHint(
          "check --repo (and that its filesystem is mounted); create a new repository once with "
          "'walferry repo-create' in the cluster's data directory");
}

Result<CreateResult> CreateRepository(Storage& storage, const std::string& data_dir) {
  auto local = ReadDataDirIdentity(data_dir);
  if (!local) {
    return Status::InvalidArgument(
               "'" + data_dir +
               "' is not a PostgreSQL data directory (no readable global/pg_control)")
        .WithHint("run repo-create in the data directory, or pass --pg-data DIR");
  }
  auto existing = LoadIdentity(storage);
  if (!existing.ok()) return existing.status();
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
  return CreateResult{id, false};
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
