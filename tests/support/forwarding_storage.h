// forwarding_storage.h — a Storage for tests that passes every call through to
// another Storage and lets the test count calls, fail the Nth call of an
// operation (or every call from the Nth on) with a chosen Status, or run a hook
// before a call (to hold it back on a latch, cut power on a FaultFs in the middle
// of a protocol, or fail by key). Thread-safe: calls may come from many threads;
// the call number is taken atomically, and the hook runs outside the lock.
#pragma once

#include <climits>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "walferry/storage.h"

namespace walferry::testing {

class ForwardingStorage final : public Storage {
 public:
  enum class Op { kPut, kGet, kHead, kList, kRemove, kRemoveMany };
  // Runs before call number `n` (1-based, per operation) of `key`; a non-ok
  // Status is returned instead of making the call.
  using Hook = std::function<Status(int n, const std::string& key)>;

  explicit ForwardingStorage(Storage& next) : next_(next) {}

  // Call `n` of `op` fails with `s` (the call is not forwarded).
  void FailNth(Op op, int n, Status s) { Fail(op, n, n, std::move(s)); }
  // Every call of `op` from the `n`th on fails with `s`.
  void FailFrom(Op op, int n, Status s) { Fail(op, n, INT_MAX, std::move(s)); }
  void OnCall(Op op, Hook hook) {
    std::lock_guard<std::mutex> l(mu_);
    hooks_[op] = std::move(hook);
  }
  // Calls of `op` so far (failed ones included).
  int calls(Op op) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = calls_.find(op);
    return it == calls_.end() ? 0 : it->second;
  }
  // The keys of every call of `op`, in call order (RemoveMany: each key).
  std::vector<std::string> keys(Op op) const {
    std::lock_guard<std::mutex> l(mu_);
    auto it = keys_.find(op);
    return it == keys_.end() ? std::vector<std::string>{} : it->second;
  }

  std::string Describe() const override { return next_.Describe(); }
  Result<PutResult> Put(const std::string& key, ByteSource& body,
                        const PutOptions& options) override {
    if (Status s = Before(Op::kPut, key); !s.ok()) return s;
    return next_.Put(key, body, options);
  }
  Status Get(const std::string& key, ByteSink& sink,
             std::optional<ByteRange> range = std::nullopt) override {
    if (Status s = Before(Op::kGet, key); !s.ok()) return s;
    return next_.Get(key, sink, range);
  }
  Result<ObjectInfo> Head(const std::string& key) override {
    if (Status s = Before(Op::kHead, key); !s.ok()) return s;
    return next_.Head(key);
  }
  Status List(const std::string& prefix,
              const std::function<Status(const ObjectInfo&)>& visit) override {
    if (Status s = Before(Op::kList, prefix); !s.ok()) return s;
    return next_.List(prefix, visit);
  }
  Status Remove(const std::string& key) override {
    if (Status s = Before(Op::kRemove, key); !s.ok()) return s;
    return next_.Remove(key);
  }
  Status RemoveMany(const std::vector<std::string>& keys) override {
    std::string joined;
    for (const auto& k : keys) joined += (joined.empty() ? "" : "\n") + k;
    if (Status s = Before(Op::kRemoveMany, joined); !s.ok()) return s;
    return next_.RemoveMany(keys);
  }

 private:
  struct Rule {
    int from = 0, to = 0;
    Status status;
  };
  void Fail(Op op, int from, int to, Status s) {
    std::lock_guard<std::mutex> l(mu_);
    rules_[op].push_back({from, to, std::move(s)});
  }
  Status Before(Op op, const std::string& key) {
    int n;
    Hook hook;
    Status fail;
    {
      std::lock_guard<std::mutex> l(mu_);
      n = ++calls_[op];
      keys_[op].push_back(key);
      for (const Rule& r : rules_[op]) {
        if (n >= r.from && n <= r.to) {
          fail = r.status;
          break;
        }
      }
      auto h = hooks_.find(op);
      if (h != hooks_.end()) hook = h->second;
    }
    if (hook) {
      Status s = hook(n, key);
      if (!s.ok()) return s;
    }
    return fail;
  }

  Storage& next_;
  mutable std::mutex mu_;
  std::map<Op, int> calls_;
  std::map<Op, std::vector<std::string>> keys_;
  std::map<Op, std::vector<Rule>> rules_;
  std::map<Op, Hook> hooks_;
};

}  // namespace walferry::testing
