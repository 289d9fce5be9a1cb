// pipeline.h — streaming stages that bytes flow through, all ByteSinks.
//
// Stages either observe bytes (HashSink: size and SHA-256) or transform them
// (CompressSink, DecompressSink), and end in a destination (StringSink,
// AtomicFileSink). A push is  file → HashSink → CompressSink → memory;
// a get is  storage → DecompressSink → HashSink → AtomicFileSink.
// Every stage holds a bounded buffer (about 1 MiB), whatever the data size.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "walferry/bytes.h"
#include "walferry/local_fs.h"
#include "walferry/status.h"

namespace walferry {

enum class Codec { kNone, kZstd, kLz4 };

// "zstd", "lz4", "none"; kInvalidArgument for anything else.
Result<Codec> ParseCodec(std::string_view name);
const char* CodecName(Codec codec);
// The level used when none is configured: zstd 3, lz4 0 (its fast mode).
int DefaultLevel(Codec codec);
// The levels a codec accepts: zstd 1..19, lz4 0..12; none takes no level
// (min > max). The configuration is checked against this, and CompressSink::New.
struct LevelRange {
  int min = 0;
  int max = -1;
};
LevelRange LevelsOf(Codec codec);

// Compresses everything written to it into `next`, as one self-checking frame
// (zstd and lz4 frames carry a content checksum). Finish() ends the frame.
class CompressSink : public ByteSink {
 public:
  static Result<std::unique_ptr<CompressSink>> New(Codec codec, int level, ByteSink& next);
  virtual Status Finish() = 0;
};

// Decompresses one frame written to it into `next`. Finish() is kCorruption
// when the frame is incomplete; bytes past the frame's end are kCorruption too.
class DecompressSink : public ByteSink {
 public:
  static Result<std::unique_ptr<DecompressSink>> New(Codec codec, ByteSink& next);
  virtual Status Finish() = 0;
};

// Counts and hashes the bytes on their way to `next` (or nowhere when null).
class HashSink final : public ByteSink {
 public:
  explicit HashSink(ByteSink* next);
  ~HashSink() override;
  Status Write(const char* data, size_t n) override;
  uint64_t size() const { return size_; }
  std::string Sha256Hex();  // once, at the end

 private:
  struct Impl;
  ByteSink* next_;
  uint64_t size_ = 0;
  std::unique_ptr<Impl> impl_;
};

// Writes a file so that it appears whole or not at all: bytes go to a temp
// file beside `path`; Commit() fsyncs it, renames it to `path` and fsyncs the
// directory. Without Commit() (an error on the way) the temp file is removed.
// The temp name is fs::TempName(path); every step goes through `fs`.
class AtomicFileSink final : public ByteSink {
 public:
  static Result<std::unique_ptr<AtomicFileSink>> Create(const std::string& path,
                                                        fs::LocalFs& fs = fs::LocalFs::Posix());
  ~AtomicFileSink() override;
  Status Write(const char* data, size_t n) override;
  Status Commit();

 private:
  AtomicFileSink(fs::LocalFs& fs, int fd, std::string path, std::string tmp)
      : fs_(fs), fd_(fd), path_(std::move(path)), tmp_(std::move(tmp)) {}
  fs::LocalFs& fs_;
  int fd_;
  std::string path_, tmp_;
  bool committed_ = false;
};

}  // namespace walferry
