// Staged copies (archive-durability = spool): damage is never uploaded, the object key
// comes from the file's own name, and a full spool is a clear error.
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/run_walferry.h"
#include "unit/spool/push_fixture.h"

namespace walferry::spool {
namespace {

namespace sfs = std::filesystem;

// Local damage to a staged copy between staging and upload never reaches the repository.
TEST_F(SpoolPushTest, ADamagedStagedCopyIsNeverUploaded) {
  std::string p = Ready(5, 'd');
  ASSERT_TRUE(StageObject(dirs_, Build(5)).ok());
  MarkDone(5);
  const std::string staged = dirs_.staged + "/" + Name(5);
  std::string bytes = testing::ReadAll(staged);
  bytes[bytes.size() - 50] ^= 1;
  std::ofstream(staged, std::ios::binary) << bytes;
  sfs::remove(p);  // the file it was made of is gone: no good copy anywhere
  WorkUntilFailed(Name(5));
  EXPECT_FALSE(Stored(5)) << "a damaged staged copy was uploaded";
  EXPECT_TRUE(sfs::exists(staged)) << "a staged copy is never deleted unless uploaded";
  auto err = LoadErr(dirs_, Name(5));
  ASSERT_TRUE(err.has_value());
  EXPECT_EQ(err->code, Status::Code::kCorruption);
  EXPECT_NE(err->message.find("damaged"), std::string::npos) << err->message;
}

TEST_F(SpoolPushTest, ADamagedStagedCopyIsReplacedByTheUnchangedFileItWasMadeOf) {
  std::string p = Ready(5, 'e');
  ASSERT_TRUE(StageObject(dirs_, Build(5)).ok());
  const std::string staged = dirs_.staged + "/" + Name(5);
  sfs::resize_file(staged, sfs::file_size(staged) - 7);  // truncated
  Work();
  ASSERT_TRUE(Stored(5));
  EXPECT_FALSE(sfs::exists(staged));
  auto got = archive::Get(*storage_, archive::GetConfig{Name(5), t_.path() + "/back", ""});
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_TRUE(testing::ReadAll(t_.path() + "/back") == Segment(Name(5), 42, 'e'));
}

// The object key comes from the staged file's own name, never from what the file says.
TEST_F(SpoolPushTest, AStagedCopyNeverChoosesItsOwnObjectKey) {
  Ready(5, 'k');
  ASSERT_TRUE(StageObject(dirs_, Build(5)).ok());
  MarkDone(5);
  sfs::remove(data_ + "/pg_wal/" + Name(5));
  const std::string staged = dirs_.staged + "/" + Name(5);
  std::string bytes = testing::ReadAll(staged);
  const std::string key5 = "wal/0000000100000000/" + Name(5),
                    key9 = "wal/0000000100000000/" + Name(9);
  ASSERT_NE(bytes.find(key5), std::string::npos);
  std::string redirected = bytes;
  redirected.replace(redirected.find(key5), key5.size(), key9);
  std::ofstream(staged, std::ios::binary) << redirected;
  WorkUntilFailed(Name(5));
  EXPECT_FALSE(Stored(9)) << "the meta line chose the key";
  EXPECT_FALSE(Stored(5));
  // The same staged file under another segment's name: its contents name segment 5.
  sfs::remove(staged);
  std::ofstream(dirs_.staged + "/" + Name(9), std::ios::binary) << bytes;
  WorkUntilFailed(Name(9));
  EXPECT_FALSE(Stored(9)) << "segment 5's bytes were stored as segment 9";
  EXPECT_TRUE(sfs::exists(dirs_.staged + "/" + Name(9)));
  // A staged file whose name is no WAL name is never uploaded.
  std::ofstream(dirs_.staged + "/junk", std::ios::binary) << bytes;
  WorkUntilFailed("junk");
  EXPECT_TRUE(ListAll(*storage_, "wal/")->empty());
}

// A spool on a 64 KiB tmpfs: staging is a clear kIo naming the spool, never a success.
TEST_F(SpoolPushTest, FullSpoolIsAClearErrorNamingTheSpool) {
  ASSERT_EQ(::geteuid(), 0u) << "this test mounts a tmpfs: run it as root (the test command does)";
  std::string mnt = t_.path() + "/tiny";
  sfs::create_directories(mnt);
  ASSERT_EQ(::mount("tmpfs", mnt.c_str(), "tmpfs", 0, "size=64k"), 0) << std::strerror(errno);
  struct Unmount {
    std::string m;
    ~Unmount() { ::umount2(m.c_str(), MNT_DETACH); }
  } unmount{mnt};
  auto sp = OpenSpool(mnt + "/spool", kRepo, data_);
  ASSERT_TRUE(sp.ok());
  auto d = OpenPushDirs(*sp);
  ASSERT_TRUE(d.ok());
  std::ofstream(mnt + "/filler", std::ios::binary) << std::string(64 << 10, 'f');  // fills it
  Ready(1);
  Status s = StageObject(*d, Build(1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Status::Code::kIo);
  EXPECT_NE(s.message().find(mnt + "/spool"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("No space left"), std::string::npos) << s.message();
  EXPECT_FALSE(sfs::exists(d->staged + "/" + Name(1)));
  EXPECT_TRUE(ListWithSuffix(d->staged, "").empty());
}

}  // namespace
}  // namespace walferry::spool
