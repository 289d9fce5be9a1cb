// Regression tests of issue 10's configuration defects: a compression level the
// codec does not take, misspelt WALFERRY_* variables, a config file that is not
// a regular file, inline comments, and the option-value parsers as a class.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <regex>
#include <sstream>

#include "support/temp_dir.h"
#include "walferry/exit_codes.h"
#include "walferry/options.h"

namespace walferry::config {
namespace {

using testing::TempDir;

ConfigSources NoFile() {
  ConfigSources s;
  s.default_config_file = "";
  return s;
}

bool Has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

std::string ReadSource(const std::string& relative) {
  std::ifstream in(std::string(WALFERRY_SOURCE_DIR) + "/" + relative);
  EXPECT_TRUE(in) << relative;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ---- A1: compression-level is checked against the codec when the config resolves

struct LevelCase {
  std::string codec;  // "" = the default (zstd)
  std::string level;
  bool ok;
};

class CompressionLevelTest : public ::testing::TestWithParam<LevelCase> {};

TEST_P(CompressionLevelTest, CheckedForItsCodecFromEverySource) {
  const LevelCase& lc = GetParam();
  TempDir dir;
  std::string file = dir.Write("w.conf", "# level\ncompression-level = " + lc.level + "\n");
  struct Source {
    ConfigSources sources;
    std::string where;
  };
  std::vector<Source> sources(3);
  for (Source& s : sources) {
    s.sources = NoFile();
    if (!lc.codec.empty()) s.sources.env["WALFERRY_COMPRESSION"] = lc.codec;
  }
  sources[0].sources.flags["compression-level"] = lc.level;
  sources[0].where = "from --compression-level";
  sources[1].sources.env["WALFERRY_COMPRESSION_LEVEL"] = lc.level;
  sources[1].where = "from environment variable WALFERRY_COMPRESSION_LEVEL";
  sources[2].sources.flags["config"] = file;
  sources[2].where = "from " + file + ":2";
  for (const Source& src : sources) {
    Result<GlobalConfig> c = ResolveConfig(src.sources);
    if (lc.ok) {
      EXPECT_TRUE(c.ok()) << lc.codec << " " << lc.level << ": " << c.status().ToString();
      continue;
    }
    ASSERT_FALSE(c.ok()) << lc.codec << " level " << lc.level << " " << src.where;
    const std::string& m = c.status().message();
    EXPECT_EQ(ExitCodeFor(c.status()), ExitCode::kUsage);
    EXPECT_TRUE(Has(m, "'compression-level'")) << m;
    EXPECT_TRUE(Has(m, src.where)) << m;
    EXPECT_TRUE(Has(m, "'" + lc.level + "'")) << m;
    EXPECT_TRUE(Has(m, "compression '" + (lc.codec.empty() ? "zstd" : lc.codec) + "'")) << m;
    EXPECT_FALSE(c.status().hint().empty());
  }
}

INSTANTIATE_TEST_SUITE_P(
    Levels, CompressionLevelTest,
    ::testing::Values(LevelCase{"", "3", true}, LevelCase{"", "1", true},
                      LevelCase{"zstd", "19", true}, LevelCase{"lz4", "0", true},
                      LevelCase{"lz4", "12", true}, LevelCase{"", "0", false},
                      LevelCase{"zstd", "0", false}, LevelCase{"lz4", "13", false},
                      LevelCase{"lz4", "19", false}, LevelCase{"none", "0", false},
                      LevelCase{"none", "3", false}),
    [](const ::testing::TestParamInfo<LevelCase>& info) {
      return (info.param.codec.empty() ? std::string("default") : info.param.codec) + "_" +
             info.param.level;
    });

TEST(CompressionLevel, CodecFromTheFileAndLevelFromAFlagNamesBoth) {
  TempDir dir;
  ConfigSources s = NoFile();
  s.flags["config"] = dir.Write("w.conf", "compression = lz4\n");
  s.flags["compression-level"] = "15";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Has(c.status().message(), "from --compression-level")) << c.status().message();
  EXPECT_TRUE(Has(c.status().message(), "compression 'lz4' (from " + dir.path() + "/w.conf:1)"))
      << c.status().message();
  EXPECT_TRUE(Has(c.status().message(), "from 0 to 12")) << c.status().message();
}

TEST(CompressionLevel, UnsetLevelIsTheCodecsDefaultForEveryCodec) {
  for (const char* codec : {"zstd", "lz4", "none"}) {
    ConfigSources s = NoFile();
    s.flags["compression"] = codec;
    Result<GlobalConfig> c = ResolveConfig(s);
    ASSERT_TRUE(c.ok()) << codec << ": " << c.status().ToString();
    EXPECT_EQ(c->compression_level, -1);
  }
}

// ---- A2: misspelt WALFERRY_* variables are a warning naming the nearest option

TEST(EnvironmentNames, MisspeltVariableWarnsWithTheNearestName) {
  ConfigSources s = NoFile();
  s.env["WALFERRY_S3_ENDPONT"] = "https://127.0.0.1:9443";
  s.env["WALFERRY_S3_ACCES_KEY"] = "AKIAEXAMPLE";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();  // never a failure: archiving goes on
  ASSERT_EQ(c->warnings.size(), 2u);
  std::string all = c->warnings[0] + "\n" + c->warnings[1];
  EXPECT_TRUE(Has(all, "WALFERRY_S3_ENDPONT")) << all;
  EXPECT_TRUE(Has(all, "did you mean WALFERRY_S3_ENDPOINT?")) << all;
  EXPECT_TRUE(Has(all, "WALFERRY_S3_ACCES_KEY")) << all;
  EXPECT_TRUE(Has(all, "did you mean WALFERRY_S3_ACCESS_KEY_ID?")) << all;
  EXPECT_FALSE(Has(all, "AKIAEXAMPLE")) << "values are never echoed: " << all;
  EXPECT_EQ(c->storage.s3.endpoint, "");  // and the misspelt one is not used
}

TEST(EnvironmentNames, UnknownVariableFarFromAnyOptionStillWarns) {
  ConfigSources s = NoFile();
  s.env["WALFERRY_HOME"] = "/x";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->warnings.size(), 1u);
  EXPECT_TRUE(Has(c->warnings[0], "WALFERRY_HOME is not a walferry option")) << c->warnings[0];
  EXPECT_FALSE(Has(c->warnings[0], "did you mean")) << c->warnings[0];
}

TEST(EnvironmentNames, KnownScriptAndOtherVariablesDrawNoWarning) {
  ConfigSources s = NoFile();
  for (const OptionSpec& o : Options()) s.env[EnvName(o)] = "";
  s.env["WALFERRY_TEST_S3_ENDPOINT"] = "http://127.0.0.1:1";
  s.env["WALFERRY_BENCH_ROUNDS"] = "3";
  s.env["WALFERRY_E2E_LOG_DIR"] = "/tmp";
  s.env["AWS_REGION"] = "eu-west-1";
  s.env["AWS_PROFILE"] = "x";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_TRUE(c->warnings.empty()) << c->warnings.front();
  EXPECT_TRUE(IsUncheckedEnvName("WALFERRY_TEST_S3_BUCKET"));
  EXPECT_FALSE(IsUncheckedEnvName("WALFERRY_S3_BUCKET"));
}

TEST(EnvironmentNames, UnknownFileKeyIsAnErrorWithTheSameKindOfSuggestion) {
  Result<std::map<std::string, FileValue>> v = ParseConfigText("s3-endponit = x\n", "w.conf");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(ExitCodeFor(v.status()), ExitCode::kUsage);
  EXPECT_TRUE(Has(v.status().hint(), "did you mean 's3-endpoint'")) << v.status().hint();
}

// ---- A3: a config file that is not a regular file is refused at once

void ExpectRefusedAsNotRegular(const std::string& path, const std::string& kind) {
  for (bool from_env : {false, true}) {
    ConfigSources s = NoFile();
    if (from_env) {
      s.env["WALFERRY_CONFIG"] = path;
    } else {
      s.flags["config"] = path;
    }
    Result<GlobalConfig> c = ResolveConfig(s);
    ASSERT_FALSE(c.ok()) << path;
    EXPECT_EQ(ExitCodeFor(c.status()), ExitCode::kUsage) << c.status().ToString();
    EXPECT_TRUE(Has(c.status().message(), "'" + path + "'")) << c.status().message();
    EXPECT_TRUE(Has(c.status().message(), kind)) << c.status().message();
    EXPECT_TRUE(Has(c.status().message(), from_env ? "WALFERRY_CONFIG" : "--config"))
        << c.status().message();
  }
}

TEST(ConfigFileKind, FifoIsRefusedInsteadOfWaitingForAWriter) {
  TempDir dir;
  std::string fifo = dir.path() + "/walferry.conf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ExpectRefusedAsNotRegular(fifo, "a FIFO");
}

TEST(ConfigFileKind, DefaultFileThatIsAFifoIsRefusedToo) {
  TempDir dir;
  std::string fifo = dir.path() + "/walferry.conf";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  ConfigSources s;
  s.default_config_file = fifo;
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(Has(c.status().message(), "a FIFO")) << c.status().message();
}

TEST(ConfigFileKind, DeviceDirectoryAndSocketAreRefused) {
  ExpectRefusedAsNotRegular("/dev/zero", "a character device");
  TempDir dir;
  ExpectRefusedAsNotRegular(dir.path(), "a directory");
  std::string sock = dir.path() + "/s";
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  ASSERT_LT(sock.size(), sizeof addr.sun_path);
  std::strcpy(addr.sun_path, sock.c_str());
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ExpectRefusedAsNotRegular(sock, "a socket");
  ::close(fd);
}

TEST(ConfigFileKind, DevNullReadsAsAnEmptyFile) {
  ConfigSources s = NoFile();
  s.flags["config"] = "/dev/null";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->config_file, "/dev/null");
}

TEST(ConfigFileKind, FileLargerThanOneMebibyteIsRefused) {
  TempDir dir;
  std::string big(1024 * 1024 + 1, '#');
  std::string path = dir.Write("big.conf", big);
  ConfigSources s = NoFile();
  s.flags["config"] = path;
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(ExitCodeFor(c.status()), ExitCode::kUsage);
  EXPECT_TRUE(Has(c.status().message(), "larger than 1 MiB")) << c.status().message();
}

TEST(ConfigFileKind, SymlinkToARegularFileIsRead) {
  TempDir dir;
  std::string real = dir.Write("real.conf", "s3-region = eu-west-3\n");
  std::string link = dir.path() + "/link.conf";
  ASSERT_EQ(::symlink(real.c_str(), link.c_str()), 0);
  ConfigSources s = NoFile();
  s.flags["config"] = link;
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->storage.s3.region, "eu-west-3");
}

// ---- A4: comments after a value, quoted values

TEST(ConfigComments, HashAfterWhitespaceStartsAComment) {
  Result<std::map<std::string, FileValue>> v = ParseConfigText(
      "parallel = 4        # four at once\n"
      "spool-path = /var/spool/walferry\t# tab before\n"
      "s3-storage-class = # nothing but a comment\n"
      "s3-secret-access-key = a#b=c\n"
      "s3-sse =AES256#x\n",
      "x.conf");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->at("parallel").value, "4");
  EXPECT_EQ(v->at("spool-path").value, "/var/spool/walferry");
  EXPECT_EQ(v->at("s3-storage-class").value, "");
  EXPECT_EQ(v->at("s3-secret-access-key").value, "a#b=c");  // no space before '#': data
  EXPECT_EQ(v->at("s3-sse").value, "AES256#x");
}

TEST(ConfigComments, QuotedValueIsTakenLiterally) {
  Result<std::map<std::string, FileValue>> v = ParseConfigText(
      "pg-conninfo = \"host=/run/postgresql password='se #cret'\"  # quoted\n"
      "s3-secret-access-key = ' spaces and # kept '\n"
      "s3-session-token = \"\"\n",
      "x.conf");
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(v->at("pg-conninfo").value, "host=/run/postgresql password='se #cret'");
  EXPECT_EQ(v->at("s3-secret-access-key").value, " spaces and # kept ");
  EXPECT_EQ(v->at("s3-session-token").value, "");
}

TEST(ConfigComments, BadQuotingNamesKeyAndLineButNotTheValue) {
  for (const char* text : {"s3-secret-access-key = \"topsecretvalue\n",
                           "s3-secret-access-key = 'topsecretvalue' trailing\n"}) {
    Result<std::map<std::string, FileValue>> v =
        ParseConfigText(std::string("# c\n") + text, "w.conf");
    ASSERT_FALSE(v.ok()) << text;
    EXPECT_EQ(ExitCodeFor(v.status()), ExitCode::kUsage);
    EXPECT_TRUE(Has(v.status().message(), "'s3-secret-access-key'")) << v.status().message();
    EXPECT_TRUE(Has(v.status().message(), "w.conf:2")) << v.status().message();
    EXPECT_FALSE(Has(v.status().message(), "topsecretvalue")) << v.status().message();
  }
}

// Every walferry config example shipped with the source parses and resolves:
// the ```ini blocks of README.md, examples/walferry.conf and the FORMAT example
// of walferry.conf(5). They cannot rot.
std::vector<std::pair<std::string, std::string>> ConfigExamples() {
  std::vector<std::pair<std::string, std::string>> out;
  std::string readme = ReadSource("README.md");
  size_t pos = 0;
  int n = 0;
  while ((pos = readme.find("```ini\n", pos)) != std::string::npos) {
    size_t start = pos + 7;
    size_t end = readme.find("```", start);
    EXPECT_NE(end, std::string::npos);
    out.emplace_back("README.md ini block " + std::to_string(++n),
                     readme.substr(start, end - start));
    pos = end + 3;
  }
  EXPECT_GT(n, 0) << "README.md has no ```ini block";
  out.emplace_back("examples/walferry.conf", ReadSource("examples/walferry.conf"));
  std::string five = ReadSource("man/walferry.conf.5");
  size_t format = five.find(".SH FORMAT");
  size_t nf = five.find(".nf\n", format);
  size_t fi = five.find(".fi\n", nf);
  EXPECT_NE(fi, std::string::npos);
  std::string example = five.substr(nf + 4, fi - nf - 4);
  example = std::regex_replace(example, std::regex(R"(\\-)"), "-");
  example = std::regex_replace(example, std::regex(R"(\\\(aq)"), "'");
  out.emplace_back("man/walferry.conf.5 FORMAT", example);
  return out;
}

TEST(ConfigExamples, EveryShippedExampleParsesAndResolves) {
  for (const auto& [name, text] : ConfigExamples()) {
    TempDir dir;
    ConfigSources s = NoFile();
    s.flags["config"] = dir.Write("example.conf", text);
    Result<GlobalConfig> c = ResolveConfig(s);
    EXPECT_TRUE(c.ok()) << name << ": " << c.status().ToString();
  }
}

TEST(ConfigExamples, ReadmeSpoolExampleKeepsItsValuesWithoutTheComments) {
  for (const auto& [name, text] : ConfigExamples()) {
    if (!Has(text, "spool-backlog-warn")) continue;
    Result<std::map<std::string, FileValue>> v = ParseConfigText(text, name);
    ASSERT_TRUE(v.ok()) << name << ": " << v.status().ToString();
    EXPECT_EQ(v->at("archive-durability").value, "remote") << name;
    EXPECT_EQ(v->at("spool-backlog-warn").value, "64") << name;
    return;
  }
  ADD_FAILURE() << "no example sets spool-backlog-warn";
}

// ---- A7: option values as a class: each bad one is exit 2 naming option and source

struct ValueCase {
  std::string key;
  std::string value;
};

class ValueClassTest : public ::testing::TestWithParam<ValueCase> {};

TEST_P(ValueClassTest, RefusedNamingOptionAndSource) {
  const ValueCase& vc = GetParam();
  const OptionSpec* spec = FindOption(vc.key);
  ASSERT_NE(spec, nullptr);
  for (int source = 0; source < 2; ++source) {  // flag, environment (the file: BadValueTest)
    ConfigSources s = NoFile();
    std::string where;
    if (source == 0) {
      s.flags[vc.key] = vc.value;
      where = "from " + FlagName(*spec);
    } else {
      s.env[EnvName(*spec)] = vc.value;
      where = "from environment variable " + EnvName(*spec);
    }
    Result<GlobalConfig> c = ResolveConfig(s);
    ASSERT_FALSE(c.ok()) << vc.key << " = '" << vc.value << "' " << where;
    EXPECT_EQ(ExitCodeFor(c.status()), ExitCode::kUsage);
    EXPECT_TRUE(Has(c.status().message(), "'" + vc.key + "'")) << c.status().message();
    EXPECT_TRUE(Has(c.status().message(), where)) << c.status().message();
    EXPECT_TRUE(Has(c.status().message(), "expected")) << c.status().message();
  }
}

INSTANTIATE_TEST_SUITE_P(
    Values, ValueClassTest,
    ::testing::Values(
        // integers: trailing garbage, sign, overflow, fraction, spaces inside, hex
        ValueCase{"parallel", "4x"}, ValueCase{"parallel", "+4"}, ValueCase{"parallel", "-1"},
        ValueCase{"parallel", "99999999999999999999999"}, ValueCase{"parallel", "2.5"},
        ValueCase{"parallel", "4 4"}, ValueCase{"parallel", "0x4"}, ValueCase{"parallel", "65"},
        ValueCase{"parallel", " "}, ValueCase{"compression-level", "-3"},
        ValueCase{"compression-level", "3abc"}, ValueCase{"archive-get-prefetch", "1e3"},
        // sizes
        ValueCase{"s3-part-size", "16MiBx"}, ValueCase{"s3-part-size", "-16MiB"},
        ValueCase{"s3-part-size", "99999999999999999999MiB"}, ValueCase{"s3-part-size", "16 M iB"},
        ValueCase{"s3-part-size", " "}, ValueCase{"s3-part-size", "0x10MiB"},
        // durations
        ValueCase{"archive-timeout", "-5"}, ValueCase{"archive-timeout", "5 minutes"},
        ValueCase{"archive-timeout", "nan"}, ValueCase{"archive-timeout", "inf"},
        ValueCase{"archive-timeout", "1e9"}, ValueCase{"archive-timeout", "0"},
        ValueCase{"archive-timeout", " "}, ValueCase{"archive-timeout", "86401"},
        ValueCase{"s3-connect-timeout", "0.01"},
        ValueCase{"archive-timeout", std::string(400, '9')},
        // enums and booleans
        ValueCase{"compression", "gzip"}, ValueCase{"compression", " "},
        ValueCase{"archive-durability", "remote,spool"}, ValueCase{"s3-verify-tls", "yes please"},
        ValueCase{"s3-verify-tls", " "},
        // text with control characters
        ValueCase{"spool-path", "/var/spool/wal\rferry"}, ValueCase{"repo", "file:///x\ny"},
        ValueCase{"s3-region", std::string("eu\x1bwest")}),
    [](const ::testing::TestParamInfo<ValueCase>& info) {
      std::string n = info.param.key + "_" + std::to_string(info.index);
      for (char& c : n) c = std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
      return n;
    });

TEST(ValueClass, EnumsIgnoreCaseAndSurroundingSpaces) {
  ConfigSources s = NoFile();
  s.flags["compression"] = " LZ4 ";
  s.env["WALFERRY_LOG_LEVEL"] = "Debug";
  s.env["WALFERRY_S3_URI_STYLE"] = "PATH";
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->compression, "lz4");
  EXPECT_EQ(c->storage.s3.uri_style, "path");
}

TEST(ValueClass, LongBadValueIsShortenedInTheMessage) {
  ConfigSources s = NoFile();
  s.flags["parallel"] = std::string(10000, '7');
  Result<GlobalConfig> c = ResolveConfig(s);
  ASSERT_FALSE(c.ok());
  EXPECT_LT(c.status().message().size(), 400u) << c.status().message();
  EXPECT_TRUE(Has(c.status().message(), "'parallel'"));
}

}  // namespace
}  // namespace walferry::config
