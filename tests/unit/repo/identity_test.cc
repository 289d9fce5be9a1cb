// The identity file in format 2 (issue 11): repo-create --encryption writes a
// repository id, "encryption" and the first key generation; format 1 is read
// as before; an encrypted repository is refused by every other command until
// they have their encryption stage.
#include "repo/identity.h"

#include <gtest/gtest.h>

#include <string>

#include "repo/keyring.h"
#include "repo/keys.h"
#include "support/temp_dir.h"
#include "support/wal_segment.h"
#include "walferry/storage.h"

namespace walferry::repo {
namespace {

using walferry::testing::MakeDataDir;
using walferry::testing::TempDir;

const std::string kKek(32, 'K'), kOtherKek(32, 'O');

TEST(IdentityFormat2, EncryptedCreateWritesIdAndFirstGeneration) {
  TempDir dir;
  MakeDataDir(dir, 42);
  auto storage = NewMemoryStorage();
  auto created = CreateRepository(*storage, CreateSpec{dir.path(), kKek});
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_TRUE(created->created);
  EXPECT_EQ(created->generation, 1u);
  EXPECT_EQ(created->identity.format, 2);
  EXPECT_EQ(created->identity.encryption, kEncryptionAes256Gcm);
  EXPECT_EQ(created->identity.repository_id.size(), 32u);

  auto loaded = LoadIdentity(*storage);
  ASSERT_TRUE(loaded.ok() && loaded->has_value()) << loaded.status().ToString();
  EXPECT_EQ((*loaded)->format, 2);
  EXPECT_EQ((*loaded)->repository_id, created->identity.repository_id);
  EXPECT_TRUE((*loaded)->encrypted());
  EXPECT_EQ((*loaded)->system_identifier, 42u);
  auto text = GetString(*storage, kIdentityKey);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("\"format\": 2"), std::string::npos) << *text;
  EXPECT_EQ(text->find(kKek), std::string::npos);

  // the keyring opens with the KEK under the recorded repository id
  auto ring = Keyring::Open(*storage, (*loaded)->repository_id, kKek);
  ASSERT_TRUE(ring.ok()) << ring.status().ToString();
  EXPECT_EQ(ring->current(), 1u);
  EXPECT_TRUE(storage->Head("keys/gen-000001.json").ok());
  EXPECT_TRUE(storage->Head("keys/gen-000001.copy.json").ok());

  // two repositories never share an id
  TempDir dir2;
  MakeDataDir(dir2, 42);
  auto storage2 = NewMemoryStorage();
  auto other = CreateRepository(*storage2, CreateSpec{dir2.path(), kKek});
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->identity.repository_id, created->identity.repository_id);
}

TEST(IdentityFormat2, EncryptedRepositoryIsRefusedByCommandsUntilTheyEncrypt) {
  TempDir dir;
  MakeDataDir(dir, 42);
  auto storage = NewMemoryStorage();
  ASSERT_TRUE(CreateRepository(*storage, CreateSpec{dir.path(), kKek}).ok());
  auto required = RequireIdentity(*storage);
  EXPECT_EQ(required.status().code(), Status::Code::kNotSupported) << required.status().ToString();
  EXPECT_NE(required.status().message().find("encrypted"), std::string::npos);
}

TEST(IdentityFormat2, RepeatedCreateChecksTheKeyAndTheEncryption) {
  TempDir dir;
  MakeDataDir(dir, 42);
  auto storage = NewMemoryStorage();
  ASSERT_TRUE(CreateRepository(*storage, CreateSpec{dir.path(), kKek}).ok());
  auto again = CreateRepository(*storage, CreateSpec{dir.path(), kKek});
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_FALSE(again->created);
  EXPECT_EQ(again->generation, 1u);
  // a wrong KEK is an authentication error
  EXPECT_EQ(CreateRepository(*storage, CreateSpec{dir.path(), kOtherKek}).status().code(),
            Status::Code::kAuth);
  // without a key: refused, the repository is encrypted
  EXPECT_EQ(CreateRepository(*storage, dir.path()).status().code(),
            Status::Code::kFailedPrecondition);

  // a plaintext repository is never encrypted in place
  auto plain = NewMemoryStorage();
  ASSERT_TRUE(CreateRepository(*plain, dir.path()).ok());
  auto refused = CreateRepository(*plain, CreateSpec{dir.path(), kKek});
  EXPECT_EQ(refused.status().code(), Status::Code::kFailedPrecondition);
  EXPECT_TRUE(plain->Head("keys/gen-000001.json").status().IsNotFound());
}

TEST(IdentityFormat2, PlaintextCreateStaysFormat1) {
  TempDir dir;
  MakeDataDir(dir, 42);
  auto storage = NewMemoryStorage();
  auto created = CreateRepository(*storage, dir.path());
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(created->identity.format, 1);
  EXPECT_FALSE(created->identity.encrypted());
  auto text = GetString(*storage, kIdentityKey);
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("\"format\": 1"), std::string::npos) << *text;
  EXPECT_EQ(text->find("repository_id"), std::string::npos);
  EXPECT_TRUE(RequireIdentity(*storage).ok());
}

TEST(IdentityFormat2, DamagedFieldsAreNamedErrors) {
  const std::string base =
      R"({"format": 2, "system_identifier": "42", "pg_version": "15", "wal_segment_size": 0)";
  struct Case {
    std::string tail;
    const char* says;
  } cases[] = {
      {R"(, "encryption": "aes-256-gcm"})", "no repository id"},
      {R"(, "repository_id": "xyz", "encryption": "aes-256-gcm"})", "malformed repository id"},
      {R"(, "repository_id": "0123456789abcdef0123456789abcdef"})", "encrypted"},
      {R"(, "repository_id": "0123456789abcdef0123456789abcdef", "encryption": "rot13"})", "rot13"},
  };
  for (const Case& c : cases) {
    auto storage = NewMemoryStorage();
    ASSERT_TRUE(PutString(*storage, kIdentityKey, base + c.tail).ok());
    auto loaded = LoadIdentity(*storage);
    EXPECT_EQ(loaded.status().code(), Status::Code::kFailedPrecondition) << c.tail;
    EXPECT_NE(loaded.status().message().find(c.says), std::string::npos)
        << loaded.status().ToString();
  }
  auto storage = NewMemoryStorage();
  ASSERT_TRUE(
      PutString(*storage, kIdentityKey, R"({"format": 3, "system_identifier": "42"})").ok());
  EXPECT_EQ(LoadIdentity(*storage).status().code(), Status::Code::kFailedPrecondition);
  // a format-2 plaintext identity is read and accepted
  ASSERT_TRUE(PutString(*storage, kIdentityKey,
                        base + R"(, "repository_id": "0123456789abcdef0123456789abcdef",)" +
                            R"( "encryption": "none"})")
                  .ok());
  auto plain = RequireIdentity(*storage);
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  EXPECT_EQ(plain->format, 2);
  EXPECT_FALSE(plain->encrypted());
}

}  // namespace
}  // namespace walferry::repo
