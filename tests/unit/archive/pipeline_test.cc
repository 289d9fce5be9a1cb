// The streaming stages: every codec round-trips any size, and damage is caught.
#include "walferry/pipeline.h"

#include <gtest/gtest.h>

#include <random>

#include "common/crypto.h"

namespace walferry {
namespace {

std::string Data(size_t n, bool compressible) {
  std::mt19937 rng(static_cast<unsigned>(n));
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i)
    s[i] = compressible ? static_cast<char>("walferry"[i % 8] + (i % 4096 == 0))
                        : static_cast<char>(rng());
  return s;
}

Result<std::string> Compress(Codec c, const std::string& in, int level) {
  StringSink out;
  auto sink = CompressSink::New(c, level, out);
  if (!sink.ok()) return sink.status();
  // Feed in uneven pieces, as a reader would.
  for (size_t pos = 0; pos < in.size();) {
    size_t k = std::min<size_t>(in.size() - pos, 7777 + pos % 100000);
    WF_RETURN_IF_ERROR((*sink)->Write(in.data() + pos, k));
    pos += k;
  }
  WF_RETURN_IF_ERROR((*sink)->Finish());
  return out.out;
}

Result<std::string> Decompress(Codec c, const std::string& in, size_t piece = 4096) {
  StringSink out;
  auto sink = DecompressSink::New(c, out);
  if (!sink.ok()) return sink.status();
  for (size_t pos = 0; pos < in.size(); pos += piece) {
    WF_RETURN_IF_ERROR((*sink)->Write(in.data() + pos, std::min(piece, in.size() - pos)));
  }
  WF_RETURN_IF_ERROR((*sink)->Finish());
  return out.out;
}

class CodecTest : public ::testing::TestWithParam<Codec> {};

TEST_P(CodecTest, RoundTripsAnySize) {
  for (size_t n : {size_t{0}, size_t{1}, size_t{4095}, size_t{(1 << 20) + 3}, size_t{5 << 20}}) {
    for (bool compressible : {true, false}) {
      std::string in = Data(n, compressible);
      auto packed = Compress(GetParam(), in, DefaultLevel(GetParam()));
      ASSERT_TRUE(packed.ok()) << packed.status().ToString();
      if (compressible && n > 4096 && GetParam() != Codec::kNone) {
        EXPECT_LT(packed->size(), n / 4);
      }
      for (size_t piece : {size_t{1} << 20, size_t{1000}}) {
        auto back = Decompress(GetParam(), *packed, piece);
        ASSERT_TRUE(back.ok()) << back.status().ToString() << " n=" << n;
        EXPECT_TRUE(*back == in) << "n=" << n;
      }
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, CodecTest,
                         ::testing::Values(Codec::kZstd, Codec::kLz4, Codec::kNone),
                         [](const auto& info) { return std::string(CodecName(info.param)); });

// Codecs with frames and content checksums ("none" has neither: the SHA-256
// in the object header catches its damage, see archive_test.cc).
class FramedCodecTest : public ::testing::TestWithParam<Codec> {};

TEST_P(FramedCodecTest, TruncatedTrailingOrFlippedDataIsCorruption) {
  std::string in = Data(3 << 20, true);
  std::string packed = *Compress(GetParam(), in, DefaultLevel(GetParam()));
  EXPECT_EQ(Decompress(GetParam(), packed.substr(0, packed.size() - 5)).status().code(),
            Status::Code::kCorruption);
  EXPECT_EQ(Decompress(GetParam(), packed + "junk").status().code(), Status::Code::kCorruption);
  std::string flipped = packed;
  flipped[flipped.size() / 2] ^= 0x40;
  EXPECT_EQ(Decompress(GetParam(), flipped).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(Decompress(GetParam(), "not a frame at all").status().code(),
            Status::Code::kCorruption);
}

INSTANTIATE_TEST_SUITE_P(Codecs, FramedCodecTest, ::testing::Values(Codec::kZstd, Codec::kLz4),
                         [](const auto& info) { return std::string(CodecName(info.param)); });

TEST(Codec, NamesAndLevels) {
  EXPECT_EQ(*ParseCodec("lz4"), Codec::kLz4);
  EXPECT_EQ(ParseCodec("gzip").status().code(), Status::Code::kInvalidArgument);
  StringSink out;
  EXPECT_FALSE(CompressSink::New(Codec::kZstd, 0, out).ok());
  EXPECT_FALSE(CompressSink::New(Codec::kLz4, 13, out).ok());
}

TEST(HashSink, CountsAndHashesOnTheWay) {
  StringSink out;
  HashSink h(&out);
  ASSERT_TRUE(h.Write("abc", 3).ok());
  EXPECT_EQ(h.size(), 3u);
  EXPECT_EQ(h.Sha256Hex(), crypto::Sha256Hex("abc"));
  EXPECT_EQ(out.out, "abc");
}

}  // namespace
}  // namespace walferry
