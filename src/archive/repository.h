// repository.h — the header every stored WAL object starts with.
// The format is documented, with its version, in man/walferry-repository.5.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "repo/identity.h"
#include "repo/keys.h"
#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::archive {

// The identity file and the keys moved to src/repo/ (identity.h, keys.h).
// These aliases keep callers outside archive/ compiling until they say repo::
// themselves (the spool, the CLI and their tests are being reshaped by other
// branches of issue 9); new code uses repo:: directly.
using repo::ClusterIdentity;
using repo::CreateIdentity;
using repo::CreateRepository;
using repo::CreateResult;
using repo::kIdentityKey;
using repo::kRepositoryFormat;
using repo::LoadIdentity;
using repo::ReadDataDirIdentity;
using repo::RequireIdentity;

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

}  // namespace walferry::archive

namespace walferry {
using repo::WalObjectKey;  // transitional, as above: was declared in walferry/wal_name.h
}  // namespace walferry
