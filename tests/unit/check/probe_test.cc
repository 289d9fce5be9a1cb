// Tests of the repository probe behind `walferry check`.
#include "check/probe.h"

#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "walferry/storage.h"

namespace walferry::check {
namespace {

// Forwards to an in-memory storage, with failures and damage to order.
class FaultyStorage final : public Storage {
 public:
  std::string Describe() const override { return "memory://test"; }
  Result<PutResult> Put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override {
    if (!put_error.ok()) return put_error;
    return inner_->Put(key, body, options);
  }
  Status Get(const std::string& key, ByteSink& sink, std::optional<ByteRange> range) override {
    if (flip_byte) {
      StringSink tmp;
      WF_RETURN_IF_ERROR(inner_->Get(key, tmp, range));
      tmp.out[100] ^= 1;
      return sink.Write(tmp.out.data(), tmp.out.size());
    }
    return inner_->Get(key, sink, range);
  }
  Result<ObjectInfo> Head(const std::string& key) override { return inner_->Head(key); }
  Status List(const std::string& prefix,
              const std::function<Status(const ObjectInfo&)>& visit) override {
    if (!list_error.ok()) return list_error;
    return inner_->List(prefix, visit);
  }
  Status Remove(const std::string& key) override {
    ++removes;
    return inner_->Remove(key);
  }
  Status RemoveMany(const std::vector<std::string>& keys) override {
    return inner_->RemoveMany(keys);
  }

  Status put_error;
  Status list_error;
  bool flip_byte = false;
  int removes = 0;
  Storage& inner() { return *inner_; }

 private:
  std::unique_ptr<Storage> inner_ = NewMemoryStorage();
};

std::vector<StepResult> RunProbe(Storage& storage, Status* status) {
  std::vector<StepResult> steps;
  std::string key = ProbeKey();
  *status = ProbeRepository(storage, key, ProbeBody(key),
                            [&](const StepResult& r) { steps.push_back(r); });
  return steps;
}

std::vector<std::string> Names(const std::vector<StepResult>& steps) {
  std::vector<std::string> names;
  for (const StepResult& s : steps) names.push_back(s.name + (s.status.ok() ? "" : " FAILED"));
  return names;
}

TEST(Probe, KeyAndBody) {
  std::string key = ProbeKey();
  EXPECT_EQ(key.rfind("walferry-check/probe-", 0), 0u) << key;
  EXPECT_TRUE(ValidateKey(key).ok()) << key;
  std::string body = ProbeBody(key, 4096);
  EXPECT_EQ(body.size(), 4096u);
  EXPECT_NE(body.find(key), std::string::npos);
  EXPECT_NE(body, ProbeBody(key + "x", 4096));
}

TEST(Probe, AllStepsPassAndTheProbeIsGone) {
  FaultyStorage storage;
  Status s;
  std::vector<StepResult> steps = RunProbe(storage, &s);
  EXPECT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(Names(steps), (std::vector<std::string>{"write probe", "read probe", "verify probe",
                                                    "list probe", "delete probe"}));
  for (const StepResult& r : steps) EXPECT_GE(r.millis, 0);
  Result<std::vector<ObjectInfo>> left = ListAll(storage.inner(), "");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST(Probe, FailedWriteStopsWithoutDelete) {
  FaultyStorage storage;
  storage.put_error = Status::Unavailable("connect 127.0.0.1:1: connection refused");
  Status s;
  std::vector<StepResult> steps = RunProbe(storage, &s);
  EXPECT_EQ(s.code(), Status::Code::kUnavailable);
  EXPECT_NE(s.message().find("write probe: "), std::string::npos) << s.message();
  EXPECT_EQ(Names(steps), (std::vector<std::string>{"write probe FAILED"}));
  EXPECT_EQ(storage.removes, 0);
}

TEST(Probe, CorruptReadIsCaughtAndTheProbeStillDeleted) {
  FaultyStorage storage;
  storage.flip_byte = true;
  Status s;
  std::vector<StepResult> steps = RunProbe(storage, &s);
  EXPECT_EQ(s.code(), Status::Code::kCorruption);
  EXPECT_EQ(Names(steps), (std::vector<std::string>{"write probe", "read probe",
                                                    "verify probe FAILED", "delete probe"}));
  EXPECT_EQ(storage.removes, 1);
  Result<std::vector<ObjectInfo>> left = ListAll(storage.inner(), "");
  ASSERT_TRUE(left.ok());
  EXPECT_TRUE(left->empty());
}

TEST(Probe, PermissionDeniedOnListKeepsItsCode) {
  FaultyStorage storage;
  storage.list_error = Status::Permission("list 'walferry-check/': access denied");
  Status s;
  std::vector<StepResult> steps = RunProbe(storage, &s);
  EXPECT_EQ(s.code(), Status::Code::kPermission);
  EXPECT_EQ(Names(steps).back(), "delete probe");
}

}  // namespace
}  // namespace walferry::check
