// pg/wal_page: the long page header of a segment's first page, read and checked
// against the file's name (magic, page address, timeline, segment size), and
// pg/control_file: the facts of a data directory, its WAL segment size included.
#include "pg/wal_page.h"

#include <gtest/gtest.h>

#include <cstring>

#include "pg/control_file.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"

namespace walferry::pg {
namespace {

constexpr uint32_t k16M = 16u << 20;

// The first page of `as_written` (a segment name), as walferry reads it.
std::string FirstPage(const std::string& as_written, uint32_t size = k16M) {
  return testing::WalSegment(as_written, 42, 'w', size).substr(0, 8192);
}

template <typename T>
void Poke(std::string& page, size_t at, T v) {
  std::memcpy(page.data() + at, &v, sizeof v);
}

Status Check(const std::string& page, const std::string& name, uint32_t repo_size = 0) {
  auto wal = ParseWalFileName(name);
  EXPECT_TRUE(wal.ok()) << name;
  return ReadCheckedWalPageHeader(page, *wal, repo_size, "pg_wal/" + name).status();
}

void ExpectRefused(const Status& s, const std::string& field) {
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
  EXPECT_NE(s.message().find(field), std::string::npos) << s.ToString();
  EXPECT_NE(s.message().find("pg_wal/"), std::string::npos) << "names the file: " << s.ToString();
  EXPECT_FALSE(s.hint().empty());
}

TEST(WalPageHeader, ReadsEveryField) {
  auto p = ReadWalPageHeader(FirstPage("0000000300000002000000A1"), "x");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->magic, 0xD110);
  EXPECT_EQ(p->pg_version, "15");
  EXPECT_EQ(p->timeline, 3u);
  EXPECT_EQ(p->page_address, (2ull << 32) | (0xA1ull * k16M));
  EXPECT_EQ(p->system_identifier, 42u);
  EXPECT_EQ(p->segment_size, k16M);
}

TEST(WalPageHeader, TheSegmentItsNameDenotesIsAccepted) {
  EXPECT_TRUE(Check(FirstPage("000000010000000000000001"), "000000010000000000000001").ok());
  EXPECT_TRUE(Check(FirstPage("0000000100000000000000FF"), "0000000100000000000000FF", k16M).ok());
  EXPECT_TRUE(Check(FirstPage("000000010000000000000000"), "000000010000000000000000").ok());
  // .partial: the same segment, the same page address
  EXPECT_TRUE(
      Check(FirstPage("000000010000000000000003"), "000000010000000000000003.partial").ok());
  // 1 GiB segments: 4 per log
  EXPECT_TRUE(
      Check(FirstPage("000000010000000100000003", 1u << 30), "000000010000000100000003").ok());
}

TEST(WalPageHeader, TheFirstPageAfterATimelineSwitchCarriesThePreviousTimeline) {
  // PostgreSQL copies the switch segment from timeline 1 to timeline 2: its first page
  // still says timeline 1.
  EXPECT_TRUE(Check(FirstPage("000000010000000000000005"), "000000020000000000000005").ok());
  EXPECT_TRUE(Check(FirstPage("000000010000000000000005"), "000000070000000000000005").ok());
}

TEST(WalPageHeader, UnknownMagicIsRefused) {
  std::string page = FirstPage("000000010000000000000001");
  Poke<uint16_t>(page, 0, 0xD097);  // PostgreSQL 10
  ExpectRefused(Check(page, "000000010000000000000001"), "xlp_magic");
  Poke<uint16_t>(page, 0, 0);
  ExpectRefused(Check(page, "000000010000000000000001"), "xlp_magic");
  for (uint16_t known : {0xD098, 0xD101, 0xD106, 0xD10D, 0xD110, 0xD113, 0xD116, 0xD118}) {
    Poke<uint16_t>(page, 0, known);
    EXPECT_TRUE(Check(page, "000000010000000000000001").ok()) << known;
  }
}

TEST(WalPageHeader, AnotherSegmentsPageAddressIsRefused) {
  // segment 2's bytes under segment 1's name (a copy, a rename)
  ExpectRefused(Check(FirstPage("000000010000000000000002"), "000000010000000000000001"),
                "xlp_pageaddr");
  // another log
  ExpectRefused(Check(FirstPage("000000010000000100000001"), "000000010000000000000001"),
                "xlp_pageaddr");
  // .partial files too
  ExpectRefused(Check(FirstPage("000000010000000000000002"), "000000010000000000000003.partial"),
                "xlp_pageaddr");
  // a page address that is not a segment's start
  std::string page = FirstPage("000000010000000000000001");
  Poke<uint64_t>(page, 8, uint64_t{k16M} + 8192);
  ExpectRefused(Check(page, "000000010000000000000001"), "xlp_pageaddr");
}

TEST(WalPageHeader, ATimelineAboveTheNamesIsRefused) {
  ExpectRefused(Check(FirstPage("000000030000000000000001"), "000000020000000000000001"),
                "xlp_tli");
  std::string page = FirstPage("000000010000000000000001");
  Poke<uint32_t>(page, 4, 0);
  ExpectRefused(Check(page, "000000010000000000000001"), "xlp_tli");
}

TEST(WalPageHeader, ASegmentSizeOtherThanTheRepositorysIsRefused) {
  ExpectRefused(Check(FirstPage("000000010000000000000001"), "000000010000000000000001", 64u << 20),
                "xlp_seg_size");
  // unknown (0, as repositories made before the size was recorded): not checked
  EXPECT_TRUE(Check(FirstPage("000000010000000000000001"), "000000010000000000000001", 0).ok());
  // a name no segment of the stated size can have (1 GiB: seg 0..3)
  ExpectRefused(Check(FirstPage("000000010000000000000001", 1u << 30), "000000010000000000000005"),
                "xlp_seg_size");
}

TEST(WalPageHeader, OnlySegmentsAndPartialFilesHaveOne) {
  auto wal = ParseWalFileName("00000002.history");
  ASSERT_TRUE(wal.ok());
  auto p = ReadWalPageHeader(FirstPage("000000010000000000000001"), "x");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(CheckWalPageHeader(*p, *wal, 0, "x").code(), Status::Code::kInvalidArgument);
}

TEST(DataDirFacts, TheSegmentSizeComesFromPgControl) {
  testing::TempDir d, zeros, none;
  testing::MakeDataDir(d, 4242, 64u << 20);
  auto f = ReadDataDirFacts(d.path());
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(f->system_identifier, 4242u);
  EXPECT_EQ(f->pg_version, "15");
  EXPECT_EQ(f->wal_segment_size, 64u << 20);
  testing::MakeDataDir(zeros, 7);  // no floatFormat: the size is not known
  ASSERT_TRUE(ReadDataDirFacts(zeros.path()).has_value());
  EXPECT_EQ(ReadDataDirFacts(zeros.path())->wal_segment_size, 0u);
  EXPECT_FALSE(ReadDataDirFacts(none.path()).has_value());
}

TEST(DataDirFacts, AnImplausibleSegmentSizeIsUnknown) {
  std::string control(512, '\0');
  const double f = 1234567.0;
  std::memcpy(control.data() + 208, &f, 8);
  const uint32_t fields[] = {8192, 131072, 8192, 3u << 20};  // not a power of two
  std::memcpy(control.data() + 216, fields, sizeof fields);
  EXPECT_EQ(WalSegmentSizeFromControlFile(control), 0u);
  const uint32_t good[] = {8192, 131072, 8192, 1u << 20};
  std::memcpy(control.data() + 216, good, sizeof good);
  EXPECT_EQ(WalSegmentSizeFromControlFile(control), 1u << 20);
  EXPECT_EQ(WalSegmentSizeFromControlFile(control.substr(0, 220)), 0u) << "cut short";
}

}  // namespace
}  // namespace walferry::pg
