// `walferry completion bash` is generated from the command and option tables: every command
// and option, global or a command's own (as its --help shows it), is in it, nothing internal
// is offered, and bash completes with it.
#include <gtest/gtest.h>

#include <regex>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "support/run_walferry.h"
#include "support/temp_dir.h"
#include "walferry/options.h"

namespace walferry::cli {
namespace {

using walferry::testing::RunWalferry;

std::string Script() {
  auto r = RunWalferry({"--config", "", "completion", "bash"}, {{"PATH", "/usr/bin:/bin"}});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return r.out;
}

// The words of the line that starts with `prefix`, up to the closing quote.
std::set<std::string> WordsOfLine(const std::string& script, const std::string& prefix) {
  std::set<std::string> words;
  size_t at = script.find("\n" + prefix);
  if (at == std::string::npos) return words;
  at += 1 + prefix.size();
  std::istringstream in(script.substr(at, script.find('\'', at) - at));
  for (std::string w; in >> w;) words.insert(w);
  return words;
}

TEST(Completion, HasEveryCommandAndGlobalOption) {
  std::string script = Script();
  std::set<std::string> commands = WordsOfLine(script, "_walferry_commands='");
  std::set<std::string> globals = WordsOfLine(script, "_walferry_global='");
  for (const CommandSpec& c : Commands()) {
    EXPECT_EQ(commands.count(c.name), c.internal ? 0u : 1u) << c.name;
  }
  for (const config::OptionSpec& o : config::Options()) {
    EXPECT_EQ(globals.count(config::FlagName(o)), 1u) << o.name;
    EXPECT_NE(script.find("\n    " + config::FlagName(o) + ") "), std::string::npos)
        << "no value completion for " << o.name;
  }
  EXPECT_NE(script.find("\ncomplete -F _walferry walferry\n"), std::string::npos);
}

TEST(Completion, HasEveryCommandsOwnOptions) {
  std::string script = Script();
  std::set<std::string> globals;
  for (const config::OptionSpec& o : config::Options()) globals.insert(config::FlagName(o));
  for (const CommandSpec& c : Commands()) {
    if (c.internal) continue;
    auto help = RunWalferry({"--config", "", c.name, "--help"}, {{"PATH", "/usr/bin:/bin"}});
    ASSERT_EQ(help.exit_code, 0) << c.name << ": " << help.err;
    std::set<std::string> own = WordsOfLine(script, "    " + std::string(c.name) + ") echo '");
    std::regex flag(R"((^|[ ,])(--[a-z][a-z0-9-]*))");
    size_t seen = 0;
    for (auto it = std::sregex_iterator(help.out.begin(), help.out.end(), flag);
         it != std::sregex_iterator(); ++it) {
      std::string f = (*it)[2].str();
      if (globals.count(f) != 0) continue;
      ++seen;
      EXPECT_EQ(own.count(f), 1u) << c.name << " " << f << " is not in the completion";
    }
    EXPECT_GT(seen, 0u) << c.name << ": --help shows no option of its own (not even --help)";
  }
}

// Runs the script in bash with COMP_WORDS set as bash would; returns COMPREPLY.
std::string Complete(const std::string& script, const std::string& words) {
  walferry::testing::TempDir dir;
  std::string file = dir.path() + "/walferry.bash";
  { std::ofstream(file) << script; }
  std::string cmd = ". '" + file + "'; COMP_WORDS=(" + words +
                    "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _walferry; echo \"${COMPREPLY[*]}\"";
  std::string out_path = dir.path() + "/out";
  std::string run = "cd '" + dir.path() + "' && bash -c \"$0\" >'" + out_path + "' 2>&1";
  pid_t pid = 0;
  std::vector<char*> argv = {const_cast<char*>("sh"), const_cast<char*>("-c"),
                             const_cast<char*>(run.c_str()), const_cast<char*>(cmd.c_str()),
                             nullptr};
  EXPECT_EQ(posix_spawn(&pid, "/bin/sh", nullptr, nullptr, argv.data(), environ), 0);
  int status = 0;
  waitpid(pid, &status, 0);
  std::string out = walferry::testing::ReadAll(out_path);
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

TEST(Completion, BashCompletesWithIt) {
  std::string script = Script();
  EXPECT_EQ(Complete(script, "walferry che"), "check");
  EXPECT_EQ(Complete(script, "walferry --repo /x check --no"), "--no-pg");
  EXPECT_EQ(Complete(script, "walferry check --archive-w"), "--archive-wait");
  EXPECT_EQ(Complete(script, "walferry --log-level de"), "debug");
  EXPECT_EQ(Complete(script, "walferry --log-level = de"), "debug");  // COMP_WORDBREAKS has '='
  EXPECT_EQ(Complete(script, "walferry --compression=l"), "--compression=lz4");
  EXPECT_EQ(Complete(script, "walferry --s3-uri-style ''"), "host path");
  EXPECT_EQ(Complete(script, "walferry archive-get-w"), "");  // internal: never offered
  EXPECT_EQ(Complete(script, "walferry compl"), "");
  EXPECT_EQ(Complete(script, "walferry --vers"), "--version");
}

}  // namespace
}  // namespace walferry::cli
