// credentials.cc — the AWS credential chain and the refreshing provider
// (contract in credentials.h).
//
// Protocols, as AWS documents them:
// - STS (Query API, Version 2011-06-15): POST "/" with an
//   application/x-www-form-urlencoded body "Action=...&Version=...&...";
//   AssumeRole and GetSessionToken are SigV4-signed (service "sts"),
//   AssumeRoleWithWebIdentity is not signed (the token is the proof). The
//   answer is <ActionResponse><ActionResult><Credentials> with AccessKeyId,
//   SecretAccessKey, SessionToken, Expiration (ISO 8601); an error is
//   <ErrorResponse><Error><Code>..<Message>...
// - Container credentials: GET the full URI (or http://169.254.170.2 + the
//   relative URI) with "Authorization: <token>" when a token is configured;
//   JSON {AccessKeyId, SecretAccessKey, Token, Expiration}.
// - IMDSv2: PUT /latest/api/token with X-aws-ec2-metadata-token-ttl-seconds,
//   then GET /latest/meta-data/iam/security-credentials/ (the role name) and
//   .../ROLE (JSON as above, plus "Code": "Success"), both with
//   X-aws-ec2-metadata-token. A PUT answered 404/405 falls back to IMDSv1
//   (no token), as the SDKs do.
// - credential_process: the command's stdout is JSON {"Version": 1,
//   AccessKeyId, SecretAccessKey, SessionToken, Expiration}; exit 0.
#include "storage/s3/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <pugixml.hpp>
#include <set>
#include <sstream>
#include <vector>

#include "common/crypto.h"
#include "common/log.h"
#include "storage/http/http_client.h"
#include "storage/s3/s3_xml.h"

extern char** environ;

namespace walferry::s3 {
namespace {

constexpr int64_t kRefreshMargin = 300;  // refresh 5 minutes before expiration
constexpr int64_t kRetryFailedRefresh = 10;
constexpr int kDefaultRoleSeconds = 3600;
constexpr const char* kImdsDefault = "http://169.254.169.254";
constexpr const char* kContainerHost = "http://169.254.170.2";

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// Missing file: kNotFound; other failures: kIo.
Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    int err = errno;
    if (err == ENOENT) return Status::NotFound(what + " '" + path + "' does not exist");
    return Status::FromErrno(err, "read " + what + " '" + path + "'");
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Io("read " + what + " '" + path + "' failed");
  return ss.str();
}

std::string ExpandHome(const std::string& path, const CredentialEnvironment& env) {
  if (path == "~" || path.starts_with("~/")) return env.getenv("HOME") + path.substr(1);
  return path;
}

std::string IsoTime(int64_t t) {
  std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// ---- endpoints ---------------------------------------------------------------

struct Url {
  std::string scheme, host, path;  // host with port; path "/" at least
};

Result<Url> ParseUrl(const std::string& url, const std::string& what) {
  auto sep = url.find("://");
  if (sep == std::string::npos) {
    return Status::InvalidArgument(what + " '" + url +
                                   "' is not a URL (http://... or https://...)");
  }
  Url u;
  u.scheme = Lower(url.substr(0, sep));
  if (u.scheme != "http" && u.scheme != "https") {
    return Status::InvalidArgument(what + " '" + url + "' must start with http:// or https://");
  }
  std::string rest = url.substr(sep + 3);
  auto slash = rest.find('/');
  u.host = rest.substr(0, slash);
  u.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (u.host.empty()) return Status::InvalidArgument(what + " '" + url + "' has no host");
  return u;
}

http::ClientOptions ClientFor(const ChainOptions& o) {
  return http::ClientOptions{o.ca_file, o.verify_tls, o.connect_timeout_seconds,
                             o.stall_timeout_seconds};
}

// ---- fixed keys ----------------------------------------------------------------

class StaticSource final : public CredentialSource {
 public:
  StaticSource(Credentials keys, std::string name)
      : keys_(std::move(keys)), name_(std::move(name)) {}
  std::string Name() const override { return name_; }
  Result<TimedCredentials> Fetch() override { return TimedCredentials{keys_, 0}; }
  bool Refreshable() const override { return false; }

 private:
  Credentials keys_;
  std::string name_;
};

// ---- STS -------------------------------------------------------------------------

class Sts {
 public:
  Sts(const ChainOptions& o, const CredentialEnvironment& env)
      : region_(o.region.empty() ? "us-east-1" : o.region), client_(ClientFor(o)), now_(env.now) {
    endpoint_ = o.sts_endpoint;
    if (endpoint_.empty()) endpoint_ = env.getenv("AWS_ENDPOINT_URL_STS");
    if (endpoint_.empty()) endpoint_ = "https://sts." + region_ + ".amazonaws.com";
    while (endpoint_.size() > 8 && endpoint_.back() == '/') endpoint_.pop_back();
  }
  const std::string& endpoint() const { return endpoint_; }

  // One STS call; signed with `sign_with` unless it is null.
  Result<TimedCredentials> Call(const std::string& action, const Params& params,
                                const Credentials* sign_with, const std::string& what) {
    auto url = ParseUrl(endpoint_, "s3-sts-endpoint");
    if (!url.ok()) return url.status();
    std::string body = "Action=" + action + "&Version=2011-06-15";
    for (const auto& [k, v] : params) body += "&" + UriEncode(k, true) + "=" + UriEncode(v, true);
    const std::string op = "sts " + action + " (" + what + ") at " + endpoint_;
    Params headers = {{"host", url->host},
                      {"content-type", "application/x-www-form-urlencoded; charset=utf-8"}};
    if (sign_with != nullptr) {
      const std::string amz_date = AmzDate(static_cast<std::time_t>(std::time(nullptr)));
      headers.emplace_back("x-amz-date", amz_date);
      if (!sign_with->session_token.empty())
        headers.emplace_back("x-amz-security-token", sign_with->session_token);
      SigningInput in{"POST", url->path, {}, headers, crypto::Sha256Hex(body)};
      headers.emplace_back("Authorization", Sign(in, *sign_with, region_, "sts", amz_date));
    }
    http::Request req;
    req.method = "POST";
    req.url = url->scheme + "://" + url->host + url->path;
    for (auto& h : headers) {
      if (h.first != "host") req.headers.push_back(h);
    }
    req.body = body;
    auto r = client_.Send(req);
    if (!r.ok()) return r.status().Annotate(op);
    if (r->status != 200) return StsError(*r, op);
    auto creds = ParseStsCredentials(r->body, action);
    if (!creds.ok()) return creds.status().Annotate(op);
    return creds;
  }

 private:
  static Status StsError(const http::Response& r, const std::string& op) {
    pugi::xml_document doc;
    std::string code, message;
    if (doc.load_buffer(r.body.data(), r.body.size())) {
      pugi::xml_node e = doc.child("ErrorResponse").child("Error");
      if (!e) e = doc.child("Error");
      code = e.child("Code").text().as_string();
      message = e.child("Message").text().as_string();
    }
    std::string what = op + ": http " + std::to_string(r.status) +
                       (code.empty() ? "" : " " + code) +
                       (message.empty() ? "" : " (" + message + ")");
    if (r.status >= 500 || r.status == 429 || code == "Throttling" ||
        code == "IDPCommunicationError") {
      return Status::Unavailable(what);
    }
    if (code == "AccessDenied" || r.status == 403) {
      return Status::Permission(what).WithHint(
          "check the role's trust policy and that the source credentials may call sts:AssumeRole");
    }
    if (code == "InvalidClientTokenId" || code == "SignatureDoesNotMatch" ||
        code == "ExpiredToken" || code == "InvalidIdentityToken" ||
        code == "ExpiredTokenException") {
      return Status::Auth(what).WithHint("the credentials or token given to STS were refused");
    }
    return Status::InvalidArgument(what);
  }

  std::string region_;
  std::string endpoint_;
  http::Client client_;
  std::function<int64_t()> now_;
};

class AssumeRoleSource final : public CredentialSource {
 public:
  AssumeRoleSource(std::unique_ptr<CredentialSource> base, std::string role_arn,
                   std::string session, std::string external_id, int duration, std::string name,
                   const ChainOptions& o, const CredentialEnvironment& env)
      : base_(std::move(base)),
        role_arn_(std::move(role_arn)),
        session_(std::move(session)),
        external_id_(std::move(external_id)),
        duration_(duration),
        name_(std::move(name)),
        sts_(o, env) {}
  std::string Name() const override {
    return name_ + ": role " + role_arn_ + " assumed through STS AssumeRole at " + sts_.endpoint() +
           " with the credentials of " + base_->Name();
  }
  Result<TimedCredentials> Fetch() override {
    auto base = base_->Fetch();
    if (!base.ok()) return base.status();
    Params p = {{"RoleArn", role_arn_},
                {"RoleSessionName", session_},
                {"DurationSeconds", std::to_string(duration_)}};
    if (!external_id_.empty()) p.emplace_back("ExternalId", external_id_);
    return sts_.Call("AssumeRole", p, &base->keys, "role " + role_arn_);
  }

 private:
  std::unique_ptr<CredentialSource> base_;
  std::string role_arn_, session_, external_id_;
  int duration_;
  std::string name_;
  Sts sts_;
};

class WebIdentitySource final : public CredentialSource {
 public:
  WebIdentitySource(std::string token_file, std::string role_arn, std::string session,
                    std::string name, const ChainOptions& o, const CredentialEnvironment& env)
      : token_file_(std::move(token_file)),
        role_arn_(std::move(role_arn)),
        session_(std::move(session)),
        name_(std::move(name)),
        sts_(o, env) {}
  std::string Name() const override {
    return name_ + ": role " + role_arn_ + " assumed through STS AssumeRoleWithWebIdentity at " +
           sts_.endpoint() + " with the token in '" + token_file_ + "'";
  }
  Result<TimedCredentials> Fetch() override {
    // Read on every fetch: Kubernetes rotates the projected token.
    auto token = ReadFile(token_file_, "web identity token file");
    if (!token.ok())
      return Status::Auth(token.status().message()).WithHint("check AWS_WEB_IDENTITY_TOKEN_FILE");
    std::string t(Trim(*token));
    while (!t.empty() && (t.back() == '\n')) t.pop_back();
    if (t.empty()) return Status::Auth("web identity token file '" + token_file_ + "' is empty");
    Params p = {{"RoleArn", role_arn_}, {"RoleSessionName", session_}, {"WebIdentityToken", t}};
    return sts_.Call("AssumeRoleWithWebIdentity", p, nullptr, "role " + role_arn_);
  }

 private:
  std::string token_file_, role_arn_, session_, name_;
  Sts sts_;
};

// ---- JSON endpoints and credential_process -------------------------------------

class ContainerSource final : public CredentialSource {
 public:
  ContainerSource(std::string url, std::string token, std::string token_file, std::string name,
                  const ChainOptions& o)
      : url_(std::move(url)),
        token_(std::move(token)),
        token_file_(std::move(token_file)),
        name_(std::move(name)),
        client_(http::ClientOptions{o.ca_file, o.verify_tls, 2, 5}) {}
  std::string Name() const override { return name_ + " (" + url_ + ")"; }
  Result<TimedCredentials> Fetch() override {
    http::Request req;
    req.method = "GET";
    req.url = url_;
    std::string token = token_;
    if (!token_file_.empty()) {  // read each time: EKS pod identity rotates it
      auto t = ReadFile(token_file_, "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
      if (!t.ok()) return Status::Auth(t.status().message());
      token = std::string(Trim(*t));
      while (!token.empty() && token.back() == '\n') token.pop_back();
    }
    if (token.find_first_of("\r\n") != std::string::npos) {
      return Status::Auth("the container authorization token holds a line break");
    }
    if (!token.empty()) req.headers.emplace_back("Authorization", token);
    const std::string op = "fetch container credentials from " + url_;
    auto r = client_.Send(req);
    if (!r.ok()) return r.status().Annotate(op);
    if (r->status != 200) {
      std::string what = op + ": http " + std::to_string(r->status);
      if (r->status >= 500 || r->status == 429) return Status::Unavailable(what);
      return Status::Auth(what).WithHint("check AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)");
    }
    auto c = ParseJsonCredentials(r->body, "container credentials", false);
    if (!c.ok()) return c.status().Annotate(op);
    return c;
  }

 private:
  std::string url_, token_, token_file_, name_;
  http::Client client_;
};

class ImdsSource final : public CredentialSource {
 public:
  explicit ImdsSource(std::string endpoint)
      : endpoint_(std::move(endpoint)), client_(http::ClientOptions{"", true, 1, 1}) {}
  std::string Name() const override {
    return "EC2 instance metadata (IMDSv2 at " + endpoint_ + ")";
  }
  Result<TimedCredentials> Fetch() override {
    auto c = FetchOnce();
    if (c.ok()) return c;
    // Nothing else is left in the chain: say what could have been set.
    return Status::Auth(
               "s3: no credentials found: no static keys, AWS_WEB_IDENTITY_TOKEN_FILE, shared "
               "profile, container credentials, and the EC2 instance metadata service "
               "gave none (" +
               c.status().message() + ")")
        .WithHint(
            "set s3-access-key-id and s3-secret-access-key, AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials; see "
            "\"Credentials\" in man walferry");
  }

 private:
  Result<TimedCredentials> FetchOnce() {
    http::Request put;
    put.method = "PUT";
    put.url = endpoint_ + "/latest/api/token";
    put.headers.emplace_back("X-aws-ec2-metadata-token-ttl-seconds", "21600");
    auto t = client_.Send(put);
    if (!t.ok()) return t.status();
    std::vector<std::pair<std::string, std::string>> auth;
    if (t->status == 200) {
      auth.emplace_back("X-aws-ec2-metadata-token", std::string(Trim(t->body)));
    } else if (t->status != 404 && t->status != 405) {  // else: IMDSv1 only
      return Status::Auth("IMDS token request answered http " + std::to_string(t->status));
    }
    http::Request get;
    get.method = "GET";
    get.url = endpoint_ + "/latest/meta-data/iam/security-credentials/";
    get.headers = auth;
    auto role = client_.Send(get);
    if (!role.ok()) return role.status();
    if (role->status != 200) {
      return Status::Auth("IMDS has no instance role (http " + std::to_string(role->status) + ")");
    }
    std::string name(Trim(role->body.substr(0, role->body.find('\n'))));
    if (name.empty() || name.find_first_of("/?#") != std::string::npos) {
      return Status::Auth("IMDS gave no usable role name");
    }
    get.url += name;
    auto c = client_.Send(get);
    if (!c.ok()) return c.status();
    if (c->status != 200) {
      return Status::Auth("IMDS credentials of role '" + name + "' answered http " +
                          std::to_string(c->status));
    }
    return ParseJsonCredentials(c->body, "IMDS credentials of role '" + name + "'", false);
  }

  std::string endpoint_;
  http::Client client_;
};

class ProcessSource final : public CredentialSource {
 public:
  ProcessSource(std::string command, std::string name, double timeout)
      : command_(std::move(command)), name_(std::move(name)), timeout_(timeout) {}
  std::string Name() const override { return name_; }
  Result<TimedCredentials> Fetch() override {
    const std::string op = "credential_process of " + name_;
    int out[2], err[2];
    if (::pipe2(out, O_CLOEXEC) != 0) return Status::FromErrno(errno, op + ": pipe");
    if (::pipe2(err, O_CLOEXEC) != 0) {
      int e = errno;
      ::close(out[0]);
      ::close(out[1]);
      return Status::FromErrno(e, op + ": pipe");
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    const char* argv[] = {"/bin/sh", "-c", command_.c_str(), nullptr};
    pid_t pid = 0;
    int rc = posix_spawn(&pid, "/bin/sh", &fa, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    ::close(out[1]);
    ::close(err[1]);
    if (rc != 0) {
      ::close(out[0]);
      ::close(err[0]);
      return Status::FromErrno(rc, op + ": start /bin/sh");
    }
    std::string stdout_text, stderr_text;
    bool timed_out = false;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_);
    pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
    int open_fds = 2;
    while (open_fds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        timed_out = true;
        break;
      }
      int n = ::poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
      if (n < 0 && errno != EINTR) break;
      for (int i = 0; i < 2; ++i) {
        if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        char buf[4096];
        ssize_t got = ::read(fds[i].fd, buf, sizeof buf);
        if (got <= 0) {
          ::close(fds[i].fd);
          fds[i].fd = -1;
          --open_fds;
        } else if ((i == 0 ? stdout_text : stderr_text).size() < (1 << 20)) {
          (i == 0 ? stdout_text : stderr_text).append(buf, static_cast<size_t>(got));
        }
      }
    }
    for (auto& f : fds) {
      if (f.fd >= 0) ::close(f.fd);
    }
    if (timed_out) ::kill(pid, SIGKILL);
    int wstatus = 0;
    while (::waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    std::string err_line(Trim(stderr_text.substr(0, 300)));
    if (timed_out) {
      return Status::Auth(op + ": no answer within " + std::to_string(static_cast<int>(timeout_)) +
                          " s; the command was killed");
    }
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
      return Status::Auth(op + ": the command failed (" +
                          (WIFEXITED(wstatus) ? "exit " + std::to_string(WEXITSTATUS(wstatus))
                                              : std::string("killed by a signal")) +
                          (err_line.empty() ? "" : "; stderr: " + err_line) + ")");
    }
    auto c = ParseJsonCredentials(stdout_text, "credential_process output", true);
    if (!c.ok()) return c.status().Annotate(op);
    return c;
  }

 private:
  std::string command_, name_;
  double timeout_;
};

// ---- the shared files' profiles ------------------------------------------------

class Chain {
 public:
  Chain(const ChainOptions& o, const CredentialEnvironment& env) : o_(o), env_(env) {}

  Result<std::unique_ptr<CredentialSource>> Resolve() {
    using Ptr = std::unique_ptr<CredentialSource>;
    const Credentials& k = o_.static_keys;
    if (!k.access_key_id.empty() || !k.secret_access_key.empty()) {
      if (k.access_key_id.empty() || k.secret_access_key.empty()) {
        return Status::Auth(
            "s3: the access key id and the secret access key go together; only " +
            std::string(k.access_key_id.empty() ? "the secret access key" : "the access key id") +
            " is set (" + o_.static_origin + ")");
      }
      return Ptr(new StaticSource(k, "static keys (" + o_.static_origin + ")"));
    }
    // Web identity from the environment.
    std::string token_file = env_.getenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    std::string role_arn = env_.getenv("AWS_ROLE_ARN");
    if (!token_file.empty()) {
      if (role_arn.empty()) {
        return Status::Auth("AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not")
            .WithHint("set AWS_ROLE_ARN to the role to assume with the token");
      }
      return Ptr(new WebIdentitySource(
          token_file, role_arn, SessionName(env_.getenv("AWS_ROLE_SESSION_NAME")),
          "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, AWS_ROLE_ARN)", o_, env_));
    }
    // The shared files.
    auto profiles = LoadSharedProfiles(env_);
    if (!profiles.ok()) return profiles.status();
    files_ = std::move(profiles).value();
    std::string name = env_.getenv("AWS_PROFILE");
    const bool named = !name.empty();
    if (!named) name = "default";
    if (files_.profiles.count(name) != 0) {
      std::set<std::string> visited;
      auto p = FromProfile(name, &visited);
      if (!p.ok()) return p.status();
      if (*p) return std::move(p).value();
    } else if (named) {
      return Status::InvalidArgument("AWS_PROFILE names profile '" + name +
                                     "', which is in neither '" + files_.credentials_file +
                                     "' nor '" + files_.config_file + "'")
          .WithHint("in the config file a profile is \"[profile " + name +
                    "]\", in the credentials file \"[" + name + "]\"");
    }
    // Containers, then the instance.
    auto container = Container();
    if (!container.ok() || *container) return container;
    return Imds();
  }

 private:
  using Ptr = std::unique_ptr<CredentialSource>;

  std::string SessionName(const std::string& given) const {
    return given.empty() ? "walferry-" + std::to_string(env_.now()) : given;
  }

  std::string Where(const std::string& profile) const {
    return "profile '" + profile + "' (" + files_.credentials_file + ", " + files_.config_file +
           ")";
  }

  // The profile's own credentials; nullptr when it has none.
  Result<Ptr> FromProfile(const std::string& name, std::set<std::string>* visited) {
    if (!visited->insert(name).second) {
      return Status::InvalidArgument("source_profile loop: profile '" + name +
                                     "' is reached again from " + Where(name))
          .WithHint("make the chain of source_profile settings end in a profile with keys");
    }
    auto it = files_.profiles.find(name);
    if (it == files_.profiles.end()) {
      return Status::InvalidArgument("profile '" + name + "' (a source_profile) is in neither '" +
                                     files_.credentials_file + "' nor '" + files_.config_file +
                                     "'");
    }
    const auto& p = it->second;
    auto get = [&](const char* key) {
      auto v = p.find(key);
      return v == p.end() ? std::string() : v->second;
    };
    const std::string where = Where(name);
    if (std::string role = get("role_arn"); !role.empty()) {
      if (!get("mfa_serial").empty()) {
        return Status::NotSupported(
                   where + " needs an MFA code (mfa_serial), which walferry cannot ask for")
            .WithHint("use a profile without mfa_serial for walferry");
      }
      int duration = kDefaultRoleSeconds;
      if (std::string d = get("duration_seconds"); !d.empty()) {
        char* end = nullptr;
        long v = std::strtol(d.c_str(), &end, 10);
        if (end == d.c_str() || *end != '\0' || v < 900 || v > 43200) {
          return Status::InvalidArgument(where + ": duration_seconds '" + d +
                                         "' is not a number of seconds (900..43200)");
        }
        duration = static_cast<int>(v);
      }
      std::string session = SessionName(get("role_session_name"));
      if (std::string tf = get("web_identity_token_file"); !tf.empty()) {
        return Ptr(new WebIdentitySource(ExpandHome(tf, env_), role, session, where, o_, env_));
      }
      std::string source = get("source_profile");
      std::string cs = get("credential_source");
      if (!source.empty() && !cs.empty()) {
        return Status::InvalidArgument(where + " sets both source_profile and credential_source")
            .WithHint("keep one of the two");
      }
      Ptr base;
      if (!source.empty()) {
        if (source == name) {  // a profile that assumes a role with its own keys
          auto own = StaticFromProfile(name, p);
          if (!own.ok()) return own.status();
          if (!*own)
            return Status::InvalidArgument(where + " is its own source_profile but has no keys");
          base = std::move(own).value();
        } else {
          auto b = FromProfile(source, visited);
          if (!b.ok()) return b.status();
          if (!*b) {
            return Status::InvalidArgument("profile '" + source + "', the source_profile of " +
                                           where + ", has no credentials");
          }
          base = std::move(b).value();
        }
      } else if (cs == "Environment") {
        std::string id = env_.getenv("AWS_ACCESS_KEY_ID"),
                    secret = env_.getenv("AWS_SECRET_ACCESS_KEY");
        if (id.empty() || secret.empty()) {
          return Status::Auth(where +
                              ": credential_source Environment, but "
                              "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY are not set");
        }
        base = Ptr(
            new StaticSource({id, secret, env_.getenv("AWS_SESSION_TOKEN")}, "AWS_ACCESS_KEY_ID"));
      } else if (cs == "Ec2InstanceMetadata") {
        auto b = Imds();
        if (!b.ok()) return b.status();
        base = std::move(b).value();
      } else if (cs == "EcsContainer") {
        auto b = Container();
        if (!b.ok()) return b.status();
        if (!*b)
          return Status::Auth(
              where +
              ": credential_source EcsContainer, but AWS_CONTAINER_CREDENTIALS_*_URI is not set");
        base = std::move(b).value();
      } else if (!cs.empty()) {
        return Status::InvalidArgument(
            where + ": credential_source '" + cs +
            "' is not one of Environment, Ec2InstanceMetadata, EcsContainer");
      } else {
        return Status::InvalidArgument(
                   where + " sets role_arn but neither source_profile nor credential_source")
            .WithHint("add source_profile = PROFILE-WITH-KEYS");
      }
      return Ptr(new AssumeRoleSource(std::move(base), role, session, get("external_id"), duration,
                                      where, o_, env_));
    }
    auto own = StaticFromProfile(name, p);
    if (!own.ok() || *own) return own;
    if (std::string cmd = get("credential_process"); !cmd.empty()) {
      return Ptr(
          new ProcessSource(cmd, where + ": credential_process", o_.process_timeout_seconds));
    }
    return Ptr();
  }

  Result<Ptr> StaticFromProfile(const std::string& name,
                                const std::map<std::string, std::string>& p) {
    auto get = [&](const char* key) {
      auto v = p.find(key);
      return v == p.end() ? std::string() : v->second;
    };
    std::string id = get("aws_access_key_id"), secret = get("aws_secret_access_key");
    if (id.empty() && secret.empty()) return Ptr();
    if (id.empty() || secret.empty()) {
      return Status::InvalidArgument(Where(name) + " has " +
                                     (id.empty()
                                          ? "aws_secret_access_key but no aws_access_key_id"
                                          : "aws_access_key_id but no aws_secret_access_key"));
    }
    return Ptr(
        new StaticSource({id, secret, get("aws_session_token")}, Where(name) + ": static keys"));
  }

  Result<Ptr> Container() {
    std::string full = env_.getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    std::string rel = env_.getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    std::string url, name;
    if (!rel.empty()) {  // the SDKs prefer the relative URI (ECS)
      url = std::string(kContainerHost) + (rel.front() == '/' ? "" : "/") + rel;
      name = "container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI)";
    } else if (!full.empty()) {
      auto u = ParseUrl(full, "AWS_CONTAINER_CREDENTIALS_FULL_URI");
      if (!u.ok()) return u.status();
      if (u->scheme == "http" && !AllowedPlainHost(u->host)) {
        return Status::InvalidArgument(
                   "AWS_CONTAINER_CREDENTIALS_FULL_URI '" + full +
                   "' uses http:// to a host that is not a loopback or container agent address")
            .WithHint("use https://, or http:// to 127.0.0.1, 169.254.170.2 or 169.254.170.23");
      }
      url = full;
      name = "container credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI)";
    } else {
      return Ptr();
    }
    return Ptr(new ContainerSource(url, env_.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN"),
                                   env_.getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"), name,
                                   o_));
  }

  static bool AllowedPlainHost(const std::string& host_port) {
    std::string host = host_port;
    if (host.starts_with("[")) {
      host = host.substr(1, host.find(']') - 1);
      return host == "::1" || host == "fd00:ec2::23";
    }
    host = host.substr(0, host.find(':'));
    return host.starts_with("127.") || host == "localhost" || host == "169.254.170.2" ||
           host == "169.254.170.23";
  }

  Result<Ptr> Imds() {
    if (Lower(env_.getenv("AWS_EC2_METADATA_DISABLED")) == "true") {
      return Status::Auth(
                 "s3: no credentials found: no static keys, AWS_WEB_IDENTITY_TOKEN_FILE, shared "
                 "profile or container credentials, and the instance metadata service is "
                 "disabled (AWS_EC2_METADATA_DISABLED=true)")
          .WithHint(
              "set s3-access-key-id and s3-secret-access-key, AWS_ACCESS_KEY_ID and "
              "AWS_SECRET_ACCESS_KEY, or AWS_PROFILE with ~/.aws/credentials; see "
              "\"Credentials\" in man walferry");
    }
    std::string endpoint = env_.getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (endpoint.empty()) endpoint = kImdsDefault;
    while (endpoint.size() > 8 && endpoint.back() == '/') endpoint.pop_back();
    return Ptr(new ImdsSource(endpoint));
  }

  const ChainOptions& o_;
  const CredentialEnvironment& env_;
  SharedProfiles files_;
};

Status Missing(const std::string& what, const char* field) {
  return Status::InvalidArgument(what + " has no " + field);
}

}  // namespace

CredentialEnvironment ProcessEnvironment() {
  return CredentialEnvironment{[](const std::string& name) {
                                 const char* v = std::getenv(name.c_str());
                                 return v == nullptr ? std::string() : std::string(v);
                               },
                               [] { return static_cast<int64_t>(std::time(nullptr)); }};
}

Result<IniSections> ParseIni(std::string_view text, const std::string& file) {
  IniSections out;
  std::string section;
  bool in_section = false;
  std::string last_key;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view raw = text.substr(pos, nl - pos);
    pos = nl + 1;
    ++line_no;
    std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    const std::string where = file + ":" + std::to_string(line_no);
    if (raw.front() == ' ' || raw.front() == '\t') {
      // A nested value ("s3 =\n  max_concurrent_requests = 4"): kept, unparsed.
      if (!in_section || last_key.empty()) {
        return Status::InvalidArgument("indented line outside a value at " + where);
      }
      out[section][last_key] += "\n" + std::string(line);
      continue;
    }
    if (line.front() == '[') {
      if (line.back() != ']')
        return Status::InvalidArgument("section header without ']' at " + where);
      section = std::string(Trim(line.substr(1, line.size() - 2)));
      in_section = true;
      last_key.clear();
      out[section];  // an empty section still exists
      continue;
    }
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      // The line is not echoed: it may be a pasted secret.
      return Status::InvalidArgument("expected 'key = value' at " + where);
    }
    if (!in_section)
      return Status::InvalidArgument("'key = value' before any [section] at " + where);
    std::string key(Trim(line.substr(0, eq)));
    if (key.empty()) return Status::InvalidArgument("missing key before '=' at " + where);
    out[section][key] = std::string(Trim(line.substr(eq + 1)));
    last_key = key;
  }
  return out;
}

Result<SharedProfiles> LoadSharedProfiles(const CredentialEnvironment& env) {
  SharedProfiles sp;
  std::string home = env.getenv("HOME");
  sp.credentials_file = env.getenv("AWS_SHARED_CREDENTIALS_FILE");
  if (sp.credentials_file.empty())
    sp.credentials_file = home.empty() ? "" : home + "/.aws/credentials";
  sp.config_file = env.getenv("AWS_CONFIG_FILE");
  if (sp.config_file.empty()) sp.config_file = home.empty() ? "" : home + "/.aws/config";
  sp.credentials_file = ExpandHome(sp.credentials_file, env);
  sp.config_file = ExpandHome(sp.config_file, env);

  auto load = [&](const std::string& path, const char* what) -> Result<IniSections> {
    if (path.empty()) return IniSections{};
    auto text = ReadFile(path, what);
    if (!text.ok()) {
      if (text.status().IsNotFound()) return IniSections{};
      return text.status();
    }
    return ParseIni(*text, path);
  };
  auto config = load(sp.config_file, "AWS config file");
  if (!config.ok()) return config.status();
  for (auto& [name, values] : *config) {
    std::string profile;
    if (name == "default") {
      profile = name;
    } else if (name.starts_with("profile ") || name.starts_with("profile\t")) {
      profile = std::string(Trim(std::string_view(name).substr(8)));
    } else {
      continue;  // "[x]", "[sso-session x]", "[services x]": not profiles
    }
    for (auto& [k, v] : values) sp.profiles[profile][k] = v;
  }
  auto creds = load(sp.credentials_file, "AWS credentials file");
  if (!creds.ok()) return creds.status();
  for (auto& [name, values] : *creds) {
    auto& target = sp.profiles[name];
    for (auto& [k, v] : values) target[k] = v;
  }
  return sp;
}

std::string RegionFromEnvironment(const CredentialEnvironment& env) {
  if (std::string r = env.getenv("AWS_REGION"); !r.empty()) return r;
  if (std::string r = env.getenv("AWS_DEFAULT_REGION"); !r.empty()) return r;
  auto sp = LoadSharedProfiles(env);
  if (!sp.ok()) return "";
  std::string name = env.getenv("AWS_PROFILE");
  if (name.empty()) name = "default";
  auto it = sp->profiles.find(name);
  if (it == sp->profiles.end()) return "";
  auto r = it->second.find("region");
  return r == it->second.end() ? "" : r->second;
}

Result<std::unique_ptr<CredentialSource>> ResolveCredentialChain(const ChainOptions& options,
                                                                 const CredentialEnvironment& env) {
  Chain chain(options, env);
  return chain.Resolve();
}

Result<TimedCredentials> ParseStsCredentials(const std::string& body, const std::string& action) {
  pugi::xml_document doc;
  const std::string what = "STS " + action + " answer";
  if (!doc.load_buffer(body.data(), body.size())) {
    return Status::InvalidArgument("malformed " + what + ": '" + body.substr(0, 200) + "'");
  }
  pugi::xml_node c = doc.child((action + "Response").c_str())
                         .child((action + "Result").c_str())
                         .child("Credentials");
  if (!c) return Status::InvalidArgument("malformed " + what + " (no Credentials)");
  TimedCredentials t;
  t.keys.access_key_id = c.child("AccessKeyId").text().as_string();
  t.keys.secret_access_key = c.child("SecretAccessKey").text().as_string();
  t.keys.session_token = c.child("SessionToken").text().as_string();
  if (t.keys.access_key_id.empty()) return Missing(what, "AccessKeyId");
  if (t.keys.secret_access_key.empty()) return Missing(what, "SecretAccessKey");
  if (t.keys.session_token.empty()) return Missing(what, "SessionToken");
  std::string exp = c.child("Expiration").text().as_string();
  t.expiration = ParseIso8601(exp);
  if (t.expiration == 0)
    return Status::InvalidArgument(what + " has no valid Expiration ('" + exp + "')");
  return t;
}

Result<TimedCredentials> ParseJsonCredentials(const std::string& body, const std::string& what,
                                              bool process_format) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return Status::InvalidArgument(what + " is not a JSON object");
  auto str = [&](const char* k) {
    auto it = j.find(k);
    return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  if (process_format) {
    auto v = j.find("Version");
    if (v == j.end() || !v->is_number_integer() || v->get<int>() != 1) {
      return Status::InvalidArgument(what + " must have \"Version\": 1");
    }
  } else if (std::string code = str("Code"); !code.empty() && code != "Success") {
    return Status::Auth(what + " says Code '" + code + "'");
  }
  TimedCredentials t;
  t.keys.access_key_id = str("AccessKeyId");
  t.keys.secret_access_key = str("SecretAccessKey");
  t.keys.session_token = str(process_format ? "SessionToken" : "Token");
  if (t.keys.access_key_id.empty()) return Missing(what, "AccessKeyId");
  if (t.keys.secret_access_key.empty()) return Missing(what, "SecretAccessKey");
  if (std::string exp = str("Expiration"); !exp.empty()) {
    t.expiration = ParseIso8601(exp);
    if (t.expiration == 0)
      return Status::InvalidArgument(what + " has an unreadable Expiration '" + exp + "'");
  } else if (!process_format) {
    return Missing(what, "Expiration");
  }
  return t;
}

bool IsExpiredCredentialsCode(const std::string& code) {
  return code == "ExpiredToken" || code == "InvalidToken" || code == "TokenRefreshRequired" ||
         code == "RequestExpired" || code == "ExpiredTokenException";
}

// ---- the provider ----------------------------------------------------------------

CredentialsProvider::CredentialsProvider(std::unique_ptr<CredentialSource> source,
                                         std::function<int64_t()> now)
    : source_(std::move(source)), now_(std::move(now)) {}

int64_t CredentialsProvider::RefreshAt(int64_t fetched, int64_t expiration) {
  if (expiration == 0) return 0;
  int64_t lifetime = expiration - fetched;
  int64_t margin = std::min<int64_t>(kRefreshMargin, std::max<int64_t>(lifetime / 2, 0));
  return expiration - margin;
}

Result<TimedCredentials> CredentialsProvider::Get() {
  std::lock_guard<std::mutex> lock(mu_);
  const int64_t now = now_();
  const bool due = !have_ || (refresh_at_ != 0 && now >= refresh_at_);
  if (!due) return current_;
  const bool usable = have_ && (current_.expiration == 0 || now < current_.expiration);
  if (usable && now < next_try_) return current_;  // a refresh failed a moment ago
  auto fresh = source_->Fetch();
  if (!fresh.ok()) {
    if (usable) {
      log::Warn("refreshing the S3 credentials from " + source_->Name() + " failed (" +
                fresh.status().message() + "); the current ones expire at " +
                IsoTime(current_.expiration) + ", trying again in " +
                std::to_string(kRetryFailedRefresh) + " s");
      next_try_ = now + kRetryFailedRefresh;
      return current_;
    }
    return fresh.status();
  }
  if (have_) {
    log::Debug("s3 credentials refreshed from " + source_->Name() +
               (fresh->expiration ? "; they expire at " + IsoTime(fresh->expiration) : ""));
  }
  current_ = std::move(fresh).value();
  have_ = true;
  refresh_at_ = RefreshAt(now, current_.expiration);
  next_try_ = 0;
  return current_;
}

bool CredentialsProvider::Invalidate(const Credentials& used) {
  if (!source_->Refreshable()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  if (have_ && current_.keys.access_key_id == used.access_key_id &&
      current_.keys.session_token == used.session_token) {
    have_ = false;  // the next Get fetches
    next_try_ = 0;
  }
  return true;
}

}  // namespace walferry::s3
