// object.h — the one writer and the one reader of stored objects: what a
// repository holds under a key, as opposed to the original bytes it stands for.
// The format (version 1) is in man/walferry-repository.5, OBJECT FORMAT.
//
// Two layouts exist in format 1:
//   kWal   [header line '\n'][payload]  every object under wal/: the header
//          names the file and carries the codec, size and SHA-256 of the original
//   kData  [payload]                    backup data objects and manifests: the
//          manifest records the codec, the stored size and the stored SHA-256
// The payload is the original through the codec (one self-checking zstd or
// lz4 frame, or the bytes themselves for codec none).
//
// The stages, in the order bytes flow through them:
//   write: original → size + SHA-256 of the original → codec → [encryption,
//          issue 11] → stored size → stored bytes (a ByteSink, one buffer, or a
//          ByteSource a Put reads)
//   read:  stored bytes → stored size (+ SHA-256 when the manifest has one) →
//          header line (kWal) → [decryption, issue 11] → codec → size + SHA-256
//          of the original (kWal) → original bytes
// Encryption (issue 11) is one more stage at the marked places in object.cc:
// compress, then encrypt; decrypt, then decompress. Nothing outside this file
// and object.cc composes these stages.
//
// Contract: a reader hands bytes on before its verdict: Finish() (or the
// Result of GetObject/DecodeObject) is what says they were right, so callers
// that put a file in place write to a temp file and commit only after an ok.
// Every way stored bytes can be wrong — truncated, a flipped byte, trailing
// bytes, a codec other than the header's, another object's header, no header —
// is kCorruption naming the key (from GetObject and DecodeObject; a bare
// ObjectReader's Write passes a codec's error as it comes, for the caller to
// name the object in its own words); a missing object is kNotFound, never
// kCorruption. Memory: every stage holds a bounded buffer (about 1 MiB);
// only InMemory holds the whole object, by design (the spool stages it and
// archive-push PUTs it from there). Not thread-safe: one object per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "walferry/bytes.h"
#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::repo {

// ---- the header line of a kWal object ----

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
// The header of a stored object, read with one small ranged Get: kNotFound
// when missing, kCorruption (naming the key) when empty or without a header.
Result<ObjectHeader> ReadHeader(Storage& storage, const std::string& key);

enum class Layout { kWal, kData };

// ---- writing ----

struct WriteSpec {
  Layout layout = Layout::kData;
  Codec codec = Codec::kNone;
  int level = 0;     // the codec's level (LevelsOf)
  std::string name;  // kWal: the WAL file name the header carries
  // kWal streamed by ObjectWriter::New: the header, known in advance; Finish
  // checks that the original had exactly this size and SHA-256.
  std::optional<ObjectHeader> header;
  // Issue 11 adds here what the encryption stage needs (the key, its
  // generation, the object's key as associated data).

  static WriteSpec Wal(std::string name, Codec codec, int level) {
    return WriteSpec{Layout::kWal, codec, level, std::move(name), std::nullopt};
  }
  static WriteSpec Data(Codec codec, int level) {
    return WriteSpec{Layout::kData, codec, level, "", std::nullopt};
  }
  // A backup's manifest: kData, codec none (its stored bytes are its JSON text).
  static WriteSpec Manifest() { return Data(Codec::kNone, 0); }
};

// A stretch of the original (one file of a bundle): where it starts, its size
// and SHA-256.
struct Part {
  uint64_t offset = 0;
  uint64_t size = 0;
  std::string sha256_hex;
};

// Original bytes in (Write), stored bytes out.
class ObjectWriter final : public ByteSink {
 public:
  // Streams the stored object into `out` as it is written. A kWal object
  // starts with its header, which holds the original's size and SHA-256: it
  // must be known in advance (spec.header); otherwise use InMemory.
  static Result<std::unique_ptr<ObjectWriter>> New(const WriteSpec& spec, ByteSink& out);
  // Builds the object in one buffer, never copied: for kWal, room for the
  // header first, then the payload; Finish puts the header at the end of its
  // room, computed from the bytes written. `size_hint` (the original's size,
  // 0 when unknown) reserves the worst case of the codec once, so that the
  // buffer never grows (growing would hold two copies for a moment).
  static Result<std::unique_ptr<ObjectWriter>> InMemory(const WriteSpec& spec, uint64_t size_hint);
  ~ObjectWriter() override;

  Status Write(const char* data, size_t n) override;  // bytes of the original, in order
  // Ends the current part of the original and returns it; the next part
  // starts here. Without any call, Finish's part is the whole original.
  Part EndPart();
  // Ends the object (the codec's frame; the header of InMemory). Once.
  Status Finish();

  // After Finish:
  const ObjectHeader& header() const {
    return header_;
  }  // name, codec, size, SHA-256 of the original
  uint64_t original_size() const { return original_size_; }
  const Part& last_part() const { return last_part_; }  // the part Finish ended
  uint64_t stored_size() const { return stored_size_; }
  bool finished() const { return finished_; }
  // InMemory only: the stored object, and the whole buffer with the offset at
  // which the object starts in it (the spool stages the buffer as it is).
  std::string_view object() const;
  std::string TakeBuffer(size_t* start);

 private:
  class Stored;  // counts the stored bytes on their way out
  ObjectWriter(const WriteSpec& spec, ByteSink* out);
  Status Start();

  WriteSpec spec_;
  ByteSink* out_;  // New: the caller's sink; InMemory: buffer_
  std::unique_ptr<StringSink> buffer_;
  size_t header_room_ = 0;
  size_t start_ = 0;
  std::unique_ptr<Stored> stored_;
  std::unique_ptr<CompressSink> compress_;
  struct Hash;
  std::unique_ptr<Hash> hash_;
  uint64_t original_size_ = 0;
  uint64_t part_start_ = 0;
  size_t parts_ended_ = 0;
  uint64_t stored_size_ = 0;
  Part last_part_;
  ObjectHeader header_;
  bool finished_ = false;
};

// A Put body that makes the stored object from `original` while the backend
// reads it (a large file: it is never whole in memory). Rewind() rewinds
// `original` and starts the object again, so a retried upload stores, and
// describes in writer(), exactly what was sent. `original` is read in pieces
// of 1 MiB (a multiple of PostgreSQL's page size).
class ObjectSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<ObjectSource>> New(const WriteSpec& spec, ByteSource& original);
  Result<size_t> Read(char* buf, size_t n) override;
  Status Rewind() override;
  std::optional<uint64_t> Size() const override { return std::nullopt; }
  // The writer of the current pass: its figures are final once Read returned 0.
  const ObjectWriter& writer() const { return *writer_; }

 private:
  ObjectSource(const WriteSpec& spec, ByteSource& original) : spec_(spec), original_(original) {}
  Status Restart();

  WriteSpec spec_;
  ByteSource& original_;
  StringSink pending_;
  std::unique_ptr<ObjectWriter> writer_;
  std::string chunk_;
  size_t pos_ = 0;
  bool done_ = false;
  bool touched_ = false;
};

// A whole object from bytes in memory (manifests), put with `options`.
Result<PutResult> PutObject(Storage& storage, const std::string& key, const WriteSpec& spec,
                            std::string_view original, const PutOptions& options = {});

// ---- reading ----

struct ReadSpec {
  Layout layout = Layout::kData;
  std::string key;   // names the object in errors
  std::string name;  // kWal: the name its header must carry
  // kData: the codec, and what the manifest recorded of the stored bytes
  // (checked at the end when present).
  Codec codec = Codec::kNone;
  struct Recorded {
    uint64_t size = 0;
    std::string sha256_hex;
  };
  std::optional<Recorded> recorded;
  // Issue 11 adds here what the decryption stage needs.

  static ReadSpec Wal(std::string key, std::string name) {
    return ReadSpec{Layout::kWal, std::move(key), std::move(name), Codec::kNone, std::nullopt};
  }
  static ReadSpec Data(std::string key, Codec codec,
                       std::optional<Recorded> recorded = std::nullopt) {
    return ReadSpec{Layout::kData, std::move(key), "", codec, std::move(recorded)};
  }
  static ReadSpec Manifest(std::string key) { return Data(std::move(key), Codec::kNone); }
};

// Stored bytes in (Write: the sink of Storage::Get), original bytes out.
class ObjectReader final : public ByteSink {
 public:
  ObjectReader(ReadSpec spec, ByteSink& out);
  ~ObjectReader() override;
  Status Write(const char* data, size_t n) override;  // stored bytes, in order
  // After the last byte, in this order: the stored size and SHA-256 (kData,
  // when recorded), a header line (kWal), the codec's frame complete, the
  // header's name, the original's size and SHA-256 against the header (kWal).
  Status Finish();

  const ObjectHeader& header() const { return header_; }  // kWal, once read
  uint64_t original_size() const;
  uint64_t stored_size() const { return stored_size_; }
  const std::string& original_sha256() const { return original_sha256_; }  // kWal, after Finish

 private:
  Status StartPayload();

  ReadSpec spec_;
  struct Hashes;
  std::unique_ptr<Hashes> hashes_;
  std::string head_;  // kWal: the header line until its '\n'
  bool in_payload_ = false;
  ObjectHeader header_;
  std::unique_ptr<DecompressSink> decompress_;
  uint64_t stored_size_ = 0;
  std::string original_sha256_;
};

struct ReadResult {
  uint64_t original_size = 0;
  uint64_t stored_size = 0;
  std::string original_sha256;  // kWal
  ObjectHeader header;          // kWal
};
// Storage → reader → `out`, verified at the end (Finish). kNotFound when the
// object is missing; a kCorruption that does not name the key yet is
// annotated "object '<key>' in <repository>".
Result<ReadResult> GetObject(Storage& storage, const ReadSpec& spec, ByteSink& out);
// The same for a stored object held in memory (a staged copy); kCorruption
// that does not name spec.key yet is annotated "'<key>'".
Result<ReadResult> DecodeObject(std::string_view stored, const ReadSpec& spec, ByteSink& out);

}  // namespace walferry::repo
