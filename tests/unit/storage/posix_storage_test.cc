// The file:// backend against a damaged layout (issue 10): symbolic links
// inside the repository are never followed, and a directory (or link, or FIFO)
// where an object should be is damage (kCorruption), never "not found".
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "support/temp_dir.h"
#include "walferry/storage.h"

namespace walferry {
namespace {

namespace fsys = std::filesystem;
using testing::TempDir;

TEST(PosixStorageLayout, DirectoryAtAnObjectPathIsCorruptionNotNotFound) {
  TempDir root;
  auto s = OpenPosixStorage(root.path());
  ASSERT_TRUE(s.ok());
  fsys::create_directories(root.path() + "/wal/0000000100000000/000000010000000000000001");
  const std::string key = "wal/0000000100000000/000000010000000000000001";
  StringSink sink;
  Status g = (*s)->Get(key, sink, std::nullopt);
  EXPECT_EQ(g.code(), Status::Code::kCorruption) << g.ToString();
  EXPECT_NE(g.message().find("is a directory"), std::string::npos) << g.ToString();
  EXPECT_EQ((*s)->Head(key).status().code(), Status::Code::kCorruption);
  EXPECT_EQ(PutString(**s, key, "x").status().code(), Status::Code::kCorruption);
  EXPECT_TRUE((*s)->Head("wal/0000000100000000/none").status().IsNotFound());
  ::mkfifo((root.path() + "/fifo").c_str(), 0600);
  EXPECT_EQ((*s)->Get("fifo", sink, std::nullopt).code(), Status::Code::kCorruption);
}

TEST(PosixStorageLayout, SymbolicLinksInsideTheRepositoryAreNotFollowed) {
  TempDir root, outside;
  auto s = OpenPosixStorage(root.path());
  ASSERT_TRUE(s.ok());
  { std::ofstream(outside.path() + "/secret") << "outside"; }
  fsys::create_directories(root.path() + "/backup");
  fsys::create_symlink(outside.path() + "/secret", root.path() + "/backup/manifest.json");
  StringSink sink;
  Status g = (*s)->Get("backup/manifest.json", sink, std::nullopt);
  EXPECT_EQ(g.code(), Status::Code::kCorruption) << g.ToString();
  EXPECT_TRUE(sink.out.empty());
  EXPECT_EQ((*s)->Head("backup/manifest.json").status().code(), Status::Code::kCorruption);
  // A linked directory: neither read nor written through.
  fsys::create_directory_symlink(outside.path(), root.path() + "/wal");
  EXPECT_EQ((*s)->Get("wal/secret", sink, std::nullopt).code(), Status::Code::kCorruption);
  EXPECT_EQ(PutString(**s, "wal/new", "x").status().code(), Status::Code::kCorruption);
  EXPECT_FALSE(fsys::exists(outside.path() + "/new"));
  EXPECT_EQ((*s)->Remove("wal/secret").code(), Status::Code::kCorruption);
  EXPECT_TRUE(fsys::exists(outside.path() + "/secret"));
  // Listing skips links (it never descends into one).
  auto all = ListAll(**s, "");
  ASSERT_TRUE(all.ok());
  EXPECT_TRUE(all->empty());
  // ROOT itself may be a link (the operator's choice).
  TempDir other;
  fsys::create_directory_symlink(root.path(), other.path() + "/repo");
  auto via = OpenPosixStorage(other.path() + "/repo");
  ASSERT_TRUE(via.ok());
  ASSERT_TRUE(PutString(**via, "a/b", "ok").ok());
  EXPECT_EQ(*GetString(**via, "a/b"), "ok");
}

}  // namespace
}  // namespace walferry
