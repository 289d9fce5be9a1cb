#include "storage/s3/sigv4.h"

#include <algorithm>
#include <cctype>

#include "common/crypto.h"

namespace walferry::s3 {
namespace {

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::string Trim(std::string_view v) {
  // Leading/trailing spaces removed, inner runs of spaces collapsed to one.
  std::string out;
  bool space = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      space = !out.empty();
      continue;
    }
    if (space) out += ' ';
    space = false;
    out += c;
  }
  return out;
}

Params SortedHeaders(const Params& headers) {
  Params h;
  for (const auto& [k, v] : headers) h.emplace_back(Lower(k), Trim(v));
  std::sort(h.begin(), h.end());
  return h;
}

std::string SignedHeaderNames(const Params& sorted) {
  std::string out;
  for (const auto& [k, v] : sorted) {
    if (!out.empty()) out += ';';
    out += k;
  }
  return out;
}

}  // namespace

std::string UriEncode(std::string_view s, bool encode_slash) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (c == '/' && !encode_slash)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(const Params& query) {
  Params enc;
  for (const auto& [k, v] : query) enc.emplace_back(UriEncode(k, true), UriEncode(v, true));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k + "=" + v;
  }
  return out;
}

std::string AmzDate(std::time_t t) {
  std::tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string CanonicalRequest(const SigningInput& in) {
  Params sorted = SortedHeaders(in.headers);
  std::string out = in.method + "\n" + in.canonical_uri + "\n" + CanonicalQuery(in.query) + "\n";
  for (const auto& [k, v] : sorted) out += k + ":" + v + "\n";
  out += "\n" + SignedHeaderNames(sorted) + "\n" + in.payload_sha256_hex;
  return out;
}

std::string StringToSign(const std::string& canonical_request, const std::string& amz_date,
                         const std::string& scope) {
  return "AWS4-HMAC-SHA256\n" + amz_date + "\n" + scope + "\n" +
         crypto::Sha256Hex(canonical_request);
}

std::string Sign(const SigningInput& in, const Credentials& creds, const std::string& region,
                 const std::string& service, const std::string& amz_date) {
  const std::string date = amz_date.substr(0, 8);
  const std::string scope = date + "/" + region + "/" + service + "/aws4_request";
  const std::string to_sign = StringToSign(CanonicalRequest(in), amz_date, scope);
  std::string key = crypto::HmacSha256("AWS4" + creds.secret_access_key, date);
  key = crypto::HmacSha256(key, region);
  key = crypto::HmacSha256(key, service);
  key = crypto::HmacSha256(key, "aws4_request");
  const std::string signature = crypto::Hex(crypto::HmacSha256(key, to_sign));
  return "AWS4-HMAC-SHA256 Credential=" + creds.access_key_id + "/" + scope +
         ",SignedHeaders=" + SignedHeaderNames(SortedHeaders(in.headers)) +
         ",Signature=" + signature;
}

}  // namespace walferry::s3
