#include "pg/control_file.h"

#include <cstring>
#include <fstream>

#include "pg/wal_segment.h"

namespace walferry::pg {
namespace {

constexpr size_t kControlFileReadSize = 512;  // PG_CONTROL_MAX_SAFE_SIZE
constexpr double kFloatFormat = 1234567.0;    // FLOATFORMAT_VALUE

uint32_t Load32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

bool PlausibleBlockSize(uint32_t b) { return b >= 1024 && b <= 32768 && (b & (b - 1)) == 0; }

}  // namespace

uint32_t WalSegmentSizeFromControlFile(std::string_view c) {
  // floatFormat is after the system identifier, versions, state, times and a CheckPoint.
  for (size_t at = 16; at + 24 <= c.size(); at += 8) {
    double f;
    std::memcpy(&f, c.data() + at, sizeof f);
    if (f != kFloatFormat) continue;
    const uint32_t blcksz = Load32(c.data() + at + 8);
    const uint32_t relseg_size = Load32(c.data() + at + 12);
    const uint32_t xlog_blcksz = Load32(c.data() + at + 16);
    const uint32_t xlog_seg_size = Load32(c.data() + at + 20);
    if (PlausibleBlockSize(blcksz) && relseg_size != 0 && PlausibleBlockSize(xlog_blcksz) &&
        ValidWalSegmentSize(xlog_seg_size))
      return xlog_seg_size;
    return 0;
  }
  return 0;
}

std::optional<DataDirFacts> ReadDataDirFacts(const std::string& data_dir) {
  std::ifstream control(data_dir + "/global/pg_control", std::ios::binary);
  std::string buf(kControlFileReadSize, '\0');
  control.read(buf.data(), static_cast<std::streamsize>(buf.size()));
  buf.resize(static_cast<size_t>(control.gcount()));
  if (buf.size() < 8) return std::nullopt;
  DataDirFacts facts;
  std::memcpy(&facts.system_identifier, buf.data(), sizeof facts.system_identifier);
  facts.wal_segment_size = WalSegmentSizeFromControlFile(buf);
  std::ifstream version(data_dir + "/PG_VERSION");
  std::getline(version, facts.pg_version);
  return facts;
}

}  // namespace walferry::pg
