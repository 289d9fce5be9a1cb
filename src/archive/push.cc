// push.cc — archive-push: one WAL file into the repository, write-once.
//
// The file is read once, through the stored-object writer (repo/object.h:
// SHA-256 of the original, compressor, header line in front). The
// repository's identity file (made by repo-create) ties it to one cluster;
// segments name their cluster in their first page, which is checked before
// anything is stored. A repository that does not exist is never created here.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <functional>
#include <future>

#include "archive/archive.h"
#include "common/fs.h"
#include "pg/wal_page.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "repo/object.h"
#include "walferry/wal_name.h"

namespace walferry::archive {
namespace {

constexpr size_t kReadChunk = 1 << 20;

std::string BaseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

std::string Sysid(uint64_t v) { return std::to_string(v); }

Status CheckSameCluster(const repo::ClusterIdentity& repo,
                        const std::optional<repo::ClusterIdentity>& local,
                        const std::optional<pg::WalPageIdentity>& page, const std::string& name,
                        const std::string& where) {
  auto refuse = [&](uint64_t theirs, const std::string& source) {
    return Status::WrongRepository("'" + name + "' belongs to the cluster with system identifier " +
                                   Sysid(theirs) + " (" + source + "), but repository " + where +
                                   " belongs to " + Sysid(repo.system_identifier))
        .WithHint(
            "each cluster needs its own repository (or prefix); after a new initdb or pg_upgrade, "
            "point --repo at a new one");
  };
  if (page && page->system_identifier != repo.system_identifier)
    return refuse(page->system_identifier, "its WAL page header");
  if (local && local->system_identifier != repo.system_identifier)
    return refuse(local->system_identifier, "pg_control");
  if (page && repo.wal_segment_size != 0 && page->segment_size != repo.wal_segment_size) {
    return Status::WrongRepository("'" + name + "' has WAL segment size " +
                                   std::to_string(page->segment_size) + ", repository " + where +
                                   " holds segments of " + std::to_string(repo.wal_segment_size));
  }
  return Status::Ok();
}

constexpr uint64_t kMaxSegmentBytes = 1ull << 30;  // PostgreSQL's largest WAL segment
constexpr uint64_t kMaxOtherBytes = 16ull << 20;   // .history and .backup files are a few lines

uint64_t MaxFileSize(const WalFileName& wal) {
  return wal.HasWalHeader() ? kMaxSegmentBytes : kMaxOtherBytes;
}

Status TooLarge(const std::string& path, const WalFileName& wal, uint64_t size, uint64_t limit) {
  return Status::Corruption("archive-push: '" + path + "' has " + std::to_string(size) +
                            " bytes, more than any " + WalFileKindName(wal.kind) +
                            " file can have (" + std::to_string(limit) + "); nothing was archived")
      .WithHint("this is not a file PostgreSQL wrote under that name; find out what replaced it");
}

Status WrongSegmentSize(const std::string& path, uint64_t size, uint32_t segment_size) {
  return Status::Corruption("'" + path + "' has " + std::to_string(size) +
                            " bytes, a WAL segment of this cluster has " +
                            std::to_string(segment_size))
      .WithHint(
          "a segment is archived only once PostgreSQL has completed it; was the file truncated or "
          "copied?");
}

class DiscardSink final : public ByteSink {
 public:
  Status Write(const char*, size_t) override { return Status::Ok(); }
};

// The name is taken in the repository: success only when the stored object is a
// whole, valid copy of exactly this file. A damaged stored copy is an error
// (kCorruption), different valid content is kAlreadyExists; neither is replaced.
Result<PushResult> CompareWithStored(Storage& storage, const BuiltObject& built,
                                     PushResult result) {
  const std::string& name = built.name;
  const std::string& key = built.key;
  const repo::ObjectHeader& header = built.header;
  auto wal = ParseWalFileName(name);
  if (!wal.ok()) return wal.status();
  DiscardSink discard;
  auto stored = FetchObject(storage, *wal, discard);
  if (stored.status().IsNotFound()) {
    return Status::Unavailable("'" + name + "' was in repository " + storage.Describe() + " as '" +
                               key + "' a moment ago and is gone now; try again");
  }
  if (stored.status().code() == Status::Code::kCorruption) {
    return Status::Corruption("'" + name + "' is already in repository " + storage.Describe() +
                              " as '" + key + "', and that stored copy is damaged (" +
                              stored.status().message() + "); it is not overwritten")
        .WithHint(
            "walferry never replaces archived WAL by itself. The local file is intact: find out "
            "what damaged "
            "the repository, then delete the object '" +
            key +
            "' (and only it) from the repository and let "
            "PostgreSQL archive this file again; see walferry-archive-push(1), WRITE-ONCE");
  }
  if (!stored.ok()) return stored.status();
  if (stored->size == header.size && stored->sha256_hex == header.sha256_hex) {
    result.already_archived = true;
    return result;
  }
  return Status::AlreadyExists("'" + name + "' is already archived in " + storage.Describe() +
                               " with different content (stored: " + std::to_string(stored->size) +
                               " bytes, sha256 " + stored->sha256_hex.substr(0, 12) +
                               "...; this file: " + std::to_string(header.size) +
                               " bytes, sha256 " + header.sha256_hex.substr(0, 12) +
                               "...); it is not overwritten")
      .WithHint(
          "two clusters may be archiving into one repository, or this is an old file; find out "
          "before "
          "archiving anything else: WAL in the repository is never replaced");
}

}  // namespace

Result<BuiltObject> BuildObject(const PushConfig& config,
                                const std::function<void()>& after_first_read) {
  BuiltObject built;
  built.name = BaseName(config.path);
  auto wal = ParseWalFileName(built.name);
  if (!wal.ok()) return wal.status();
  const std::string& name = built.name;
  const std::string path = fs::Resolve(config.path, config.data_dir);
  built.key = repo::WalObjectKey(*wal);

  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    // A local error (exit 8, or 5 for permissions): never "not found", which is the repository's
    // answer.
    return Status::FromErrno(err, "archive-push: open '" + path + "'")
        .WithHint(err == EACCES || err == EPERM
                      ? "the user running walferry (often postgres) needs read access to '" + path +
                            "'"
                      : "archive_command must pass %p as PostgreSQL expands it (relative to the "
                        "data directory, "
                        "or absolute); no file was archived");
  }
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{fd};
  struct stat st;
  if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "archive-push: stat '" + path + "'");
  if (!S_ISREG(st.st_mode)) {
    return Status::InvalidArgument("archive-push: '" + path + "' is not a regular file")
        .WithHint("archive_command must pass %p as PostgreSQL expands it");
  }
  // Checked before anything is read or allocated: the object is built in memory.
  const uint64_t limit = MaxFileSize(*wal);
  if (static_cast<uint64_t>(st.st_size) > limit)
    return TooLarge(path, *wal, static_cast<uint64_t>(st.st_size), limit);
  built.source = {static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                  static_cast<uint64_t>(st.st_size),
                  static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
  std::string chunk(kReadChunk, '\0');
  auto read_chunk = [&]() -> Result<size_t> {
    size_t got = 0;
    while (got < chunk.size()) {
      ssize_t r = ::read(fd, chunk.data() + got, chunk.size() - got);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return Status::FromErrno(errno, "archive-push: read '" + path + "'");
      if (r == 0) break;
      got += static_cast<size_t>(r);
    }
    return got;
  };
  auto first = read_chunk();
  if (!first.ok()) return first.status();

  if (wal->HasWalHeader()) {
    auto p = pg::ReadCheckedWalPageHeader(std::string_view(chunk.data(), *first), *wal, 0, name);
    if (!p.ok()) return p.status();
    built.page = *p;
  }
  if (wal->kind == WalFileKind::kSegment && built.page &&
      static_cast<uint64_t>(st.st_size) != built.page->segment_size) {
    return WrongSegmentSize(path, static_cast<uint64_t>(st.st_size), built.page->segment_size);
  }
  built.local = repo::ReadDataDirIdentity(config.data_dir.empty() ? "." : config.data_dir);
  if (after_first_read) after_first_read();

  // Read, hash and compress in one pass, into the one buffer the object is
  // built in (repo::ObjectWriter::InMemory: the header is computed at the end
  // and put in front of the payload, never copied).
  auto writer = repo::ObjectWriter::InMemory(repo::WriteSpec::Wal(name, config.codec, config.level),
                                             static_cast<uint64_t>(st.st_size));
  if (!writer.ok()) return writer.status();
  repo::ObjectWriter& object = **writer;
  for (size_t n = *first; n > 0;) {
    if (object.original_size() + n > limit)
      return TooLarge(path, *wal, object.original_size() + n, limit);  // it grew
    WF_RETURN_IF_ERROR(object.Write(chunk.data(), n));
    auto r = read_chunk();
    if (!r.ok()) return r.status();
    n = *r;
  }
  WF_RETURN_IF_ERROR(object.Finish());
  if (wal->kind == WalFileKind::kSegment && built.page &&
      object.original_size() != built.page->segment_size) {
    return WrongSegmentSize(path, object.original_size(), built.page->segment_size);
  }
  built.header = object.header();
  built.buffer = object.TakeBuffer(&built.start);
  return built;
}

Result<PushResult> StoreObject(Storage& storage, const BuiltObject& built,
                               const repo::ClusterIdentity& repo) {
  const std::string& name = built.name;
  const std::string& key = built.key;
  const repo::ObjectHeader& header = built.header;
  WF_RETURN_IF_ERROR(CheckSameCluster(repo, built.local, built.page, name, storage.Describe()));
  const std::string_view object = built.object();

  PushResult result{key, header.size, object.size(), header.sha256_hex, false};
  PutOptions put;
  put.if_absent = true;
  put.size = object.size();
  auto stored = PutString(storage, key, object, put);
  if (stored.ok()) return result;
  if (!stored.status().IsAlreadyExists()) return stored.status();

  // Write-once: the name is taken. Its header alone proves nothing (a truncated or
  // damaged object keeps a good header): the stored object is read back whole,
  // decoded and verified, and only a verified copy of exactly this content is success.
  return CompareWithStored(storage, built, std::move(result));
}

Result<PushResult> Push(Storage& storage, const PushConfig& config) {
  // The repository's identity (connection, TLS handshake, one GET) is fetched
  // while the file is compressed; another cluster's file, or a repository
  // that was never created, is refused before anything is stored.
  std::future<Result<repo::ClusterIdentity>> identity;
  auto built = BuildObject(config, [&] {
    identity =
        std::async(std::launch::async, [&storage] { return repo::RequireIdentity(storage); });
  });
  if (!built.ok()) {
    if (identity.valid()) identity.wait();
    return built.status();
  }
  auto repo = identity.get();
  if (!repo.ok()) return repo.status();
  return StoreObject(storage, *built, *repo);
}

}  // namespace walferry::archive
