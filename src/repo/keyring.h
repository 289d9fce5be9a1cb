// keyring.h — an encrypted repository's master keys (issue 11; the design is in
// docs/ENCRYPTION.md). Not yet used by any command.
//
// Three layers, so that keys rotate and KEKs change without rewriting data:
//   * the operator's key-encryption keys (KEKs, common/key_source.h), outside
//     the repository; each one wraps
//   * the keyring key (32 random bytes, one per repository), which wraps
//   * the master keys, in *generations* 1, 2, ...: new objects use the newest
//     (current) generation, old objects keep the one their header names, so a
//     rotation re-encrypts nothing; each object's data key is derived from its
//     generation's master key (DataKey).
// Objects (each written twice, NAME.json and NAME.copy.json; a reader takes
// whichever copy authenticates): keys/kek-<fingerprint>.json, the keyring key
// wrapped under one KEK; keys/gen-NNNNNN.json, one generation's master key
// wrapped under the keyring key. Every wrap is AES-256-GCM (common/aead.h)
// with associated data naming the repository id and the KEK or generation, so
// no wrap can be moved to another repository, KEK slot or generation. A KEK is
// named by its fingerprint (HMAC-SHA256 of a fixed text under the KEK, first
// 8 bytes), which reveals nothing of it.
//
// What this does not protect against (say it in the man page): a leaked master
// key or keyring key exposes what it encrypted until the data is rewritten
// under new keys; removing a KEK does not stop whoever kept a copy of its
// keys/kek-* object and the KEK.
//
// Concurrency: a generation is created only-if-absent (storage.h), so of two
// concurrent rotations exactly one creates the next generation and the other
// adopts it. Errors: kAuth when the configured KEK is not one of the
// repository's (its message lists the fingerprints it knows), kCorruption for
// damaged key objects (both copies), kAlreadyExists when creating a keyring
// where one exists, storage errors as they come.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::repo {

constexpr char kKeyringPrefix[] = "keys/";

// The fingerprint naming a KEK in key objects and messages: 16 hex digits.
std::string KekFingerprint(std::string_view kek);

struct GenerationInfo {
  uint32_t id = 0;
  std::string created;  // UTC, ISO 8601
};

// The derivations a keyring makes from a generation's master key (exposed for
// the format vectors of tests/unit/repo/keyring_test.cc: they must never drift).
Result<std::string> DeriveDataKey(std::string_view master, const std::string& repository_id,
                                  std::string_view salt, std::string_view object_name);
Result<std::string> DeriveContentIdKey(std::string_view master, const std::string& repository_id);

class Keyring {
 public:
  // Creates the keyring key and generation 1, wrapped under `kek`
  // (repo-create --encryption).
  static Result<Keyring> Create(Storage& storage, const std::string& repository_id,
                                std::string_view kek);
  // Unwraps the keyring key with `kek`, then every generation.
  static Result<Keyring> Open(Storage& storage, const std::string& repository_id,
                              std::string_view kek);

  Keyring(Keyring&&) noexcept = default;
  Keyring& operator=(Keyring&&) noexcept = default;
  ~Keyring();

  uint32_t current() const { return keys_.rbegin()->first; }
  bool Has(uint32_t generation) const { return keys_.count(generation) != 0; }
  const std::vector<GenerationInfo>& generations() const { return info_; }
  // Fingerprints of every KEK the keyring key is wrapped under.
  Result<std::vector<std::string>> Keks(Storage& storage) const;

  // A new generation for new writes; returns its id. When another process
  // rotated at the same moment, its generation is adopted instead.
  Result<uint32_t> Rotate(Storage& storage);
  // Wraps the keyring key under `other` too / removes the wrap under the KEK
  // with fingerprint `print` (refused for the last one). No data is rewritten.
  Status AddKek(Storage& storage, std::string_view other);
  Status RemoveKek(Storage& storage, const std::string& print);

  // An object's data key: HKDF-SHA256 of the generation's master key with the
  // object's random salt, bound to the repository and the object's name.
  Result<std::string> DataKey(uint32_t generation, std::string_view salt,
                              std::string_view object_name) const;
  // The key of an object's content id (HMAC-SHA256 of its plaintext), which
  // lets a re-push compare contents without decrypting.
  Result<std::string> ContentIdKey(uint32_t generation) const;

 private:
  explicit Keyring(std::string repository_id) : id_(std::move(repository_id)) {}
  Status LoadGenerations(Storage& storage);
  Result<std::string> MasterKey(uint32_t generation) const;

  std::string id_;
  std::string keyring_key_;
  std::map<uint32_t, std::string> keys_;  // generation -> master key
  std::vector<GenerationInfo> info_;
};

}  // namespace walferry::repo
