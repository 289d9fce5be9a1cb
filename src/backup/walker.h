// walker.h — what of a data directory goes into a base backup.
//
// Follows PostgreSQL's own base backup (basebackup.c and "Making a Base Backup
// Using the Low Level API"): the contents of pg_wal, pg_replslot,
// pg_dynshmem, pg_notify, pg_serial, pg_snapshots, pg_stat_tmp and pg_subtrans
// are left out but the directories kept (pg_wal/archive_status too);
// postmaster.pid, postmaster.opts, backup_label, tablespace_map (taken from
// pg_backup_stop instead), backup_label.old, backup_manifest(.tmp),
// postgresql.auto.conf.tmp, current_logfiles.tmp, recovery.signal and
// standby.signal (backup-fetch writes its own), pg_internal.init files,
// anything named pgsql_tmp*, temporary relations (t<N>_<N>...), and
// unlogged relations but their init fork are left out.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "backup/manifest.h"
#include "walferry/status.h"

namespace walferry::backup {

struct WalkEntry {
  std::string path;      // relative to the data directory, as in the manifest
  std::string abs_path;  // where to read it
  FileType type = FileType::kFile;
  uint32_t mode = 0;
  int64_t mtime = 0;
  uint64_t size = 0;   // at the time of the walk
  std::string target;  // links
};

struct WalkResult {
  std::vector<WalkEntry> entries;  // sorted by path: parents before children
  std::vector<std::string> warnings;
};

// Whether an entry named `name` in directory `dir` (relative, "" for the top)
// is left out entirely. `is_dir` says whether it is a directory.
bool ExcludedEntry(std::string_view dir, std::string_view name, bool is_dir);
// Whether only the contents of the top-level directory `path` are left out.
bool ContentsExcluded(std::string_view path);

// Walks `data_dir` and, for every tablespace link pg_tblspc/<oid>, the
// directory it points to (its contents listed under "pg_tblspc/<oid>/").
// Entries that vanish during the walk are skipped. Symbolic links other than
// tablespaces and pg_wal are kept as links; a pg_wal link becomes a directory.
Result<WalkResult> WalkDataDirectory(const std::string& data_dir);

}  // namespace walferry::backup
