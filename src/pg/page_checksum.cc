#include "pg/page_checksum.h"

#include <cstring>
#include <vector>

namespace walferry::pg {
namespace {

constexpr int kLanes = 32;  // N_SUMS
constexpr uint32_t kFnvPrime = 16777619;
constexpr uint32_t kBaseOffsets[kLanes] = {
    0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
    0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
    0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
    0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756};
constexpr size_t kChecksumOffset = 8;  // PageHeaderData.pd_checksum, after pd_lsn

inline void Mix(uint32_t& sum, uint32_t value) {
  uint32_t tmp = sum ^ value;
  sum = tmp * kFnvPrime ^ (tmp >> 17);
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

}  // namespace

uint16_t PageChecksum(const char* page, uint32_t block_number) {
  uint32_t sums[kLanes];
  std::memcpy(sums, kBaseOffsets, sizeof sums);
  constexpr size_t kRows = kBlockSize / (sizeof(uint32_t) * kLanes);
  for (size_t i = 0; i < kRows; ++i) {
    for (int j = 0; j < kLanes; ++j) {
      size_t at = (i * kLanes + j) * sizeof(uint32_t);
      uint32_t v;
      std::memcpy(&v, page + at, sizeof v);
      // pd_checksum (2 bytes at offset 8, in the low half of word 2 on
      // little-endian) is taken as zero.
      if (at == kChecksumOffset) v &= 0xFFFF0000u;
      Mix(sums[j], v);
    }
  }
  for (int round = 0; round < 2; ++round) {
    for (int j = 0; j < kLanes; ++j) Mix(sums[j], 0);
  }
  uint32_t result = 0;
  for (int j = 0; j < kLanes; ++j) result ^= sums[j];
  result ^= block_number;
  return static_cast<uint16_t>((result % 65535) + 1);
}

PageCheck CheckPage(const char* page, uint32_t block_number, uint64_t backup_start_lsn) {
  PageCheck c;
  uint16_t upper;
  std::memcpy(&upper, page + 14, sizeof upper);  // pd_upper
  if (upper == 0) {
    c.verdict = PageVerdict::kSkippedNew;
    return c;
  }
  uint32_t xlogid, xrecoff;  // pd_lsn is two uint32 halves
  std::memcpy(&xlogid, page, 4);
  std::memcpy(&xrecoff, page + 4, 4);
  uint64_t lsn = (static_cast<uint64_t>(xlogid) << 32) | xrecoff;
  if (lsn >= backup_start_lsn) {
    c.verdict = PageVerdict::kSkippedRecent;
    return c;
  }
  std::memcpy(&c.stored, page + kChecksumOffset, sizeof c.stored);
  c.computed = PageChecksum(page, block_number);
  c.verdict = c.stored == c.computed ? PageVerdict::kOk : PageVerdict::kBad;
  return c;
}

std::optional<uint32_t> RelationFirstBlock(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    parts.push_back(path.substr(start, end - start));
    start = end + 1;
  }
  std::string_view name;
  if (parts.size() == 3 && parts[0] == "base" && AllDigits(parts[1]))
    name = parts[2];
  else if (parts.size() == 2 && parts[0] == "global")
    name = parts[1];
  else if (parts.size() == 5 && parts[0] == "pg_tblspc" && AllDigits(parts[1]) &&
           parts[2].starts_with("PG_") && AllDigits(parts[3]))
    name = parts[4];
  else
    return std::nullopt;
  // <relfilenode>[_fork][.<segment>]
  uint32_t segment = 0;
  if (size_t dot = name.find('.'); dot != std::string_view::npos) {
    std::string_view seg = name.substr(dot + 1);
    if (!AllDigits(seg) || seg.size() > 6) return std::nullopt;
    segment = static_cast<uint32_t>(std::stoul(std::string(seg)));
    name = name.substr(0, dot);
  }
  if (size_t us = name.find('_'); us != std::string_view::npos) {
    std::string_view fork = name.substr(us + 1);
    if (fork != "fsm" && fork != "vm" && fork != "init") return std::nullopt;
    name = name.substr(0, us);
  }
  if (!AllDigits(name)) return std::nullopt;
  if (segment >= 0xFFFFFFFFu / kBlocksPerSegment) return std::nullopt;
  return segment * kBlocksPerSegment;
}

}  // namespace walferry::pg
