#include "backup/walker.h"

#include <dirent.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <set>

#include "pg/tablespace.h"

namespace walferry::backup {
namespace {

constexpr std::string_view kContentsExcluded[] = {"pg_wal",      "pg_replslot", "pg_dynshmem",
                                                  "pg_notify",   "pg_serial",   "pg_snapshots",
                                                  "pg_stat_tmp", "pg_subtrans"};
constexpr std::string_view kTopFilesExcluded[] = {
    "postmaster.pid",           "postmaster.opts",      "backup_label",    "backup_label.old",
    "tablespace_map",           "tablespace_map.old",   "backup_manifest", "backup_manifest.tmp",
    "postgresql.auto.conf.tmp", "current_logfiles.tmp", "recovery.signal", "standby.signal"};

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A database directory: base/<oid> or pg_tblspc/<oid>/<version>/<oid>.
bool IsDatabaseDir(std::string_view dir) {
  if (dir.starts_with("base/")) return AllDigits(dir.substr(5));
  if (!pg::InTablespaceDir(dir)) return false;
  size_t a = dir.find('/', 10);
  if (a == std::string_view::npos) return false;
  size_t b = dir.find('/', a + 1);
  return b != std::string_view::npos && AllDigits(dir.substr(b + 1));
}

// "t12_3456", "t12_3456_fsm", "t12_3456.1": a temporary relation's file.
bool IsTempRelation(std::string_view name) {
  if (name.size() < 4 || name[0] != 't') return false;
  size_t us = name.find('_');
  if (us == std::string_view::npos || !AllDigits(name.substr(1, us - 1))) return false;
  std::string_view rest = name.substr(us + 1);
  size_t end = rest.find_first_not_of("0123456789");
  return end != 0;
}

// The relfilenode a relation file belongs to ("16384" for "16384_vm.2"), or "".
std::string_view RelNode(std::string_view name) {
  size_t end = name.find_first_not_of("0123456789");
  if (end == 0) return {};
  std::string_view rest = name.substr(end == std::string_view::npos ? name.size() : end);
  if (!rest.empty() && rest[0] != '_' && rest[0] != '.') return {};
  return name.substr(0, end == std::string_view::npos ? name.size() : end);
}

std::string Join(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : std::string(dir) + "/" + std::string(name);
}

class Walker {
 public:
  explicit Walker(WalkResult* out) : out_(out) {}

  // Lists `abs` (whose manifest path is `rel`, "" for the top) into out_.
  Status Dir(const std::string& abs, const std::string& rel) {
    DIR* d = ::opendir(abs.c_str());
    if (d == nullptr) {
      if (errno == ENOENT && !rel.empty()) return Status::Ok();  // vanished
      return Status::FromErrno(errno, "read directory '" + Printable(abs) + "'");
    }
    std::vector<std::string> names;
    errno = 0;
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n != "." && n != "..") names.emplace_back(n);
    }
    int err = errno;
    ::closedir(d);
    if (err != 0) return Status::FromErrno(err, "read directory '" + Printable(abs) + "'");
    std::sort(names.begin(), names.end());

    // Unlogged relations: the files of relations that have an init fork.
    std::set<std::string_view> unlogged;
    if (IsDatabaseDir(rel)) {
      for (const auto& n : names) {
        if (n.size() > 5 && n.ends_with("_init") &&
            AllDigits(std::string_view(n).substr(0, n.size() - 5))) {
          unlogged.insert(std::string_view(n).substr(0, n.size() - 5));
        }
      }
    }
    for (const auto& name : names) {
      std::string child_abs = abs + "/" + name;
      std::string child_rel = Join(rel, name);
      struct stat st;
      if (::lstat(child_abs.c_str(), &st) != 0) {
        if (errno == ENOENT) continue;  // vanished since the listing
        return Status::FromErrno(errno, "stat '" + Printable(child_abs) + "'");
      }
      bool is_dir = S_ISDIR(st.st_mode);
      if (ExcludedEntry(rel, name, is_dir)) continue;
      if (IsDatabaseDir(rel)) {
        if (IsTempRelation(name)) continue;
        std::string_view node = RelNode(name);
        if (!node.empty() && unlogged.count(node) && !name.ends_with("_init") &&
            std::string_view(name).find("_init.") == std::string_view::npos) {
          continue;
        }
      }
      WalkEntry e;
      e.path = child_rel;
      e.abs_path = child_abs;
      e.mode = st.st_mode & 07777;
      e.mtime = st.st_mtime;
      if (S_ISLNK(st.st_mode)) {
        Status s = Link(child_abs, child_rel, &e);
        if (!s.ok()) return s;
        continue;
      }
      if (is_dir) {
        e.type = FileType::kDir;
        out_->entries.push_back(e);
        if (ContentsExcluded(child_rel)) {
          if (child_rel == "pg_wal")
            AddDir(child_abs + "/archive_status", "pg_wal/archive_status", e);
          continue;
        }
        WF_RETURN_IF_ERROR(Dir(child_abs, child_rel));
      } else if (S_ISREG(st.st_mode)) {
        e.type = FileType::kFile;
        e.size = static_cast<uint64_t>(st.st_size);
        out_->entries.push_back(e);
      } else {
        out_->warnings.push_back("skipped '" + Printable(child_abs) +
                                 "': not a file, directory or symbolic link");
      }
    }
    return Status::Ok();
  }

 private:
  Status Link(const std::string& abs, const std::string& rel, WalkEntry* e) {
    char buf[4096];
    ssize_t n = ::readlink(abs.c_str(), buf, sizeof buf - 1);
    if (n < 0) {
      if (errno == ENOENT) return Status::Ok();
      return Status::FromErrno(errno, "read link '" + Printable(abs) + "'");
    }
    e->target.assign(buf, static_cast<size_t>(n));
    std::string dir = rel.substr(0, rel.rfind('/') == std::string::npos ? 0 : rel.rfind('/'));
    bool tablespace = pg::IsTablespaceLink(rel);
    if (tablespace) {
      e->type = FileType::kLink;
      out_->entries.push_back(*e);
      return Dir(abs, rel);  // opendir follows the link
    }
    if (rel == "pg_wal") {  // pg_wal elsewhere: restored as a plain directory
      e->type = FileType::kDir;
      e->target.clear();
      e->mode = 0700;
      out_->entries.push_back(*e);
      AddDir(abs + "/archive_status", "pg_wal/archive_status", *e);
      return Status::Ok();
    }
    if (dir.starts_with(
            pg::kTablespaceDir)) {  // only tablespaces there; a link below one is not followed
      out_->warnings.push_back("skipped '" + Printable(abs) +
                               "': a symbolic link in pg_tblspc that is not a tablespace");
      return Status::Ok();
    }
    e->type = FileType::kLink;
    out_->entries.push_back(*e);
    return Status::Ok();
  }

  void AddDir(const std::string& abs, const std::string& rel, const WalkEntry& parent) {
    struct stat st;
    WalkEntry e = parent;
    e.path = rel;
    e.abs_path = abs;
    if (::stat(abs.c_str(), &st) == 0) {
      e.mode = st.st_mode & 07777;
      e.mtime = st.st_mtime;
    }
    out_->entries.push_back(e);
  }

  WalkResult* out_;
};

}  // namespace

bool ContentsExcluded(std::string_view path) {
  return std::find(std::begin(kContentsExcluded), std::end(kContentsExcluded), path) !=
         std::end(kContentsExcluded);
}

bool ExcludedEntry(std::string_view dir, std::string_view name, bool is_dir) {
  if (name.starts_with("pgsql_tmp")) return true;
  if (!is_dir && name.starts_with("pg_internal.init")) return true;
  if (dir.empty() && !is_dir &&
      std::find(std::begin(kTopFilesExcluded), std::end(kTopFilesExcluded), name) !=
          std::end(kTopFilesExcluded)) {
    return true;
  }
  return false;
}

Result<WalkResult> WalkDataDirectory(const std::string& data_dir) {
  WalkResult out;
  Walker w(&out);
  WF_RETURN_IF_ERROR(w.Dir(data_dir, ""));
  std::stable_sort(out.entries.begin(), out.entries.end(),
                   [](const WalkEntry& a, const WalkEntry& b) { return a.path < b.path; });
  return out;
}

}  // namespace walferry::backup
