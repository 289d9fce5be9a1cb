// exit_codes.h — the one table of walferry's process exit codes.
//
// PostgreSQL reads these: archive_command must fail with 1..125 (above 125
// stops the archiver), and restore_command's 1 means "the repository does not
// have this file". man/walferry.1 and README.md list the same table, made from
// ExitCodes() below; a test keeps them in step.
#pragma once

#include <span>

#include "walferry/status.h"

namespace walferry {

// What each code means is in the table below (ExitCodes()), not here.
enum class ExitCode : int {
  kOk = 0,
  kNotFound = 1,
  kUsage = 2,
  kUnreachable = 3,
  kAuth = 4,
  kPermission = 5,
  kConflict = 6,
  kCorruption = 7,
  kLocalIo = 8,
  kNotSupported = 9,
  kInternal = 10,
  kWrongRepository = 11,
  // Above 125, so that PostgreSQL stops recovery instead of taking the failure
  // for the end of the WAL and promoting.
  kRecoveryMustStop = 200,
};

struct ExitCodeInfo {
  ExitCode code;
  const char* name;     // stable: --json output, the man page, the README
  const char* phrase;   // opens a failure message: "unreachable: put 'wal/...': ..."
  const char* meaning;  // one line for --help, walferry(1) and the README
};

// The table, in code order: the one source of every code's name, phrase and
// meaning. `walferry --help`, the EXIT STATUS of walferry(1) and the README's
// table are made from it (tests/unit/cli/man_page_test.cc keeps them in step).
// Every code but kRecoveryMustStop is within 1..125, as archive_command requires.
std::span<const ExitCodeInfo> ExitCodes();
const ExitCodeInfo* ExitCodeTable(int* count);  // the same table, C style
// The row of `code` (the kInternal row for a value not in the table).
const ExitCodeInfo& InfoFor(ExitCode code);

// Which exit code each Status::Code becomes: one row per code.
struct StatusCodeInfo {
  Status::Code code;
  const char* name;  // Status::CodeName: "not found", "wrong repository", ...
  ExitCode exit;
};
std::span<const StatusCodeInfo> StatusCodes();

// The exit code for a failure (kOk for an ok Status).
ExitCode ExitCodeFor(const Status& s);

}  // namespace walferry
