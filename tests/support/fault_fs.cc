// fault_fs.cc — see fault_fs.h.
#include "support/fault_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <fstream>

namespace walferry::testing {
namespace {

std::string Normal(const std::string& path) {
  std::vector<std::string> parts;
  size_t at = 0;
  while (at <= path.size()) {
    size_t slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    std::string part = path.substr(at, slash - at);
    if (part == "..") {
      if (!parts.empty()) parts.pop_back();
    } else if (!part.empty() && part != ".") {
      parts.push_back(part);
    }
    at = slash + 1;
  }
  std::string out;
  for (const auto& p : parts) out += "/" + p;
  return out.empty() ? "/" : out;
}

std::string Parent(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string Base(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

void FaultFs::FailNth(Op op, int n, int err) {
  std::lock_guard<std::mutex> l(mu_);
  fail_[op] = {n, err};
}
void FaultFs::NoSpaceAfter(uint64_t bytes) {
  std::lock_guard<std::mutex> l(mu_);
  space_ = bytes;
}
void FaultFs::CutAfterSteps(long steps) {
  std::lock_guard<std::mutex> l(mu_);
  cut_after_ = steps;
}
long FaultFs::steps() const {
  std::lock_guard<std::mutex> l(mu_);
  return steps_;
}
bool FaultFs::cut() const {
  std::lock_guard<std::mutex> l(mu_);
  return cut_;
}
int FaultFs::calls(Op op) const {
  std::lock_guard<std::mutex> l(mu_);
  auto it = calls_.find(op);
  return it == calls_.end() ? 0 : it->second;
}
uint64_t FaultFs::bytes_written() const {
  std::lock_guard<std::mutex> l(mu_);
  return written_;
}

int FaultFs::Step(Op op) {
  int n = ++calls_[op];
  ++steps_;
  if (cut_ || (cut_after_ >= 0 && steps_ > cut_after_)) {
    cut_ = true;
    return EIO;
  }
  auto f = fail_.find(op);
  if (f != fail_.end() && f->second.first == n) return f->second.second;
  return 0;
}

// The kernel's name of what `at` is open on (never a stale record of ours: a
// descriptor may have been dup'ed or closed and reused outside the seam), and a
// path name resolved through its deepest existing ancestor, so that both spell
// one directory alike.
std::string FaultFs::PathOf(int at, const std::string& name) const {
  std::string base;
  if (!name.empty() && name[0] == '/') {
    base = "/";
  } else if (at == AT_FDCWD) {
    base = std::filesystem::current_path().string();
  } else {
    char buf[4096];
    ssize_t k = ::readlink(("/proc/self/fd/" + std::to_string(at)).c_str(), buf, sizeof buf);
    base = k > 0 ? std::string(buf, static_cast<size_t>(k)) : "/unknown-fd";
  }
  std::string p = Normal(base + "/" + name);
  // Resolve the existing ancestors (not the last component: it may be a link).
  std::string parent = Parent(p);
  std::error_code ec;
  auto canon = std::filesystem::weakly_canonical(parent, ec);
  if (!ec && p != "/") p = Normal(canon.string() + "/" + Base(p));
  return p;
}

long FaultFs::IdOf(const std::string& path) {
  auto it = cur_.find(path);
  if (it != cur_.end()) return it->second;
  long id = next_id_++;
  cur_[path] = id;
  durable_data_[id] = ReadAll(path);  // met for the first time: as it was, durable
  return id;
}

FaultFs::Listing FaultFs::Snapshot(const std::string& dir) {
  Listing l;
  std::vector<std::string> names;
  if (real_.List(AT_FDCWD, dir, &names) != 0) return l;
  for (const auto& n : names) {
    const std::string p = dir + "/" + n;
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    Entry e;
    if (S_ISDIR(st.st_mode)) {
      e.kind = Kind::kDir;
    } else if (S_ISLNK(st.st_mode)) {
      e.kind = Kind::kLink;
      char buf[4096];
      ssize_t k = ::readlink(p.c_str(), buf, sizeof buf);
      e.target.assign(buf, k > 0 ? static_cast<size_t>(k) : 0);
    } else {
      e.id = IdOf(p);
    }
    l[n] = e;
  }
  return l;
}

void FaultFs::Track(const std::string& dir) {
  if (durable_dirs_.count(dir) == 0) durable_dirs_[dir] = Snapshot(dir);
}

bool FaultFs::DurablyExists(const std::string& dir) const {
  if (dir == "/") return true;
  const std::string parent = Parent(dir);
  auto it = durable_dirs_.find(parent);
  if (it != durable_dirs_.end()) {
    auto e = it->second.find(Base(dir));
    if (e == it->second.end() || e->second.kind != Kind::kDir) return false;
  }
  return DurablyExists(parent);
}

void FaultFs::Restore(const std::string& dir, const Listing& want) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  std::vector<std::string> names;
  (void)real_.List(AT_FDCWD, dir, &names);
  for (const auto& n : names) {  // what was not durable goes
    const std::string p = dir + "/" + n;
    auto w = want.find(n);
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) continue;
    Kind now = S_ISDIR(st.st_mode) ? Kind::kDir : S_ISLNK(st.st_mode) ? Kind::kLink : Kind::kFile;
    if (w == want.end() || w->second.kind != now) std::filesystem::remove_all(p, ec);
  }
  for (const auto& [n, e] : want) {  // what was durable comes back, as it was made durable
    const std::string p = dir + "/" + n;
    switch (e.kind) {
      case Kind::kDir: std::filesystem::create_directory(p, ec); break;
      case Kind::kLink:
        std::filesystem::remove(p, ec);
        (void)::symlink(e.target.c_str(), p.c_str());
        break;
      case Kind::kFile: {
        const auto& data = durable_data_[e.id];
        struct stat st;
        bool existed = ::lstat(p.c_str(), &st) == 0;
        std::ofstream out(p, std::ios::binary | std::ios::trunc);
        if (data) out << *data;
        if (!existed) ::chmod(p.c_str(), 0600);
        break;
      }
    }
  }
}

void FaultFs::PowerCut() {
  std::lock_guard<std::mutex> l(mu_);
  // Parents before children (a prefix sorts first); a directory that is not
  // durably in its parent was removed with the parent's non-durable entries.
  for (const auto& [dir, want] : durable_dirs_) {
    if (DurablyExists(dir)) Restore(dir, want);
  }
  fd_id_.clear();
  cur_.clear();
  durable_data_.clear();
  durable_dirs_.clear();
  cut_ = false;
  cut_after_ = -1;
}

int FaultFs::OpenDir(int at, const std::string& name, bool nofollow, int* fd) {
  std::lock_guard<std::mutex> l(mu_);
  if (cut_) return EIO;
  int e = real_.OpenDir(at, name, nofollow, fd);
  if (e == 0) fd_id_.erase(*fd);
  return e;
}

int FaultFs::Create(int at, const std::string& name, mode_t mode, int* fd) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kCreate)) return e;
  const std::string p = PathOf(at, name);
  Track(Parent(p));
  int e = real_.Create(at, name, mode, fd);
  if (e != 0) return e;
  long id = next_id_++;
  durable_data_[id] = std::nullopt;  // never synced: empty after a cut
  cur_[p] = id;
  struct stat st {};
  ::fstat(*fd, &st);
  fd_id_[*fd] = {id, st.st_ino, st.st_dev};
  return 0;
}

int FaultFs::OpenRead(int at, const std::string& name, int* fd) {
  std::lock_guard<std::mutex> l(mu_);
  if (cut_) return EIO;
  int e = real_.OpenRead(at, name, fd);
  if (e == 0) fd_id_.erase(*fd);
  return e;
}

int FaultFs::Write(int fd, const char* data, size_t n) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kWrite)) return e;
  if (space_ && written_ + n > *space_) {
    size_t fits = static_cast<size_t>(*space_ - std::min(*space_, written_));
    if (fits > 0) (void)real_.Write(fd, data, fits);
    written_ += fits;
    return ENOSPC;
  }
  int e = real_.Write(fd, data, n);
  if (e == 0) written_ += n;
  return e;
}

int FaultFs::Read(int fd, char* buf, size_t n, size_t* got) {
  std::lock_guard<std::mutex> l(mu_);
  if (cut_) return EIO;
  return real_.Read(fd, buf, n, got);
}

int FaultFs::Sync(int fd) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kSync)) return e;
  int e = real_.Sync(fd);
  if (e != 0) return e;
  struct stat st;
  if (::fstat(fd, &st) != 0) return 0;
  if (S_ISDIR(st.st_mode)) {
    const std::string p = PathOf(fd, ".");
    durable_dirs_[p] = Snapshot(p);
  } else {
    auto id = fd_id_.find(fd);
    // Only a descriptor Create() gave out (not one closed and reused since).
    if (id != fd_id_.end() && id->second.ino == st.st_ino && id->second.dev == st.st_dev)
      durable_data_[id->second.id] = ReadAll("/proc/self/fd/" + std::to_string(fd));
  }
  return 0;
}

int FaultFs::Close(int fd) {
  std::lock_guard<std::mutex> l(mu_);
  fd_id_.erase(fd);
  return real_.Close(fd);
}

int FaultFs::Rename(int from_at, const std::string& from, int to_at, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kRename)) return e;
  const std::string f = PathOf(from_at, from), t = PathOf(to_at, to);
  Track(Parent(f));
  Track(Parent(t));
  bool known = cur_.count(f) != 0;
  long id = known ? cur_[f] : 0;
  int e = real_.Rename(from_at, from, to_at, to);
  if (e != 0) return e;
  if (known) {
    cur_.erase(f);
    cur_[t] = id;
  }
  return 0;
}

int FaultFs::Link(int from_at, const std::string& from, int to_at, const std::string& to) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kLink)) return e;
  const std::string f = PathOf(from_at, from), t = PathOf(to_at, to);
  Track(Parent(f));
  Track(Parent(t));
  long id = IdOf(f);
  int e = real_.Link(from_at, from, to_at, to);
  if (e == 0) cur_[t] = id;
  return e;
}

int FaultFs::Unlink(int at, const std::string& name, bool dir) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kUnlink)) return e;
  const std::string p = PathOf(at, name);
  Track(Parent(p));
  if (dir) Track(p);
  int e = real_.Unlink(at, name, dir);
  if (e == 0) cur_.erase(p);
  return e;
}

int FaultFs::Mkdir(int at, const std::string& name, mode_t mode) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kMkdir)) return e;
  Track(Parent(PathOf(at, name)));
  return real_.Mkdir(at, name, mode);
}

int FaultFs::Symlink(const std::string& target, int at, const std::string& name) {
  std::lock_guard<std::mutex> l(mu_);
  if (int e = Step(Op::kSymlink)) return e;
  Track(Parent(PathOf(at, name)));
  return real_.Symlink(target, at, name);
}

int FaultFs::Stat(int at, const std::string& name, struct stat* st) {
  std::lock_guard<std::mutex> l(mu_);
  if (cut_) return EIO;
  return real_.Stat(at, name, st);
}

int FaultFs::List(int at, const std::string& name, std::vector<std::string>* names) {
  std::lock_guard<std::mutex> l(mu_);
  if (cut_) return EIO;
  return real_.List(at, name, names);
}

int FaultFs::FreeBytes(const std::string& path, uint64_t* bytes) {
  std::lock_guard<std::mutex> l(mu_);
  if (cut_) return EIO;
  int e = real_.FreeBytes(path, bytes);
  if (e == 0 && space_) *bytes = *space_ - std::min(*space_, written_);
  return e;
}

}  // namespace walferry::testing
