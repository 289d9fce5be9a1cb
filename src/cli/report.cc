#include "cli/report.h"

#include "common/log.h"

namespace walferry::cli {
namespace {

bool IsS3(const config::GlobalConfig* config) {
  return config != nullptr && config->storage.repo.starts_with("s3://");
}

}  // namespace

const char* ExitCodeName(ExitCode code) { return InfoFor(code).name; }

const char* FailurePhrase(ExitCode code) { return InfoFor(code).phrase; }

std::string HintFor(const Status& status, const config::GlobalConfig* config) {
  std::string hint = status.hint();
  if (hint.empty()) {
    bool s3 = IsS3(config);
    switch (ExitCodeFor(status)) {
      case ExitCode::kUsage: hint = "see 'walferry --help' and walferry.conf(5)"; break;
      case ExitCode::kUnreachable:
        if (s3) {
          const std::string& ep = config->storage.s3.endpoint;
          hint = "check that the endpoint (" +
                 (ep.empty() ? std::string("AWS's, from s3-region") : "'" + ep + "'") +
                 ") is right and the server is running and reachable from this host";
        } else {
          hint = "check that the repository's filesystem is mounted and responding";
        }
        break;
      case ExitCode::kAuth:
        hint =
            "check s3-access-key-id and s3-secret-access-key (or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY), s3-region, and this host's clock";
        break;
      case ExitCode::kPermission:
        hint = s3 ? "this identity needs s3:PutObject, s3:GetObject, s3:DeleteObject and "
                    "s3:ListBucket on the bucket and prefix"
                  : "the user running walferry (often postgres) needs read and write access "
                    "to the repository directory";
        break;
      case ExitCode::kInternal:
        hint = "this is a bug in walferry; please report it with the lines above";
        break;
      default: break;
    }
  }
  return config != nullptr ? config::RedactSecrets(*config, hint) : hint;
}

std::string FailureMessage(const Status& status, const config::GlobalConfig* config) {
  std::string m = std::string(FailurePhrase(ExitCodeFor(status))) + ": " + status.message();
  return config != nullptr ? config::RedactSecrets(*config, m) : m;
}

void ReportFailure(const Status& status, const config::GlobalConfig* config) {
  log::Error(FailureMessage(status, config));
  std::string hint = HintFor(status, config);
  if (!hint.empty()) log::Error("HINT: " + hint);
}

}  // namespace walferry::cli
