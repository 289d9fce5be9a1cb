// status.h — walferry's error type: a cheap Status value and Result<T>.
//
// No exceptions cross module boundaries. Every failure is a Status that says
// what happened (a Code), whether trying again can help (Retryable()), and a
// lowercase message that names the object ("put 'wal/000...': http 503 ...").
// Codes map to process exit codes in exactly one table (exit_codes.h).
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace walferry {

class [[nodiscard]] Status {
 public:
  // Each code has one row in StatusCodes() (exit_codes.h): its name and exit
  // code. Spool records store CodeId(code); records of older versions hold
  // these numbers: append new codes at the end.
  enum class Code {
    kOk = 0,
    kNotFound,           // the object/file does not exist
    kAlreadyExists,      // only-if-absent write found an object in place
    kInvalidArgument,    // bad input: config value, name, command line
    kAuth,               // the server rejected our identity or signature
    kPermission,         // identity accepted, action forbidden
    kUnavailable,        // network, timeout, 5xx, throttling: may succeed later
    kCorruption,         // stored or local data is damaged: a checksum, size or header is wrong
    kIo,                 // local filesystem error (including a full disk)
    kNotSupported,       // the backend or server does not implement this
    kWrongRepository,    // the repository is another cluster's, or there is none at that URL
    kInternal,           // a bug in walferry
    kUnsupportedFormat,  // stored data of a format this walferry does not read (too new)
    // The old name of kWrongRepository, from when it also meant "format too new".
    kFailedPrecondition = kWrongRepository,
  };

  Status() = default;  // ok

  static Status Ok() { return Status(); }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {Code::kAlreadyExists, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status Auth(std::string m) { return {Code::kAuth, std::move(m)}; }
  static Status Permission(std::string m) { return {Code::kPermission, std::move(m)}; }
  static Status Unavailable(std::string m) { return {Code::kUnavailable, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status Io(std::string m) { return {Code::kIo, std::move(m)}; }
  static Status NotSupported(std::string m) { return {Code::kNotSupported, std::move(m)}; }
  static Status WrongRepository(std::string m) { return {Code::kWrongRepository, std::move(m)}; }
  static Status UnsupportedFormat(std::string m) {
    return {Code::kUnsupportedFormat, std::move(m)};
  }
  // The old name of WrongRepository.
  static Status FailedPrecondition(std::string m) { return WrongRepository(std::move(m)); }
  static Status Internal(std::string m) { return {Code::kInternal, std::move(m)}; }
  // errno mapped to a Status in one place: "<what>: <strerror>". For local
  // system calls: ENOENT and ENOTDIR are kIo, never kNotFound (a storage
  // backend that means "no such object" returns NotFound itself).
  static Status FromErrno(int err, const std::string& what);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  // True when the same request may succeed if tried again later.
  bool Retryable() const { return code_ == Code::kUnavailable; }

  // A short HINT: line shown under the message (empty when none).
  const std::string& hint() const { return hint_; }
  Status WithHint(std::string h) && {
    hint_ = std::move(h);
    return std::move(*this);
  }
  // "context: message", keeping code and hint.
  Status Annotate(const std::string& context) const;

  std::string ToString() const;  // "not found: put 'x': ..."
  static const char* CodeName(Code c);
  // The stable identifier of a code, stored on disk (spool records): "not_found",
  // "unavailable", "io", ... Never changed once released; a new code gets a new one.
  static const char* CodeId(Code c);
  // The code of an identifier CodeId returns; nullopt for any other text.
  static std::optional<Code> CodeFromId(std::string_view id);

 private:
  Status(Code c, std::string m) : code_(c), message_(std::move(m)) {}
  Code code_ = Code::kOk;
  std::string message_;
  std::string hint_;
};

// A value or a non-ok Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT(implicit)
  Result(Status s) : v_(std::move(s)) {      // NOLINT(implicit)
    assert(!std::get<Status>(v_).ok() && "Result from an ok Status");
  }
  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(v_);
  }
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace walferry

#define WF_RETURN_IF_ERROR(expr)     \
  do {                               \
    ::walferry::Status _st = (expr); \
    if (!_st.ok()) return _st;       \
  } while (0)
