#include "common/aead.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <cstring>

namespace walferry::crypto {
namespace {

Status CheckKey(std::string_view key, const char* what) {
  if (key.size() != kAeadKeySize) {
    return Status::InvalidArgument(std::string(what) + " must be " + std::to_string(kAeadKeySize) +
                                   " bytes, not " + std::to_string(key.size()));
  }
  return Status::Ok();
}

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// One AES-256-GCM context with its key set once; each message sets only its
// nonce (EVP_*Init_ex with a null cipher and key keeps both).
class Gcm {
 public:
  explicit Gcm(bool encrypt) : encrypt_(encrypt), ctx_(EVP_CIPHER_CTX_new()) {}
  ~Gcm() { EVP_CIPHER_CTX_free(ctx_); }
  Gcm(const Gcm&) = delete;
  Gcm& operator=(const Gcm&) = delete;

  Status SetKey(std::string_view key) {
    if (ctx_ == nullptr) return Status::Internal("EVP_CIPHER_CTX_new failed");
    int ok = encrypt_ ? EVP_EncryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, nullptr, nullptr)
                      : EVP_DecryptInit_ex(ctx_, EVP_aes_256_gcm(), nullptr, nullptr, nullptr);
    if (ok != 1 || EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_IVLEN, kGcmNonceSize, nullptr) != 1) {
      return Status::Internal("AES-256-GCM is not available from OpenSSL");
    }
    ok = encrypt_ ? EVP_EncryptInit_ex(ctx_, nullptr, nullptr, U(key), nullptr)
                  : EVP_DecryptInit_ex(ctx_, nullptr, nullptr, U(key), nullptr);
    if (ok != 1) return Status::Internal("AES-256-GCM key setup failed");
    return Status::Ok();
  }

  // out receives ciphertext || tag.
  Status Seal(const unsigned char* nonce, std::string_view aad, const char* data, size_t n,
              std::string& out) {
    int len = 0;
    if (EVP_EncryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1) return Fail();
    if (!aad.empty() && EVP_EncryptUpdate(ctx_, nullptr, &len, U(aad), Int(aad.size())) != 1)
      return Fail();
    size_t start = out.size();
    out.resize(start + n + kGcmTagSize);
    auto* dst = reinterpret_cast<unsigned char*>(out.data() + start);
    if (n > 0 && EVP_EncryptUpdate(ctx_, dst, &len, reinterpret_cast<const unsigned char*>(data),
                                   Int(n)) != 1)
      return Fail();
    if (EVP_EncryptFinal_ex(ctx_, dst + n, &len) != 1) return Fail();
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_GET_TAG, kGcmTagSize, dst + n) != 1) return Fail();
    return Status::Ok();
  }

  // `sealed` is ciphertext || tag; out receives the plaintext only when the
  // tag matches (it is written to a scratch buffer first).
  Status Open(const unsigned char* nonce, std::string_view aad, std::string_view sealed,
              std::string& out) {
    if (sealed.size() < kGcmTagSize) return Status::Corruption("shorter than a GCM tag");
    size_t n = sealed.size() - kGcmTagSize;
    int len = 0;
    if (EVP_DecryptInit_ex(ctx_, nullptr, nullptr, nullptr, nonce) != 1) return Fail();
    if (!aad.empty() && EVP_DecryptUpdate(ctx_, nullptr, &len, U(aad), Int(aad.size())) != 1)
      return Fail();
    scratch_.resize(n);
    if (n > 0 && EVP_DecryptUpdate(ctx_, U(scratch_), &len, U(sealed), Int(n)) != 1) return Fail();
    std::string tag(sealed.substr(n));
    if (EVP_CIPHER_CTX_ctrl(ctx_, EVP_CTRL_GCM_SET_TAG, kGcmTagSize, tag.data()) != 1)
      return Fail();
    if (EVP_DecryptFinal_ex(ctx_, U(scratch_) + n, &len) != 1) {
      OPENSSL_cleanse(scratch_.data(), scratch_.size());
      return Status::Corruption("authentication failed");
    }
    out.append(scratch_.data(), n);
    return Status::Ok();
  }

 private:
  static int Int(size_t n) { return static_cast<int>(n); }  // callers keep n < 2^31
  static Status Fail() { return Status::Internal("AES-256-GCM operation failed in OpenSSL"); }
  bool encrypt_;
  EVP_CIPHER_CTX* ctx_;
  std::string scratch_;
};

void ChunkNonce(std::string_view prefix, uint64_t index, bool final, unsigned char* nonce) {
  std::memcpy(nonce, prefix.data(), 4);
  uint64_t v = index | (final ? (1ull << 63) : 0);
  for (int i = 0; i < 8; ++i) nonce[4 + i] = static_cast<unsigned char>(v >> (56 - 8 * i));
}

Status CheckStream(std::string_view key, std::string_view prefix, size_t chunk_size) {
  if (Status s = CheckKey(key, "an encryption key"); !s.ok()) return s;
  if (prefix.size() != 4) return Status::InvalidArgument("a chunk nonce prefix must be 4 bytes");
  if (chunk_size == 0 || chunk_size > (1u << 30))
    return Status::InvalidArgument("a chunk size must be 1 byte to 1 GiB");
  return Status::Ok();
}

}  // namespace

Result<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (n > 0 && RAND_bytes(U(out), static_cast<int>(n)) != 1)
    return Status::Internal("OpenSSL's random generator failed (RAND_bytes)");
  return out;
}

void Cleanse(std::string& secret) {
  if (!secret.empty()) OPENSSL_cleanse(secret.data(), secret.size());
  secret.clear();
}

Result<std::string> Seal(std::string_view key, std::string_view nonce, std::string_view aad,
                         std::string_view plaintext) {
  if (Status s = CheckKey(key, "an encryption key"); !s.ok()) return s;
  if (nonce.size() != kGcmNonceSize) return Status::InvalidArgument("a GCM nonce must be 12 bytes");
  Gcm gcm(true);
  if (Status s = gcm.SetKey(key); !s.ok()) return s;
  std::string out;
  if (Status s = gcm.Seal(U(nonce), aad, plaintext.data(), plaintext.size(), out); !s.ok())
    return s;
  return out;
}

Result<std::string> Open(std::string_view key, std::string_view nonce, std::string_view aad,
                         std::string_view sealed) {
  if (Status s = CheckKey(key, "an encryption key"); !s.ok()) return s;
  if (nonce.size() != kGcmNonceSize) return Status::InvalidArgument("a GCM nonce must be 12 bytes");
  Gcm gcm(false);
  if (Status s = gcm.SetKey(key); !s.ok()) return s;
  std::string out;
  if (Status s = gcm.Open(U(nonce), aad, sealed, out); !s.ok()) return s;
  return out;
}

Result<std::string> WrapKey(std::string_view kek, std::string_view aad, std::string_view key) {
  auto nonce = RandomBytes(kGcmNonceSize);
  if (!nonce.ok()) return nonce.status();
  auto sealed = Seal(kek, *nonce, aad, key);
  if (!sealed.ok()) return sealed.status();
  return *nonce + *sealed;
}

Result<std::string> UnwrapKey(std::string_view kek, std::string_view aad,
                              std::string_view wrapped) {
  if (wrapped.size() < kGcmNonceSize + kGcmTagSize)
    return Status::Corruption("a wrapped key is too short");
  return Open(kek, wrapped.substr(0, kGcmNonceSize), aad, wrapped.substr(kGcmNonceSize));
}

Result<std::string> HkdfSha256(std::string_view ikm, std::string_view salt, std::string_view info,
                               size_t length) {
  EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
  if (kdf == nullptr) return Status::Internal("HKDF is not available from OpenSSL");
  EVP_KDF_CTX* ctx = EVP_KDF_CTX_new(kdf);
  EVP_KDF_free(kdf);
  if (ctx == nullptr) return Status::Internal("EVP_KDF_CTX_new failed");
  char digest[] = "SHA256";
  OSSL_PARAM params[5];
  size_t i = 0;
  params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<char*>(ikm.data()),
                                                  ikm.size());
  if (!salt.empty()) {
    params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT,
                                                    const_cast<char*>(salt.data()), salt.size());
  }
  params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO,
                                                  const_cast<char*>(info.data()), info.size());
  params[i] = OSSL_PARAM_construct_end();
  std::string out(length, '\0');
  int ok = EVP_KDF_derive(ctx, U(out), length, params);
  EVP_KDF_CTX_free(ctx);
  if (ok != 1) return Status::Internal("HKDF-SHA256 failed in OpenSSL");
  return out;
}

uint64_t ChunkLayout::Chunks(uint64_t plaintext_size) const {
  return plaintext_size == 0 ? 1 : (plaintext_size + chunk_size - 1) / chunk_size;
}

uint64_t ChunkLayout::SealedSize(uint64_t plaintext_size) const {
  return plaintext_size + Chunks(plaintext_size) * kGcmTagSize;
}

// ---- the streams -------------------------------------------------------------

// What both streams hold: one GCM context with the object's key, and the
// bytes of the chunk not processed yet (which may turn out to be the last).
struct ChunkStream {
  ChunkStream(bool encrypt, std::string_view p, std::string a, ByteSink& n, size_t unit)
      : gcm(encrypt), prefix(p), aad(std::move(a)), next(n), unit(unit) {}
  Gcm gcm;
  std::string prefix, aad;
  ByteSink& next;
  size_t unit;          // bytes of a full chunk as this stream takes them in
  std::string pending;  // the chunk not processed yet
  std::string out;
  uint64_t index = 0;
  bool finished = false;

  // A stream of type T (a ChunkStream) for `key`, checked.
  template <typename T>
  static Result<std::unique_ptr<T>> Make(bool encrypt, std::string_view key,
                                         std::string_view prefix, std::string aad, ByteSink& next,
                                         size_t chunk_size) {
    if (Status s = CheckStream(key, prefix, chunk_size); !s.ok()) return s;
    size_t unit = encrypt ? chunk_size : chunk_size + kGcmTagSize;
    auto st = std::make_unique<T>(encrypt, prefix, std::move(aad), next, unit);
    if (Status s = st->gcm.SetKey(key); !s.ok()) return s;
    st->pending.reserve(unit);
    return st;
  }

  // Takes in bytes; a full pending chunk is processed (as not the last) only
  // once more bytes show that another chunk follows it.
  template <typename Process>
  Status Feed(const char* data, size_t n, const Process& process) {
    if (finished) return Status::Internal("write after Finish on an encryption stream");
    while (n > 0) {
      if (pending.size() == unit) {
        if (Status s = process(false); !s.ok()) return s;
      }
      size_t take = std::min(n, unit - pending.size());
      pending.append(data, take);
      data += take;
      n -= take;
    }
    return Status::Ok();
  }

  // Passes `out` on and moves to the next chunk.
  Status Emit() {
    pending.clear();
    ++index;
    return next.Write(out.data(), out.size());
  }
};

struct ChunkedSealSink::Impl : ChunkStream {
  using ChunkStream::ChunkStream;
};
struct ChunkedOpenSink::Impl : ChunkStream {
  using ChunkStream::ChunkStream;
};

Result<std::unique_ptr<ChunkedSealSink>> ChunkedSealSink::New(std::string_view key,
                                                              std::string_view prefix,
                                                              std::string aad, ByteSink& next,
                                                              size_t chunk_size) {
  auto impl = ChunkStream::Make<Impl>(true, key, prefix, std::move(aad), next, chunk_size);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<ChunkedSealSink>(new ChunkedSealSink(std::move(*impl)));
}

ChunkedSealSink::ChunkedSealSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChunkedSealSink::~ChunkedSealSink() { Cleanse(impl_->pending); }

Status ChunkedSealSink::SealChunk(bool final) {
  unsigned char nonce[kGcmNonceSize];
  ChunkNonce(impl_->prefix, impl_->index, final, nonce);
  impl_->out.clear();
  Status s =
      impl_->gcm.Seal(nonce, impl_->aad, impl_->pending.data(), impl_->pending.size(), impl_->out);
  return s.ok() ? impl_->Emit() : s;
}

Status ChunkedSealSink::Write(const char* data, size_t n) {
  plaintext_size_ += n;
  return impl_->Feed(data, n, [this](bool final) { return SealChunk(final); });
}

Status ChunkedSealSink::Finish() {
  if (impl_->finished) return Status::Internal("Finish called twice on an encrypting stream");
  impl_->finished = true;
  return SealChunk(true);
}

Result<std::unique_ptr<ChunkedOpenSink>> ChunkedOpenSink::New(std::string_view key,
                                                              std::string_view prefix,
                                                              std::string aad, ByteSink& next,
                                                              size_t chunk_size) {
  auto impl = ChunkStream::Make<Impl>(false, key, prefix, std::move(aad), next, chunk_size);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<ChunkedOpenSink>(new ChunkedOpenSink(std::move(*impl)));
}

ChunkedOpenSink::ChunkedOpenSink(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
ChunkedOpenSink::~ChunkedOpenSink() { Cleanse(impl_->out); }

Status ChunkedOpenSink::OpenChunk(bool final) {
  unsigned char nonce[kGcmNonceSize];
  ChunkNonce(impl_->prefix, impl_->index, final, nonce);
  impl_->out.clear();
  if (Status s = impl_->gcm.Open(nonce, impl_->aad, impl_->pending, impl_->out); !s.ok()) {
    if (s.code() != Status::Code::kCorruption) return s;
    return Status::Corruption("encrypted chunk " + std::to_string(impl_->index) +
                              " does not authenticate" +
                              (final ? " as the last one (truncated, extended or damaged)"
                                     : " (damaged, reordered, or from another object)"));
  }
  return impl_->Emit();
}

Status ChunkedOpenSink::Write(const char* data, size_t n) {
  return impl_->Feed(data, n, [this](bool final) { return OpenChunk(final); });
}

Status ChunkedOpenSink::Finish() {
  if (impl_->finished) return Status::Internal("Finish called twice on a decrypting stream");
  impl_->finished = true;
  if (impl_->pending.size() < kGcmTagSize) {
    return Status::Corruption("encrypted stream ends inside chunk " + std::to_string(impl_->index) +
                              " (truncated)");
  }
  return OpenChunk(true);
}

Result<std::string> OpenChunk(std::string_view key, std::string_view prefix, std::string_view aad,
                              uint64_t index, bool final, std::string_view sealed) {
  if (Status s = CheckStream(key, prefix, 1); !s.ok()) return s;
  Gcm gcm(false);
  if (Status s = gcm.SetKey(key); !s.ok()) return s;
  unsigned char nonce[kGcmNonceSize];
  ChunkNonce(prefix, index, final, nonce);
  std::string out;
  if (Status s = gcm.Open(nonce, aad, sealed, out); !s.ok()) {
    if (s.code() != Status::Code::kCorruption) return s;
    return Status::Corruption("encrypted chunk " + std::to_string(index) +
                              " does not authenticate");
  }
  return out;
}

}  // namespace walferry::crypto
