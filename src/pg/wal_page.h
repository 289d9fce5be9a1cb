// wal_page.h — facts about PostgreSQL's WAL pages: reading the long page header
// that starts every segment, and checking it against the file's name.
// Depends only on common/ and pg/ (tests/lint/include_directions.sh).
//
// XLogLongPageHeaderData (access/xlog_internal.h), little-endian:
//   0 xlp_magic (2)  2 xlp_info (2)  4 xlp_tli (4)  8 xlp_pageaddr (8)  16 xlp_rem_len (4)
//   24 xlp_sysid (8)  32 xlp_seg_size (4)  36 xlp_xlog_blcksz (4)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pg/wal_segment.h"
#include "walferry/status.h"
#include "walferry/wal_name.h"

namespace walferry::pg {

constexpr size_t kWalLongPageHeaderSize = 40;  // XLogLongPageHeaderData

// What the first page of a WAL segment says about itself and its cluster.
struct WalPageIdentity {
  uint64_t system_identifier = 0;
  uint32_t segment_size = 0;
  uint16_t magic = 0;
  uint32_t timeline = 0;      // xlp_tli: the timeline of the page's first record
  uint64_t page_address = 0;  // xlp_pageaddr: the LSN of the page's first byte
  std::string pg_version;     // from the magic number; "" if unknown
};
// Reads the long page header at the start of a segment (or .partial file).
// kCorruption when it is not one (too short, no long header, an implausible
// segment or block size); `name` names the file in errors. Reads, does not
// judge the fields against the name: see CheckWalPageHeader.
Result<WalPageIdentity> ReadWalPageHeader(std::string_view first_bytes, const std::string& name);

// The PostgreSQL major version ("15") whose XLOG_PAGE_MAGIC is `magic`; "" if none.
const char* PgVersionOfWalMagic(uint16_t magic);

// Checks the first page of the WAL file `wal` (a segment or a .partial file),
// as read by ReadWalPageHeader, against what its name says:
//   - xlp_magic is the XLOG_PAGE_MAGIC of a PostgreSQL version (11 to 18);
//   - xlp_seg_size equals `segment_size` when that is known (non-zero: the
//     size the repository recorded);
//   - xlp_pageaddr is the first byte of the segment the name denotes
//     (segno * xlp_seg_size), for .partial files too;
//   - 1 <= xlp_tli <= the name's timeline (the first page after a timeline
//     switch still carries the previous timeline, so not equality).
// kCorruption naming `file` and the field, with a hint, on the first mismatch.
Status CheckWalPageHeader(const WalPageIdentity& page, const WalFileName& wal,
                          uint32_t segment_size, const std::string& file);

// ReadWalPageHeader, then CheckWalPageHeader: the one check of a segment's
// first page before it is stored or restored.
Result<WalPageIdentity> ReadCheckedWalPageHeader(std::string_view first_bytes,
                                                 const WalFileName& wal, uint32_t segment_size,
                                                 const std::string& file);

}  // namespace walferry::pg
