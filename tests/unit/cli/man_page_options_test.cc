// Each command's page (man/walferry-COMMAND.1) documents exactly the flags the command
// registers: a flag without its entry in OPTIONS, or an OPTIONS entry for a flag that
// neither the command nor the global option table has, fails here.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "walferry/options.h"

namespace walferry::cli {
namespace {

namespace fs = std::filesystem;

std::string PlainPage(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string page = ss.str();
  page = std::regex_replace(page, std::regex(R"(\\f[BIRP])"), "");
  page = std::regex_replace(page, std::regex(R"(\\-)"), "-");
  page = std::regex_replace(page, std::regex(R"(\\&)"), "");
  return page;
}

// The text of section `name` (".SH NAME" to the next ".SH"); empty when there is none.
std::string Section(const std::string& page, const std::string& name) {
  size_t start = page.find("\n.SH " + name + "\n");
  if (start == std::string::npos) return "";
  size_t end = page.find("\n.SH ", start + 1);
  return page.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::set<std::string> FlagsIn(const std::string& text) {
  std::set<std::string> flags;
  std::regex flag(R"(--[a-z][a-z0-9-]*\*?)");  // "--s3-*": every --s3- option
  for (auto it = std::sregex_iterator(text.begin(), text.end(), flag); it != std::sregex_iterator();
       ++it) {
    flags.insert(it->str());
  }
  return flags;
}

const CommandSpec* FindCommand(const std::string& name) {
  for (const CommandSpec& c : Commands()) {
    if (name == c.name) return &c;
  }
  return nullptr;
}

TEST(ManPages, EveryCommandPageDocumentsExactlyItsFlags) {
  int pages = 0;
  for (const auto& entry : fs::directory_iterator(fs::path(WALFERRY_SOURCE_DIR) / "man")) {
    const std::string file = entry.path().filename().string();
    if (!file.starts_with("walferry-") || !file.ends_with(".1")) continue;
    const std::string command = file.substr(9, file.size() - 9 - 2);
    const CommandSpec* spec = FindCommand(command);
    ASSERT_NE(spec, nullptr) << "man/" << file << " is the page of no command";
    ++pages;
    CLI::App app;
    Handler handler = spec->bind(app);  // kept alive: the options point into its state
    std::set<std::string> own;
    for (const CLI::Option* o : app.get_options()) {
      for (const std::string& l : o->get_lnames()) {
        if (l != "help") own.insert("--" + l);
      }
    }
    const std::string options = Section(PlainPage(entry.path()), "OPTIONS");
    const std::set<std::string> documented = FlagsIn(options);
    for (const std::string& f : own) {
      EXPECT_TRUE(documented.count(f)) << "man/" << file << ": " << command << " takes " << f
                                       << ", which its OPTIONS section does not document";
    }
    for (const std::string& f : documented) {
      bool known = own.count(f) || f == "--help" || config::FindOption(f.substr(2)) != nullptr;
      if (f.ends_with("*")) {
        const std::string prefix = f.substr(2, f.size() - 3);
        for (const config::OptionSpec& o : config::Options())
          known |= std::string(o.name).starts_with(prefix);
      }
      EXPECT_TRUE(known) << "man/" << file << ": OPTIONS documents " << f << ", which " << command
                         << " does not take";
    }
  }
  EXPECT_GE(pages, 10);  // every command page in man/
}

// Every command a user runs has its page.
TEST(ManPages, EveryCommandHasItsPage) {
  for (const CommandSpec& c : Commands()) {
    if (c.internal || std::string(c.name) == "repo-create") continue;  // walferry-repository.5
    EXPECT_TRUE(fs::exists(fs::path(WALFERRY_SOURCE_DIR) / "man" /
                           ("walferry-" + std::string(c.name) + ".1")))
        << c.name;
  }
}

}  // namespace
}  // namespace walferry::cli
