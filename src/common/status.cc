#include <cstring>

#include "walferry/exit_codes.h"
#include "walferry/status.h"

namespace walferry {

Status Status::FromErrno(int err, const std::string& what) {
  std::string m = what + ": " + std::strerror(err);
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      // errno comes from a local system call: a missing local file or
      // directory is a local error, never kNotFound. Only a repository says
      // "no such object" (exit 1, which restore_command reads as the end of
      // the WAL); storage backends say it explicitly where they mean it.
      return Io(std::move(m));
    case EEXIST:
      return AlreadyExists(std::move(m));
    case EACCES:
    case EPERM:
      return Permission(std::move(m));
    case ENOSPC:
    case EDQUOT:
      return Io(std::move(m)).WithHint("free space on that filesystem; nothing was stored");
    case EINVAL:
    case ENAMETOOLONG:
      return InvalidArgument(std::move(m));
    default:
      return Io(std::move(m));
  }
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  Status s(code_, context + ": " + message_);
  s.hint_ = hint_;
  return s;
}

const char* Status::CodeName(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not found";
    case Code::kAlreadyExists: return "already exists";
    case Code::kInvalidArgument: return "invalid argument";
    case Code::kAuth: return "authentication failed";
    case Code::kPermission: return "permission denied";
    case Code::kUnavailable: return "unavailable";
    case Code::kCorruption: return "corruption";
    case Code::kIo: return "i/o error";
    case Code::kNotSupported: return "not supported";
    case Code::kFailedPrecondition: return "wrong repository";
    case Code::kInternal: return "internal error";
  }
  return "unknown";
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

namespace {
constexpr ExitCodeInfo kExitCodes[] = {
    {ExitCode::kOk, "ok", "success"},
    {ExitCode::kNotFound, "not-found", "the repository does not have the requested file or object"},
    {ExitCode::kUsage, "usage", "bad command line, configuration file or option value"},
    {ExitCode::kUnreachable, "unreachable",
     "the repository could not be reached, timed out or was overloaded, after retries"},
    {ExitCode::kAuth, "auth", "the repository rejected the credentials or the request signature"},
    {ExitCode::kPermission, "permission", "access denied to the bucket, prefix or a local path"},
    {ExitCode::kConflict, "conflict", "an object already exists with different content"},
    {ExitCode::kCorruption, "corruption", "a checksum or size did not match: data is not what was stored"},
    {ExitCode::kLocalIo, "local-io", "local filesystem error (disk full, missing file, i/o error)"},
    {ExitCode::kNotSupported, "not-supported", "the server or backend lacks a feature walferry needs"},
    {ExitCode::kInternal, "internal", "a bug in walferry; please report it"},
    {ExitCode::kWrongRepository, "wrong-repository",
     "the file belongs to another cluster than the repository's (system identifier differs)"},
    {ExitCode::kRecoveryMustStop, "recovery-must-stop",
     "archive-get during archive recovery failed for another reason than a missing file; "
     "PostgreSQL stops recovery"},
};
}  // namespace

const ExitCodeInfo* ExitCodeTable(int* count) {
  *count = static_cast<int>(sizeof(kExitCodes) / sizeof(kExitCodes[0]));
  return kExitCodes;
}

ExitCode ExitCodeFor(const Status& s) {
  using C = Status::Code;
  switch (s.code()) {
    case C::kOk: return ExitCode::kOk;
    case C::kNotFound: return ExitCode::kNotFound;
    case C::kAlreadyExists: return ExitCode::kConflict;
    case C::kInvalidArgument: return ExitCode::kUsage;
    case C::kAuth: return ExitCode::kAuth;
    case C::kPermission: return ExitCode::kPermission;
    case C::kUnavailable: return ExitCode::kUnreachable;
    case C::kCorruption: return ExitCode::kCorruption;
    case C::kIo: return ExitCode::kLocalIo;
    case C::kNotSupported: return ExitCode::kNotSupported;
    case C::kFailedPrecondition: return ExitCode::kWrongRepository;
    case C::kInternal: return ExitCode::kInternal;
  }
  return ExitCode::kInternal;
}

}  // namespace walferry
