#include "common/key_source.h"

#include <fcntl.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>

#include "common/aead.h"

extern char** environ;

namespace walferry::crypto {
namespace {

constexpr size_t kMaxKeyText = 4096;  // what a source may yield, at most

std::string_view Trim(std::string_view s) {
  while (!s.empty() &&
         (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  return s;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status Bad(const std::string& where, const std::string& why) {
  return Status::InvalidArgument("the encryption key from " + where + " " + why)
      .WithHint(
          "a key is 32 random bytes: a file of exactly 32 bytes, or text 'hex:' + 64 hex digits "
          "or 'base64:' + 44 characters (e.g. echo \"hex:$(openssl rand -hex 32)\")");
}

Result<std::string> ReadKeyFile(const std::string& path) {
  std::string where = "file '" + path + "'";
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    return Status::Io("cannot open the encryption key " + where + ": " + std::strerror(e));
  }
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::InvalidArgument("the encryption key " + where + " is not a regular file");
  }
  if ((st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) != 0) {
    ::close(fd);
    return Status::Permission(
               "the encryption key " + where + " may be read or written by group or others (mode " +
               std::to_string((st.st_mode >> 6) & 7) + std::to_string((st.st_mode >> 3) & 7) +
               std::to_string(st.st_mode & 7) + ")")
        .WithHint("chmod 600 '" + path + "' (and keep it owned by the user walferry runs as)");
  }
  std::string bytes;
  char buf[512];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::Io("cannot read the encryption key " + where + ": " + std::strerror(e));
    }
    if (n == 0) break;
    bytes.append(buf, static_cast<size_t>(n));
    if (bytes.size() > kMaxKeyText) {
      ::close(fd);
      Cleanse(bytes);
      return Bad(where, "is larger than " + std::to_string(kMaxKeyText) + " bytes");
    }
  }
  ::close(fd);
  auto key = DecodeKeyText(bytes, where, /*raw_allowed=*/true);
  Cleanse(bytes);
  return key;
}

Result<std::string> RunKeyCommand(const std::string& command, int timeout_ms) {
  const std::string where = "encryption-key-command";
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    int e = errno;
    return Status::Io("cannot run the " + where + ": pipe: " + std::strerror(e));
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
  posix_spawnattr_setpgroup(&attr, 0);  // its own group: a timeout ends it and its children
  const char* argv[] = {"/bin/sh", "-c", command.c_str(), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, "/bin/sh", &actions, &attr, const_cast<char* const*>(argv), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    return Status::Io("cannot run the " + where + ": " + std::strerror(rc));
  }
  std::string bytes;
  bool timed_out = false, too_long = false;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  for (;;) {  // bounded by the deadline
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      timed_out = r == 0;
      break;
    }
    char buf[512];
    ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // end of its output
    bytes.append(buf, static_cast<size_t>(n));
    if (bytes.size() > kMaxKeyText) {
      too_long = true;
      break;
    }
  }
  ::close(out[0]);
  int status = -1;  // not an exit status: a failed wait is a failure
  // Its output is closed or the time is up: wait for it until the deadline
  // (it may have closed its output and gone on running), then kill its group.
  for (;;) {
    if (timed_out || too_long) ::kill(-pid, SIGKILL);
    pid_t w = ::waitpid(pid, &status, timed_out || too_long ? 0 : WNOHANG);
    if (w == pid) break;
    if (w < 0 && errno != EINTR) break;
    if (w == 0) {
      if (std::chrono::steady_clock::now() >= deadline) {
        timed_out = true;
      } else {
        ::usleep(5000);
      }
    }
  }
  if (timed_out || too_long || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    Cleanse(bytes);
    std::string why = timed_out  ? "did not finish within " + std::to_string(timeout_ms) + " ms"
                      : too_long ? "wrote more than " + std::to_string(kMaxKeyText) + " bytes"
                      : WIFEXITED(status)
                          ? "exited with status " + std::to_string(WEXITSTATUS(status))
                          : "was killed by signal " + std::to_string(WTERMSIG(status));
    return Status::Unavailable("the " + where + " " + why + "; no key")
        .WithHint(
            "run the command by hand as the user walferry runs as; its standard output "
            "must be the key, its standard error is shown above");
  }
  auto key = DecodeKeyText(bytes, where + " output", /*raw_allowed=*/false);
  Cleanse(bytes);
  return key;
}

}  // namespace

Result<std::string> DecodeKeyText(std::string_view bytes, const std::string& where,
                                  bool raw_allowed) {
  if (raw_allowed && bytes.size() == kAeadKeySize) return std::string(bytes);
  std::string_view t = Trim(bytes);
  if (t.empty()) return Bad(where, "is empty");
  if (t.substr(0, 4) == "hex:") {
    std::string_view h = t.substr(4);
    if (h.size() != 2 * kAeadKeySize) {
      return Bad(where, "has " + std::to_string(h.size()) + " hex digits after 'hex:', not " +
                            std::to_string(2 * kAeadKeySize));
    }
    std::string key(kAeadKeySize, '\0');
    for (size_t i = 0; i < kAeadKeySize; ++i) {
      int hi = HexDigit(h[2 * i]), lo = HexDigit(h[2 * i + 1]);
      if (hi < 0 || lo < 0) {
        Cleanse(key);
        return Bad(where, "has a character after 'hex:' that is not a hex digit");
      }
      key[i] = static_cast<char>(hi * 16 + lo);
    }
    return key;
  }
  if (t.substr(0, 7) == "base64:") {
    std::string_view b = t.substr(7);
    if (b.size() != 44 || b[43] != '=' || b[42] == '=') {
      return Bad(where, "is not the base64 of 32 bytes (44 characters ending in one '=')");
    }
    std::string out(33, '\0');
    int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(b.data()),
                            static_cast<int>(b.size()));
    if (n != 33) {  // EVP_DecodeBlock counts the padding as a zero byte
      Cleanse(out);
      return Bad(where, "is not valid base64 after 'base64:'");
    }
    out.resize(kAeadKeySize);
    return out;
  }
  if (raw_allowed) {
    return Bad(where, "is neither 32 raw bytes (it has " + std::to_string(bytes.size()) +
                          ") nor text starting with 'hex:' or 'base64:'");
  }
  return Bad(where, "does not start with 'hex:' or 'base64:'");
}

Result<std::string> LoadKek(const KeySourceConfig& c) {
  int sources = !c.file.empty() + !c.env.empty() + !c.command.empty();
  if (sources == 0) {
    return Status::InvalidArgument("no encryption key is configured")
        .WithHint("set one of encryption-key-file, encryption-key-env, encryption-key-command");
  }
  if (sources > 1) {
    return Status::InvalidArgument(
               "more than one encryption key source is configured (encryption-key-file, "
               "encryption-key-env, encryption-key-command)")
        .WithHint("keep exactly one");
  }
  if (!c.file.empty()) return ReadKeyFile(c.file);
  if (!c.env.empty()) {
    const char* v = std::getenv(c.env.c_str());
    if (v == nullptr) {
      return Status::Unavailable("the environment variable " + c.env +
                                 " (encryption-key-env) is not set; no key");
    }
    return DecodeKeyText(v, "environment variable " + c.env, /*raw_allowed=*/false);
  }
  if (c.command_timeout_ms <= 0) {
    return Status::InvalidArgument("the encryption-key-command timeout must be positive");
  }
  return RunKeyCommand(c.command, c.command_timeout_ms);
}

}  // namespace walferry::crypto
