// credentials.h — where walferry's S3 credentials come from: the AWS credential
// chain, and a provider that keeps temporary credentials fresh.
//
// The chain, first configured source wins (the AWS SDKs' order):
//   1. static keys given to walferry (s3-access-key-id / s3-secret-access-key /
//      s3-session-token, from a flag, WALFERRY_S3_* or the config file, or
//      AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN);
//   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
//      [+ AWS_ROLE_SESSION_NAME], through STS AssumeRoleWithWebIdentity;
//   3. the shared files' profile (AWS_PROFILE, else "default"; files
//      AWS_SHARED_CREDENTIALS_FILE / AWS_CONFIG_FILE, else ~/.aws/credentials
//      and ~/.aws/config): role_arn (+ source_profile or credential_source)
//      through STS AssumeRole, web_identity_token_file, static keys, or
//      credential_process;
//   4. container credentials: AWS_CONTAINER_CREDENTIALS_FULL_URI or
//      _RELATIVE_URI (on 169.254.170.2), with AWS_CONTAINER_AUTHORIZATION_TOKEN
//      or _TOKEN_FILE;
//   5. EC2 instance metadata (IMDSv2), unless AWS_EC2_METADATA_DISABLED=true;
//      1 s connect and read timeouts, one attempt.
// Choosing the source reads only the environment and the shared files (no
// network); fetching from it may ask STS, a container agent or IMDS.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "storage/s3/sigv4.h"
#include "walferry/status.h"

namespace walferry::s3 {

// One set of credentials and when it stops working.
struct TimedCredentials {
  Credentials keys;
  int64_t expiration = 0;  // unix seconds; 0 = does not expire
};

// What the chain reads from the machine; tests substitute both.
struct CredentialEnvironment {
  std::function<std::string(const std::string& name)> getenv;  // "" = unset
  std::function<int64_t()> now;                                // unix seconds
};
// The real process environment and the system clock.
CredentialEnvironment ProcessEnvironment();

// One source of credentials, already chosen. Fetch may do network I/O and
// is called by one thread at a time (CredentialsProvider serialises it).
class CredentialSource {
 public:
  virtual ~CredentialSource() = default;
  // Where the credentials come from, in words, for `check` and errors;
  // never a secret.
  virtual std::string Name() const = 0;
  virtual Result<TimedCredentials> Fetch() = 0;
  // False for fixed keys: asking again gives the same ones.
  virtual bool Refreshable() const { return true; }
};

struct ChainOptions {
  Credentials static_keys;    // walferry's own settings (step 1)
  std::string static_origin;  // where they came from, e.g. "from --s3-access-key-id"
  std::string region;         // the signing region, also STS's
  std::string sts_endpoint;   // "" = AWS_ENDPOINT_URL_STS, else https://sts.REGION.amazonaws.com
  std::string ca_file;        // for STS and container endpoints over TLS
  bool verify_tls = true;
  double connect_timeout_seconds = 10;
  double stall_timeout_seconds = 30;
  double process_timeout_seconds = 60;  // credential_process
};

// Picks the first configured source of the chain (see the top of this
// file). A source that is configured but broken (a named profile that does
// not exist, a source_profile loop, a role without a source) is an error,
// not a reason to try the next one. Reads no network.
Result<std::unique_ptr<CredentialSource>> ResolveCredentialChain(const ChainOptions& options,
                                                                 const CredentialEnvironment& env);

// The region when walferry's s3-region is not set: AWS_REGION,
// AWS_DEFAULT_REGION, the selected profile's "region"; "" if none.
std::string RegionFromEnvironment(const CredentialEnvironment& env);

// Holds the current credentials of one source for every thread of a
// process; thread-safe. Temporary credentials are fetched again before
// they expire: 5 minutes before their expiration, or at half their
// lifetime when that is shorter. A refresh that fails while the current
// ones still work is logged and tried again later (at most every 10 s);
// once they have expired, the failure is returned.
class CredentialsProvider {
 public:
  CredentialsProvider(std::unique_ptr<CredentialSource> source, std::function<int64_t()> now);

  // The credentials to sign the next request with.
  Result<TimedCredentials> Get();
  // The server rejected `used` as expired or invalid: the next Get fetches
  // new ones, unless another thread has already replaced them. False when
  // the source cannot give other credentials (fixed keys).
  bool Invalidate(const Credentials& used);
  std::string SourceName() const { return source_->Name(); }
  bool Refreshable() const { return source_->Refreshable(); }

  // When credentials fetched at `fetched` and expiring at `expiration` are
  // due for refresh (0: never).
  static int64_t RefreshAt(int64_t fetched, int64_t expiration);

 private:
  std::unique_ptr<CredentialSource> source_;
  std::function<int64_t()> now_;
  std::mutex mu_;
  bool have_ = false;
  TimedCredentials current_;
  int64_t refresh_at_ = 0;
  int64_t next_try_ = 0;  // after a failed refresh
};

// ---- pieces, exposed for the tests -----------------------------------------

// An INI file as the AWS tools read it: "[section]" headers, "key = value",
// full-line comments starting with '#' or ';', indented lines continuing a
// nested value (kept as one value, not parsed). Names keep their case;
// surrounding blanks are trimmed. Malformed lines are errors naming file:line.
using IniSections = std::map<std::string, std::map<std::string, std::string>>;
Result<IniSections> ParseIni(std::string_view text, const std::string& file);

// Profiles of both shared files by profile name: config-file sections
// "[profile NAME]" and "[default]" ("[NAME]" alone is not a profile there),
// credentials-file sections "[NAME]"; a key in the credentials file wins.
struct SharedProfiles {
  std::map<std::string, std::map<std::string, std::string>> profiles;
  std::string credentials_file, config_file;  // the paths that were read (or would be)
};
Result<SharedProfiles> LoadSharedProfiles(const CredentialEnvironment& env);

// STS's answer to AssumeRole / AssumeRoleWithWebIdentity / GetSessionToken.
Result<TimedCredentials> ParseStsCredentials(const std::string& body, const std::string& action);
// The JSON of credential_process (Version 1), the container endpoint and IMDS.
Result<TimedCredentials> ParseJsonCredentials(const std::string& body, const std::string& what,
                                              bool process_format);

// True when an S3 error code says the credentials expired or are no longer
// valid, so that fresh ones may work.
bool IsExpiredCredentialsCode(const std::string& code);

}  // namespace walferry::s3
