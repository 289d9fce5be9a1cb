// wal_name.h — the names PostgreSQL gives the files it archives (where each
// lives in a repository is repo/keys.h: PostgreSQL facts know no repository).
//
//   000000010000000A000000FF                  a WAL segment (timeline, log, seg: 8 hex each)
//   000000010000000A000000FF.partial          the last, incomplete segment of a timeline
//   000000010000000A000000FF.00000028.backup  a base backup's history file
//   00000002.history                          a timeline history file
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "walferry/status.h"

namespace walferry {

enum class WalFileKind { kSegment, kPartial, kBackup, kHistory };

struct WalFileName {
  std::string name;  // the file name itself, e.g. "000000010000000A000000FF"
  WalFileKind kind = WalFileKind::kSegment;
  uint32_t timeline = 0;
  // For segments, .partial and .backup: the 16 hex digits after the timeline
  // (log and seg), which name the segment within its timeline.
  std::string segment_id;

  // True for files whose first page carries a WAL page header (segments and .partial).
  bool HasWalHeader() const {
    return kind == WalFileKind::kSegment || kind == WalFileKind::kPartial;
  }
};

// Parses a bare file name (no directory). Anything else than the four forms
// above (uppercase hex only, as PostgreSQL writes them) is kInvalidArgument.
Result<WalFileName> ParseWalFileName(std::string_view name);

const char* WalFileKindName(WalFileKind kind);  // "segment", "partial", "backup", "history"

}  // namespace walferry
