// Every log line is one line: control characters in a message (a file name
// from the data directory, a value from the environment) are escaped, so a
// crafted name cannot forge a line of its own in PostgreSQL's log.
#include "common/log.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walferry::log {
namespace {

class LogLines : public ::testing::Test {
 protected:
  void SetUp() override {
    SetSinkForTest([this](const std::string& line) { lines_.push_back(line); });
  }
  void TearDown() override { SetSinkForTest(nullptr); }
  std::vector<std::string> lines_;
};

TEST_F(LogLines, NewlinesAndControlCharactersAreEscaped) {
  std::string name = "ctl\nwalferry[1]: ERROR: archive-push: forged\r\x1b[2J\x7f\tend";
  Warn("skipping '" + name + "'");
  ASSERT_EQ(lines_.size(), 1u);
  const std::string& line = lines_[0];
  for (char c : line) {
    EXPECT_TRUE(static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) << "raw control in: " << line;
  }
  EXPECT_NE(line.find("'ctl\\nwalferry[1]: ERROR: archive-push: forged\\r\\x1b[2J\\x7f\\tend'"),
            std::string::npos)
      << line;
  EXPECT_NE(line.find(": WARNING: "), std::string::npos) << line;
}

TEST_F(LogLines, PlainTextAndUtf8AreUnchanged) {
  Info("archived '000000010000000000000001' in s3://b/p (12 ms) \xc3\xa9t\xc3\xa9");
  ASSERT_EQ(lines_.size(), 1u);
  EXPECT_NE(
      lines_[0].find("archived '000000010000000000000001' in s3://b/p (12 ms) \xc3\xa9t\xc3\xa9"),
      std::string::npos);
}

TEST(LogEscape, AppendEscaped) {
  std::string out = "x: ";
  AppendEscaped(&out, std::string("a\nb\0c", 5));
  EXPECT_EQ(out, "x: a\\nb\\x00c");
}

}  // namespace
}  // namespace walferry::log
