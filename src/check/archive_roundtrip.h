// archive_roundtrip.h — `walferry check` through PostgreSQL: read the
// server's archiving settings, then prove that its real archive_command
// brings a WAL segment into this repository and that archive-get gets it back.
//
// The round trip, on a primary only (pg_switch_wal() cannot run during recovery):
//   1. the repository was created (repo-create) for this very cluster (system identifier);
//   2. pg_switch_wal(): PostgreSQL closes the current segment when WAL was written since the
//      last switch (else it does nothing); check follows the last completed segment S;
//   3. pg_stat_archiver is polled (bounded by `archive_wait_seconds`) until
//      last_archived_wal >= S; a failure counted meanwhile (failed_count grew) ends the wait
//      with last_failed_wal and last_failed_time;
//   4. S is found in the repository (Head of its key, repo::WalObjectKey);
//   5. S is read back through archive-get's code path (archive::Get: size and SHA-256
//      verified before the rename) into a temporary directory, which is then removed.
// Nothing is written to the repository by check itself; the segment is PostgreSQL's own.
#pragma once

#include <functional>
#include <string>

#include "check/pg_settings.h"
#include "check/probe.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::backup {
class PgSession;
}  // namespace walferry::backup

namespace walferry::check {

// The settings AnalyzeSettings needs, read with SHOW-like queries (pg_settings,
// so that a server without archive_library answers too).
Result<PgSettings> ReadPgSettings(backup::PgSession& pg);

struct RoundTripOptions {
  double archive_wait_seconds = 60;  // for pg_stat_archiver to show the segment archived
  double poll_seconds = 0.2;
  std::string temp_dir;  // parent of the read-back directory; "" = $TMPDIR, else /tmp
};

// Runs steps 1-5, calling `report` after each (names: "repository identity",
// "switch wal", "archiver", "segment in repository", "read back"). Stops at the
// first failure and returns it:
//   kWrongRepository (exit 11) the repository was never created, or is another cluster's;
//   kPermission (exit 5)          the role may not run pg_switch_wal();
//   kUnavailable (exit 3)         the archiver failed, or did not archive S in time;
//   kNotFound (exit 1)            PostgreSQL archived S but the repository does not have it;
//   kCorruption (exit 7)          the stored S does not read back as it was written;
//   connection and storage errors as they come.
Status ArchiveRoundTrip(backup::PgSession& pg, Storage& storage, const RoundTripOptions& options,
                        const std::function<void(const StepResult&)>& report);

}  // namespace walferry::check
