#include "cli/man.h"

#include <cctype>

#include "cli/commands.h"
#include "walferry/exit_codes.h"
#include "walferry/options.h"

namespace walferry::cli {
namespace {

constexpr std::string_view kBegin = ".\\\" BEGIN GENERATED ";
constexpr std::string_view kEnd = ".\\\" END GENERATED ";

std::string Bold(std::string_view s) { return "\\fB" + TroffEscape(s) + "\\fR"; }
std::string Italic(std::string_view s) { return "\\fI" + TroffEscape(s) + "\\fR"; }

// Range, default and choices of an option, as sentences.
std::string ValueSentences(const config::OptionSpec& o) {
  std::string s;
  switch (o.type) {
    case config::OptionType::kInteger:
    case config::OptionType::kSize:
    case config::OptionType::kSeconds:
    case config::OptionType::kEnum:
    case config::OptionType::kBool:
    case config::OptionType::kUrl: {
      std::string syntax = config::ValueSyntax(o);
      syntax[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(syntax[0])));
      s += TroffEscape(syntax) + ".";
      break;
    }
    case config::OptionType::kString:
    case config::OptionType::kPath:
    case config::OptionType::kRepo:  // the help line already shows both forms
      break;
  }
  if (*o.default_value != '\0') {
    s += std::string(s.empty() ? "" : " ") + "Default: " + Bold(o.default_value) + ".";
  }
  return s;
}

std::string Capitalized(std::string_view help) {
  std::string h(help);
  if (!h.empty()) h[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(h[0])));
  return h;
}

// Where else the option can be set, naming all three spellings.
std::string Spellings(const config::OptionSpec& o) {
  std::string s =
      "Flag " + Bold(config::FlagName(o)) + ", environment variable " + Bold(config::EnvName(o));
  if (*o.aws_env != '\0') s += " (else " + Bold(o.aws_env) + ")";
  if (o.in_file) {
    s += ", config key " + Bold(o.name) + ".";
  } else {
    s += "; the config key " + Bold(o.name) + " is not accepted in the file.";
  }
  return s;
}

// ".SS S3 options" when `o` starts a new section of the table, else "".
std::string SectionHeading(const config::OptionSpec* previous, const config::OptionSpec& o,
                           const char* noun) {
  if (previous != nullptr && previous->section == o.section) return "";
  std::string title = config::SectionName(o.section);
  title[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(title[0])));
  return ".SS " + TroffEscape(title) + " " + noun + "\n";
}

std::string Commands1() {
  std::string out;
  for (const CommandSpec& c : Commands()) {
    if (c.internal) continue;
    out += ".TP\n.B " + TroffEscape(c.name) + "\n" + TroffEscape(Capitalized(c.help)) + ".\n";
  }
  return out;
}

std::string Options1() {
  std::string out;
  const config::OptionSpec* previous = nullptr;
  for (const config::OptionSpec& o : config::Options()) {
    out += SectionHeading(previous, o, "options");
    previous = &o;
    out += ".TP\n" + Bold(config::FlagName(o)) + " " + Italic(o.value_name) + "\n";
    out += TroffEscape(Capitalized(o.help)) + ".\n";
    std::string values = ValueSentences(o);
    if (!values.empty()) out += values + "\n";
    if (o.secret) out += "Prefer the environment or a config file of mode 0600.\n";
    out += Spellings(o) + "\n";
  }
  return out;
}

std::string Environment1() {
  std::string out;
  for (const config::OptionSpec& o : config::Options()) {
    out += ".TP\n" + Bold(config::EnvName(o)) + "\nAs " + Bold(config::FlagName(o)) + ".\n";
  }
  for (const config::OptionSpec& o : config::Options()) {
    if (*o.aws_env == '\0') continue;
    out += ".TP\n" + Bold(o.aws_env) + "\nAs " + Bold(config::FlagName(o)) + ", below " +
           Bold(config::EnvName(o)) + " and above the config file.\n";
  }
  return out;
}

std::string ExitStatus1() {
  std::string out;
  for (const ExitCodeInfo& row : ExitCodes()) {
    out += ".TP\n.B " + std::to_string(static_cast<int>(row.code)) + "\n" + Italic(row.name) +
           ": " + TroffEscape(row.meaning) + ".\n";
  }
  return out;
}

std::string Keys5() {
  std::string out;
  const config::OptionSpec* previous = nullptr;
  for (const config::OptionSpec& o : config::Options()) {
    out += SectionHeading(previous, o, "keys");
    previous = &o;
    out += ".TP\n" + Bold(o.name) + " = " + Italic(o.value_name) + "\n";
    out += TroffEscape(Capitalized(o.help)) + ".\n";
    std::string values = ValueSentences(o);
    if (!values.empty()) out += values + "\n";
    if (o.secret) out += "Keep the file at mode 0600.\n";
    out += Spellings(o) + "\n";
  }
  return out;
}

constexpr std::string_view kReadmeBegin = "<!-- BEGIN GENERATED EXIT-CODES -->\n";
constexpr std::string_view kReadmeEnd = "<!-- END GENERATED EXIT-CODES -->";

}  // namespace

std::string ReadmeExitCodes() {
  std::string out = "| code | name | meaning |\n|---|---|---|\n";
  for (const ExitCodeInfo& row : ExitCodes()) {
    std::string meaning;
    for (const char* p = row.meaning; *p; ++p) meaning += *p == '|' ? "\\|" : std::string(1, *p);
    out += "| " + std::to_string(static_cast<int>(row.code)) + " | " + row.name + " | " + meaning +
           " |\n";
  }
  return out;
}

Result<std::string> UpdateReadme(std::string_view readme) {
  size_t begin = readme.find(kReadmeBegin);
  size_t end = readme.find(kReadmeEnd);
  if (begin == std::string_view::npos || end == std::string_view::npos ||
      end < begin + kReadmeBegin.size()) {
    return Status::InvalidArgument("README has no '" +
                                   std::string(kReadmeBegin.substr(0, kReadmeBegin.size() - 1)) +
                                   "' ... '" + std::string(kReadmeEnd) + "' part");
  }
  std::string out(readme.substr(0, begin + kReadmeBegin.size()));
  out += ReadmeExitCodes();
  out.append(readme.substr(end));
  return out;
}

std::string TroffEscape(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '\\') {
      out += "\\e";
    } else if (c == '-') {
      out += "\\-";
    } else {
      out += c;
    }
  }
  if (!out.empty() && (out[0] == '.' || out[0] == '\'')) out.insert(0, "\\&");
  return out;
}

Result<std::string> GeneratedManPart(std::string_view name) {
  if (name == "COMMANDS") return Commands1();
  if (name == "OPTIONS") return Options1();
  if (name == "ENVIRONMENT") return Environment1();
  if (name == "EXIT-STATUS") return ExitStatus1();
  if (name == "KEYS") return Keys5();
  return Status::InvalidArgument("unknown generated man page part '" + std::string(name) + "'");
}

Result<std::string> UpdateManPage(std::string_view page) {
  std::string out;
  size_t pos = 0;
  while (pos < page.size()) {
    size_t nl = page.find('\n', pos);
    size_t end = nl == std::string_view::npos ? page.size() : nl + 1;
    std::string_view line = page.substr(pos, end - pos);
    out.append(line);
    pos = end;
    if (!line.starts_with(kBegin)) continue;
    std::string name(line.substr(kBegin.size()));
    while (!name.empty() && (name.back() == '\n' || name.back() == ' ')) name.pop_back();
    Result<std::string> part = GeneratedManPart(name);
    if (!part.ok()) return part.status();
    std::string end_line = std::string(kEnd) + name;
    size_t close = page.find(end_line, pos);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("generated part '" + name + "' has no '" + end_line +
                                     "' line");
    }
    out += *part;
    pos = close;  // the END line is copied on the next turn
  }
  return out;
}

}  // namespace walferry::cli
