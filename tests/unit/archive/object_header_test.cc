// Damaged stored-object headers are corruption (exit 7) naming the object,
// never a usage error nor an exception: a 0-byte object, a header of the wrong
// JSON types, a truncated one (issue 10).
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "archive/repository.h"
#include "support/temp_dir.h"
#include "walferry/exit_codes.h"
#include "walferry/storage.h"
#include "walferry/wal_name.h"

namespace walferry::archive {
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
}  // namespace walferry::archive
