// push_dirs.cc — the push/ layout and listing (see push_dirs.h).
#include "spool/push_dirs.h"

#include <dirent.h>

#include <algorithm>
#include <chrono>

#include "common/fs.h"

namespace walferry::spool {
namespace {

void FillPushPaths(PushDirs& d) {
  d.push = d.spool.push_dir;
  d.ok = d.push + "/ok";
  d.err = d.push + "/err";
  d.staged = d.push + "/staged";
  d.lock = d.push + "/worker.lock";
  d.pid = d.push + "/worker.pid";
  d.log = d.push + "/worker.log";
  d.state = d.push + "/state.json";
  d.warned = d.push + "/warned";
}

}  // namespace

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

PushDirs PushPaths(const std::string& spool_path, const std::string& repo_url) {
  PushDirs d;
  std::string root = spool_path;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  d.spool.root = root;
  d.spool.repo_dir = root + "/" + RepoId(repo_url);
  d.spool.push_dir = d.spool.repo_dir + "/push";
  d.spool.get_dir = d.spool.repo_dir + "/get";
  d.spool.tmp_dir = d.spool.repo_dir + "/tmp";
  FillPushPaths(d);
  return d;
}

Result<PushDirs> OpenPushDirs(const SpoolDir& spool, fs::LocalFs& lfs) {
  PushDirs d;
  d.spool = spool;
  FillPushPaths(d);
  for (const std::string* dir : {&d.ok, &d.err, &d.staged}) {
    Status s = fs::CreateDirs(lfs, *dir);
    if (!s.ok()) return s.Annotate("spool");
  }
  return d;
}

bool ArchiveOrderLess(const std::string& a, const std::string& b) {
  const bool ha = a.ends_with(".history"), hb = b.ends_with(".history");
  if (ha != hb) return ha;
  return a < b;
}

std::vector<std::string> ListWithSuffix(const std::string& dir, const std::string& suffix) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name.empty() || name[0] == '.' || fs::IsTempName(name)) continue;
    if (!name.ends_with(suffix) || name.size() == suffix.size()) continue;
    out.push_back(name.substr(0, name.size() - suffix.size()));
  }
  ::closedir(d);
  std::sort(out.begin(), out.end(), ArchiveOrderLess);
  return out;
}

}  // namespace walferry::spool
