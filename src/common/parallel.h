// parallel.h — run N independent tasks on a few threads.
#pragma once

#include <atomic>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "walferry/status.h"

namespace walferry {

// Calls fn(0..count-1) on up to `parallel` threads (at least 1). After the
// first task that fails no new task starts; that first failure is returned.
inline Status ParallelFor(size_t count, int parallel, const std::function<Status(size_t)>& fn) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status first;
  auto worker = [&] {
    for (;;) {
      if (failed.load()) return;
      size_t i = next.fetch_add(1);
      if (i >= count) return;
      Status s = fn(i);
      if (!s.ok()) {
        std::lock_guard<std::mutex> lock(mu);
        if (first.ok()) first = s;
        failed = true;
      }
    }
  };
  size_t threads = std::min<size_t>(count, parallel < 1 ? 1 : static_cast<size_t>(parallel));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(worker);
  if (threads > 0) worker();
  for (auto& t : pool) t.join();
  return first;
}

}  // namespace walferry
