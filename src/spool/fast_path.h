// fast_path.h — archive-push of a segment the spool has confirmed already, decided
// before anything else is set up (PostgreSQL runs archive_command once per segment, and
// after a worker ran ahead most calls are this one).
//
// The fast path reads the command line (only its plain shape), a stat of the file, one
// small record and, rarely, pg_wal/archive_status for the backlog warning; it opens no
// connection and builds no command-line parser.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "spool/push_dirs.h"

namespace walferry::spool {

// The options both archive-push paths through the spool read.
struct SpoolPushConfig {
  std::string spool_path;         // spool-path as configured
  std::string repo;               // the repository URL
  bool durability_spool = false;  // archive-durability = spool: a staged copy is enough
  int backlog_warn = 64;          // spool-backlog-warn (0 = never)
};

// ---- the command line, in its plain shape only

// What a name after "--" on the command line is, for the fast path's reader.
enum class FlagKind { kUnknown, kBool, kValue };
struct FastPathArgs {
  std::map<std::string, std::string> flags;  // option name -> value as typed
  std::string path;                          // archive-push's one argument
};
// `walferry [--name=value | --name value]... archive-push PATH` (booleans only with '=';
// each option at most once): the flags and the path. nullopt for any other shape and any
// doubt (then the full command-line parser handles the call).
std::optional<FastPathArgs> ParseFastPathArgs(int argc, char** argv,
                                              FlagKind (*kind_of)(std::string_view name));

// ---- the decision

// True when `path` (relative to `data_dir`, PostgreSQL's data directory) is confirmed
// in the spool (or, with durability_spool, staged there), with exactly the stat the
// record holds; then it may give the backlog warning too.
bool AlreadyConfirmed(const SpoolPushConfig& cfg, const std::string& path,
                      const std::string& data_dir);

// A WARNING in PostgreSQL's log when the backlog reaches backlog_warn, at most once a
// minute (the mtime of push/warned).
void WarnBacklog(const SpoolPushConfig& cfg, const PushDirs& dirs, const std::string& data_dir);

}  // namespace walferry::spool
