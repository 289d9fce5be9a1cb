// wal_segment.h — WAL files and data directories as walferry reads them, for tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>

#include "pg/wal_segment.h"
#include "support/temp_dir.h"
#include "walferry/wal_name.h"

namespace walferry::testing {

// WAL segment `name` (a segment or .partial file name) as PostgreSQL 15 writes it: a long
// page header (magic, timeline and page address as the name says, system identifier, segment
// size, block size), then `fill` bytes. `header_size` (default: `size`) is the segment size
// the header states: another value makes a truncated or padded file. A name that is not a
// segment leaves timeline and page address 0.
inline std::string WalSegment(std::string_view name, uint64_t sysid, char fill = 'w',
                              uint32_t size = 16u << 20, uint32_t header_size = 0) {
  if (header_size == 0) header_size = size;
  std::string s(size, fill);
  uint16_t magic = 0xD110, info = 0x0002;
  uint32_t block = 8192, tli = 0, rem_len = 0;
  uint64_t pageaddr = 0;
  if (auto wal = ParseWalFileName(name); wal.ok() && wal->HasWalHeader()) {
    tli = wal->timeline;
    if (auto segno = pg::SegmentNumber(wal->segment_id, header_size); segno.ok())
      pageaddr = *segno * header_size;
  }
  std::memcpy(s.data(), &magic, 2);
  std::memcpy(s.data() + 2, &info, 2);
  std::memcpy(s.data() + 4, &tli, 4);
  std::memcpy(s.data() + 8, &pageaddr, 8);
  std::memcpy(s.data() + 16, &rem_len, 4);
  std::memcpy(s.data() + 24, &sysid, 8);
  std::memcpy(s.data() + 32, &header_size, 4);
  std::memcpy(s.data() + 36, &block, 4);
  return s;
}

// A data directory as far as walferry reads one: global/pg_control, PG_VERSION, pg_wal/.
// With `wal_segment_size`, pg_control also holds the fields PostgreSQL 15 writes around
// xlog_seg_size (floatFormat at offset 208, then blcksz, relseg_size, xlog_blcksz,
// xlog_seg_size); without, the rest of pg_control is zeros (no segment size to be found).
inline void MakeDataDir(const TempDir& dir, uint64_t sysid, uint32_t wal_segment_size = 0) {
  std::filesystem::create_directories(dir.path() + "/global");
  std::filesystem::create_directories(dir.path() + "/pg_wal");
  std::string control(8192, '\0');
  std::memcpy(control.data(), &sysid, 8);
  if (wal_segment_size != 0) {
    const double float_format = 1234567.0;
    const uint32_t fields[] = {8192, 131072, 8192, wal_segment_size};
    std::memcpy(control.data() + 208, &float_format, 8);
    std::memcpy(control.data() + 216, fields, sizeof fields);
  }
  dir.Write("global/pg_control", control);
  dir.Write("PG_VERSION", "15\n");
}

}  // namespace walferry::testing
