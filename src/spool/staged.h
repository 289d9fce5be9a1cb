// staged.h — staged copies (archive-durability = spool): staged/<name> holds one JSON
// line of meta, then the compressed object exactly as it will be stored.
//
// The meta line records the object's own size and SHA-256 and the original's: the worker
// checks the staged copy against them (and decodes it whole) before upload, so local
// damage between staging and upload never reaches the repository.
#pragma once

#include <optional>
#include <string>

#include "archive/archive.h"
#include "spool/push_dirs.h"
#include "walferry/local_fs.h"
#include "walferry/status.h"

namespace walferry::spool {

// Writes the built object to staged/<name> durably. kIo (naming the spool path) when the
// spool is full or unwritable; nothing is left at staged/<name> then. Through `fs`
// (fs::WriteFileAtomically: temp, fsync, rename, directory fsync).
Status StageObject(const PushDirs& dirs, const archive::BuiltObject& built,
                   fs::LocalFs& fs = fs::LocalFs::Posix());

// As IsConfirmed (records.h), for a staged copy of the same file: staged/<name> exists,
// names `name` and records exactly the stat of `wal_path`.
bool IsStaged(const PushDirs& dirs, const std::string& name, const std::string& wal_path);

// Loads the staged copy at `path` and checks it whole: the name (and so the object key)
// comes from the file's own name, never from its contents; the object must be what was
// staged (size and SHA-256 in the meta line) and decode to what its header says; the page
// header is read from the decoded bytes again. kCorruption (with a HINT) when it is not.
Result<archive::BuiltObject> LoadStaged(const std::string& path, const std::string& name);

// The source stat a staged copy's meta line records (nullopt when unreadable): which
// file in pg_wal it was made of.
std::optional<archive::SourceStat> StagedSource(const std::string& path, const std::string& name);

}  // namespace walferry::spool
