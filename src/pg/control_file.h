// control_file.h — what a PostgreSQL data directory says about its cluster:
// global/pg_control and PG_VERSION. Depends only on common/ and pg/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walferry::pg {

struct DataDirFacts {
  uint64_t system_identifier = 0;  // ControlFileData starts with it
  std::string pg_version;          // PG_VERSION's first line; "" when unreadable
  uint32_t wal_segment_size = 0;   // ControlFileData.xlog_seg_size; 0 when not found
};
// nullopt when `data_dir` has no readable global/pg_control.
std::optional<DataDirFacts> ReadDataDirFacts(const std::string& data_dir);

// The cluster's WAL segment size from the bytes of pg_control; 0 when it cannot be
// found. ControlFileData's layout before it differs between versions (its CheckPoint
// grew), but since PostgreSQL 8.x it has held, in this order and 8-byte aligned,
// floatFormat (the double 1234567.0, FLOATFORMAT_VALUE), blcksz, relseg_size,
// xlog_blcksz and xlog_seg_size: the one place found by that anchor, checked by
// the block sizes and the segment-size rule, serves PostgreSQL 11 to 18 alike.
uint32_t WalSegmentSizeFromControlFile(std::string_view pg_control);

}  // namespace walferry::pg
