// wal_page.h — facts about PostgreSQL's WAL pages: the one segment-size rule
// and reading the long page header that starts every segment.
// Depends only on common/ (tests/lint/include_directions.sh).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "walferry/status.h"

namespace walferry::pg {

// PostgreSQL's rule for a WAL segment size (initdb --wal-segsize): a power of
// two from 1 MiB to 1 GiB. The one answer to "is this a segment size?".
constexpr bool ValidWalSegmentSize(uint64_t bytes) {
  return bytes >= (1ull << 20) && bytes <= (1ull << 30) && (bytes & (bytes - 1)) == 0;
}
constexpr uint32_t kDefaultWalSegmentSize = 16u << 20;  // initdb's default
constexpr size_t kWalLongPageHeaderSize = 40;           // XLogLongPageHeaderData

// What the first page of a WAL segment says about its cluster.
struct WalPageIdentity {
  uint64_t system_identifier = 0;
  uint32_t segment_size = 0;
  uint16_t magic = 0;
  std::string pg_version;  // from the magic number; "" if unknown
};
// Reads the long page header at the start of a segment (or .partial file).
// kCorruption when it is not one; `name` names the file in errors.
Result<WalPageIdentity> ReadWalPageHeader(std::string_view first_bytes, const std::string& name);

}  // namespace walferry::pg
