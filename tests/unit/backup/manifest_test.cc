// The backup manifest: round trip, strict validation of tampered input, the
// repository layout, and object verification on the in-memory backend.
#include "backup/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/crypto.h"

namespace walferry::backup {
namespace {

using nlohmann::json;

// Stores one object holding `contents` laid end to end and returns a manifest for them.
BackupManifest MakeBackup(Storage& storage, const std::string& name,
                          const std::vector<std::pair<std::string, std::string>>& contents,
                          Codec codec = Codec::kZstd) {
  BackupManifest m;
  m.name = name;
  m.system_identifier = "7318012345678901234";
  m.pg_version = "15";
  m.timeline = 1;
  m.start_time = "2026-01-20T14:03:12Z";
  m.stop_time = "2026-01-20T14:04:00Z";
  m.start_lsn = "0/3000028";
  m.stop_lsn = "0/3000138";
  m.start_wal = "000000010000000000000003";
  m.stop_wal = "000000010000000000000003";
  m.wal_segment_size = 16u << 20;
  m.compression = codec;
  m.backup_label = "START WAL LOCATION: 0/3000028 (file 000000010000000000000003)\n";
  m.files.push_back({"base", FileType::kDir, 0700, 1, 0, "", std::nullopt, 0, ""});
  std::string raw;
  for (const auto& [path, data] : contents) {
    ManifestFile f;
    f.path = path;
    f.mode = 0600;
    f.mtime = 1700000000;
    f.size = data.size();
    f.sha256 = crypto::Sha256Hex(data);
    if (!data.empty()) {
      f.object = 0;
      f.offset = raw.size();
    }
    raw += data;
    m.original_bytes += data.size();
    m.files.push_back(f);
  }
  StringSink compressed;
  auto c = CompressSink::New(codec, DefaultLevel(codec), compressed);
  EXPECT_TRUE(c.ok());
  EXPECT_TRUE((*c)->Write(raw.data(), raw.size()).ok());
  EXPECT_TRUE((*c)->Finish().ok());
  StoredObject o{DataObjectKey(name, 1), compressed.out.size(), crypto::Sha256Hex(compressed.out),
                 raw.size()};
  EXPECT_TRUE(PutString(storage, o.key, compressed.out).ok());
  m.objects.push_back(o);
  m.stored_bytes = o.size;
  EXPECT_TRUE(PutString(storage, ManifestKey(name), EncodeManifest(m)).ok());
  return m;
}

BackupManifest Sample() {
  auto storage = NewMemoryStorage();
  return MakeBackup(*storage, "20260120T140312Z",
                    {{"base/1", "hello"}, {"base/2", ""}, {"PG_VERSION", "15\n"}});
}

// Decodes `j` after `edit` and returns the error message (empty when it decodes).
std::string DecodeError(const std::function<void(json&)>& edit) {
  json j = json::parse(EncodeManifest(Sample()));
  edit(j);
  auto m = DecodeManifest(j.dump(), "backup/x/manifest.json");
  return m.ok() ? "" : m.status().ToString();
}

TEST(ManifestTest, RoundTrip) {
  BackupManifest m = Sample();
  m.tablespaces.push_back({16384, "ts1", "/srv/ts1"});
  m.files.push_back({"pg_tblspc", FileType::kDir, 0700, 1, 0, "", std::nullopt, 0, ""});
  m.files.push_back(
      {"pg_tblspc/16384", FileType::kLink, 0777, 1, 0, "", std::nullopt, 0, "/srv/ts1"});
  m.files.push_back(
      {"pg_tblspc/16384/PG_15_1", FileType::kDir, 0700, 1, 0, "", std::nullopt, 0, ""});
  m.from_standby = true;
  m.duration_seconds = 1.5;
  auto d = DecodeManifest(EncodeManifest(m), "k");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(EncodeManifest(*d), EncodeManifest(m));
  EXPECT_EQ(d->files.size(), m.files.size());
  EXPECT_EQ(d->tablespaces[0].location, "/srv/ts1");
  EXPECT_TRUE(d->from_standby);
  EXPECT_EQ(d->files[1].object, std::optional<uint32_t>(0));
  EXPECT_EQ(d->files[2].object, std::nullopt);  // the empty file
}

TEST(ManifestTest, Keys) {
  EXPECT_EQ(ManifestKey("20260120T140312Z"), "backup/20260120T140312Z/manifest.json");
  EXPECT_EQ(DataObjectKey("20260120T140312Z", 7), "backup/20260120T140312Z/data/000007");
  EXPECT_EQ(BackupPrefix("b"), "backup/b/");
  EXPECT_TRUE(ValidateBackupName("20260120T140312Z").ok());
  for (const char* bad : {"", ".x", "a/b", "..", "a b", "a\nb"})
    EXPECT_FALSE(ValidateBackupName(bad).ok()) << bad;
}

TEST(ManifestTest, RelativePaths) {
  // A data directory may hold any name but NUL and '/' (issue 10): control
  // bytes, newlines and bytes that are not UTF-8 are names like any other.
  for (const char* good : {"a", "base/1/2", "pg_tblspc/16384/PG_15_1/5/1", "a..b", "...", ".a",
                           "a\x01", "a\nb", "\xff\xfe", "a\\b"}) {
    EXPECT_TRUE(ValidateRelativePath(good).ok()) << good;
  }
  for (const char* bad :
       {"", "/etc/passwd", "..", "../x", "a/../../x", "a/..", "./a", "a/./b", "a//b", "a/"}) {
    EXPECT_FALSE(ValidateRelativePath(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateRelativePath(std::string("a\0b", 3)).ok());
  EXPECT_FALSE(ValidateRelativePath(std::string(4097, 'a')).ok());
}

TEST(ManifestTest, RefusesPathEscapes) {
  for (const char* p :
       {"../etc/passwd", "/etc/passwd", "base/../../x", "base//1", "base/./1", ""}) {
    std::string err = DecodeError([&](json& j) { j["files"][1]["path"] = p; });
    EXPECT_NE(err.find("files[1].path"), std::string::npos) << p << ": " << err;
  }
}

TEST(ManifestTest, RefusesWritesThroughLinks) {
  std::string err = DecodeError([](json& j) {
    j["files"][0] = {
        {"path", "base"}, {"type", "link"}, {"mode", 0777}, {"mtime", 1}, {"target", "/etc"}};
  });
  EXPECT_NE(err.find("inside the link 'base'"), std::string::npos) << err;
  err = DecodeError([](json& j) { j["files"][1]["path"] = "nodir/1"; });
  EXPECT_NE(err.find("no directory entry"), std::string::npos) << err;
  err = DecodeError([](json& j) {
    j["files"].push_back({{"path", "pg_tblspc"}, {"type", "dir"}, {"mode", 0700}, {"mtime", 1}});
    j["files"].push_back({{"path", "pg_tblspc/1"},
                          {"type", "link"},
                          {"mode", 0777},
                          {"mtime", 1},
                          {"target", "/x"}});
  });
  EXPECT_NE(err.find("not a listed tablespace"), std::string::npos) << err;
}

TEST(ManifestTest, RefusesMalformedFields) {
  struct Case {
    std::function<void(json&)> edit;
    const char* expect;
  };
  std::vector<Case> cases = {
      {[](json& j) { j.erase("name"); }, "name: is missing"},
      {[](json& j) { j["name"] = "../x"; }, "name: is not a valid backup name"},
      {[](json& j) { j["kind"] = "incr"; }, "kind"},
      {[](json& j) { j["system_identifier"] = 7; }, "system_identifier: is not a string"},
      {[](json& j) { j["system_identifier"] = "12a"; }, "system_identifier"},
      {[](json& j) { j["timeline"] = -1; }, "timeline"},
      {[](json& j) { j["timeline"] = 0; }, "timeline: is 0"},
      {[](json& j) { j["start_time"] = "yesterday"; }, "start_time"},
      {[](json& j) { j["stop_lsn"] = "0x3"; }, "stop_lsn"},
      {[](json& j) { j["start_wal"] = "00000001000000000000000"; }, "start_wal"},
      {[](json& j) { j["start_wal"] = "00000001000000000000000g"; }, "start_wal"},
      {[](json& j) { j["wal_segment_size"] = 1000; }, "wal_segment_size"},
      {[](json& j) { j["compression"] = "gzip"; }, "compression"},
      {[](json& j) { j["original_bytes"] = 1; }, "original_bytes"},
      {[](json& j) { j["stored_bytes"] = 1; }, "stored_bytes"},
      {[](json& j) { j["objects"][0]["sha256"] = "ABC"; }, "objects[0].sha256"},
      {[](json& j) { j["objects"][0]["key"] = "backup/other/data/000001"; }, "objects[0].key"},
      {[](json& j) { j["objects"][0]["key"] = "wal/000000010000000000000001"; }, "objects[0].key"},
      {[](json& j) { j["objects"][0]["raw_size"] = 1; }, "raw_size"},
      {[](json& j) { j["files"][1]["size"] = "5"; }, "files[1].size"},
      {[](json& j) { j["files"][1]["sha256"] = std::string(64, 'g'); }, "files[1].sha256"},
      {[](json& j) { j["files"][1]["object"] = 9; }, "files[1].object"},
      {[](json& j) { j["files"][1].erase("object"); }, "files[1].object: is missing"},
      {[](json& j) { j["files"][1]["offset"] = 1; }, "offset"},
      {[](json& j) { j["files"][1]["type"] = "fifo"; }, "files[1].type"},
      {[](json& j) { j["files"][1]["mode"] = 010000; }, "files[1].mode"},
      {[](json& j) { j["files"][2]["path"] = "base/1"; }, "listed twice"},
      {[](json& j) {
         j["tablespaces"] = json::array({{{"oid", 5}, {"location", "rel/path"}}});
       },
       "tablespaces[0].location"},
      {[](json& j) { j["files"] = json::object(); }, "files: is not an array"},
  };
  for (const auto& c : cases) {
    std::string err = DecodeError(c.edit);
    EXPECT_NE(err.find(c.expect), std::string::npos) << "want '" << c.expect << "', got: " << err;
    EXPECT_NE(err.find("corruption"), std::string::npos) << err;
  }
  auto m = DecodeManifest("{", "k");
  EXPECT_EQ(m.status().code(), Status::Code::kCorruption);
  m = DecodeManifest("[]", "k");
  EXPECT_EQ(m.status().code(), Status::Code::kCorruption);
  std::string err = DecodeError([](json& j) { j["format"] = 3; });
  EXPECT_NE(err.find("format 3"), std::string::npos) << err;
  m = DecodeManifest(json::parse(EncodeManifest(Sample())).dump(), "k");
  EXPECT_TRUE(m.ok());
}

// Every byte string a data directory can hold round-trips (issue 10: a name
// with a newline was written and then refused; one not UTF-8 made push throw).
TEST(ManifestTest, EveryFileNameRoundTrips) {
  std::vector<std::string> names = {"ctl\nname",
                                    "tab\tname",
                                    std::string("\x01\x1f\x7f"),
                                    "\xff\xfe",
                                    "caf\xc3\xa9",  // valid UTF-8 stays text
                                    "\xc3",
                                    "\xed\xa0\x80",  // truncated, a surrogate
                                    "back\\slash\"quote",
                                    "%41",
                                    "name_b64"};
  for (int b = 1; b < 256; ++b) {
    if (b != '/') names.push_back("byte" + std::string(1, static_cast<char>(b)));
  }
  auto storage = NewMemoryStorage();
  std::vector<std::pair<std::string, std::string>> contents;
  for (const auto& n : names) contents.push_back({"base/" + n, "x" + n});
  BackupManifest m = MakeBackup(*storage, "b", contents);
  m.backup_label = "LABEL: \xff\n";
  m.tablespaces.push_back({16384, "sp\xe9", "/srv/\xff\nts"});
  m.files.push_back({"pg_tblspc", FileType::kDir, 0700, 1, 0, "", std::nullopt, 0, ""});
  m.files.push_back(
      {"pg_tblspc/16384", FileType::kLink, 0777, 1, 0, "", std::nullopt, 0, "/srv/\xff\nts"});
  m.files.push_back({"link\x80", FileType::kLink, 0777, 1, 0, "", std::nullopt, 0, "/t\x80\n"});
  const std::string text = EncodeManifest(m);
  auto d = DecodeManifest(text, "k");
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->format, kManifestFormat);  // a "_b64" field: format 2
  ASSERT_EQ(d->files.size(), m.files.size());
  for (size_t i = 0; i < m.files.size(); ++i) {
    EXPECT_EQ(d->files[i].path, m.files[i].path);
    EXPECT_EQ(d->files[i].target, m.files[i].target);
  }
  EXPECT_EQ(d->backup_label, m.backup_label);
  EXPECT_EQ(d->tablespaces[0].name, "sp\xe9");
  EXPECT_EQ(d->tablespaces[0].location, "/srv/\xff\nts");
  EXPECT_EQ(EncodeManifest(*d), text);
  // Plain names stay readable text; the others are base64 under "path_b64".
  json j = json::parse(text);
  bool plain = false, encoded = false;
  for (const auto& f : j["files"]) {
    if (f.contains("path") && f["path"] == "base/caf\xc3\xa9") plain = true;
    if (f.contains("path_b64") && !f.contains("path")) encoded = true;
  }
  EXPECT_TRUE(plain);
  EXPECT_TRUE(encoded);
  // A manifest that needs no "_b64" stays format 1 (older walferry reads it).
  EXPECT_EQ(json::parse(EncodeManifest(Sample()))["format"], 1);
}

TEST(ManifestTest, RefusesBadBase64AndAmbiguousNames) {
  EXPECT_NE(DecodeError([](json& j) {
              j["files"][1].erase("path");
              j["files"][1]["path_b64"] = "!!!!";
            }).find("files[1].path_b64: is not base64"),
            std::string::npos);
  EXPECT_NE(DecodeError([](json& j) {
              j["files"][1].erase("path");
              j["files"][1]["path_b64"] = "YmFzZS8x=";  // not canonical
            }).find("path_b64"),
            std::string::npos);
  EXPECT_NE(DecodeError([](json& j) {
              j["files"][1]["path_b64"] = "YmFzZS8x";
            }).find("both as text and as path_b64"),
            std::string::npos);
  // base64 of "base/1" decodes to the same name: listed twice.
  EXPECT_NE(DecodeError([](json& j) {
              j["files"][2].erase("path");
              j["files"][2]["path_b64"] = "YmFzZS8x";
            }).find("listed twice"),
            std::string::npos);
  EXPECT_NE(DecodeError([](json& j) {
              j["files"][1].erase("path");
              j["files"][1]["path_b64"] = "YmFzZQAx";  // "base\0" "1"
            }).find("NUL"),
            std::string::npos);
}

// Sizes that add up past 2^64 wrap to a small number: refused, not accepted.
TEST(ManifestTest, RefusesSizeSumsThatWrap) {
  std::string err = DecodeError([](json& j) {
    j["objects"][0]["size"] = UINT64_MAX;
    j["objects"].push_back(j["objects"][0]);
    j["objects"][1]["key"] = "backup/20260120T140312Z/data/000002";
    j["objects"][1]["size"] = 2;
    j["stored_bytes"] = 1;  // UINT64_MAX + 2 wraps to 1
  });
  EXPECT_NE(err.find("more than 2^64"), std::string::npos) << err;
  err = DecodeError([](json& j) {
    // 5 + (2^64 - 5) wraps to 0: the sum of file sizes.
    j["files"][2]["size"] = UINT64_MAX - 4;
    j["files"][2]["object"] = 0;
    j["files"][2]["offset"] = 5;
    j["original_bytes"] = 3;
  });
  EXPECT_NE(err.find("more than 2^64"), std::string::npos) << err;
}

// A manifest beyond the size bound is refused before it is parsed.
TEST(ManifestTest, RefusesOversizedManifest) {
  auto storage = NewMemoryStorage();
  std::string big(kMaxManifestBytes + 1, ' ');
  ASSERT_TRUE(PutString(*storage, ManifestKey("big"), big).ok());
  auto m = LoadManifest(*storage, "big");
  EXPECT_EQ(m.status().code(), Status::Code::kCorruption);
  EXPECT_NE(m.status().message().find("MiB a manifest may have"), std::string::npos)
      << m.status().ToString();
  EXPECT_EQ(DecodeManifest(big, "k").status().code(), Status::Code::kCorruption);
}

// One damaged or newer-format manifest does not hide the others.
TEST(ManifestTest, ScanListsDamagedBackupsBesideTheGoodOnes) {
  auto storage = NewMemoryStorage();
  MakeBackup(*storage, "a", {{"base/1", "y"}});
  ASSERT_TRUE(PutString(*storage, ManifestKey("b"), "{not json").ok());
  json newer = json::parse(EncodeManifest(Sample()));
  newer["format"] = 99;
  newer["name"] = "c";
  ASSERT_TRUE(PutString(*storage, ManifestKey("c"), newer.dump()).ok());
  auto scan = ScanBackups(*storage);
  ASSERT_TRUE(scan.ok()) << scan.status().ToString();
  ASSERT_EQ(scan->backups.size(), 1u);
  EXPECT_EQ(scan->backups[0].name, "a");
  ASSERT_EQ(scan->damaged.size(), 2u);
  EXPECT_EQ(scan->damaged[0].name, "b");
  EXPECT_EQ(scan->damaged[0].status.code(), Status::Code::kCorruption);
  EXPECT_EQ(scan->damaged[1].name, "c");
  EXPECT_EQ(scan->damaged[1].status.code(), Status::Code::kUnsupportedFormat);
}

TEST(ManifestTest, PrintableEscapesControlAndInvalidBytes) {
  EXPECT_EQ(Printable("a\nb"), "a\\x0ab");
  EXPECT_EQ(Printable("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(Printable("\xff"), "\\xff");
  EXPECT_EQ(Printable("a\\b"), "a\\x5cb");
}

// Truncations and byte flips of a valid manifest never crash and never decode into something else.
TEST(ManifestTest, DamagedTextNeverCrashes) {
  std::string text = EncodeManifest(Sample());
  for (size_t cut = 0; cut < text.size(); cut += 7) {
    auto m = DecodeManifest(std::string_view(text).substr(0, cut), "k");
    EXPECT_FALSE(m.ok() && cut + 1 < text.size()) << cut;  // only the whole JSON decodes
  }
  for (size_t i = 0; i < text.size(); i += 3) {
    std::string t = text;
    t[i] ^= 0x20;
    auto m = DecodeManifest(t, "k");
    (void)m;
  }
}

// Every field of every kind of entry replaced by a value of each JSON type: a clear error
// (or, for a value that happens to be valid, a manifest), never a crash or an exception.
TEST(ManifestTest, EveryFieldWithEveryType) {
  BackupManifest m = Sample();
  m.tablespaces.push_back({16384, "ts1", "/srv/ts1"});
  const json base = json::parse(EncodeManifest(m));
  const std::vector<json> values = {
      nullptr,       true,          -1, 0, 1.5, 18446744073709551615ull, "", "x", "../x",
      json::array(), json::object()};
  auto mutate = [&](const std::function<json&(json&)>& at) {
    for (const auto& v : values) {
      json j = base;
      at(j) = v;
      auto d = DecodeManifest(j.dump(), "k");
      if (!d.ok()) {
        EXPECT_EQ(d.status().code(), Status::Code::kCorruption) << d.status().ToString();
      }
    }
  };
  for (auto it = base.begin(); it != base.end(); ++it) {
    if (it.key() == "format") continue;  // another format is its own error
    mutate([&](json& j) -> json& { return j[it.key()]; });
  }
  for (const char* list : {"tablespaces", "objects", "files"}) {
    for (size_t i = 0; i < base[list].size(); ++i) {
      for (auto it = base[list][i].begin(); it != base[list][i].end(); ++it) {
        mutate([&](json& j) -> json& { return j[list][i][it.key()]; });
      }
    }
  }
}

// Random byte flips and cuts with a fixed seed.
TEST(ManifestTest, RandomDamage) {
  const std::string text = EncodeManifest(Sample());
  uint64_t seed = 42;
  auto next = [&] {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<size_t>(seed >> 33);
  };
  for (int round = 0; round < 3000; ++round) {
    std::string t = text;
    for (size_t k = next() % 4 + 1; k > 0; --k)
      t[next() % t.size()] = static_cast<char>(next() % 256);
    if (next() % 3 == 0) t.resize(next() % t.size());
    auto d = DecodeManifest(t, "k");
    if (!d.ok()) {
      EXPECT_NE(d.status().message().find("manifest 'k'"), std::string::npos);
    }
  }
}

TEST(ManifestTest, ListBackupsOldestFirst) {
  auto storage = NewMemoryStorage();
  auto b = MakeBackup(*storage, "b", {{"base/1", "x"}});
  auto a = MakeBackup(*storage, "a", {{"base/1", "y"}});
  // Only a manifest makes a backup: data objects alone are not one.
  ASSERT_TRUE(PutString(*storage, DataObjectKey("c", 1), "junk").ok());
  b.start_time = "2026-01-21T00:00:00Z";
  ASSERT_TRUE(PutString(*storage, ManifestKey("b"), EncodeManifest(b)).ok());
  auto list = ListBackups(*storage);
  ASSERT_TRUE(list.ok()) << list.status().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].name, "a");
  EXPECT_EQ((*list)[1].name, "b");
  EXPECT_TRUE(LoadManifest(*storage, "c").status().IsNotFound());
  EXPECT_EQ(*ListBackupNames(*storage), (std::vector<std::string>{"a", "b"}));
  // A manifest stored under another backup's name is refused.
  ASSERT_TRUE(PutString(*storage, ManifestKey("d"), EncodeManifest(a)).ok());
  EXPECT_EQ(LoadManifest(*storage, "d").status().code(), Status::Code::kCorruption);
}

class Collect final : public FileVisitor {
 public:
  Status Begin(const ManifestFile& f) override {
    cur = f.path;
    files[cur].clear();
    return Status::Ok();
  }
  Status Data(const char* d, size_t n) override {
    files[cur].append(d, n);
    return Status::Ok();
  }
  Status End(const ManifestFile& f) override {
    ended.push_back(f.path);
    return Status::Ok();
  }
  std::string cur;
  std::map<std::string, std::string> files;
  std::vector<std::string> ended;
};

TEST(ManifestTest, ReadAndVerifyObjects) {
  for (Codec codec : {Codec::kZstd, Codec::kLz4, Codec::kNone}) {
    auto storage = NewMemoryStorage();
    auto m = MakeBackup(
        *storage, "n",
        {{"base/1", "hello"}, {"base/2", std::string(3 << 20, 'z')}, {"base/3", "!"}}, codec);
    Collect c;
    ASSERT_TRUE(ReadObject(*storage, m, 0, &c).ok());
    EXPECT_EQ(c.files["base/1"], "hello");
    EXPECT_EQ(c.files["base/2"].size(), 3u << 20);
    EXPECT_EQ(c.files["base/3"], "!");
    EXPECT_EQ(c.ended.size(), 3u);
    auto problems = VerifyBackupObjects(*storage, m);
    ASSERT_TRUE(problems.ok());
    EXPECT_TRUE(problems->empty());
  }
}

TEST(ManifestTest, VerifyFindsDamage) {
  auto storage = NewMemoryStorage();
  auto m = MakeBackup(*storage, "n", {{"base/1", "hello"}, {"base/3", "world"}});
  // A wrong file digest in the manifest.
  BackupManifest wrong = m;
  wrong.files[2].sha256 = crypto::Sha256Hex("other");
  auto problems = VerifyBackupObjects(*storage, wrong);
  ASSERT_TRUE(problems.ok());
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].status.code(), Status::Code::kCorruption);
  EXPECT_NE((*problems)[0].status.message().find("'base/3'"), std::string::npos)
      << (*problems)[0].status.ToString();
  // A changed object.
  auto stored = GetString(*storage, m.objects[0].key);
  std::string bad = *stored;
  bad[bad.size() / 2] ^= 1;
  ASSERT_TRUE(PutString(*storage, m.objects[0].key, bad).ok());
  problems = VerifyBackupObjects(*storage, m);
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_EQ((*problems)[0].status.code(), Status::Code::kCorruption);
  EXPECT_NE((*problems)[0].status.message().find(m.objects[0].key), std::string::npos)
      << (*problems)[0].status.ToString();
  // A missing object.
  ASSERT_TRUE(storage->Remove(m.objects[0].key).ok());
  problems = VerifyBackupObjects(*storage, m);
  ASSERT_EQ(problems->size(), 1u);
  EXPECT_NE((*problems)[0].status.message().find("missing"), std::string::npos);
  EXPECT_EQ((*problems)[0].where, m.objects[0].key);
}

TEST(ManifestTest, UtcTime) {
  EXPECT_EQ(FormatUtc(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(*ParseUtc("2026-01-20T14:03:12Z"), 1768917792);
  EXPECT_FALSE(ParseUtc("2026-01-20 14:03:12").ok());
}

}  // namespace
}  // namespace walferry::backup
