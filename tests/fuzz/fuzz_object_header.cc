// fuzz_object_header — the first bytes of a stored WAL object and the
// repository's identity file, both read from a repository that may have been
// tampered with: archive::DecodeHeader (the header line), archive::ReadHeader
// (through an in-memory repository holding the input as an object) and
// archive::LoadIdentity (the input as walferry.repo).
// Invariants: a header that decodes has a 64-character sha256 and round-trips
// (Decode(Encode(h)) == h, Encode ends in its only '\n'); ReadHeader agrees
// with DecodeHeader on the first line; failures are kCorruption (header) or
// kFailedPrecondition (identity), never an exception.
#include "archive/repository.h"
#include "fuzz_util.h"

using namespace walferry;
using namespace walferry::archive;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::AsText(data, size);
  const std::string_view line = input.substr(0, input.find('\n'));

  auto h = DecodeHeader(line, "wal/fuzz");
  if (h.ok()) {
    FUZZ_CHECK(h->sha256_hex.size() == 64, "sha256 of %zu characters", h->sha256_hex.size());
    const std::string encoded = EncodeHeader(*h);
    FUZZ_CHECK(
        !encoded.empty() && encoded.back() == '\n' && encoded.find('\n') == encoded.size() - 1,
        "encoded header is not one line");
    auto again =
        DecodeHeader(std::string_view(encoded).substr(0, encoded.size() - 1), "re-encoded");
    FUZZ_CHECK(again.ok(), "re-encoded header does not decode: %s",
               again.status().ToString().c_str());
    FUZZ_CHECK(again->name == h->name && again->codec == h->codec && again->size == h->size &&
                   again->sha256_hex == h->sha256_hex,
               "header changed in the round trip");
  } else {
    FUZZ_CHECK(h.status().code() == Status::Code::kCorruption, "header: %s",
               h.status().ToString().c_str());
  }

  auto storage = NewMemoryStorage();
  if (size > 0) {
    FUZZ_CHECK(PutString(*storage, "wal/fuzz", input).ok(), "memory put");
    auto r = ReadHeader(*storage, "wal/fuzz");
    // ReadHeader reads the first kMaxHeaderSize bytes: it agrees with DecodeHeader
    // whenever the line ends within them.
    if (input.find('\n') != std::string_view::npos && input.find('\n') < kMaxHeaderSize) {
      FUZZ_CHECK(r.ok() == h.ok(), "ReadHeader and DecodeHeader disagree");
      if (r.ok())
        FUZZ_CHECK(r->sha256_hex == h->sha256_hex && r->name == h->name, "ReadHeader differs");
    } else {
      FUZZ_CHECK(!r.ok(), "a header without a newline in the first %zu bytes was accepted",
                 kMaxHeaderSize);
    }
    if (!r.ok())
      FUZZ_CHECK(r.status().code() == Status::Code::kCorruption, "%s",
                 r.status().ToString().c_str());

    FUZZ_CHECK(PutString(*storage, kIdentityKey, input).ok(), "memory put");
    auto id = LoadIdentity(*storage);
    if (!id.ok()) {
      FUZZ_CHECK(id.status().code() == Status::Code::kFailedPrecondition, "identity: %s",
                 id.status().ToString().c_str());
    } else {
      FUZZ_CHECK(id->has_value(), "an identity file that exists read as absent");
    }
  }
  return 0;
}
