#include "pg/wal_segment.h"

#include <cstdio>

namespace walferry::pg {
namespace {

bool ParseHex(std::string_view s, uint64_t* out) {
  if (s.empty() || s.size() > 16) return false;
  uint64_t v = 0;
  for (char c : s) {
    int d;
    if (c >= '0' && c <= '9')
      d = c - '0';
    else if (c >= 'A' && c <= 'F')
      d = c - 'A' + 10;
    else if (c >= 'a' && c <= 'f')
      d = c - 'a' + 10;
    else
      return false;
    v = (v << 4) | static_cast<uint64_t>(d);
  }
  *out = v;
  return true;
}

bool IsUpperHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

}  // namespace

Status ValidateSegmentSize(uint64_t size) {
  if (!ValidWalSegmentSize(size)) {
    return Status::InvalidArgument("wal_segment_size " + std::to_string(size) +
                                   " is not a power of two between 1 MiB and 1 GiB");
  }
  return Status::Ok();
}

uint64_t SegmentsPerLog(uint64_t segment_size) { return 0x100000000ull / segment_size; }

Result<uint64_t> SegmentNumber(std::string_view log_and_seg, uint64_t segment_size) {
  uint64_t log = 0, seg = 0;
  if (log_and_seg.size() != 16 || !ParseHex(log_and_seg.substr(0, 8), &log) ||
      !ParseHex(log_and_seg.substr(8), &seg) || seg >= SegmentsPerLog(segment_size)) {
    return Status::InvalidArgument("'" + std::string(log_and_seg) +
                                   "' does not name a WAL segment of " +
                                   std::to_string(segment_size) + " bytes");
  }
  return log * SegmentsPerLog(segment_size) + seg;
}

std::string SegmentName(uint32_t timeline, uint64_t segno, uint64_t segment_size) {
  const uint64_t per = SegmentsPerLog(segment_size);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%08X%08X%08X", timeline, static_cast<unsigned>(segno / per),
                static_cast<unsigned>(segno % per));
  return buf;
}

Result<std::string> NextSegment(std::string_view segment, uint64_t segment_size) {
  if (segment.size() != 24 || !IsUpperHex(segment)) {
    return Status::InvalidArgument("'" + std::string(segment) + "' is not a WAL segment name");
  }
  WF_RETURN_IF_ERROR(ValidateSegmentSize(segment_size));
  auto segno = SegmentNumber(segment.substr(8), segment_size);
  if (!segno.ok()) return segno.status();
  if (*segno + 1 >= 0x100000000ull * SegmentsPerLog(segment_size))
    return Status::InvalidArgument("'" + std::string(segment) + "' is the last segment");
  uint64_t timeline = 0;
  ParseHex(segment.substr(0, 8), &timeline);
  return SegmentName(static_cast<uint32_t>(timeline), *segno + 1, segment_size);
}

}  // namespace walferry::pg
