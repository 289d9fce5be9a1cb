#include "walferry/wal_name.h"

namespace walferry {
namespace {

bool IsUpperHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'))) return false;
  }
  return !s.empty();
}

uint32_t Hex32(std::string_view s) {
  return static_cast<uint32_t>(std::stoul(std::string(s), nullptr, 16));
}

}  // namespace

Result<WalFileName> ParseWalFileName(std::string_view name) {
  WalFileName w;
  w.name = std::string(name);
  auto bad = [&] {
    return Status::InvalidArgument(
               "'" + std::string(name) +
               "' is not a WAL file name (a segment, .partial, .backup or .history file)")
        .WithHint(
            "archive_command must pass %p and restore_command %f, as PostgreSQL expands them");
  };
  if (name.size() >= 24 && IsUpperHex(name.substr(0, 24))) {
    std::string_view rest = name.substr(24);
    if (rest.empty()) {
      w.kind = WalFileKind::kSegment;
    } else if (rest == ".partial") {
      w.kind = WalFileKind::kPartial;
    } else if (rest.size() == 16 && rest[0] == '.' && IsUpperHex(rest.substr(1, 8)) &&
               rest.substr(9) == ".backup") {
      w.kind = WalFileKind::kBackup;
    } else {
      return bad();
    }
    w.timeline = Hex32(name.substr(0, 8));
    w.segment_id = std::string(name.substr(8, 16));
    if (w.timeline == 0) return bad();
    return w;
  }
  if (name.size() == 16 && IsUpperHex(name.substr(0, 8)) && name.substr(8) == ".history") {
    w.kind = WalFileKind::kHistory;
    w.timeline = Hex32(name.substr(0, 8));
    if (w.timeline == 0) return bad();
    return w;
  }
  return bad();
}

const char* WalFileKindName(WalFileKind kind) {
  switch (kind) {
    case WalFileKind::kSegment: return "segment";
    case WalFileKind::kPartial: return "partial";
    case WalFileKind::kBackup: return "backup";
    case WalFileKind::kHistory: return "history";
  }
  return "?";
}

}  // namespace walferry
