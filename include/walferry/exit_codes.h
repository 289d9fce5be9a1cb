// exit_codes.h — the one table of walferry's process exit codes.
//
// PostgreSQL reads these: archive_command must fail with 1..125 (above 125
// stops the archiver), and restore_command's 1 means "the repository does not
// have this file". man/walferry.1 lists the same table; a test keeps them in step.
#pragma once

#include "walferry/status.h"

namespace walferry {

enum class ExitCode : int {
  kOk = 0,
  kNotFound = 1,      // the repository does not have the requested file or object
  kUsage = 2,         // bad command line, bad config file or value
  kUnreachable = 3,   // repository unreachable, timed out or overloaded after retries
  kAuth = 4,          // credentials or signature rejected
  kPermission = 5,    // access denied to the bucket, prefix or local path
  kConflict = 6,      // object already exists with other content
  kCorruption = 7,    // checksum or size mismatch: data is not what was stored
  kLocalIo = 8,       // local filesystem error (disk full, permission, missing file)
  kNotSupported = 9,  // the server or backend lacks something walferry needs
  kInternal = 10,     // a bug in walferry: please report it
  kWrongRepository = 11,  // the file belongs to another cluster than the repository's
  // archive-get only, during archive recovery (recovery.signal, no standby.signal):
  // any failure but "not found". Above 125, so PostgreSQL stops recovery
  // instead of taking the failure for the end of the WAL and promoting.
  kRecoveryMustStop = 200,
};

struct ExitCodeInfo {
  ExitCode code;
  const char* name;     // stable, used in --json output and the man page
  const char* meaning;  // one line for the man page and `walferry --help`
};

// The table, in code order. Every code but kRecoveryMustStop is within 1..125,
// as archive_command requires.
const ExitCodeInfo* ExitCodeTable(int* count);

// The exit code for a failure (kOk for an ok Status).
ExitCode ExitCodeFor(const Status& s);

}  // namespace walferry
