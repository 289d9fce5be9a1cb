// Tests of the walferry binary itself: exit codes, --help/--version, and
// `check` against a temp file:// repository and an unreachable S3 endpoint.
// The binary runs with a controlled environment (nothing inherited) and
// `--config ''` or a temp config, so /etc/walferry.conf never interferes.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/stat.h>
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

#include "support/run_walferry.h"
#include "support/temp_dir.h"
#include "walferry/exit_codes.h"
#include "walferry/options.h"

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

// Issue 10: a compression level the codec does not take fails `check` (exit 2,
// naming the key and its source), not every archive-push afterwards.
TEST(Cli, CheckRefusesACompressionLevelItsCodecDoesNotTake) {
  TempDir repo;
  TempDir dir;
  std::string conf =
      dir.Write("w.conf", "repo = file://" + repo.path() +
                              "\ncompression = lz4  # fast\ncompression-level = 15\n");
  RunResult r = RunWalferry({"check", "--config", conf});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_TRUE(
      Has(r.err, "usage error: invalid value '15' for 'compression-level' (from " + conf + ":3)"))
      << r.err;
  EXPECT_TRUE(Has(r.err, "compression 'lz4'")) << r.err;
  RunResult env =
      RunWalferry(WithArgs(kNoConfig, {"check", "--repo", "file://" + repo.path()}),
                  {{"WALFERRY_COMPRESSION", "none"}, {"WALFERRY_COMPRESSION_LEVEL", "3"}});
  EXPECT_EQ(env.exit_code, 2) << env.err;
  EXPECT_TRUE(Has(env.err, "environment variable WALFERRY_COMPRESSION_LEVEL")) << env.err;
}

// A misspelt WALFERRY_* variable is a WARNING naming it and the nearest name;
// the command still runs (archive_command must not stop over it).
TEST(Cli, MisspeltEnvironmentVariableIsAWarningThatNamesTheNearestOption) {
  TempDir repo;
  RunResult r = RunWalferry(WithArgs(kNoConfig, {"check", "--repo", "file://" + repo.path()}),
                            {{"WALFERRY_S3_ENDPONT", "https://127.0.0.1:9443"},
                             {"WALFERRY_TEST_S3_BUCKET", "scripts-own-variable"}});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_TRUE(Has(r.err,
                  "WARNING: check: environment variable WALFERRY_S3_ENDPONT is not a "
                  "walferry option; it is ignored (did you mean WALFERRY_S3_ENDPOINT?)"))
      << r.err;
  EXPECT_FALSE(Has(r.err, "WALFERRY_TEST_S3_BUCKET")) << r.err;
}

// A config file that is a FIFO is refused at once (it used to block in open(2)
// until a writer came: archive_command hung for ever).
TEST(Cli, ConfigFileThatIsAFifoIsRefusedAtOnce) {
  TempDir dir;
  std::string fifo = dir.path() + "/walferry.conf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  RunResult r = RunWalferry({"check", "--config", fifo});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(
      Has(r.err, "config file '" + fifo + "' (from --config) is a FIFO, not a regular file"))
      << r.err;
}

// A crafted value cannot forge a log line: control characters come out escaped.
TEST(Cli, ControlCharactersInAValueDoNotBreakTheLogLine) {
  RunResult r = RunWalferry(
      WithArgs(kNoConfig, {"check", "--s3-region", "x\nwalferry[1]: INFO: check: check ok"}));
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_TRUE(Has(r.err, "'x\\nwalferry[1]: INFO: check: check ok'")) << r.err;
  std::istringstream lines(r.err);
  for (std::string line; std::getline(lines, line);) {
    EXPECT_TRUE(line.starts_with("walferry[")) << "forged or broken line: " << line;
  }
}

}  // namespace
}  // namespace walferry
