// key_source.h — where the operator's key-encryption key (KEK) comes from:
// a file, an environment variable, or a command (the way to plug in a KMS or a
// vault). Exactly one source is configured (options encryption-key-file,
// encryption-key-env, encryption-key-command; man/walferry.1).
//
// What a source yields must be a 32-byte key, as
//   * exactly 32 raw bytes (a file only), or
//   * text "hex:" followed by 64 hex digits, or "base64:" followed by the
//     base64 of 32 bytes; surrounding blanks and one final newline are ignored.
// A file is refused when group or others may read or write it (chmod 600), a
// command when it does not exit 0 within the timeout (it is then killed, with
// its process group). Error messages name the source, never any of its bytes.
// Errors: kInvalidArgument (no or several sources, unreadable format),
// kPermission (the file's mode), kIo (the file cannot be read), kUnavailable
// (the command failed or timed out, or the variable is unset).
#pragma once

#include <string>
#include <string_view>

#include "walferry/status.h"

namespace walferry::crypto {

struct KeySourceConfig {
  std::string file;     // path of a key file
  std::string env;      // name of an environment variable
  std::string command;  // run with /bin/sh -c, its standard output is the key
  int command_timeout_ms = 10000;
  bool configured() const { return !file.empty() || !env.empty() || !command.empty(); }
};

// The KEK (32 bytes). Read once per process by the caller; never logged.
Result<std::string> LoadKek(const KeySourceConfig& config);

// Decodes what a source yielded; `where` names the source in errors.
// `raw_allowed`: 32 raw bytes are a key (files), else only the text forms.
Result<std::string> DecodeKeyText(std::string_view bytes, const std::string& where,
                                  bool raw_allowed);

}  // namespace walferry::crypto
