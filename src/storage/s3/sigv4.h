// sigv4.h — AWS Signature Version 4 for S3 requests.
//
// walferry always signs the payload's SHA-256 (never UNSIGNED-PAYLOAD), so the
// server checks every byte it stores against the signature.
#pragma once

#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace walferry::s3 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // x-amz-security-token when not empty
};

using Params = std::vector<std::pair<std::string, std::string>>;

struct SigningInput {
  std::string method;
  std::string canonical_uri;  // the encoded path exactly as sent, e.g. "/bucket/a%20b"
  Params query;               // raw (unencoded) names and values
  Params headers;             // every header to sign; must include host and x-amz-date
  std::string payload_sha256_hex;
};

// RFC 3986 encoding as S3 wants it: unreserved bytes kept, others %XX
// (uppercase); '/' kept unless encode_slash.
std::string UriEncode(std::string_view s, bool encode_slash);
// "a=1&b=x%20y", sorted by name then value: both the URL's query and the signed one.
std::string CanonicalQuery(const Params& query);
// "20130524T000000Z"
std::string AmzDate(std::time_t t);

// The value of the Authorization header.
std::string Sign(const SigningInput& in, const Credentials& creds, const std::string& region,
                 const std::string& service, const std::string& amz_date);

// Exposed for the known-answer test.
std::string CanonicalRequest(const SigningInput& in);
std::string StringToSign(const std::string& canonical_request, const std::string& amz_date,
                         const std::string& scope);

}  // namespace walferry::s3
