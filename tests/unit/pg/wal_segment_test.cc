// pg/wal_segment and pg/lsn: segment arithmetic for every segment size, the
// segment after a segment, and LSN text.
#include "pg/wal_segment.h"

#include <gtest/gtest.h>

#include "pg/lsn.h"

namespace walferry::pg {
namespace {

constexpr uint64_t k16M = 16u << 20;
constexpr uint32_t kMiB = 1u << 20;

TEST(SegmentArithmetic, NamesAndNumbersRoundTripForEverySize) {
  for (uint64_t size = 1u << 20; size <= (1u << 30); size <<= 1) {
    ASSERT_TRUE(ValidateSegmentSize(size).ok()) << size;
    const uint64_t per = SegmentsPerLog(size);
    EXPECT_EQ(per, 0x100000000ull / size);
    for (uint64_t segno : {uint64_t{0}, uint64_t{1}, per - 1, per, per + 1, 37 * per + per / 2}) {
      std::string name = SegmentName(7, segno, size);
      ASSERT_EQ(name.size(), 24u);
      EXPECT_EQ(name.substr(0, 8), "00000007");
      auto back = SegmentNumber(name.substr(8), size);
      ASSERT_TRUE(back.ok()) << name;
      EXPECT_EQ(*back, segno) << name;
    }
  }
}

TEST(SegmentArithmetic, KnownNames) {
  EXPECT_EQ(SegmentName(1, 0x1FF, k16M), "0000000100000001000000FF");
  EXPECT_EQ(SegmentName(1, 0x200, k16M), "000000010000000200000000");
  EXPECT_EQ(*SegmentNumber("00000002000000A1", k16M), 2u * 256 + 0xA1);
  // 1 GiB segments: 4 per log; 64 MiB: 64 per log.
  EXPECT_EQ(SegmentName(2, 5, 1u << 30), "000000020000000100000001");
  EXPECT_EQ(*SegmentNumber("0000000100000003", 64u << 20), 64u + 3);
}

TEST(SegmentArithmetic, RefusesImpossibleSegments) {
  EXPECT_FALSE(SegmentNumber("0000000100000004", 1u << 30).ok());  // only 0..3 with 1 GiB
  EXPECT_TRUE(SegmentNumber("0000000100000003", 1u << 30).ok());
  EXPECT_FALSE(SegmentNumber("00000001000001", k16M).ok());
  EXPECT_FALSE(SegmentNumber("000000010000000G", k16M).ok());
  EXPECT_FALSE(ValidateSegmentSize(0).ok());
  EXPECT_FALSE(ValidateSegmentSize(3u << 20).ok());
  EXPECT_FALSE(ValidateSegmentSize(512u << 10).ok());
  EXPECT_FALSE(ValidateSegmentSize(2ull << 30).ok());
}

TEST(SegmentArithmetic, SegmentOfLsn) {
  EXPECT_EQ(SegmentOfLsn(0x3000028, k16M), 3u);
  EXPECT_EQ(SegmentOfLsn(0x3000000, k16M), 3u);
}

std::string Next(const std::string& name, uint32_t size) {
  auto r = NextSegment(name, size);
  return r.ok() ? *r : "error: " + r.status().message();
}

TEST(NextSegment, NextSegmentWithinAndAcrossLogIds) {
  // 16 MiB: 256 segments per log id, the last one is ...000000FF
  EXPECT_EQ(Next("000000010000000000000001", 16 * kMiB), "000000010000000000000002");
  EXPECT_EQ(Next("0000000100000000000000FE", 16 * kMiB), "0000000100000000000000FF");
  EXPECT_EQ(Next("0000000100000000000000FF", 16 * kMiB), "000000010000000100000000");
  EXPECT_EQ(Next("00000003000000AB000000FF", 16 * kMiB), "00000003000000AC00000000")
      << "timeline kept";
  // 1 MiB: 4096 per log id
  EXPECT_EQ(Next("0000000100000000000000FF", kMiB), "000000010000000000000100");
  EXPECT_EQ(Next("000000010000000000000FFF", kMiB), "000000010000000100000000");
  // 1 GiB: 4 per log id
  EXPECT_EQ(Next("000000010000000000000002", 1024 * kMiB), "000000010000000000000003");
  EXPECT_EQ(Next("000000010000000000000003", 1024 * kMiB), "000000010000000100000000");
  // 64 MiB: 64 per log id
  EXPECT_EQ(Next("00000001000000050000003F", 64 * kMiB), "000000010000000600000000");
  // the end of the address space
  EXPECT_FALSE(NextSegment("00000001FFFFFFFF000000FF", 16 * kMiB).ok());
}

TEST(NextSegment, RefusesWhatIsNotASegmentOrASize) {
  EXPECT_FALSE(NextSegment("000000010000000000000100", 16 * kMiB).ok())
      << "no segment 0x100 at 16 MiB";
  EXPECT_FALSE(NextSegment("00000001000000000000000", 16 * kMiB).ok());
  EXPECT_FALSE(NextSegment("00000002.history", 16 * kMiB).ok());
  EXPECT_FALSE(NextSegment("000000010000000000000001", 0).ok()) << "an identity's unknown size";
  EXPECT_FALSE(NextSegment("000000010000000000000001", 3 * kMiB).ok());
  EXPECT_FALSE(NextSegment("000000010000000000000001", 2048 * kMiB).ok());
  EXPECT_FALSE(NextSegment("000000010000000000000001", kMiB / 2).ok());
}

TEST(Lsn, TextAndSegments) {
  EXPECT_EQ(*ParseLsn("0/3000028"), 0x3000028u);
  EXPECT_EQ(*ParseLsn("1A/FF"), (0x1Aull << 32) | 0xFF);
  EXPECT_EQ(FormatLsn((0x1Aull << 32) | 0xFF), "1A/FF");
  for (const char* bad : {"", "/", "0/", "/1", "x/1", "123456789/1", "0/3000028 "})
    EXPECT_FALSE(ParseLsn(bad).ok()) << bad;
  EXPECT_EQ(SegmentNameOfLsn(1, 0x3000028, 16u << 20), "000000010000000000000003");
  EXPECT_EQ(SegmentNameOfLsn(2, (0x1Aull << 32) | 0xFF000000, 16u << 20),
            "000000020000001A000000FF");
}

}  // namespace
}  // namespace walferry::pg
