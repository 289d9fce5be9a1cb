// wal_segment.h — WAL files and data directories as walferry reads them, for tests.
#pragma once

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>

#include "support/temp_dir.h"

namespace walferry::testing {

// A WAL segment as PostgreSQL 15 writes it: a long page header (system identifier,
// segment size, block size), then `fill` bytes. `header_size` (default: `size`) is the
// segment size the header states: another value makes a truncated or padded file.
inline std::string WalSegment(uint64_t sysid, char fill = 'w', uint32_t size = 16u << 20,
                              uint32_t header_size = 0) {
  if (header_size == 0) header_size = size;
  std::string s(size, fill);
  uint16_t magic = 0xD110, info = 0x0002;
  uint32_t block = 8192;
  std::memcpy(s.data(), &magic, 2);
  std::memcpy(s.data() + 2, &info, 2);
  std::memcpy(s.data() + 24, &sysid, 8);
  std::memcpy(s.data() + 32, &header_size, 4);
  std::memcpy(s.data() + 36, &block, 4);
  return s;
}

// A data directory as far as walferry reads one: global/pg_control, PG_VERSION, pg_wal/.
inline void MakeDataDir(const TempDir& dir, uint64_t sysid) {
  std::filesystem::create_directories(dir.path() + "/global");
  std::filesystem::create_directories(dir.path() + "/pg_wal");
  dir.Write("global/pg_control",
            std::string(reinterpret_cast<const char*>(&sysid), 8) + std::string(8184, '\0'));
  dir.Write("PG_VERSION", "15\n");
}

}  // namespace walferry::testing
