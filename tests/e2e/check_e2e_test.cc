// `walferry check` as an operator runs it, against the real S3 server that
// scripts/test.sh starts (WALFERRY_TEST_S3_*; missing variables fail, never skip).
#include <gtest/gtest.h>

#include <cstdlib>

#include "support/run_walferry.h"

namespace walferry {
namespace {

using testing::RunResult;
using testing::RunWalferry;

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

class CheckE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* v :
         {"WALFERRY_TEST_S3_TLS_ENDPOINT", "WALFERRY_TEST_S3_CA_FILE", "WALFERRY_TEST_S3_BUCKET",
          "WALFERRY_TEST_S3_ACCESS_KEY", "WALFERRY_TEST_S3_SECRET_KEY"}) {
      ASSERT_FALSE(Env(v).empty())
          << v << " unset: run through scripts/test.sh, which starts the real server";
    }
  }
  std::vector<std::string> Args() const {
    return {"check",
            "--config",
            "",
            "--repo",
            "s3://" + Env("WALFERRY_TEST_S3_BUCKET") + "/e2e-check",
            "--s3-endpoint",
            Env("WALFERRY_TEST_S3_TLS_ENDPOINT"),
            "--s3-ca-file",
            Env("WALFERRY_TEST_S3_CA_FILE"),
            "--s3-uri-style",
            "path"};
  }
  std::map<std::string, std::string> Credentials(const std::string& secret) const {
    return {{"AWS_ACCESS_KEY_ID", Env("WALFERRY_TEST_S3_ACCESS_KEY")},
            {"AWS_SECRET_ACCESS_KEY", secret}};
  }
};

TEST_F(CheckE2E, PassesAgainstTheRealServerOverHttps) {
  RunResult r = RunWalferry(Args(), Credentials(Env("WALFERRY_TEST_S3_SECRET_KEY")));
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("check ok"), std::string::npos) << r.out;
  EXPECT_EQ((r.out + r.err).find(Env("WALFERRY_TEST_S3_SECRET_KEY")), std::string::npos);
}

TEST_F(CheckE2E, WrongSecretExitsWithTheAuthCodeAndNeverPrintsTheSecret) {
  const std::string secret = "Wrong-Secret-e2e-7f3a9c";
  RunResult r = RunWalferry(Args(), Credentials(secret));
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("authentication failed"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("SignatureDoesNotMatch"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("HINT:"), std::string::npos) << r.err;
  EXPECT_EQ((r.out + r.err).find(secret), std::string::npos) << r.out << r.err;
  // Not even at the most verbose level.
  auto args = Args();
  args.insert(args.end(), {"--log-level", "trace"});
  r = RunWalferry(args, Credentials(secret));
  EXPECT_EQ(r.exit_code, 4);
  EXPECT_EQ((r.out + r.err).find(secret), std::string::npos) << r.out << r.err;
}

TEST_F(CheckE2E, UntrustedCertificateIsRefusedWithAHint) {
  auto args = Args();
  args.erase(args.begin() + 7, args.begin() + 9);  // drop --s3-ca-file FILE
  RunResult r = RunWalferry(args, Credentials(Env("WALFERRY_TEST_S3_SECRET_KEY")));
  EXPECT_EQ(r.exit_code, 4) << r.out << r.err;
  EXPECT_NE(r.err.find("certificate"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--s3-ca-file"), std::string::npos) << r.err;
}

TEST_F(CheckE2E, MissingBucketIsABadConfigurationNotNotFound) {
  auto args = Args();
  args[4] = "s3://walferry-no-such-bucket/x";
  RunResult r = RunWalferry(args, Credentials(Env("WALFERRY_TEST_S3_SECRET_KEY")));
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("NoSuchBucket"), std::string::npos) << r.err;
}

}  // namespace
}  // namespace walferry
