#include "pg/wal_page.h"

#include <cstdio>
#include <cstring>

namespace walferry::pg {
namespace {

// PostgreSQL's XLOG_PAGE_MAGIC by major version (access/xlog_internal.h).
struct MagicVersion {
  uint16_t magic;
  const char* version;
};
constexpr MagicVersion kMagics[] = {
    {0xD098, "11"}, {0xD101, "12"}, {0xD106, "13"}, {0xD10D, "14"},
    {0xD110, "15"}, {0xD113, "16"}, {0xD116, "17"}, {0xD118, "18"},
};

constexpr uint16_t kLongHeaderFlag = 0x0002;  // XLP_LONG_HEADER

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian on every platform PostgreSQL's WAL is read here
  return v;
}

std::string Hex(uint64_t v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llX", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

const char* PgVersionOfWalMagic(uint16_t magic) {
  for (const auto& m : kMagics) {
    if (m.magic == magic) return m.version;
  }
  return "";
}

Result<WalPageIdentity> ReadWalPageHeader(std::string_view first, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("'" + name + "' does not start with a WAL page header: " + why)
        .WithHint("is this a WAL segment written by PostgreSQL?");
  };
  if (first.size() < kWalLongPageHeaderSize) return bad("shorter than a page header");
  WalPageIdentity id;
  id.magic = Load<uint16_t>(first.data());
  uint16_t info = Load<uint16_t>(first.data() + 2);
  if ((info & kLongHeaderFlag) == 0) return bad("no long header on the first page");
  id.timeline = Load<uint32_t>(first.data() + 4);
  id.page_address = Load<uint64_t>(first.data() + 8);
  id.system_identifier = Load<uint64_t>(first.data() + 24);
  id.segment_size = Load<uint32_t>(first.data() + 32);
  uint32_t block_size = Load<uint32_t>(first.data() + 36);
  if (!ValidWalSegmentSize(id.segment_size)) return bad("implausible segment size");
  if (block_size < 1024 || (block_size & (block_size - 1)) != 0)
    return bad("implausible block size");
  id.pg_version = PgVersionOfWalMagic(id.magic);
  return id;
}

Status CheckWalPageHeader(const WalPageIdentity& page, const WalFileName& wal,
                          uint32_t segment_size, const std::string& file) {
  auto bad = [&](const std::string& field, const std::string& why) {
    return Status::Corruption(
               "'" + file + "': the WAL page header does not match the file: " + field + " " + why)
        .WithHint(
            "this is not the segment PostgreSQL wrote under this name (renamed, copied over or "
            "damaged); find out what replaced it before archiving or restoring it");
  };
  if (!wal.HasWalHeader())
    return Status::InvalidArgument("'" + file + "' is a " + WalFileKindName(wal.kind) +
                                   " file, which has no WAL page header");
  if (*PgVersionOfWalMagic(page.magic) == '\0')
    return bad("xlp_magic", Hex(page.magic) + " is the XLOG_PAGE_MAGIC of no PostgreSQL 11 to 18");
  if (segment_size != 0 && page.segment_size != segment_size) {
    return bad("xlp_seg_size", "is " + std::to_string(page.segment_size) +
                                   ", the repository's WAL segment size is " +
                                   std::to_string(segment_size));
  }
  auto segno = SegmentNumber(wal.segment_id, page.segment_size);
  if (!segno.ok()) {
    return bad("xlp_seg_size", "is " + std::to_string(page.segment_size) + ", and '" + wal.name +
                                   "' names no segment of that size");
  }
  const uint64_t expected = *segno * page.segment_size;
  if (page.page_address != expected) {
    return bad("xlp_pageaddr",
               "is " + Hex(page.page_address) + ", the segment starts at " + Hex(expected));
  }
  if (page.timeline == 0 || page.timeline > wal.timeline) {
    return bad("xlp_tli", "is " + std::to_string(page.timeline) + ", the name's timeline is " +
                              std::to_string(wal.timeline));
  }
  return Status::Ok();
}

Result<WalPageIdentity> ReadCheckedWalPageHeader(std::string_view first, const WalFileName& wal,
                                                 uint32_t segment_size, const std::string& file) {
  auto page = ReadWalPageHeader(first, file);
  if (!page.ok()) return page.status();
  WF_RETURN_IF_ERROR(CheckWalPageHeader(*page, wal, segment_size, file));
  return page;
}

}  // namespace walferry::pg
