// fuzz_config — the configuration file and every option value, through
// config::ResolveConfig as walferry runs it: section 1 of the input is the
// config file (read from disk with --config), section 2 environment lines
// (NAME=value), section 3 flag lines (name=value); sections are separated by
// "\n----\n". Also ParseSize, ParseSeconds and ParseBool on the whole input.
// Invariants: a configuration that resolves has every numeric option within
// its table's [min, max]; an error never shows the value of a secret option
// (options.h); ParseSize/ParseSeconds never return ok with a wrapped, negative
// or non-finite value.
#include <cctype>
#include <charconv>
#include <cmath>
#include <map>

#include "fuzz_util.h"
#include "walferry/options.h"

using namespace walferry;
using namespace walferry::config;

namespace {

std::map<std::string, std::string> Pairs(const std::string& text) {
  std::map<std::string, std::string> out;
  size_t pos = 0;
  while (pos < text.size() && out.size() < 64) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string::npos) nl = text.size();
    std::string line = text.substr(pos, nl - pos);
    pos = nl + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

std::string Rotated(const std::string& v) {
  std::string out = v;
  for (char& c : out) {
    if (c >= 'a' && c <= 'z')
      c = static_cast<char>('a' + (c - 'a' + 13) % 26);
    else if (c >= 'A' && c <= 'Z')
      c = static_cast<char>('A' + (c - 'A' + 13) % 26);
    else if (c >= '0' && c <= '9')
      c = static_cast<char>('0' + (c - '0' + 5) % 10);
  }
  return out;
}

std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = 0; (at = text.find(from, at)) != std::string::npos; at += to.size()) {
    text.replace(at, from.size(), to);
  }
  return text;
}

const std::string& ConfigPath() {
  static const std::string path = fuzz::ScratchDir() + "/walferry.conf";
  return path;
}

// The sources an input describes (sections as below); writes section 1 to ConfigPath().
ConfigSources SourcesOf(const std::vector<std::string>& sec) {
  fuzz::WriteFileOrDie(ConfigPath(), sec[0]);
  ConfigSources sources;
  sources.default_config_file = "";
  sources.env = Pairs(sec[1]);
  sources.flags = Pairs(sec[2]);
  sources.flags.erase("config");
  sources.flags["config"] = ConfigPath();
  return sources;
}

// The error message and hint shown for an input, or "" when it resolves.
std::string ResolveWith(const std::string& input) {
  auto r = ResolveConfig(SourcesOf(fuzz::Sections(input, 3)));
  return r.ok() ? std::string() : r.status().message() + "\n" + r.status().hint();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input = fuzz::AsText(data, size);
  uint64_t bytes = 0;
  (void)ParseSize(input, &bytes);
  double seconds = -1;
  if (ParseSeconds(input, &seconds)) {
    FUZZ_CHECK(std::isfinite(seconds) && seconds >= 0, "ParseSeconds gave %g", seconds);
  }
  bool b;
  (void)ParseBool(input, &b);

  auto sec = fuzz::Sections(input, 3);
  const std::string& path = ConfigPath();
  ConfigSources sources = SourcesOf(sec);

  // The parsed file alone (it must agree with what ResolveConfig reads).
  auto parsed = ParseConfigText(sec[0], path);

  auto r = ResolveConfig(sources);
  if (!r.ok()) {
    FUZZ_CHECK(r.status().code() == Status::Code::kInvalidArgument, "%s",
               r.status().ToString().c_str());
    // Secrets are never echoed: look for each secret value that appears
    // nowhere else in the input than as that secret.
    const std::string shown = r.status().message() + "\n" + r.status().hint();
    auto secret_value = [&](const std::string& v, std::string_view own_line) {
      if (v.size() < 8 || shown.find(v) == std::string::npos) return;
      // The same text elsewhere (another option's value, a key name) may be shown legitimately.
      std::string rest(input);
      size_t at = rest.find(own_line);
      if (at != std::string::npos) rest.erase(at, own_line.size());
      if (rest.find(v) != std::string::npos) return;
      if (std::string("file ").find(v) != std::string::npos) return;
      for (const OptionSpec& o : Options()) {
        if (std::string_view(o.name).find(v) != std::string_view::npos) return;
        if (std::string_view(o.help).find(v) != std::string_view::npos) return;
      }
      if (path.find(v) != std::string::npos) return;
      // The text may be a literal of the message itself ("see 'walferry --help'"):
      // resolve again with every occurrence of the value rotated (letters and
      // digits shifted, other bytes kept, so the value stays as (in)valid as it
      // was); only a message that shows the rotated text shows the secret.
      const std::string v2 = Rotated(v);
      if (input.find(v2) != std::string_view::npos) return;
      const std::string shown2 = ResolveWith(ReplaceAll(std::string(input), v, v2));
      if (shown2.find(v2) == std::string::npos) return;
      FUZZ_CHECK(false, "a secret value is shown in: %s", shown2.c_str());
    };
    for (const OptionSpec& o : Options()) {
      if (!o.secret) continue;
      if (auto it = sources.flags.find(o.name); it != sources.flags.end()) {
        secret_value(it->second, std::string(o.name) + "=" + it->second);
      }
      if (auto it = sources.env.find(EnvName(o)); it != sources.env.end()) {
        secret_value(it->second, EnvName(o) + "=" + it->second);
      }
      if (parsed.ok()) {
        if (auto it = parsed->find(o.name); it != parsed->end())
          secret_value(it->second.value, it->second.value);
      }
    }
    return 0;
  }
  FUZZ_CHECK(parsed.ok(), "ResolveConfig accepted a file ParseConfigText rejects: %s",
             parsed.status().ToString().c_str());
  for (const ResolvedOption& ro : r->options) {
    const OptionSpec& o = *ro.spec;
    double v = 0;
    if (o.type == OptionType::kSize) {
      uint64_t n = 0;
      FUZZ_CHECK(ParseSize(ro.value, &n), "%s accepted but does not parse", o.name);
      v = static_cast<double>(n);
    } else if (o.type == OptionType::kSeconds) {
      FUZZ_CHECK(ParseSeconds(ro.value, &v), "%s accepted but does not parse", o.name);
    } else if (o.type == OptionType::kInteger) {
      std::string t = ro.value;
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.front()))) t.erase(0, 1);
      while (!t.empty() && std::isspace(static_cast<unsigned char>(t.back()))) t.pop_back();
      if (t.empty()) continue;  // optional and not set
      int64_t n = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
      FUZZ_CHECK(ec == std::errc() && end == t.data() + t.size(), "%s accepted but does not parse",
                 o.name);
      v = static_cast<double>(n);
    } else {
      continue;
    }
    FUZZ_CHECK(v >= o.min_value && v <= o.max_value, "%s = '%s' outside [%g, %g]", o.name,
               ro.value.c_str(), o.min_value, o.max_value);
  }
  FUZZ_CHECK(r->parallel >= 1, "parallel %d", r->parallel);
  FUZZ_CHECK(r->storage.s3.part_size >= (5u << 20), "part size below S3's minimum");
  FUZZ_CHECK(r->archive_timeout_seconds >= 0 && std::isfinite(r->archive_timeout_seconds),
             "archive-timeout");
  return 0;
}
