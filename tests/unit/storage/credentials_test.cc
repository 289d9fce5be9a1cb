// The AWS credential chain (src/storage/s3/credentials.h): the order of the
// sources, the shared files, STS, credential_process, and the refresh of
// temporary credentials.
//
// Nothing here needs AWS. The environment is a map; the shared files are
// files in a temporary directory; STS, the container credentials endpoint and
// the EC2 instance metadata service (IMDSv2) are small scripted HTTP servers
// on 127.0.0.1 (tests/support/fake_s3_server.h) answering as AWS documents
// those protocols — this machine has no real container agent or IMDS. STS
// itself is also tested for real against radosgw (tests/e2e/sts_e2e_test.cc).
#include "storage/s3/credentials.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <optional>

#include "support/fake_s3_server.h"
#include "support/temp_dir.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

using s3::ChainOptions;
using s3::CredentialEnvironment;
using testing::FakeRequest;
using testing::FakeResponse;
using testing::FakeS3Server;
using testing::TempDir;

struct FakeEnv {
  std::map<std::string, std::string> vars;
  int64_t now = 1'800'000'000;
  CredentialEnvironment Get() {
    return {[this](const std::string& n) {
              auto it = vars.find(n);
              return it == vars.end() ? std::string() : it->second;
            },
            [this] { return now; }};
  }
};

void Write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

std::string StsAnswer(const std::string& action, const std::string& id,
                      const std::string& expiration) {
  return "<" + action + "Response xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><" + action +
         "Result><Credentials><AccessKeyId>" + id + "</AccessKeyId><SecretAccessKey>secret-" + id +
         "</SecretAccessKey><SessionToken>token-" + id + "</SessionToken><Expiration>" +
         expiration + "</Expiration></Credentials></" + action + "Result></" + action + "Response>";
}

Result<std::string> NameOf(const ChainOptions& o, FakeEnv& env) {
  auto s = s3::ResolveCredentialChain(o, env.Get());
  if (!s.ok()) return s.status();
  return (*s)->Name();
}

// ---- shared files ------------------------------------------------------------

TEST(CredentialsIni, SectionsCommentsAndNestedValues) {
  auto ini = s3::ParseIni(
      "# comment\n; also a comment\n[default]\naws_access_key_id = AKID\n"
      "aws_secret_access_key=se=cret \n\n[profile x]\ns3 =\n  max_concurrent_requests = 4\nregion "
      "= eu-west-1\n",
      "f");
  ASSERT_TRUE(ini.ok()) << ini.status().ToString();
  EXPECT_EQ((*ini)["default"]["aws_access_key_id"], "AKID");
  EXPECT_EQ((*ini)["default"]["aws_secret_access_key"], "se=cret");
  EXPECT_EQ((*ini)["profile x"]["region"], "eu-west-1");
  EXPECT_EQ((*ini)["profile x"]["s3"], "\nmax_concurrent_requests = 4");
}

TEST(CredentialsIni, MalformedLinesNameFileAndLineWithoutEchoingThem) {
  auto a = s3::ParseIni("[default]\nAKIASECRETLINE\n", "/x/credentials");
  ASSERT_FALSE(a.ok());
  EXPECT_NE(a.status().message().find("/x/credentials:2"), std::string::npos);
  EXPECT_EQ(a.status().message().find("AKIASECRETLINE"), std::string::npos);
  EXPECT_FALSE(s3::ParseIni("key = v\n", "f").ok());          // before any section
  EXPECT_FALSE(s3::ParseIni("[default\nk = v\n", "f").ok());  // no ']'
}

TEST(CredentialsFiles, ConfigNeedsProfilePrefixCredentialsFileWins) {
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();
  ::mkdir((dir.path() + "/.aws").c_str(), 0700);
  Write(dir.path() + "/.aws/config",
        "[default]\nregion = us-west-2\n[profile a]\nregion = eu-central-1\naws_access_key_id = "
        "FROMCONFIG\n"
        "[b]\nregion = ignored\n[sso-session s]\nsso_region = x\n");
  Write(dir.path() + "/.aws/credentials",
        "[a]\naws_access_key_id = FROMCREDS\n[b]\naws_access_key_id = B\n");
  auto sp = s3::LoadSharedProfiles(env.Get());
  ASSERT_TRUE(sp.ok()) << sp.status().ToString();
  EXPECT_EQ(sp->profiles["a"]["aws_access_key_id"], "FROMCREDS");
  EXPECT_EQ(sp->profiles["a"]["region"], "eu-central-1");
  EXPECT_EQ(sp->profiles["b"].count("region"), 0u);  // "[b]" in config is not a profile
  EXPECT_EQ(sp->profiles.count("s"), 0u);
  EXPECT_EQ(sp->profiles.count("sso-session s"), 0u);
  EXPECT_EQ(s3::RegionFromEnvironment(env.Get()), "us-west-2");
  env.vars["AWS_PROFILE"] = "a";
  EXPECT_EQ(s3::RegionFromEnvironment(env.Get()), "eu-central-1");
  env.vars["AWS_DEFAULT_REGION"] = "ap-south-1";
  EXPECT_EQ(s3::RegionFromEnvironment(env.Get()), "ap-south-1");
  env.vars["AWS_REGION"] = "sa-east-1";
  EXPECT_EQ(s3::RegionFromEnvironment(env.Get()), "sa-east-1");
}

TEST(CredentialsFiles, EnvironmentNamesTheFiles) {
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();  // has no .aws
  env.vars["AWS_SHARED_CREDENTIALS_FILE"] = dir.path() + "/c";
  env.vars["AWS_CONFIG_FILE"] = dir.path() + "/k";
  Write(dir.path() + "/c", "[default]\naws_access_key_id = ID\naws_secret_access_key = S\n");
  Write(dir.path() + "/k", "[default]\nregion = eu-north-1\n");
  auto name = NameOf(ChainOptions{}, env);
  ASSERT_TRUE(name.ok()) << name.status().ToString();
  EXPECT_NE(name->find("profile 'default'"), std::string::npos) << *name;
  EXPECT_NE(name->find(dir.path() + "/c"), std::string::npos) << *name;
  EXPECT_EQ(s3::RegionFromEnvironment(env.Get()), "eu-north-1");
}

// ---- the order of the chain ----------------------------------------------------

TEST(CredentialChain, FirstConfiguredSourceWinsInTheSdkOrder) {
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();
  env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
  ChainOptions o;
  // Nothing at all: IMDS is disabled, so "no credentials", without network.
  auto none = NameOf(o, env);
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.status().code(), Status::Code::kAuth);
  EXPECT_NE(none.status().message().find("no credentials found"), std::string::npos);
  env.vars.erase("AWS_EC2_METADATA_DISABLED");
  EXPECT_NE(NameOf(o, env)->find("EC2 instance metadata"), std::string::npos);  // the last resort
  // 5 < 4: container credentials.
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:1/creds";
  EXPECT_NE(NameOf(o, env)->find("AWS_CONTAINER_CREDENTIALS_FULL_URI"), std::string::npos);
  env.vars["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"] = "/v2/credentials/x";
  EXPECT_NE(NameOf(o, env)->find("http://169.254.170.2/v2/credentials/x"), std::string::npos);
  // 4 < 3: the default profile.
  ::mkdir((dir.path() + "/.aws").c_str(), 0700);
  Write(dir.path() + "/.aws/credentials",
        "[default]\naws_access_key_id = P\naws_secret_access_key = S\n");
  EXPECT_NE(NameOf(o, env)->find("profile 'default'"), std::string::npos);
  // 3 < 2: web identity from the environment.
  env.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir.path() + "/token";
  env.vars["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/r";
  EXPECT_NE(NameOf(o, env)->find("AssumeRoleWithWebIdentity"), std::string::npos);
  // 2 < 1: walferry's own keys (AWS_ACCESS_KEY_ID arrives here too, through the options).
  o.static_keys = {"AKID", "SECRET", ""};
  o.static_origin = "s3-access-key-id from AWS_ACCESS_KEY_ID";
  EXPECT_EQ(*NameOf(o, env), "static keys (s3-access-key-id from AWS_ACCESS_KEY_ID)");
}

TEST(CredentialChain, ConfiguredButBrokenSourcesAreErrorsNotSkipped) {
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();
  ::mkdir((dir.path() + "/.aws").c_str(), 0700);
  env.vars["AWS_PROFILE"] = "nosuch";
  auto missing = NameOf(ChainOptions{}, env);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("'nosuch'"), std::string::npos);
  env.vars.erase("AWS_PROFILE");
  env.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = "/t";
  EXPECT_FALSE(NameOf(ChainOptions{}, env).ok());  // no AWS_ROLE_ARN
  env.vars.erase("AWS_WEB_IDENTITY_TOKEN_FILE");
  ChainOptions half;
  half.static_keys = {"AKID", "", ""};
  EXPECT_FALSE(NameOf(half, env).ok());
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://10.1.2.3/creds";  // plain http off-box
  EXPECT_FALSE(NameOf(ChainOptions{}, env).ok());
}

TEST(CredentialChain, ProfilesAssumeRolesThroughSourceProfilesAndRefuseLoops) {
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();
  ::mkdir((dir.path() + "/.aws").c_str(), 0700);
  Write(
      dir.path() + "/.aws/config",
      "[profile role]\nrole_arn = arn:aws:iam::1:role/r\nsource_profile = base\n"
      "[profile chained]\nrole_arn = arn:aws:iam::1:role/r2\nsource_profile = role\n"
      "[profile loop1]\nrole_arn = arn:aws:iam::1:role/a\nsource_profile = loop2\n"
      "[profile loop2]\nrole_arn = arn:aws:iam::1:role/b\nsource_profile = loop1\n"
      "[profile self]\nrole_arn = arn:aws:iam::1:role/s\nsource_profile = self\n"
      "aws_access_key_id = SELF\naws_secret_access_key = S\n"
      "[profile nosource]\nrole_arn = arn:aws:iam::1:role/n\n"
      "[profile mfa]\nrole_arn = arn:aws:iam::1:role/m\nsource_profile = base\nmfa_serial = arn:x\n"
      "[profile proc]\ncredential_process = echo hi\n"
      "[profile empty]\nregion = us-east-1\n");
  Write(dir.path() + "/.aws/credentials",
        "[base]\naws_access_key_id = BASE\naws_secret_access_key = S\n");
  auto name_for = [&](const std::string& p) {
    env.vars["AWS_PROFILE"] = p;
    return NameOf(ChainOptions{}, env);
  };
  EXPECT_NE(name_for("role")->find("role arn:aws:iam::1:role/r assumed through STS AssumeRole"),
            std::string::npos);
  EXPECT_NE(name_for("role")->find("profile 'base'"), std::string::npos);
  EXPECT_NE(name_for("chained")->find("role/r2"), std::string::npos);
  EXPECT_NE(name_for("self")->find("profile 'self'"), std::string::npos);
  auto loop = name_for("loop1");
  ASSERT_FALSE(loop.ok());
  EXPECT_NE(loop.status().message().find("source_profile loop"), std::string::npos)
      << loop.status().ToString();
  EXPECT_FALSE(name_for("nosource").ok());
  EXPECT_EQ(name_for("mfa").status().code(), Status::Code::kNotSupported);
  EXPECT_NE(name_for("proc")->find("credential_process"), std::string::npos);
  // A profile without credentials passes on to the next sources.
  env.vars["AWS_EC2_METADATA_DISABLED"] = "true";
  EXPECT_FALSE(name_for("empty").ok());
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = "http://127.0.0.1:1/c";
  EXPECT_NE(name_for("empty")->find("container"), std::string::npos);
}

// ---- fetching from each source ---------------------------------------------------

TEST(CredentialSources, AssumeRoleIsASignedStsCallWithTheSourceKeys) {
  FakeS3Server sts([](const FakeRequest&, int) {
    FakeResponse r;
    r.body = StsAnswer("AssumeRole", "ASIAROLE", "2027-01-15T10:00:00.123Z");
    return r;
  });
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();
  env.vars["AWS_CONFIG_FILE"] = dir.path() + "/config";
  Write(dir.path() + "/config",
        "[default]\nrole_arn = arn:aws:iam::123:role/walferry\nsource_profile = keys\n"
        "role_session_name = sess1\nexternal_id = ext-7\nduration_seconds = 1800\n"
        "[profile keys]\naws_access_key_id = AKIDBASE\naws_secret_access_key = base-secret\n");
  ChainOptions o;
  o.region = "eu-west-1";
  o.sts_endpoint = sts.Endpoint();
  auto src = s3::ResolveCredentialChain(o, env.Get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto c = (*src)->Fetch();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "ASIAROLE");
  EXPECT_EQ(c->keys.secret_access_key, "secret-ASIAROLE");
  EXPECT_EQ(c->keys.session_token, "token-ASIAROLE");
  EXPECT_EQ(c->expiration, 1800007200);
  auto reqs = sts.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "POST");
  EXPECT_EQ(reqs[0].target, "/");
  EXPECT_EQ(
      reqs[0].body,
      "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123%3Arole%2Fwalferry"
      "&RoleSessionName=sess1&DurationSeconds=1800&ExternalId=ext-7");
  const std::string auth = reqs[0].Header("authorization");
  EXPECT_NE(auth.find("Credential=AKIDBASE/"), std::string::npos) << auth;
  EXPECT_NE(auth.find("/eu-west-1/sts/aws4_request"), std::string::npos) << auth;
  EXPECT_EQ(reqs[0].Header("x-amz-security-token"), "");
  EXPECT_NE(reqs[0].Header("content-type").find("application/x-www-form-urlencoded"),
            std::string::npos);
}

TEST(CredentialSources, ExpirationIsParsedFromStsIso8601) {
  auto c = s3::ParseStsCredentials(StsAnswer("AssumeRole", "A", "2027-01-15T10:00:00.123Z"),
                                   "AssumeRole");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->expiration, 1800007200);  // date -u -d 2027-01-15T10:00:00Z +%s
  EXPECT_FALSE(s3::ParseStsCredentials("<AssumeRoleResponse/>", "AssumeRole").ok());
  EXPECT_FALSE(s3::ParseStsCredentials("not xml", "AssumeRole").ok());
  EXPECT_FALSE(s3::ParseStsCredentials(StsAnswer("AssumeRole", "A", "soon"), "AssumeRole").ok());
}

TEST(CredentialSources, StsRefusalIsAPermissionErrorNamingTheRole) {
  FakeS3Server sts([](const FakeRequest&, int) {
    FakeResponse r;
    r.status = 403;
    r.body =
        "<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>not "
        "allowed</Message>"
        "</Error><RequestId>1</RequestId></ErrorResponse>";
    return r;
  });
  TempDir dir;
  FakeEnv env;
  env.vars["AWS_CONFIG_FILE"] = dir.path() + "/config";
  Write(dir.path() + "/config",
        "[default]\nrole_arn = arn:aws:iam::1:role/denied\ncredential_source = Environment\n");
  env.vars["AWS_ACCESS_KEY_ID"] = "AKIDENV";
  env.vars["AWS_SECRET_ACCESS_KEY"] = "S";
  ChainOptions o;
  o.sts_endpoint = sts.Endpoint();
  auto src = s3::ResolveCredentialChain(o, env.Get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto c = (*src)->Fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kPermission);
  EXPECT_NE(c.status().message().find("arn:aws:iam::1:role/denied"), std::string::npos);
  EXPECT_NE(c.status().message().find("AccessDenied (not allowed)"), std::string::npos);
}

TEST(CredentialSources, WebIdentityIsUnsignedAndReadsTheTokenEachTime) {
  FakeS3Server sts([](const FakeRequest&, int i) {
    FakeResponse r;
    r.body = StsAnswer("AssumeRoleWithWebIdentity", "ASIAWEB" + std::to_string(i),
                       "2027-01-15T10:00:00Z");
    return r;
  });
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();
  env.vars["AWS_WEB_IDENTITY_TOKEN_FILE"] = dir.path() + "/token";
  env.vars["AWS_ROLE_ARN"] = "arn:aws:iam::1:role/irsa";
  env.vars["AWS_ROLE_SESSION_NAME"] = "pod-a";
  Write(dir.path() + "/token", "eyJ.first.token\n");
  ChainOptions o;
  o.sts_endpoint = sts.Endpoint();
  auto src = s3::ResolveCredentialChain(o, env.Get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto c = (*src)->Fetch();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "ASIAWEB0");
  Write(dir.path() + "/token", "eyJ.second.token");
  ASSERT_TRUE((*src)->Fetch().ok());
  auto reqs = sts.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].Header("authorization"), "");
  EXPECT_EQ(reqs[0].body,
            "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A1%"
            "3Arole%2Firsa"
            "&RoleSessionName=pod-a&WebIdentityToken=eyJ.first.token");
  EXPECT_NE(reqs[1].body.find("WebIdentityToken=eyJ.second.token"), std::string::npos);
}

TEST(CredentialSources, ContainerEndpointGetsTheAuthorizationTokenFromItsFile) {
  FakeS3Server agent([](const FakeRequest&, int) {
    FakeResponse r;
    r.body =
        R"({"AccessKeyId":"ASIACONT","SecretAccessKey":"cs","Token":"ct","Expiration":"2027-01-15T10:00:00Z"})";
    return r;
  });
  TempDir dir;
  FakeEnv env;
  env.vars["HOME"] = dir.path();
  env.vars["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = agent.Endpoint() + "/v1/credentials";
  env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = "ignored-when-file-set";
  env.vars["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = dir.path() + "/eks-token";
  Write(dir.path() + "/eks-token", "pod-identity-token\n");
  auto src = s3::ResolveCredentialChain(ChainOptions{}, env.Get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto c = (*src)->Fetch();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "ASIACONT");
  EXPECT_EQ(c->keys.session_token, "ct");
  EXPECT_EQ(c->expiration, 1800007200);
  auto reqs = agent.Requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target, "/v1/credentials");
  EXPECT_EQ(reqs[0].Header("authorization"), "pod-identity-token");
}

TEST(CredentialSources, ImdsV2TokenThenRoleThenCredentials) {
  FakeS3Server imds([](const FakeRequest& q, int) {
    FakeResponse r;
    if (q.method == "PUT" && q.target == "/latest/api/token") {
      r.body = "imds-session-token";
    } else if (q.Header("x-aws-ec2-metadata-token") != "imds-session-token") {
      r.status = 401;
    } else if (q.target == "/latest/meta-data/iam/security-credentials/") {
      r.body = "db-backup-role\n";
    } else if (q.target == "/latest/meta-data/iam/security-credentials/db-backup-role") {
      r.body =
          R"({"Code":"Success","Type":"AWS-HMAC","AccessKeyId":"ASIAEC2","SecretAccessKey":"es",)"
          R"("Token":"et","Expiration":"2027-01-15T10:00:00Z","LastUpdated":"2027-01-15T04:00:00Z"})";
    } else {
      r.status = 404;
    }
    return r;
  });
  FakeEnv env;
  env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.Endpoint() + "/";
  auto src = s3::ResolveCredentialChain(ChainOptions{}, env.Get());
  ASSERT_TRUE(src.ok()) << src.status().ToString();
  auto c = (*src)->Fetch();
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->keys.access_key_id, "ASIAEC2");
  EXPECT_EQ(c->keys.session_token, "et");
  auto reqs = imds.Requests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[0].method, "PUT");
  EXPECT_EQ(reqs[0].Header("x-aws-ec2-metadata-token-ttl-seconds"), "21600");
}

TEST(CredentialSources, ImdsThatDoesNotAnswerMeansNoCredentialsNotARetry) {
  FakeS3Server imds([](const FakeRequest&, int) {
    FakeResponse r;
    r.drop = true;
    return r;
  });
  FakeEnv env;
  env.vars["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = imds.Endpoint();
  auto src = s3::ResolveCredentialChain(ChainOptions{}, env.Get());
  ASSERT_TRUE(src.ok());
  auto c = (*src)->Fetch();
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().code(), Status::Code::kAuth);  // not kUnavailable: never retried
  EXPECT_NE(c.status().message().find("no credentials found"), std::string::npos);
  EXPECT_EQ(imds.Requests().size(), 1u);  // one attempt
}

TEST(CredentialSources, CredentialProcessVersion1) {
  TempDir dir;
  FakeEnv env;
  env.vars["AWS_CONFIG_FILE"] = dir.path() + "/config";
  Write(dir.path() + "/p.sh",
        "echo '{\"Version\": 1, \"AccessKeyId\": \"ASIAPROC\", \"SecretAccessKey\": \"ps\", "
        "\"SessionToken\": \"pt\", \"Expiration\": \"2027-01-15T10:00:00Z\"}'\n");
  Write(dir.path() + "/bad.sh", "echo '{\"Version\": 2}'\n");
  Write(dir.path() + "/fail.sh", "echo 'vault is sealed' >&2; exit 3\n");
  Write(dir.path() + "/config", "[profile ok]\ncredential_process = sh " + dir.path() +
                                    "/p.sh\n[profile bad]\ncredential_process = sh " + dir.path() +
                                    "/bad.sh\n[profile fail]\ncredential_process = sh " +
                                    dir.path() + "/fail.sh\n");
  auto fetch = [&](const std::string& p) -> Result<s3::TimedCredentials> {
    env.vars["AWS_PROFILE"] = p;
    auto src = s3::ResolveCredentialChain(ChainOptions{}, env.Get());
    if (!src.ok()) return src.status();
    return (*src)->Fetch();
  };
  auto ok = fetch("ok");
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->keys.access_key_id, "ASIAPROC");
  EXPECT_EQ(ok->keys.session_token, "pt");
  EXPECT_EQ(ok->expiration, 1800007200);
  auto bad = fetch("bad");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("\"Version\": 1"), std::string::npos);
  auto fail = fetch("fail");
  ASSERT_FALSE(fail.ok());
  EXPECT_NE(fail.status().message().find("exit 3"), std::string::npos);
  EXPECT_NE(fail.status().message().find("vault is sealed"), std::string::npos);
}

// ---- the refreshing provider ---------------------------------------------------------

class CountingSource final : public s3::CredentialSource {
 public:
  explicit CountingSource(const int64_t* now, int64_t lifetime) : now_(now), lifetime_(lifetime) {}
  std::string Name() const override { return "counting"; }
  Result<s3::TimedCredentials> Fetch() override {
    ++fetches;
    if (fail) return Status::Unavailable("sts down");
    return s3::TimedCredentials{
        {"ASIA" + std::to_string(fetches), "s", "t" + std::to_string(fetches)}, *now_ + lifetime_};
  }
  int fetches = 0;
  bool fail = false;

 private:
  const int64_t* now_;
  int64_t lifetime_;
};

TEST(CredentialsProvider, RefreshAtFiveMinutesOrHalfTheLifetime) {
  EXPECT_EQ(s3::CredentialsProvider::RefreshAt(1000, 1000 + 3600), 1000 + 3600 - 300);
  EXPECT_EQ(s3::CredentialsProvider::RefreshAt(1000, 1000 + 900), 1000 + 900 - 300);
  EXPECT_EQ(s3::CredentialsProvider::RefreshAt(1000, 1000 + 120), 1000 + 60);
  EXPECT_EQ(s3::CredentialsProvider::RefreshAt(1000, 0), 0);
}

TEST(CredentialsProvider, FetchesOnceThenAgainBeforeExpiration) {
  int64_t now = 1000;
  auto* src = new CountingSource(&now, 900);
  s3::CredentialsProvider p(std::unique_ptr<s3::CredentialSource>(src), [&] { return now; });
  auto a = p.Get();
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->keys.access_key_id, "ASIA1");
  now = 1000 + 599;  // not yet due (due at 1600)
  EXPECT_EQ(p.Get()->keys.access_key_id, "ASIA1");
  EXPECT_EQ(src->fetches, 1);
  now = 1600;
  EXPECT_EQ(p.Get()->keys.access_key_id, "ASIA2");
  EXPECT_EQ(src->fetches, 2);
}

TEST(CredentialsProvider, FailedRefreshKeepsWorkingCredentialsUntilTheyExpire) {
  int64_t now = 1000;
  auto* src = new CountingSource(&now, 900);
  s3::CredentialsProvider p(std::unique_ptr<s3::CredentialSource>(src), [&] { return now; });
  ASSERT_TRUE(p.Get().ok());
  src->fail = true;
  now = 1700;  // due, still valid until 1900
  EXPECT_EQ(p.Get()->keys.access_key_id, "ASIA1");
  EXPECT_EQ(src->fetches, 2);
  now = 1705;  // within the 10 s pause after a failure: no new attempt
  EXPECT_EQ(p.Get()->keys.access_key_id, "ASIA1");
  EXPECT_EQ(src->fetches, 2);
  now = 1900;  // expired: the failure is the answer
  auto gone = p.Get();
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Status::Code::kUnavailable);
  src->fail = false;
  EXPECT_EQ(p.Get()->keys.access_key_id, "ASIA4");
}

TEST(CredentialsProvider, InvalidateReplacesOnlyTheCredentialsThatWereRefused) {
  int64_t now = 1000;
  auto* src = new CountingSource(&now, 3600);
  s3::CredentialsProvider p(std::unique_ptr<s3::CredentialSource>(src), [&] { return now; });
  auto first = p.Get()->keys;
  EXPECT_TRUE(p.Invalidate(first));
  auto second = p.Get()->keys;
  EXPECT_EQ(second.access_key_id, "ASIA2");
  EXPECT_TRUE(p.Invalidate(first));  // another thread's late report about the old ones
  EXPECT_EQ(p.Get()->keys.access_key_id, "ASIA2");
  EXPECT_EQ(src->fetches, 2);
}

// ---- the S3 storage with refreshing credentials --------------------------------------

// Sets environment variables for one test and restores them.
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

S3Config ChainConfig(const FakeS3Server& s3server) {
  S3Config c;
  c.endpoint = s3server.Endpoint();
  c.bucket = "bkt";
  c.uri_style = "path";
  c.retry.max_attempts = 1;  // the refresh-and-resend is not an attempt
  c.retry.base_delay_seconds = 0.01;
  c.connect_timeout_seconds = 2;
  c.stall_timeout_seconds = 2;
  return c;
}

TEST(S3Credentials, ExpiredTokenAnswerRefreshesAndSendsAgainOnce) {
  FakeS3Server agent([](const FakeRequest&, int i) {
    FakeResponse r;
    r.body = R"({"AccessKeyId":"ASIAC)" + std::to_string(i) +
             R"(","SecretAccessKey":"cs","Token":"tok)" + std::to_string(i) +
             R"(","Expiration":"2099-01-15T10:00:00Z"})";
    return r;
  });
  FakeS3Server store([](const FakeRequest& q, int) {
    if (q.Header("x-amz-security-token") == "tok0") return FakeResponse::Error(400, "ExpiredToken");
    FakeResponse ok;
    ok.headers.emplace_back("Content-Length", "0");
    return ok;
  });
  TempDir dir;
  ScopedEnv env;
  env.Set("HOME", dir.path());
  env.Set("AWS_CONFIG_FILE", dir.path() + "/none");
  env.Set("AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/none");
  env.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", agent.Endpoint() + "/creds");
  auto s = OpenS3Storage(ChainConfig(store));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  Status h = (*s)->Remove("k");  // DELETE: an error answer has a body, unlike HEAD's
  ASSERT_TRUE(h.ok()) << h.ToString();
  auto reqs = store.Requests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[0].Header("authorization").find("Credential=ASIAC0/"), std::string::npos);
  EXPECT_NE(reqs[1].Header("authorization").find("Credential=ASIAC1/"), std::string::npos);
  EXPECT_EQ(agent.Requests().size(), 2u);
  // Refused again after the refresh: an authentication failure, no loop.
}

TEST(S3Credentials, HeadRefusedWithoutABodyRefreshesTemporaryCredentialsOnce) {
  // An answer to HEAD has no body, so no error code: a 400/403 to temporary
  // credentials is taken as possibly expired.
  FakeS3Server agent([](const FakeRequest&, int i) {
    FakeResponse r;
    r.body = R"({"AccessKeyId":"ASIAH)" + std::to_string(i) +
             R"(","SecretAccessKey":"cs","Token":"tok)" + std::to_string(i) +
             R"(","Expiration":"2099-01-15T10:00:00Z"})";
    return r;
  });
  FakeS3Server store([](const FakeRequest& q, int) {
    if (q.Header("x-amz-security-token") == "tok0") return FakeResponse::Error(400, "ExpiredToken");
    FakeResponse ok;
    ok.headers.emplace_back("Content-Length", "3");
    return ok;
  });
  TempDir dir;
  ScopedEnv env;
  env.Set("HOME", dir.path());
  env.Set("AWS_CONFIG_FILE", dir.path() + "/none");
  env.Set("AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/none");
  env.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", agent.Endpoint() + "/creds");
  auto s = OpenS3Storage(ChainConfig(store));
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  auto h = (*s)->Head("k");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(store.Requests().size(), 2u);
}

TEST(S3Credentials, ExpiredFixedKeysAreAnAuthFailureWithoutRefresh) {
  FakeS3Server store(
      [](const FakeRequest&, int) { return FakeResponse::Error(400, "ExpiredToken"); });
  S3Config c = ChainConfig(store);
  c.access_key_id = "ASIAFIXED";
  c.secret_access_key = "s";
  c.session_token = "old";
  c.credentials_origin = "s3-access-key-id from AWS_ACCESS_KEY_ID";
  auto s = OpenS3Storage(c);
  ASSERT_TRUE(s.ok());
  Status h = (*s)->Remove("k");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.code(), Status::Code::kAuth) << h.ToString();
  EXPECT_NE(h.hint().find("AWS_ACCESS_KEY_ID"), std::string::npos) << h.hint();
  EXPECT_EQ(store.Requests().size(), 1u);
}

TEST(S3Credentials, RefusedAgainAfterRefreshIsReportedNotLooped) {
  FakeS3Server agent([](const FakeRequest&, int i) {
    FakeResponse r;
    r.body = R"({"AccessKeyId":"ASIAC)" + std::to_string(i) +
             R"(","SecretAccessKey":"cs","Token":"t","Expiration":"2099-01-15T10:00:00Z"})";
    return r;
  });
  FakeS3Server store(
      [](const FakeRequest&, int) { return FakeResponse::Error(403, "InvalidToken"); });
  TempDir dir;
  ScopedEnv env;
  env.Set("HOME", dir.path());
  env.Set("AWS_CONFIG_FILE", dir.path() + "/none");
  env.Set("AWS_SHARED_CREDENTIALS_FILE", dir.path() + "/none");
  env.Set("AWS_CONTAINER_CREDENTIALS_FULL_URI", agent.Endpoint() + "/creds");
  auto s = OpenS3Storage(ChainConfig(store));
  ASSERT_TRUE(s.ok());
  Status h = (*s)->Remove("k");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.code(), Status::Code::kAuth) << h.ToString();
  EXPECT_EQ(store.Requests().size(), 2u);
}

}  // namespace
}  // namespace walferry
