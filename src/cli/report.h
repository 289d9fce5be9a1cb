// report.h — how a failed command tells the operator what went wrong.
//
// Two lines on stderr, both through the log (so PostgreSQL's log keeps them):
//   "<class>: <message>"   e.g. "unreachable: put 'wal/...': ..."
//   "HINT: <what to do>"
// Secrets from the config are scrubbed from both.
#pragma once

#include <string>

#include "walferry/exit_codes.h"
#include "walferry/options.h"
#include "walferry/status.h"

namespace walferry::cli {

// The stable name from the exit-code table ("unreachable", "auth", ...).
const char* ExitCodeName(ExitCode code);

// The words that open a failure message, from the same table: "unreachable",
// "authentication failed", "permission denied", "usage error", ...
const char* FailurePhrase(ExitCode code);

// The status's own hint, else a general one for its class (may be empty).
// `config` may be null (the failure came before the config was resolved).
std::string HintFor(const Status& status, const config::GlobalConfig* config);

// "<phrase>: <message>", secrets redacted.
std::string FailureMessage(const Status& status, const config::GlobalConfig* config);

// Logs the failure and its hint at error level.
void ReportFailure(const Status& status, const config::GlobalConfig* config);

}  // namespace walferry::cli
