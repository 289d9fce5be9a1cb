// bytes.cc — the in-memory and local-file byte sources.
#include "walferry/bytes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace walferry {

Result<size_t> MemorySource::Read(char* buf, size_t n) {
  size_t k = std::min(n, data_.size() - pos_);
  std::memcpy(buf, data_.data() + pos_, k);
  pos_ += k;
  return k;
}

Result<std::unique_ptr<FileSource>> FileSource::Open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open '" + path + "'");
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "stat '" + path + "'");
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("'" + path + "' is not a regular file");
  }
  return std::unique_ptr<FileSource>(new FileSource(fd, static_cast<uint64_t>(st.st_size), path));
}

FileSource::~FileSource() { ::close(fd_); }

Result<size_t> FileSource::Read(char* buf, size_t n) {
  for (;;) {
    ssize_t r = ::pread(fd_, buf, n, static_cast<off_t>(pos_));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return Status::FromErrno(errno, "read '" + path_ + "'");
    pos_ += static_cast<uint64_t>(r);
    return static_cast<size_t>(r);
  }
}

Status FileSource::Rewind() {
  pos_ = 0;
  return Status::Ok();
}

}  // namespace walferry
