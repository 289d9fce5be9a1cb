// check_command.cc — `walferry check`: is this configuration ready to archive?
//
// Resolves nothing itself (Main hands it the config); checks that the
// repository is configured and that the backend accepts the settings, then
// probes the repository (check/probe.h). With a PostgreSQL connection (pg-conninfo,
// PG* variables, or --pg) it then checks the server's archiving settings
// (check/pg_settings.h) and runs the archive round trip (check/archive_roundtrip.h).
// One plain line per step on stdout, or one JSON object with --json. The failure
// itself goes to stderr through ReportFailure, like every command's.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "backup/pg.h"
#include "check/archive_roundtrip.h"
#include "check/pg_settings.h"
#include "check/probe.h"
#include "cli/commands.h"
#include "cli/report.h"
#include "walferry/exit_codes.h"
#include "walferry/storage.h"

namespace walferry::cli {
namespace {

struct CheckArgs {
  bool json = false;
  bool pg = false;     // connect even without pg-conninfo or PG* variables
  bool no_pg = false;  // never connect
  double archive_wait = 60;
};

// A connection is configured: pg-conninfo, or a PG* variable that names a server.
bool PgConfigured(const config::GlobalConfig& cfg, const CheckArgs& args) {
  if (args.no_pg) return false;
  if (args.pg || !cfg.pg_conninfo.empty()) return true;
  for (const char* v : {"PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGSERVICE", "PGUSER"}) {
    const char* value = std::getenv(v);
    if (value != nullptr && *value != '\0') return true;
  }
  return false;
}

std::string AbsolutePath(const std::string& path) {
  if (path.empty()) return path;
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  return ec ? path : p.lexically_normal().string();
}

std::string FromWhere(const config::ResolvedOption* r) {
  if (r == nullptr) return "";
  return r->origin == config::Origin::kDefault ? "default" : "from " + r->where;
}

// The credentials in plain words; the secret parts only as "set".
std::string DescribeCredentials(const config::GlobalConfig& cfg) {
  const S3Config& s3 = cfg.storage.s3;
  if (s3.access_key_id.empty() && s3.secret_access_key.empty()) {
    // No keys of walferry's own: the AWS credential chain says which.
    Result<std::string> chain = DescribeS3Credentials(s3);
    return chain.ok() ? *chain : "none usable (" + chain.status().message() + ")";
  }
  std::string d =
      "access key id '" + s3.access_key_id + "' (" +
      FromWhere(config::FindResolved(cfg, "s3-access-key-id")) + "), secret access key " +
      (s3.secret_access_key.empty()
           ? std::string("not set")
           : "set (" + FromWhere(config::FindResolved(cfg, "s3-secret-access-key")) + ")");
  if (!s3.session_token.empty()) {
    d += ", session token set (" + FromWhere(config::FindResolved(cfg, "s3-session-token")) + ")";
  }
  return d;
}

// Checks that need no network: a repository is named, the backend accepts
// the settings, local files the settings name can be read.
Result<std::unique_ptr<Storage>> OpenChecked(const config::GlobalConfig& cfg) {
  WF_RETURN_IF_ERROR(config::RequireRepo(cfg));
  const S3Config& s3 = cfg.storage.s3;
  if (cfg.storage.repo.starts_with("s3://")) {
    if (!s3.ca_file.empty() && ::access(s3.ca_file.c_str(), R_OK) != 0) {
      return Status::InvalidArgument("s3-ca-file '" + s3.ca_file + "' (" +
                                     FromWhere(config::FindResolved(cfg, "s3-ca-file")) +
                                     ") cannot be read")
          .WithHint("name a readable PEM file of CA certificates");
    }
  }
  WF_RETURN_IF_ERROR(config::CheckS3KeyPair(cfg));
  return OpenStorage(cfg.storage);
}

long Millis(double ms) { return std::lround(ms); }

using Say = std::function<void(const std::string&)>;
using Record = std::function<void(const std::string&, const Status&, double, const std::string&)>;

// The PostgreSQL half of check: settings in plain words, then the archive round trip.
Status CheckPostgres(const Context& ctx, const CheckArgs& args, Storage& storage, const Say& say,
                     const Record& record, nlohmann::json* report) {
  const config::GlobalConfig& cfg = ctx.config;
  const std::string prefix = "postgresql: ";
  auto session = backup::PgSession::Connect(cfg.pg_conninfo);
  if (!session.ok()) {
    record("postgresql connection", session.status(), 0, "");
    say(prefix + "connection failed");
    return Status(session.status())
        .WithHint(
            "set pg-conninfo (--pg-conninfo) or the PG* variables (PGHOST, PGPORT, PGUSER, "
            "PGDATABASE) to reach the server whose archive_command uses this repository; "
            "--no-pg checks the repository alone");
  }
  backup::PgSession& pg = **session;
  auto settings = check::ReadPgSettings(pg);
  if (!settings.ok()) {
    record("postgresql settings", settings.status(), 0, "");
    return settings.status();
  }
  const int v = settings->server_version;
  std::string server = pg.Describe() + ", version " + std::to_string(v / 10000) + "." +
                       std::to_string(v % 10000) + ", " +
                       (settings->in_recovery ? "a standby (in recovery)" : "a primary");
  say(prefix + "connected to " + server);
  record("postgresql connection", Status::Ok(), 0, server);
  (*report)["postgresql"] = {
      {"server", pg.Describe()},
      {"server_version", v},
      {"in_recovery", settings->in_recovery},
      {"settings",
       {{"wal_level", settings->wal_level},
        {"archive_mode", settings->archive_mode},
        {"archive_command", settings->archive_command},
        {"archive_library", settings->archive_library},
        {"restore_command", settings->restore_command}}},
      {"findings", nlohmann::json::array()},
  };

  check::CheckSide self;
  self.config_file = AbsolutePath(cfg.config_file);
  self.repo = cfg.storage.repo;
  const config::ResolvedOption* repo = config::FindResolved(cfg, "repo");
  self.repo_from_file = repo == nullptr || repo->origin == config::Origin::kFile;
  std::vector<check::Finding> findings = check::AnalyzeSettings(*settings, self);
  const check::Finding* first_error = nullptr;
  for (const check::Finding& f : findings) {
    say(prefix + f.setting + " " + check::SeverityName(f.severity) + ": " + f.message);
    if (!f.hint.empty() && f.severity != check::Severity::kOk) say(prefix + "  HINT: " + f.hint);
    (*report)["postgresql"]["findings"].push_back({{"setting", f.setting},
                                                   {"severity", check::SeverityName(f.severity)},
                                                   {"message", f.message},
                                                   {"hint", f.hint}});
    if (f.severity == check::Severity::kError && first_error == nullptr) first_error = &f;
  }
  if (first_error != nullptr) {
    Status s = Status::InvalidArgument("PostgreSQL's " + first_error->setting + ": " +
                                       first_error->message)
                   .WithHint(first_error->hint);
    record("postgresql settings", s, 0, "");
    say(prefix + "archive round trip not tried: the settings above must be fixed first");
    return s;
  }
  record("postgresql settings", Status::Ok(), 0, "");
  if (settings->in_recovery) {
    say(prefix +
        "archive round trip skipped: pg_switch_wal() cannot run on a standby; run "
        "check against the primary");
    (*report)["postgresql"]["round_trip"] = "skipped: standby";
    return Status::Ok();
  }

  check::RoundTripOptions options;
  options.archive_wait_seconds = args.archive_wait;
  Status s = check::ArchiveRoundTrip(pg, storage, options, [&](const check::StepResult& r) {
    say(prefix + r.name + (r.status.ok() ? " ok (" : " failed (") +
        std::to_string(Millis(r.millis)) + " ms" + (r.detail.empty() ? "" : "; " + r.detail) + ")");
    record(r.name, r.status, r.millis, r.detail);
  });
  (*report)["postgresql"]["round_trip"] = s.ok() ? "ok" : "failed";
  return s;
}

Status RunCheck(const Context& ctx, const CheckArgs& args) {
  const config::GlobalConfig& cfg = ctx.config;
  nlohmann::json report = {
      {"command", "check"},
      {"repository", cfg.storage.repo},
      {"config_file", cfg.config_file.empty() ? nlohmann::json() : nlohmann::json(cfg.config_file)},
      {"steps", nlohmann::json::array()},
  };
  auto say = [&](const std::string& line) {
    if (args.json) return;
    std::fprintf(ctx.out, "%s\n", line.c_str());
    std::fflush(ctx.out);  // one line as each step ends, not all at the end
  };
  auto record = [&](const std::string& step, const Status& s, double ms,
                    const std::string& detail) {
    nlohmann::json j = {{"step", step}, {"ok", s.ok()}, {"ms", Millis(ms)}};
    if (!detail.empty()) j["detail"] = detail;
    report["steps"].push_back(std::move(j));
  };
  auto finish = [&](const Status& s) {
    report["ok"] = s.ok();
    if (s.ok()) {
      report["error"] = nullptr;
      say("check ok");
    } else {
      ExitCode code = ExitCodeFor(s);
      report["error"] = {{"class", ExitCodeName(code)},
                         {"exit_code", static_cast<int>(code)},
                         {"message", FailureMessage(s, &cfg)},
                         {"hint", HintFor(s, &cfg)}};
      say(std::string("check failed: ") + FailurePhrase(code));
    }
    if (args.json) std::fprintf(ctx.out, "%s\n", report.dump().c_str());
    return s;
  };

  std::string where =
      cfg.config_file.empty() ? "no config file" : "config file '" + cfg.config_file + "'";
  Result<std::unique_ptr<Storage>> storage = OpenChecked(cfg);
  record("configuration", storage.status(), 0, where);
  if (!storage.ok()) {
    say("configuration failed (" + where + ")");
    return finish(storage.status());
  }
  say("configuration ok (" + where + ")");
  const std::string prefix = "repository " + (*storage)->Describe() + ": ";
  report["repository"] = (*storage)->Describe();
  if (cfg.storage.repo.starts_with("s3://")) {
    std::string creds = DescribeCredentials(cfg);
    say(prefix + "credentials: " + creds);
    report["credentials"] = creds;
  }

  std::string key = check::ProbeKey();
  std::string body = check::ProbeBody(key);
  Status s = check::ProbeRepository(**storage, key, body, [&](const check::StepResult& r) {
    std::string line = prefix + r.name + (r.status.ok() ? " ok (" : " failed (") +
                       std::to_string(Millis(r.millis)) + " ms" +
                       (r.detail.empty() ? "" : "; " + r.detail) + ")";
    say(line);
    record(r.name, r.status, r.millis, r.detail);
  });
  if (!s.ok() || !PgConfigured(cfg, args)) return finish(s);
  return finish(CheckPostgres(ctx, args, **storage, say, record, &report));
}

}  // namespace

Handler BindCheck(CLI::App& command) {
  auto args = std::make_shared<CheckArgs>();
  command.add_flag("--json", args->json, "print the report as one JSON object on stdout");
  CLI::Option* pg = command.add_flag(
      "--pg", args->pg,
      "check through PostgreSQL even without pg-conninfo or PG* variables (libpq's "
      "defaults: the local socket)");
  command
      .add_flag("--no-pg", args->no_pg, "check the repository only, never connect to PostgreSQL")
      ->excludes(pg);
  command
      .add_option("--archive-wait", args->archive_wait,
                  "seconds to wait for PostgreSQL's archiver to archive the switched segment "
                  "(default: 60)")
      ->check(CLI::Range(1.0, 86400.0));
  return [args](const Context& ctx) { return RunCheck(ctx, *args); };
}

}  // namespace walferry::cli
