#include "walferry/status.h"

#include <cstring>

#include "walferry/exit_codes.h"

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
    case EEXIST: return AlreadyExists(std::move(m));
    case EACCES:
    case EPERM: return Permission(std::move(m));
    case ENOSPC:
    case EDQUOT:
      return Io(std::move(m)).WithHint("free space on that filesystem; nothing was stored");
    case EINVAL:
    case ENAMETOOLONG: return InvalidArgument(std::move(m));
    default: return Io(std::move(m));
  }
}

Status Status::Annotate(const std::string& context) const {
  if (ok()) return *this;
  Status s(code_, context + ": " + message_);
  s.hint_ = hint_;
  return s;
}

const char* Status::CodeName(Code c) {
  for (const StatusCodeInfo& row : StatusCodes()) {
    if (row.code == c) return row.name;
  }
  return "unknown";
}

const char* Status::CodeId(Code c) {
  switch (c) {
    case Code::kOk: return "ok";
    case Code::kNotFound: return "not_found";
    case Code::kAlreadyExists: return "already_exists";
    case Code::kInvalidArgument: return "invalid_argument";
    case Code::kAuth: return "auth";
    case Code::kPermission: return "permission";
    case Code::kUnavailable: return "unavailable";
    case Code::kCorruption: return "corruption";
    case Code::kIo: return "io";
    case Code::kNotSupported: return "not_supported";
    case Code::kWrongRepository: return "wrong_repository";
    case Code::kInternal: return "internal";
    case Code::kUnsupportedFormat: return "unsupported_format";
  }
  return "internal";
}

std::optional<Status::Code> Status::CodeFromId(std::string_view id) {
  for (const StatusCodeInfo& row : StatusCodes()) {
    if (id == CodeId(row.code)) return row.code;
  }
  return std::nullopt;
}

std::string Status::ToString() const {
  if (ok()) return "ok";
  return std::string(CodeName(code_)) + ": " + message_;
}

}  // namespace walferry
