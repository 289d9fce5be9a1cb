// fuzz_manifest — backup::DecodeManifest on any bytes (a manifest comes from a
// repository that may have been tampered with).
// Invariants: a manifest that decodes satisfies everything the header
// promises (valid paths, modes within 07777, object indexes in range, size
// sums that add up without wrapping, files that tile their objects), and
// encode/decode is a fixed point: Decode(Encode(m)) decodes and encodes to the
// same text.
#include <limits>
#include <set>

#include "backup/manifest.h"
#include "fuzz_util.h"
#include "pg/lsn.h"

using namespace walferry;
using namespace walferry::backup;

namespace {

bool AddNoWrap(uint64_t* sum, uint64_t v) {
  if (v > std::numeric_limits<uint64_t>::max() - *sum) return false;
  *sum += v;
  return true;
}

void CheckInvariants(const BackupManifest& m) {
  FUZZ_CHECK(ValidateBackupName(m.name).ok(), "name '%s'", m.name.c_str());
  FUZZ_CHECK(m.timeline != 0, "timeline 0");
  FUZZ_CHECK(
      m.wal_segment_size >= (1u << 20) && (m.wal_segment_size & (m.wal_segment_size - 1)) == 0,
      "segment size %u", m.wal_segment_size);
  FUZZ_CHECK(pg::ParseLsn(m.start_lsn).ok() && pg::ParseLsn(m.stop_lsn).ok(), "lsn");
  FUZZ_CHECK(ParseUtc(m.start_time).ok() && ParseUtc(m.stop_time).ok(), "time");
  uint64_t stored = 0;
  std::set<std::string> keys;
  for (const auto& o : m.objects) {
    FUZZ_CHECK(AddNoWrap(&stored, o.size), "object sizes wrap around 2^64 (key '%s')",
               o.key.c_str());
    FUZZ_CHECK(ValidateKey(o.key).ok(), "object key '%s'", o.key.c_str());
    FUZZ_CHECK(o.key.rfind(BackupPrefix(m.name) + "data/", 0) == 0,
               "object key '%s' outside the backup", o.key.c_str());
    FUZZ_CHECK(o.sha256.size() == 64, "object sha256");
    FUZZ_CHECK(keys.insert(o.key).second, "object key twice");
  }
  FUZZ_CHECK(stored == m.stored_bytes, "stored_bytes");
  uint64_t original = 0;
  std::set<std::string> paths;
  for (const auto& f : m.files) {
    FUZZ_CHECK(ValidateRelativePath(f.path).ok(), "path");
    FUZZ_CHECK(paths.insert(f.path).second, "path twice");
    FUZZ_CHECK(f.mode <= 07777, "mode %o", f.mode);
    if (f.type != FileType::kFile) continue;
    FUZZ_CHECK(AddNoWrap(&original, f.size), "file sizes wrap around 2^64 (path '%s')",
               f.path.c_str());
    FUZZ_CHECK(f.sha256.size() == 64, "file sha256");
    FUZZ_CHECK(f.size == 0 || f.object.has_value(), "file of %llu bytes without an object",
               static_cast<unsigned long long>(f.size));
    if (f.object) {
      FUZZ_CHECK(*f.object < m.objects.size(), "object index");
      uint64_t end = f.offset;
      FUZZ_CHECK(AddNoWrap(&end, f.size), "offset + size wraps (path '%s')", f.path.c_str());
      FUZZ_CHECK(end <= m.objects[*f.object].raw_size, "file '%s' ends past its object's raw_size",
                 f.path.c_str());
    }
  }
  FUZZ_CHECK(original == m.original_bytes, "original_bytes");
  for (const auto& t : m.tablespaces) {
    FUZZ_CHECK(t.oid != 0 && !t.location.empty() && t.location[0] == '/', "tablespace");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto m = DecodeManifest(fuzz::AsText(data, size), "backup/fuzz/manifest.json");
  if (!m.ok()) {
    auto c = m.status().code();
    FUZZ_CHECK(c == Status::Code::kCorruption || c == Status::Code::kUnsupportedFormat,
               "decode failed with an unexpected code: %s", m.status().ToString().c_str());
    return 0;
  }
  CheckInvariants(*m);
  const std::string text = EncodeManifest(*m);
  auto again = DecodeManifest(text, "re-encoded");
  FUZZ_CHECK(again.ok(), "re-encoded manifest does not decode: %s",
             again.status().ToString().c_str());
  FUZZ_CHECK(EncodeManifest(*again) == text, "encode(decode(encode(m))) != encode(m)");
  FUZZ_CHECK(again->files.size() == m->files.size() && again->objects.size() == m->objects.size(),
             "entries lost in the round trip");
  for (size_t i = 0; i < m->files.size(); ++i) {
    FUZZ_CHECK(again->files[i].path == m->files[i].path, "path '%s' changed in the round trip",
               m->files[i].path.c_str());
  }
  return 0;
}
