// staged.cc — staged copies (see staged.h).
#include "spool/staged.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/crypto.h"
#include "pg/wal_page.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "spool/record_fields.h"
#include "spool/records.h"
#include "walferry/wal_name.h"

namespace walferry::spool {
namespace {

using nlohmann::json;
using record::SourceFrom;
using record::SourceJson;
using record::U64;

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::FromErrno(errno, "open '" + path + "'");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::Io("read '" + path + "' failed");
  return ss.str();
}

std::string StagedMeta(const archive::BuiltObject& b) {
  const std::string_view object = b.object();
  json j = {{"name", b.name},
            {"key", b.key},
            {"source", SourceJson(b.source)},
            {"size", b.header.size},
            {"sha256", b.header.sha256_hex},
            {"object_size", object.size()},
            {"object_sha256", crypto::Sha256Hex(object)}};
  if (b.local) j["local"] = {{"system_identifier", b.local->system_identifier}};
  return j.dump() + "\n";
}

// Keeps the first bytes written (a segment's page header).
class FirstBytesSink final : public ByteSink {
 public:
  Status Write(const char* data, size_t n) override {
    if (bytes.size() < 64) bytes.append(data, std::min(n, 64 - bytes.size()));
    return Status::Ok();
  }
  std::string bytes;
};

// What the meta line of a staged copy says.
struct Meta {
  uint64_t object_size = 0, size = 0;
  std::string object_sha, sha;
  bool recorded = false;  // staged copies of older versions lack the checksums
};

// Fills b.source and b.local from the meta line `j`; an error text when it names another
// file or key, or is malformed.
std::optional<std::string> ReadMeta(const json& j, const std::string& name, archive::BuiltObject& b,
                                    Meta& m) try {
  if (!j.is_object() || j.value("name", "") != name) return "its meta line names another file";
  if (j.value("key", b.key) != b.key) return "its meta line names another object key";
  b.source = SourceFrom(j.value("source", json::object()));
  if (j.contains("local")) {
    repo::ClusterIdentity c;
    c.system_identifier = U64(j["local"], "system_identifier");
    b.local = c;
  }
  m.recorded = j.contains("object_sha256");
  m.object_size = U64(j, "object_size");
  m.object_sha = j.value("object_sha256", "");
  m.size = U64(j, "size");
  m.sha = j.value("sha256", "");
  return std::nullopt;
} catch (const json::exception&) {
  return "malformed meta line";
}

}  // namespace

Status StageObject(const PushDirs& dirs, const archive::BuiltObject& built, fs::LocalFs& lfs) {
  std::string data = StagedMeta(built);
  data.append(built.object());
  Status s = fs::WriteFileAtomically(lfs, dirs.staged, built.name, data);
  if (!s.ok()) {
    return StatusWithCode(s.code(), "cannot stage '" + built.name + "' in the spool '" +
                                        dirs.spool.root + "': " + s.message())
        .WithHint(s.hint().empty() ? "check the spool filesystem (space, permissions)" : s.hint());
  }
  return Status::Ok();
}

bool IsStaged(const PushDirs& dirs, const std::string& name, const std::string& wal_path) {
  int fd = ::open((dirs.staged + "/" + name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[1024];
  ssize_t n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  if (n <= 0) return false;
  std::string_view head(buf, static_cast<size_t>(n));
  size_t nl = head.find('\n');
  if (nl == std::string_view::npos) return false;
  json j = json::parse(head.substr(0, nl), nullptr, false);
  if (!j.is_object() || j.value("name", "") != name) return false;
  archive::SourceStat now;
  if (!StatOf(wal_path, &now)) return false;
  return SameSource(SourceFrom(j.value("source", json::object())), now);
}

std::optional<archive::SourceStat> StagedSource(const std::string& path, const std::string& name) {
  std::string head;
  if (!ReadSmallFile(path, &head)) return std::nullopt;
  size_t nl = head.find('\n');
  if (nl == std::string::npos) return std::nullopt;
  json j = json::parse(head.substr(0, nl), nullptr, false);
  try {
    if (!j.is_object() || j.value("name", "") != name || !j.contains("source")) return std::nullopt;
    return SourceFrom(j["source"]);
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

Result<archive::BuiltObject> LoadStaged(const std::string& path, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption("staged copy '" + path + "' is damaged (" + why +
                              "); it was not uploaded")
        .WithHint("PostgreSQL was told '" + name +
                  "' is archived. While pg_wal still holds that very file the "
                  "worker uploads it instead; if it is gone, this segment is not in the "
                  "repository: take a new "
                  "base backup, and find out what damaged the spool");
  };
  auto wal = ParseWalFileName(name);
  if (!wal.ok()) return bad("'" + name + "' is not a WAL file name");
  auto text = ReadWholeFile(path);
  if (!text.ok()) return text.status();
  archive::BuiltObject b;
  b.buffer = std::move(*text);
  b.name = name;
  b.key = repo::WalObjectKey(*wal);
  size_t nl = b.buffer.find('\n');
  if (nl == std::string::npos) return bad("no meta line");
  Meta meta;
  if (auto why = ReadMeta(json::parse(b.buffer.substr(0, nl), nullptr, false), name, b, meta))
    return bad(*why);
  b.start = nl + 1;
  const std::string_view object = b.object();
  if (meta.recorded &&
      (object.size() != meta.object_size || crypto::Sha256Hex(object) != meta.object_sha)) {
    return bad("its object has " + std::to_string(object.size()) +
               " bytes and another checksum than the " + std::to_string(meta.object_size) +
               " bytes staged");
  }
  size_t hl = b.buffer.find('\n', b.start);
  if (hl == std::string::npos) return bad("no object header");
  auto h = repo::DecodeHeader(std::string_view(b.buffer).substr(b.start, hl - b.start), path);
  if (!h.ok()) return bad(h.status().message());
  b.header = *h;
  FirstBytesSink first;
  auto decoded = archive::DecodeObject(object, *wal, path, first);
  if (!decoded.ok()) return bad(decoded.status().message());
  if (meta.recorded && (decoded->size != meta.size || decoded->sha256_hex != meta.sha)) {
    return bad("it decodes to other content than was staged");
  }
  if (wal->HasWalHeader()) {
    auto page = pg::ReadCheckedWalPageHeader(first.bytes, *wal, 0, path);
    if (!page.ok()) return bad(page.status().message());
    b.page = *page;
  }
  return b;
}

}  // namespace walferry::spool
