// The committed man pages are in step with the option, command and exit-code
// tables. On drift the test writes the regenerated page next to the walferry
// binary and says how to copy it into man/.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "cli/commands.h"
#include "cli/man.h"
#include "cli/report.h"
#include "walferry/exit_codes.h"
#include "walferry/options.h"

namespace walferry::cli {
namespace {

namespace fs = std::filesystem;

std::string ReadPage(const std::string& name) {
  std::ifstream in(std::string(WALFERRY_SOURCE_DIR) + "/man/" + name);
  EXPECT_TRUE(in) << "man/" << name;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The page as a reader sees the words: no font changes, '\-' as '-'.
std::string Plain(std::string page) {
  page = std::regex_replace(page, std::regex(R"(\\f[BIRP])"), "");
  page = std::regex_replace(page, std::regex(R"(\\-)"), "-");
  page = std::regex_replace(page, std::regex(R"(\\&)"), "");
  return page;
}

void ExpectUpToDate(const std::string& name) {
  std::string page = ReadPage(name);
  Result<std::string> updated = UpdateManPage(page);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  if (*updated != page) {
    fs::path out = fs::path(WALFERRY_BINARY).parent_path() / (name + ".expected");
    std::ofstream(out) << *updated;
    ADD_FAILURE() << "man/" << name << " is out of date with the tables; regenerate it:\n  cp "
                  << out.string() << " " << WALFERRY_SOURCE_DIR << "/man/" << name;
  }
}

TEST(ManPages, GeneratedPartsAreUpToDate) {
  ExpectUpToDate("walferry.1");
  ExpectUpToDate("walferry.conf.5");
}

// README.md's exit-code table is made from the same table as walferry(1)'s.
TEST(Readme, ExitCodeTableIsUpToDate) {
  std::ifstream in(std::string(WALFERRY_SOURCE_DIR) + "/README.md");
  ASSERT_TRUE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string readme = ss.str();
  Result<std::string> updated = UpdateReadme(readme);
  ASSERT_TRUE(updated.ok()) << updated.status().ToString();
  if (*updated != readme) {
    fs::path out = fs::path(WALFERRY_BINARY).parent_path() / "README.md.expected";
    std::ofstream(out) << *updated;
    ADD_FAILURE() << "README.md's exit-code table is out of date with the exit-code table; "
                     "regenerate it:\n  cp "
                  << out.string() << " " << WALFERRY_SOURCE_DIR << "/README.md";
  }
  for (const ExitCodeInfo& row : ExitCodes()) {
    EXPECT_NE(
        readme.find("| " + std::to_string(static_cast<int>(row.code)) + " | " + row.name + " | "),
        std::string::npos)
        << row.name;
  }
}

TEST(Readme, UpdateRejectsMissingMarkers) {
  EXPECT_FALSE(UpdateReadme("# x\nno table\n").ok());
  EXPECT_FALSE(
      UpdateReadme("<!-- END GENERATED EXIT-CODES -->\n<!-- BEGIN GENERATED EXIT-CODES -->\n")
          .ok());
  Result<std::string> r = UpdateReadme(
      "a\n<!-- BEGIN GENERATED EXIT-CODES -->\nold\n<!-- END GENERATED EXIT-CODES -->\nb\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(*r, "a\n<!-- BEGIN GENERATED EXIT-CODES -->\n" + ReadmeExitCodes() +
                    "<!-- END GENERATED EXIT-CODES -->\nb\n");
}

// One vocabulary: every Status code has exactly one row (name, exit code), every
// exit code one row (name, phrase, meaning), and the split of the old
// kFailedPrecondition kept every exit code.
TEST(FailureVocabulary, EveryCodeHasOneRow) {
  std::set<int> seen;
  for (const StatusCodeInfo& row : StatusCodes()) {
    EXPECT_TRUE(seen.insert(static_cast<int>(row.code)).second) << row.name;
    EXPECT_STREQ(Status::CodeName(row.code), row.name);
    EXPECT_NE(std::string(InfoFor(row.exit).name), "") << row.name;
  }
  for (int c = 0; c <= static_cast<int>(Status::Code::kUnsupportedFormat); ++c) {
    EXPECT_TRUE(seen.count(c)) << "Status::Code " << c << " has no row in StatusCodes()";
  }
  std::set<std::string> names, phrases;
  for (const ExitCodeInfo& row : ExitCodes()) {
    EXPECT_TRUE(names.insert(row.name).second) << row.name;
    EXPECT_TRUE(phrases.insert(row.phrase).second) << row.phrase;
    EXPECT_EQ(&InfoFor(row.code), &row);
    EXPECT_STREQ(FailurePhrase(row.code), row.phrase);
    EXPECT_STREQ(ExitCodeName(row.code), row.name);
  }
  EXPECT_EQ(ExitCodeFor(Status::WrongRepository("x")), ExitCode::kWrongRepository);
  EXPECT_EQ(ExitCodeFor(Status::UnsupportedFormat("x")), ExitCode::kWrongRepository);
  EXPECT_EQ(Status::UnsupportedFormat("x").code(), Status::Code::kUnsupportedFormat);
  EXPECT_NE(Status::UnsupportedFormat("x").code(), Status::WrongRepository("x").code());
  EXPECT_EQ(Status::FailedPrecondition("x").code(), Status::Code::kWrongRepository);
  EXPECT_EQ(Status::UnsupportedFormat("m").ToString(), "unsupported format: m");
  EXPECT_EQ(Status::WrongRepository("m").ToString(), "wrong repository: m");
  // The values spool records store on disk never move.
  EXPECT_EQ(static_cast<int>(Status::Code::kWrongRepository), 10);
  EXPECT_EQ(static_cast<int>(Status::Code::kInternal), 11);
  EXPECT_EQ(static_cast<int>(Status::Code::kUnsupportedFormat), 12);
}

TEST(ManPages, HaveTheirGeneratedParts) {
  std::string one = ReadPage("walferry.1");
  for (const char* part : {"COMMANDS", "OPTIONS", "ENVIRONMENT", "EXIT-STATUS"}) {
    EXPECT_NE(one.find(std::string(".\\\" BEGIN GENERATED ") + part), std::string::npos) << part;
  }
  EXPECT_NE(ReadPage("walferry.conf.5").find(".\\\" BEGIN GENERATED KEYS"), std::string::npos);
}

TEST(ManPages, EveryOptionInBothPagesInAllSpellings) {
  std::string one = Plain(ReadPage("walferry.1"));
  std::string five = Plain(ReadPage("walferry.conf.5"));
  for (const config::OptionSpec& o : config::Options()) {
    for (const std::string* page : {&one, &five}) {
      const char* which = page == &one ? "walferry.1" : "walferry.conf.5";
      EXPECT_NE(page->find(config::FlagName(o)), std::string::npos) << which << " " << o.name;
      EXPECT_NE(page->find(config::EnvName(o)), std::string::npos) << which << " " << o.name;
      EXPECT_NE(page->find(std::string("config key ") + o.name), std::string::npos)
          << which << " " << o.name;
      if (*o.aws_env != '\0') {
        EXPECT_NE(page->find(o.aws_env), std::string::npos) << which << " " << o.aws_env;
      }
    }
  }
}

TEST(ManPages, NoOptionMissingFromTheTable) {
  // Flags that are not global options: the command's own and CLI11's.
  const std::set<std::string> kOtherFlags = {"--help", "--version", "--json",
                                             "--name", "--pg-data", "--prometheus"};
  for (const char* name : {"walferry.1", "walferry.conf.5"}) {
    std::string page = Plain(ReadPage(name));
    std::regex flag(R"(--[a-z][a-z0-9-]*)");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), flag);
         it != std::sregex_iterator(); ++it) {
      std::string f = it->str();
      bool known = kOtherFlags.count(f) || config::FindOption(f.substr(2)) != nullptr;
      EXPECT_TRUE(known) << name << " mentions " << f << ", which is not in the option table";
    }
    std::regex env(R"(WALFERRY_[A-Z0-9_]+)");
    for (auto it = std::sregex_iterator(page.begin(), page.end(), env);
         it != std::sregex_iterator(); ++it) {
      // The scripts' own variables, and the misspelling walferry(1) shows as an example.
      bool known = config::IsUncheckedEnvName(it->str()) || it->str() == "WALFERRY_S3_ENDPONT";
      for (const config::OptionSpec& o : config::Options())
        known |= config::EnvName(o) == it->str();
      EXPECT_TRUE(known) << name << " mentions " << it->str() << ", which is not in the table";
    }
  }
  // Every "key = value" line in walferry.conf.5 names a real key.
  std::istringstream lines(Plain(ReadPage("walferry.conf.5")));
  std::regex setting(R"(^([a-z][a-z0-9-]*) = .*)");
  for (std::string line; std::getline(lines, line);) {
    std::smatch m;
    if (std::regex_match(line, m, setting)) {
      EXPECT_NE(config::FindOption(m[1].str()), nullptr) << "walferry.conf.5: " << line;
    }
  }
}

TEST(ManPages, ExitCodesAndCommandsInWalferry1) {
  std::string one = Plain(ReadPage("walferry.1"));
  int n = 0;
  const ExitCodeInfo* table = ExitCodeTable(&n);
  for (int i = 0; i < n; ++i) {
    std::string entry =
        ".B " + std::to_string(static_cast<int>(table[i].code)) + "\n" + table[i].name + ": ";
    EXPECT_NE(one.find(entry), std::string::npos) << table[i].name;
  }
  for (const CommandSpec& c : Commands()) {
    if (c.internal) continue;
    EXPECT_NE(one.find(std::string(".B ") + c.name), std::string::npos) << c.name;
  }
}

TEST(ManPages, UpdateRejectsBrokenMarkers) {
  EXPECT_FALSE(UpdateManPage(".\\\" BEGIN GENERATED OPTIONS\nno end\n").ok());
  EXPECT_FALSE(UpdateManPage(".\\\" BEGIN GENERATED NOPE\n.\\\" END GENERATED NOPE\n").ok());
  Result<std::string> same = UpdateManPage(".TH X 1\ntext\n");
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(*same, ".TH X 1\ntext\n");
}

TEST(ManPages, TroffEscape) {
  EXPECT_EQ(TroffEscape("--s3-endpoint"), "\\-\\-s3\\-endpoint");
  EXPECT_EQ(TroffEscape("a\\b"), "a\\eb");
  EXPECT_EQ(TroffEscape(".x"), "\\&.x");
}

}  // namespace
}  // namespace walferry::cli

namespace walferry::cli {
namespace {

// Commands PostgreSQL runs, and the backup commands, have a page of their own, linked from
// walferry(1).
TEST(ManPages, ArchiveCommandsHaveTheirOwnPages) {
  std::ifstream main_page(std::string(WALFERRY_SOURCE_DIR) + "/man/walferry.1");
  std::string text((std::istreambuf_iterator<char>(main_page)), std::istreambuf_iterator<char>());
  for (const CommandSpec& c : Commands()) {
    std::string name = c.name;
    if ((name.rfind("archive-", 0) != 0 && name.rfind("backup-", 0) != 0) || c.internal) continue;
    std::string page = std::string(WALFERRY_SOURCE_DIR) + "/man/walferry-" + name + ".1";
    EXPECT_TRUE(std::ifstream(page).good()) << page;
    std::string escaped;
    for (char ch : "walferry-" + name)
      escaped += ch == '-' ? std::string("\\-") : std::string(1, ch);
    EXPECT_NE(text.find(".BR " + escaped + " (1)"), std::string::npos)
        << "walferry.1 SEE ALSO lacks " << name;
  }
}

}  // namespace
}  // namespace walferry::cli
