// Damaged stored-object headers are corruption (exit 7) naming the object,
// never a usage error nor an exception: a 0-byte object, a header of the wrong
// JSON types, a truncated one (issue 10).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "pg/wal_page.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "support/temp_dir.h"
#include "walferry/exit_codes.h"
#include "walferry/storage.h"
#include "walferry/wal_name.h"

namespace walferry::repo {
namespace {

using testing::TempDir;

constexpr char kKey[] = "wal/0000000100000000/000000010000000000000001";

std::vector<std::pair<std::string, std::unique_ptr<Storage>>> Backends(const TempDir& dir) {
  std::vector<std::pair<std::string, std::unique_ptr<Storage>>> out;
  out.emplace_back("memory", NewMemoryStorage());
  StorageConfig fc;
  fc.repo = "file://" + dir.path();
  auto file = OpenStorage(fc);
  EXPECT_TRUE(file.ok()) << file.status().ToString();
  if (file.ok()) out.emplace_back("file", std::move(file).value());
  return out;
}

TEST(ObjectHeader, ZeroByteObjectIsCorruptionNamingIt) {
  TempDir dir;
  for (auto& [name, storage] : Backends(dir)) {
    ASSERT_TRUE(PutString(*storage, kKey, "").ok()) << name;
    Result<ObjectHeader> h = ReadHeader(*storage, kKey);
    ASSERT_FALSE(h.ok()) << name;
    EXPECT_EQ(h.status().code(), Status::Code::kCorruption)
        << name << ": " << h.status().ToString();
    EXPECT_EQ(ExitCodeFor(h.status()), ExitCode::kCorruption) << name;
    EXPECT_NE(h.status().message().find(kKey), std::string::npos) << h.status().message();
  }
}

TEST(ObjectHeader, MissingObjectStaysNotFound) {
  TempDir dir;
  for (auto& [name, storage] : Backends(dir)) {
    EXPECT_TRUE(ReadHeader(*storage, kKey).status().IsNotFound()) << name;
  }
}

TEST(ObjectHeader, EveryUndecodableHeaderIsCorruption) {
  const std::string sha(64, 'a');
  for (std::string line : {
           std::string(""),
           std::string("x"),
           std::string("[]"),
           std::string("null"),
           std::string(
               "{\"format\":\"1\",\"name\":\"n\",\"codec\":\"zstd\",\"size\":1,\"sha256\":\"" +
               sha + "\"}"),
           std::string("{\"format\":2,\"name\":\"n\",\"codec\":\"zstd\",\"size\":1,\"sha256\":\"" +
                       sha + "\"}"),
           std::string("{\"format\":1,\"name\":7,\"codec\":\"zstd\",\"size\":1,\"sha256\":\"" +
                       sha + "\"}"),
           std::string("{\"format\":1,\"name\":\"n\",\"codec\":5,\"size\":1,\"sha256\":\"" + sha +
                       "\"}"),
           std::string("{\"format\":1,\"name\":\"n\",\"codec\":\"gzip\",\"size\":1,\"sha256\":\"" +
                       sha + "\"}"),
           std::string("{\"format\":1,\"name\":\"n\",\"codec\":\"zstd\",\"size\":-1,\"sha256\":\"" +
                       sha + "\"}"),
           std::string(
               "{\"format\":1,\"name\":\"n\",\"codec\":\"zstd\",\"size\":\"1\",\"sha256\":\"" +
               sha + "\"}"),
           std::string("{\"format\":1,\"name\":\"n\",\"codec\":\"zstd\",\"size\":1,\"sha256\":[]}"),
           std::string("{\"format\":1,\"name\":\"n\",\"codec\":\"zstd\",\"size\":1,\"sha256\":\"" +
                       std::string(64, 'z') + "\"}"),
           std::string("{\"format\":1,\"name\":\"n\",\"codec\":\"zstd\",\"size\":1}"),
           std::string("{\"format\":1,\"name\":\"n\""),
       }) {
    Result<ObjectHeader> h = DecodeHeader(line, kKey);
    ASSERT_FALSE(h.ok()) << line;
    EXPECT_EQ(h.status().code(), Status::Code::kCorruption)
        << line << ": " << h.status().ToString();
    EXPECT_NE(h.status().message().find(kKey), std::string::npos) << h.status().message();
  }
}

TEST(ObjectHeader, RoundTrip) {
  ObjectHeader h{"000000010000000000000001", Codec::kLz4, 16u << 20, std::string(64, 'b')};
  std::string line = EncodeHeader(h);
  ASSERT_EQ(line.back(), '\n');
  line.pop_back();
  Result<ObjectHeader> d = DecodeHeader(line, kKey);
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->name, h.name);
  EXPECT_EQ(d->codec, h.codec);
  EXPECT_EQ(d->size, h.size);
  EXPECT_EQ(d->sha256_hex, h.sha256_hex);
}

}  // namespace
}  // namespace walferry::repo

namespace walferry::repo {
namespace {

// The identity file is repository data too: every field of the wrong type, or
// a segment size PostgreSQL cannot have, is an error naming the file, never an
// exception (found by tests/fuzz: fuzz_object_header/identity_segment_size_is_a_string).
TEST(IdentityFile, FieldsOfTheWrongTypeOrRangeAreErrorsNeverExceptions) {
  const char* bad[] = {
      R"({"format":1,"system_identifier":"1","wal_segment_size":"16"})",
      R"({"format":1,"system_identifier":"1","pg_version":15})",
      R"({"format":1,"system_identifier":"1","wal_segment_size":-1})",
      R"({"format":1,"system_identifier":"1","wal_segment_size":2147483648})",
      R"({"format":1,"system_identifier":"1","wal_segment_size":3145728})",
      R"({"format":1,"system_identifier":"1","wal_segment_size":1.5})",
  };
  for (const char* text : bad) {
    auto storage = NewMemoryStorage();
    ASSERT_TRUE(PutString(*storage, kIdentityKey, text).ok());
    auto id = LoadIdentity(*storage);
    ASSERT_FALSE(id.ok()) << text;
    EXPECT_NE(id.status().code(), Status::Code::kInternal) << text;
    EXPECT_NE(id.status().message().find("walferry.repo"), std::string::npos)
        << id.status().ToString();
  }
  auto storage = NewMemoryStorage();
  ASSERT_TRUE(PutString(*storage, kIdentityKey,
                        R"({"format":1,"system_identifier":"1","wal_segment_size":0})")
                  .ok());
  auto old = LoadIdentity(*storage);  // 0: written by versions that did not know the size
  ASSERT_TRUE(old.ok()) << old.status().ToString();
  ASSERT_TRUE(old->has_value());
  EXPECT_EQ((*old)->wal_segment_size, 0u);
}

TEST(IdentityFile, OneSegmentSizeRule) {
  EXPECT_TRUE(pg::ValidWalSegmentSize(1u << 20));
  EXPECT_TRUE(pg::ValidWalSegmentSize(16u << 20));
  EXPECT_TRUE(pg::ValidWalSegmentSize(1u << 30));
  EXPECT_FALSE(pg::ValidWalSegmentSize(0));
  EXPECT_FALSE(pg::ValidWalSegmentSize(1u << 19));
  EXPECT_FALSE(pg::ValidWalSegmentSize(1ull << 31));
  EXPECT_FALSE(pg::ValidWalSegmentSize(3u << 20));
}

}  // namespace
}  // namespace walferry::repo
