// fuzz_spool — the spool's own records, which a crash, a full disk or an
// operator may leave damaged: ok/<name> confirmations (DecodeOk, IsConfirmed),
// err/<name> failure records (LoadErr, ToStatus), staged/<name> meta lines
// (IsStaged), push/state.json (ComputeStatus and the three status formats)
// and the prefetch's get/want file (ReadWant). The input is written as each
// of those files in a scratch spool.
// Invariants: nothing crashes or throws on any record; an ok record that
// decodes round-trips through EncodeOk; a record that names another file or
// repository never confirms it; the status
// counters are never negative.
#include <sys/stat.h>

#include "fuzz_util.h"
#include "spool/prefetch.h"
#include "spool/push.h"

using namespace walferry;
using namespace walferry::spool;

namespace {

constexpr char kRepo[] = "file:///fuzz/repo";
constexpr char kName[] = "000000010000000000000001";

struct Scratch {
  PushDirs dirs;
  SpoolDir spool;
  std::string data_dir, wal_path;
};

const Scratch& Setup() {
  static const Scratch s = [] {
    Scratch x;
    const std::string root = fuzz::ScratchDir();
    x.data_dir = root + "/pgdata";
    ::mkdir(x.data_dir.c_str(), 0700);
    ::mkdir((x.data_dir + "/pg_wal").c_str(), 0700);
    ::mkdir((x.data_dir + "/pg_wal/archive_status").c_str(), 0700);
    x.wal_path = x.data_dir + "/pg_wal/" + kName;
    fuzz::WriteFileOrDie(x.wal_path, "segment");
    auto spool = OpenSpool(root + "/spool", kRepo, x.data_dir);
    FUZZ_CHECK(spool.ok(), "open spool: %s", spool.status().ToString().c_str());
    x.spool = *spool;
    auto dirs = OpenPushDirs(*spool);
    FUZZ_CHECK(dirs.ok(), "open push dirs: %s", dirs.status().ToString().c_str());
    x.dirs = *dirs;
    ::mkdir(x.spool.get_dir.c_str(), 0700);
    return x;
  }();
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string input(fuzz::AsText(data, size));
  const Scratch& s = Setup();

  auto ok = DecodeOk(input, "ok/fuzz");
  if (ok.ok()) {
    auto again = DecodeOk(EncodeOk(*ok), "re-encoded");
    FUZZ_CHECK(again.ok(), "re-encoded ok record does not decode");
    FUZZ_CHECK(again->name == ok->name && again->key == ok->key && again->sha256 == ok->sha256 &&
                   again->repo == ok->repo && again->size == ok->size &&
                   again->stored_size == ok->stored_size && again->time_ms == ok->time_ms &&
                   again->staged == ok->staged && again->source.dev == ok->source.dev &&
                   again->source.ino == ok->source.ino && again->source.size == ok->source.size &&
                   again->source.mtime_ns == ok->source.mtime_ns,
               "ok record changed in the round trip");
  } else {
    FUZZ_CHECK(ok.status().code() == Status::Code::kCorruption, "%s",
               ok.status().ToString().c_str());
  }

  fuzz::WriteFileOrDie(s.dirs.ok + "/" + kName, input);
  if (IsConfirmed(s.dirs, kRepo, kName, s.wal_path)) {
    FUZZ_CHECK(ok.ok() && ok->name == kName && ok->repo == kRepo,
               "a record for another file confirms it");
  }

  fuzz::WriteFileOrDie(s.dirs.err + "/" + kName, input);
  if (auto err = LoadErr(s.dirs, kName)) {
    Status st = err->ToStatus();
    FUZZ_CHECK(!st.ok(), "an error record read as success");
  }

  fuzz::WriteFileOrDie(s.dirs.staged + "/" + kName, input);
  (void)IsStaged(s.dirs, kName, s.wal_path);

  fuzz::WriteFileOrDie(s.dirs.push + "/state.json", input);
  SpoolStatus st = ComputeStatus(s.dirs, kRepo, s.data_dir, 1767225600000);
  FUZZ_CHECK(st.pending_segments >= 0 && st.segments_per_second >= 0, "negative counters");
  (void)StatusJson(st);
  (void)StatusText(st);
  (void)StatusPrometheus(st);

  fuzz::WriteFileOrDie(s.spool.get_dir + "/want", input);
  (void)ReadWant(s.spool);
  ::unlink((s.spool.get_dir + "/want").c_str());
  return 0;
}
