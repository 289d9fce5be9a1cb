// Every option of the table stores its value in a field of the config, typed: a row without
// its bind (or bound to the wrong field) fails here, a misspelt field does not compile.
#include <gtest/gtest.h>

#include <string>

#include "walferry/options.h"

namespace walferry::config {
namespace {

TEST(OptionsBind, EveryOptionButConfigHasItsField) {
  for (const OptionSpec& o : Options()) {
    if (std::string(o.name) == "config") {
      EXPECT_EQ(o.bind, nullptr);
    } else {
      EXPECT_NE(o.bind, nullptr) << o.name;
    }
  }
}

Result<GlobalConfig> Resolve(std::map<std::string, std::string> flags) {
  ConfigSources sources;
  sources.flags = std::move(flags);
  sources.default_config_file = "";
  return ResolveConfig(sources);
}

TEST(OptionsBind, EnumsAreParsedOnce) {
  auto c = Resolve({{"compression", "LZ4"}, {"archive-durability", "spool"}});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->codec, Codec::kLz4);
  EXPECT_EQ(c->compression, "lz4");
  EXPECT_EQ(c->Level(), DefaultLevel(Codec::kLz4));
  EXPECT_EQ(c->durability, Durability::kSpool);
  auto d = Resolve({{"compression-level", "7"}});
  ASSERT_TRUE(d.ok()) << d.status().ToString();
  EXPECT_EQ(d->codec, Codec::kZstd);
  EXPECT_EQ(d->Level(), 7);
  EXPECT_EQ(d->durability, Durability::kRemote);
}

// Each option given a value other than its default changes what the config holds.
TEST(OptionsBind, EachOptionReachesTheConfig) {
  const std::map<std::string, std::string> values = {
      {"log-level", "debug"},
      {"parallel", "9"},
      {"repo", "file:///x"},
      {"compression", "none"},
      {"compression-level", ""},
      {"spool-path", "/spool"},
      {"archive-durability", "spool"},
      {"archive-timeout", "7"},
      {"archive-get-prefetch", "3"},
      {"spool-backlog-warn", "5"},
      {"spool-prometheus-file", "/p"},
      {"pg-conninfo", "host=x"},
      {"s3-endpoint", "http://127.0.0.1:1"},
      {"s3-region", "eu-west-1"},
      {"s3-uri-style", "path"},
      {"s3-ca-file", "/ca"},
      {"s3-verify-tls", "false"},
      {"s3-access-key-id", "id"},
      {"s3-secret-access-key", "secret"},
      {"s3-session-token", "token"},
      {"s3-storage-class", "STANDARD_IA"},
      {"s3-sse", "AES256"},
      {"s3-multipart-threshold", "6MiB"},
      {"s3-part-size", "7MiB"},
      {"s3-max-attempts", "3"},
      {"s3-retry-seconds", "5"},
      {"s3-connect-timeout", "2"},
      {"s3-stall-timeout", "4"},
      {"s3-sts-endpoint", "http://127.0.0.1:2"},
      {"encryption-key-file", "/etc/walferry/kek"},
      {"encryption-key-env", "WF_KEK"},
      {"encryption-key-command", "vault read -field=kek secret/walferry"},
  };
  auto base = Resolve({});
  ASSERT_TRUE(base.ok()) << base.status().ToString();
  for (const OptionSpec& o : Options()) {
    if (o.bind == nullptr) continue;
    auto it = values.find(o.name);
    ASSERT_NE(it, values.end()) << "add a value for " << o.name << " to this test";
    if (it->second.empty()) continue;  // compression-level: covered by EnumsAreParsedOnce
    GlobalConfig before = *base;
    // Through the resolver, so the value is checked and bound as in a real run.
    auto c = Resolve({{o.name, it->second}});
    ASSERT_TRUE(c.ok()) << o.name << ": " << c.status().ToString();
    const StorageConfig& a = before.storage;
    const StorageConfig& b = c->storage;
    const bool changed =
        before.log_level != c->log_level || before.parallel != c->parallel || a.repo != b.repo ||
        before.codec != c->codec || before.spool_path != c->spool_path ||
        before.durability != c->durability ||
        before.archive_timeout_seconds != c->archive_timeout_seconds ||
        before.archive_get_prefetch != c->archive_get_prefetch ||
        before.spool_backlog_warn != c->spool_backlog_warn ||
        before.spool_prometheus_file != c->spool_prometheus_file ||
        before.pg_conninfo != c->pg_conninfo ||
        before.encryption_key_file != c->encryption_key_file ||
        before.encryption_key_env != c->encryption_key_env ||
        before.encryption_key_command != c->encryption_key_command ||
        a.s3.endpoint != b.s3.endpoint || a.s3.region != b.s3.region ||
        a.s3.uri_style != b.s3.uri_style || a.s3.ca_file != b.s3.ca_file ||
        a.s3.verify_tls != b.s3.verify_tls || a.s3.access_key_id != b.s3.access_key_id ||
        a.s3.secret_access_key != b.s3.secret_access_key ||
        a.s3.session_token != b.s3.session_token || a.s3.storage_class != b.s3.storage_class ||
        a.s3.sse != b.s3.sse || a.s3.multipart_threshold != b.s3.multipart_threshold ||
        a.s3.part_size != b.s3.part_size || a.s3.retry.max_attempts != b.s3.retry.max_attempts ||
        a.s3.retry.max_seconds != b.s3.retry.max_seconds ||
        a.s3.connect_timeout_seconds != b.s3.connect_timeout_seconds ||
        a.s3.stall_timeout_seconds != b.s3.stall_timeout_seconds ||
        a.s3.sts_endpoint != b.s3.sts_endpoint;
    EXPECT_TRUE(changed) << o.name << " = " << it->second << " left the config as it was";
  }
}

}  // namespace
}  // namespace walferry::config
