// storage_bench.cc — throughput of walferry's Storage backends (Google Benchmark).
//
// Cases, each with 1 and 4 threads (one shared Storage object, as walferry uses it), in
// wall-clock time, reporting bytes/s and objects/s over all threads together:
//   s3_put/SIZE, s3_get/SIZE      the s3:// backend against a real S3 server (SIZE 16MiB, 1.5MiB)
//   file_put/SIZE, file_get/SIZE  the file:// backend on a temporary directory, for reference
//   cpu_*                         the per-byte CPU work of an s3 Put (SHA-256, MD5, copy), 16 MiB
// Every thread moves its own keys: a Put case writes a new object per iteration (like WAL
// archiving), a Get case reads the objects its Put case wrote (putting any that are missing
// first, untimed). Object data is random (incompressible), made at start-up.
//
// The S3 server comes from the environment; the program exits 2 if any is unset:
//   WALFERRY_TEST_S3_ENDPOINT    http://127.0.0.1:PORT   (path-style, region us-east-1)
//   WALFERRY_TEST_S3_BUCKET, WALFERRY_TEST_S3_ACCESS_KEY, WALFERRY_TEST_S3_SECRET_KEY
//   WALFERRY_TEST_S3_CA_FILE     optional, for an https endpoint
//   WALFERRY_BENCH_PREFIX        optional key prefix of this run (default
//                                walferry-bench/<time>-<pid>); walferry's objects go under
//                                PREFIX/walferry/, bench/run-storage.sh puts curl's beside them
//   WALFERRY_BENCH_FILE_DIR      optional parent of the file:// temp directory (default $TMPDIR)
// Own flags (before the Google Benchmark ones):
//   --objects-large=N  objects per thread in the 16 MiB cases (default 10)
//   --objects-small=N  objects per thread in the 1.5 MiB cases (default 40)
//   --keep             leave the S3 objects in place (default: delete PREFIX/walferry/ at the end)
//   --cleanup          only delete everything under PREFIX/ on S3, then exit
// Exit status: 0 when every case ran without error, 1 when any failed, 2 for bad usage.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <exception>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "common/crypto.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

constexpr size_t kLarge = 16u << 20;       // a WAL segment
constexpr size_t kSmall = (3u << 20) / 2;  // a compressed one, roughly

std::atomic<bool> g_failed{false};
std::unique_ptr<Storage> g_s3;
std::unique_ptr<Storage> g_file;
std::string g_large, g_small;  // random object bodies

const std::string& Body(size_t size) { return size == kLarge ? g_large : g_small; }
std::string Label(size_t size) { return size == kLarge ? "16MiB" : "1.5MiB"; }

void Fail(benchmark::State& state, const std::string& what) {
  if (!g_failed.exchange(true)) std::fprintf(stderr, "storage_bench: %s\n", what.c_str());
  state.SkipWithError(what.c_str());
}

// The key of object i of a thread: new per case (thread count), thread and iteration.
std::string Key(size_t size, benchmark::State& state, int64_t i) {
  char n[32];
  std::snprintf(n, sizeof n, "%05" PRId64, i);
  return "put/" + Label(size) + "/x" + std::to_string(state.threads()) + "/t" +
         std::to_string(state.thread_index()) + "/" + n;
}

// Counts and drops what a Get delivers (curl's counterpart writes to /dev/null).
class CountingSink final : public ByteSink {
 public:
  Status Write(const char*, size_t n) override {
    bytes += n;
    return Status::Ok();
  }
  uint64_t bytes = 0;
};

void BenchPut(benchmark::State& state, Storage* storage, size_t size) {
  const std::string& data = Body(size);
  int64_t i = 0;
  for (auto _ : state) {
    MemorySource body(data);
    auto r = storage->Put(Key(size, state, i++), body, PutOptions{});
    if (!r.ok()) return Fail(state, r.status().ToString());
    if (r->size != size) return Fail(state, "put stored " + std::to_string(r->size) + " bytes");
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  state.SetItemsProcessed(state.iterations());
}

void BenchGet(benchmark::State& state, Storage* storage, size_t size) {
  // Untimed: make sure this thread's objects exist (the Put case normally wrote them).
  const int64_t n = std::max<int64_t>(1, static_cast<int64_t>(state.max_iterations));
  for (int64_t i = 0; i < n; ++i) {
    auto h = storage->Head(Key(size, state, i));
    if (h.ok() && h->size == size) continue;
    MemorySource body(Body(size));
    auto r = storage->Put(Key(size, state, i), body, PutOptions{});
    if (!r.ok()) return Fail(state, "setup: " + r.status().ToString());
  }
  int64_t i = 0;
  for (auto _ : state) {
    CountingSink sink;
    Status s = storage->Get(Key(size, state, i++ % n), sink);
    if (!s.ok()) return Fail(state, s.ToString());
    if (sink.bytes != size)
      return Fail(state, "get returned " + std::to_string(sink.bytes) + " bytes");
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(size));
  state.SetItemsProcessed(state.iterations());
}

// The CPU side of an s3 Put, piece by piece, over one 16 MiB body.
void BenchSha256(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Sha256(g_large));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kLarge));
}
void BenchMd5(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(crypto::Md5(g_large));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kLarge));
}
void BenchCopy(benchmark::State& state) {
  std::string buf;
  for (auto _ : state) {
    buf.assign(g_large);  // Put copies the body from its ByteSource into a buffer
    benchmark::DoNotOptimize(buf.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(kLarge));
}

std::string RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::string s(n, '\0');
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = rng();
    std::memcpy(s.data() + i, &v, std::min<size_t>(8, n - i));
  }
  return s;
}

const char* Env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && v[0] != '\0' ? v : nullptr;
}

Result<std::unique_ptr<Storage>> OpenS3(const std::string& prefix) {
  S3Config c;
  c.endpoint = Env("WALFERRY_TEST_S3_ENDPOINT");
  c.bucket = Env("WALFERRY_TEST_S3_BUCKET");
  c.access_key_id = Env("WALFERRY_TEST_S3_ACCESS_KEY");
  c.secret_access_key = Env("WALFERRY_TEST_S3_SECRET_KEY");
  if (const char* ca = Env("WALFERRY_TEST_S3_CA_FILE")) c.ca_file = ca;
  c.uri_style = "path";
  c.region = "us-east-1";
  c.prefix = prefix;
  return OpenS3Storage(c);
}

// Deletes every object under the storage's prefix; returns how many.
Result<size_t> DeleteAll(Storage& storage) {
  auto all = ListAll(storage, "");
  if (!all.ok()) return all.status();
  std::vector<std::string> keys;
  for (const auto& o : *all) keys.push_back(o.key);
  WF_RETURN_IF_ERROR(storage.RemoveMany(keys));
  return keys.size();
}

bool ParseCount(const char* arg, const char* flag, int64_t* out) {
  size_t len = std::strlen(flag);
  if (std::strncmp(arg, flag, len) != 0 || arg[len] != '=') return false;
  char* end = nullptr;
  long long v = std::strtoll(arg + len + 1, &end, 10);
  if (end == arg + len + 1 || *end != '\0' || v < 1 || v > 100000) {
    std::fprintf(stderr, "storage_bench: %s wants a count in 1..100000, not '%s'\n", flag,
                 arg + len + 1);
    std::exit(2);
  }
  *out = v;
  return true;
}

int Main(int argc, char** argv) {
  int64_t n_large = 10, n_small = 40;
  bool keep = false, cleanup_only = false;
  std::vector<char*> rest{argv[0]};
  for (int i = 1; i < argc; ++i) {
    if (ParseCount(argv[i], "--objects-large", &n_large) ||
        ParseCount(argv[i], "--objects-small", &n_small))
      continue;
    if (std::strcmp(argv[i], "--keep") == 0) {
      keep = true;
      continue;
    }
    if (std::strcmp(argv[i], "--cleanup") == 0) {
      cleanup_only = true;
      continue;
    }
    rest.push_back(argv[i]);
  }
  int bargc = static_cast<int>(rest.size());
  benchmark::Initialize(&bargc, rest.data());  // handles --help
  if (benchmark::ReportUnrecognizedArguments(bargc, rest.data())) return 2;

  std::vector<std::string> missing;
  for (const char* v : {"WALFERRY_TEST_S3_ENDPOINT", "WALFERRY_TEST_S3_BUCKET",
                        "WALFERRY_TEST_S3_ACCESS_KEY", "WALFERRY_TEST_S3_SECRET_KEY"}) {
    if (Env(v) == nullptr) missing.push_back(v);
  }
  if (!missing.empty()) {
    std::string m;
    for (const auto& v : missing) m += " " + v;
    std::fprintf(stderr,
                 "storage_bench: the S3 server is not set:%s unset or empty.\n"
                 "  bench/run-storage.sh starts the project's test server and sets them; see "
                 "bench/README.md\n",
                 m.c_str());
    return 2;
  }
  std::string prefix =
      Env("WALFERRY_BENCH_PREFIX")
          ? Env("WALFERRY_BENCH_PREFIX")
          : "walferry-bench/" + std::to_string(std::time(nullptr)) + "-" + std::to_string(getpid());
  if (!ValidateKey(prefix).ok()) {
    std::fprintf(stderr, "storage_bench: WALFERRY_BENCH_PREFIX '%s' is not a valid key prefix\n",
                 prefix.c_str());
    return 2;
  }

  if (cleanup_only) {
    auto all = OpenS3(prefix);
    if (!all.ok()) {
      std::fprintf(stderr, "storage_bench: %s\n", all.status().ToString().c_str());
      return 2;
    }
    auto n = DeleteAll(**all);
    if (!n.ok()) {
      std::fprintf(stderr, "storage_bench: cleanup: %s\n", n.status().ToString().c_str());
      return 1;
    }
    std::fprintf(stderr, "storage_bench: deleted %zu objects under %s/\n", *n, prefix.c_str());
    return 0;
  }

  auto s3 = OpenS3(prefix + "/walferry");
  if (!s3.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", s3.status().ToString().c_str());
    return 2;
  }
  g_s3 = std::move(*s3);
  // Fail early and loudly when the server is not there or refuses us.
  if (auto p = PutString(*g_s3, "probe", "probe"); !p.ok()) {
    std::fprintf(stderr, "storage_bench: the S3 server at %s does not work: %s\n",
                 Env("WALFERRY_TEST_S3_ENDPOINT"), p.status().ToString().c_str());
    return 1;
  }
  (void)g_s3->Remove("probe");

  std::filesystem::path parent = Env("WALFERRY_BENCH_FILE_DIR")
                                     ? Env("WALFERRY_BENCH_FILE_DIR")
                                     : std::filesystem::temp_directory_path();
  std::string tmpl = (parent / "walferry-bench.XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) {
    std::fprintf(stderr, "storage_bench: mkdtemp %s: %s\n", tmpl.c_str(), std::strerror(errno));
    return 1;
  }
  const std::string file_dir = tmpl;
  auto file = OpenPosixStorage(file_dir);
  if (!file.ok()) {
    std::fprintf(stderr, "storage_bench: %s\n", file.status().ToString().c_str());
    return 1;
  }
  g_file = std::move(*file);

  g_large = RandomBytes(kLarge, 1);
  g_small = RandomBytes(kSmall, 2);

  for (const char* backend : {"s3", "file"}) {
    Storage* st = std::string(backend) == "s3" ? g_s3.get() : g_file.get();
    for (size_t size : {kLarge, kSmall}) {
      const int64_t n = size == kLarge ? n_large : n_small;
      const std::string tail = "/" + Label(size);
      for (auto [op, fn] : {std::pair{"_put", &BenchPut}, std::pair{"_get", &BenchGet}}) {
        benchmark::RegisterBenchmark((std::string(backend) + op + tail).c_str(), fn, st, size)
            ->Iterations(n)
            ->Threads(1)
            ->Threads(4)
            ->UseRealTime()
            ->Unit(benchmark::kMillisecond);
      }
    }
  }
  benchmark::RegisterBenchmark("cpu_sha256/16MiB", BenchSha256)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("cpu_md5/16MiB", BenchMd5)->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("cpu_copy/16MiB", BenchCopy)->Unit(benchmark::kMillisecond);

  size_t ran = benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();

  std::error_code ec;
  std::filesystem::remove_all(file_dir, ec);
  if (!keep) {
    auto n = DeleteAll(*g_s3);
    if (!n.ok()) {
      std::fprintf(stderr, "storage_bench: cleanup: %s\n", n.status().ToString().c_str());
      g_failed = true;
    }
  }
  if (ran == 0) {
    std::fprintf(stderr, "storage_bench: no benchmark matched the filter\n");
    return 2;
  }
  return g_failed ? 1 : 0;
}

}  // namespace
}  // namespace walferry

int main(int argc, char** argv) {
  try {
    return walferry::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "storage_bench: %s\n", e.what());
    return 1;
  }
}
