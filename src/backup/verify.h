// verify.h — `walferry verify`: can every backup be restored and rolled forward?
//
// Reads every backup object (VerifyBackupObjects), every WAL object (header;
// with full, the payload too: size and SHA-256 as archive-get checks them),
// parses the history files, and computes each backup's WAL chain (wal_chain.h)
// over the segments that are present and sound. See man/walferry-verify.1.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "backup/wal_chain.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::backup {

enum class WalCheck { kHeader, kFull };
Result<WalCheck> ParseWalCheck(std::string_view text);  // "header", "full"

struct VerifyConfig {
  int parallel = 4;
  WalCheck wal_check = WalCheck::kFull;
};

struct VerifyReport {
  std::string repository;
  WalCheck wal_check = WalCheck::kFull;
  uint64_t segment_size = pg::kDefaultWalSegmentSize;
  struct Backup {
    std::string name, start_wal, stop_wal;
    uint32_t timeline = 0;
    bool objects_ok = true;
    ChainReport chain;
    std::vector<std::string> problems;
  };
  std::vector<Backup> backups;  // oldest first
  size_t wal_objects = 0;
  uint64_t wal_bytes = 0;
  std::vector<uint32_t> timelines;    // with segments or history files
  std::optional<std::string> newest;  // newest sound segment on the highest timeline
  struct Corrupt {
    std::string key, error;
  };
  std::vector<Corrupt> corrupt;
  std::vector<std::string> problems;  // all of them, backups' included
  std::vector<std::string> notes;

  bool ok() const { return problems.empty() && !backups.empty(); }
};

// The report; an error only when the repository could not be read at all
// (unreachable, credentials, not a repository, a manifest that does not decode).
Result<VerifyReport> Verify(Storage& storage, const VerifyConfig& config);

// The Status the command ends with: ok, kNotFound (no backup) or kCorruption (problems).
Status VerifyOutcome(const VerifyReport& report);

std::string VerifyReportText(const VerifyReport& report);
std::string VerifyReportJson(const VerifyReport& report);

}  // namespace walferry::backup
