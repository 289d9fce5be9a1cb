// check_command.cc — `walferry check`: is this configuration ready to archive?
//
// Resolves nothing itself (Main hands it the config); checks that the
// repository is configured and that the backend accepts the settings, then
// probes the repository (check/probe.h). One plain line per step on stdout,
// or one JSON object with --json. The failure itself goes to stderr through
// ReportFailure, like every command's.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cmath>
#include <memory>
#include <nlohmann/json.hpp>

#include "check/probe.h"
#include "cli/commands.h"
#include "cli/report.h"
#include "walferry/exit_codes.h"
#include "walferry/storage.h"

namespace walferry::cli {
namespace {

struct CheckArgs {
  bool json = false;
};

const config::ResolvedOption* Find(const config::GlobalConfig& cfg, std::string_view name) {
  for (const config::ResolvedOption& r : cfg.options) {
    if (r.spec->name == name) return &r;
  }
  return nullptr;
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
      "access key id '" + s3.access_key_id + "' (" + FromWhere(Find(cfg, "s3-access-key-id")) +
      "), secret access key " +
      (s3.secret_access_key.empty() ? std::string("not set")
                                    : "set (" + FromWhere(Find(cfg, "s3-secret-access-key")) + ")");
  if (!s3.session_token.empty()) {
    d += ", session token set (" + FromWhere(Find(cfg, "s3-session-token")) + ")";
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
                                     FromWhere(Find(cfg, "s3-ca-file")) + ") cannot be read")
          .WithHint("name a readable PEM file of CA certificates");
    }
    if (s3.access_key_id.empty() != s3.secret_access_key.empty()) {
      return Status::InvalidArgument(
                 std::string("s3-access-key-id and s3-secret-access-key go together; only ") +
                 (s3.access_key_id.empty() ? "the secret access key" : "the access key id") +
                 " is set")
          .WithHint("set both (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
    }
  }
  return OpenStorage(cfg.storage);
}

long Millis(double ms) { return std::lround(ms); }

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
  return finish(s);
}

}  // namespace

Handler BindCheck(CLI::App& command) {
  auto args = std::make_shared<CheckArgs>();
  command.add_flag("--json", args->json, "print the report as one JSON object on stdout");
  return [args](const Context& ctx) { return RunCheck(ctx, *args); };
}

}  // namespace walferry::cli
