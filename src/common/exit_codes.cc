// exit_codes.cc — the exit-code table and the Status code → exit code mapping
// (see walferry/exit_codes.h).
#include "walferry/exit_codes.h"

#include <iterator>

namespace walferry {

namespace {

using C = Status::Code;
using E = ExitCode;

// The one table of exit codes. `phrase` opens the failure message on stderr;
// `meaning` is what --help, walferry(1) and the README say.
// clang-format off
constexpr ExitCodeInfo kExitCodes[] = {
  {E::kOk, "ok", "ok", "success"},
  {E::kNotFound, "not-found", "not found",
   "the repository does not have the requested file or object"},
  {E::kUsage, "usage", "usage error", "bad command line, configuration file or option value"},
  {E::kUnreachable, "unreachable", "unreachable",
   "the repository could not be reached, timed out or was overloaded, after retries"},
  {E::kAuth, "auth", "authentication failed",
   "the repository rejected the credentials or the request signature (or its TLS certificate "
   "is not trusted)"},
  {E::kPermission, "permission", "permission denied",
   "access denied to the bucket, prefix or a local path"},
  {E::kConflict, "conflict", "conflict", "an object already exists with different content"},
  {E::kCorruption, "corruption", "corruption",
   "stored or local data is damaged: a checksum, size or header is not what was written"},
  {E::kLocalIo, "local-io", "local i/o error",
   "local filesystem error (disk full, missing file, i/o error)"},
  {E::kNotSupported, "not-supported", "not supported",
   "the server or backend lacks a feature walferry needs"},
  {E::kInternal, "internal", "internal error", "a bug in walferry; please report it"},
  {E::kWrongRepository, "wrong-repository", "wrong repository",
   "the repository belongs to another cluster (system identifier differs), was never created "
   "(repo-create), or holds data of a format this walferry does not read"},
  {E::kRecoveryMustStop, "recovery-must-stop", "recovery must stop",
   "archive-get during archive recovery failed for another reason than a missing file; "
   "PostgreSQL stops recovery"},
};

// Which exit code each Status code becomes; every code has one row.
constexpr StatusCodeInfo kStatusCodes[] = {
  {C::kOk, "ok", E::kOk},
  {C::kNotFound, "not found", E::kNotFound},
  {C::kAlreadyExists, "already exists", E::kConflict},
  {C::kInvalidArgument, "invalid argument", E::kUsage},
  {C::kAuth, "authentication failed", E::kAuth},
  {C::kPermission, "permission denied", E::kPermission},
  {C::kUnavailable, "unavailable", E::kUnreachable},
  {C::kCorruption, "corruption", E::kCorruption},
  {C::kIo, "i/o error", E::kLocalIo},
  {C::kNotSupported, "not supported", E::kNotSupported},
  {C::kWrongRepository, "wrong repository", E::kWrongRepository},
  {C::kInternal, "internal error", E::kInternal},
  // Exit 11 as before the split: a newer walferry's data is in no sense this
  // repository's data for this binary, and the hint says which version to use.
  {C::kUnsupportedFormat, "unsupported format", E::kWrongRepository},
};
// clang-format on

}  // namespace

std::span<const ExitCodeInfo> ExitCodes() { return kExitCodes; }

const ExitCodeInfo* ExitCodeTable(int* count) {
  *count = static_cast<int>(std::size(kExitCodes));
  return kExitCodes;
}

const ExitCodeInfo& InfoFor(ExitCode code) {
  for (const ExitCodeInfo& row : kExitCodes) {
    if (row.code == code) return row;
  }
  return InfoFor(ExitCode::kInternal);
}

std::span<const StatusCodeInfo> StatusCodes() { return kStatusCodes; }

ExitCode ExitCodeFor(const Status& s) {
  for (const StatusCodeInfo& row : kStatusCodes) {
    if (row.code == s.code()) return row.exit;
  }
  return ExitCode::kInternal;
}

}  // namespace walferry
