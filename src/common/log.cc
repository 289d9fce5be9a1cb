#include "common/log.h"

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <mutex>

namespace walferry::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::mutex g_mu;
std::string g_command;
std::function<void(const std::string&)> g_sink;
}  // namespace

void AppendEscaped(std::string* out, std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f) {
      *out += c;
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '\r') {
      *out += "\\r";
    } else if (c == '\t') {
      *out += "\\t";
    } else {
      *out += "\\x";
      *out += kHex[u >> 4];
      *out += kHex[u & 0xf];
    }
  }
}

bool ParseLevel(std::string_view text, Level* out) {
  static constexpr std::string_view kNames[] = {"error", "warn", "info", "debug", "trace"};
  for (int i = 0; i < 5; ++i) {
    if (text == kNames[i]) {
      *out = static_cast<Level>(i);
      return true;
    }
  }
  return false;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kError: return "ERROR";
    case Level::kWarn: return "WARNING";
    case Level::kInfo: return "INFO";
    case Level::kDebug: return "DEBUG";
    case Level::kTrace: return "TRACE";
  }
  return "?";
}

void SetLevel(Level level) { g_level = static_cast<int>(level); }
Level GetLevel() { return static_cast<Level>(g_level.load()); }
bool Enabled(Level level) { return static_cast<int>(level) <= g_level.load(); }

void SetCommand(std::string command) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_command = std::move(command);
}

void SetSinkForTest(std::function<void(const std::string&)> sink) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_sink = std::move(sink);
}

void Write(Level level, std::string_view message) {
  if (!Enabled(level)) return;
  std::lock_guard<std::mutex> lock(g_mu);
  std::string line = "walferry[" + std::to_string(getpid()) + "]: " + LevelName(level) + ": ";
  if (!g_command.empty()) line += g_command + ": ";
  AppendEscaped(&line, message);
  if (g_sink) {
    g_sink(line);
    return;
  }
  line += '\n';
  // One write(2) per line so lines from parallel processes do not interleave.
  (void)!::write(STDERR_FILENO, line.data(), line.size());
}

}  // namespace walferry::log
