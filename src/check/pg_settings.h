// pg_settings.h — `walferry check` with a PostgreSQL connection: are the
// server's archiving settings right for this walferry configuration?
//
// Pure rules, no I/O: the caller reads the settings (pg_settings) and says
// which configuration check itself runs with; AnalyzeSettings says, in plain
// words, what is wrong (wal_level minimal, archive_mode off, an
// archive_command that does not call walferry or calls it with another
// --config or --repo than check's, ...). Tested without a server
// (tests/unit/check/pg_settings_test.cc).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace walferry::check {

// What PostgreSQL says (SHOW / pg_settings), as text.
struct PgSettings {
  int server_version = 0;  // 150004 for 15.4
  bool in_recovery = false;
  std::string wal_level;        // "replica"
  std::string archive_mode;     // "on", "off", "always"
  std::string archive_command;  // "" when not set
  std::string archive_library;  // PostgreSQL 15+; "" when not set (or not there)
  std::string restore_command;
  std::string data_directory;  // archive_command runs in it: relative paths resolve there
};

// What check itself runs with.
struct CheckSide {
  std::string config_file;     // absolute; "" when check read no config file
  std::string repo;            // check's repository URL
  bool repo_from_file = true;  // false: --repo or WALFERRY_REPO overrode the config file's
  std::string default_config_file = "/etc/walferry.conf";
};

enum class Severity {
  kOk,       // the setting is right (the message says so)
  kNote,     // worth knowing, nothing to fix now
  kWarning,  // works now, will hurt later (a recovery, a standby)
  kError,    // archiving through walferry does not work: check fails (exit 2)
};
const char* SeverityName(Severity severity);  // "ok", "note", "warning", "error"

struct Finding {
  std::string setting;  // "archive_mode", "archive_command", ...
  Severity severity = Severity::kOk;
  std::string message;  // plain words, lowercase
  std::string hint;     // the fix; empty when none
};

// A walferry call found in a shell command line such as archive_command.
struct WalferryCall {
  std::string program;                // the word that runs walferry ("/usr/bin/walferry")
  std::string command;                // "archive-push"; "" when none was given
  std::vector<std::string> args;      // the command's positional arguments ("%p")
  std::optional<std::string> config;  // --config (or WALFERRY_CONFIG=) as written
  std::optional<std::string> repo;    // --repo (or WALFERRY_REPO=) as written
};

// Splits `shell` into words (quotes and backslashes as sh does) and returns the
// first call of a program named walferry; nullopt when there is none.
std::optional<WalferryCall> FindWalferryCall(std::string_view shell);

// Every finding, in the order wal_level, archive_mode, archive_library,
// archive_command, restore_command. Settings that are right get a kOk finding.
std::vector<Finding> AnalyzeSettings(const PgSettings& pg, const CheckSide& self);

// True when some finding is an error.
bool HasErrors(const std::vector<Finding>& findings);

}  // namespace walferry::check
