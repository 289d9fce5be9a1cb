// `walferry status`: the backlog computed from the spool, and its renderings.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "unit/spool/push_fixture.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;

TEST_F(SpoolPushTest, StatusCountsPendingAndReportsSuccessAndRate) {
  Ready(1);
  Work();
  Ready(2);
  Ready(3);
  SpoolStatus s = ComputeStatus(dirs_, kRepo, data_, NowMs());
  EXPECT_EQ(s.pending_segments, 2);
  EXPECT_EQ(s.pending_bytes, 2 * int64_t{kSegSize});
  EXPECT_EQ(s.oldest, Name(2));
  ASSERT_TRUE(s.last_success.has_value());
  EXPECT_EQ(s.last_success->name, Name(1));
  EXPECT_GT(s.segments_per_second, 0);
  auto j = nlohmann::json::parse(StatusJson(s));
  EXPECT_EQ(j["version"], 1);
  EXPECT_EQ(j["pending"]["segments"], 2);
  EXPECT_EQ(j["pending"]["oldest"], Name(2));
  EXPECT_EQ(j["last_success"]["name"], Name(1));
  EXPECT_TRUE(j["last_error"].is_null());
  EXPECT_FALSE(j["worker"]["running"].get<bool>());
  std::string prom = StatusPrometheus(s);
  EXPECT_NE(prom.find("walferry_spool_pending_segments{repo=\"memory://test\"} 2\n"),
            std::string::npos)
      << prom;
}

}  // namespace
}  // namespace walferry::spool
