// The forwarding storage wrapper: passes calls through, counts them, fails the
// Nth (or every call from the Nth on), and runs a hook before a call.
#include "support/forwarding_storage.h"

#include <gtest/gtest.h>

namespace walferry::testing {
namespace {

using Op = ForwardingStorage::Op;

TEST(ForwardingStorageTest, PassesThroughAndCounts) {
  auto mem = NewMemoryStorage();
  ForwardingStorage s(*mem);
  EXPECT_EQ(s.Describe(), mem->Describe());
  ASSERT_TRUE(PutString(s, "a/1", "one").ok());
  ASSERT_TRUE(PutString(s, "a/2", "two").ok());
  EXPECT_EQ(*GetString(*mem, "a/1"), "one");
  EXPECT_EQ(*GetString(s, "a/2"), "two");
  EXPECT_EQ(s.Head("a/1")->size, 3u);
  EXPECT_EQ(ListAll(s, "a/")->size(), 2u);
  ASSERT_TRUE(s.Remove("a/1").ok());
  ASSERT_TRUE(s.RemoveMany({"a/2"}).ok());
  EXPECT_EQ(ListAll(*mem, "")->size(), 0u);
  EXPECT_EQ(s.calls(Op::kPut), 2);
  EXPECT_EQ(s.calls(Op::kGet), 1);
  EXPECT_EQ(s.calls(Op::kHead), 1);
  EXPECT_EQ(s.calls(Op::kList), 1);
  EXPECT_EQ(s.calls(Op::kRemove), 1);
  EXPECT_EQ(s.calls(Op::kRemoveMany), 1);
  EXPECT_EQ(s.keys(Op::kPut), (std::vector<std::string>{"a/1", "a/2"}));
}

TEST(ForwardingStorageTest, FailsTheNthCallWithoutForwardingIt) {
  auto mem = NewMemoryStorage();
  ForwardingStorage s(*mem);
  s.FailNth(Op::kPut, 2, Status::Unavailable("injected"));
  EXPECT_TRUE(PutString(s, "k1", "1").ok());
  auto r = PutString(s, "k2", "2");
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable);
  EXPECT_EQ(mem->Head("k2").status().code(), Status::Code::kNotFound);  // never reached it
  EXPECT_TRUE(PutString(s, "k3", "3").ok());
  s.FailFrom(Op::kGet, 2, Status::Io("down"));
  EXPECT_TRUE(GetString(s, "k1").ok());
  EXPECT_EQ(GetString(s, "k1").status().code(), Status::Code::kIo);
  EXPECT_EQ(GetString(s, "k3").status().code(), Status::Code::kIo);
}

TEST(ForwardingStorageTest, HookRunsBeforeTheCallAndMayFailIt) {
  auto mem = NewMemoryStorage();
  ForwardingStorage s(*mem);
  std::vector<std::pair<int, std::string>> seen;
  s.OnCall(Op::kPut, [&](int n, const std::string& key) {
    seen.emplace_back(n, key);
    // The object is not there yet when the hook runs.
    EXPECT_EQ(mem->Head(key).status().code(), Status::Code::kNotFound);
    return key == "bad" ? Status::Permission("no") : Status::Ok();
  });
  EXPECT_TRUE(PutString(s, "good", "x").ok());
  EXPECT_EQ(PutString(s, "bad", "x").status().code(), Status::Code::kPermission);
  EXPECT_EQ(seen, (std::vector<std::pair<int, std::string>>{{1, "good"}, {2, "bad"}}));
}

}  // namespace
}  // namespace walferry::testing
