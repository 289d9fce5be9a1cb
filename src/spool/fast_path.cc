// fast_path.cc — the already-confirmed path of archive-push (see fast_path.h).
#include "spool/fast_path.h"

#include <sys/stat.h>

#include <ctime>

#include "common/fs.h"
#include "common/log.h"
#include "spool/push_status.h"
#include "spool/records.h"
#include "spool/staged.h"

namespace walferry::spool {
namespace {

std::string BaseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

std::optional<FastPathArgs> ParseFastPathArgs(int argc, char** argv,
                                              FlagKind (*kind_of)(std::string_view name)) {
  FastPathArgs args;
  bool command = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (a.starts_with("--")) {
      const size_t eq = a.find('=');
      const std::string name(
          a.substr(2, eq == std::string_view::npos ? std::string_view::npos : eq - 2));
      const FlagKind kind = kind_of(name);
      if (kind == FlagKind::kUnknown || args.flags.count(name) != 0) return std::nullopt;
      if (eq != std::string_view::npos) {
        args.flags[name] = std::string(a.substr(eq + 1));
      } else if (kind != FlagKind::kBool && i + 1 < argc) {
        args.flags[name] = argv[++i];
      } else {
        return std::nullopt;
      }
    } else if (a.starts_with("-")) {
      return std::nullopt;
    } else if (!command) {
      if (a != "archive-push") return std::nullopt;
      command = true;
    } else if (args.path.empty()) {
      args.path = a;
    } else {
      return std::nullopt;
    }
  }
  if (!command || args.path.empty()) return std::nullopt;
  return args;
}

void WarnBacklog(const SpoolPushConfig& cfg, const PushDirs& dirs, const std::string& data_dir) {
  if (cfg.backlog_warn <= 0) return;
  struct stat st;
  if (::stat(dirs.warned.c_str(), &st) == 0 && st.st_mtime + 60 > ::time(nullptr))
    return;  // warned recently
  auto ready = ListWithSuffix(data_dir + "/pg_wal/archive_status", ".ready");
  if (static_cast<int>(ready.size() + ListWithSuffix(dirs.staged, "").size()) < cfg.backlog_warn) {
    return;
  }
  int64_t pending = CountPending(dirs, data_dir);
  if (pending < cfg.backlog_warn) return;
  if (!fs::WriteFileAtomically(fs::LocalFs::Posix(), dirs.push, "warned", "").ok()) return;
  log::Warn("spool backlog: " + std::to_string(pending) + " WAL files wait for repository " +
            cfg.repo + " (spool-backlog-warn = " + std::to_string(cfg.backlog_warn) +
            "); oldest: " + (ready.empty() ? std::string("a staged copy") : ready.front()) +
            "; run 'walferry status' for details");
}

// No connection, no repository identity: a stat, one small read, one JSON parse.
bool AlreadyConfirmed(const SpoolPushConfig& cfg, const std::string& path,
                      const std::string& data_dir) {
  const std::string name = BaseName(path);
  const std::string wal_path = fs::Resolve(path, data_dir);
  PushDirs fast = PushPaths(cfg.spool_path, cfg.repo);
  if (!IsConfirmed(fast, cfg.repo, name, wal_path) &&
      !(cfg.durability_spool && IsStaged(fast, name, wal_path))) {
    return false;
  }
  log::Debug("'" + name + "' is confirmed in the spool already");
  WarnBacklog(cfg, fast, data_dir);
  return true;
}

}  // namespace walferry::spool
