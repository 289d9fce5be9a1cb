#include "check/archive_roundtrip.h"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <thread>

#include "archive/archive.h"
#include "backup/pg.h"
#include "repo/identity.h"
#include "repo/keys.h"
#include "walferry/wal_name.h"

namespace walferry::check {
namespace {

using Clock = std::chrono::steady_clock;

double MillisSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

struct ArchiverStats {
  std::string last_archived_wal, last_archived_time;
  long long failed_count = 0;
  std::string last_failed_wal, last_failed_time;
};

Result<ArchiverStats> ReadArchiver(backup::PgSession& pg) {
  auto rows = pg.Query("read pg_stat_archiver",
                       "SELECT coalesce(last_archived_wal, ''), coalesce(last_archived_time::text, "
                       "''), failed_count, coalesce(last_failed_wal, ''), "
                       "coalesce(last_failed_time::text, '') FROM pg_stat_archiver");
  if (!rows.ok()) return rows.status();
  if (rows->size() != 1 || rows->front().size() != 5) {
    return Status::Internal("pg_stat_archiver: expected one row of five columns");
  }
  const auto& r = rows->front();
  ArchiverStats a{r[0], r[1], 0, r[3], r[4]};
  a.failed_count = std::strtoll(r[2].c_str(), nullptr, 10);
  return a;
}

bool IsHex24(std::string_view s) {
  if (s.size() < 24) return false;
  for (size_t i = 0; i < 24; ++i) {
    if (!std::isxdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

// The archiver works oldest first: once it reports a segment at or past `segment`, that
// segment is archived. A .backup or .partial name of the same segment does not count, nor
// does a .history file (its name says nothing about the segments).
bool ArchivedAtOrPast(const std::string& last_archived, const std::string& segment) {
  if (!IsHex24(last_archived)) return false;
  std::string_view prefix = std::string_view(last_archived).substr(0, 24);
  if (prefix > segment) return true;
  return last_archived == segment;
}

std::string TempParent(const RoundTripOptions& options) {
  if (!options.temp_dir.empty()) return options.temp_dir;
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != '\0' ? t : "/tmp";
}

}  // namespace

Result<PgSettings> ReadPgSettings(backup::PgSession& pg) {
  auto rows = pg.Query("read PostgreSQL's archiving settings",
                       "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level', "
                       "'archive_mode', 'archive_command', 'archive_library', 'restore_command', "
                       "'data_directory')");
  if (!rows.ok()) return rows.status();
  std::map<std::string, std::string> v;
  for (const auto& r : *rows) {
    if (r.size() == 2) v[r[0]] = r[1];
  }
  auto recovery =
      pg.Value("ask PostgreSQL whether it is in recovery", "SELECT pg_is_in_recovery()");
  if (!recovery.ok()) return recovery.status();
  PgSettings s;
  s.server_version = pg.ServerVersion();
  s.in_recovery = *recovery == "t";
  s.wal_level = v["wal_level"];
  s.archive_mode = v["archive_mode"];
  s.archive_command = v["archive_command"];
  s.archive_library = v["archive_library"];
  s.restore_command = v["restore_command"];
  s.data_directory = v["data_directory"];  // empty for a role that may not see it
  return s;
}

Status ArchiveRoundTrip(backup::PgSession& pg, Storage& storage, const RoundTripOptions& options,
                        const std::function<void(const StepResult&)>& report) {
  Status first_failure;
  auto step = [&](const std::string& name, const std::function<Status(std::string*)>& fn) {
    StepResult r;
    r.name = name;
    auto start = Clock::now();
    r.status = fn(&r.detail);
    r.millis = MillisSince(start);
    report(r);
    if (!r.status.ok()) first_failure = r.status;
    return r.status.ok();
  };

  // 1. The repository exists and belongs to this server's cluster.
  auto identity = [&](std::string* detail) -> Status {
    auto repo = repo::RequireIdentity(storage);
    if (!repo.ok()) return repo.status();
    auto sysid = pg.Value("read the server's system identifier",
                          "SELECT system_identifier::text FROM pg_control_system()");
    if (!sysid.ok()) return sysid.status();
    const std::string theirs = std::to_string(repo->system_identifier);
    if (*sysid != theirs) {
      return Status::WrongRepository("repository " + storage.Describe() +
                                     " belongs to the cluster with system identifier " + theirs +
                                     ", the server is cluster " + *sysid)
          .WithHint(
              "each cluster needs its own repository (another --repo or prefix), created "
              "once with 'walferry repo-create'");
    }
    *detail = "system identifier " + *sysid;
    return Status::Ok();
  };
  if (!step("repository identity", identity)) return first_failure;

  ArchiverStats before;
  std::string segment;
  // 2. pg_switch_wal(), after a snapshot of the archiver's counters.
  auto do_switch = [&](std::string* detail) -> Status {
    auto a = ReadArchiver(pg);
    if (!a.ok()) return a.status();
    before = *a;
    // pg_switch_wal() returns the end of the segment it closed, or, when no WAL was written
    // since the last switch, the start of the current one (offset 0): it did nothing. Either
    // way pg_walfile_name() of it names the last completed segment.
    auto rows = pg.Query("pg_switch_wal()",
                         "SELECT pg_walfile_name(l), (pg_walfile_name_offset(l)).file_offset = 0 "
                         "FROM pg_switch_wal() l");
    if (rows.status().code() == Status::Code::kPermission) {
      return Status(rows.status())
          .WithHint(
              "run check as a superuser, or GRANT EXECUTE ON FUNCTION pg_switch_wal() TO "
              "the role it connects as");
    }
    if (!rows.ok()) return rows.status();
    if (rows->size() != 1 || rows->front().size() != 2) {
      return Status::Internal("pg_switch_wal(): expected one row of two columns");
    }
    const std::string& seg = rows->front()[0];
    if (!ParseWalFileName(seg).ok() || seg.size() != 24) {
      return Status::Internal("pg_switch_wal() named '" + seg + "', not a WAL segment");
    }
    segment = seg;
    *detail =
        rows->front()[1] == "t"
            ? "no WAL since the last switch, nothing switched; last completed segment " + segment
            : "segment " + segment + " completed";
    return Status::Ok();
  };
  if (!step("switch wal", do_switch)) return first_failure;

  // 3. The real archive_command archives it (pg_stat_archiver), bounded.
  auto wait = [&](std::string* detail) -> Status {
    const auto deadline =
        Clock::now() + std::chrono::duration<double>(options.archive_wait_seconds);
    for (;;) {
      auto a = ReadArchiver(pg);
      if (!a.ok()) return a.status();
      if (ArchivedAtOrPast(a->last_archived_wal, segment)) {
        *detail = "pg_stat_archiver: last archived " + a->last_archived_wal + " at " +
                  a->last_archived_time;
        return Status::Ok();
      }
      if (a->failed_count > before.failed_count) {
        return Status::Unavailable("PostgreSQL's archiver failed to archive '" +
                                   a->last_failed_wal + "' at " + a->last_failed_time + " (" +
                                   std::to_string(a->failed_count - before.failed_count) +
                                   " failure(s) since check switched to a new segment after " +
                                   segment + "); archive_command did not store it")
            .WithHint(
                "PostgreSQL's log has archive_command's own error (walferry logs it "
                "there); fix it, then run check again");
      }
      if (Clock::now() >= deadline) {
        return Status::Unavailable(
                   "PostgreSQL's archiver did not archive '" + segment + "' within " +
                   std::to_string(static_cast<long>(options.archive_wait_seconds)) +
                   " s (pg_stat_archiver: last archived '" + a->last_archived_wal + "'" +
                   (a->last_archived_time.empty() ? "" : " at " + a->last_archived_time) +
                   ", no failure)")
            .WithHint(
                "the archiver may be working through a backlog (see pg_stat_archiver and "
                "pg_wal/archive_status); wait longer with --archive-wait");
      }
      std::this_thread::sleep_for(std::chrono::duration<double>(options.poll_seconds));
    }
  };
  if (!step("archiver", wait)) return first_failure;

  // 4. It is in this repository, under the archive layout's key.
  auto wal = ParseWalFileName(segment);
  const std::string key = repo::WalObjectKey(*wal);
  auto find = [&](std::string* detail) -> Status {
    auto info = storage.Head(key);
    if (info.status().IsNotFound()) {
      return Status::NotFound("PostgreSQL archived '" + segment + "' (pg_stat_archiver), but " +
                              storage.Describe() + " has no '" + key +
                              "': archive_command stores WAL somewhere else")
          .WithHint(
              "archive_command and check must use the same configuration: give check the "
              "--config (or --repo) that archive_command gives walferry");
    }
    if (!info.ok()) return info.status();
    *detail = "'" + key + "', " + std::to_string(info->size) + " bytes stored";
    return Status::Ok();
  };
  if (!step("segment in repository", find)) return first_failure;

  // 5. archive-get's own path into a private temporary directory, then removed.
  auto read_back = [&](std::string* detail) -> Status {
    std::string tmpl = TempParent(options) + "/walferry-check.XXXXXX";
    if (::mkdtemp(tmpl.data()) == nullptr) {
      return Status::FromErrno(errno,
                               "create a temporary directory in '" + TempParent(options) + "'")
          .WithHint("set TMPDIR to a writable directory with room for one WAL segment");
    }
    const std::string dir = tmpl;
    archive::GetConfig gc;
    gc.wal_name = segment;
    gc.path = dir + "/" + segment;
    auto got = archive::Get(storage, gc);
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);  // our own directory: the segment and nothing else
    if (!got.ok()) return got.status();
    *detail =
        std::to_string(got->size) + " bytes, size and sha256 verified, temporary copy removed";
    return Status::Ok();
  };
  step("read back", read_back);
  return first_failure;
}

}  // namespace walferry::check
