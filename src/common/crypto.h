// crypto.h — digests and encodings on OpenSSL: SHA-256, MD5, HMAC-SHA256, hex, base64.
#pragma once

#include <openssl/evp.h>

#include <string>
#include <string_view>

namespace walferry::crypto {

// An incremental digest ("sha256" or "md5").
class Digest {
 public:
  static Digest Sha256();
  static Digest Md5();
  Digest(Digest&& other) noexcept;
  Digest& operator=(Digest&&) = delete;
  ~Digest();
  void Update(const void* data, size_t n);
  void Update(std::string_view s) { Update(s.data(), s.size()); }
  // The raw digest; the object is reset and can be reused.
  std::string Finish();

 private:
  explicit Digest(const EVP_MD* md);
  const EVP_MD* md_;
  EVP_MD_CTX* ctx_;
};

std::string Sha256(std::string_view data);                            // raw 32 bytes
std::string Md5(std::string_view data);                               // raw 16 bytes
std::string HmacSha256(std::string_view key, std::string_view data);  // raw 32 bytes
std::string Hex(std::string_view raw);                                // lowercase
std::string Base64(std::string_view raw);
std::string Sha256Hex(std::string_view data);

}  // namespace walferry::crypto
