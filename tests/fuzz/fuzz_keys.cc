// fuzz_keys — what an encrypted repository reads that an attacker may have
// written or damaged: the chunked AEAD stream (common/aead.h), the keyring's
// key objects (repo/keyring.h, through an in-memory repository), and the
// key-encryption key's text (common/key_source.h).
// Input sections ("\n----\n"): [0] a KEK source's text; [1] bytes opened as a
// sealed stream; [2] a plaintext the target seals itself, then damages at the
// offset and with the xor mask of [3] ("OFFSET XOR"), and opens; [4] a
// keyring key object stored as every copy of keys/kek-*.json and gen-*.json.
// Invariants: a stream that opens re-seals to exactly its bytes (the format is
// deterministic for a fixed key and prefix) and nothing is passed on beyond
// authenticated chunks; a damaged self-sealed stream never opens, an undamaged
// one gives back its plaintext; a decoded KEK is 32 bytes; every failure is a
// Status of the documented codes, never an exception or a crash.
#include <cstdio>

#include "common/aead.h"
#include "common/key_source.h"
#include "fuzz_util.h"
#include "repo/keyring.h"

using namespace walferry;

namespace {

constexpr size_t kChunk = 32;
const std::string kKey(32, 'k');
const std::string kPrefix("fz01");

class Collect final : public ByteSink {
 public:
  Status Write(const char* data, size_t n) override {
    bytes.append(data, n);
    return Status::Ok();
  }
  std::string bytes;
};

// Opens `sealed` in pieces of 1..37 bytes (varying); the first error or Ok.
Status OpenStream(std::string_view sealed, std::string& out) {
  Collect sink;
  auto open = crypto::ChunkedOpenSink::New(kKey, kPrefix, "fuzz", sink, kChunk);
  FUZZ_CHECK(open.ok(), "ChunkedOpenSink::New");
  size_t piece = 1 + sealed.size() % 37;
  Status s = Status::Ok();
  for (size_t i = 0; i < sealed.size() && s.ok(); i += piece) {
    s = (*open)->Write(sealed.data() + i, std::min(piece, sealed.size() - i));
  }
  if (s.ok()) s = (*open)->Finish();
  out = sink.bytes;
  return s;
}

std::string SealStream(std::string_view plain) {
  Collect sink;
  auto seal = crypto::ChunkedSealSink::New(kKey, kPrefix, "fuzz", sink, kChunk);
  FUZZ_CHECK(seal.ok(), "ChunkedSealSink::New");
  FUZZ_CHECK((*seal)->Write(plain.data(), plain.size()).ok(), "seal write");
  FUZZ_CHECK((*seal)->Finish().ok(), "seal finish");
  return sink.bytes;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto f = fuzz::Sections(fuzz::AsText(data, size), 5);

  for (bool raw : {true, false}) {
    auto kek = crypto::DecodeKeyText(f[0], "fuzz", raw);
    if (kek.ok()) {
      FUZZ_CHECK(kek->size() == 32, "a decoded KEK of %zu bytes", kek->size());
    } else {
      FUZZ_CHECK(kek.status().code() == Status::Code::kInvalidArgument, "KEK text: %s",
                 kek.status().ToString().c_str());
    }
  }

  std::string plain;
  Status opened = OpenStream(f[1], plain);
  if (opened.ok()) {
    FUZZ_CHECK(SealStream(plain) == f[1], "an opened stream does not re-seal to its bytes");
  } else {
    FUZZ_CHECK(opened.code() == Status::Code::kCorruption, "open: %s", opened.ToString().c_str());
    FUZZ_CHECK(plain.size() % kChunk == 0, "a partial chunk was passed on before an error");
  }

  std::string sealed = SealStream(f[2]);
  unsigned long long offset = 0;
  unsigned mask = 0;
  bool damaged = false;
  if (std::sscanf(f[3].c_str(), "%llu %u", &offset, &mask) == 2 && (mask & 0xff) != 0 &&
      offset < sealed.size()) {
    sealed[offset] = static_cast<char>(sealed[offset] ^ (mask & 0xff));
    damaged = true;
  } else if (!f[3].empty() && f[3][0] == 'T' && !sealed.empty()) {
    sealed.resize(sealed.size() - 1 - (size % sealed.size()));  // truncated
    damaged = true;
  }
  std::string back;
  Status s = OpenStream(sealed, back);
  if (damaged) {
    FUZZ_CHECK(s.code() == Status::Code::kCorruption, "a damaged stream opened: %s",
               s.ToString().c_str());
  } else {
    FUZZ_CHECK(s.ok() && back == f[2], "an undamaged stream did not open to its plaintext");
  }

  auto storage = NewMemoryStorage();
  const std::string kek(32, 'K');
  const std::string slot = "keys/kek-" + repo::KekFingerprint(kek);
  for (const std::string& key :
       {slot + ".json", slot + ".copy.json", std::string("keys/gen-000001.json"),
        std::string("keys/gen-000001.copy.json")}) {
    FUZZ_CHECK(PutString(*storage, key, f[4]).ok(), "memory put");
  }
  auto ring = repo::Keyring::Open(*storage, "fuzz-repo", kek);
  if (!ring.ok()) {
    Status::Code c = ring.status().code();
    FUZZ_CHECK(c == Status::Code::kCorruption || c == Status::Code::kAuth ||
                   c == Status::Code::kWrongRepository,
               "keyring: %s", ring.status().ToString().c_str());
  }
  return 0;
}
