// archive-push and archive-get on the in-memory backend: PostgreSQL's
// contract (write-once, one cluster per repository, verified restore).
#include "archive/archive.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "archive/repository.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"
#include "walferry/wal_name.h"

namespace walferry::archive {
namespace {

using testing::MakeDataDir;
using testing::TempDir;
namespace fsys = std::filesystem;

constexpr uint32_t kSegSize = 16u << 20;

std::string Segment(std::string_view name, uint64_t sysid, char fill = 'w',
                    uint32_t size = kSegSize) {
  return testing::WalSegment(name, sysid, fill, size, kSegSize);
}

std::string ReadFile(const std::string& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

class ArchiveTest : public ::testing::Test {
 protected:
  ArchiveTest() : storage_(NewMemoryStorage()) {
    MakeDataDir(dir_, 42);
    auto created = CreateRepository(*storage_, dir_.path());
    EXPECT_TRUE(created.ok() && created->created) << created.status().ToString();
  }
  std::string Write(const std::string& name, const std::string& data) {
    return dir_.Write("pg_wal/" + name, data);
  }
  Result<PushResult> Push(const std::string& name, Codec codec = Codec::kZstd) {
    return archive::Push(*storage_,
                         PushConfig{"pg_wal/" + name, dir_.path(), codec, DefaultLevel(codec)});
  }
  Result<GetResult> Get(const std::string& name, const std::string& dest = "pg_wal/RECOVERYXLOG") {
    return archive::Get(*storage_, GetConfig{name, dest, dir_.path()});
  }
  std::vector<std::string> FilesIn(const std::string& sub) {
    std::vector<std::string> out;
    for (const auto& e : fsys::directory_iterator(dir_.path() + "/" + sub))
      out.push_back(e.path().filename());
    return out;
  }
  TempDir dir_;
  std::unique_ptr<Storage> storage_;
};

TEST_F(ArchiveTest, PushThenGetRestoresTheExactBytesWithEveryCodec) {
  for (Codec c : {Codec::kZstd, Codec::kLz4, Codec::kNone}) {
    std::string name =
        std::string("00000001000000000000000") + std::to_string(1 + static_cast<int>(c));
    std::string seg = Segment(name, 42, static_cast<char>('a' + static_cast<int>(c)));
    Write(name, seg);
    auto p = Push(name, c);
    ASSERT_TRUE(p.ok()) << p.status().ToString();
    EXPECT_FALSE(p->already_archived);
    EXPECT_EQ(p->key, "wal/0000000100000000/" + name);
    if (c != Codec::kNone) {
      EXPECT_LT(p->stored_size, seg.size() / 10);
    }
    auto g = Get(name);
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_TRUE(ReadFile(dir_.path() + "/pg_wal/RECOVERYXLOG") == seg);
  }
  auto id = LoadIdentity(*storage_);
  ASSERT_TRUE(id.ok() && id->has_value());
  EXPECT_EQ((*id)->system_identifier, 42u);
  EXPECT_EQ((*id)->pg_version, "15");
}

TEST_F(ArchiveTest, RepushOfIdenticalContentSucceedsChangedContentIsRefused) {
  Write("000000010000000000000001", Segment("000000010000000000000001", 42));
  ASSERT_TRUE(Push("000000010000000000000001").ok());
  auto again = Push("000000010000000000000001");
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_archived);
  // Same bytes, other codec: still the same content.
  EXPECT_TRUE(Push("000000010000000000000001", Codec::kLz4)->already_archived);

  Write("000000010000000000000001", Segment("000000010000000000000001", 42, 'X'));
  auto changed = Push("000000010000000000000001");
  EXPECT_TRUE(changed.status().IsAlreadyExists()) << changed.status().ToString();
  EXPECT_NE(changed.status().message().find("different content"), std::string::npos);
  EXPECT_FALSE(changed.status().hint().empty());
  ASSERT_TRUE(Get("000000010000000000000001").ok());
  EXPECT_TRUE(ReadFile(dir_.path() + "/pg_wal/RECOVERYXLOG") ==
              Segment("000000010000000000000001", 42))
      << "never overwritten";
}

// Exit 0 on a re-push means the repository holds a verified copy of exactly this file: a
// good header over a damaged object is never taken for it, and write-once WAL is never replaced.
TEST_F(ArchiveTest, RepushOverADamagedStoredCopyIsCorruptionNeverSuccess) {
  const std::string name = "000000010000000000000001";
  const std::string key = "wal/0000000100000000/" + name;
  Write(name, Segment(name, 42));
  ASSERT_TRUE(Push(name).ok());
  const std::string good = *GetString(*storage_, key);
  Write("000000010000000000000002", Segment("000000010000000000000002", 42, 'q'));
  ASSERT_TRUE(Push("000000010000000000000002").ok());
  const std::string other_segment =
      *GetString(*storage_, "wal/0000000100000000/000000010000000000000002");
  const size_t nl = good.find('\n');
  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 1;
  std::string other_codec = good;
  other_codec.replace(other_codec.find("\"codec\":\"zstd\""), 14, "\"codec\":\"lz4\"");
  std::string other_codec_none = good;
  other_codec_none.replace(other_codec_none.find("\"codec\":\"zstd\""), 14, "\"codec\":\"none\"");
  const std::pair<std::string, const char*> damaged[] = {
      {good.substr(0, good.size() - 10), "truncated"},
      {good.substr(0, nl + 1), "header only"},
      {flipped, "flipped payload byte"},
      {good + "garbage", "trailing garbage"},
      {other_codec, "another codec (lz4)"},
      {other_codec_none, "another codec (none)"},
      {other_segment, "another segment's object"},
      {"", "empty"},
  };
  for (const auto& [object, what] : damaged) {
    ASSERT_TRUE(PutString(*storage_, key, object).ok());
    auto r = Push(name);
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption)
        << what << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find("damaged"), std::string::npos)
        << what << ": " << r.status().message();
    EXPECT_NE(r.status().message().find(key), std::string::npos)
        << what << ": " << r.status().message();
    EXPECT_NE(r.status().hint().find("delete the object"), std::string::npos)
        << what << ": " << r.status().hint();
    EXPECT_TRUE(*GetString(*storage_, key) == object) << what << ": the stored copy was replaced";
  }
  // Repaired as the hint says: the object deleted, the same file archived again.
  ASSERT_TRUE(storage_->Remove(key).ok());
  auto repaired = Push(name);
  ASSERT_TRUE(repaired.ok()) << repaired.status().ToString();
  EXPECT_FALSE(repaired->already_archived);
  auto again = Push(name, Codec::kLz4);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_TRUE(again->already_archived) << "a verified identical copy, in another codec";
}

TEST_F(ArchiveTest, HistoryFilesAreWriteOnceToo) {
  Write("000000010000000000000001", Segment("000000010000000000000001", 42));
  ASSERT_TRUE(Push("000000010000000000000001").ok());
  Write("00000002.history", "1\t0/3000000\tno recovery target specified\n");
  auto p = Push("00000002.history");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->key, "wal/history/00000002.history");
  Write("00000002.history", "1\t0/4000000\tother\n");
  EXPECT_TRUE(Push("00000002.history").status().IsAlreadyExists());
  ASSERT_TRUE(Get("00000002.history", "pg_wal/RECOVERYHISTORY").ok());
  EXPECT_EQ(ReadFile(dir_.path() + "/pg_wal/RECOVERYHISTORY"),
            "1\t0/3000000\tno recovery target specified\n");
}

TEST_F(ArchiveTest, PartialAndBackupFilesAreAccepted) {
  Write("000000010000000000000003.partial", Segment("000000010000000000000003.partial", 42));
  Write("000000010000000000000002.00000028.backup", "START WAL LOCATION: 0/2000028\n");
  ASSERT_TRUE(Push("000000010000000000000003.partial").ok());
  auto b = Push("000000010000000000000002.00000028.backup");
  ASSERT_TRUE(b.ok()) << b.status().ToString();
  EXPECT_EQ(b->key, "wal/0000000100000000/000000010000000000000002.00000028.backup");
}

TEST_F(ArchiveTest, AnotherClustersSegmentIsRefused) {
  Write("000000010000000000000001", Segment("000000010000000000000001", 42));
  ASSERT_TRUE(Push("000000010000000000000001").ok());
  Write("000000010000000000000002", Segment("000000010000000000000002", 4242));
  auto r = Push("000000010000000000000002");
  EXPECT_EQ(r.status().code(), Status::Code::kFailedPrecondition) << r.status().ToString();
  EXPECT_NE(r.status().message().find("4242"), std::string::npos);
  EXPECT_TRUE(
      storage_->Head("wal/0000000100000000/000000010000000000000002").status().IsNotFound());
}

TEST_F(ArchiveTest, DataDirectoryOfAnotherClusterIsRefused) {
  Write("000000010000000000000001", Segment("000000010000000000000001", 42));
  ASSERT_TRUE(Push("000000010000000000000001").ok());
  MakeDataDir(dir_, 77);
  Write("00000002.history", "x");
  EXPECT_EQ(Push("00000002.history").status().code(), Status::Code::kFailedPrecondition);
}

TEST(RepositoryCreation, ArchivingNeverCreatesARepository) {
  TempDir dir;
  MakeDataDir(dir, 42);
  auto storage = NewMemoryStorage();
  dir.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 42));
  auto push = archive::Push(
      *storage, PushConfig{"pg_wal/000000010000000000000001", dir.path(), Codec::kZstd, 3});
  EXPECT_EQ(push.status().code(), Status::Code::kFailedPrecondition) << push.status().ToString();
  EXPECT_NE(push.status().hint().find("repo-create"), std::string::npos);
  EXPECT_TRUE(ListAll(*storage, "")->empty()) << "nothing stored, no identity made";
  // An uncreated repository (a wrong prefix, an unmounted filesystem) is never "not found".
  auto get = archive::Get(*storage,
                          GetConfig{"000000010000000000000001", "pg_wal/RECOVERYXLOG", dir.path()});
  EXPECT_EQ(get.status().code(), Status::Code::kFailedPrecondition) << get.status().ToString();
}

TEST(RepositoryCreation, CreateIsIdempotentForItsClusterAndRefusesOthers) {
  TempDir dir, other, not_data;
  MakeDataDir(dir, 42);
  MakeDataDir(other, 43);
  auto storage = NewMemoryStorage();
  auto first = CreateRepository(*storage, dir.path());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(first->created);
  EXPECT_EQ(first->identity.system_identifier, 42u);
  EXPECT_EQ(first->identity.pg_version, "15");
  auto again = CreateRepository(*storage, dir.path());
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(again->created);
  EXPECT_EQ(CreateRepository(*storage, other.path()).status().code(),
            Status::Code::kFailedPrecondition);
  EXPECT_EQ(CreateRepository(*storage, not_data.path()).status().code(),
            Status::Code::kInvalidArgument);
}

// Issue 10: repo-create recorded wal_segment_size 0, so the size check never ran.
TEST(RepositoryCreation, RecordsTheClustersWalSegmentSizeFromPgControl) {
  TempDir dir, old;
  MakeDataDir(dir, 42, 64u << 20);
  auto storage = NewMemoryStorage();
  auto created = CreateRepository(*storage, dir.path());
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->identity.wal_segment_size, 64u << 20);
  auto loaded = RequireIdentity(*storage);
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->wal_segment_size, 64u << 20);
  // a 16 MiB segment of the same cluster is refused before anything is stored
  dir.Write("pg_wal/000000010000000000000001", Segment("000000010000000000000001", 42));
  auto push = archive::Push(
      *storage, PushConfig{"pg_wal/000000010000000000000001", dir.path(), Codec::kZstd, 3});
  EXPECT_EQ(push.status().code(), Status::Code::kFailedPrecondition) << push.status().ToString();
  EXPECT_TRUE(storage->Head("wal/0000000100000000/000000010000000000000001").status().IsNotFound());
  // pg_control without the size (repositories made so far record 0): no size check
  MakeDataDir(old, 43);
  auto storage0 = NewMemoryStorage();
  auto created0 = CreateRepository(*storage0, old.path());
  ASSERT_TRUE(created0.ok());
  EXPECT_EQ(created0->identity.wal_segment_size, 0u);
}

// Issue 10: the page header check skipped the magic, the page address and the timeline.
TEST_F(ArchiveTest, ASegmentWhosePageHeaderDisagreesWithItsNameIsRefused) {
  ASSERT_TRUE(storage_->Head(kIdentityKey).ok());
  Write("000000010000000000000004", Segment("000000010000000000000003", 42));  // copied over
  auto r = Push("000000010000000000000004");
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("xlp_pageaddr"), std::string::npos) << r.status().ToString();
  Write("000000010000000000000005.partial", Segment("000000020000000000000005", 42));
  r = Push("000000010000000000000005.partial");
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("xlp_tli"), std::string::npos) << r.status().ToString();
  std::string magic = Segment("000000010000000000000006", 42);
  magic[0] = 0;
  Write("000000010000000000000006", magic);
  r = Push("000000010000000000000006");
  EXPECT_EQ(r.status().code(), Status::Code::kCorruption) << r.status().ToString();
  EXPECT_NE(r.status().message().find("xlp_magic"), std::string::npos) << r.status().ToString();
  auto stored = ListAll(*storage_, "wal/");
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(stored->empty()) << "nothing stored";
}

TEST_F(ArchiveTest, BadNamesAndDamagedFilesAreRefusedBeforeAnythingIsStored) {
  Write("000000010000000000000001.tmp", Segment("000000010000000000000001.tmp", 42));
  EXPECT_EQ(Push("000000010000000000000001.tmp").status().code(), Status::Code::kInvalidArgument);
  Write("000000010000000000000001", Segment("000000010000000000000001", 42, 'w', kSegSize / 2));
  EXPECT_EQ(Push("000000010000000000000001").status().code(), Status::Code::kCorruption)
      << "truncated segment";
  Write("000000010000000000000002", std::string(kSegSize, 'z'));
  EXPECT_EQ(Push("000000010000000000000002").status().code(), Status::Code::kCorruption)
      << "no page header";
  // A missing local file is a local error (exit 8), never "not found" (the repository's answer).
  EXPECT_EQ(Push("000000010000000000000009").status().code(), Status::Code::kIo) << "missing file";
  EXPECT_TRUE(ListAll(*storage_, "wal/")->empty());
}

// Sizes are checked before anything is read or allocated: a huge file is a clear error
// naming it (never std::bad_alloc), and a FIFO never hangs archive-push.
TEST_F(ArchiveTest, OversizedAndSpecialFilesAreRefusedUpFrontNamingTheFile) {
  const std::string seg = Write("000000010000000000000001", "");
  fsys::resize_file(seg, 64ull << 30);  // sparse: 64 GiB, no disk used
  auto huge = Push("000000010000000000000001");
  EXPECT_EQ(huge.status().code(), Status::Code::kCorruption) << huge.status().ToString();
  EXPECT_NE(huge.status().message().find(seg), std::string::npos) << huge.status().message();
  const std::string history = Write("00000002.history", "");
  fsys::resize_file(history, 64ull << 20);
  auto big_history = Push("00000002.history");
  EXPECT_EQ(big_history.status().code(), Status::Code::kCorruption)
      << big_history.status().ToString();
  EXPECT_NE(big_history.status().message().find(history), std::string::npos);
  const std::string fifo = dir_.path() + "/pg_wal/000000010000000000000003";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  int keep = ::open(fifo.c_str(),
                    O_RDWR | O_NONBLOCK);  // a writer that never writes: a read would block forever
  auto special = Push("000000010000000000000003");
  ::close(keep);
  EXPECT_EQ(special.status().code(), Status::Code::kInvalidArgument) << special.status().ToString();
  EXPECT_TRUE(ListAll(*storage_, "wal/")->empty());
}

TEST_F(ArchiveTest, MissingFileIsNotFoundAndLeavesNothingBehind) {
  auto r = Get("000000010000000000000007");
  EXPECT_TRUE(r.status().IsNotFound()) << r.status().ToString();
  EXPECT_TRUE(FilesIn("pg_wal").empty());
}

// kNotFound (exit 1) ends archive recovery: only the repository may say it, never a local path.
TEST_F(ArchiveTest, LocalErrorsOfTheDestinationAreNeverNotFound) {
  Write("000000010000000000000001", Segment("000000010000000000000001", 42));
  ASSERT_TRUE(Push("000000010000000000000001").ok());
  for (const char* wal :
       {"000000010000000000000001", "000000010000000000000002"}) {  // stored, and not
    auto missing_dir = Get(wal, "no-such-dir/RECOVERYXLOG");
    EXPECT_EQ(missing_dir.status().code(), Status::Code::kIo)
        << wal << ": " << missing_dir.status().ToString();
    EXPECT_NE(missing_dir.status().hint().find("no-such-dir"), std::string::npos)
        << missing_dir.status().hint();
    auto empty = Get(wal, "");
    EXPECT_EQ(empty.status().code(), Status::Code::kInvalidArgument)
        << wal << ": " << empty.status().ToString();
    auto dir = Get(wal, "pg_wal");
    EXPECT_EQ(dir.status().code(), Status::Code::kInvalidArgument)
        << wal << ": " << dir.status().ToString();
    auto slash = Get(wal, "pg_wal/");
    EXPECT_EQ(slash.status().code(), Status::Code::kInvalidArgument)
        << wal << ": " << slash.status().ToString();
  }
  // A file in the way of the destination's directory (ENOTDIR).
  Write("000000010000000000000009", "x");
  auto notdir = Get("000000010000000000000001", "pg_wal/000000010000000000000009/RECOVERYXLOG");
  EXPECT_EQ(notdir.status().code(), Status::Code::kIo) << notdir.status().ToString();
  EXPECT_TRUE(Get("000000010000000000000002").status().IsNotFound())
      << "the repository's own answer stays";
}

TEST_F(ArchiveTest, DamagedObjectsAreNeverRestored) {
  Write("000000010000000000000001", Segment("000000010000000000000001", 42));
  ASSERT_TRUE(Push("000000010000000000000001").ok());
  const std::string key = "wal/0000000100000000/000000010000000000000001";
  const std::string good = *GetString(*storage_, key);
  auto expect_refused = [&](const std::string& object, const char* what) {
    ASSERT_TRUE(PutString(*storage_, key, object).ok());
    auto r = Get("000000010000000000000001");
    EXPECT_EQ(r.status().code(), Status::Code::kCorruption)
        << what << ": " << r.status().ToString();
    EXPECT_NE(r.status().message().find(key), std::string::npos)
        << what << ": " << r.status().message();
    EXPECT_FALSE(r.status().hint().empty());
    EXPECT_TRUE(FilesIn("pg_wal").size() == 1)
        << what << ": only the segment itself, no RECOVERYXLOG, no temp";
  };
  std::string flipped = good;
  flipped[flipped.size() - 100] ^= 1;
  expect_refused(flipped, "flipped payload byte");
  expect_refused(good.substr(0, good.size() - 10), "truncated");
  expect_refused(good.substr(good.find('\n') + 1), "no header");
  expect_refused("", "empty");
  std::string lied = good;
  lied.replace(lied.find("\"size\":16777216"), 15, "\"size\":16777215");
  expect_refused(lied, "header size differs");
  // A whole, valid object filed under the wrong name.
  ASSERT_TRUE(PutString(*storage_, key, good).ok());
  ASSERT_TRUE(PutString(*storage_, "wal/0000000100000000/000000010000000000000002", good).ok());
  auto wrong = Get("000000010000000000000002");
  EXPECT_EQ(wrong.status().code(), Status::Code::kCorruption) << wrong.status().ToString();
}

TEST_F(ArchiveTest, NoneCodecDamageIsCaughtBySha256) {
  Write("000000010000000000000001", Segment("000000010000000000000001", 42));
  ASSERT_TRUE(Push("000000010000000000000001", Codec::kNone).ok());
  const std::string key = "wal/0000000100000000/000000010000000000000001";
  std::string obj = *GetString(*storage_, key);
  obj[obj.size() / 2] ^= 1;
  ASSERT_TRUE(PutString(*storage_, key, obj).ok());
  EXPECT_EQ(Get("000000010000000000000001").status().code(), Status::Code::kCorruption);
}

TEST(WalFileName, ParsesThePostgresFormsOnly) {
  EXPECT_EQ(ParseWalFileName("000000010000000A000000FF")->kind, WalFileKind::kSegment);
  EXPECT_EQ(ParseWalFileName("000000010000000A000000FF")->timeline, 1u);
  EXPECT_EQ(ParseWalFileName("0000000A0000000A000000FF.partial")->timeline, 10u);
  EXPECT_EQ(ParseWalFileName("000000010000000A000000FF.00000028.backup")->kind,
            WalFileKind::kBackup);
  EXPECT_EQ(ParseWalFileName("0000000B.history")->timeline, 11u);
  for (const char* bad :
       {"", "RECOVERYXLOG", "000000010000000a000000ff", "00000001000000000000000",
        "000000010000000000000001.gz", "../000000010000000000000001", "00000000.history",
        "000000000000000000000001", "000000010000000000000001.0000002.backup"}) {
    EXPECT_EQ(ParseWalFileName(bad).status().code(), Status::Code::kInvalidArgument) << bad;
  }
  EXPECT_EQ(WalObjectKey(*ParseWalFileName("000000020000000A000000FF.partial")),
            "wal/000000020000000A/000000020000000A000000FF.partial");
}

}  // namespace
}  // namespace walferry::archive
