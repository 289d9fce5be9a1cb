#include "backup/manifest.h"

#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>

#include "common/crypto.h"
#include "common/parallel.h"
#include "pg/lsn.h"
#include "pg/tablespace.h"
#include "pg/wal_page.h"
#include "pg/wal_segment.h"
#include "repo/object.h"

namespace walferry::backup {
namespace {

using nlohmann::json;

bool IsHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}
bool IsUpperHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'F'); });
}

// Strict UTF-8: no overlong forms, no surrogates, nothing above U+10FFFF.
bool IsUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
      n = 1, cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
      n = 2, cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 3, cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (size_t k = 1; k <= n; ++k) {
      unsigned char d = static_cast<unsigned char>(s[i + k]);
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
      return false;
    i += n + 1;
  }
  return true;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    unsigned char c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

// Strict base64 (RFC 4648 with padding, canonical): nullopt when `text` is not.
std::optional<std::string> DecodeBase64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      char c = text[i + static_cast<size_t>(k)];
      if (c == '=' && i + 4 == text.size() && k >= 2) {
        v[k] = 0;
        ++pad;
        continue;
      }
      if (pad > 0) return std::nullopt;  // data after padding
      v[k] = value(c);
      if (v[k] < 0) return std::nullopt;
    }
    uint32_t triple = (static_cast<uint32_t>(v[0]) << 18) | (static_cast<uint32_t>(v[1]) << 12) |
                      (static_cast<uint32_t>(v[2]) << 6) | static_cast<uint32_t>(v[3]);
    out += static_cast<char>((triple >> 16) & 0xff);
    if (pad < 2) out += static_cast<char>((triple >> 8) & 0xff);
    if (pad < 1) out += static_cast<char>(triple & 0xff);
  }
  if (crypto::Base64(out) != text) return std::nullopt;  // not canonical (stray bits)
  return out;
}

// Stores a byte string as text under `key` when it is plain (valid UTF-8 and,
// unless `control_ok`, no control byte), otherwise base64 under `key`_b64.
void PutBytes(json& obj, const std::string& key, const std::string& value, bool control_ok,
              bool* extended) {
  if (IsUtf8(value) && (control_ok || !HasControl(value))) {
    obj[key] = value;
  } else {
    obj[key + "_b64"] = crypto::Base64(value);
    *extended = true;
  }
}

// Reads typed fields out of one JSON object, remembering the first problem.
class Fields {
 public:
  Fields(const json& j, std::string context) : j_(j), context_(std::move(context)) {}

  std::string Str(const char* key, bool required = true) {
    const json* v = Find(key, required);
    if (!v) return "";
    if (!v->is_string()) return Fail(key, "is not a string"), "";
    return v->get<std::string>();
  }
  uint64_t U64(const char* key, bool required = true) {
    const json* v = Find(key, required);
    if (!v) return 0;
    if (!v->is_number_unsigned()) return Fail(key, "is not a non-negative integer"), 0;
    return v->get<uint64_t>();
  }
  uint32_t U32(const char* key, bool required = true) {
    uint64_t v = U64(key, required);
    if (v > UINT32_MAX) return Fail(key, "is out of range"), 0;
    return static_cast<uint32_t>(v);
  }
  int64_t I64(const char* key, bool required = true) {
    const json* v = Find(key, required);
    if (!v) return 0;
    if (!v->is_number_integer()) return Fail(key, "is not an integer"), 0;
    return v->get<int64_t>();
  }
  double Num(const char* key, bool required = true) {
    const json* v = Find(key, required);
    if (!v) return 0;
    if (!v->is_number()) return Fail(key, "is not a number"), 0;
    return v->get<double>();
  }
  bool Bool(const char* key, bool required = true) {
    const json* v = Find(key, required);
    if (!v) return false;
    if (!v->is_boolean()) return Fail(key, "is not true or false"), false;
    return v->get<bool>();
  }
  // A byte string stored by PutBytes: `key` (text) or `key`_b64 (base64).
  std::string Bytes(const char* key, bool required = true) {
    const std::string b64 = std::string(key) + "_b64";
    auto it = j_.find(b64);
    if (it == j_.end() || it->is_null()) return Str(key, required);
    if (Has(key)) return Fail(key, "is given both as text and as " + b64), "";
    if (!it->is_string()) return Fail(b64, "is not a string"), "";
    auto raw = DecodeBase64(it->get_ref<const std::string&>());
    if (!raw) return Fail(b64, "is not base64"), "";
    return std::move(*raw);
  }
  const json* Array(const char* key) {
    const json* v = Find(key, true);
    if (v && !v->is_array()) return Fail(key, "is not an array"), nullptr;
    return v;
  }
  bool Has(const char* key) const { return j_.contains(key) && !j_[key].is_null(); }
  void Fail(const std::string& key, const std::string& why) {
    if (problem_.empty()) problem_ = context_ + key + ": " + why;
  }
  const std::string& problem() const { return problem_; }

 private:
  const json* Find(const char* key, bool required) {
    auto it = j_.find(key);
    if (it == j_.end() || it->is_null()) {
      if (required) Fail(key, "is missing");
      return nullptr;
    }
    return &*it;
  }
  const json& j_;
  std::string context_;
  std::string problem_;
};

Status CheckSha(Fields& f, const char* key, const std::string& value) {
  if (value.size() != 64 || !IsHex(value)) f.Fail(key, "is not a lowercase hex SHA-256");
  return Status::Ok();
}

}  // namespace

const char* FileTypeName(FileType type) {
  switch (type) {
    case FileType::kFile: return "file";
    case FileType::kDir: return "dir";
    case FileType::kLink: return "link";
  }
  return "?";
}

Status ValidateBackupName(std::string_view name) {
  bool ok = !name.empty() && name.size() <= 64 && name[0] != '.' &&
            std::all_of(name.begin(), name.end(), [](char c) {
              return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || c == '-' || c == '.';
            });
  if (!ok) {
    return Status::InvalidArgument(
               "'" + std::string(name) +
               "' is not a backup name (1..64 of A-Z a-z 0-9 _ . -, not starting with '.')")
        .WithHint("'walferry backup-list' shows the names");
  }
  return Status::Ok();
}

Status ValidateRelativePath(std::string_view path) {
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("path '" + Printable(path, 200) + "' " + why);
  };
  if (path.empty()) return bad("is empty");
  if (path.size() > 4096) return bad("is longer than 4096 bytes");
  if (path.front() == '/') return bad("is absolute");
  if (path.find('\0') != std::string_view::npos) return bad("has a NUL byte");
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty()) return bad("has an empty component");
    if (part == "." || part == "..") return bad("has a '.' or '..' component");
    start = end + 1;
  }
  return Status::Ok();
}

std::string Printable(std::string_view text, size_t max) {
  std::string out;
  size_t i = 0;
  while (i < text.size() && out.size() < max) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {  // a whole valid UTF-8 sequence passes; any other byte is escaped
      size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      if (i + n <= text.size() && IsUtf8(text.substr(i, n))) {
        out.append(text.substr(i, n));
        i += n;
        continue;
      }
    }
    if (c < 0x20 || c == 0x7f || c >= 0x80 || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  if (i < text.size()) out += "...";
  return out;
}

std::string EncodeManifest(const BackupManifest& m) {
  bool extended = false;  // a "_b64" field: format 2
  json tablespaces = json::array();
  for (const auto& t : m.tablespaces) {
    json e = {{"oid", t.oid}};
    PutBytes(e, "name", t.name, false, &extended);
    PutBytes(e, "location", t.location, false, &extended);
    tablespaces.push_back(std::move(e));
  }
  json objects = json::array();
  for (const auto& o : m.objects)
    objects.push_back(
        {{"key", o.key}, {"size", o.size}, {"sha256", o.sha256}, {"raw_size", o.raw_size}});
  json files = json::array();
  for (const auto& f : m.files) {
    json e = json::object();
    PutBytes(e, "path", f.path, false, &extended);
    e["type"] = FileTypeName(f.type);
    e["mode"] = f.mode;
    e["mtime"] = f.mtime;
    if (f.type == FileType::kFile) {
      e["size"] = f.size;
      e["sha256"] = f.sha256;
      if (f.object) {
        e["object"] = *f.object;
        e["offset"] = f.offset;
      }
    }
    if (f.type == FileType::kLink) PutBytes(e, "target", f.target, false, &extended);
    files.push_back(std::move(e));
  }
  json j = {{"name", m.name},
            {"kind", m.kind},
            {"system_identifier", m.system_identifier},
            {"pg_version", m.pg_version},
            {"timeline", m.timeline},
            {"start_time", m.start_time},
            {"stop_time", m.stop_time},
            {"start_lsn", m.start_lsn},
            {"stop_lsn", m.stop_lsn},
            {"start_wal", m.start_wal},
            {"stop_wal", m.stop_wal},
            {"wal_segment_size", m.wal_segment_size},
            {"from_standby", m.from_standby},
            {"compression", CodecName(m.compression)},
            {"original_bytes", m.original_bytes},
            {"stored_bytes", m.stored_bytes},
            {"duration_seconds", m.duration_seconds},
            {"tablespaces", std::move(tablespaces)},
            {"objects", std::move(objects)},
            {"files", std::move(files)}};
  PutBytes(j, "backup_label", m.backup_label, true, &extended);
  PutBytes(j, "tablespace_map", m.tablespace_map, true, &extended);
  PutBytes(j, "created_by", m.created_by, true, &extended);
  j["format"] = extended ? kManifestFormat : kManifestFormatPlain;
  // Every string is valid UTF-8 by now; `replace` only keeps dump() from ever
  // throwing (backup-push checks that the text decodes before storing it).
  return j.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

namespace {
Result<BackupManifest> DecodeManifestText(std::string_view text, const std::string& where) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("manifest '" + where + "': " + why)
        .WithHint("the manifest was damaged or altered; 'walferry verify' checks the repository");
  };
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return bad("is not valid JSON");
  if (!j.is_object()) return bad("is not a JSON object");
  Fields f(j, "");
  BackupManifest m;
  m.format = static_cast<int>(std::clamp<int64_t>(f.I64("format"), INT32_MIN, INT32_MAX));
  if (f.problem().empty() && m.format != kManifestFormat && m.format != kManifestFormatPlain) {
    return Status::UnsupportedFormat("manifest '" + where + "' has format " +
                                     std::to_string(m.format) + "; this walferry reads format " +
                                     std::to_string(kManifestFormat))
        .WithHint("use the walferry version that wrote this backup");
  }
  m.name = f.Str("name");
  if (f.problem().empty() && !ValidateBackupName(m.name).ok())
    f.Fail("name", "is not a valid backup name");
  m.kind = f.Str("kind");
  if (f.problem().empty() && m.kind != "full")
    f.Fail("kind", "is '" + m.kind + "'; only 'full' is known");
  m.system_identifier = f.Str("system_identifier");
  if (m.system_identifier.empty() || m.system_identifier.size() > 20 ||
      !std::all_of(m.system_identifier.begin(), m.system_identifier.end(),
                   [](char c) { return c >= '0' && c <= '9'; })) {
    f.Fail("system_identifier", "is not a decimal number");
  }
  m.pg_version = f.Str("pg_version");
  m.timeline = f.U32("timeline");
  if (f.problem().empty() && m.timeline == 0) f.Fail("timeline", "is 0");
  m.start_time = f.Str("start_time");
  m.stop_time = f.Str("stop_time");
  if (f.problem().empty() && !ParseUtc(m.start_time).ok())
    f.Fail("start_time", "is not YYYY-MM-DDTHH:MM:SSZ");
  if (f.problem().empty() && !ParseUtc(m.stop_time).ok())
    f.Fail("stop_time", "is not YYYY-MM-DDTHH:MM:SSZ");
  m.start_lsn = f.Str("start_lsn");
  m.stop_lsn = f.Str("stop_lsn");
  if (f.problem().empty() && !pg::ParseLsn(m.start_lsn).ok()) f.Fail("start_lsn", "is not an LSN");
  if (f.problem().empty() && !pg::ParseLsn(m.stop_lsn).ok()) f.Fail("stop_lsn", "is not an LSN");
  m.start_wal = f.Str("start_wal");
  m.stop_wal = f.Str("stop_wal");
  for (auto [key, v] : {std::pair{"start_wal", &m.start_wal}, std::pair{"stop_wal", &m.stop_wal}}) {
    if (v->size() != 24 || !IsUpperHex(*v)) f.Fail(key, "is not a 24-hex WAL segment name");
  }
  m.wal_segment_size = f.U32("wal_segment_size");
  if (f.problem().empty() && !pg::ValidWalSegmentSize(m.wal_segment_size)) {
    f.Fail("wal_segment_size", "is not a power of two from 1 MiB to 1 GiB");
  }
  m.from_standby = f.Bool("from_standby");
  std::string codec = f.Str("compression");
  if (f.problem().empty()) {
    auto c = ParseCodec(codec);
    if (!c.ok())
      f.Fail("compression", "is '" + codec + "', not zstd, lz4 or none");
    else
      m.compression = *c;
  }
  m.original_bytes = f.U64("original_bytes");
  m.stored_bytes = f.U64("stored_bytes");
  m.duration_seconds = f.Num("duration_seconds");
  m.backup_label = f.Bytes("backup_label");
  m.tablespace_map = f.Bytes("tablespace_map");
  m.created_by = f.Bytes("created_by", false);
  if (!f.problem().empty()) return bad(f.problem());

  // Tablespaces.
  const json* tss = f.Array("tablespaces");
  if (!tss) return bad(f.problem());
  std::set<uint32_t> oids;
  for (size_t i = 0; i < tss->size(); ++i) {
    const json& e = (*tss)[i];
    if (!e.is_object()) return bad("tablespaces[" + std::to_string(i) + "]: is not an object");
    Fields tf(e, "tablespaces[" + std::to_string(i) + "].");
    Tablespace t;
    t.oid = tf.U32("oid");
    t.name = tf.Bytes("name", false);
    t.location = tf.Bytes("location");
    if (tf.problem().empty() && t.oid == 0) tf.Fail("oid", "is 0");
    if (tf.problem().empty() && (t.location.empty() || t.location[0] != '/' ||
                                 t.location.find('\0') != std::string::npos)) {
      tf.Fail("location", "is not an absolute path");
    }
    if (tf.problem().empty() && !oids.insert(t.oid).second) tf.Fail("oid", "is listed twice");
    if (!tf.problem().empty()) return bad(tf.problem());
    m.tablespaces.push_back(std::move(t));
  }

  // Objects.
  const json* objs = f.Array("objects");
  if (!objs) return bad(f.problem());
  const std::string data_prefix = repo::DataPrefix(m.name);
  std::set<std::string> keys;
  uint64_t stored = 0;
  for (size_t i = 0; i < objs->size(); ++i) {
    const json& e = (*objs)[i];
    const std::string ctx = "objects[" + std::to_string(i) + "]";
    if (!e.is_object()) return bad(ctx + ": is not an object");
    Fields of(e, ctx + ".");
    StoredObject o{of.Str("key"), of.U64("size"), of.Str("sha256"), of.U64("raw_size")};
    (void)CheckSha(of, "sha256", o.sha256);  // records its failure in `of`; always ok
    if (of.problem().empty() && (o.key.rfind(data_prefix, 0) != 0 || !ValidateKey(o.key).ok() ||
                                 !ValidateRelativePath(o.key).ok())) {
      of.Fail("key", "'" + o.key + "' is not a key under '" + data_prefix + "'");
    }
    if (of.problem().empty() && !keys.insert(o.key).second)
      of.Fail("key", "'" + o.key + "' is listed twice");
    if (!of.problem().empty()) return bad(of.problem());
    if (__builtin_add_overflow(stored, o.size, &stored))
      return bad("objects: the sizes add up to more than 2^64 bytes");
    m.objects.push_back(std::move(o));
  }
  if (stored != m.stored_bytes)
    return bad("stored_bytes: is " + std::to_string(m.stored_bytes) +
               " but the objects add up to " + std::to_string(stored));

  // Files.
  const json* files = f.Array("files");
  if (!files) return bad(f.problem());
  std::set<std::string> paths;
  std::map<std::string, FileType> types;
  uint64_t original = 0;
  for (size_t i = 0; i < files->size(); ++i) {
    const json& e = (*files)[i];
    const std::string ctx = "files[" + std::to_string(i) + "]";
    if (!e.is_object()) return bad(ctx + ": is not an object");
    Fields ff(e, ctx + ".");
    ManifestFile mf;
    mf.path = ff.Bytes("path");
    if (ff.problem().empty()) {
      Status p = ValidateRelativePath(mf.path);
      if (!p.ok()) ff.Fail("path", p.message());
    }
    std::string type = ff.Str("type");
    if (type == "file")
      mf.type = FileType::kFile;
    else if (type == "dir")
      mf.type = FileType::kDir;
    else if (type == "link")
      mf.type = FileType::kLink;
    else if (ff.problem().empty())
      ff.Fail("type", "is '" + type + "', not file, dir or link");
    uint64_t mode = ff.U64("mode");
    if (mode > 07777) ff.Fail("mode", "has bits beyond 07777");
    mf.mode = static_cast<uint32_t>(mode);
    mf.mtime = ff.I64("mtime");
    if (mf.type == FileType::kFile && ff.problem().empty()) {
      mf.size = ff.U64("size");
      mf.sha256 = ff.Str("sha256");
      (void)CheckSha(ff, "sha256", mf.sha256);  // records its failure in `ff`; always ok
      if (ff.Has("object")) {
        uint64_t obj = ff.U64("object");
        if (ff.problem().empty() && obj >= m.objects.size())
          ff.Fail("object", "is not an index into objects");
        mf.object = static_cast<uint32_t>(obj);
        mf.offset = ff.U64("offset");
      } else if (mf.size != 0) {
        ff.Fail("object", "is missing for a file of " + std::to_string(mf.size) + " bytes");
      }
      if (mf.object && mf.size == 0 && ff.problem().empty())
        ff.Fail("object", "is given for an empty file");
      if (ff.problem().empty() && __builtin_add_overflow(original, mf.size, &original))
        ff.Fail("size", "makes the file sizes add up to more than 2^64 bytes");
    }
    if (mf.type == FileType::kLink) {
      mf.target = ff.Bytes("target");
      if (ff.problem().empty() && (mf.target.empty() || mf.target.find('\0') != std::string::npos))
        ff.Fail("target", "is empty");
    }
    if (ff.problem().empty() && !paths.insert(mf.path).second)
      ff.Fail("path", "'" + Printable(mf.path) + "' is listed twice");
    if (!ff.problem().empty()) return bad(ff.problem());
    types[mf.path] = mf.type;
    m.files.push_back(std::move(mf));
  }
  if (original != m.original_bytes) {
    return bad("original_bytes: is " + std::to_string(m.original_bytes) +
               " but the files add up to " + std::to_string(original));
  }
  // Every parent of an entry is a listed directory, or a
  // tablespace link: nothing may be written through any other link.
  for (size_t i = 0; i < m.files.size(); ++i) {
    const std::string& p = m.files[i].path;
    for (size_t slash = p.find('/'); slash != std::string::npos; slash = p.find('/', slash + 1)) {
      auto it = types.find(p.substr(0, slash));
      if (it == types.end())
        return bad("files[" + std::to_string(i) + "].path: '" + Printable(p) +
                   "' has no directory entry for '" + Printable(p.substr(0, slash)) + "'");
      if (it->second == FileType::kFile)
        return bad("files[" + std::to_string(i) + "].path: '" + Printable(p) +
                   "' is inside a file");
      if (it->second == FileType::kLink) {
        const std::string& parent = it->first;
        if (!pg::IsTablespaceLinkPath(parent))
          return bad("files[" + std::to_string(i) + "].path: '" + Printable(p) +
                     "' is inside the link '" + Printable(parent) + "'");
      }
    }
  }
  // Links under pg_tblspc are tablespaces, and each names a listed tablespace.
  for (const auto& mf : m.files) {
    if (mf.type != FileType::kLink || !pg::InTablespaceDir(mf.path)) continue;
    std::string oid(pg::TablespaceLinkName(mf.path));
    bool listed = std::any_of(m.tablespaces.begin(), m.tablespaces.end(),
                              [&](const Tablespace& t) { return std::to_string(t.oid) == oid; });
    if (!listed) return bad("files: link '" + Printable(mf.path) + "' is not a listed tablespace");
  }
  // Each object's files tile its decompressed bytes exactly.
  auto by_object = FilesByObject(m);
  for (size_t o = 0; o < m.objects.size(); ++o) {
    uint64_t at = 0;
    for (size_t fi : by_object[o]) {
      if (m.files[fi].offset != at) {
        return bad("files: '" + Printable(m.files[fi].path) + "' starts at offset " +
                   std::to_string(m.files[fi].offset) + " of " + m.objects[o].key + ", expected " +
                   std::to_string(at));
      }
      if (__builtin_add_overflow(at, m.files[fi].size, &at))
        return bad("objects[" + std::to_string(o) + "]: its files add up to more than 2^64 bytes");
    }
    if (at != m.objects[o].raw_size) {
      return bad("objects[" + std::to_string(o) + "].raw_size: is " +
                 std::to_string(m.objects[o].raw_size) + " but its files add up to " +
                 std::to_string(at));
    }
  }
  return m;
}

}  // namespace

Result<BackupManifest> DecodeManifest(std::string_view text, const std::string& where) {
  if (text.size() > kMaxManifestBytes) {
    return Status::Corruption("manifest '" + where + "' has " + std::to_string(text.size()) +
                              " bytes, more than the " + std::to_string(kMaxManifestBytes >> 20) +
                              " MiB a manifest may have")
        .WithHint("the manifest was damaged or altered; 'walferry verify' checks the repository");
  }
  try {
    return DecodeManifestText(text, where);
  } catch (const std::exception& e) {  // bad_alloc, or a json accessor this code misused
    return Status::Corruption("manifest '" + where + "' cannot be decoded: " + e.what());
  }
}

std::vector<std::vector<size_t>> FilesByObject(const BackupManifest& m) {
  std::vector<std::vector<size_t>> out(m.objects.size());
  for (size_t i = 0; i < m.files.size(); ++i) {
    const auto& f = m.files[i];
    if (f.type == FileType::kFile && f.object && *f.object < out.size())
      out[*f.object].push_back(i);
  }
  for (auto& v : out) {
    std::stable_sort(v.begin(), v.end(),
                     [&](size_t a, size_t b) { return m.files[a].offset < m.files[b].offset; });
  }
  return out;
}

namespace {
// Collects an object's bytes up to a bound; more is kCorruption.
class BoundedSink final : public ByteSink {
 public:
  BoundedSink(uint64_t max, std::string key) : max_(max), key_(std::move(key)) {}
  Status Write(const char* data, size_t n) override {
    if (out.size() + n > max_) {
      over_ = true;
      return Status::Corruption("manifest '" + key_ + "' is larger than the " +
                                std::to_string(max_ >> 20) + " MiB a manifest may have")
          .WithHint("the manifest was damaged or altered; 'walferry verify' checks the repository");
    }
    out.append(data, n);
    return Status::Ok();
  }
  bool over() const { return over_; }
  std::string out;

 private:
  uint64_t max_;
  std::string key_;
  bool over_ = false;
};
}  // namespace

bool IsPerObjectProblem(const Status& s) {
  return s.code() == Status::Code::kCorruption || s.code() == Status::Code::kNotFound ||
         s.code() == Status::Code::kInvalidArgument || s.code() == Status::Code::kWrongRepository ||
         s.code() == Status::Code::kUnsupportedFormat || s.code() == Status::Code::kNotSupported;
}

Result<BackupManifest> LoadManifest(Storage& storage, const std::string& name) {
  WF_RETURN_IF_ERROR(ValidateBackupName(name));
  const std::string key = repo::ManifestKey(name);
  BoundedSink text(kMaxManifestBytes, key);
  repo::ObjectReader reader(repo::ReadSpec::Manifest(key), text);
  Status got = storage.Get(key, reader, std::nullopt);
  if (got.ok()) got = reader.Finish();
  if (!got.ok()) {
    if (text.over()) {
      return Status::Corruption("manifest '" + key + "' is larger than the " +
                                std::to_string(kMaxManifestBytes >> 20) +
                                " MiB a manifest may have")
          .WithHint("the manifest was damaged or altered; 'walferry verify' checks the repository");
    }
    if (got.IsNotFound()) {
      return Status::NotFound("there is no backup '" + name + "' in " + storage.Describe())
          .WithHint("'walferry backup-list' shows the backups");
    }
    return got;
  }
  auto m = DecodeManifest(text.out, key);
  if (m.ok() && m->name != name) {
    return Status::Corruption("manifest '" + key + "': name: is '" + m->name + "', not '" + name +
                              "'");
  }
  return m;
}

Result<std::vector<std::string>> ListBackupNames(Storage& storage) {
  std::vector<std::string> names;
  Status s = storage.List(repo::kBackupPrefix, [&](const ObjectInfo& info) {
    auto name = repo::BackupNameOf(info.key);
    if (name && info.key == repo::ManifestKey(*name) &&
        ValidateBackupName(*name).ok()) {  // others were never written by walferry
      names.push_back(std::move(*name));
    }
    return Status::Ok();
  });
  if (!s.ok()) return s;
  return names;
}

Result<std::vector<BackupManifest>> ListBackups(Storage& storage) {
  auto names = ListBackupNames(storage);
  if (!names.ok()) return names.status();
  std::vector<BackupManifest> out;
  for (const auto& n : *names) {
    auto m = LoadManifest(storage, n);
    if (!m.ok()) return m.status();
    out.push_back(std::move(*m));
  }
  std::stable_sort(out.begin(), out.end(), [](const BackupManifest& a, const BackupManifest& b) {
    return a.start_time != b.start_time ? a.start_time < b.start_time : a.name < b.name;
  });
  return out;
}

Result<BackupScan> ScanBackups(Storage& storage) {
  auto names = ListBackupNames(storage);
  if (!names.ok()) return names.status();
  BackupScan scan;
  for (const auto& n : *names) {
    auto m = LoadManifest(storage, n);
    if (m.ok()) {
      scan.backups.push_back(std::move(*m));
      continue;
    }
    if (m.status().IsNotFound()) continue;  // deleted since the listing
    if (!IsPerObjectProblem(m.status())) return m.status();
    scan.damaged.push_back({n, m.status()});
  }
  std::stable_sort(scan.backups.begin(), scan.backups.end(),
                   [](const BackupManifest& a, const BackupManifest& b) {
                     return a.start_time != b.start_time ? a.start_time < b.start_time
                                                         : a.name < b.name;
                   });
  return scan;
}

namespace {

// Splits an object's decompressed bytes into its files, checking each.
class Splitter final : public ByteSink {
 public:
  Splitter(const BackupManifest& m, uint32_t index, const std::vector<size_t>& files,
           FileVisitor* visitor)
      : m_(m), index_(index), files_(files), visitor_(visitor) {}

  Status Write(const char* data, size_t n) override {
    while (n > 0) {
      if (cur_ >= files_.size())
        return Corrupt("decompresses to more than its " +
                       std::to_string(m_.objects[index_].raw_size) + " bytes");
      const ManifestFile& f = m_.files[files_[cur_]];
      if (!begun_) {
        if (visitor_) WF_RETURN_IF_ERROR(visitor_->Begin(f));
        begun_ = true;
        done_ = 0;
      }
      size_t take = static_cast<size_t>(std::min<uint64_t>(n, f.size - done_));
      digest_.Update(data, take);
      if (visitor_) WF_RETURN_IF_ERROR(visitor_->Data(data, take));
      done_ += take;
      data += take;
      n -= take;
      if (done_ == f.size) WF_RETURN_IF_ERROR(EndFile(f));
    }
    return Status::Ok();
  }

  Status Finish() {
    if (cur_ < files_.size())
      return Corrupt("ends before its file '" + m_.files[files_[cur_]].path + "' is complete");
    return Status::Ok();
  }

 private:
  Status EndFile(const ManifestFile& f) {
    std::string sha = crypto::Hex(digest_.Finish());
    if (sha != f.sha256) {
      return Status::Corruption("file '" + f.path + "' in object '" + m_.objects[index_].key +
                                "' has SHA-256 " + sha + ", the manifest says " + f.sha256)
          .WithHint("the backup is damaged; restore from another backup");
    }
    if (visitor_) WF_RETURN_IF_ERROR(visitor_->End(f));
    ++cur_;
    begun_ = false;
    return Status::Ok();
  }
  Status Corrupt(const std::string& why) {
    return Status::Corruption("object '" + m_.objects[index_].key + "' " + why)
        .WithHint("the backup is damaged; restore from another backup");
  }

  const BackupManifest& m_;
  uint32_t index_;
  const std::vector<size_t>& files_;
  FileVisitor* visitor_;
  size_t cur_ = 0;
  bool begun_ = false;
  uint64_t done_ = 0;
  crypto::Digest digest_ = crypto::Digest::Sha256();
};

}  // namespace

static Status ReadObjectFiles(Storage& storage, const BackupManifest& m, uint32_t index,
                              const std::vector<size_t>& files, FileVisitor* visitor) {
  if (index >= m.objects.size()) return Status::Internal("object index out of range");
  const StoredObject& o = m.objects[index];
  Splitter split(m, index, files, visitor);
  // The stored-object reader checks the stored bytes against the manifest
  // (size, SHA-256) and decompresses them; the splitter checks each file.
  repo::ObjectReader reader(
      repo::ReadSpec::Data(o.key, m.compression, repo::ReadSpec::Recorded{o.size, o.sha256}),
      split);
  Status s = storage.Get(o.key, reader);
  if (!s.ok()) {
    if (s.IsNotFound()) {
      return Status::Corruption("object '" + o.key + "' of backup '" + m.name +
                                "' is missing from " + storage.Describe())
          .WithHint("the backup is damaged; restore from another backup");
    }
    if (s.code() == Status::Code::kCorruption && s.message().find(o.key) == std::string::npos) {
      return Status::Corruption("object '" + o.key + "' of backup '" + m.name +
                                "' is damaged: " + s.message())
          .WithHint("the backup is damaged; restore from another backup");
    }
    return s;
  }
  WF_RETURN_IF_ERROR(reader.Finish());
  return split.Finish();
}

Status ReadObject(Storage& storage, const BackupManifest& m, uint32_t index, FileVisitor* visitor) {
  auto by_object = FilesByObject(m);
  if (index >= by_object.size()) return Status::Internal("object index out of range");
  return ReadObjectFiles(storage, m, index, by_object[index], visitor);
}

Result<std::vector<Problem>> VerifyBackupObjects(Storage& storage, const BackupManifest& m,
                                                 int parallel) {
  auto by_object = FilesByObject(m);
  std::mutex mu;
  std::vector<Problem> problems;
  Status s = ParallelFor(m.objects.size(), parallel, [&](size_t i) {
    Status r = ReadObjectFiles(storage, m, static_cast<uint32_t>(i), by_object[i], nullptr);
    if (r.ok()) return Status::Ok();
    // Data problems are listed; a repository we cannot reach stops the check.
    if (r.code() == Status::Code::kUnavailable || r.code() == Status::Code::kAuth ||
        r.code() == Status::Code::kPermission) {
      return r;
    }
    std::lock_guard<std::mutex> lock(mu);
    problems.push_back({m.objects[i].key, r});
    return Status::Ok();
  });
  if (!s.ok()) return s;
  std::sort(problems.begin(), problems.end(),
            [](const Problem& a, const Problem& b) { return a.where < b.where; });
  return problems;
}

std::string FormatUtc(int64_t t) {
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<int64_t> ParseUtc(std::string_view text) {
  struct tm tm = {};
  int y, mo, d, h, mi, s;
  char z;
  std::string str(text);
  if (str.size() != 20 ||
      std::sscanf(str.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%c", &y, &mo, &d, &h, &mi, &s, &z) != 7 ||
      z != 'Z' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60 || y < 1970) {
    return Status::InvalidArgument("'" + str.substr(0, 40) +
                                   "' is not a UTC time like 2026-01-20T14:03:12Z");
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm));
}

}  // namespace walferry::backup
