// options.h — the one table of walferry's options, and how they resolve.
//
// Every option has one name in three spellings: the flag `--s3-endpoint`, the
// environment variable `WALFERRY_S3_ENDPOINT` and the config file key
// `s3-endpoint`. The table below drives the command-line parser, `--help`, the
// man pages (a unit test keeps man/ in step) and the config file reader.
//
// Precedence, highest first: flag > WALFERRY_* variable > AWS_* variable (for
// the three credential options only) > config file > default. An environment
// variable that is set but empty counts as not set. AWS_ACCESS_KEY_ID,
// AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN are used as a set, and only when
// AWS_ACCESS_KEY_ID is set, so an environment key is never paired with a
// secret or token from the file.
//
// The config file is `--config PATH` (or WALFERRY_CONFIG), else
// /etc/walferry.conf when it exists; it must be a regular file of at most
// 1 MiB. It holds `key = value` lines, blank lines and lines starting with
// '#'. A '#' at the start of a value or after a space or tab starts a comment;
// a value in double or single quotes is taken literally between them. Unknown
// keys, repeated keys and bad values are errors naming the key and 'file:line'.
// A WALFERRY_* environment variable that names no option is not an error
// (the environment is shared): it becomes a warning naming the nearest option.
//
// Errors are Status::InvalidArgument (exit code 2). Messages never contain the
// value of a secret option.
#pragma once

#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "walferry/pipeline.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::log {
enum class Level;  // common/log.h
}  // namespace walferry::log

namespace walferry::config {

enum class OptionType {
  kString,   // any text
  kPath,     // a local file path
  kRepo,     // "file:///absolute/path" or "s3://bucket[/prefix]"
  kUrl,      // "http(s)://host[:port]", no path
  kBool,     // true/false, yes/no, on/off, 1/0
  kInteger,  // whole number within [min_value, max_value]
  kSize,     // bytes: "16MiB", "512KiB", "1GiB", "4096" (units are powers of 1024)
  kSeconds,  // "30", "1.5", "500ms", "2min", "1h"; within [min_value, max_value] seconds
  kEnum,     // one of `choices`
};

enum class Section { kGeneral, kRepository, kArchive, kSpool, kBackup, kS3 };

struct GlobalConfig;

// One option's value once checked against its type (ResolveConfig): every form is filled
// that the type has (text always; for kEnum the choice as the table spells it).
struct OptionValue {
  std::string text;
  bool boolean = false;
  int64_t integer = 0;  // -1 for an optional kInteger that is not set
  uint64_t size = 0;
  double seconds = 0;
};
// Stores a checked value in its field of the config: each row of the table names its
// field in code, so a misspelt field does not compile.
using BindFn = void (*)(const OptionValue& value, GlobalConfig& config);

struct OptionSpec {
  const char* name;  // config key; flag is "--" + name, env is WALFERRY_ + NAME
  OptionType type;
  Section section;
  const char* default_value;  // in the option's own syntax; "" = not set
  const char* value_name;     // placeholder in help: "URL", "SIZE", ...
  const char* help;           // one line, no trailing period
  bool secret = false;        // never printed: shown as <redacted>
  bool in_file = true;        // may be set in the config file
  double min_value = 0;       // for kInteger, kSize, kSeconds
  double max_value = 0;
  const char* choices = "";  // for kEnum: "host|path"
  const char* aws_env = "";  // standard AWS variable read below WALFERRY_*
  BindFn bind = nullptr;     // nullptr only for "config" (it names the file itself)
};

// The table, in the order of --help and the man pages.
std::span<const OptionSpec> Options();
// nullptr when no option has that name.
const OptionSpec* FindOption(std::string_view name);
std::string FlagName(const OptionSpec& spec);  // "--s3-endpoint"
std::string EnvName(const OptionSpec& spec);   // "WALFERRY_S3_ENDPOINT"
const char* SectionName(Section section);      // "general", "repository", "s3"
// What a value must look like: "one of host, path", "a size from 5MiB to 5GiB such as 16MiB ...".
std::string ValueSyntax(const OptionSpec& spec);

// Where a resolved value came from.
enum class Origin { kDefault, kFile, kEnv, kFlag };

struct ResolvedOption {
  const OptionSpec* spec = nullptr;
  std::string value;  // text as given (the default's text for kDefault)
  Origin origin = Origin::kDefault;
  std::string where;  // "--s3-region", "WALFERRY_S3_REGION", "/etc/walferry.conf:4", "default"
};

// What the command line and environment hold; everything ResolveConfig reads
// except the config file itself.
struct ConfigSources {
  std::map<std::string, std::string> flags;  // option name ("s3-region") -> value as typed
  std::map<std::string, std::string> env;    // variable name -> value
  // Read when neither --config nor WALFERRY_CONFIG names a file and it exists.
  std::string default_config_file = "/etc/walferry.conf";
};

// When archive-push exits 0 with a spool: the repository confirmed the segment (remote), or
// the staged copy is on local disk (spool).
enum class Durability { kRemote, kSpool };

// The resolved configuration every command starts from.
struct GlobalConfig {
  StorageConfig storage;             // repo left as the URL string; s3.* filled from the options
  std::string compression = "zstd";  // the codec's name as the table spells it, for messages
  Codec codec = Codec::kZstd;        // the same, parsed: the codec of new WAL objects
  int compression_level = -1;        // -1: the codec's default (see Level)
  int parallel = 4;                  // concurrent transfers (spool worker, prefetch, backups)
  std::string spool_path;            // empty: no spool (archive-push/get work synchronously)
  std::string archive_durability = "remote";    // as the table spells it: "remote" | "spool"
  Durability durability = Durability::kRemote;  // the same, parsed
  double archive_timeout_seconds = 60;          // archive-push's wait for the spool worker
  int archive_get_prefetch = 8;                 // segments archive-get fetches ahead; 0 = off
  int spool_backlog_warn = 64;                  // warn when this many segments wait; 0 = never
  std::string spool_prometheus_file;            // empty: none
  std::string pg_conninfo;                      // libpq conninfo; empty: PG* variables
  log::Level log_level{};                       // set by ResolveConfig (default info)
  std::string config_file;                      // the file that was read; empty when none
  std::vector<ResolvedOption> options;          // every option in table order, with its origin
  // For the log at WARNING level: "environment variable WALFERRY_X is not a walferry option ...".
  std::vector<std::string> warnings;
  // The key-encryption key of an encrypted repository (issue 11): at most one of the three;
  // read once per process, only when the repository is encrypted (common/key_source.h).
  std::string encryption_key_file;     // path of a key file (mode 600)
  std::string encryption_key_env;      // the name of the variable that holds the key
  std::string encryption_key_command;  // run with /bin/sh -c; its output is the key

  // The compression level new objects are written at: compression_level, or the codec's
  // default when it is not set.
  int Level() const { return compression_level < 0 ? DefaultLevel(codec) : compression_level; }
};

// WALFERRY_* variables that are not options and draw no warning: those of
// walferry's own test, benchmark and demo scripts (WALFERRY_TEST_*,
// WALFERRY_BENCH_*, WALFERRY_DEMO_*, WALFERRY_E2E_*).
bool IsUncheckedEnvName(std::string_view name);

// The process environment (WALFERRY_* and AWS_* variables only).
std::map<std::string, std::string> ReadEnvironment();

// Reads the config file (if any), applies precedence and checks every value.
Result<GlobalConfig> ResolveConfig(const ConfigSources& sources);

// Parses config file text; `file` names it in messages. Returns key -> (value,
// line). Unknown, repeated or not-in-file keys and malformed lines are errors.
struct FileValue {
  std::string value;
  int line = 0;
};
Result<std::map<std::string, FileValue>> ParseConfigText(std::string_view text,
                                                         const std::string& file);

// Value parsers used for every source ("16MiB" -> 16777216, "500ms" -> 0.5).
bool ParseBool(std::string_view text, bool* out);
bool ParseSize(std::string_view text, uint64_t* out);
bool ParseSeconds(std::string_view text, double* out);

// kInvalidArgument when no repository is configured (commands that need one).
Status RequireRepo(const GlobalConfig& config);

// For an s3:// repository, s3-access-key-id and s3-secret-access-key are set together or
// not at all: kInvalidArgument naming the one that is set. (`walferry check` refuses such a
// configuration as a usage error; other commands meet the same rule as an authentication
// failure in the S3 credential chain.)
Status CheckS3KeyPair(const GlobalConfig& config);

// The resolved option of that name; nullptr for a name not in the table.
const ResolvedOption* FindResolved(const GlobalConfig& config, std::string_view name);

// "name = value (where)" lines for every option, secrets shown as <redacted>.
std::vector<std::string> DescribeConfig(const GlobalConfig& config);

// `text` with every secret value of `config` (of 6 or more characters) replaced by <redacted>;
// a guard on messages that pass through from lower layers.
std::string RedactSecrets(const GlobalConfig& config, std::string text);

}  // namespace walferry::config
