// Status codes' stable identifiers (stored on disk by the spool).
#include "walferry/status.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "walferry/exit_codes.h"

namespace walferry {
namespace {

TEST(StatusCodeId, EveryCodeHasItsOwnIdAndReadsBack) {
  std::set<std::string> seen;
  for (const StatusCodeInfo& row : StatusCodes()) {
    const std::string id = Status::CodeId(row.code);
    EXPECT_TRUE(seen.insert(id).second) << "two codes share the id " << id;
    EXPECT_EQ(Status::CodeFromId(id), row.code) << id;
  }
  EXPECT_EQ(std::string(Status::CodeId(Status::Code::kUnavailable)), "unavailable");
  EXPECT_EQ(std::string(Status::CodeId(Status::Code::kIo)), "io");
}

TEST(StatusCodeId, AnythingElseIsNoCode) {
  EXPECT_FALSE(Status::CodeFromId("").has_value());
  EXPECT_FALSE(Status::CodeFromId("Unavailable").has_value());
  EXPECT_FALSE(Status::CodeFromId("6").has_value());
  EXPECT_FALSE(Status::CodeFromId("i/o error").has_value());
}

}  // namespace
}  // namespace walferry
