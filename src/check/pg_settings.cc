#include "check/pg_settings.h"

#include <cctype>
#include <filesystem>

#include "walferry/options.h"

namespace walferry::check {
namespace {

// A shell word, or one of the operators that end a simple command.
struct Word {
  std::string text;
  bool op = false;  // ; & | && || ( ) < > and newlines
};

// sh's quoting, enough for a command line: '...' literal, "..." with \" \\ \$,
// backslash outside quotes. Unquoted ; & | ( ) < > end a word and are operators.
std::vector<Word> SplitShell(std::string_view s) {
  std::vector<Word> words;
  std::string cur;
  bool in_word = false;
  auto end_word = [&] {
    if (in_word) words.push_back({cur, false});
    cur.clear();
    in_word = false;
  };
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == ' ' || c == '\t') {
      end_word();
    } else if (c == '\n' || c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '<' ||
               c == '>') {
      end_word();
      std::string op(1, c);
      if ((c == '&' || c == '|') && i + 1 < s.size() && s[i + 1] == c) op += s[++i];
      words.push_back({op, true});
    } else if (c == '\'') {
      in_word = true;
      for (++i; i < s.size() && s[i] != '\''; ++i) cur += s[i];
    } else if (c == '"') {
      in_word = true;
      for (++i; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size() &&
            std::string_view("\"\\$`").find(s[i + 1]) != std::string_view::npos)
          ++i;
        cur += s[i];
      }
    } else if (c == '\\' && i + 1 < s.size()) {
      in_word = true;
      cur += s[++i];
    } else {
      in_word = true;
      cur += c;
    }
  }
  end_word();
  return words;
}

bool IsWalferry(const std::string& word) {
  return std::filesystem::path(word).filename() == "walferry";
}

// NAME=VALUE, as a variable assignment before a command.
bool IsAssignment(const std::string& w, std::string* name, std::string* value) {
  size_t eq = w.find('=');
  if (eq == std::string::npos || eq == 0) return false;
  for (size_t i = 0; i < eq; ++i) {
    char c = w[i];
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_')) return false;
  }
  *name = w.substr(0, eq);
  *value = w.substr(eq + 1);
  return true;
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

// `path` as the archiver's walferry sees it: relative to the data directory.
std::string Absolute(const std::string& path, const std::string& data_dir) {
  std::filesystem::path p(path);
  if (p.is_relative() && !data_dir.empty()) p = std::filesystem::path(data_dir) / p;
  return p.lexically_normal().string();
}

// Does `call` use check's repository? An error or warning finding when it does not or
// when that cannot be told from the command line; nullopt when it does.
std::optional<Finding> CompareConfiguration(const std::string& setting, const WalferryCall& call,
                                            const PgSettings& pg, const CheckSide& self,
                                            Severity mismatch) {
  Finding f;
  f.setting = setting;
  f.severity = mismatch;
  if (call.repo) {
    if (*call.repo == self.repo) return std::nullopt;
    f.message = setting + " gives walferry --repo " + Quoted(*call.repo) +
                ", check uses the repository " + Quoted(self.repo);
    f.hint = "run check with the same configuration as " + setting + " (its --config or --repo)";
    return f;
  }
  std::string theirs =
      call.config && !call.config->empty() ? Absolute(*call.config, pg.data_directory) : "";
  std::string ours = self.config_file.empty()
                         ? ""
                         : std::filesystem::path(self.config_file).lexically_normal().string();
  if (call.config) {
    if (theirs.empty() && ours.empty()) return std::nullopt;  // --config '': both read none
    if (theirs == ours) {
      if (self.repo_from_file) return std::nullopt;
      f.severity = Severity::kWarning;
      f.message = setting + " reads the same config file as check, but check's repository " +
                  Quoted(self.repo) + " comes from its command line or environment";
      f.hint = "run check without --repo (and WALFERRY_REPO) to check the repository " + setting +
               " uses";
      return f;
    }
    f.message = setting + " gives walferry --config " + Quoted(*call.config) +
                (theirs != *call.config ? " (" + Quoted(theirs) + ")" : "") + ", check read " +
                (ours.empty() ? std::string("no config file") : "config file " + Quoted(ours));
    f.hint = "run check with --config " + Quoted(theirs) + ", or change " + setting;
    return f;
  }
  // No --config: that walferry reads the default file (and the server's environment).
  if (!ours.empty() && ours == self.default_config_file) return std::nullopt;
  f.severity = Severity::kWarning;
  f.message = setting + " gives walferry no --config: it reads " + self.default_config_file +
              " when it exists and PostgreSQL's own environment, check read " +
              (ours.empty() ? std::string("no config file") : "config file " + Quoted(ours)) +
              "; whether they use the same repository cannot be told";
  f.hint = "give " + setting + " the --config of the file check uses (examples/postgresql.conf)";
  return f;
}

void CheckArchiveCommand(const PgSettings& pg, const CheckSide& self, std::vector<Finding>* out) {
  const std::string s = "archive_command";
  if (!pg.archive_library.empty()) {
    out->push_back({s, Severity::kError,
                    "archive_library = " + Quoted(pg.archive_library) +
                        " is set: PostgreSQL archives through that library and ignores "
                        "archive_command",
                    "set archive_library = '' and archive_command = 'walferry --config "
                    "/etc/walferry.conf archive-push %p', then reload PostgreSQL"});
    return;
  }
  const std::string fix = "set archive_command = 'walferry --config " +
                          (self.config_file.empty() ? self.default_config_file : self.config_file) +
                          " archive-push %p' and reload PostgreSQL (SELECT pg_reload_conf())";
  if (pg.archive_command.empty()) {
    out->push_back({s, Severity::kError,
                    "archive_command is empty: PostgreSQL archives nothing and keeps every WAL "
                    "file in pg_wal until it is set",
                    fix});
    return;
  }
  std::optional<WalferryCall> call = FindWalferryCall(pg.archive_command);
  if (!call) {
    out->push_back({s, Severity::kError,
                    "archive_command " + Quoted(pg.archive_command) +
                        " does not call walferry: the WAL does not reach walferry's repository",
                    fix});
    return;
  }
  if (call->command != "archive-push") {
    out->push_back(
        {s, Severity::kError,
         "archive_command calls walferry " +
             (call->command.empty() ? std::string("without a command") : Quoted(call->command)) +
             ", not archive-push",
         fix});
    return;
  }
  if (call->args.size() != 1 || call->args[0] != "%p") {
    out->push_back({s, Severity::kError,
                    "archive_command calls walferry archive-push with " +
                        (call->args.empty() ? std::string("no path") : Quoted(call->args[0])) +
                        " instead of %p (the path PostgreSQL passes)",
                    fix});
    return;
  }
  if (auto f = CompareConfiguration(s, *call, pg, self, Severity::kError)) {
    out->push_back(*f);
    if (f->severity == Severity::kError) return;
  }
  out->push_back({s, Severity::kOk, "archive_command calls walferry archive-push %p", ""});
}

void CheckRestoreCommand(const PgSettings& pg, const CheckSide& self, std::vector<Finding>* out) {
  const std::string s = "restore_command";
  const std::string fix = "set restore_command = 'walferry --config " +
                          (self.config_file.empty() ? self.default_config_file : self.config_file) +
                          " archive-get %f %p'";
  if (pg.restore_command.empty()) {
    if (pg.in_recovery) {
      out->push_back({s, Severity::kWarning,
                      "restore_command is empty: this standby can only stream from its primary "
                      "and cannot catch up from the repository",
                      fix});
    } else {
      out->push_back({s, Severity::kNote,
                      "restore_command is empty (used only in recovery; backup-fetch writes it "
                      "into a restored cluster)",
                      ""});
    }
    return;
  }
  std::optional<WalferryCall> call = FindWalferryCall(pg.restore_command);
  if (!call) {
    out->push_back({s, Severity::kWarning,
                    "restore_command " + Quoted(pg.restore_command) +
                        " does not call walferry: a recovery would not read this repository",
                    fix});
    return;
  }
  if (call->command != "archive-get" || call->args.size() != 2 || call->args[0] != "%f" ||
      call->args[1] != "%p") {
    out->push_back(
        {s, Severity::kError,
         "restore_command calls walferry " +
             (call->command.empty() ? std::string("without a command") : Quoted(call->command)) +
             (call->command == "archive-get" ? " without the arguments %f %p" : "") +
             ": recovery would fail on its first WAL file",
         fix});
    return;
  }
  if (auto f = CompareConfiguration(s, *call, pg, self, Severity::kError)) {
    out->push_back(*f);
    if (f->severity == Severity::kError) return;
  }
  out->push_back({s, Severity::kOk, "restore_command calls walferry archive-get %f %p", ""});
}

}  // namespace

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kOk: return "ok";
    case Severity::kNote: return "note";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
  }
  return "?";
}

std::optional<WalferryCall> FindWalferryCall(std::string_view shell) {
  std::vector<Word> words = SplitShell(shell);
  for (size_t i = 0; i < words.size(); ++i) {
    if (words[i].op || !IsWalferry(words[i].text)) continue;
    WalferryCall call;
    call.program = words[i].text;
    // Assignments in front of it (VAR=x walferry ..., env VAR=x walferry ...).
    for (size_t j = i; j-- > 0 && !words[j].op;) {
      std::string name, value;
      if (!IsAssignment(words[j].text, &name, &value)) continue;
      if (name == "WALFERRY_CONFIG" && !call.config) call.config = value;
      if (name == "WALFERRY_REPO" && !call.repo) call.repo = value;
    }
    // Global options (each takes a value) may come before or after the command.
    std::optional<std::string> flag_config, flag_repo;
    for (size_t j = i + 1; j < words.size() && !words[j].op; ++j) {
      const std::string& w = words[j].text;
      if (w.starts_with("--")) {
        size_t eq = w.find('=');
        std::string name = w.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
        std::optional<std::string> value;
        if (eq != std::string::npos) {
          value = w.substr(eq + 1);
        } else if (config::FindOption(name) != nullptr && j + 1 < words.size() &&
                   !words[j + 1].op) {
          value = words[++j].text;
        }
        if (name == "config" && value) flag_config = value;
        if (name == "repo" && value) flag_repo = value;
        continue;
      }
      if (call.command.empty()) {
        call.command = w;
      } else {
        call.args.push_back(w);
      }
    }
    if (flag_config) call.config = flag_config;  // a flag wins over the environment
    if (flag_repo) call.repo = flag_repo;
    return call;
  }
  return std::nullopt;
}

std::vector<Finding> AnalyzeSettings(const PgSettings& pg, const CheckSide& self) {
  std::vector<Finding> out;
  if (pg.wal_level == "minimal") {
    out.push_back({"wal_level", Severity::kError,
                   "wal_level is 'minimal': that WAL cannot be archived nor replayed from a base "
                   "backup (and PostgreSQL refuses archive_mode with it)",
                   "set wal_level = replica in postgresql.conf and restart PostgreSQL"});
  } else {
    out.push_back({"wal_level", Severity::kOk, "wal_level is " + Quoted(pg.wal_level), ""});
  }

  if (pg.archive_mode == "off" || pg.archive_mode.empty()) {
    out.push_back({"archive_mode", Severity::kError,
                   "archive_mode is off: PostgreSQL archives no WAL at all, whatever "
                   "archive_command says",
                   "set archive_mode = on in postgresql.conf and restart PostgreSQL (a reload "
                   "is not enough)"});
  } else if (pg.archive_mode == "on" && pg.in_recovery) {
    out.push_back({"archive_mode", Severity::kNote,
                   "archive_mode is 'on' on a standby: the standby archives nothing, its "
                   "primary does (archive_mode = always would archive here too)",
                   ""});
  } else {
    out.push_back(
        {"archive_mode", Severity::kOk, "archive_mode is " + Quoted(pg.archive_mode), ""});
  }

  CheckArchiveCommand(pg, self, &out);
  CheckRestoreCommand(pg, self, &out);
  return out;
}

bool HasErrors(const std::vector<Finding>& findings) {
  for (const Finding& f : findings) {
    if (f.severity == Severity::kError) return true;
  }
  return false;
}

}  // namespace walferry::check
