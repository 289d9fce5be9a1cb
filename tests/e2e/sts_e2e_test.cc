// Temporary credentials from a real STS: radosgw's, on the test S3 server that
// scripts/test.sh starts (scripts/s3-server/start.sh runs a second gateway
// with STS on, URL in $WALFERRY_TEST_S3_DIR/sts-endpoint, and makes the role
// whose ARN it writes to $WALFERRY_TEST_S3_DIR/sts-role-arn). Missing
// variables or a server without STS fail, never skip.
//
// radosgw, like AWS, refuses DurationSeconds below 900, so real expiry cannot
// be waited for here: the refresh is tested with the provider's clock moved
// forward (S3Config::credentials_clock), against the real STS and S3. The
// answer of a server to an expired token is tested with a scripted server
// (tests/unit/storage/credentials_test.cc).
//
// The AWS CLI (`aws`, Debian package awscli, scripts/install-deps.sh) is the
// reference for which credentials a set of files and variables selects.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "storage/s3/credentials.h"
#include "support/run_walferry.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

using testing::RunResult;
using testing::RunWalferry;
using testing::TempDir;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class StsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v : {"WALFERRY_TEST_S3_BUCKET", "WALFERRY_TEST_S3_ACCESS_KEY",
                          "WALFERRY_TEST_S3_SECRET_KEY", "WALFERRY_TEST_S3_DIR"}) {
      ASSERT_FALSE(Env(v).empty())
          << v << " unset: run through scripts/test.sh, which starts the real server";
    }
    std::ifstream arn_file(Env("WALFERRY_TEST_S3_DIR") + "/sts-role-arn");
    ASSERT_TRUE(arn_file && std::getline(arn_file, role_arn_))
        << "the test S3 server in " << Env("WALFERRY_TEST_S3_DIR")
        << " has no STS role (made by an older scripts/s3-server/start.sh?): remove the directory "
           "and start it again";
    // The gateway with STS on (start.sh: PORT+9), for STS and for S3 with its credentials.
    std::ifstream sts_file(Env("WALFERRY_TEST_S3_DIR") + "/sts-endpoint");
    ASSERT_TRUE(sts_file && std::getline(sts_file, endpoint_))
        << "the test S3 server in " << Env("WALFERRY_TEST_S3_DIR")
        << " has no STS gateway (sts-endpoint)";
    std::filesystem::create_directories(home_.path() + "/.aws");
    // [default] holds keys the server does not know: a profile must be chosen.
    home_.Write(".aws/credentials",
                "[default]\naws_access_key_id = nobody\naws_secret_access_key = wrong\n"
                "[base]\naws_access_key_id = " +
                    Env("WALFERRY_TEST_S3_ACCESS_KEY") +
                    "\naws_secret_access_key = " + Env("WALFERRY_TEST_S3_SECRET_KEY") + "\n");
    home_.Write(".aws/config",
                "[default]\nregion = us-east-1\n"
                "# the role radosgw lets the test user assume\n"
                "[profile role]\nrole_arn = " +
                    role_arn_ +
                    "\nsource_profile = base\nduration_seconds = 900\nrole_session_name = e2e\n"
                    "[profile norole]\nrole_arn = arn:aws:iam:::role/walferry-no-such-role\n"
                    "source_profile = base\n");
    prefix_ = "e2e-sts-" + std::to_string(::getpid());
  }
  std::vector<std::string> Args(std::vector<std::string> command) const {
    std::vector<std::string> a = {"--config",
                                  "",
                                  "--repo",
                                  "s3://" + Env("WALFERRY_TEST_S3_BUCKET") + "/" + prefix_,
                                  "--s3-endpoint",
                                  endpoint_,
                                  "--s3-sts-endpoint",
                                  endpoint_,
                                  "--s3-uri-style",
                                  "path"};
    a.insert(a.end(), command.begin(), command.end());
    return a;
  }
  // What a DBA's shell would have: HOME, a profile, and no instance metadata.
  std::map<std::string, std::string> Shell(const std::string& profile) const {
    std::map<std::string, std::string> e = {
        {"HOME", home_.path()}, {"AWS_EC2_METADATA_DISABLED", "true"}, {"PATH", Env("PATH")}};
    if (!profile.empty()) e["AWS_PROFILE"] = profile;
    return e;
  }
  TempDir home_{"wf-sts-home"};
  std::string role_arn_, endpoint_, prefix_;
};

TEST_F(StsE2E, AssumedRoleArchivesAndRestoresAndCheckSaysSo) {
  RunResult check = RunWalferry(Args({"check"}), Shell("role"));
  ASSERT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("role " + role_arn_ + " assumed through STS AssumeRole at " + endpoint_),
            std::string::npos)
      << check.out;
  EXPECT_NE(check.out.find("temporary until"), std::string::npos) << check.out;
  EXPECT_EQ(check.out.find("access key id '" + Env("WALFERRY_TEST_S3_ACCESS_KEY") + "'"),
            std::string::npos)
      << "the role's credentials, not the user's, are reported:\n"
      << check.out;
  EXPECT_EQ((check.out + check.err).find(Env("WALFERRY_TEST_S3_SECRET_KEY")), std::string::npos);

  TempDir data("wf-sts-data");
  testing::MakeDataDir(data, 42);
  const std::string segment = testing::WalSegment("000000010000000000000007", 42, 's');
  data.Write("pg_wal/000000010000000000000007", segment);
  RunResult created = RunWalferry(Args({"repo-create"}), Shell("role"), data.path());
  ASSERT_EQ(created.exit_code, 0) << created.err;
  RunResult push = RunWalferry(Args({"archive-push", "pg_wal/000000010000000000000007"}),
                               Shell("role"), data.path());
  ASSERT_EQ(push.exit_code, 0) << push.err;
  RunResult get =
      RunWalferry(Args({"archive-get", "000000010000000000000007", "pg_wal/RECOVERYXLOG"}),
                  Shell("role"), data.path());
  ASSERT_EQ(get.exit_code, 0) << get.err;
  std::ifstream in(data.path() + "/pg_wal/RECOVERYXLOG", std::ios::binary);
  std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_TRUE(back == segment) << "restored segment differs";
}

TEST_F(StsE2E, ARoleStsRefusesIsAFailureNamingTheRole) {
  RunResult check = RunWalferry(Args({"check"}), Shell("norole"));
  EXPECT_NE(check.exit_code, 0) << check.out;
  EXPECT_NE(check.err.find("walferry-no-such-role"), std::string::npos) << check.err;
  EXPECT_NE(check.err.find("sts AssumeRole"), std::string::npos) << check.err;
}

TEST_F(StsE2E, SessionTokenInTheEnvironmentIsUsedAsIs) {
  // Temporary keys as `aws sts assume-role` would hand them out, set as variables.
  s3::CredentialEnvironment env = s3::ProcessEnvironment();
  // Assume the role through the chain of a profile, then hand its keys over.
  std::map<std::string, std::string> vars = {{"HOME", home_.path()}, {"AWS_PROFILE", "role"}};
  s3::CredentialEnvironment fake{
      [&](const std::string& n) { return vars.count(n) ? vars[n] : std::string(); }, env.now};
  s3::ChainOptions ro;
  ro.sts_endpoint = endpoint_;
  auto role = s3::ResolveCredentialChain(ro, fake);
  ASSERT_TRUE(role.ok()) << role.status().ToString();
  auto keys = (*role)->Fetch();
  ASSERT_TRUE(keys.ok()) << keys.status().ToString();
  auto shell = Shell("");
  shell["AWS_ACCESS_KEY_ID"] = keys->keys.access_key_id;
  shell["AWS_SECRET_ACCESS_KEY"] = keys->keys.secret_access_key;
  shell["AWS_SESSION_TOKEN"] = keys->keys.session_token;
  RunResult check = RunWalferry(Args({"check"}), shell);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.out.find("session token set (from AWS_SESSION_TOKEN)"), std::string::npos)
      << check.out;
  // Without the token the same keys are refused (radosgw: 403 AccessDenied,
  // exit status 5): the token really was used.
  shell.erase("AWS_SESSION_TOKEN");
  RunResult without = RunWalferry(Args({"check"}), shell);
  EXPECT_NE(without.exit_code, 0) << without.out;
}

// Sets variables of this process for one test (the S3 storage reads the real environment).
class ScopedEnv {
 public:
  void Set(const std::string& n, const std::string& v) {
    const char* old = ::getenv(n.c_str());
    saved_.emplace_back(n, old ? std::optional<std::string>(old) : std::nullopt);
    ::setenv(n.c_str(), v.c_str(), 1);
  }
  ~ScopedEnv() {
    for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
      if (it->second) {
        ::setenv(it->first.c_str(), it->second->c_str(), 1);
      } else {
        ::unsetenv(it->first.c_str());
      }
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_F(StsE2E, CredentialsAreRefreshedFromTheRealStsBeforeTheyExpire) {
  std::map<std::string, std::string> vars = {{"HOME", home_.path()}, {"AWS_PROFILE", "role"}};
  int64_t now = static_cast<int64_t>(std::time(nullptr));
  s3::CredentialEnvironment fake{
      [&](const std::string& n) { return vars.count(n) ? vars[n] : std::string(); },
      [&] { return now; }};
  s3::ChainOptions ro;
  ro.sts_endpoint = endpoint_;
  auto source = s3::ResolveCredentialChain(ro, fake);
  ASSERT_TRUE(source.ok()) << source.status().ToString();
  s3::CredentialsProvider provider(std::move(source).value(), fake.now);
  auto first = provider.Get();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_NE(first->expiration, 0);
  EXPECT_LE(first->expiration - now, 900 + 60);
  now = first->expiration - 301;  // not yet due
  EXPECT_EQ(provider.Get()->keys.access_key_id, first->keys.access_key_id);
  now = first->expiration - 299;  // due: 5 minutes before expiration
  auto second = provider.Get();
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  EXPECT_NE(second->keys.access_key_id, first->keys.access_key_id);
  EXPECT_GT(second->expiration, first->expiration - 1);

  // The S3 storage with the same profile and a clock that jumps past the
  // expiration between requests: every request still succeeds.
  ScopedEnv env;
  env.Set("HOME", home_.path());
  env.Set("AWS_PROFILE", "role");
  env.Set("AWS_EC2_METADATA_DISABLED", "true");
  for (const char* v :
       {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE", "AWS_WEB_IDENTITY_TOKEN_FILE"}) {
    env.Set(v, "");
  }
  int64_t clock = static_cast<int64_t>(std::time(nullptr));
  S3Config c;
  c.endpoint = endpoint_;
  c.sts_endpoint = endpoint_;
  c.bucket = Env("WALFERRY_TEST_S3_BUCKET");
  c.prefix = prefix_;
  c.uri_style = "path";
  c.credentials_clock = [&] { return clock; };
  auto s = OpenS3Storage(c);
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  for (int i = 0; i < 3; ++i) {
    auto put = PutString(**s, "refresh/" + std::to_string(i), "body " + std::to_string(i));
    ASSERT_TRUE(put.ok()) << "round " << i << ": " << put.status().ToString();
    clock += 1000;  // past the 900 s the credentials last
  }
  ASSERT_TRUE((*s)->RemoveMany({"refresh/0", "refresh/1", "refresh/2"}).ok());
}

// Where the AWS CLI reaches radosgw with a set of files and variables,
// walferry does too, and where it is refused, so is walferry.
TEST_F(StsE2E, SameFilesAndVariablesSelectTheSameIdentityAsTheAwsCli) {
  ASSERT_EQ(std::system("command -v aws >/dev/null 2>&1"), 0)
      << "the AWS CLI is missing: scripts/install-deps.sh installs the Debian package awscli";
  auto aws_ok = [&](const std::map<std::string, std::string>& env) {
    std::string cmd = "env -i";
    // A pip-installed aws behind a pyenv shim finds its Python through PYENV_ROOT.
    std::string pyenv = Env("PYENV_ROOT").empty() ? Env("HOME") + "/.pyenv" : Env("PYENV_ROOT");
    if (std::filesystem::exists(pyenv)) cmd += " PYENV_ROOT='" + pyenv + "'";
    for (const auto& [k, v] : env) cmd += " " + k + "='" + v + "'";
    cmd += " AWS_DEFAULT_REGION=us-east-1 timeout 60 aws --endpoint-url " + endpoint_ +
           " s3api list-objects-v2 --bucket " + Env("WALFERRY_TEST_S3_BUCKET") + " --prefix " +
           prefix_ + " --max-items 1 >/dev/null 2>&1";
    return std::system(cmd.c_str()) == 0;
  };
  auto walferry_ok = [&](const std::map<std::string, std::string>& env) {
    RunResult r = RunWalferry(Args({"check"}), env);
    return r.exit_code == 0;
  };
  struct Case {
    std::string what;
    std::map<std::string, std::string> env;
    bool works;
  };
  std::vector<Case> cases;
  cases.push_back({"no AWS_PROFILE: [default], unknown keys", Shell(""), false});
  cases.push_back({"AWS_PROFILE=base", Shell("base"), true});
  auto env_keys = Shell("");
  env_keys["AWS_ACCESS_KEY_ID"] = Env("WALFERRY_TEST_S3_ACCESS_KEY");
  env_keys["AWS_SECRET_ACCESS_KEY"] = Env("WALFERRY_TEST_S3_SECRET_KEY");
  cases.push_back({"AWS_ACCESS_KEY_ID over the default profile", env_keys, true});
  auto bad_env = Shell("base");
  bad_env["AWS_ACCESS_KEY_ID"] = "nobody";
  bad_env["AWS_SECRET_ACCESS_KEY"] = "wrong";
  cases.push_back({"AWS_ACCESS_KEY_ID over AWS_PROFILE=base", bad_env, false});
  auto files = Shell("base");
  files["HOME"] = "/nonexistent";
  files["AWS_SHARED_CREDENTIALS_FILE"] = home_.path() + "/.aws/credentials";
  files["AWS_CONFIG_FILE"] = home_.path() + "/.aws/config";
  cases.push_back({"AWS_SHARED_CREDENTIALS_FILE and AWS_CONFIG_FILE", files, true});
  for (const Case& c : cases) {
    EXPECT_EQ(aws_ok(c.env), c.works) << "aws: " << c.what;
    EXPECT_EQ(walferry_ok(c.env), c.works) << "walferry: " << c.what;
  }
}

}  // namespace
}  // namespace walferry
