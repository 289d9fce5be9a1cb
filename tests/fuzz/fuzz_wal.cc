// fuzz_wal — what walferry reads from WAL files and the data directory:
// pg::ReadWalPageHeader and pg::CheckWalPageHeader (the first page of a
// segment, from pg_wal or a repository, against its name), the segment size
// in pg_control (pg::WalSegmentSizeFromControlFile), ParseWalFileName and WalObjectKey (names from
// a listing), backup::ParseHistory (a timeline history file from the repository) and
// archive::ReadDataDirIdentity (global/pg_control and PG_VERSION, written
// from the input into a scratch data directory).
// Invariants: a page header that is accepted has the long-header flag, a
// power-of-two segment size from 1 MiB to 1 GiB and a power-of-two block
// size; a header the name check accepts has the name's page address, a timeline
// from 1 to the name's and a known magic; a WAL name that parses prints back to itself and maps to
// a valid key under wal/; a history that parses is non-empty, below its own timeline, with
// increasing timelines and non-decreasing switch points.
#include <sys/stat.h>

#include <cstring>

#include "archive/repository.h"
#include "backup/wal_chain.h"
#include "fuzz_util.h"
#include "pg/control_file.h"
#include "pg/wal_page.h"
#include "pg/wal_segment.h"
#include "walferry/wal_name.h"

using namespace walferry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::AsText(data, size);

  auto page = pg::ReadWalPageHeader(input, "pg_wal/fuzz");
  if (page.ok()) {
    FUZZ_CHECK(size >= 40, "a %zu-byte page header accepted", size);
    uint16_t info;
    std::memcpy(&info, data + 2, 2);
    FUZZ_CHECK(info & 0x0002, "no XLP_LONG_HEADER");
    uint32_t seg = page->segment_size;
    FUZZ_CHECK(seg >= (1u << 20) && seg <= (1u << 30) && (seg & (seg - 1)) == 0,
               "segment size %u accepted (PostgreSQL allows powers of two from 1 MiB to 1 GiB)",
               seg);
    // The check against a name: what it accepts is exactly what the name says.
    for (const char* n : {"000000010000000000000001", "0000000300000002000000A1.partial"}) {
      auto wal = ParseWalFileName(n);
      Status c = pg::CheckWalPageHeader(*page, *wal, 0, "pg_wal/fuzz");
      if (c.ok()) {
        auto segno = pg::SegmentNumber(wal->segment_id, page->segment_size);
        FUZZ_CHECK(segno.ok() && page->page_address == *segno * page->segment_size,
                   "page address accepted");
        FUZZ_CHECK(page->timeline >= 1 && page->timeline <= wal->timeline, "timeline accepted");
        FUZZ_CHECK(!page->pg_version.empty(), "unknown magic accepted");
      } else {
        FUZZ_CHECK(c.code() == Status::Code::kCorruption, "%s", c.ToString().c_str());
      }
    }
  } else {
    FUZZ_CHECK(page.status().code() == Status::Code::kCorruption, "%s",
               page.status().ToString().c_str());
  }

  const uint32_t control_seg = pg::WalSegmentSizeFromControlFile(input);
  FUZZ_CHECK(control_seg == 0 || pg::ValidWalSegmentSize(control_seg), "pg_control size %u",
             control_seg);

  const std::string_view first_line = input.substr(0, input.find('\n'));
  auto name = ParseWalFileName(first_line);
  if (name.ok()) {
    FUZZ_CHECK(name->name == first_line, "name changed");
    const std::string key = WalObjectKey(*name);
    FUZZ_CHECK(key.rfind("wal/", 0) == 0 && ValidateKey(key).ok(), "key '%s'", key.c_str());
    auto again = ParseWalFileName(name->name);
    FUZZ_CHECK(again.ok() && again->kind == name->kind && again->timeline == name->timeline &&
                   again->segment_id == name->segment_id,
               "name round trip");
    if (name->kind != WalFileKind::kHistory) {
      FUZZ_CHECK(name->segment_id.size() == 16, "segment id '%s'", name->segment_id.c_str());
      for (uint64_t s : {1ull << 20, 16ull << 20, 1ull << 30}) {
        auto segno = pg::SegmentNumber(name->segment_id, s);
        if (segno.ok()) {
          FUZZ_CHECK(pg::SegmentName(name->timeline, *segno, s) == name->name.substr(0, 24),
                     "segment number round trip");
        }
      }
    }
  }

  for (uint32_t timeline : {2u, 0xFFFFFFFFu}) {
    auto h = backup::ParseHistory(input, timeline, "fuzz.history");
    if (!h.ok()) {
      FUZZ_CHECK(h.status().code() == Status::Code::kCorruption, "%s",
                 h.status().ToString().c_str());
      continue;
    }
    FUZZ_CHECK(!h->empty(), "empty history accepted");
    for (size_t i = 0; i < h->size(); ++i) {
      FUZZ_CHECK((*h)[i].timeline != 0 && (*h)[i].timeline < timeline, "timeline out of range");
      if (i > 0) {
        FUZZ_CHECK((*h)[i].timeline > (*h)[i - 1].timeline, "timelines not increasing");
        FUZZ_CHECK((*h)[i].switch_lsn >= (*h)[i - 1].switch_lsn, "switch points going back");
      }
    }
    backup::TimelineTree tree;
    tree.Add(timeline, *h);
    (void)tree.Path(h->front().timeline, timeline);
  }

  static const std::string dir = [] {
    std::string d = fuzz::ScratchDir() + "/pgdata";
    ::mkdir(d.c_str(), 0700);
    ::mkdir((d + "/global").c_str(), 0700);
    return d;
  }();
  fuzz::WriteFileOrDie(dir + "/global/pg_control", input);
  fuzz::WriteFileOrDie(
      dir + "/PG_VERSION",
      input.substr(input.find('\n') == std::string_view::npos ? 0 : input.find('\n') + 1));
  auto id = archive::ReadDataDirIdentity(dir);
  if (size < 8) FUZZ_CHECK(!id, "an identity from a %zu-byte pg_control", size);
  return 0;
}
