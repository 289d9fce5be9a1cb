// fs.h — local filesystem helpers that make writes durable; errno → Status here.
#pragma once

#include <string>

#include "walferry/local_fs.h"
#include "walferry/status.h"

namespace walferry::fs {

// mkdir -p; each directory created is fsynced into its parent. Through `fs`
// (LocalFs::Posix() without it), so that a power-cut test sees every step.
Status CreateDirs(LocalFs& fs, const std::string& path);
Status CreateDirs(const std::string& path);
// fsync of a directory, so a rename or create inside it survives power loss.
Status SyncDir(LocalFs& fs, const std::string& dir);
Status SyncDir(const std::string& dir);
// Writes all of `data` to fd (retrying short writes and EINTR).
Status WriteAll(int fd, const char* data, size_t n, const std::string& path);
// `path` relative to `base` ("pg_wal/x" in "/data" → "/data/pg_wal/x"); an
// absolute path, or an empty base, is returned as it is.
std::string Resolve(const std::string& path, const std::string& base);
// The directory part of a path ("a/b/c" → "a/b", "c" → ".").
std::string DirName(const std::string& path);
// A short random token for unique temp-file names.
std::string RandomToken();

}  // namespace walferry::fs
