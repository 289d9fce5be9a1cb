// The encryption primitives: published test vectors for AES-256-GCM (the GCM
// specification's test cases, as in NIST's validation suite) and HKDF-SHA256
// (RFC 5869), then the chunked stream's round trips and every kind of damage
// it must detect.
#include "common/aead.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "common/crypto.h"

namespace walferry::crypto {
namespace {

std::string Unhex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16)));
  }
  return out;
}

class Collect final : public ByteSink {
 public:
  Status Write(const char* data, size_t n) override {
    bytes.append(data, n);
    ++writes;
    return Status::Ok();
  }
  std::string bytes;
  int writes = 0;
};

// GCM specification (McGrew & Viega), test cases 13, 14 and 16: AES-256.
TEST(AesGcm, PublishedVectors) {
  std::string zero_key(32, '\0'), zero_iv(12, '\0');
  auto t13 = Seal(zero_key, zero_iv, "", "");
  ASSERT_TRUE(t13.ok()) << t13.status().ToString();
  EXPECT_EQ(Hex(*t13), "530f8afbc74536b9a963b4f1c4cb738b");

  auto t14 = Seal(zero_key, zero_iv, "", std::string(16, '\0'));
  ASSERT_TRUE(t14.ok());
  EXPECT_EQ(Hex(*t14), "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919");

  std::string key = Unhex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
  std::string iv = Unhex("cafebabefacedbaddecaf888");
  std::string aad = Unhex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
  std::string plain = Unhex(
      "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6"
      "b525b16aedf5aa0de657ba637b39");
  auto t16 = Seal(key, iv, aad, plain);
  ASSERT_TRUE(t16.ok());
  EXPECT_EQ(Hex(*t16),
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b"
            "1056828838c5f61e6393ba7a0abcc9f662"
            "76fc6ece0f4e1768cddf8853bb2d551b");
  auto back = Open(key, iv, aad, *t16);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, plain);
}

TEST(AesGcm, AnyChangeFailsAuthentication) {
  std::string key(32, 'k'), iv(12, 'n');
  auto sealed = Seal(key, iv, "aad", "attack at dawn");
  ASSERT_TRUE(sealed.ok());
  for (size_t i = 0; i < sealed->size(); ++i) {
    std::string bad = *sealed;
    bad[i] ^= 0x01;
    EXPECT_EQ(Open(key, iv, "aad", bad).status().code(), Status::Code::kCorruption) << i;
  }
  EXPECT_EQ(Open(key, iv, "aaD", *sealed).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(Open(std::string(32, 'K'), iv, "aad", *sealed).status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(Open(key, std::string(12, 'N'), "aad", *sealed).status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(Open(key, iv, "aad", sealed->substr(0, 10)).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(Seal(std::string(16, 'k'), iv, "", "x").status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(Seal(key, std::string(8, 'n'), "", "x").status().code(),
            Status::Code::kInvalidArgument);
}

// RFC 5869, appendix A.1 (basic test case with SHA-256).
TEST(Hkdf, Rfc5869Vector) {
  auto okm = HkdfSha256(std::string(22, '\x0b'), Unhex("000102030405060708090a0b0c"),
                        Unhex("f0f1f2f3f4f5f6f7f8f9"), 42);
  ASSERT_TRUE(okm.ok()) << okm.status().ToString();
  EXPECT_EQ(Hex(*okm),
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

TEST(KeyWrap, RoundTripAndBinding) {
  std::string kek(32, 'K'), master(32, 'm');
  auto wrapped = WrapKey(kek, "repo-1/gen-1", master);
  ASSERT_TRUE(wrapped.ok());
  EXPECT_EQ(wrapped->size(), kGcmNonceSize + 32 + kGcmTagSize);
  auto again = WrapKey(kek, "repo-1/gen-1", master);
  ASSERT_TRUE(again.ok());
  EXPECT_NE(*wrapped, *again);  // a fresh nonce each time
  auto back = UnwrapKey(kek, "repo-1/gen-1", *wrapped);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, master);
  EXPECT_EQ(UnwrapKey(std::string(32, 'X'), "repo-1/gen-1", *wrapped).status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(UnwrapKey(kek, "repo-2/gen-1", *wrapped).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(UnwrapKey(kek, "repo-1/gen-1", "short").status().code(), Status::Code::kCorruption);
}

struct Sealed {
  std::string bytes;
  int writes = 0;
};
constexpr size_t kChunk = 64;  // small chunks: many boundaries in few bytes
const std::string kKey(32, 'd');
const std::string kPrefix("pfx1");

Sealed SealAll(const std::string& plain, const std::string& aad = "obj-a",
               const std::string& key = kKey, const std::string& prefix = kPrefix,
               size_t piece = 7) {
  Collect out;
  auto sink = ChunkedSealSink::New(key, prefix, aad, out, kChunk);
  EXPECT_TRUE(sink.ok());
  for (size_t i = 0; i < plain.size(); i += piece) {
    EXPECT_TRUE((*sink)->Write(plain.data() + i, std::min(piece, plain.size() - i)).ok());
  }
  EXPECT_TRUE((*sink)->Finish().ok());
  return {out.bytes, out.writes};
}

// Opens `sealed` in pieces of `piece` bytes; the plaintext passed on so far
// and the first error (Ok when the stream opened whole).
std::pair<std::string, Status> OpenAll(const std::string& sealed, const std::string& aad = "obj-a",
                                       size_t piece = 5) {
  Collect out;
  auto sink = ChunkedOpenSink::New(kKey, kPrefix, aad, out, kChunk);
  EXPECT_TRUE(sink.ok());
  for (size_t i = 0; i < sealed.size(); i += piece) {
    Status s = (*sink)->Write(sealed.data() + i, std::min(piece, sealed.size() - i));
    if (!s.ok()) return {out.bytes, s};
  }
  Status s = (*sink)->Finish();
  return {out.bytes, s};
}

std::string Text(size_t n) {
  std::string s;
  for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>('a' + (i * 7 + i / 13) % 26));
  return s;
}

// walferry's own format vector, computed with an independent implementation
// (Python's cryptography AESGCM, nonce = prefix || be64(index | final << 63)):
// the stream format must never drift, or stored objects would no longer open.
TEST(ChunkedStream, FormatVector) {
  std::string key;
  for (int i = 0; i < 32; ++i) key.push_back(static_cast<char>(i));
  const std::string prefix("wf\x00\x01", 4), aad = "walferry format vector 1";
  const std::string plain = "The quick brown fox jumps over the lazy dog.";
  Collect out;
  auto seal = ChunkedSealSink::New(key, prefix, aad, out, 16);
  ASSERT_TRUE(seal.ok());
  ASSERT_TRUE((*seal)->Write(plain.data(), plain.size()).ok());
  ASSERT_TRUE((*seal)->Finish().ok());
  EXPECT_EQ(Hex(out.bytes),
            "09b6399ea77831f09baf79eb3994049b41b6f9d4d498262914e8eb473b0b68dbbd02910a34a2714ee508"
            "1512b6f8639ef35151b7b0a37bc92361ffda12f814833e641d9f63a3242cf4430300bcf2eb3079f167"
            "0bb71222d0be4d1ec7");
  Collect empty;
  auto seal_empty = ChunkedSealSink::New(key, prefix, aad, empty, 16);
  ASSERT_TRUE(seal_empty.ok());
  ASSERT_TRUE((*seal_empty)->Finish().ok());
  EXPECT_EQ(Hex(empty.bytes), "1710711c14810e7935223d5a01c64f8f");
}

TEST(ChunkedStream, RoundTripsEverySizeAroundChunkBoundaries) {
  ChunkLayout layout{kChunk};
  for (size_t n : {0, 1, 63, 64, 65, 127, 128, 129, 640, 1000}) {
    std::string plain = Text(n);
    Sealed s = SealAll(plain);
    EXPECT_EQ(s.bytes.size(), layout.SealedSize(n)) << n;
    EXPECT_EQ(layout.Chunks(n), n == 0 ? 1u : (n + kChunk - 1) / kChunk) << n;
    auto [back, status] = OpenAll(s.bytes);
    EXPECT_TRUE(status.ok()) << n << ": " << status.ToString();
    EXPECT_EQ(back, plain) << n;
  }
}

TEST(ChunkedStream, EveryFlippedBitIsDetectedAndNothingUnauthenticatedIsPassedOn) {
  std::string plain = Text(200);  // chunks of 64, 64, 64, 8
  Sealed s = SealAll(plain);
  for (size_t i = 0; i < s.bytes.size(); ++i) {
    std::string bad = s.bytes;
    bad[i] ^= 0x20;
    auto [back, status] = OpenAll(bad);
    EXPECT_EQ(status.code(), Status::Code::kCorruption) << i;
    // what was passed on is whole chunks before the damaged one, never more
    size_t damaged_chunk = i / (kChunk + kGcmTagSize);
    EXPECT_EQ(back, plain.substr(0, damaged_chunk * kChunk)) << i;
  }
}

TEST(ChunkedStream, TruncationReorderingSplicingAndAppendingAreDetected) {
  const size_t sealed_chunk = kChunk + kGcmTagSize;
  std::string plain = Text(3 * kChunk);  // exactly three full chunks, the last one final
  Sealed s = SealAll(plain);
  ASSERT_EQ(s.bytes.size(), 3 * sealed_chunk);
  auto expect_corrupt = [](const std::string& bytes, const std::string& what,
                           const std::string& aad = "obj-a") {
    auto [back, status] = OpenAll(bytes, aad);
    EXPECT_EQ(status.code(), Status::Code::kCorruption) << what;
  };
  // truncated at a chunk boundary: the last chunk left was not sealed as final
  expect_corrupt(s.bytes.substr(0, 2 * sealed_chunk), "truncated at a boundary");
  expect_corrupt(s.bytes.substr(0, 2 * sealed_chunk + 10), "truncated inside a chunk");
  expect_corrupt(s.bytes.substr(0, 5), "truncated inside the first tag");
  expect_corrupt("", "empty");
  // chunks swapped, dropped or repeated
  std::string c0 = s.bytes.substr(0, sealed_chunk), c1 = s.bytes.substr(sealed_chunk, sealed_chunk),
              c2 = s.bytes.substr(2 * sealed_chunk);
  expect_corrupt(c1 + c0 + c2, "first two chunks swapped");
  expect_corrupt(c0 + c2, "middle chunk dropped");
  expect_corrupt(c0 + c1 + c1 + c2, "a chunk repeated");
  // appended: another chunk, or junk, after the final one
  expect_corrupt(s.bytes + c2, "final chunk repeated");
  expect_corrupt(s.bytes + "x", "one byte appended");
  // the same bytes under another object's associated data (another name or repository)
  expect_corrupt(s.bytes, "another object's aad", "obj-b");
  // a chunk spliced in from another object sealed under the same key and prefix
  Sealed other = SealAll(Text(3 * kChunk) + "!", "obj-b");
  expect_corrupt(c0 + other.bytes.substr(sealed_chunk, sealed_chunk) + c2, "spliced chunk");
  // another data key or nonce prefix
  Sealed k2 = SealAll(plain, "obj-a", std::string(32, 'e'));
  expect_corrupt(k2.bytes, "another key");
  Sealed p2 = SealAll(plain, "obj-a", kKey, "pfx2");
  expect_corrupt(p2.bytes, "another prefix");
}

TEST(ChunkedStream, OneChunkOpensAloneForRangeReads) {
  std::string plain = Text(200);
  Sealed s = SealAll(plain);
  ChunkLayout layout{kChunk};
  uint64_t chunks = layout.Chunks(plain.size());
  ASSERT_EQ(chunks, 4u);
  for (uint64_t i = 0; i < chunks; ++i) {
    uint64_t off = layout.ChunkOffset(i);
    std::string sealed =
        s.bytes.substr(off, std::min<uint64_t>(kChunk + kGcmTagSize, s.bytes.size() - off));
    bool final = i + 1 == chunks;
    auto one = OpenChunk(kKey, kPrefix, "obj-a", i, final, sealed);
    ASSERT_TRUE(one.ok()) << i << ": " << one.status().ToString();
    EXPECT_EQ(*one, plain.substr(i * kChunk, kChunk));
    // the same bytes claimed as another index, or with the other final flag
    EXPECT_FALSE(OpenChunk(kKey, kPrefix, "obj-a", i + 1, final, sealed).ok());
    EXPECT_FALSE(OpenChunk(kKey, kPrefix, "obj-a", i, !final, sealed).ok());
  }
}

TEST(ChunkedStream, BadParametersAreUsageErrors) {
  Collect out;
  EXPECT_EQ(ChunkedSealSink::New(std::string(31, 'k'), kPrefix, "", out).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ChunkedSealSink::New(kKey, "abc", "", out).status().code(),
            Status::Code::kInvalidArgument);
  EXPECT_EQ(ChunkedOpenSink::New(kKey, kPrefix, "", out, 0).status().code(),
            Status::Code::kInvalidArgument);
  auto rnd = RandomBytes(32);
  ASSERT_TRUE(rnd.ok());
  EXPECT_EQ(rnd->size(), 32u);
  EXPECT_NE(*rnd, *RandomBytes(32));
}

}  // namespace
}  // namespace walferry::crypto
