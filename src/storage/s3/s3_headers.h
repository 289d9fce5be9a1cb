// s3_headers.h — the S3 answer headers walferry reads, parsed strictly.
// A header is input from the network: nothing here trusts its syntax, and a
// value out of range is "no value" (nullopt), never a wrapped number.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace walferry::s3 {

// Content-Length: 1..20 decimal digits that fit 64 bits, blanks around allowed.
// "", "-1", "+5", "1e3", "12 34" and 2^64 are nullopt.
std::optional<uint64_t> ParseContentLength(std::string_view value);

// Content-Range of a 206 answer: "bytes FIRST-LAST/TOTAL" or "bytes FIRST-LAST/*"
// (RFC 9110 14.4), FIRST <= LAST < TOTAL. Anything else is nullopt.
struct ContentRange {
  uint64_t first = 0, last = 0;
  std::optional<uint64_t> total;  // nullopt for "*"
};
std::optional<ContentRange> ParseContentRange(std::string_view value);

}  // namespace walferry::s3
