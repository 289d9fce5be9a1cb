// bytes.h — byte streams: where a body comes from (ByteSource) and where bytes go
// (ByteSink), with the in-memory and local-file implementations every module uses.
//
// The Storage seam (storage.h) reads Put bodies from a ByteSource and writes Get
// bodies into a ByteSink; the pipeline (pipeline.h) chains ByteSinks. Neither kind
// is thread-safe: one object is used by one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "walferry/status.h"

namespace walferry {

// A body for Put. Backends may read it more than once (after Rewind) to retry.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to n bytes into buf; returns 0 at the end of the body.
  virtual Result<size_t> Read(char* buf, size_t n) = 0;
  // Starts over from the first byte.
  virtual Status Rewind() = 0;
  // Total size in bytes when known in advance.
  virtual std::optional<uint64_t> Size() const = 0;
  // The whole body, when it already sits in memory: backends may send it
  // from there instead of copying it into a buffer of their own.
  virtual std::optional<std::string_view> Contiguous() const { return std::nullopt; }
};

// Where Get writes an object's bytes, in order, exactly once each.
class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual Status Write(const char* data, size_t n) = 0;
};

// A body held in memory (not copied: the caller keeps `data` alive).
class MemorySource final : public ByteSource {
 public:
  explicit MemorySource(std::string_view data) : data_(data) {}
  Result<size_t> Read(char* buf, size_t n) override;
  Status Rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  std::optional<uint64_t> Size() const override { return data_.size(); }
  std::optional<std::string_view> Contiguous() const override { return data_; }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

// A body read from a local file (opened once; re-read from offset 0 on Rewind).
class FileSource final : public ByteSource {
 public:
  static Result<std::unique_ptr<FileSource>> Open(const std::string& path);
  ~FileSource() override;
  Result<size_t> Read(char* buf, size_t n) override;
  Status Rewind() override;
  std::optional<uint64_t> Size() const override { return size_; }

 private:
  FileSource(int fd, uint64_t size, std::string path)
      : fd_(fd), size_(size), path_(std::move(path)) {}
  int fd_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string path_;
};

// Collects an object in memory.
class StringSink final : public ByteSink {
 public:
  Status Write(const char* data, size_t n) override {
    out.append(data, n);
    return Status::Ok();
  }
  std::string out;
};

}  // namespace walferry
