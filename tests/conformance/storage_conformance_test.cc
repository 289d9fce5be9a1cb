// The storage conformance suite: every backend, one contract (include/walferry/storage.h).
//
// Backends: memory, file (a temp directory), s3-http and s3-https (the real S3
// server that scripts/test.sh starts, with certificate verification against
// its CA file). The S3 cases read WALFERRY_TEST_S3_*; when those are missing
// the S3 cases FAIL: a missing server must never turn into a green run.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <thread>

#include "common/crypto.h"
#include "common/log.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

std::string UniqueName() {
  static std::atomic<int> counter{0};
  std::mt19937_64 rng(std::random_device{}());
  return "c" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(rng() % 1000000);
}

// S3 settings from the environment scripts/test.sh sets; "" endpoint = not configured.
S3Config TestS3Config(bool tls) {
  S3Config c;
  c.endpoint = Env(tls ? "WALFERRY_TEST_S3_TLS_ENDPOINT" : "WALFERRY_TEST_S3_ENDPOINT");
  c.bucket = Env("WALFERRY_TEST_S3_BUCKET");
  c.access_key_id = Env("WALFERRY_TEST_S3_ACCESS_KEY");
  c.secret_access_key = Env("WALFERRY_TEST_S3_SECRET_KEY");
  c.ca_file = tls ? Env("WALFERRY_TEST_S3_CA_FILE") : "";
  c.uri_style = "path";
  c.region = "us-east-1";
  // Small parts so that tests exercise multipart without huge objects.
  c.multipart_threshold = 16ull << 20;
  c.part_size = 8ull << 20;
  c.retry.max_attempts = 4;
  c.retry.max_seconds = 20;
  return c;
}

// A deterministic pseudo-random body of any size, generated while read.
class PatternSource final : public ByteSource {
 public:
  PatternSource(uint64_t size, uint64_t seed, bool size_known = true)
      : size_(size), seed_(seed), size_known_(size_known) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t k = static_cast<size_t>(std::min<uint64_t>(n, size_ - pos_));
    for (size_t i = 0; i < k; ++i) buf[i] = ByteAt(pos_ + i);
    pos_ += k;
    return k;
  }
  Status Rewind() override {
    pos_ = 0;
    return Status::Ok();
  }
  std::optional<uint64_t> Size() const override {
    return size_known_ ? std::optional<uint64_t>(size_) : std::nullopt;
  }
  char ByteAt(uint64_t i) const {
    uint64_t x = (i / 8 + 1) * 0x9E3779B97F4A7C15ull ^ seed_;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9ull;
    x ^= x >> 32;
    return static_cast<char>(x >> ((i % 8) * 8));
  }
  std::string Sha256Hex() {
    (void)Rewind();  // this source's Rewind cannot fail
    crypto::Digest d = crypto::Digest::Sha256();
    std::string buf(1 << 20, '\0');
    for (;;) {
      size_t n = *Read(buf.data(), buf.size());
      if (n == 0) break;
      d.Update(buf.data(), n);
    }
    (void)Rewind();  // this source's Rewind cannot fail
    return crypto::Hex(d.Finish());
  }

 private:
  uint64_t size_, seed_, pos_ = 0;
  bool size_known_;
};

class HashSink final : public ByteSink {
 public:
  Status Write(const char* data, size_t n) override {
    digest_.Update(data, n);
    size += n;
    return Status::Ok();
  }
  std::string Hex() { return crypto::Hex(digest_.Finish()); }
  uint64_t size = 0;

 private:
  crypto::Digest digest_ = crypto::Digest::Sha256();
};

class StorageConformance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    const std::string& backend = GetParam();
    if (backend == "memory") {
      storage_ = NewMemoryStorage();
    } else if (backend == "file") {
      dir_ = std::filesystem::temp_directory_path() / ("walferry-conformance-" + UniqueName());
      auto s = OpenStorage(StorageConfig{"file://" + dir_.string(), {}});
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      storage_ = std::move(s.value());
    } else {
      S3Config c = TestS3Config(backend == "s3-https");
      ASSERT_FALSE(c.endpoint.empty())
          << "no S3 server configured for " << backend
          << " (WALFERRY_TEST_S3_ENDPOINT / WALFERRY_TEST_S3_TLS_ENDPOINT unset): run the tests "
             "through scripts/test.sh, which starts the real server. This never skips.";
      ASSERT_FALSE(c.bucket.empty()) << "WALFERRY_TEST_S3_BUCKET unset";
      if (backend == "s3-https") {
        ASSERT_FALSE(c.ca_file.empty()) << "WALFERRY_TEST_S3_CA_FILE unset";
      }
      StorageConfig sc{"s3://" + c.bucket + "/conformance/" + UniqueName(), c};
      auto s = OpenStorage(sc);
      ASSERT_TRUE(s.ok()) << s.status().ToString();
      storage_ = std::move(s.value());
    }
  }

  void TearDown() override {
    if (storage_ && IsS3()) {
      auto all = ListAll(*storage_, "");
      if (all.ok()) {
        std::vector<std::string> keys;
        for (const auto& o : *all) keys.push_back(o.key);
        EXPECT_TRUE(storage_->RemoveMany(keys).ok());
      }
    }
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  bool IsS3() const { return GetParam().rfind("s3", 0) == 0; }

  void Put(const std::string& key, const std::string& data, PutOptions o = {}) {
    auto r = PutString(*storage_, key, data, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->size, data.size());
    EXPECT_EQ(r->sha256_hex, crypto::Sha256Hex(data));
  }
  std::string Get(const std::string& key) {
    auto r = GetString(*storage_, key);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? *r : "<error>";
  }

  std::unique_ptr<Storage> storage_;
  std::filesystem::path dir_;
};

TEST_P(StorageConformance, MissingKeyIsNotFoundEverywhere) {
  StringSink sink;
  Status g = storage_->Get("no/such/key", sink);
  EXPECT_TRUE(g.IsNotFound()) << g.ToString();
  EXPECT_FALSE(g.Retryable());
  EXPECT_TRUE(sink.out.empty());
  EXPECT_TRUE(storage_->Head("no/such/key").status().IsNotFound());
  EXPECT_TRUE(storage_->Get("no/such/key", sink, ByteRange{0, 10}).IsNotFound());
  EXPECT_TRUE(storage_->Remove("no/such/key").ok()) << "Remove of a missing key is ok";
  EXPECT_TRUE(storage_->RemoveMany({"no/such/a", "no/such/b"}).ok());
}

TEST_P(StorageConformance, PutGetHeadRoundTrip) {
  const std::string data = "walferry round trip \x01\x02\xff";
  Put("wal/000000010000000000000001", data);
  EXPECT_EQ(Get("wal/000000010000000000000001"), data);
  auto h = storage_->Head("wal/000000010000000000000001");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->size, data.size());
  EXPECT_EQ(h->key, "wal/000000010000000000000001");
  EXPECT_GT(h->mtime_unix, 1700000000);
}

TEST_P(StorageConformance, OverwriteReplacesWholeObject) {
  Put("k", std::string(1000, 'a'));
  Put("k", "short");
  EXPECT_EQ(Get("k"), "short");
  EXPECT_EQ(storage_->Head("k")->size, 5u);
}

TEST_P(StorageConformance, OnlyIfAbsentNeverOverwrites) {
  PutOptions absent;
  absent.if_absent = true;
  Put("history/00000002.history", "first", absent);
  auto second = PutString(*storage_, "history/00000002.history", "second", absent);
  EXPECT_TRUE(second.status().IsAlreadyExists()) << second.status().ToString();
  EXPECT_FALSE(second.status().Retryable());
  EXPECT_EQ(Get("history/00000002.history"), "first");
}

TEST_P(StorageConformance, OnlyIfAbsentRaceHasOneWinner) {
  constexpr int kThreads = 8;
  std::atomic<int> wins{0}, exists{0}, other{0};
  std::vector<std::thread> threads;
  std::vector<std::string> bodies;
  for (int i = 0; i < kThreads; ++i) bodies.push_back("writer-" + std::to_string(i));
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      PutOptions o;
      o.if_absent = true;
      auto r = PutString(*storage_, "race/key", bodies[i], o);
      if (r.ok())
        wins++;
      else if (r.status().IsAlreadyExists())
        exists++;
      else
        other++;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wins.load(), 1);
  EXPECT_EQ(exists.load(), kThreads - 1);
  EXPECT_EQ(other.load(), 0);
  std::string stored = Get("race/key");
  EXPECT_NE(std::find(bodies.begin(), bodies.end(), stored), bodies.end()) << stored;
}

TEST_P(StorageConformance, EmptyObject) {
  Put("empty", "");
  EXPECT_EQ(Get("empty"), "");
  EXPECT_EQ(storage_->Head("empty")->size, 0u);
  StringSink sink;
  EXPECT_EQ(storage_->Get("empty", sink, ByteRange{0, 1}).code(), Status::Code::kInvalidArgument);
}

TEST_P(StorageConformance, LargeObjectMultipartChecksumRoundTrip) {
  constexpr uint64_t kSize = 100ull << 20;  // 100 MiB: 13 parts of 8 MiB on S3
  PatternSource source(kSize, 42);
  PutOptions o;
  o.sha256_hex = source.Sha256Hex();
  o.size = kSize;
  auto r = storage_->Put("big/object", source, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->size, kSize);
  EXPECT_EQ(r->sha256_hex, *o.sha256_hex);
  HashSink sink;
  Status g = storage_->Get("big/object", sink);
  ASSERT_TRUE(g.ok()) << g.ToString();
  EXPECT_EQ(sink.size, kSize);
  EXPECT_EQ(sink.Hex(), *o.sha256_hex);
  if (IsS3()) {
    // A multipart object's ETag is "md5-of-part-md5s-N".
    EXPECT_NE(storage_->Head("big/object")->etag.find("-13"), std::string::npos)
        << storage_->Head("big/object")->etag;
  }
}

TEST_P(StorageConformance, StreamOfUnknownSizeAboveOnePart) {
  constexpr uint64_t kSize = (20ull << 20) + 12345;  // > part size, size not known in advance
  PatternSource source(kSize, 7, /*size_known=*/false);
  std::string sha = source.Sha256Hex();
  auto r = storage_->Put("stream/unknown-size", source, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->sha256_hex, sha);
  HashSink sink;
  ASSERT_TRUE(storage_->Get("stream/unknown-size", sink).ok());
  EXPECT_EQ(sink.Hex(), sha);
}

TEST_P(StorageConformance, WrongExpectedChecksumStoresNothing) {
  PutOptions bad_sha;
  bad_sha.sha256_hex = std::string(64, '0');
  auto r = PutString(*storage_, "checked", "payload", bad_sha);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_TRUE(storage_->Head("checked").status().IsNotFound());

  PutOptions bad_size;
  bad_size.size = 3;
  r = PutString(*storage_, "checked", "payload", bad_size);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_TRUE(storage_->Head("checked").status().IsNotFound());

  // Also for a multipart-sized body: the check happens before anything is visible.
  PatternSource big(18ull << 20, 3);
  r = storage_->Put("checked-big", big, bad_sha);
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_TRUE(storage_->Head("checked-big").status().IsNotFound());
}

TEST_P(StorageConformance, RangeReads) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>('a' + i % 26);
  Put("ranged", data);
  auto get = [&](uint64_t off, std::optional<uint64_t> len) {
    return GetString(*storage_, "ranged", ByteRange{off, len});
  };
  EXPECT_EQ(*get(0, 10), data.substr(0, 10));
  EXPECT_EQ(*get(990, std::nullopt), data.substr(990));
  EXPECT_EQ(*get(500, 1000), data.substr(500)) << "a range past the end is cut at the end";
  EXPECT_EQ(*get(999, 1), data.substr(999, 1));
  EXPECT_EQ(get(1000, std::nullopt).status().code(), Status::Code::kInvalidArgument);
  EXPECT_EQ(get(5000, 10).status().code(), Status::Code::kInvalidArgument);
}

TEST_P(StorageConformance, ListingPaginatesInOrderWithPrefix) {
  constexpr int kMany = 1100;  // more than one S3 page of 1000
  std::vector<std::string> keys;
  for (int i = 0; i < kMany; ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "list/a/%05d", i);
    keys.push_back(name);
  }
  for (int i = 0; i < 10; ++i) keys.push_back("list/b/" + std::to_string(i));
  keys.push_back("lisx");
  keys.push_back("lis-t");
  std::atomic<size_t> next{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&] {
      for (size_t i; (i = next++) < keys.size();) {
        if (!PutString(*storage_, keys[i], keys[i]).ok()) failures++;
      }
    });
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(failures.load(), 0);

  auto a = ListAll(*storage_, "list/a/");
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  ASSERT_EQ(a->size(), static_cast<size_t>(kMany));
  for (int i = 0; i < kMany; ++i) {
    EXPECT_EQ((*a)[i].key, keys[i]);
    EXPECT_EQ((*a)[i].size, keys[i].size());
  }
  EXPECT_EQ(ListAll(*storage_, "list/")->size(), static_cast<size_t>(kMany + 10));
  EXPECT_EQ(ListAll(*storage_, "lis")->size(), static_cast<size_t>(kMany + 12));
  EXPECT_EQ(ListAll(*storage_, "list/a/0050")->size(), 10u);
  EXPECT_TRUE(ListAll(*storage_, "nothing/")->empty());
  auto all = ListAll(*storage_, "");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(
      std::is_sorted(all->begin(), all->end(),
                     [](const ObjectInfo& x, const ObjectInfo& y) { return x.key < y.key; }));

  // The visitor can stop a listing.
  int seen = 0;
  Status stop = storage_->List("list/", [&](const ObjectInfo&) {
    return ++seen == 3 ? Status::Corruption("enough") : Status::Ok();
  });
  EXPECT_EQ(stop.code(), Status::Code::kCorruption);
  EXPECT_EQ(seen, 3);

  // Batch removal across more than one DeleteObjects batch, missing keys included.
  std::vector<std::string> doomed(keys.begin(), keys.begin() + kMany);
  doomed.push_back("list/a/missing");
  Status rm = storage_->RemoveMany(doomed);
  ASSERT_TRUE(rm.ok()) << rm.ToString();
  EXPECT_TRUE(ListAll(*storage_, "list/a/")->empty());
  EXPECT_EQ(ListAll(*storage_, "list/")->size(), 10u);
}

TEST_P(StorageConformance, ConcurrentPutsAndGets) {
  constexpr int kThreads = 8, kPerThread = 12;
  std::atomic<int> bad{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string key = "concurrent/" + std::to_string(t) + "/" + std::to_string(i);
        std::string body(64 * 1024 + t * 1000 + i, static_cast<char>('A' + t));
        if (!PutString(*storage_, key, body).ok()) {
          bad++;
          continue;
        }
        auto back = GetString(*storage_, key);
        if (!back.ok() || *back != body) bad++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(ListAll(*storage_, "concurrent/")->size(), static_cast<size_t>(kThreads * kPerThread));
}

TEST_P(StorageConformance, UnusualCharactersInKeys) {
  const std::vector<std::string> keys = {"odd/sp ace",
                                         "odd/plus+sign",
                                         "odd/percent%20not-a-space",
                                         "odd/caf\xc3\xa9-\xe6\x97\xa5\xe6\x9c\xac",
                                         "odd/equals=and&amp",
                                         "odd/tilde~star*",
                                         "odd/quote'dq\"",
                                         "odd/colon:semi;",
                                         "odd/brackets[]{}()",
                                         "odd/hash#question?",
                                         "odd/comma,at@dollar$",
                                         "odd/<xml>&amp;"};
  for (const auto& k : keys) Put(k, "v:" + k);
  for (const auto& k : keys) EXPECT_EQ(Get(k), "v:" + k) << k;
  auto listed = ListAll(*storage_, "odd/");
  ASSERT_TRUE(listed.ok()) << listed.status().ToString();
  std::vector<std::string> names;
  for (const auto& o : *listed) names.push_back(o.key);
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  EXPECT_EQ(names, want);
  ASSERT_TRUE(storage_->RemoveMany(keys).ok());
  EXPECT_TRUE(ListAll(*storage_, "odd/")->empty());
}

TEST_P(StorageConformance, InvalidKeysAreRefused) {
  for (std::string k :
       {"", "/abs", "trailing/", "a//b", "../up", "a/./b", "a/../b", "ctl\x01", ".wf-tmp.x"}) {
    auto r = PutString(*storage_, k, "x");
    EXPECT_EQ(r.status().code(), Status::Code::kInvalidArgument) << "key '" << k << "'";
    StringSink sink;
    EXPECT_EQ(storage_->Get(k, sink).code(), Status::Code::kInvalidArgument) << "key '" << k << "'";
  }
}

TEST_P(StorageConformance, RemoveDeletes) {
  Put("gone/soon", "x");
  ASSERT_TRUE(storage_->Remove("gone/soon").ok());
  EXPECT_TRUE(storage_->Head("gone/soon").status().IsNotFound());
  EXPECT_TRUE(ListAll(*storage_, "gone/")->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, StorageConformance,
                         ::testing::Values("memory", "file", "s3-http", "s3-https"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

// ---- S3 failure behaviour against the real server ------------------------

class S3Failures : public ::testing::TestWithParam<bool> {  // param: TLS
 protected:
  void SetUp() override {
    cfg_ = TestS3Config(GetParam());
    ASSERT_FALSE(cfg_.endpoint.empty())
        << "no S3 server configured: run through scripts/test.sh (never skipped)";
    log::SetLevel(log::Level::kTrace);
    log::SetSinkForTest([this](const std::string& line) {
      std::lock_guard<std::mutex> lock(mu_);
      lines_.push_back(line);
    });
  }
  void TearDown() override {
    log::SetSinkForTest(nullptr);
    log::SetLevel(log::Level::kInfo);
  }
  std::unique_ptr<Storage> Open(const S3Config& c) {
    auto s = OpenStorage(StorageConfig{"s3://" + c.bucket + "/failures/" + UniqueName(), c});
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return s.ok() ? std::move(s.value()) : nullptr;
  }
  std::string AllLogs() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string all;
    for (const auto& l : lines_) all += l + "\n";
    return all;
  }
  int RetryLines() {
    std::lock_guard<std::mutex> lock(mu_);
    int n = 0;
    for (const auto& l : lines_) n += l.find("retrying in") != std::string::npos;
    return n;
  }
  S3Config cfg_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

TEST_P(S3Failures, WrongSecretIsAnAuthErrorNotRetriedAndNeverLogged) {
  S3Config c = cfg_;
  const std::string secret = "wrong-secret-Zq7-do-not-print-me";
  c.secret_access_key = secret;
  c.session_token = "session-token-Xy9-do-not-print-me";
  auto s = Open(c);
  ASSERT_TRUE(s);
  auto t0 = std::chrono::steady_clock::now();
  auto r = PutString(*s, "probe", "data");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Status::Code::kAuth) << r.status().ToString();
  EXPECT_FALSE(r.status().Retryable());
  EXPECT_EQ(RetryLines(), 0) << AllLogs();
  EXPECT_LT(secs, 2.0);
  StringSink sink;
  Status g = s->Get("probe", sink);
  EXPECT_EQ(ListAll(*s, "").status().code(), Status::Code::kAuth);
  for (const std::string& text :
       {r.status().ToString() + r.status().hint(), g.ToString() + g.hint(), AllLogs()}) {
    EXPECT_EQ(text.find(secret), std::string::npos) << text;
    EXPECT_EQ(text.find(c.session_token), std::string::npos) << text;
  }
}

TEST_P(S3Failures, SecretsNeverLoggedAtTraceLevelOnSuccess) {
  auto s = Open(cfg_);
  ASSERT_TRUE(s);
  ASSERT_TRUE(PutString(*s, "k", "v").ok());
  ASSERT_TRUE(GetString(*s, "k").ok());
  ASSERT_TRUE(ListAll(*s, "").ok());
  ASSERT_TRUE(s->Remove("k").ok());
  std::string logs = AllLogs();
  EXPECT_FALSE(logs.empty()) << "trace logging should have produced lines";
  EXPECT_EQ(logs.find(cfg_.secret_access_key), std::string::npos) << logs;
  EXPECT_EQ(logs.find("Signature="), std::string::npos) << logs;
}

// A server that is down: nothing listens on the port. Retryable, within the bound.
TEST_P(S3Failures, StoppedServerIsRetryableWithinTimeBound) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);  // the port is now closed: connection refused
  S3Config c = cfg_;
  c.endpoint = std::string(GetParam() ? "https" : "http") +
               "://127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
  c.retry.max_attempts = 4;
  c.retry.max_seconds = 3;
  c.retry.base_delay_seconds = 0.05;
  auto s = Open(c);
  ASSERT_TRUE(s);
  auto t0 = std::chrono::steady_clock::now();
  auto r = PutString(*s, "probe", "data");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.status().code(), Status::Code::kUnavailable) << r.status().ToString();
  EXPECT_TRUE(r.status().Retryable());
  EXPECT_EQ(RetryLines(), 3) << AllLogs();
  EXPECT_LT(secs, 5.0);
  StringSink sink;
  Status g = s->Get("probe", sink);
  EXPECT_TRUE(g.Retryable()) << g.ToString();
  EXPECT_FALSE(g.IsNotFound()) << "an unreachable server must never look like a missing file";
}

TEST_P(S3Failures, UntrustedCertificateIsRefused) {
  if (!GetParam()) GTEST_SUCCEED() << "plain HTTP has no certificate";
  if (!GetParam()) return;
  S3Config c = cfg_;
  c.ca_file = "";  // the system store does not trust the test server's self-signed cert
  auto s = Open(c);
  ASSERT_TRUE(s);
  auto r = PutString(*s, "probe", "data");
  EXPECT_EQ(r.status().code(), Status::Code::kAuth) << r.status().ToString();
  EXPECT_NE(r.status().message().find("certificate"), std::string::npos) << r.status().ToString();
}

TEST_P(S3Failures, MissingBucketIsNotNotFound) {
  S3Config c = cfg_;
  c.bucket = "walferry-no-such-bucket";
  auto s = OpenStorage(StorageConfig{"s3://walferry-no-such-bucket/x", c});
  ASSERT_TRUE(s.ok());
  StringSink sink;
  Status g = (*s)->Get("wal/000000010000000000000001", sink);
  EXPECT_FALSE(g.IsNotFound()) << "restore_command would end recovery: " << g.ToString();
  EXPECT_EQ(g.code(), Status::Code::kInvalidArgument) << g.ToString();
}

INSTANTIATE_TEST_SUITE_P(S3, S3Failures, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "https" : "http"; });

}  // namespace
}  // namespace walferry

namespace walferry {
namespace {

// The real gateway process stopped and started again (scripts/s3-server),
// not only a closed port: retryable errors within the bound while it is
// down, and the same Storage object works again once it is back.
TEST(S3Outage, RealGatewayStoppedThenRestarted) {
  const std::string dir = Env("WALFERRY_TEST_S3_DIR"), scripts = Env("WALFERRY_TEST_S3_SCRIPTS"),
                    port = Env("WALFERRY_TEST_S3_PORT");
  ASSERT_FALSE(dir.empty() || scripts.empty() || port.empty())
      << "WALFERRY_TEST_S3_DIR/SCRIPTS/PORT unset: run through scripts/test.sh (never skipped)";
  S3Config c = TestS3Config(/*tls=*/true);
  c.retry.max_attempts = 3;
  c.retry.max_seconds = 4;
  auto opened = OpenStorage(StorageConfig{"s3://" + c.bucket + "/outage/" + UniqueName(), c});
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  Storage& s = **opened;
  ASSERT_TRUE(PutString(s, "before", "up").ok());

  ASSERT_EQ(std::system((scripts + "/stop.sh " + dir + " 3-rgw").c_str()), 0);
  auto t0 = std::chrono::steady_clock::now();
  auto down = PutString(s, "during", "down");
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  StringSink sink;
  Status get = s.Get("before", sink);
  // Start it again before asserting, so a failure here leaves the server up for the rest.
  int restarted = std::system((scripts + "/start.sh " + dir + " " + port + " >/dev/null").c_str());
  ASSERT_EQ(restarted, 0) << "could not restart radosgw";

  EXPECT_EQ(down.status().code(), Status::Code::kUnavailable) << down.status().ToString();
  EXPECT_TRUE(down.status().Retryable());
  EXPECT_FALSE(down.status().hint().empty());
  EXPECT_LT(secs, 6.0);
  EXPECT_TRUE(get.Retryable()) << get.ToString();
  EXPECT_FALSE(get.IsNotFound());

  auto after = PutString(s, "after", "up again");
  ASSERT_TRUE(after.ok()) << after.status().ToString();
  EXPECT_EQ(*GetString(s, "before"), "up");
  EXPECT_TRUE(s.Head("during").status().IsNotFound()) << "nothing half-written during the outage";
  ASSERT_TRUE(s.RemoveMany({"before", "after"}).ok());
}

}  // namespace
}  // namespace walferry
