// options.cc — the option table and config resolution (see walferry/options.h).
#include "walferry/options.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "common/log.h"
#include "walferry/pipeline.h"

extern char** environ;

namespace walferry::config {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;
constexpr double kGiB = 1024.0 * kMiB;
// A config file is a handful of lines; anything bigger is the wrong file.
constexpr size_t kMaxConfigFileBytes = 1 << 20;

using T = OptionType;
using S = Section;

// The table. Order is the order of --help and the man pages.
// clang-format off
const OptionSpec kOptions[] = {
  {.name = "config", .type = T::kPath, .section = S::kGeneral, .default_value = "",
   .value_name = "PATH",
   .help = "configuration file to read (default: /etc/walferry.conf when it exists; '' reads none)",
   .in_file = false},
  {.name = "log-level", .type = T::kEnum, .section = S::kGeneral, .default_value = "info",
   .value_name = "LEVEL", .help = "how much to log on stderr",
   .choices = "error|warn|info|debug|trace",
   .bind = [](const OptionValue& v, GlobalConfig& c) { log::ParseLevel(v.text, &c.log_level); }},
  {.name = "parallel", .type = T::kInteger, .section = S::kGeneral, .default_value = "4",
   .value_name = "N",
   .help = "transfers at once: spool uploads, restore prefetch, backup-push and backup-fetch",
   .min_value = 1, .max_value = 64,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.parallel = static_cast<int>(v.integer); }},
  {.name = "repo", .type = T::kRepo, .section = S::kRepository, .default_value = "",
   .value_name = "URL", .help = "the repository: s3://bucket/prefix or file:///path",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.repo = v.text; }},
  {.name = "compression", .type = T::kEnum, .section = S::kArchive, .default_value = "zstd",
   .value_name = "CODEC", .help = "how archive-push compresses WAL files", .choices = "zstd|lz4|none",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.compression = v.text; c.codec = ParseCodec(v.text).value(); }},
  {.name = "compression-level", .type = T::kInteger, .section = S::kArchive, .default_value = "",
   .value_name = "N",
   .help = "compression level: zstd 1-19 (default 3), lz4 0-12 (default 0, its fast mode); "
           "none takes no level",
   .min_value = 0, .max_value = 19,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.compression_level = static_cast<int>(v.integer); }},
  {.name = "spool-path", .type = T::kPath, .section = S::kSpool, .default_value = "",
   .value_name = "DIR",
   .help = "spool directory on fast local disk, never inside pg_wal (not set: no spool, "
           "archive-push and archive-get work one file at a time)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.spool_path = v.text; }},
  {.name = "archive-durability", .type = T::kEnum, .section = S::kSpool,
   .default_value = "remote", .value_name = "MODE",
   .help = "when archive-push exits 0 with a spool: remote (the repository confirmed the "
           "segment) or spool (the staged copy is on local disk; see walferry-archive-push(1))",
   .choices = "remote|spool",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.archive_durability = v.text;
     c.durability = v.text == "spool" ? Durability::kSpool : Durability::kRemote; }},
  {.name = "archive-timeout", .type = T::kSeconds, .section = S::kSpool, .default_value = "60",
   .value_name = "SECONDS",
   .help = "how long archive-push waits for the spool's confirmation before it fails",
   .min_value = 1, .max_value = 86400,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.archive_timeout_seconds = v.seconds; }},
  {.name = "archive-get-prefetch", .type = T::kInteger, .section = S::kSpool,
   .default_value = "8", .value_name = "N",
   .help = "segments archive-get fetches ahead into the spool (0: no prefetch)",
   .min_value = 0, .max_value = 256,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.archive_get_prefetch = static_cast<int>(v.integer); }},
  {.name = "spool-backlog-warn", .type = T::kInteger, .section = S::kSpool,
   .default_value = "64", .value_name = "N",
   .help = "warn in PostgreSQL's log when this many segments wait to be archived (0: never)",
   .min_value = 0, .max_value = 1000000,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.spool_backlog_warn = static_cast<int>(v.integer); }},
  {.name = "spool-prometheus-file", .type = T::kPath, .section = S::kSpool, .default_value = "",
   .value_name = "PATH",
   .help = "keep the spool's status in this Prometheus text file (node_exporter textfile "
           "collector)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.spool_prometheus_file = v.text; }},
  {.name = "pg-conninfo", .type = T::kString, .section = S::kBackup, .default_value = "",
   .value_name = "CONNINFO",
   .help = "libpq connection string for backup-push and check (default: the PG* variables)",
   .secret = true,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.pg_conninfo = v.text; }},
  {.name = "s3-endpoint", .type = T::kUrl, .section = S::kS3, .default_value = "",
   .value_name = "URL",
   .help = "S3 endpoint such as https://127.0.0.1:9443 (default: AWS's regional endpoint)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.endpoint = v.text; }},
  {.name = "s3-region", .type = T::kString, .section = S::kS3, .default_value = "us-east-1",
   .value_name = "REGION", .help = "region used to sign requests",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.region = v.text; }},
  {.name = "s3-uri-style", .type = T::kEnum, .section = S::kS3, .default_value = "host",
   .value_name = "STYLE",
   .help = "bucket in the host name (host, virtual-hosted) or in the path (path); an IP-address "
           "endpoint always uses path",
   .choices = "host|path",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.uri_style = v.text; }},
  {.name = "s3-ca-file", .type = T::kPath, .section = S::kS3, .default_value = "",
   .value_name = "PATH", .help = "PEM file of CA certificates to trust instead of the system's",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.ca_file = v.text; }},
  {.name = "s3-verify-tls", .type = T::kBool, .section = S::kS3, .default_value = "true",
   .value_name = "BOOL", .help = "verify the server's TLS certificate and host name",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.verify_tls = v.boolean; }},
  {.name = "s3-access-key-id", .type = T::kString, .section = S::kS3, .default_value = "",
   .value_name = "ID", .help = "access key ID",
   .aws_env = "AWS_ACCESS_KEY_ID",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.access_key_id = v.text; }},
  {.name = "s3-secret-access-key", .type = T::kString, .section = S::kS3, .default_value = "",
   .value_name = "KEY", .help = "secret access key (never printed)", .secret = true,
   .aws_env = "AWS_SECRET_ACCESS_KEY",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.secret_access_key = v.text; }},
  {.name = "s3-session-token", .type = T::kString, .section = S::kS3, .default_value = "",
   .value_name = "TOKEN", .help = "session token for temporary credentials (never printed)",
   .secret = true, .aws_env = "AWS_SESSION_TOKEN",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.session_token = v.text; }},
  {.name = "s3-storage-class", .type = T::kString, .section = S::kS3, .default_value = "",
   .value_name = "CLASS",
   .help = "storage class of new objects, such as STANDARD_IA (default: the bucket's)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.storage_class = v.text; }},
  {.name = "s3-sse", .type = T::kString, .section = S::kS3, .default_value = "",
   .value_name = "MODE",
   .help = "server-side encryption of new objects: AES256 or aws:kms (default: none)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.sse = v.text; }},
  {.name = "s3-multipart-threshold", .type = T::kSize, .section = S::kS3,
   .default_value = "64MiB", .value_name = "SIZE",
   .help = "upload bodies larger than this in parts",
   .min_value = 5 * kMiB, .max_value = 5 * kGiB,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.multipart_threshold = v.size; }},
  {.name = "s3-part-size", .type = T::kSize, .section = S::kS3, .default_value = "16MiB",
   .value_name = "SIZE", .help = "size of one part of a multipart upload",
   .min_value = 5 * kMiB, .max_value = 5 * kGiB,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.part_size = v.size; }},
  {.name = "s3-max-attempts", .type = T::kInteger, .section = S::kS3, .default_value = "6",
   .value_name = "N", .help = "attempts per request, the first one included",
   .min_value = 1, .max_value = 100,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.retry.max_attempts = static_cast<int>(v.integer); }},
  {.name = "s3-retry-seconds", .type = T::kSeconds, .section = S::kS3, .default_value = "60",
   .value_name = "SECONDS", .help = "start no new attempt of a request after this long",
   .min_value = 0, .max_value = 86400,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.retry.max_seconds = v.seconds; }},
  {.name = "s3-connect-timeout", .type = T::kSeconds, .section = S::kS3, .default_value = "10",
   .value_name = "SECONDS", .help = "give up connecting to the endpoint after this long",
   .min_value = 0.1, .max_value = 3600,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.connect_timeout_seconds = v.seconds; }},
  {.name = "s3-stall-timeout", .type = T::kSeconds, .section = S::kS3, .default_value = "30",
   .value_name = "SECONDS", .help = "fail a request that moves no byte for this long",
   .min_value = 1, .max_value = 3600,
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.stall_timeout_seconds = v.seconds; }},
  {.name = "s3-sts-endpoint", .type = T::kUrl, .section = S::kS3, .default_value = "",
   .value_name = "URL",
   .help = "STS endpoint for assuming roles, such as a regional or private one (default: "
           "AWS_ENDPOINT_URL_STS, else https://sts.REGION.amazonaws.com)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.storage.s3.sts_endpoint = v.text; }},
  {.name = "encryption-key-file", .type = T::kPath, .section = S::kRepository,
   .default_value = "", .value_name = "PATH",
   .help = "file holding the key-encryption key of an encrypted repository (mode 600; 32 raw "
           "bytes, or hex:... / base64:... text)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.encryption_key_file = v.text; }},
  {.name = "encryption-key-env", .type = T::kString, .section = S::kRepository,
   .default_value = "", .value_name = "NAME",
   .help = "name of the environment variable holding the key-encryption key (hex:... or "
           "base64:...)",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.encryption_key_env = v.text; }},
  {.name = "encryption-key-command", .type = T::kString, .section = S::kRepository,
   .default_value = "", .value_name = "COMMAND",
   .help = "command whose output is the key-encryption key (hex:... or base64:...), run once "
           "per process with a timeout of 10 seconds",
   .bind = [](const OptionValue& v, GlobalConfig& c) { c.encryption_key_command = v.text; }},
};
// clang-format on

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Edit distance, for "did you mean" hints on misspelt keys.
size_t Distance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string Suggest(std::string_view key) {
  const OptionSpec* best = nullptr;
  size_t best_d = 3;  // only close misspellings
  for (const OptionSpec& o : kOptions) {
    size_t d = Distance(key, o.name);
    if (d < best_d) {
      best_d = d;
      best = &o;
    }
  }
  if (best == nullptr) return "see walferry.conf(5) for the keys";
  return std::string("did you mean '") + best->name + "'?";
}

std::string FormatNumber(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string FormatSize(double bytes) {
  static constexpr struct {
    const char* unit;
    double factor;
  } kUnits[] = {{"TiB", 1024 * kGiB}, {"GiB", kGiB}, {"MiB", kMiB}, {"KiB", 1024}};
  for (const auto& u : kUnits) {
    if (bytes >= u.factor && std::fmod(bytes, u.factor) == 0) {
      return FormatNumber(bytes / u.factor) + u.unit;
    }
  }
  return FormatNumber(bytes);
}

}  // namespace

std::string ValueSyntax(const OptionSpec& o) {
  switch (o.type) {
    case T::kString:
    case T::kPath: return "any text";
    case T::kRepo: return "s3://bucket/prefix or file:///absolute/path";
    case T::kUrl: return "a URL http://host[:port] or https://host[:port]";
    case T::kBool: return "true or false";
    case T::kInteger:
      return "a whole number from " + FormatNumber(o.min_value) + " to " +
             FormatNumber(o.max_value);
    case T::kSize:
      return "a size from " + FormatSize(o.min_value) + " to " + FormatSize(o.max_value) +
             " such as " + o.default_value + " (units B, KiB, MiB, GiB, TiB)";
    case T::kSeconds:
      return "seconds from " + FormatNumber(o.min_value) + " to " + FormatNumber(o.max_value) +
             " such as " + o.default_value + " or 500ms, 2min, 1h";
    case T::kEnum: {
      std::string c;
      for (const char* p = o.choices; *p; ++p)
        c += *p == '|' ? std::string(", ") : std::string(1, *p);
      return "one of " + c;
    }
  }
  return "?";
}

namespace {

bool IsHostChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
}

bool ValidUrl(std::string_view v) {
  std::string lower = Lower(v);
  std::string_view rest;
  if (lower.starts_with("https://")) {
    rest = v.substr(8);
  } else if (lower.starts_with("http://")) {
    rest = v.substr(7);
  } else {
    return false;
  }
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  std::string_view host = rest;
  std::string_view port;
  if (rest.starts_with("[")) {  // [IPv6]:port
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close == 1) return false;
    for (char c : rest.substr(1, close - 1)) {
      if (!std::isxdigit(static_cast<unsigned char>(c)) && c != ':' && c != '.') return false;
    }
    std::string_view after = rest.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') return false;
      port = after.substr(1);
      if (port.empty()) return false;
    }
  } else {
    size_t colon = rest.find(':');
    if (colon != std::string_view::npos) {
      host = rest.substr(0, colon);
      port = rest.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty() || !std::all_of(host.begin(), host.end(), IsHostChar)) return false;
  }
  if (!port.empty()) {
    unsigned p = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
    if (ec != std::errc() || end != port.data() + port.size() || p < 1 || p > 65535) {
      return false;
    }
  }
  return true;
}

// Light syntax check; OpenStorage parses bucket and prefix and does the rest.
bool ValidRepo(std::string_view v, std::string* why) {
  if (v.starts_with("file://")) {
    if (!v.substr(7).starts_with("/")) {
      *why = "expected an absolute path after file://, such as file:///var/lib/walferry";
      return false;
    }
    return true;
  }
  if (v.starts_with("s3://")) {
    std::string_view bucket = v.substr(
        5, v.find('/', 5) == std::string_view::npos ? std::string_view::npos : v.find('/', 5) - 5);
    if (bucket.empty()) {
      *why = "expected a bucket after s3://, such as s3://bucket/prefix";
      return false;
    }
    if (bucket.find('@') != std::string_view::npos) {
      *why = "credentials do not belong in the repository URL; use s3-access-key-id";
      return false;
    }
    for (char c : v) {
      if (static_cast<unsigned char>(c) <= 0x20) {
        *why = "expected no space or control character";
        return false;
      }
    }
    return true;
  }
  *why = "expected s3://bucket/prefix or file:///absolute/path";
  return false;
}

// "from --x", "from environment variable X", "from /etc/walferry.conf:3".
std::string FromText(const ResolvedOption& r) {
  switch (r.origin) {
    case Origin::kFlag: return "from " + r.where;
    case Origin::kEnv: return "from environment variable " + r.where;
    case Origin::kFile: return "from " + r.where;
    case Origin::kDefault: return "default";
  }
  return "";
}

// `detail` says what is wrong or what is expected ("expected true or false").
Status BadValue(const ResolvedOption& r, const std::string& detail) {
  // Secrets are never echoed, nor a URL that may carry "user:password@".
  bool hide = r.spec->secret || ((r.spec->type == T::kUrl || r.spec->type == T::kRepo) &&
                                 r.value.find('@') != std::string::npos);
  // A long value is shortened: the message is one line of PostgreSQL's log.
  constexpr size_t kShown = 64;
  std::string value = r.value.size() > kShown ? r.value.substr(0, kShown) + "..." : r.value;
  std::string shown = hide ? "" : " '" + value + "'";
  return Status::InvalidArgument("invalid value" + shown + " for '" + r.spec->name + "' (" +
                                 FromText(r) + "): " + detail)
      .WithHint(r.origin == Origin::kFile
                    ? "fix line " + r.where.substr(r.where.rfind(':') + 1) + " of that file"
                    : "see 'walferry --help' for the option's syntax");
}

// A tab is allowed: libpq conninfo takes it as a separator.
bool HasControl(std::string_view v) {
  return std::any_of(v.begin(), v.end(), [](char c) {
    return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f;
  });
}

// Checks one resolved value against its type; fills the typed value.
Status Check(const ResolvedOption& r, OptionValue* out) {
  const OptionSpec& o = *r.spec;
  const std::string& v = r.value;
  out->text = v;
  switch (o.type) {
    case T::kString:
    case T::kPath:
      // A control character in a value would end up raw in log lines and files.
      if (HasControl(v)) return BadValue(r, "expected a single line without control characters");
      return Status::Ok();
    case T::kRepo: {
      if (v.empty()) return Status::Ok();  // RequireRepo reports it where it matters
      if (HasControl(v)) return BadValue(r, "expected no control character");
      std::string why;
      if (!ValidRepo(v, &why)) return BadValue(r, why);
      return Status::Ok();
    }
    case T::kUrl:
      if (v.empty() || ValidUrl(v)) return Status::Ok();
      return BadValue(r, "expected " + ValueSyntax(o));
    case T::kBool:
      if (ParseBool(v, &out->boolean)) return Status::Ok();
      return BadValue(r, "expected " + ValueSyntax(o));
    case T::kInteger: {
      std::string_view t = Trim(v);
      if (t.empty() && *o.default_value == '\0') {  // optional and not set
        out->integer = -1;
        return Status::Ok();
      }
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), out->integer);
      if (t.empty() || ec != std::errc() || end != t.data() + t.size() ||
          static_cast<double>(out->integer) < o.min_value ||
          static_cast<double>(out->integer) > o.max_value) {
        return BadValue(r, "expected " + ValueSyntax(o));
      }
      return Status::Ok();
    }
    case T::kSize:
      if (!ParseSize(v, &out->size) || static_cast<double>(out->size) < o.min_value ||
          static_cast<double>(out->size) > o.max_value) {
        return BadValue(r, "expected " + ValueSyntax(o));
      }
      return Status::Ok();
    case T::kSeconds:
      if (!ParseSeconds(v, &out->seconds) || out->seconds < o.min_value ||
          out->seconds > o.max_value) {
        return BadValue(r, "expected " + ValueSyntax(o));
      }
      return Status::Ok();
    case T::kEnum: {
      // Spaces around and letter case do not matter ("ZSTD ", "Debug"); the
      // typed value is the choice as the table spells it.
      std::string given = Lower(Trim(v));
      std::string_view choices = o.choices;
      size_t start = 0;
      while (start <= choices.size()) {
        size_t bar = choices.find('|', start);
        if (bar == std::string_view::npos) bar = choices.size();
        std::string_view choice = choices.substr(start, bar - start);
        if (choice == given) {
          out->text = std::string(choice);
          return Status::Ok();
        }
        start = bar + 1;
      }
      return BadValue(r, "expected " + ValueSyntax(o));
    }
  }
  return Status::Internal("option type not handled");
}

const ResolvedOption& Resolved(const GlobalConfig& config, std::string_view name) {
  for (const ResolvedOption& r : config.options) {
    if (r.spec->name == name) return r;
  }
  std::abort();  // every option of the table is resolved
}

// The level must be one the chosen codec takes, so that `check` refuses what
// every archive-push would refuse later.
Status CheckCompressionLevel(const GlobalConfig& config) {
  if (config.compression_level < 0) return Status::Ok();  // not set: the codec's default
  const ResolvedOption& level = Resolved(config, "compression-level");
  const ResolvedOption& codec_option = Resolved(config, "compression");
  std::string codec_text =
      "compression '" + config.compression + "' (" + FromText(codec_option) + ")";
  LevelRange range = LevelsOf(config.codec);
  if (range.min > range.max) {
    return BadValue(level, codec_text + " takes no level; expected compression-level not set");
  }
  if (config.compression_level < range.min || config.compression_level > range.max) {
    return BadValue(level, "expected a level from " + std::to_string(range.min) + " to " +
                               std::to_string(range.max) + " for " + codec_text);
  }
  return Status::Ok();
}

const OptionSpec* FindEnvOption(std::string_view env) {
  for (const OptionSpec& o : kOptions) {
    if (EnvName(o) == env) return &o;
  }
  return nullptr;
}

// The option whose variable `env` most likely misspells, or nullptr when none
// is close (at most one edit per three characters).
const OptionSpec* NearestEnvOption(std::string_view env) {
  const OptionSpec* best = nullptr;
  size_t best_d = SIZE_MAX;
  for (const OptionSpec& o : kOptions) {
    std::string known = EnvName(o);
    size_t d = Distance(env, known);
    if (d < best_d && d * 3 <= std::max(env.size(), known.size()) - 9) {  // 9: "WALFERRY_"
      best_d = d;
      best = &o;
    }
  }
  return best;
}

const char* FileKind(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a regular file";
}

Result<std::string> ReadConfigFile(const std::string& path, const std::string& from,
                                   bool explicit_file) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer
  // forever (archive_command would hang). It is refused below, after fstat.
  auto not_regular = [&](mode_t mode) {
    return Status::InvalidArgument("config file '" + path + "' (" + from + ") is " +
                                   FileKind(mode) + ", not a regular file")
        .WithHint("name a plain text file, or pass --config '' to read no file");
  };
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) {
    int err = errno;
    struct stat st;
    if (err == ENXIO && ::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode)) {
      return not_regular(st.st_mode);  // a socket cannot be opened at all
    }
    if (err == ENOENT && !explicit_file) {
      // The default file vanished after access() saw it: it is optional.
      return Status::NotFound("config file '" + path + "' (" + from + ") vanished");
    }
    if (err == ENOENT && explicit_file) {
      // A missing file named on purpose is a usage error (exit 2), never
      // "not found" (exit 1, which restore_command reads as "no such WAL").
      return Status::InvalidArgument("config file '" + path + "' (" + from + ") does not exist")
          .WithHint("create it, fix the path, or pass --config '' to read no file");
    }
    return Status::FromErrno(err, "open config file '" + path + "' (" + from + ")")
        .WithHint(
            "make it readable by the user running walferry (mode 0600, owned by that "
            "user), or pass --config '' to read no file");
  }
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    int err = errno;
    ::close(fd);
    return Status::FromErrno(err, "stat config file '" + path + "'");
  }
  if (S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3)) {  // /dev/null: an empty file
    ::close(fd);
    return std::string();
  }
  if (!S_ISREG(st.st_mode)) {
    ::close(fd);
    return not_regular(st.st_mode);
  }
  auto too_big = [&] {
    return Status::InvalidArgument("config file '" + path + "' (" + from + ") is larger than 1 MiB")
        .WithHint("is this the right file? a config file is a few dozen lines");
  };
  if (static_cast<uint64_t>(st.st_size) > kMaxConfigFileBytes) {
    ::close(fd);
    return too_big();
  }
  std::string text;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return Status::FromErrno(err, "read config file '" + path + "'");
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > kMaxConfigFileBytes) {  // it grew while we read it
      ::close(fd);
      return too_big();
    }
  }
  ::close(fd);
  return text;
}

// The value of a "key = value" line (`raw`: after '=', trimmed). A '#' at its
// start or after a space or tab starts a comment; a value in double or
// single quotes is taken literally between them ('#' and spaces included),
// and only a comment may follow the closing quote. The text is never echoed.
Result<std::string> ParseFileValue(std::string_view raw, const std::string& key,
                                   const std::string& where) {
  if (!raw.empty() && (raw.front() == '"' || raw.front() == '\'')) {
    const char quote = raw.front();
    size_t close = raw.find(quote, 1);
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("the value of '" + key + "' at " + where +
                                     " opens a quote it does not close")
          .WithHint("end the value with the same quote on the same line");
    }
    std::string_view after = Trim(raw.substr(close + 1));
    if (!after.empty() && after.front() != '#') {
      return Status::InvalidArgument("the value of '" + key + "' at " + where +
                                     " has text after its closing quote")
          .WithHint("only a comment ('# ...') may follow a quoted value");
    }
    return std::string(raw.substr(1, close - 1));
  }
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '#' && (i == 0 || raw[i - 1] == ' ' || raw[i - 1] == '\t')) {
      return std::string(Trim(raw.substr(0, i)));
    }
  }
  return std::string(raw);
}

}  // namespace

std::span<const OptionSpec> Options() { return kOptions; }

const OptionSpec* FindOption(std::string_view name) {
  for (const OptionSpec& o : kOptions) {
    if (name == o.name) return &o;
  }
  return nullptr;
}

std::string FlagName(const OptionSpec& spec) { return std::string("--") + spec.name; }

std::string EnvName(const OptionSpec& spec) {
  std::string env = "WALFERRY_";
  for (const char* p = spec.name; *p; ++p) {
    env += *p == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(*p)));
  }
  return env;
}

bool IsUncheckedEnvName(std::string_view name) {
  for (std::string_view prefix :
       {"WALFERRY_TEST_", "WALFERRY_BENCH_", "WALFERRY_DEMO_", "WALFERRY_E2E_"}) {
    if (name.starts_with(prefix)) return true;
  }
  return false;
}

const char* SectionName(Section section) {
  switch (section) {
    case Section::kGeneral: return "general";
    case Section::kRepository: return "repository";
    case Section::kArchive: return "archive";
    case Section::kSpool: return "spool";
    case Section::kBackup: return "backup";
    case Section::kS3: return "s3";
  }
  return "?";
}

bool ParseBool(std::string_view text, bool* out) {
  std::string t = Lower(Trim(text));
  if (t == "true" || t == "yes" || t == "on" || t == "1") {
    *out = true;
    return true;
  }
  if (t == "false" || t == "no" || t == "off" || t == "0") {
    *out = false;
    return true;
  }
  return false;
}

bool ParseSize(std::string_view text, uint64_t* out) {
  std::string_view t = Trim(text);
  uint64_t n = 0;
  auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), n);
  if (ec != std::errc() || end == t.data()) return false;
  std::string unit = Lower(Trim(t.substr(static_cast<size_t>(end - t.data()))));
  int shift;
  if (unit.empty() || unit == "b") {
    shift = 0;
  } else if (unit == "k" || unit == "kb" || unit == "kib") {
    shift = 10;
  } else if (unit == "m" || unit == "mb" || unit == "mib") {
    shift = 20;
  } else if (unit == "g" || unit == "gb" || unit == "gib") {
    shift = 30;
  } else if (unit == "t" || unit == "tb" || unit == "tib") {
    shift = 40;
  } else {
    return false;
  }
  if (shift > 0 && n > (UINT64_MAX >> shift)) return false;
  *out = n << shift;
  return true;
}

bool ParseSeconds(std::string_view text, double* out) {
  std::string_view t = Trim(text);
  size_t i = 0;
  while (i < t.size() && (std::isdigit(static_cast<unsigned char>(t[i])) || t[i] == '.')) ++i;
  std::string_view number = t.substr(0, i);
  if (number.empty() || number == "." || std::count(number.begin(), number.end(), '.') > 1) {
    return false;
  }
  double v = 0;
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v);
  if (ec != std::errc() || end != number.data() + number.size()) return false;
  std::string unit = Lower(Trim(t.substr(i)));
  if (unit.empty() || unit == "s") {
  } else if (unit == "ms") {
    v /= 1000;
  } else if (unit == "min") {
    v *= 60;
  } else if (unit == "h") {
    v *= 3600;
  } else {
    return false;
  }
  *out = v;
  return true;
}

std::map<std::string, std::string> ReadEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view entry = *e;
    size_t eq = entry.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view name = entry.substr(0, eq);
    if (name.starts_with("WALFERRY_") || name.starts_with("AWS_")) {
      env.emplace(name, entry.substr(eq + 1));
    }
  }
  return env;
}

Result<std::map<std::string, FileValue>> ParseConfigText(std::string_view text,
                                                         const std::string& file) {
  std::map<std::string, FileValue> values;
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    if (nl == std::string_view::npos) nl = text.size();
    std::string_view line = Trim(text.substr(pos, nl - pos));
    pos = nl + 1;
    ++line_no;
    std::string where = file + ":" + std::to_string(line_no);
    if (line.empty() || line.front() == '#') continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) {
      // The line is not echoed: it may be a pasted secret.
      return Status::InvalidArgument("expected 'key = value' at " + where)
          .WithHint("comment lines start with '#'");
    }
    std::string key(Trim(line.substr(0, eq)));
    if (key.empty()) return Status::InvalidArgument("missing key before '=' at " + where);
    const OptionSpec* spec = FindOption(key);
    if (spec == nullptr) {
      return Status::InvalidArgument("unknown key '" + key + "' at " + where)
          .WithHint(Suggest(key));
    }
    if (!spec->in_file) {
      return Status::InvalidArgument("key '" + key + "' at " + where +
                                     " cannot be set in a config file")
          .WithHint("use " + FlagName(*spec) + " or " + EnvName(*spec));
    }
    Result<std::string> value = ParseFileValue(Trim(line.substr(eq + 1)), key, where);
    if (!value.ok()) return value.status();
    auto [it, inserted] = values.emplace(key, FileValue{std::move(value).value(), line_no});
    if (!inserted) {
      return Status::InvalidArgument("key '" + key + "' at " + where + " was already set at " +
                                     file + ":" + std::to_string(it->second.line))
          .WithHint("keep one of the two lines");
    }
  }
  return values;
}

Result<GlobalConfig> ResolveConfig(const ConfigSources& sources) {
  GlobalConfig config;
  auto env_value = [&](const std::string& name) -> const std::string* {
    auto it = sources.env.find(name);
    return it == sources.env.end() || it->second.empty() ? nullptr : &it->second;
  };

  // 1. Which config file: --config, WALFERRY_CONFIG, else the default if present.
  std::string file;
  std::string file_from;
  bool explicit_file = true;
  if (auto it = sources.flags.find("config"); it != sources.flags.end()) {
    file = it->second;  // --config '' means: read no file
    file_from = "from --config";
  } else if (const std::string* e = env_value("WALFERRY_CONFIG")) {
    file = *e;
    file_from = "from WALFERRY_CONFIG";
  } else if (!sources.default_config_file.empty() &&
             ::access(sources.default_config_file.c_str(), F_OK) == 0) {
    file = sources.default_config_file;
    file_from = "the default";
    explicit_file = false;
  }
  std::map<std::string, FileValue> file_values;
  if (!file.empty()) {
    Result<std::string> text = ReadConfigFile(file, file_from, explicit_file);
    if (!text.ok()) {
      if (!explicit_file && text.status().IsNotFound()) {
        // Raced with a removal: the default file is optional.
      } else {
        return text.status();
      }
    } else {
      Result<std::map<std::string, FileValue>> parsed = ParseConfigText(*text, file);
      if (!parsed.ok()) return parsed.status();
      file_values = std::move(parsed).value();
      config.config_file = file;
    }
  }

  // The AWS_* credentials are taken as a set, and only when AWS_ACCESS_KEY_ID
  // is set, so a key from the environment is never paired with a secret or
  // session token from the config file (or the other way round).
  const bool aws_set = env_value("AWS_ACCESS_KEY_ID") != nullptr;

  // 2. Each option from the highest source that sets it.
  for (const OptionSpec& o : kOptions) {
    ResolvedOption r;
    r.spec = &o;
    std::string env = EnvName(o);
    if (auto it = sources.flags.find(o.name); it != sources.flags.end()) {
      r = {&o, it->second, Origin::kFlag, FlagName(o)};
    } else if (const std::string* e = env_value(env)) {
      r = {&o, *e, Origin::kEnv, env};
    } else if (*o.aws_env != '\0' && aws_set) {
      const std::string* a = env_value(o.aws_env);
      r = {&o, a ? *a : std::string(), Origin::kEnv, o.aws_env};
    } else if (auto f = file_values.find(o.name); f != file_values.end()) {
      r = {&o, f->second.value, Origin::kFile, file + ":" + std::to_string(f->second.line)};
    } else {
      r = {&o, o.default_value, Origin::kDefault, "default"};
    }
    config.options.push_back(std::move(r));
  }

  // 3. WALFERRY_* variables that name no option: a WARNING, never a failure.
  // The environment is shared with other programs and inherited by
  // archive_command, so refusing would stop archiving over a stray variable;
  // silence would hide a typo (WALFERRY_S3_ENDPONT) that changes behaviour.
  for (const auto& entry : sources.env) {
    const std::string& name = entry.first;
    if (!name.starts_with("WALFERRY_") || IsUncheckedEnvName(name) || FindEnvOption(name)) {
      continue;
    }
    std::string w = "environment variable " + name + " is not a walferry option; it is ignored";
    if (const OptionSpec* near = NearestEnvOption(name)) {
      w += " (did you mean " + EnvName(*near) + "?)";
    }
    config.warnings.push_back(std::move(w));
  }

  // 4. Check every value and store it in its field (the table's bind).
  config.log_level = log::Level::kInfo;
  for (const ResolvedOption& r : config.options) {
    OptionValue v;
    WF_RETURN_IF_ERROR(Check(r, &v));
    if (r.spec->bind != nullptr) r.spec->bind(v, config);
  }
  WF_RETURN_IF_ERROR(CheckCompressionLevel(config));
  S3Config& s3 = config.storage.s3;
  if (!s3.endpoint.empty() && s3.endpoint.back() == '/') s3.endpoint.pop_back();
  for (const ResolvedOption& r : config.options) {  // for the credential chain
    if (r.spec->name == std::string_view("s3-region")) {
      s3.region_from_option = r.origin != Origin::kDefault;
    }
    if (r.spec->name == std::string_view("s3-access-key-id")) {
      s3.credentials_origin =
          "s3-access-key-id " +
          std::string(r.origin == Origin::kDefault ? "default" : "from " + r.where);
    }
  }
  return config;
}

Status CheckS3KeyPair(const GlobalConfig& config) {
  const S3Config& s3 = config.storage.s3;
  if (!config.storage.repo.starts_with("s3://")) return Status::Ok();
  if (s3.access_key_id.empty() == s3.secret_access_key.empty()) return Status::Ok();
  return Status::InvalidArgument(
             std::string("s3-access-key-id and s3-secret-access-key go together; only ") +
             (s3.access_key_id.empty() ? "the secret access key" : "the access key id") + " is set")
      .WithHint("set both (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)");
}

const ResolvedOption* FindResolved(const GlobalConfig& config, std::string_view name) {
  for (const ResolvedOption& r : config.options) {
    if (r.spec->name == name) return &r;
  }
  return nullptr;
}

Status RequireRepo(const GlobalConfig& config) {
  if (!config.storage.repo.empty()) return Status::Ok();
  return Status::InvalidArgument("no repository configured")
      .WithHint(
          "pass --repo s3://bucket/prefix (or file:///path), set WALFERRY_REPO, or add "
          "'repo = ...' to " +
          (config.config_file.empty() ? std::string("/etc/walferry.conf")
                                      : "'" + config.config_file + "'"));
}

std::vector<std::string> DescribeConfig(const GlobalConfig& config) {
  std::vector<std::string> lines;
  for (const ResolvedOption& r : config.options) {
    std::string value;
    if (r.spec->secret) {
      value = r.value.empty() ? "(not set)" : "<redacted>";
    } else {
      value = r.value.empty() ? "(not set)" : r.value;
    }
    lines.push_back(std::string(r.spec->name) + " = " + value + " (" + FromText(r) + ")");
  }
  return lines;
}

std::string RedactSecrets(const GlobalConfig& config, std::string text) {
  for (const ResolvedOption& r : config.options) {
    // Values this short are not real secrets, and replacing them would
    // mangle ordinary words in the message.
    if (!r.spec->secret || r.value.size() < 6) continue;
    size_t pos = 0;
    while ((pos = text.find(r.value, pos)) != std::string::npos) {
      text.replace(pos, r.value.size(), "<redacted>");
      pos += 10;
    }
  }
  return text;
}

}  // namespace walferry::config
