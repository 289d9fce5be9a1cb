// PostgreSQL's page checksum against real pages written by initdb --data-checksums
// (PostgreSQL 15), and which relation files carry checksums.
#include "pg/page_checksum.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace walferry::pg {
namespace {

struct KnownPage {
  uint32_t block;
  uint16_t checksum;                                 // pd_checksum as PostgreSQL wrote it
  std::vector<std::pair<size_t, const char*>> runs;  // offset, hex of the non-zero bytes there
};

// base/1/2656 block 0, base/1/3080 block 1, global/1262 (pg_database) block 0 of a new cluster.
const std::vector<KnownPage> kPages = {
    {0,
     0x001B,
     {{4, "c82006011b0000004800f01ff01f0420000000006231050004"}, {62, "f0bf01"}, {8188, "08"}}},
    {1,
     0x2C32,
     {{4, "60ed4501322c00001c00e01ff01f042000000000e09f20"}, {8164, "01001000f734"}, {8188, "03"}}},
    {0,
     0xDB50,
     {{4,
       "d812740150db01003000f01d00200420000000000500010006000100f09d200100000000409f7a01809e7a01"},
      {7232, "d002"},
      {7248, "06001080032920ff9f000000000000000400000074656d706c61746530"},
      {7332,
       "0a0000000600000063010000ffffffffcc020000010000007f06000011432e5554462d3811432e5554462d385b0"
       "100000000000000090400000200000001000000000000000a000000000800000a0000000a000000000e00000000"
       "00cf02"},
      {7440, "05001080032920ff9f000000000000000100000074656d706c61746531"},
      {7524,
       "0a0000000600000063010100ffffffffcc020000010000007f06000011432e5554462d3811432e5554462d385b0"
       "100000000000000090400000200000001000000000000000a000000000800000a0000000a000000000e00000000"
       "00ce020000cf02"},
      {7632, "050010c0032520ff1f000000000000000100000074656d706c61746531000000d202"},
      {7680, "03001000030920ff1f0000000000000005000000706f737467726573"},
      {7764,
       "0a0000000600000063000100ffffffffcc020000010000007f06000011432e5554462d3811432e5554462d38d00"
       "2"},
      {7824, "06001080032920ff9f000000000000000400000074656d706c61746530"},
      {7908,
       "0a0000000600000063010000ffffffffcc020000010000007f06000011432e5554462d3811432e5554462d385b0"
       "100000000000000090400000200000001000000000000000a000000000800000a0000000a000000000e00000000"
       "00cf02"},
      {8016, "05001080032920ff9f000000000000000100000074656d706c61746531"},
      {8100,
       "0a0000000600000063010100ffffffffcc020000010000007f06000011432e5554462d3811432e5554462d385b0"
       "100000000000000090400000200000001000000000000000a000000000800000a0000000a0000"},
      {8186, "0e"}}},
};

std::string Page(const KnownPage& k) {
  std::string page(kBlockSize, '\0');
  for (const auto& [offset, hex] : k.runs) {
    std::string h = hex;
    for (size_t i = 0; i < h.size(); i += 2)
      page[offset + i / 2] = static_cast<char>(std::stoi(h.substr(i, 2), nullptr, 16));
  }
  return page;
}

TEST(PageChecksumTest, MatchesPostgreSQL) {
  for (const auto& k : kPages) {
    std::string page = Page(k);
    EXPECT_EQ(PageChecksum(page.data(), k.block), k.checksum) << "block " << k.block;
    PageCheck c = CheckPage(page.data(), k.block, ~0ull);
    EXPECT_EQ(c.verdict, PageVerdict::kOk);
  }
}

TEST(PageChecksumTest, DetectsDamageAndMovedPages) {
  for (const auto& k : kPages) {
    std::string page = Page(k);
    EXPECT_NE(PageChecksum(page.data(), k.block + 1), k.checksum) << "the block number is mixed in";
    page[kBlockSize - 100] ^= 0x01;
    PageCheck c = CheckPage(page.data(), k.block, ~0ull);
    EXPECT_EQ(c.verdict, PageVerdict::kBad);
    EXPECT_EQ(c.stored, k.checksum);
  }
}

TEST(PageChecksumTest, SkipsNewAndRecentPages) {
  std::string zero(kBlockSize, '\0');
  EXPECT_EQ(CheckPage(zero.data(), 0, ~0ull).verdict, PageVerdict::kSkippedNew);
  std::string page = Page(kPages[2]);
  page[kBlockSize - 100] ^=
      0x01;  // damaged, but written after the backup started: WAL replay rewrites it
  EXPECT_EQ(CheckPage(page.data(), 0, 1).verdict, PageVerdict::kSkippedRecent);
}

TEST(PageChecksumTest, RelationFiles) {
  EXPECT_EQ(RelationFirstBlock("base/5/16384"), std::optional<uint32_t>(0));
  EXPECT_EQ(RelationFirstBlock("base/5/16384.2"), std::optional<uint32_t>(2 * kBlocksPerSegment));
  EXPECT_EQ(RelationFirstBlock("base/5/16384_fsm"), std::optional<uint32_t>(0));
  EXPECT_EQ(RelationFirstBlock("base/5/16384_vm.1"), std::optional<uint32_t>(kBlocksPerSegment));
  EXPECT_EQ(RelationFirstBlock("global/1262"), std::optional<uint32_t>(0));
  EXPECT_EQ(RelationFirstBlock("pg_tblspc/16390/PG_15_202209061/5/16391"),
            std::optional<uint32_t>(0));
  for (const char* no :
       {"base/5/PG_VERSION", "base/5/pg_filenode.map", "global/pg_control", "base/5/16384_x",
        "pg_xact/0000", "base/5/t3_16384", "base/x/1", "pg_tblspc/1/PG_15/5", "base/5/1.x"}) {
    EXPECT_EQ(RelationFirstBlock(no), std::nullopt) << no;
  }
}

}  // namespace
}  // namespace walferry::pg
