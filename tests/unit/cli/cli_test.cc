// Tests of the walferry binary itself: exit codes, --help/--version, and
// `check` against a temp file:// repository and an unreachable S3 endpoint.
// The binary runs with a controlled environment (nothing inherited) and
// `--config ''` or a temp config, so /etc/walferry.conf never interferes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "walferry/exit_codes.h"
#include "walferry/options.h"
#include "support/run_walferry.h"
#include "support/temp_dir.h"

namespace walferry {
namespace {

namespace fs = std::filesystem;

using testing::RunResult;
using testing::RunWalferry;
using testing::TempDir;

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::vector<std::string> WithArgs(std::vector<std::string> a, const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Reads no config file, whatever the machine has in /etc.
const std::vector<std::string> kNoConfig = {"--config", ""};

TEST(Cli, Version) {
  RunResult r = RunWalferry({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, std::string("walferry ") + WALFERRY_VERSION + "\n");
}

TEST(Cli, HelpListsCommandsOptionsAndExitCodes) {
  RunResult r = RunWalferry({"--help"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(Has(r.out, "check")) << r.out;
  for (const config::OptionSpec& o : config::Options()) {
    EXPECT_TRUE(Has(r.out, config::FlagName(o))) << o.name;
  }
  int n = 0;
  const ExitCodeInfo* table = ExitCodeTable(&n);
  for (int i = 0; i < n; ++i) {
    EXPECT_TRUE(Has(r.out, table[i].name)) << table[i].name;
    EXPECT_TRUE(Has(r.out, table[i].meaning)) << table[i].meaning;
  }
  RunResult sub = RunWalferry({"check", "--help"});
  EXPECT_EQ(sub.exit_code, 0);
  EXPECT_TRUE(Has(sub.out, "--json"));
  EXPECT_TRUE(Has(sub.out, "--s3-endpoint"));  // global options on the command too
}

TEST(Cli, BadUsageExitsTwo) {
  struct Case {
    std::vector<std::string> args;
    std::string says;
  };
  std::vector<Case> cases = {
      {{}, "no command given"},
      {{"bogus"}, "unknown command 'bogus'"},
      {{"check", "--no-such-flag"}, "--no-such-flag"},
      {{"check", "extra"}, "extra"},
      {{"check", "--repo"}, "--repo"},
      {{"--repo", "file:///a", "--repo", "file:///b", "check"}, "--repo"},
      {WithArgs(kNoConfig, {"check", "--s3-part-size", "12QB"}), "'s3-part-size'"},
      {WithArgs(kNoConfig, {"check", "--s3-uri-style", "virtual"}), "'s3-uri-style'"},
      {{"check", "--config", "/nonexistent/walferry.conf"}, "'/nonexistent/walferry.conf'"},
  };
  for (const Case& c : cases) {
    RunResult r = RunWalferry(c.args);
    std::string cmd;
    for (const auto& a : c.args) cmd += " '" + a + "'";
    EXPECT_EQ(r.exit_code, 2) << cmd << "\n" << r.err;
    EXPECT_TRUE(Has(r.err, c.says)) << cmd << "\n" << r.err;
    EXPECT_TRUE(Has(r.err, "HINT: ")) << cmd << "\n" << r.err;
  }
}

TEST(Cli, BadValueNamesEnvironmentVariable) {
  RunResult r = RunWalferry(WithArgs(kNoConfig, {"check"}), {{"WALFERRY_S3_MAX_ATTEMPTS", "lots"}});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "'s3-max-attempts'")) << r.err;
  EXPECT_TRUE(Has(r.err, "WALFERRY_S3_MAX_ATTEMPTS")) << r.err;
}

TEST(Cli, UnknownConfigKeyNamesFileAndLine) {
  TempDir dir;
  std::string conf = dir.Write("w.conf", "# comment\nrepo = file:///x\ns3-endpiont = http://h\n");
  RunResult r = RunWalferry({"check", "--config", conf});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "unknown key 's3-endpiont'")) << r.err;
  EXPECT_TRUE(Has(r.err, conf + ":3")) << r.err;
  EXPECT_TRUE(Has(r.err, "did you mean 's3-endpoint'")) << r.err;
}

TEST(Cli, CheckWithoutRepoIsBadConfig) {
  RunResult r = RunWalferry(WithArgs(kNoConfig, {"check"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(Has(r.err, "usage error: no repository configured")) << r.err;
  EXPECT_TRUE(Has(r.err, "HINT: ")) << r.err;
}

TEST(Cli, CheckFileRepository) {
  TempDir repo;
  RunResult r = RunWalferry(WithArgs(kNoConfig, {"check", "--repo", "file://" + repo.path()}));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  for (const char* step :
       {"write probe ok", "read probe ok", "verify probe ok", "list probe ok", "delete probe ok"}) {
    EXPECT_TRUE(Has(r.out, "repository file://" + repo.path() + ": " + step)) << r.out;
  }
  EXPECT_TRUE(Has(r.out, "check ok")) << r.out;
  // The probe is gone.
  for (const auto& e : fs::recursive_directory_iterator(repo.path())) {
    EXPECT_FALSE(e.is_regular_file()) << "left behind: " << e.path();
  }
}

TEST(Cli, GlobalOptionsBeforeOrAfterCommandAndFromConfigFile) {
  TempDir repo;
  TempDir dir;
  std::string conf = dir.Write("w.conf", "repo = file://" + repo.path() + "\n");
  EXPECT_EQ(RunWalferry({"--config", conf, "check"}).exit_code, 0);
  EXPECT_EQ(RunWalferry({"check", "--config", conf}).exit_code, 0);
  EXPECT_EQ(RunWalferry({"check"}, {{"WALFERRY_CONFIG", conf}}).exit_code, 0);
  EXPECT_EQ(
      RunWalferry(WithArgs(kNoConfig, {"check"}), {{"WALFERRY_REPO", "file://" + repo.path()}})
          .exit_code,
      0);
}

TEST(Cli, EmptyConfigFlagReadsNoFile) {
  TempDir repo;
  TempDir dir;
  std::string bad = dir.Write("bad.conf", "bogus = 1\n");
  std::map<std::string, std::string> env = {{"WALFERRY_CONFIG", bad}};
  EXPECT_EQ(RunWalferry({"check", "--repo", "file://" + repo.path()}, env).exit_code, 2);
  EXPECT_EQ(
      RunWalferry({"check", "--config", "", "--repo", "file://" + repo.path()}, env).exit_code, 0);
}

TEST(Cli, CheckJson) {
  TempDir repo;
  RunResult r =
      RunWalferry(WithArgs(kNoConfig, {"check", "--json", "--repo", "file://" + repo.path()}));
  EXPECT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, /*allow_exceptions=*/false);
  ASSERT_FALSE(j.is_discarded()) << r.out;
  EXPECT_EQ(j["ok"], true);
  EXPECT_TRUE(j["error"].is_null());
  EXPECT_EQ(j["steps"].size(), 6u);  // configuration + five probe steps

  RunResult bad = RunWalferry(WithArgs(kNoConfig, {"check", "--json"}));
  EXPECT_EQ(bad.exit_code, 2);
  j = nlohmann::json::parse(bad.out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << bad.out;
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["error"]["class"], "usage");
  EXPECT_EQ(j["error"]["exit_code"], 2);
}

// Port 1 on loopback refuses connections at once; with one attempt and short
// limits the check fails fast with "unreachable" (exit 3). Secrets from every
// source stay out of the output, even at trace level.
TEST(Cli, CheckUnreachableS3ExitsThreeWithoutPrintingSecrets) {
  const std::string secret = "wJalrXUtnFEMI-K7MDENG-bPxRfiCY-unit-secret";
  const std::string token = "FwoGZXIvYXdzEJr-unit-session-token";
  RunResult r =
      RunWalferry(WithArgs(kNoConfig, {"check", "--repo", "s3://walferry-test/prefix",
                                       "--s3-endpoint", "http://127.0.0.1:1", "--s3-uri-style",
                                       "path", "--s3-max-attempts", "2", "--s3-retry-seconds", "1",
                                       "--s3-connect-timeout", "1", "--log-level", "trace"}),
                  {{"AWS_ACCESS_KEY_ID", "AKIAUNITTEST"},
                   {"AWS_SECRET_ACCESS_KEY", secret},
                   {"WALFERRY_S3_SESSION_TOKEN", token}});
  EXPECT_EQ(r.exit_code, static_cast<int>(ExitCode::kUnreachable)) << r.out << r.err;
  EXPECT_TRUE(Has(r.out, "write probe failed")) << r.out;
  EXPECT_TRUE(Has(r.err, "unreachable")) << r.err;
  EXPECT_TRUE(Has(r.err, "HINT: ")) << r.err;
  EXPECT_FALSE(Has(r.out + r.err, secret)) << r.out << r.err;
  EXPECT_FALSE(Has(r.out + r.err, token)) << r.out << r.err;
  EXPECT_LT(r.seconds, 15) << "should fail fast with these settings";
}

TEST(Cli, SecretsNotPrintedOnConfigErrors) {
  const std::string secret = "unit-secret-should-not-appear-1234";
  TempDir dir;
  std::string conf = dir.Write("w.conf", "s3-secret-access-key = " + secret + "\nbogus-key = 1\n");
  RunResult r = RunWalferry({"check", "--config", conf, "--log-level", "trace"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_FALSE(Has(r.out + r.err, secret)) << r.err;
}

}  // namespace
}  // namespace walferry
