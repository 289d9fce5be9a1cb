// storage.h — the one seam between walferry and where its repository lives.
//
// Every command reads and writes the repository through `Storage`; nothing
// else talks to S3 or to the repository directory. Two real backends exist
// (file:// and s3://) and one in-memory backend for unit tests; all of them pass
// the same conformance suite (tests/conformance/storage_conformance_test.cc).
//
// Keys are relative, '/'-separated paths such as "wal/000000010000000000000001".
// A valid key is 1..1024 bytes, does not start or end with '/', has no empty,
// "." or ".." segment, no NUL or control byte, and no segment starting with
// ".wf-tmp." (reserved for the file backend's temp files). Any other byte is
// allowed (spaces, '+', '%', '=', UTF-8). Invalid keys give kInvalidArgument.
// Portable key sets never use one key as the directory of another ("a" and
// "a/b"): object stores allow it, the file backend cannot (kIo).
//
// Errors: every method returns a Status whose code says what happened and
// whose Retryable() says whether the same call may succeed later. Backends
// retry transient failures themselves (bounded in count and time) before
// returning kUnavailable, so callers do not wrap them in another retry loop.
//
// Thread safety: all methods of a Storage may be called from many threads at
// once on the same object.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "walferry/bytes.h"
#include "walferry/status.h"

namespace walferry {

struct PutOptions {
  // Create the object only if no object with this key exists. When one does,
  // Put returns kAlreadyExists and leaves the stored object unchanged. Atomic:
  // of several concurrent only-if-absent Puts of one key, exactly one succeeds.
  bool if_absent = false;
  // When set, the body must be exactly this many bytes (else kCorruption).
  std::optional<uint64_t> size;
  // When set, the SHA-256 (lowercase hex) the body must have (else kCorruption).
  std::optional<std::string> sha256_hex;
};

struct PutResult {
  uint64_t size = 0;
  std::string sha256_hex;  // of the bytes stored, computed while sending
};

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t mtime_unix = 0;  // last modification, seconds since the epoch
  std::string etag;        // backend-specific version tag; may be empty
};

// Bytes [offset, offset + length) of an object; no length means to the end.
// A length, when given, must be at least 1.
struct ByteRange {
  uint64_t offset = 0;
  std::optional<uint64_t> length;
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Where this storage points, for messages: "s3://bucket/prefix" or
  // "file:///path". Never contains credentials.
  virtual std::string Describe() const = 0;

  // Stores `body` under `key`, replacing any object there (unless if_absent).
  // Atomic: readers see the old object or the whole new one, never a part.
  // Durable on success: the bytes are on stable storage (file: fsync of file
  // and directory; s3: the server acknowledged a payload whose SHA-256 and MD5
  // it verified). On any failure nothing new is visible under `key`.
  // Idempotent: repeating a Put with the same body gives the same state.
  virtual Result<PutResult> Put(const std::string& key, ByteSource& body,
                                const PutOptions& options) = 0;

  // Writes the object's bytes (or the range) to `sink`. Missing key:
  // kNotFound, and nothing is written to the sink. A range starting at or past
  // the end (so any range of an empty object) is kInvalidArgument; a range
  // running past the end is cut at the end.
  // Transient failures are retried from the first byte not yet delivered, so
  // the sink sees every byte once. If the object is replaced during the Get,
  // the result is kUnavailable (never a mix of two versions).
  virtual Status Get(const std::string& key, ByteSink& sink,
                     std::optional<ByteRange> range = std::nullopt) = 0;

  // Size, mtime and etag of one object. Missing key: kNotFound.
  virtual Result<ObjectInfo> Head(const std::string& key) = 0;

  // Calls `visit` for every object whose key starts with `prefix` (plain
  // string prefix, "" for all), in ascending byte order of the key, across
  // all pages. Stops and returns the first non-ok Status `visit` returns.
  // No objects is not an error. Objects written during the listing may or
  // may not appear.
  virtual Status List(const std::string& prefix,
                      const std::function<Status(const ObjectInfo&)>& visit) = 0;

  // Deletes one object. Missing key: ok (idempotent).
  virtual Status Remove(const std::string& key) = 0;

  // Deletes many objects (in batches of up to 1000 on S3). Missing keys are
  // ok. Not atomic as a whole: on failure some keys may be gone; the Status
  // names the first key that failed, and repeating the call converges.
  virtual Status RemoveMany(const std::vector<std::string>& keys) = 0;
};

// kInvalidArgument naming the problem when `key` is not a valid key.
Status ValidateKey(std::string_view key);
// ValidateKey, plus a range with length 0 is kInvalidArgument. Every Get starts here.
Status ValidateGet(std::string_view key, const std::optional<ByteRange>& range);

// For backends: kCorruption naming `op` when the body read for a Put does not
// have the size or SHA-256 that `options` expects (checked before anything is stored).
Status CheckPutExpectations(const PutResult& body, const PutOptions& options,
                            const std::string& op);

// Convenience wrappers over the interface.
Result<std::string> GetString(Storage& storage, const std::string& key,
                              std::optional<ByteRange> range = std::nullopt);
Result<PutResult> PutString(Storage& storage, const std::string& key, std::string_view data,
                            const PutOptions& options = {});
Result<std::vector<ObjectInfo>> ListAll(Storage& storage, const std::string& prefix);

// How long and how often transient failures are retried.
struct RetryPolicy {
  int max_attempts = 6;     // attempts per request, first included
  double max_seconds = 60;  // no new attempt starts after this long
  double base_delay_seconds = 0.1;
  double max_delay_seconds = 5;  // cap of one backoff sleep (full jitter below it)
};

struct S3Config {
  std::string bucket;
  std::string prefix;    // without leading or trailing '/'; may be empty
  std::string endpoint;  // "https://host:port"; empty = AWS regional endpoint
  std::string region = "us-east-1";
  std::string uri_style = "host";  // "host" (virtual-hosted) or "path"
  std::string ca_file;             // PEM bundle to trust instead of the system's
  bool verify_tls = true;
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  // Where the three above came from, in words ("from --s3-access-key-id"),
  // for `check` and error messages. Without them, the AWS credential chain
  // applies (src/storage/s3/credentials.h; README "Credentials").
  std::string credentials_origin;
  // False when s3-region was left at its default: then AWS_REGION,
  // AWS_DEFAULT_REGION or the AWS profile's region, if set, is used.
  bool region_from_option = true;
  std::string
      sts_endpoint;  // STS for role assumption; "" = AWS_ENDPOINT_URL_STS or AWS's regional one
  // Tests: the credentials' clock (unix seconds); empty = the system clock.
  std::function<int64_t()> credentials_clock;
  std::string storage_class;                   // x-amz-storage-class when not empty
  std::string sse;                             // x-amz-server-side-encryption when not empty
  uint64_t multipart_threshold = 64ull << 20;  // bodies above use multipart
  uint64_t part_size = 16ull << 20;            // >= 5 MiB
  double connect_timeout_seconds = 10;
  double stall_timeout_seconds = 30;  // a request moving no byte this long fails
  RetryPolicy retry;
};

struct StorageConfig {
  std::string repo;  // "file:///path" or "s3://bucket/prefix"
  S3Config s3;       // used for s3:// (bucket and prefix come from repo)
};

// Opens the backend that `config.repo` names. Bad URL or settings:
// kInvalidArgument naming the value. Does no network I/O.
Result<std::unique_ptr<Storage>> OpenStorage(const StorageConfig& config);

// Individual backends, for tests and benchmarks.
Result<std::unique_ptr<Storage>> OpenPosixStorage(const std::string& root);
Result<std::unique_ptr<Storage>> OpenS3Storage(const S3Config& config);
std::unique_ptr<Storage> NewMemoryStorage();

// Which credentials an S3 repository with this config uses, in words (the
// source, the access key id, whether temporary and until when), never a
// secret. Resolves the chain now: may ask STS, a container agent or the EC2
// instance metadata service.
Result<std::string> DescribeS3Credentials(const S3Config& config);

}  // namespace walferry
