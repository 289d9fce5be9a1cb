#include "walferry/pipeline.h"

#include <fcntl.h>
#include <lz4frame.h>
#include <unistd.h>
#include <zstd.h>

#include <cerrno>
#include <vector>

#include "common/crypto.h"
#include "common/fs.h"

namespace walferry {

Result<Codec> ParseCodec(std::string_view name) {
  if (name == "zstd") return Codec::kZstd;
  if (name == "lz4") return Codec::kLz4;
  if (name == "none") return Codec::kNone;
  return Status::InvalidArgument("unknown compression '" + std::string(name) +
                                 "' (zstd, lz4 or none)");
}

const char* CodecName(Codec codec) {
  switch (codec) {
    case Codec::kNone: return "none";
    case Codec::kZstd: return "zstd";
    case Codec::kLz4: return "lz4";
  }
  return "?";
}

int DefaultLevel(Codec codec) { return codec == Codec::kZstd ? 3 : 0; }

LevelRange LevelsOf(Codec codec) {
  switch (codec) {
    case Codec::kZstd: return {1, 19};  // 20..22 ("ultra") need far more memory to decode
    case Codec::kLz4: return {0, 12};   // LZ4HC_CLEVEL_MAX
    case Codec::kNone: break;
  }
  return {};
}

namespace {

constexpr size_t kChunk = 256 * 1024;  // input fed to a codec per call

// ---- none ------------------------------------------------------------------

class PassCompress final : public CompressSink {
 public:
  explicit PassCompress(ByteSink& next) : next_(next) {}
  Status Write(const char* d, size_t n) override { return next_.Write(d, n); }
  Status Finish() override { return Status::Ok(); }

 private:
  ByteSink& next_;
};

class PassDecompress final : public DecompressSink {
 public:
  explicit PassDecompress(ByteSink& next) : next_(next) {}
  Status Write(const char* d, size_t n) override { return next_.Write(d, n); }
  Status Finish() override { return Status::Ok(); }

 private:
  ByteSink& next_;
};

// ---- zstd ------------------------------------------------------------------

class ZstdCompress final : public CompressSink {
 public:
  ZstdCompress(ByteSink& next, int level)
      : next_(next), ctx_(ZSTD_createCCtx()), out_(ZSTD_CStreamOutSize()) {
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_compressionLevel, level);
    ZSTD_CCtx_setParameter(ctx_, ZSTD_c_checksumFlag, 1);
  }
  ~ZstdCompress() override { ZSTD_freeCCtx(ctx_); }
  Status Write(const char* d, size_t n) override {
    while (n > 0) {
      size_t k = std::min(n, kChunk);
      WF_RETURN_IF_ERROR(Run(d, k, ZSTD_e_continue));
      d += k;
      n -= k;
    }
    return Status::Ok();
  }
  Status Finish() override { return Run(nullptr, 0, ZSTD_e_end); }

 private:
  Status Run(const char* d, size_t n, ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{d, n, 0};
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t left = ZSTD_compressStream2(ctx_, &out, &in, mode);
      if (ZSTD_isError(left))
        return Status::Internal(std::string("zstd: ") + ZSTD_getErrorName(left));
      if (out.pos > 0) WF_RETURN_IF_ERROR(next_.Write(out_.data(), out.pos));
      bool done = mode == ZSTD_e_end ? left == 0 : in.pos == in.size;
      if (done) return Status::Ok();
    }
  }
  ByteSink& next_;
  ZSTD_CCtx* ctx_;
  std::vector<char> out_;
};

class ZstdDecompress final : public DecompressSink {
 public:
  explicit ZstdDecompress(ByteSink& next)
      : next_(next), ctx_(ZSTD_createDCtx()), out_(ZSTD_DStreamOutSize()) {}
  ~ZstdDecompress() override { ZSTD_freeDCtx(ctx_); }
  Status Write(const char* d, size_t n) override {
    ZSTD_inBuffer in{d, n, 0};
    while (in.pos < in.size) {
      if (ended_) return Status::Corruption("zstd: data after the end of the frame");
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      size_t r = ZSTD_decompressStream(ctx_, &out, &in);
      if (ZSTD_isError(r)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(r));
      if (out.pos > 0) WF_RETURN_IF_ERROR(next_.Write(out_.data(), out.pos));
      if (r == 0) ended_ = true;
    }
    // Drain what the decoder still holds for this input.
    for (;;) {
      ZSTD_outBuffer out{out_.data(), out_.size(), 0};
      ZSTD_inBuffer none{nullptr, 0, 0};
      size_t r = ZSTD_decompressStream(ctx_, &out, &none);
      if (ZSTD_isError(r)) return Status::Corruption(std::string("zstd: ") + ZSTD_getErrorName(r));
      if (out.pos > 0) WF_RETURN_IF_ERROR(next_.Write(out_.data(), out.pos));
      if (r == 0) ended_ = true;
      if (out.pos < out.size) return Status::Ok();
    }
  }
  Status Finish() override {
    if (!ended_)
      return Status::Corruption("zstd: the compressed data ends before its frame does (truncated)");
    return Status::Ok();
  }

 private:
  ByteSink& next_;
  ZSTD_DCtx* ctx_;
  std::vector<char> out_;
  bool ended_ = false;
};

// ---- lz4 (frame format) ----------------------------------------------------

class Lz4Compress final : public CompressSink {
 public:
  Lz4Compress(ByteSink& next, int level) : next_(next) {
    LZ4F_createCompressionContext(&ctx_, LZ4F_VERSION);
    prefs_.frameInfo.contentChecksumFlag = LZ4F_contentChecksumEnabled;
    prefs_.compressionLevel = level;
    out_.resize(LZ4F_compressBound(kChunk, &prefs_) + LZ4F_HEADER_SIZE_MAX);
  }
  ~Lz4Compress() override { LZ4F_freeCompressionContext(ctx_); }
  Status Write(const char* d, size_t n) override {
    WF_RETURN_IF_ERROR(Begin());
    while (n > 0) {
      size_t k = std::min(n, kChunk);
      size_t w = LZ4F_compressUpdate(ctx_, out_.data(), out_.size(), d, k, nullptr);
      if (LZ4F_isError(w)) return Status::Internal(std::string("lz4: ") + LZ4F_getErrorName(w));
      if (w > 0) WF_RETURN_IF_ERROR(next_.Write(out_.data(), w));
      d += k;
      n -= k;
    }
    return Status::Ok();
  }
  Status Finish() override {
    WF_RETURN_IF_ERROR(Begin());
    size_t w = LZ4F_compressEnd(ctx_, out_.data(), out_.size(), nullptr);
    if (LZ4F_isError(w)) return Status::Internal(std::string("lz4: ") + LZ4F_getErrorName(w));
    return next_.Write(out_.data(), w);
  }

 private:
  Status Begin() {
    if (begun_) return Status::Ok();
    begun_ = true;
    size_t w = LZ4F_compressBegin(ctx_, out_.data(), out_.size(), &prefs_);
    if (LZ4F_isError(w)) return Status::Internal(std::string("lz4: ") + LZ4F_getErrorName(w));
    return next_.Write(out_.data(), w);
  }
  ByteSink& next_;
  LZ4F_cctx* ctx_ = nullptr;
  LZ4F_preferences_t prefs_{};
  std::vector<char> out_;
  bool begun_ = false;
};

class Lz4Decompress final : public DecompressSink {
 public:
  explicit Lz4Decompress(ByteSink& next) : next_(next), out_(kChunk) {
    LZ4F_createDecompressionContext(&ctx_, LZ4F_VERSION);
  }
  ~Lz4Decompress() override { LZ4F_freeDecompressionContext(ctx_); }
  Status Write(const char* d, size_t n) override {
    while (n > 0 || more_output_) {
      if (ended_ && n > 0) return Status::Corruption("lz4: data after the end of the frame");
      size_t out_size = out_.size(), in_size = n;
      size_t r = LZ4F_decompress(ctx_, out_.data(), &out_size, d, &in_size, nullptr);
      if (LZ4F_isError(r)) return Status::Corruption(std::string("lz4: ") + LZ4F_getErrorName(r));
      if (out_size > 0) WF_RETURN_IF_ERROR(next_.Write(out_.data(), out_size));
      d += in_size;
      n -= in_size;
      if (r == 0) ended_ = true;
      // A full output buffer may mean more output for the same input.
      more_output_ = out_size == out_.size();
      if (!more_output_ && in_size == 0 && n > 0)
        return Status::Corruption("lz4: decoder made no progress");
    }
    return Status::Ok();
  }
  Status Finish() override {
    if (!ended_)
      return Status::Corruption("lz4: the compressed data ends before its frame does (truncated)");
    return Status::Ok();
  }

 private:
  ByteSink& next_;
  LZ4F_dctx* ctx_ = nullptr;
  std::vector<char> out_;
  bool ended_ = false;
  bool more_output_ = false;
};

}  // namespace

Result<std::unique_ptr<CompressSink>> CompressSink::New(Codec codec, int level, ByteSink& next) {
  switch (codec) {
    case Codec::kNone: return std::unique_ptr<CompressSink>(new PassCompress(next));
    case Codec::kZstd:
    case Codec::kLz4: {
      LevelRange r = LevelsOf(codec);
      if (level < r.min || level > r.max) {
        return Status::InvalidArgument(std::string(CodecName(codec)) +
                                       " compression level must be " + std::to_string(r.min) +
                                       ".." + std::to_string(r.max));
      }
      if (codec == Codec::kZstd)
        return std::unique_ptr<CompressSink>(new ZstdCompress(next, level));
      return std::unique_ptr<CompressSink>(new Lz4Compress(next, level));
    }
  }
  return Status::Internal("unknown codec");
}

Result<std::unique_ptr<DecompressSink>> DecompressSink::New(Codec codec, ByteSink& next) {
  switch (codec) {
    case Codec::kNone: return std::unique_ptr<DecompressSink>(new PassDecompress(next));
    case Codec::kZstd: return std::unique_ptr<DecompressSink>(new ZstdDecompress(next));
    case Codec::kLz4: return std::unique_ptr<DecompressSink>(new Lz4Decompress(next));
  }
  return Status::Internal("unknown codec");
}

struct HashSink::Impl {
  crypto::Digest sha = crypto::Digest::Sha256();
};

HashSink::HashSink(ByteSink* next) : next_(next), impl_(std::make_unique<Impl>()) {}
HashSink::~HashSink() = default;

Status HashSink::Write(const char* data, size_t n) {
  impl_->sha.Update(data, n);
  size_ += n;
  return next_ ? next_->Write(data, n) : Status::Ok();
}

std::string HashSink::Sha256Hex() { return crypto::Hex(impl_->sha.Finish()); }

Result<std::unique_ptr<AtomicFileSink>> AtomicFileSink::Create(const std::string& path,
                                                               fs::LocalFs& lfs) {
  std::string tmp = fs::TempName(path);  // beside it: "<path>.wf-tmp.<pid>.<token>"
  int fd = -1;
  if (int e = lfs.Create(AT_FDCWD, tmp, 0600, &fd))
    return Status::FromErrno(e, "create '" + tmp + "'");
  return std::unique_ptr<AtomicFileSink>(new AtomicFileSink(lfs, fd, path, tmp));
}

AtomicFileSink::~AtomicFileSink() {
  if (fd_ >= 0) (void)fs_.Close(fd_);
  if (!committed_) (void)fs_.Unlink(AT_FDCWD, tmp_, false);
}

Status AtomicFileSink::Write(const char* data, size_t n) {
  if (int e = fs_.Write(fd_, data, n)) return Status::FromErrno(e, "write '" + tmp_ + "'");
  return Status::Ok();
}

Status AtomicFileSink::Commit() {
  if (int e = fs_.Sync(fd_)) return Status::FromErrno(e, "fsync '" + tmp_ + "'");
  int rc = fs_.Close(fd_);
  fd_ = -1;
  if (rc != 0) return Status::FromErrno(rc, "close '" + tmp_ + "'");
  if (int e = fs_.Rename(AT_FDCWD, tmp_, AT_FDCWD, path_))
    return Status::FromErrno(e, "rename '" + tmp_ + "' to '" + path_ + "'");
  committed_ = true;
  return fs::SyncDir(fs_, fs::DirName(path_));
}

}  // namespace walferry
