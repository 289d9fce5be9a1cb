// archive-get checks what it restores is the WAL file it was asked for, not
// only that the object is intact: a whole, valid object of another segment
// (or of another size) filed under this segment's key is refused, and nothing
// reaches %p.
#include <gtest/gtest.h>

#include <filesystem>

#include "archive/archive.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"
#include "walferry/wal_name.h"

namespace walferry::archive {
namespace {

constexpr uint32_t kSegSize = 16u << 20;
const std::string kSeg1 = "000000010000000000000001";

class GetWalCheckTest : public ::testing::Test {
 protected:
  GetWalCheckTest() : storage_(NewMemoryStorage()) {
    testing::MakeDataDir(dir_, 42);
    auto created = repo::CreateRepository(*storage_, dir_.path());
    EXPECT_TRUE(created.ok()) << created.status().ToString();
  }
  // Stores `original` under seg 1's key with a header that names seg 1 and
  // checksums that match: only the content is of another file.
  void StoreAsSegment1(const std::string& original) {
    auto wal = ParseWalFileName(kSeg1);
    ASSERT_TRUE(wal.ok());
    auto put = repo::PutObject(*storage_, repo::WalObjectKey(*wal),
                               repo::WriteSpec::Wal(kSeg1, Codec::kZstd, 1), original);
    ASSERT_TRUE(put.ok()) << put.status().ToString();
  }
  Result<GetResult> Get() {
    return archive::Get(*storage_, GetConfig{kSeg1, "pg_wal/RECOVERYXLOG", dir_.path()});
  }
  bool Restored() { return std::filesystem::exists(dir_.path() + "/pg_wal/RECOVERYXLOG"); }
  testing::TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(GetWalCheckTest, TheRightSegmentIsRestored) {
  StoreAsSegment1(testing::WalSegment(kSeg1, 42, 'w', kSegSize, kSegSize));
  auto r = Get();
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(Restored());
}

TEST_F(GetWalCheckTest, AnotherSegmentsValidObjectUnderThisNameIsRefused) {
  StoreAsSegment1(testing::WalSegment("000000010000000000000002", 42, 'w', kSegSize, kSegSize));
  auto r = Get();
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("wal/0000000100000000/" + kSeg1), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().hint().find("not this WAL file"), std::string::npos) << r.status().hint();
  EXPECT_FALSE(Restored());
}

TEST_F(GetWalCheckTest, ALaterTimelinesSegmentUnderThisNameIsRefused) {
  StoreAsSegment1(testing::WalSegment("000000030000000000000001", 42, 'w', kSegSize, kSegSize));
  EXPECT_EQ(Get().status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(Restored());
}

TEST_F(GetWalCheckTest, ASegmentShorterThanItsHeaderSaysIsRefused) {
  std::string seg = testing::WalSegment(kSeg1, 42, 'w', kSegSize, kSegSize);
  seg.resize(seg.size() / 2);
  StoreAsSegment1(seg);
  auto r = Get();
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_FALSE(Restored());
}

TEST_F(GetWalCheckTest, BytesThatAreNoWalAtAllAreRefused) {
  StoreAsSegment1(std::string(kSegSize, 'x'));
  EXPECT_EQ(Get().status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(Restored());
}

}  // namespace
}  // namespace walferry::archive
