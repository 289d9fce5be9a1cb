#include "storage/s3/s3_headers.h"

#include <charconv>

namespace walferry::s3 {
namespace {

std::string_view TrimBlanks(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Digits only (from_chars alone would take a leading '-'), all of `s`, no overflow.
std::optional<uint64_t> Decimal(std::string_view s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
  }
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<uint64_t> ParseContentLength(std::string_view value) {
  return Decimal(TrimBlanks(value));
}

std::optional<ContentRange> ParseContentRange(std::string_view value) {
  std::string_view v = TrimBlanks(value);
  constexpr std::string_view kUnit = "bytes ";
  if (v.substr(0, kUnit.size()) != kUnit) return std::nullopt;
  v.remove_prefix(kUnit.size());
  size_t dash = v.find('-'), slash = v.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash)
    return std::nullopt;
  auto first = Decimal(v.substr(0, dash));
  auto last = Decimal(v.substr(dash + 1, slash - dash - 1));
  if (!first || !last || *first > *last) return std::nullopt;
  ContentRange r{*first, *last, std::nullopt};
  std::string_view total = v.substr(slash + 1);
  if (total != "*") {
    r.total = Decimal(total);
    if (!r.total || r.last >= *r.total) return std::nullopt;
  }
  return r;
}

}  // namespace walferry::s3
