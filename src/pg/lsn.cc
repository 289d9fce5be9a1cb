#include "pg/lsn.h"

#include <cstdio>

namespace walferry::pg {

Result<uint64_t> ParseLsn(std::string_view text) {
  size_t slash = text.find('/');
  auto bad = [&] {
    return Status::InvalidArgument("'" + std::string(text.substr(0, 40)) +
                                   "' is not an LSN (like 0/3000028)");
  };
  if (slash == std::string_view::npos || slash == 0 || slash > 8 || text.size() - slash - 1 == 0 ||
      text.size() - slash - 1 > 8)
    return bad();
  auto hex = [](std::string_view s, uint64_t* out) {
    uint64_t v = 0;
    for (char c : s) {
      int d = (c >= '0' && c <= '9')   ? c - '0'
              : (c >= 'A' && c <= 'F') ? c - 'A' + 10
              : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                       : -1;
      if (d < 0) return false;
      v = v * 16 + static_cast<uint64_t>(d);
    }
    *out = v;
    return true;
  };
  uint64_t hi, lo;
  if (!hex(text.substr(0, slash), &hi) || !hex(text.substr(slash + 1), &lo)) return bad();
  return (hi << 32) | lo;
}

std::string FormatLsn(uint64_t lsn) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%X/%X", static_cast<unsigned>(lsn >> 32),
                static_cast<unsigned>(lsn & 0xffffffffu));
  return buf;
}

}  // namespace walferry::pg
