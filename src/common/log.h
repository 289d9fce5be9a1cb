// log.h — one line per event on stderr: "walferry[PID]: LEVEL: command: message".
//
// PostgreSQL copies archive_command's stderr into its own log, so lines are
// short, start with the level, and name the command and object. Secrets must
// never be passed to these functions; s3/ redacts before logging.
// A message is always one line: control characters in it (a newline in a
// file name from the data directory, say) are written escaped, as \n, \r, \t
// or \xHH, so no value can forge a log line of its own.
#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace walferry::log {

enum class Level { kError = 0, kWarn, kInfo, kDebug, kTrace };

// "error", "warn", "info", "debug", "trace"; false for anything else.
bool ParseLevel(std::string_view text, Level* out);
const char* LevelName(Level level);

void SetLevel(Level level);
Level GetLevel();
bool Enabled(Level level);
// The command named in every line ("archive-push"); empty for none.
void SetCommand(std::string command);
// Replaces stderr as the destination (tests capture lines); nullptr restores it.
void SetSinkForTest(std::function<void(const std::string& line)> sink);

void Write(Level level, std::string_view message);
// Appends `text` to `out` with control characters escaped as Write does.
void AppendEscaped(std::string* out, std::string_view text);
inline void Error(std::string_view m) { Write(Level::kError, m); }
inline void Warn(std::string_view m) { Write(Level::kWarn, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Debug(std::string_view m) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, m);
}
inline void Trace(std::string_view m) {
  if (Enabled(Level::kTrace)) Write(Level::kTrace, m);
}

}  // namespace walferry::log
