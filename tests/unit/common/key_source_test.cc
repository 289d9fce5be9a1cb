// Where the key-encryption key comes from: a file (raw or text, mode 600 only),
// an environment variable, a command with a timeout; and what a bad source says
// (never any of its bytes).
#include "common/key_source.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <string>

#include "common/crypto.h"
#include "support/temp_dir.h"

namespace walferry::crypto {
namespace {

using walferry::testing::TempDir;

const std::string kHex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

std::string KeyFile(const TempDir& dir, const std::string& name, const std::string& bytes,
                    mode_t mode = 0600) {
  std::string p = dir.Write(name, bytes);
  ::chmod(p.c_str(), mode);
  return p;
}

TEST(KeySource, FileOfRawBytesOrText) {
  TempDir dir;
  std::string raw(32, '\0');
  for (int i = 0; i < 32; ++i) raw[i] = static_cast<char>(i * 7);
  KeySourceConfig c;
  c.file = KeyFile(dir, "raw", raw);
  auto k = LoadKek(c);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(*k, raw);

  c.file = KeyFile(dir, "hex", "hex:" + kHex + "\n");
  k = LoadKek(c);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(Hex(*k), kHex);

  c.file = KeyFile(dir, "b64", "base64:" + Base64(raw) + "\r\n");
  k = LoadKek(c);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(*k, raw);
}

TEST(KeySource, AFileOthersMayReadIsRefused) {
  TempDir dir;
  for (mode_t mode : {0640, 0604, 0620, 0602, 0644}) {
    KeySourceConfig c;
    c.file = KeyFile(dir, "k" + std::to_string(mode), "hex:" + kHex, mode);
    auto k = LoadKek(c);
    EXPECT_EQ(k.status().code(), Status::Code::kPermission) << mode;
    EXPECT_NE(k.status().hint().find("chmod 600"), std::string::npos);
  }
  KeySourceConfig c;
  c.file = dir.path() + "/missing";
  EXPECT_EQ(LoadKek(c).status().code(), Status::Code::kIo);
  c.file = dir.path();
  EXPECT_EQ(LoadKek(c).status().code(), Status::Code::kInvalidArgument);
}

TEST(KeySource, BadTextSaysWhatIsWrongWithoutShowingTheKey) {
  const std::string secretish = "hex:" + kHex.substr(0, 62) + "zz";
  for (const std::string& text :
       {std::string(""), std::string("\n"), "hex:" + kHex.substr(2), secretish,
        std::string("base64:AAAA"), "plain-" + kHex, std::string(31, 'x'),
        "base64:" + Base64(std::string(31, 'x')) + "="}) {
    auto k = DecodeKeyText(text, "file 'k'", /*raw_allowed=*/true);
    ASSERT_EQ(k.status().code(), Status::Code::kInvalidArgument) << text;
    std::string msg = k.status().ToString();
    EXPECT_NE(msg.find("file 'k'"), std::string::npos) << msg;
    if (text.size() > 8) {
      EXPECT_EQ(msg.find(text.substr(4, 16)), std::string::npos) << msg;
    }
  }
  // 32 raw bytes are a key only in a file
  EXPECT_FALSE(DecodeKeyText(std::string(32, 'x'), "variable", /*raw_allowed=*/false).ok());
}

TEST(KeySource, EnvironmentVariable) {
  ::setenv("WALFERRY_TEST_KEK", ("hex:" + kHex).c_str(), 1);
  KeySourceConfig c;
  c.env = "WALFERRY_TEST_KEK";
  auto k = LoadKek(c);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(Hex(*k), kHex);
  ::unsetenv("WALFERRY_TEST_KEK");
  EXPECT_EQ(LoadKek(c).status().code(), Status::Code::kUnavailable);
}

TEST(KeySource, CommandOutputExitStatusAndTimeout) {
  KeySourceConfig c;
  c.command = "echo hex:" + kHex;
  auto k = LoadKek(c);
  ASSERT_TRUE(k.ok()) << k.status().ToString();
  EXPECT_EQ(Hex(*k), kHex);

  c.command = "echo hex:" + kHex + "; exit 3";
  k = LoadKek(c);
  EXPECT_EQ(k.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(k.status().ToString().find("exited with status 3"), std::string::npos);

  c.command_timeout_ms = 300;
  c.command = "sleep 5";
  k = LoadKek(c);
  EXPECT_EQ(k.status().code(), Status::Code::kUnavailable);
  EXPECT_NE(k.status().ToString().find("did not finish within 300 ms"), std::string::npos);

  // closes its output and goes on running: still bounded by the timeout
  c.command = "echo hex:" + kHex + "; exec >&-; sleep 5";
  k = LoadKek(c);
  EXPECT_EQ(k.status().code(), Status::Code::kUnavailable);

  c.command = "yes hex:";
  k = LoadKek(c);
  EXPECT_EQ(k.status().code(), Status::Code::kUnavailable);

  c.command_timeout_ms = 5000;
  c.command = "echo not-a-key";
  EXPECT_EQ(LoadKek(c).status().code(), Status::Code::kInvalidArgument);
}

TEST(KeySource, ExactlyOneSource) {
  KeySourceConfig c;
  EXPECT_EQ(LoadKek(c).status().code(), Status::Code::kInvalidArgument);
  c.env = "X";
  c.command = "true";
  EXPECT_EQ(LoadKek(c).status().code(), Status::Code::kInvalidArgument);
}

}  // namespace
}  // namespace walferry::crypto
