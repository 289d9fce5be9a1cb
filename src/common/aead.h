// aead.h — authenticated encryption on OpenSSL, the primitives of client-side
// encryption (issue 11; the repository format that uses them is in src/repo/):
//
//   * AES-256-GCM of one message (Seal/Open), for wrapping keys;
//   * HKDF-SHA256 (RFC 5869), for deriving per-purpose keys from a master key;
//   * a chunked AES-256-GCM stream (ChunkedSealSink/ChunkedOpenSink, OpenChunk):
//     the plaintext is cut into chunks of a fixed size; each chunk is sealed on
//     its own with the nonce  prefix(4) || big-endian(index | final << 63)(8)
//     and the caller's associated data, so that truncation (no final chunk),
//     reordering or dropping chunks (the index), appending (data after the final
//     chunk), splicing chunks of another object (another key or associated data)
//     and any flipped bit are all detected, and a chunk's place in the
//     ciphertext is computable (range reads: chunk i starts at i * (size + 16)).
//     Every chunk but the last is exactly `chunk_size` bytes; the last one, the
//     only one sealed as final, holds 1..chunk_size bytes (0 for empty input).
//
// Keys are 32 bytes. The stream's nonces repeat across streams under one key
// only if the caller reuses a (key, prefix) pair: use a fresh data key per
// object (or a fresh random prefix). Nothing here logs or keeps key bytes
// beyond the object's lifetime; key buffers are cleansed on destruction.
// Errors: kInvalidArgument for wrong sizes; kCorruption when authentication
// fails or a stream is truncated, reordered or extended — no plaintext of an
// unauthenticated chunk is ever passed on.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "walferry/bytes.h"
#include "walferry/status.h"

namespace walferry::crypto {

constexpr size_t kAeadKeySize = 32;   // AES-256
constexpr size_t kGcmNonceSize = 12;  // 96-bit IV, GCM's native size
constexpr size_t kGcmTagSize = 16;    // full 128-bit tag
constexpr size_t kDefaultChunkSize = 64 * 1024;

// `n` bytes from OpenSSL's CSPRNG (RAND_bytes); kInternal if it fails.
Result<std::string> RandomBytes(size_t n);

// Overwrites a string holding key material, then empties it (OPENSSL_cleanse).
void Cleanse(std::string& secret);

// AES-256-GCM of one message: returns ciphertext || tag (16 bytes).
Result<std::string> Seal(std::string_view key, std::string_view nonce, std::string_view aad,
                         std::string_view plaintext);
// The inverse; kCorruption when the tag does not match (wrong key, nonce,
// associated data, or damaged bytes).
Result<std::string> Open(std::string_view key, std::string_view nonce, std::string_view aad,
                         std::string_view sealed);

// Seal with a random nonce, stored in front: nonce(12) || ciphertext || tag.
// For small secrets (a master key wrapped under a key-encryption key).
Result<std::string> WrapKey(std::string_view kek, std::string_view aad, std::string_view key);
Result<std::string> UnwrapKey(std::string_view kek, std::string_view aad, std::string_view wrapped);

// HKDF-SHA256 (RFC 5869) of `ikm` with `salt` and `info`: `length` bytes.
Result<std::string> HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                               size_t length);

// The stream's layout, for range reads and size accounting.
struct ChunkLayout {
  size_t chunk_size = kDefaultChunkSize;
  // Chunks in the ciphertext of `plaintext_size` bytes (at least one).
  uint64_t Chunks(uint64_t plaintext_size) const;
  uint64_t SealedSize(uint64_t plaintext_size) const;
  uint64_t ChunkOffset(uint64_t index) const { return index * (chunk_size + kGcmTagSize); }
};

// Seals everything written to it into `next`; Finish() seals the final chunk.
class ChunkedSealSink final : public ByteSink {
 public:
  // key: 32 bytes; prefix: 4 bytes; aad: bound to every chunk.
  static Result<std::unique_ptr<ChunkedSealSink>> New(std::string_view key, std::string_view prefix,
                                                      std::string aad, ByteSink& next,
                                                      size_t chunk_size = kDefaultChunkSize);
  ~ChunkedSealSink() override;
  Status Write(const char* data, size_t n) override;
  Status Finish();
  uint64_t plaintext_size() const { return plaintext_size_; }

 private:
  struct Impl;
  explicit ChunkedSealSink(std::unique_ptr<Impl> impl);
  Status SealChunk(bool final);
  std::unique_ptr<Impl> impl_;
  uint64_t plaintext_size_ = 0;
};

// Opens a sealed stream written to it; passes on the plaintext of each chunk
// only once that chunk is authenticated. Finish() is kCorruption when the
// final chunk is missing; bytes after the final chunk are kCorruption too.
class ChunkedOpenSink final : public ByteSink {
 public:
  static Result<std::unique_ptr<ChunkedOpenSink>> New(std::string_view key, std::string_view prefix,
                                                      std::string aad, ByteSink& next,
                                                      size_t chunk_size = kDefaultChunkSize);
  ~ChunkedOpenSink() override;
  Status Write(const char* data, size_t n) override;
  Status Finish();

 private:
  struct Impl;
  explicit ChunkedOpenSink(std::unique_ptr<Impl> impl);
  Status OpenChunk(bool final);
  std::unique_ptr<Impl> impl_;
};

// Opens chunk `index` alone (a range read): `sealed` is that chunk's bytes,
// chunk data followed by its tag; `final` says whether it is the last chunk.
Result<std::string> OpenChunk(std::string_view key, std::string_view prefix, std::string_view aad,
                              uint64_t index, bool final, std::string_view sealed);

}  // namespace walferry::crypto
