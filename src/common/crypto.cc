#include "common/crypto.h"

#include <openssl/hmac.h>

#include <stdexcept>

namespace walferry::crypto {

Digest::Digest(const EVP_MD* md) : md_(md), ctx_(EVP_MD_CTX_new()) {
  if (ctx_ == nullptr || EVP_DigestInit_ex(ctx_, md_, nullptr) != 1) std::abort();
}
Digest Digest::Sha256() { return Digest(EVP_sha256()); }
Digest Digest::Md5() { return Digest(EVP_md5()); }
Digest::Digest(Digest&& other) noexcept : md_(other.md_), ctx_(other.ctx_) { other.ctx_ = nullptr; }
Digest::~Digest() { EVP_MD_CTX_free(ctx_); }

void Digest::Update(const void* data, size_t n) {
  if (n > 0) EVP_DigestUpdate(ctx_, data, n);
}

std::string Digest::Finish() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_DigestFinal_ex(ctx_, out, &len);
  EVP_DigestInit_ex(ctx_, md_, nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Sha256(std::string_view data) {
  Digest d = Digest::Sha256();
  d.Update(data);
  return d.Finish();
}

std::string Md5(std::string_view data) {
  Digest d = Digest::Md5();
  d.Update(data);
  return d.Finish();
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string Hex(std::string_view raw) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

std::string Base64(std::string_view raw) {
  std::string out(4 * ((raw.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(raw.data()),
                          static_cast<int>(raw.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

std::string Sha256Hex(std::string_view data) { return Hex(Sha256(data)); }

}  // namespace walferry::crypto
