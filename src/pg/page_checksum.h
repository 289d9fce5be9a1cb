// page_checksum.h — PostgreSQL's data page checksum (storage/checksum_impl.h),
// for checking relation files while they are backed up.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace walferry::pg {

constexpr size_t kBlockSize = 8192;             // BLCKSZ
constexpr uint32_t kBlocksPerSegment = 131072;  // RELSEG_SIZE: 1 GiB of 8 KiB blocks

// PostgreSQL's pg_checksum_page: FNV-1a based, 32 lanes, with the block
// number mixed in; the page's own pd_checksum field counts as zero.
uint16_t PageChecksum(const char* page, uint32_t block_number);

enum class PageVerdict {
  kOk,
  kSkippedNew,     // pd_upper == 0: a new page (all zeros, or being initialised)
  kSkippedRecent,  // page LSN at or after the backup start: WAL replay rewrites it
  kBad,            // checksum mismatch
};
struct PageCheck {
  PageVerdict verdict = PageVerdict::kOk;
  uint16_t stored = 0, computed = 0;
};
// Checks one 8 KiB page as PostgreSQL's base backup does.
PageCheck CheckPage(const char* page, uint32_t block_number, uint64_t backup_start_lsn);

// When `path` (relative to the data directory) is a relation file whose
// pages carry checksums — base/<db>/<rel>[_fsm|_vm|_init][.<seg>],
// global/<rel>..., pg_tblspc/<oid>/<version>/<db>/<rel>... — the number of
// its first block (segment * RELSEG_SIZE); nullopt otherwise.
std::optional<uint32_t> RelationFirstBlock(std::string_view path);

}  // namespace walferry::pg
