// Tests of the option table and config resolution (walferry/options.h).
#include "walferry/options.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "common/log.h"
#include "support/temp_dir.h"

namespace walferry::config {
namespace {

namespace fs = std::filesystem;

using testing::TempDir;

// Sources that read no file unless a test says so.
ConfigSources NoFile() {
  ConfigSources s;
  s.default_config_file = "";
  return s;
}

const ResolvedOption& Get(const GlobalConfig& c, const std::string& name) {
  for (const ResolvedOption& r : c.options) {
    if (r.spec->name == name) return r;
  }
  static ResolvedOption none;
  ADD_FAILURE() << "no option " << name;
  return none;
}

TEST(OptionTable, SpellingsAndUniqueNames) {
  std::set<std::string> names;
  for (const OptionSpec& o : Options()) {
    EXPECT_TRUE(names.insert(o.name).second) << o.name;
    EXPECT_TRUE(std::regex_match(o.name, std::regex("[a-z][a-z0-9-]*"))) << o.name;
    EXPECT_NE(std::string(o.help), "") << o.name;
    EXPECT_EQ(FindOption(o.name), &o);
  }
  const OptionSpec* ep = FindOption("s3-endpoint");
  ASSERT_NE(ep, nullptr);
  EXPECT_EQ(FlagName(*ep), "--s3-endpoint");
  EXPECT_EQ(EnvName(*ep), "WALFERRY_S3_ENDPOINT");
  EXPECT_EQ(FindOption("nope"), nullptr);
  EXPECT_TRUE(FindOption("s3-secret-access-key")->secret);
  EXPECT_TRUE(FindOption("s3-session-token")->secret);
}

TEST(OptionTable, EveryDefaultIsValid) {
  Result<GlobalConfig> c = ResolveConfig(NoFile());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  for (const ResolvedOption& r : c->options) EXPECT_EQ(r.origin, Origin::kDefault);
}

TEST(ResolveConfig, DefaultsMatchStorageDefaults) {
  Result<GlobalConfig> c = ResolveConfig(NoFile());
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  S3Config want;
  const S3Config& s3 = c->storage.s3;
  EXPECT_EQ(c->storage.repo, "");
  EXPECT_EQ(c->config_file, "");
  EXPECT_EQ(c->log_level, log::Level::kInfo);
  EXPECT_EQ(s3.endpoint, want.endpoint);
  EXPECT_EQ(s3.region, want.region);
  EXPECT_EQ(s3.uri_style, want.uri_style);
  EXPECT_EQ(s3.verify_tls, want.verify_tls);
  EXPECT_EQ(s3.multipart_threshold, want.multipart_threshold);
  EXPECT_EQ(s3.part_size, want.part_size);
  EXPECT_EQ(s3.retry.max_attempts, want.retry.max_attempts);
  EXPECT_EQ(s3.retry.max_seconds, want.retry.max_seconds);
  EXPECT_EQ(s3.connect_timeout_seconds, want.connect_timeout_seconds);
  EXPECT_EQ(s3.stall_timeout_seconds, want.stall_timeout_seconds);
}

TEST(ResolveConfig, FlagBeatsEnvBeatsFileBeatsDefault) {
  TempDir dir;
  std::string file = dir.Write("w.conf", "s3-region = file-region\nrepo = file:///from-file\n");
  ConfigSources s = NoFile();
  s.flags["config"] = file;
  s.flags["s3-region"] = "flag-region";
  s.env["WALFERRY_S3_REGION"] = "env-region";

  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.s3.region, "flag-region");
  EXPECT_EQ(Get(*c, "s3-region").origin, Origin::kFlag);
  EXPECT_EQ(Get(*c, "s3-region").where, "--s3-region");
  EXPECT_EQ(c->config_file, file);

  s.flags.erase("s3-region");
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.region, "env-region");
  EXPECT_EQ(Get(*c, "s3-region").where, "WALFERRY_S3_REGION");

  s.env.clear();
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.region, "file-region");
  EXPECT_EQ(Get(*c, "s3-region").where, file + ":1");
  EXPECT_EQ(c->storage.repo, "file:///from-file");

  s.flags.erase("config");
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.region, "us-east-1");
  EXPECT_EQ(Get(*c, "s3-region").origin, Origin::kDefault);
}

TEST(ResolveConfig, EmptyEnvironmentVariableCountsAsUnset) {
  ConfigSources s = NoFile();
  s.env["WALFERRY_S3_REGION"] = "";
  s.env["WALFERRY_S3_MAX_ATTEMPTS"] = "";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.s3.region, "us-east-1");
  EXPECT_EQ(c->storage.s3.retry.max_attempts, 6);
}

TEST(ResolveConfig, EmptyFlagOverridesFile) {
  TempDir dir;
  ConfigSources s = NoFile();
  s.flags["config"] = dir.Write("w.conf", "s3-endpoint = http://127.0.0.1:9000\n");
  s.flags["s3-endpoint"] = "";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.s3.endpoint, "");
}

TEST(ResolveConfig, ConfigFileFromEnvAndDefault) {
  TempDir dir;
  std::string a = dir.Write("a.conf", "s3-region = a\n");
  std::string b = dir.Write("b.conf", "s3-region = b\n");

  ConfigSources s;
  s.default_config_file = b;
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.s3.region, "b");  // the default file, since it exists

  s.env["WALFERRY_CONFIG"] = a;
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.region, "a");
  EXPECT_EQ(c->config_file, a);

  s.flags["config"] = "";  // --config '' reads no file at all
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.region, "us-east-1");
  EXPECT_EQ(c->config_file, "");
}

TEST(ResolveConfig, MissingDefaultFileIsFine) {
  ConfigSources s;
  s.default_config_file = "/nonexistent/walferry.conf";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->config_file, "");
}

TEST(ResolveConfig, MissingExplicitFileIsUsageError) {
  for (bool from_env : {false, true}) {
    ConfigSources s = NoFile();
    if (from_env) {
      s.env["WALFERRY_CONFIG"] = "/nonexistent/x.conf";
    } else {
      s.flags["config"] = "/nonexistent/x.conf";
    }
    Result<GlobalConfig> c = ResolveConfig(s);
    ASSERT_FALSE(c.ok());
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);  // exit 2, never 1
    EXPECT_NE(c.status().message().find("'/nonexistent/x.conf'"), std::string::npos);
    EXPECT_NE(c.status().message().find(from_env ? "WALFERRY_CONFIG" : "--config"),
              std::string::npos)
        << c.status().message();
    EXPECT_FALSE(c.status().hint().empty());
  }
}

TEST(ResolveConfig, DirectoryAsConfigFileIsAnError) {
  TempDir dir;
  ConfigSources s = NoFile();
  s.flags["config"] = dir.path();
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find(dir.path()), std::string::npos);
}

TEST(ParseConfigText, CommentsBlankLinesAndSpaces) {
  Result<std::map<std::string, FileValue>> v = ParseConfigText(
      "# comment\n\n   # indented comment\n  repo   =   s3://b/p  \r\n"
      "s3-sse=AES256\ns3-storage-class =\ns3-secret-access-key = a#b=c\n",
      "x.conf");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->at("repo").value, "s3://b/p");
  EXPECT_EQ(v->at("repo").line, 4);
  EXPECT_EQ(v->at("s3-sse").value, "AES256");
  EXPECT_EQ(v->at("s3-storage-class").value, "");
  EXPECT_EQ(v->at("s3-secret-access-key").value, "a#b=c");  // '#' mid-line is data
}

TEST(ParseConfigText, UnknownKeyNamesKeyAndFileLine) {
  Result<std::map<std::string, FileValue>> v =
      ParseConfigText("repo = file:///x\n\ns3-endpiont = http://h\n", "/etc/w.conf");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), Status::Code::kInvalidArgument);
  EXPECT_NE(v.status().message().find("'s3-endpiont'"), std::string::npos) << v.status().message();
  EXPECT_NE(v.status().message().find("/etc/w.conf:3"), std::string::npos) << v.status().message();
  EXPECT_NE(v.status().hint().find("did you mean 's3-endpoint'"), std::string::npos)
      << v.status().hint();
}

TEST(ParseConfigText, MalformedLineIsNotEchoed) {
  Result<std::map<std::string, FileValue>> v =
      ParseConfigText("repo = file:///x\nsupersecretpasted\n", "w.conf");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("w.conf:2"), std::string::npos);
  EXPECT_EQ(v.status().message().find("supersecretpasted"), std::string::npos);
}

TEST(ParseConfigText, RepeatedKeyIsAnError) {
  Result<std::map<std::string, FileValue>> v =
      ParseConfigText("s3-region = a\ns3-region = b\n", "w.conf");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("w.conf:2"), std::string::npos) << v.status().message();
  EXPECT_NE(v.status().message().find("w.conf:1"), std::string::npos) << v.status().message();
}

TEST(ParseConfigText, ConfigKeyNotAllowedInFile) {
  Result<std::map<std::string, FileValue>> v = ParseConfigText("config = /x\n", "w.conf");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.status().message().find("'config'"), std::string::npos);
  EXPECT_NE(v.status().message().find("w.conf:1"), std::string::npos);
}

TEST(ParseConfigText, MissingKey) { EXPECT_FALSE(ParseConfigText(" = x\n", "w.conf").ok()); }

// A bad value names the key and where it came from, for every source.
struct BadCase {
  std::string key;
  std::string value;
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.key << " = " << c.value; }

class BadValueTest : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadValueTest, NamesKeyAndSource) {
  const BadCase& bc = GetParam();
  const OptionSpec* spec = FindOption(bc.key);
  ASSERT_NE(spec, nullptr);
  TempDir dir;
  std::string file = dir.Write("w.conf", "# first line\n" + bc.key + " = " + bc.value + "\n");
  struct Source {
    ConfigSources sources;
    std::string where;
  };
  std::vector<Source> sources(3);
  sources[0].sources = NoFile();
  sources[0].sources.flags[bc.key] = bc.value;
  sources[0].where = "--" + bc.key;
  sources[1].sources = NoFile();
  sources[1].sources.env[EnvName(*spec)] = bc.value;
  sources[1].where = "environment variable " + EnvName(*spec);
  sources[2].sources = NoFile();
  sources[2].sources.flags["config"] = file;
  sources[2].where = file + ":2";
  for (const Source& src : sources) {
    Result<GlobalConfig> c = ResolveConfig(src.sources);
    ASSERT_FALSE(c.ok()) << bc.key << "=" << bc.value << " from " << src.where;
    const std::string& m = c.status().message();
    EXPECT_EQ(c.status().code(), Status::Code::kInvalidArgument);
    EXPECT_NE(m.find("'" + bc.key + "'"), std::string::npos) << m;
    EXPECT_NE(m.find(src.where), std::string::npos) << m;
    if (bc.value.find('@') == std::string::npos) {
      EXPECT_NE(m.find("'" + bc.value + "'"), std::string::npos) << m;
    } else {
      EXPECT_EQ(m.find(bc.value), std::string::npos) << m;  // may hold a password
    }
    EXPECT_NE(m.find("expected"), std::string::npos) << m;
    EXPECT_FALSE(c.status().hint().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Values, BadValueTest,
    ::testing::Values(
        BadCase{"s3-max-attempts", "abc"}, BadCase{"s3-max-attempts", "0"},
        BadCase{"s3-max-attempts", "6x"}, BadCase{"s3-max-attempts", "-3"},
        BadCase{"s3-part-size", "12QB"}, BadCase{"s3-part-size", "1MiB"},
        BadCase{"s3-part-size", "1.5MiB"}, BadCase{"s3-multipart-threshold", "6TiB"},
        BadCase{"s3-endpoint", "ftp://host"}, BadCase{"s3-endpoint", "127.0.0.1:9000"},
        BadCase{"s3-endpoint", "http://host:99999"}, BadCase{"s3-endpoint", "http://user:pw@host"},
        BadCase{"s3-endpoint", "https://host/path"}, BadCase{"s3-endpoint", "http://"},
        BadCase{"s3-uri-style", "virtual"}, BadCase{"log-level", "verbose"},
        BadCase{"s3-verify-tls", "maybe"}, BadCase{"s3-retry-seconds", "soon"},
        BadCase{"s3-connect-timeout", "0"}, BadCase{"s3-stall-timeout", "5d"},
        BadCase{"repo", "/var/lib/repo"}, BadCase{"repo", "file://relative"},
        BadCase{"repo", "s3://"}, BadCase{"repo", "gs://bucket"}),
    [](const ::testing::TestParamInfo<BadCase>& info) {
      std::string n = info.param.key + "_" + std::to_string(info.index);
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

TEST(ResolveConfig, TypedValues) {
  ConfigSources s = NoFile();
  s.flags = {{"repo", "s3://bucket/pre/fix"},
             {"log-level", "debug"},
             {"s3-endpoint", "https://[::1]:9443/"},
             {"s3-uri-style", "path"},
             {"s3-verify-tls", "off"},
             {"s3-multipart-threshold", "128 MiB"},
             {"s3-part-size", "5MiB"},
             {"s3-max-attempts", "2"},
             {"s3-retry-seconds", "1500ms"},
             {"s3-connect-timeout", "0.5"},
             {"s3-stall-timeout", "2min"},
             {"s3-storage-class", "STANDARD_IA"},
             {"s3-sse", "aws:kms"},
             {"s3-ca-file", "/etc/ca.pem"}};
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const S3Config& s3 = c->storage.s3;
  EXPECT_EQ(c->storage.repo, "s3://bucket/pre/fix");  // OpenStorage splits bucket/prefix
  EXPECT_EQ(c->log_level, log::Level::kDebug);
  EXPECT_EQ(s3.endpoint, "https://[::1]:9443");  // trailing '/' dropped
  EXPECT_EQ(s3.uri_style, "path");
  EXPECT_FALSE(s3.verify_tls);
  EXPECT_EQ(s3.multipart_threshold, 128ull << 20);
  EXPECT_EQ(s3.part_size, 5ull << 20);
  EXPECT_EQ(s3.retry.max_attempts, 2);
  EXPECT_DOUBLE_EQ(s3.retry.max_seconds, 1.5);
  EXPECT_DOUBLE_EQ(s3.connect_timeout_seconds, 0.5);
  EXPECT_DOUBLE_EQ(s3.stall_timeout_seconds, 120);
  EXPECT_EQ(s3.storage_class, "STANDARD_IA");
  EXPECT_EQ(s3.sse, "aws:kms");
  EXPECT_EQ(s3.ca_file, "/etc/ca.pem");
}

TEST(ParseValues, Sizes) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseSize("16MiB", &v));
  EXPECT_EQ(v, 16ull << 20);
  EXPECT_TRUE(ParseSize("5 mib", &v));
  EXPECT_EQ(v, 5ull << 20);
  EXPECT_TRUE(ParseSize("1G", &v));
  EXPECT_EQ(v, 1ull << 30);
  EXPECT_TRUE(ParseSize("64kB", &v));
  EXPECT_EQ(v, 64ull << 10);
  EXPECT_TRUE(ParseSize("4096", &v));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(ParseSize("2TiB", &v));
  EXPECT_EQ(v, 2ull << 40);
  for (const char* bad : {"", "MiB", "1.5MiB", "-1", "16 MiBs", "99999999999TiB", "1e3"}) {
    EXPECT_FALSE(ParseSize(bad, &v)) << bad;
  }
}

TEST(ParseValues, Seconds) {
  double v = 0;
  EXPECT_TRUE(ParseSeconds("30", &v));
  EXPECT_DOUBLE_EQ(v, 30);
  EXPECT_TRUE(ParseSeconds("1.5", &v));
  EXPECT_DOUBLE_EQ(v, 1.5);
  EXPECT_TRUE(ParseSeconds("500ms", &v));
  EXPECT_DOUBLE_EQ(v, 0.5);
  EXPECT_TRUE(ParseSeconds("2 min", &v));
  EXPECT_DOUBLE_EQ(v, 120);
  EXPECT_TRUE(ParseSeconds("1h", &v));
  EXPECT_DOUBLE_EQ(v, 3600);
  EXPECT_TRUE(ParseSeconds("10s", &v));
  EXPECT_DOUBLE_EQ(v, 10);
  for (const char* bad : {"", "s", ".", "1..2", "-1", "1x", "abc", "1m"}) {
    EXPECT_FALSE(ParseSeconds(bad, &v)) << bad;
  }
}

TEST(ParseValues, Bools) {
  bool v = false;
  for (const char* t : {"true", "yes", "on", "1", "TRUE", " On "}) {
    EXPECT_TRUE(ParseBool(t, &v) && v) << t;
  }
  for (const char* f : {"false", "no", "off", "0", "False"}) {
    EXPECT_TRUE(ParseBool(f, &v) && !v) << f;
  }
  EXPECT_FALSE(ParseBool("", &v));
  EXPECT_FALSE(ParseBool("2", &v));
}

TEST(Credentials, AwsVariablesBelowWalferryVariables) {
  ConfigSources s = NoFile();
  s.env = {{"AWS_ACCESS_KEY_ID", "AKIAAWS"},
           {"AWS_SECRET_ACCESS_KEY", "aws-secret"},
           {"AWS_SESSION_TOKEN", "aws-token"}};
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.access_key_id, "AKIAAWS");
  EXPECT_EQ(c->storage.s3.secret_access_key, "aws-secret");
  EXPECT_EQ(c->storage.s3.session_token, "aws-token");
  EXPECT_EQ(Get(*c, "s3-secret-access-key").where, "AWS_SECRET_ACCESS_KEY");

  s.env["WALFERRY_S3_ACCESS_KEY_ID"] = "AKIAWF";
  s.env["WALFERRY_S3_SECRET_ACCESS_KEY"] = "wf-secret";
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.access_key_id, "AKIAWF");
  EXPECT_EQ(c->storage.s3.secret_access_key, "wf-secret");

  s.flags["s3-access-key-id"] = "AKIAFLAG";
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.access_key_id, "AKIAFLAG");
}

TEST(Credentials, AwsVariablesAboveFileAndTakenAsASet) {
  TempDir dir;
  ConfigSources s = NoFile();
  s.flags["config"] = dir.Write("w.conf",
                                "s3-access-key-id = AKIAFILE\n"
                                "s3-secret-access-key = file-secret\n"
                                "s3-session-token = file-token\n");
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.access_key_id, "AKIAFILE");
  EXPECT_EQ(c->storage.s3.session_token, "file-token");

  // A secret alone in the environment does not override half of the file's pair.
  s.env["AWS_SECRET_ACCESS_KEY"] = "aws-secret";
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.secret_access_key, "file-secret");

  // A key pair from the environment replaces the file's, token included.
  s.env["AWS_ACCESS_KEY_ID"] = "AKIAAWS";
  c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->storage.s3.access_key_id, "AKIAAWS");
  EXPECT_EQ(c->storage.s3.secret_access_key, "aws-secret");
  EXPECT_EQ(c->storage.s3.session_token, "");
}

TEST(Secrets, RedactedInDescribeConfig) {
  ConfigSources s = NoFile();
  s.env["WALFERRY_S3_SECRET_ACCESS_KEY"] = "wJalrXUtnFEMI-secret";
  s.flags["s3-session-token"] = "FwoGZXIvYXdz-token";
  s.flags["s3-access-key-id"] = "AKIAEXAMPLE";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  std::string all;
  for (const std::string& line : DescribeConfig(*c)) all += line + "\n";
  EXPECT_EQ(all.find("wJalrXUtnFEMI-secret"), std::string::npos) << all;
  EXPECT_EQ(all.find("FwoGZXIvYXdz-token"), std::string::npos) << all;
  EXPECT_NE(all.find("s3-secret-access-key = <redacted> (from environment variable "
                     "WALFERRY_S3_SECRET_ACCESS_KEY)"),
            std::string::npos)
      << all;
  EXPECT_NE(all.find("s3-access-key-id = AKIAEXAMPLE"), std::string::npos) << all;
  EXPECT_NE(all.find("s3-region = us-east-1 (default)"), std::string::npos) << all;

  std::string m = RedactSecrets(*c, "auth failed for wJalrXUtnFEMI-secret and FwoGZXIvYXdz-token");
  EXPECT_EQ(m, "auth failed for <redacted> and <redacted>");
}

TEST(Secrets, BadSecretValueIsNotEchoed) {
  // Secrets are free text today; make one invalid (two lines) to check the message.
  ConfigSources s = NoFile();
  s.flags["s3-secret-access-key"] = "line1secret\nline2";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message().find("line1secret"), std::string::npos) << c.status().message();
  EXPECT_NE(c.status().message().find("'s3-secret-access-key'"), std::string::npos);
}

TEST(RequireRepo, NamesWhereToSetIt) {
  Result<GlobalConfig> c = ResolveConfig(NoFile());
  ASSERT_TRUE(c.ok());
  Status s = RequireRepo(*c);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.hint().find("--repo"), std::string::npos);
  c->storage.repo = "file:///x";
  EXPECT_TRUE(RequireRepo(*c).ok());
}

// examples/walferry.conf parses as shipped, names every key, and every
// commented-out example line is valid too.
TEST(ExampleConfig, ParsesAndCoversEveryKey) {
  std::string path = std::string(WALFERRY_SOURCE_DIR) + "/examples/walferry.conf";
  std::ifstream in(path);
  ASSERT_TRUE(in) << path;
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();

  ConfigSources s = NoFile();
  s.flags["config"] = path;
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_FALSE(c->storage.repo.empty());

  std::string uncommented;
  std::set<std::string> keys;
  std::regex setting(R"(^#?\s*([a-z][a-z0-9-]*)\s*=.*$)");
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, setting) && FindOption(m[1].str()) != nullptr) {
      keys.insert(m[1].str());
      uncommented += line.substr(line.find(m[1].str())) + "\n";
    }
  }
  for (const OptionSpec& o : Options()) {
    if (o.in_file) {
      EXPECT_TRUE(keys.count(o.name)) << "examples/walferry.conf lacks " << o.name;
    }
  }
  TempDir dir;
  s.flags["config"] = dir.Write("all.conf", uncommented);
  c = ResolveConfig(s);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
}

}  // namespace
}  // namespace walferry::config
