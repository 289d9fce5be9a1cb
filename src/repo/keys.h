// keys.h — every key of a walferry repository, in one table. Nothing else in
// walferry spells a key or a key prefix; man/walferry-repository.5 (KEYS)
// documents each one.
//
//   walferry.repo                        the identity file (identity.h)
//   wal/<TTTTTTTTLLLLLLLL>/<NAME>        a WAL segment, .partial or .backup file
//   wal/history/<TTTTTTTT>.history       a timeline history file
//   backup/<NAME>/started                claims a backup's name when it starts
//   backup/<NAME>/data/<NNNNNN>          a backup's data objects
//   backup/<NAME>/manifest.json          a backup's manifest, written last
//   backup/<NAME>/deleting               a delete in progress (walferry delete)
//   walferry-check/probe-...             probe objects of `walferry check`
//
// Contract: pure functions of their arguments, no I/O; the names passed in are
// already valid (ParseWalFileName, ValidateBackupName): nothing here checks them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "walferry/wal_name.h"

namespace walferry::repo {

inline constexpr char kIdentityKey[] = "walferry.repo";

// WAL: every object under kWalPrefix is one WAL file (object.h, a header line first).
inline constexpr char kWalPrefix[] = "wal/";
inline constexpr char kHistoryPrefix[] = "wal/history/";
// "wal/<timeline+log>/<name>" for segments, .partial and .backup files,
// "wal/history/<name>" for history files.
std::string WalObjectKey(const WalFileName& wal);

// Backups: every key of backup NAME starts with BackupPrefix(NAME), so removing
// that prefix (manifest first) deletes the backup.
inline constexpr char kBackupPrefix[] = "backup/";
inline constexpr char kManifestName[] = "manifest.json";
inline constexpr char kStartedName[] = "started";
inline constexpr char kDeletingName[] = "deleting";
std::string BackupPrefix(const std::string& name);               // "backup/<NAME>/"
std::string ManifestKey(const std::string& name);                // "backup/<NAME>/manifest.json"
std::string StartedKey(const std::string& name);                 // "backup/<NAME>/started"
std::string DeletingKey(const std::string& name);                // "backup/<NAME>/deleting"
std::string DataPrefix(const std::string& name);                 // "backup/<NAME>/data/"
std::string DataObjectKey(const std::string& name, uint32_t n);  // "backup/<NAME>/data/000001"
// The backup NAME of "backup/<NAME>/<rest>" (any rest, "" included); nullopt
// for a key outside kBackupPrefix or without a '/' after the name.
std::optional<std::string> BackupNameOf(std::string_view key);

// `walferry check` writes its probe objects under this prefix, nothing else does.
inline constexpr char kProbePrefix[] = "walferry-check/";

}  // namespace walferry::repo
