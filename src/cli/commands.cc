// commands.cc — the command table and the CLI11 wiring shared by all commands.
#include "cli/commands.h"

#include <CLI/CLI.hpp>
#include <cctype>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/report.h"
#include "common/log.h"
#include "spool/spool.h"
#include "walferry/exit_codes.h"

namespace walferry::cli {
namespace {

// clang-format off
constexpr CommandSpec kCommands[] = {
  {"archive-push", "store one WAL file in the repository (archive_command = 'walferry "
                   "archive-push %p')", BindArchivePush},
  {"archive-get", "fetch one WAL file from the repository (restore_command = 'walferry "
                  "archive-get %f %p')", BindArchiveGet, ArchiveGetFailure},
  {"backup-push", "take a full base backup of the cluster (libpq: PG* variables or --pg-conninfo) "
                  "and store it in the repository", BindBackupPush},
  {"backup-list", "list the base backups in the repository (--json for machines)", BindBackupList},
  {"backup-fetch", "restore a base backup (NAME or LATEST) into a data directory, verified, with "
                   "optional recovery target", BindBackupFetch},
  {"check", "check the configuration, then write, read back and delete a probe object in the "
            "repository; with a PostgreSQL connection, also its archiving settings and a WAL "
            "segment's round trip through its archive_command (see walferry-check(1))", BindCheck},
  {"archive-push-worker", "the spool's upload worker: archive-push starts it by itself when "
                          "spool-path is set (see walferry-archive-push(1))", BindArchivePushWorker},
  {"status", "the spool's backlog: pending WAL, oldest pending, last success and error, upload "
             "rate (--json, --prometheus FILE)", BindStatus},
  {"archive-get-worker", "internal: the restore prefetch worker that archive-get starts",
                         BindArchiveGetWorker, nullptr, true},
  {"repo-create", "create the repository, once, for the cluster whose data directory is the "
                  "working directory (or --pg-data)", BindRepoCreate},
  {"delete", "retention: delete old backups and the WAL no kept backup needs (a dry run "
             "until confirmed)", BindDelete},
  {"verify", "check every backup object and the WAL from each backup to the newest segment; "
             "exit 0 only if all is recoverable", BindVerify},
  {"completion", "internal: print the bash completion script ('walferry completion bash')",
                 BindCompletion, nullptr, true},
};
// clang-format on

const char* GroupName(config::Section section) {
  switch (section) {
    case config::Section::kGeneral: return "General options";
    case config::Section::kRepository: return "Repository options";
    case config::Section::kArchive: return "Archive options";
    case config::Section::kSpool: return "Spool options";
    case config::Section::kBackup: return "Backup options";
    case config::Section::kS3: return "S3 options";
  }
  return "Options";
}

std::string OptionHelp(const config::OptionSpec& o) {
  std::string help = o.help;
  if (*o.default_value != '\0') help += std::string(" (default: ") + o.default_value + ")";
  if (o.type == config::OptionType::kEnum) help += "; " + config::ValueSyntax(o);
  return help;
}

std::string RootFooter() {
  std::string f =
      "Every option can also be set with an environment variable WALFERRY_<NAME> (such as\n"
      "WALFERRY_S3_ENDPOINT) or as 'name = value' in the config file (such as s3-endpoint).\n"
      "Precedence: flag > environment > config file > default. S3 credentials are also read\n"
      "from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN.\n"
      "Run 'walferry COMMAND --help' for a command's own options; see walferry(1) and\n"
      "walferry.conf(5).\n\nExit codes:\n";
  for (const ExitCodeInfo& row : ExitCodes()) {
    char code[32];
    std::snprintf(code, sizeof code, "  %3d  %-18s ", static_cast<int>(row.code), row.name);
    f += code + std::string(row.meaning) + "\n";
  }
  return f;
}

// The global options as registered on one CLI11 app (the root or a command).
class GlobalFlags {
 public:
  void Register(CLI::App& app) {
    auto options = config::Options();
    values_.resize(options.size());  // sized once: CLI11 keeps pointers into it
    for (size_t i = 0; i < options.size(); ++i) {
      const config::OptionSpec& o = options[i];
      CLI::Option* opt = app.add_option(config::FlagName(o), values_[i], OptionHelp(o));
      opt->type_name(o.value_name)->group(GroupName(o.section));
      given_.push_back(opt);
    }
  }
  // Adds the options given on the command line to `flags` (overwriting).
  void Collect(std::map<std::string, std::string>* flags) const {
    auto options = config::Options();
    for (size_t i = 0; i < given_.size(); ++i) {
      if (given_[i]->count() > 0) (*flags)[options[i].name] = values_[i];
    }
  }

 private:
  std::vector<std::string> values_;
  std::vector<CLI::Option*> given_;
};

std::string Lowercase1(std::string s) {
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

}  // namespace

std::span<const CommandSpec> Commands() { return kCommands; }

int Main(int argc, char** argv) {
  if (std::optional<int> fast = ArchivePushFastPath(argc, argv)) return *fast;
  CLI::App app("walferry: keeps PostgreSQL recoverable by archiving WAL and base backups to S3",
               "walferry");
  app.set_help_flag("-h,--help", "print this help and exit");
  app.set_version_flag("--version", std::string("walferry ") + WALFERRY_VERSION,
                       "print the version and exit");
  app.require_subcommand(0, 1);  // none: a clear "no command given" below
  app.footer(RootFooter());
  app.get_formatter()->label("SUBCOMMAND", "COMMAND");
  GlobalFlags root_flags;
  root_flags.Register(app);

  struct Bound {
    const CommandSpec* spec = nullptr;
    CLI::App* app = nullptr;
    GlobalFlags flags;
    Handler handler;
  };
  // Global options are registered on every command too, so they may come
  // before or after the command name (walferry --repo X check, walferry check --repo X).
  std::vector<std::unique_ptr<Bound>> commands;
  for (const CommandSpec& spec : kCommands) {
    auto b = std::make_unique<Bound>();
    b->spec = &spec;
    b->app = app.add_subcommand(spec.name, spec.help);
    b->app->group(spec.internal ? "" : "Commands");
    b->app->footer("Global options may come before or after the command; see 'walferry --help'.");
    b->flags.Register(*b->app);
    b->handler = spec.bind(*b->app);
    commands.push_back(std::move(b));
  }

  // CLI11 reports through exceptions; they stop here.
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) {
      app.exit(e, std::cout, std::cerr);  // --help, --version
      return static_cast<int>(ExitCode::kOk);
    }
    std::string what = Lowercase1(e.what());
    std::vector<std::string> rest = app.remaining();
    bool any_command = false;
    for (const auto& b : commands) any_command = any_command || b->app->parsed();
    if (!any_command && !rest.empty() && !rest.front().starts_with("-")) {
      what = "unknown command '" + rest.front() + "'";
    }
    log::Error("bad command line: " + what);
    log::Error("HINT: run 'walferry --help' or 'walferry COMMAND --help'");
    return static_cast<int>(ExitCode::kUsage);
  }

  const Bound* chosen = nullptr;
  for (const auto& b : commands) {
    if (b->app->parsed()) chosen = b.get();
  }
  if (chosen == nullptr) {
    log::Error("bad command line: no command given");
    log::Error("HINT: run 'walferry --help' for the list of commands");
    return static_cast<int>(ExitCode::kUsage);
  }
  log::SetCommand(chosen->spec->name);

  config::ConfigSources sources;
  root_flags.Collect(&sources.flags);
  chosen->flags.Collect(&sources.flags);  // after the command name wins
  sources.env = config::ReadEnvironment();
  auto fail = [&](const Status& s, const config::GlobalConfig* c) {
    FailureOutcome out{ExitCodeFor(s), true};
    if (chosen->spec->on_failure != nullptr) out = chosen->spec->on_failure(s);
    if (out.report) ReportFailure(s, c);
    return static_cast<int>(out.code);
  };
  Result<config::GlobalConfig> cfg = config::ResolveConfig(sources);
  if (!cfg.ok()) return fail(cfg.status(), nullptr);
  log::SetLevel(cfg->log_level);
  for (const std::string& w : cfg->warnings) log::Warn(w);
  if (log::Enabled(log::Level::kDebug)) {
    log::Debug(cfg->config_file.empty() ? "no config file"
                                        : "config file '" + cfg->config_file + "'");
    for (const std::string& line : config::DescribeConfig(*cfg)) log::Debug("option " + line);
  }

  Status s = chosen->handler(Context{*cfg, stdout});
  std::fflush(stdout);
  if (!s.ok()) return fail(s, &cfg.value());
  return static_cast<int>(ExitCode::kOk);
}

std::vector<std::string> WorkerArgv(const config::GlobalConfig& cfg,
                                    const std::vector<std::string>& command) {
  std::vector<std::string> argv{spool::SelfExe()};
  argv.insert(argv.end(), command.begin(), command.end());
  for (const config::ResolvedOption& o : cfg.options) {
    if (o.origin != config::Origin::kFlag) continue;
    if (o.spec->secret && !o.value.empty()) continue;  // WorkerEnv: never in argv (ps)
    if (o.value.empty()) {                             // --config "": read no file
      argv.push_back(config::FlagName(*o.spec));
      argv.emplace_back();
    } else {
      argv.push_back(config::FlagName(*o.spec) + "=" + o.value);  // a value may start with '-'
    }
  }
  return argv;
}

std::vector<std::string> WorkerEnv(const config::GlobalConfig& cfg) {
  std::vector<std::string> env;
  for (const config::ResolvedOption& o : cfg.options) {
    if (o.origin == config::Origin::kFlag && o.spec->secret && !o.value.empty()) {
      env.push_back(config::EnvName(*o.spec) + "=" + o.value);
    }
  }
  return env;
}

}  // namespace walferry::cli
