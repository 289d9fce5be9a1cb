#include "pg/wal_page.h"

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
    {0xD110, "15"}, {0xD113, "16"}, {0xD116, "17"},
};

constexpr uint16_t kLongHeaderFlag = 0x0002;  // XLP_LONG_HEADER

template <typename T>
T Load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);  // little-endian on every platform PostgreSQL's WAL is read here
  return v;
}

}  // namespace

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
  id.system_identifier = Load<uint64_t>(first.data() + 24);
  id.segment_size = Load<uint32_t>(first.data() + 32);
  uint32_t block_size = Load<uint32_t>(first.data() + 36);
  if (!ValidWalSegmentSize(id.segment_size)) return bad("implausible segment size");
  if (block_size < 1024 || (block_size & (block_size - 1)) != 0)
    return bad("implausible block size");
  for (const auto& m : kMagics) {
    if (m.magic == id.magic) id.pg_version = m.version;
  }
  return id;
}

}  // namespace walferry::pg
