// wal_segment.h — PostgreSQL's WAL segment arithmetic (XLogSegNo over file
// names and LSNs) and the one segment-size rule. Pure functions, no I/O.
// Depends only on common/ (tests/lint/include_directions.sh).
//
// A segment name is 24 hex digits: timeline, log, seg (8 each). With a segment
// size S there are 0x100000000 / S segments per log, and segment number
// segno = log * (0x100000000 / S) + seg holds the WAL bytes [segno * S, (segno + 1) * S).
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
// The same rule as a Status: kInvalidArgument naming the size otherwise.
Status ValidateSegmentSize(uint64_t size);
constexpr uint32_t kDefaultWalSegmentSize = 16u << 20;  // initdb's default

// Segment numbers per 4 GiB "log" (the middle 8 hex digits of a name).
uint64_t SegmentsPerLog(uint64_t segment_size);
// The segment number of the 16 hex digits after the timeline ("000000020000001F").
// kInvalidArgument when they are not hex or name a segment this size cannot have.
Result<uint64_t> SegmentNumber(std::string_view log_and_seg, uint64_t segment_size);
// The 24-hex name of segment `segno` of `timeline`.
std::string SegmentName(uint32_t timeline, uint64_t segno, uint64_t segment_size);
// The segment that holds the byte at `lsn` (XLByteToSeg).
inline uint64_t SegmentOfLsn(uint64_t lsn, uint64_t segment_size) { return lsn / segment_size; }
// The 24-hex name of the segment holding `lsn` on `timeline`.
inline std::string SegmentNameOfLsn(uint32_t timeline, uint64_t lsn, uint64_t segment_size) {
  return SegmentName(timeline, SegmentOfLsn(lsn, segment_size), segment_size);
}
// The segment after `segment` (a 24-hex-digit segment name, uppercase) on the
// same timeline. kInvalidArgument for another name or an invalid size, a
// segment number this size cannot have, or the last segment of the WAL.
Result<std::string> NextSegment(std::string_view segment, uint64_t segment_size);

}  // namespace walferry::pg
