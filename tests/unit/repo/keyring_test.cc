// The keyring of an encrypted repository: KEK -> keyring key -> master key
// generations; rotation, adding and removing KEKs, wrong keys, damaged and
// moved key objects, concurrent rotations.
#include "repo/keyring.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "common/crypto.h"
#include "walferry/storage.h"

namespace walferry::repo {
namespace {

const std::string kKekA(32, 'A'), kKekB(32, 'B'), kSalt(16, 's');

// Format vectors, computed with an independent implementation (Python's
// cryptography package: HKDF, HMAC): the derivations must never drift, or
// stored objects would no longer open.
TEST(Keyring, FormatVectors) {
  std::string master;
  for (int i = 100; i < 132; ++i) master.push_back(static_cast<char>(i));
  std::string kek;
  for (int i = 0; i < 32; ++i) kek.push_back(static_cast<char>(i));
  auto dk = DeriveDataKey(master, "repo-1", std::string(16, '\0'),
                          "wal/0000000100000000/000000010000000000000001");
  ASSERT_TRUE(dk.ok());
  EXPECT_EQ(crypto::Hex(*dk), "ab9a8aa89ea62211fdd3acc76c293f5c0648ece69f4e255ce65fd0b880ea013d");
  auto ck = DeriveContentIdKey(master, "repo-1");
  ASSERT_TRUE(ck.ok());
  EXPECT_EQ(crypto::Hex(*ck), "b6e383c443db3cebfd9422c0719cc7b34bd4e7de036aeedbc1982e4bb4b0d703");
  EXPECT_EQ(KekFingerprint(kek), "50670089d92e750f");
}

TEST(Keyring, CreateThenOpenDerivesTheSameKeys) {
  auto storage = NewMemoryStorage();
  auto created = Keyring::Create(*storage, "repo-1", kKekA);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  EXPECT_EQ(created->current(), 1u);
  auto opened = Keyring::Open(*storage, "repo-1", kKekA);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  auto k1 = created->DataKey(1, kSalt, "wal/0000000100000000/000000010000000000000001");
  auto k2 = opened->DataKey(1, kSalt, "wal/0000000100000000/000000010000000000000001");
  ASSERT_TRUE(k1.ok() && k2.ok());
  EXPECT_EQ(*k1, *k2);
  EXPECT_EQ(k1->size(), 32u);
  // bound to the object's name and salt
  EXPECT_NE(*opened->DataKey(1, kSalt, "wal/0000000100000000/000000010000000000000002"), *k1);
  EXPECT_NE(*opened->DataKey(1, std::string(16, 't'), "wal/x"),
            *opened->DataKey(1, kSalt, "wal/x"));
  EXPECT_NE(*opened->ContentIdKey(1), *k1);
  EXPECT_EQ(opened->DataKey(7, kSalt, "x").status().code(), Status::Code::kCorruption);
  // a second keyring is refused
  EXPECT_EQ(Keyring::Create(*storage, "repo-1", kKekB).status().code(),
            Status::Code::kAlreadyExists);
}

TEST(Keyring, AWrongKeyOrNoKeyringSaysSo) {
  auto storage = NewMemoryStorage();
  EXPECT_EQ(Keyring::Open(*storage, "repo-1", kKekA).status().code(),
            Status::Code::kWrongRepository);
  ASSERT_TRUE(Keyring::Create(*storage, "repo-1", kKekA).ok());
  auto wrong = Keyring::Open(*storage, "repo-1", kKekB);
  ASSERT_EQ(wrong.status().code(), Status::Code::kAuth);
  EXPECT_NE(wrong.status().message().find(KekFingerprint(kKekB)), std::string::npos);
  EXPECT_NE(wrong.status().message().find(KekFingerprint(kKekA)), std::string::npos);
  EXPECT_EQ(wrong.status().message().find(kKekA), std::string::npos);
}

TEST(Keyring, RotationAddsAGenerationAndKeepsTheOldOnes) {
  auto storage = NewMemoryStorage();
  auto ring = Keyring::Create(*storage, "repo-1", kKekA);
  ASSERT_TRUE(ring.ok());
  std::string old_key = *ring->DataKey(1, kSalt, "obj");
  auto gen = ring->Rotate(*storage);
  ASSERT_TRUE(gen.ok()) << gen.status().ToString();
  EXPECT_EQ(*gen, 2u);
  auto opened = Keyring::Open(*storage, "repo-1", kKekA);
  ASSERT_TRUE(opened.ok());
  EXPECT_EQ(opened->current(), 2u);
  EXPECT_EQ(opened->generations().size(), 2u);
  EXPECT_EQ(*opened->DataKey(1, kSalt, "obj"), old_key);
  EXPECT_NE(*opened->DataKey(2, kSalt, "obj"), old_key);
}

TEST(Keyring, ConcurrentRotationsAgreeOnOneGeneration) {
  auto storage = NewMemoryStorage();
  ASSERT_TRUE(Keyring::Create(*storage, "repo-1", kKekA).ok());
  auto a = Keyring::Open(*storage, "repo-1", kKekA);
  auto b = Keyring::Open(*storage, "repo-1", kKekA);
  ASSERT_TRUE(a.ok() && b.ok());
  auto ga = a->Rotate(*storage);
  auto gb = b->Rotate(*storage);  // b still believes generation 1 is current
  ASSERT_TRUE(ga.ok() && gb.ok()) << gb.status().ToString();
  EXPECT_EQ(*ga, 2u);
  EXPECT_EQ(*gb, 2u);  // adopted, not a second generation 2
  EXPECT_EQ(*a->DataKey(2, kSalt, "obj"), *b->DataKey(2, kSalt, "obj"));
}

TEST(Keyring, KeysAreAddedAndRemovedWithoutTouchingGenerations) {
  auto storage = NewMemoryStorage();
  auto ring = Keyring::Create(*storage, "repo-1", kKekA);
  ASSERT_TRUE(ring.ok());
  std::string key = *ring->DataKey(1, kSalt, "obj");
  ASSERT_TRUE(ring->AddKek(*storage, kKekB).ok());
  EXPECT_EQ(ring->AddKek(*storage, kKekB).code(), Status::Code::kAlreadyExists);
  auto viaB = Keyring::Open(*storage, "repo-1", kKekB);
  ASSERT_TRUE(viaB.ok()) << viaB.status().ToString();
  EXPECT_EQ(*viaB->DataKey(1, kSalt, "obj"), key);
  ASSERT_EQ(viaB->Keks(*storage)->size(), 2u);
  ASSERT_TRUE(viaB->RemoveKek(*storage, KekFingerprint(kKekA)).ok());
  EXPECT_EQ(Keyring::Open(*storage, "repo-1", kKekA).status().code(), Status::Code::kAuth);
  EXPECT_EQ(viaB->RemoveKek(*storage, KekFingerprint(kKekB)).code(),
            Status::Code::kInvalidArgument);  // the last one
  EXPECT_EQ(viaB->RemoveKek(*storage, "0000000000000000").code(), Status::Code::kNotFound);
}

TEST(Keyring, OneDamagedCopyIsSurvivedTwoAreCorruption) {
  auto storage = NewMemoryStorage();
  ASSERT_TRUE(Keyring::Create(*storage, "repo-1", kKekA).ok());
  const std::string gen = "keys/gen-000001";
  auto text = GetString(*storage, gen + ".json");
  ASSERT_TRUE(text.ok());
  std::string damaged = *text;
  damaged[damaged.find("\"wrapped\": \"") + 20] ^= 1;
  ASSERT_TRUE(PutString(*storage, gen + ".json", damaged).ok());
  EXPECT_TRUE(Keyring::Open(*storage, "repo-1", kKekA).ok());
  ASSERT_TRUE(PutString(*storage, gen + ".copy.json", "{}").ok());
  auto both = Keyring::Open(*storage, "repo-1", kKekA);
  EXPECT_EQ(both.status().code(), Status::Code::kCorruption);
  EXPECT_NE(both.status().message().find("gen-000001"), std::string::npos);
}

TEST(Keyring, KeyObjectsCannotBeMovedToAnotherRepositoryOrGeneration) {
  auto one = NewMemoryStorage();
  auto two = NewMemoryStorage();
  ASSERT_TRUE(Keyring::Create(*one, "repo-1", kKekA).ok());
  ASSERT_TRUE(Keyring::Create(*two, "repo-2", kKekA).ok());
  // repo-1's key objects copied over repo-2's
  for (const char* k : {"keys/gen-000001.json", "keys/gen-000001.copy.json"}) {
    ASSERT_TRUE(PutString(*two, k, *GetString(*one, k)).ok());
  }
  EXPECT_EQ(Keyring::Open(*two, "repo-2", kKekA).status().code(), Status::Code::kCorruption);
  // generation 1 presented as generation 2
  auto three = NewMemoryStorage();
  ASSERT_TRUE(Keyring::Create(*three, "repo-3", kKekA).ok());
  std::string g1 = *GetString(*three, "keys/gen-000001.json");
  std::string as2 = g1;
  as2.replace(as2.find("gen-000001"), 10, "gen-000002");
  ASSERT_TRUE(PutString(*three, "keys/gen-000002.json", as2).ok());
  EXPECT_EQ(Keyring::Open(*three, "repo-3", kKekA).status().code(), Status::Code::kCorruption);
}

}  // namespace
}  // namespace walferry::repo
