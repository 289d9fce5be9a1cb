// The stored-object writer and reader (repo/object.h): every codec round-trips
// through every way of writing (in memory, streamed, as a Put body) and
// reading (from storage, from memory), byte-identical to format 1; and every
// kind of damage the reader must catch is kCorruption naming the key.
#include "repo/object.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "common/crypto.h"
#include "repo/keys.h"
#include "walferry/exit_codes.h"
#include "walferry/storage.h"

namespace walferry::repo {
namespace {

constexpr char kName[] = "000000010000000000000001";
constexpr char kKey[] = "wal/0000000100000000/000000010000000000000001";

std::string Original(size_t n) {
  std::mt19937 rng(static_cast<unsigned>(n));
  std::string s(n, '\0');
  // Half compressible, half not, so that every codec has work to do.
  for (size_t i = 0; i < n; ++i)
    s[i] = i < n / 2 ? static_cast<char>("walferry"[i % 8]) : static_cast<char>(rng());
  return s;
}

// Writes `original` in uneven pieces, as a file reader would (the same pieces
// each time: an lz4 frame depends on them).
Status WriteAll(ByteSink& w, std::string_view original) {
  for (size_t at = 0; at < original.size();) {
    size_t k = std::min<size_t>(original.size() - at, 7777 + at % 100000);
    WF_RETURN_IF_ERROR(w.Write(original.data() + at, k));
    at += k;
  }
  return Status::Ok();
}

std::string BuildWal(const std::string& original, Codec codec, const std::string& name = kName) {
  auto w =
      ObjectWriter::InMemory(WriteSpec::Wal(name, codec, DefaultLevel(codec)), original.size());
  EXPECT_TRUE(w.ok()) << w.status().ToString();
  EXPECT_TRUE(WriteAll(**w, original).ok());
  EXPECT_TRUE((*w)->Finish().ok());
  return std::string((*w)->object());
}

// Format 1, built by hand: the header line, then the payload through the codec.
std::string WalByHand(const std::string& original, Codec codec, const std::string& name = kName) {
  StringSink payload;
  auto c = CompressSink::New(codec, DefaultLevel(codec), payload);
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE(WriteAll(**c, original).ok());
  EXPECT_TRUE((*c)->Finish().ok());
  return EncodeHeader({name, codec, original.size(), crypto::Sha256Hex(original)}) + payload.out;
}

Status Corrupt(const std::string& stored, const std::string& name = kName) {
  StringSink out;
  auto r = DecodeObject(stored, ReadSpec::Wal(kKey, name), out);
  return r.status();
}

class EveryCodec : public ::testing::TestWithParam<Codec> {};

TEST_P(EveryCodec, WalObjectRoundTripsByteIdenticalToFormatOne) {
  const Codec codec = GetParam();
  for (size_t n : {size_t{0}, size_t{1}, size_t{8192}, size_t{3} << 20}) {
    const std::string original = Original(n);
    auto w = ObjectWriter::InMemory(WriteSpec::Wal(kName, codec, DefaultLevel(codec)), n);
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(WriteAll(**w, original).ok());
    ASSERT_TRUE((*w)->Finish().ok());
    const std::string stored((*w)->object());
    EXPECT_TRUE(stored == WalByHand(original, codec)) << CodecName(codec) << " " << n;
    EXPECT_EQ((*w)->stored_size(), stored.size());
    EXPECT_EQ((*w)->original_size(), n);
    EXPECT_EQ((*w)->header().sha256_hex, crypto::Sha256Hex(original));
    EXPECT_EQ((*w)->header().codec, codec);

    // The buffer is the one the object was built in: the spool stages it whole.
    size_t start = 0;
    std::string buffer = (*w)->TakeBuffer(&start);
    EXPECT_TRUE(buffer.substr(start) == stored);

    StringSink out;
    auto r = DecodeObject(stored, ReadSpec::Wal(kKey, kName), out);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_TRUE(out.out == original);
    EXPECT_EQ(r->original_size, n);
    EXPECT_EQ(r->stored_size, stored.size());
    EXPECT_EQ(r->original_sha256, crypto::Sha256Hex(original));
    EXPECT_EQ(r->header.name, kName);
  }
}

TEST_P(EveryCodec, WalObjectStreamedWithItsHeaderKnownBefore) {
  const Codec codec = GetParam();
  const std::string original = Original(100000);
  WriteSpec spec = WriteSpec::Wal(kName, codec, DefaultLevel(codec));
  spec.header = ObjectHeader{kName, codec, original.size(), crypto::Sha256Hex(original)};
  StringSink stored;
  auto w = ObjectWriter::New(spec, stored);
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  ASSERT_TRUE(WriteAll(**w, original).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_TRUE(stored.out == WalByHand(original, codec));
  EXPECT_EQ((*w)->stored_size(), stored.out.size());

  // Other bytes than the header announced: the object would not verify.
  StringSink other;
  auto w2 = ObjectWriter::New(spec, other);
  ASSERT_TRUE(w2.ok());
  ASSERT_TRUE(WriteAll(**w2, original.substr(1)).ok());
  Status s = (*w2)->Finish();
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << s.ToString();
}

TEST(ObjectWriter, AWalObjectIsNeverStreamedWithoutItsHeader) {
  StringSink out;
  EXPECT_FALSE(ObjectWriter::New(WriteSpec::Wal(kName, Codec::kZstd, 3), out).ok());
}

TEST_P(EveryCodec, DataObjectThroughStorageWithItsRecordedDigest) {
  const Codec codec = GetParam();
  auto storage = NewMemoryStorage();
  const std::string original = Original(1 << 20);
  const std::string key = DataObjectKey("20260120T140312Z", 1);
  auto put = PutObject(*storage, key, WriteSpec::Data(codec, DefaultLevel(codec)), original);
  ASSERT_TRUE(put.ok()) << put.status().ToString();

  StringSink out;
  auto r = GetObject(*storage, ReadSpec::Data(key, codec, {{put->size, put->sha256_hex}}), out);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(out.out == original);
  EXPECT_EQ(r->stored_size, put->size);
  EXPECT_EQ(r->original_size, original.size());

  // Format 1: the payload alone, one codec frame.
  StringSink by_hand;
  auto c = CompressSink::New(codec, DefaultLevel(codec), by_hand);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE((*c)->Write(original.data(), original.size()).ok());
  ASSERT_TRUE((*c)->Finish().ok());
  EXPECT_TRUE(*GetString(*storage, key) == by_hand.out);
  // Codec none stores the original itself (a manifest is its JSON text).
  if (codec == Codec::kNone) {
    EXPECT_TRUE(*GetString(*storage, key) == original);
  }
}

TEST_P(EveryCodec, PartsAreTheFilesOfABundle) {
  const Codec codec = GetParam();
  const std::string a = Original(5000), b = Original(70000);
  auto w = ObjectWriter::InMemory(WriteSpec::Data(codec, DefaultLevel(codec)), 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(WriteAll(**w, a).ok());
  Part pa = (*w)->EndPart();
  ASSERT_TRUE(WriteAll(**w, b).ok());
  Part pb = (*w)->EndPart();
  ASSERT_TRUE((*w)->Finish().ok());
  EXPECT_EQ(pa.offset, 0u);
  EXPECT_EQ(pa.size, a.size());
  EXPECT_EQ(pa.sha256_hex, crypto::Sha256Hex(a));
  EXPECT_EQ(pb.offset, a.size());
  EXPECT_EQ(pb.size, b.size());
  EXPECT_EQ(pb.sha256_hex, crypto::Sha256Hex(b));
  EXPECT_EQ((*w)->original_size(), a.size() + b.size());
  StringSink out;
  ASSERT_TRUE(DecodeObject((*w)->object(), ReadSpec::Data("k", codec), out).ok());
  EXPECT_TRUE(out.out == a + b);
}

// A ByteSource that counts its passes, as a file reopened for a retry would.
class CountingSource final : public ByteSource {
 public:
  explicit CountingSource(std::string data) : data_(std::move(data)) {}
  Result<size_t> Read(char* buf, size_t n) override {
    size_t take = std::min(n, data_.size() - pos_);
    std::memcpy(buf, data_.data() + pos_, take);
    pos_ += take;
    return take;
  }
  Status Rewind() override {
    pos_ = 0;
    ++rewinds;
    return Status::Ok();
  }
  std::optional<uint64_t> Size() const override { return data_.size(); }
  int rewinds = 0;

 private:
  std::string data_;
  size_t pos_ = 0;
};

std::string Drain(ByteSource& s) {
  std::string out;
  char buf[4096];
  for (;;) {
    auto n = s.Read(buf, sizeof buf);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    if (!n.ok() || *n == 0) return out;
    out.append(buf, *n);
  }
}

TEST_P(EveryCodec, ObjectSourceIsAPutBodyThatRestartsOnRewind) {
  const Codec codec = GetParam();
  const std::string original = Original(3 << 20);
  CountingSource file(original);
  auto source = ObjectSource::New(WriteSpec::Data(codec, DefaultLevel(codec)), file);
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE((*source)->Rewind().ok());  // nothing read yet: nothing to start over
  EXPECT_EQ(file.rewinds, 0);
  const std::string first = Drain(**source);
  ASSERT_TRUE((*source)->Rewind().ok());  // a retry
  EXPECT_EQ(file.rewinds, 1);
  const std::string second = Drain(**source);
  EXPECT_TRUE(first == second);
  EXPECT_EQ((*source)->writer().original_size(), original.size());
  EXPECT_EQ((*source)->writer().last_part().sha256_hex, crypto::Sha256Hex(original));
  EXPECT_EQ((*source)->writer().stored_size(), second.size());
  StringSink out;
  ASSERT_TRUE(DecodeObject(second, ReadSpec::Data("k", codec), out).ok());
  EXPECT_TRUE(out.out == original);

  // Through a real Put, as backup-push stores a large file.
  auto storage = NewMemoryStorage();
  ASSERT_TRUE((*source)->Rewind().ok());
  auto put = storage->Put("k", **source, PutOptions{});
  ASSERT_TRUE(put.ok()) << put.status().ToString();
  EXPECT_EQ(put->sha256_hex, crypto::Sha256Hex(second));
}

INSTANTIATE_TEST_SUITE_P(Codecs, EveryCodec,
                         ::testing::Values(Codec::kNone, Codec::kZstd, Codec::kLz4),
                         [](const auto& info) { return std::string(CodecName(info.param)); });

// ---- what the reader must catch ----

class Damage : public ::testing::TestWithParam<Codec> {};

void ExpectCorruptionNamingKey(const Status& s, const std::string& what) {
  EXPECT_EQ(s.code(), Status::Code::kCorruption) << what << ": " << s.ToString();
  EXPECT_EQ(ExitCodeFor(s), ExitCode::kCorruption) << what;
  EXPECT_NE(s.message().find(kKey), std::string::npos) << what << ": " << s.message();
}

TEST_P(Damage, TruncatedAnywhere) {
  const std::string stored = BuildWal(Original(200000), GetParam());
  const size_t header = stored.find('\n') + 1;
  for (size_t keep :
       {size_t{0}, header / 2, header, header + 1, stored.size() / 2, stored.size() - 1}) {
    ExpectCorruptionNamingKey(Corrupt(stored.substr(0, keep)),
                              "truncated to " + std::to_string(keep));
  }
}

TEST_P(Damage, AFlippedPayloadByte) {
  const std::string stored = BuildWal(Original(200000), GetParam());
  const size_t header = stored.find('\n') + 1;
  for (size_t at : {header, header + (stored.size() - header) / 2, stored.size() - 1}) {
    std::string bad = stored;
    bad[at] = static_cast<char>(bad[at] ^ 0x10);
    ExpectCorruptionNamingKey(Corrupt(bad), "byte " + std::to_string(at) + " flipped");
  }
}

TEST_P(Damage, TrailingGarbage) {
  const std::string stored = BuildWal(Original(200000), GetParam());
  ExpectCorruptionNamingKey(Corrupt(stored + "x"), "one byte more");
  ExpectCorruptionNamingKey(Corrupt(stored + stored), "twice");
}

TEST_P(Damage, AHeaderThatNamesAnotherCodec) {
  const Codec codec = GetParam();
  const std::string original = Original(200000);
  const std::string stored = BuildWal(original, codec);
  const std::string payload = stored.substr(stored.find('\n') + 1);
  for (Codec other : {Codec::kNone, Codec::kZstd, Codec::kLz4}) {
    if (other == codec) continue;
    const std::string bad =
        EncodeHeader({kName, other, original.size(), crypto::Sha256Hex(original)}) + payload;
    ExpectCorruptionNamingKey(Corrupt(bad), std::string("header says ") + CodecName(other));
  }
}

TEST_P(Damage, AnotherObjectsHeaderOrPayload) {
  const Codec codec = GetParam();
  const std::string mine = BuildWal(Original(200000), codec);
  const std::string theirs = BuildWal(Original(150000), codec, "000000010000000000000002");
  // Another object filed under this name: its own header, whole and valid.
  ExpectCorruptionNamingKey(Corrupt(theirs), "another object");
  // This object's header on another object's payload.
  const std::string spliced =
      mine.substr(0, mine.find('\n') + 1) + theirs.substr(theirs.find('\n') + 1);
  ExpectCorruptionNamingKey(Corrupt(spliced), "spliced");
}

TEST_P(Damage, NoHeaderLine) {
  const std::string payload = BuildWal(Original(1000), GetParam());
  ExpectCorruptionNamingKey(Corrupt(payload.substr(payload.find('\n') + 1)), "payload alone");
  ExpectCorruptionNamingKey(Corrupt(std::string(kMaxHeaderSize + 10, 'x')), "endless line");
  ExpectCorruptionNamingKey(Corrupt(""), "empty");
}

TEST_P(Damage, ADataObjectAgainstWhatTheManifestRecorded) {
  const Codec codec = GetParam();
  auto w = ObjectWriter::InMemory(WriteSpec::Data(codec, DefaultLevel(codec)), 0);
  ASSERT_TRUE(w.ok());
  ASSERT_TRUE(WriteAll(**w, Original(100000)).ok());
  ASSERT_TRUE((*w)->Finish().ok());
  const std::string stored((*w)->object());
  const ReadSpec::Recorded recorded{stored.size(), crypto::Sha256Hex(stored)};
  auto read = [&](const std::string& bytes) {
    StringSink out;
    return DecodeObject(bytes, ReadSpec::Data(kKey, codec, recorded), out).status();
  };
  ASSERT_TRUE(read(stored).ok());
  std::string flipped = stored;
  flipped[stored.size() / 2] ^= 1;
  for (const auto& [what, bytes] : std::vector<std::pair<std::string, std::string>>{
           {"truncated", stored.substr(0, stored.size() - 1)},
           {"flipped", flipped},
           {"trailing", stored + "x"},
       }) {
    Status s = read(bytes);
    ExpectCorruptionNamingKey(s, what);
    // A codec may notice first, while the bytes stream; codec none only at the end.
    if (codec == Codec::kNone) {
      EXPECT_NE(s.message().find("the manifest says"), std::string::npos) << s.message();
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Codecs, Damage, ::testing::Values(Codec::kNone, Codec::kZstd, Codec::kLz4),
                         [](const auto& info) { return std::string(CodecName(info.param)); });

TEST(GetObject, MissingIsNotFoundAndDamageNamesKeyAndRepository) {
  auto storage = NewMemoryStorage();
  StringSink out;
  EXPECT_TRUE(GetObject(*storage, ReadSpec::Wal(kKey, kName), out).status().IsNotFound());

  std::string stored = BuildWal(Original(100000), Codec::kZstd);
  stored[stored.size() / 2] ^= 1;
  ASSERT_TRUE(PutString(*storage, kKey, stored).ok());
  Status s = GetObject(*storage, ReadSpec::Wal(kKey, kName), out).status();
  ExpectCorruptionNamingKey(s, "flipped in storage");
  EXPECT_NE(s.message().find(storage->Describe()), std::string::npos) << s.message();
}

TEST(ReadHeader, OneSmallReadOfTheHeaderLine) {
  auto storage = NewMemoryStorage();
  const std::string original = Original(3 << 20);
  ASSERT_TRUE(PutString(*storage, kKey, BuildWal(original, Codec::kLz4)).ok());
  auto h = ReadHeader(*storage, kKey);
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->name, kName);
  EXPECT_EQ(h->codec, Codec::kLz4);
  EXPECT_EQ(h->size, original.size());
  EXPECT_EQ(h->sha256_hex, crypto::Sha256Hex(original));
}

}  // namespace
}  // namespace walferry::repo
