// commands.h — walferry's subcommands: one table of {name, help, bind}.
//
// Adding a command is one line in the table (commands.cc) plus a Bind
// function: it registers the command's own flags and arguments on its CLI11
// subcommand and returns the handler that runs once the command line is
// parsed and the global config resolved. Handlers get explicit inputs
// (Context) and return a Status; the caller reports a failure and turns it
// into the exit code (ExitCodeFor).
#pragma once

#include <cstdio>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "walferry/exit_codes.h"
#include "walferry/options.h"
#include "walferry/status.h"

namespace CLI {
class App;
}  // namespace CLI

namespace walferry::cli {

struct Context {
  const config::GlobalConfig& config;
  std::FILE* out;  // the command's report (stdout); logs go to stderr
};

// How a command's failure (of its configuration or of its handler) becomes
// an exit code, and whether it is reported at error level.
struct FailureOutcome {
  ExitCode code;
  bool report = true;
};
using FailurePolicy = FailureOutcome (*)(const Status& failure);

using Handler = std::function<Status(const Context&)>;
using Binder = Handler (*)(CLI::App& command);

struct CommandSpec {
  const char* name;
  const char* help;  // one line, for --help and the man page
  Binder bind;
  FailurePolicy on_failure = nullptr;  // nullptr: ExitCodeFor, always reported
  bool internal = false;  // started by walferry itself: not in --help nor the man pages
};

// The table, in --help order.
std::span<const CommandSpec> Commands();

// Runs walferry with the process's arguments and environment; returns the
// exit code. Never throws past CLI11 (parse errors are exit 2).
int Main(int argc, char** argv);

// One Bind function per command (in <command>_command.cc).
Handler BindCheck(CLI::App& command);
Handler BindArchivePush(CLI::App& command);
Handler BindRepoCreate(CLI::App& command);
Handler BindArchiveGet(CLI::App& command);
Handler BindDelete(CLI::App& command);  // backup_ops_commands.cc
Handler BindVerify(CLI::App& command);  // backup_ops_commands.cc
Handler BindArchiveGetWorker(CLI::App& command);
FailureOutcome ArchiveGetFailure(const Status& failure);
Handler BindBackupPush(CLI::App& command);
Handler BindBackupList(CLI::App& command);
Handler BindBackupFetch(CLI::App& command);
Handler BindArchivePushWorker(CLI::App& command);
Handler BindStatus(CLI::App& command);
Handler BindCompletion(CLI::App& command);  // completion.cc

// archive-push without a spool (archive_commands.cc) and through it (spool_commands.cc).
// The command line of a worker walferry starts by itself: this binary, `command` (the
// subcommand and its own arguments), then every option this process was given as a flag,
// as --name=value (the environment and the config file it names are inherited as they are).
// Secret options given as flags (the S3 secret key, the session token) are left out:
// WorkerEnv passes them as WALFERRY_* variables, which rank just below flags, so the
// worker resolves the same configuration without the secrets on its command line.
std::vector<std::string> WorkerArgv(const config::GlobalConfig& cfg,
                                    const std::vector<std::string>& command);
std::vector<std::string> WorkerEnv(const config::GlobalConfig& cfg);  // "WALFERRY_X=value"

// archive-push of a segment the spool has confirmed, decided before the command line parser
// is even built (the ~2 ms it costs to set up matter on this path): the exit code, or nullopt
// when the call is not that (then Main handles it as any other).
std::optional<int> ArchivePushFastPath(int argc, char** argv);

Status RunPushDirect(const Context& ctx, const std::string& path, const std::string& data_dir);
Status RunSpoolPush(const Context& ctx, const std::string& path, const std::string& data_dir);

}  // namespace walferry::cli
