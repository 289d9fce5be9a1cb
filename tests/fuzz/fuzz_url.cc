// fuzz_url — the repository URL and the S3 endpoint, as an operator or a
// config file gives them: the first line of the input is --repo, the second
// --s3-endpoint. They go through config::ResolveConfig (the syntax check) and,
// when accepted, OpenStorage (which parses bucket, prefix and host but does
// no I/O: file:// only remembers its root, s3:// sends nothing until used).
// Invariants: nothing crashes; a storage that opens describes itself as the
// scheme it was given; an s3:// bucket holds only [a-z0-9._-] and a prefix
// is a valid object key.
#include "fuzz_util.h"
#include "walferry/options.h"
#include "walferry/storage.h"

using namespace walferry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = fuzz::AsText(data, size);
  size_t nl = input.find('\n');
  std::string repo(input.substr(0, nl));
  std::string endpoint(nl == std::string_view::npos ? "" : input.substr(nl + 1));
  if (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();

  config::ConfigSources sources;
  sources.default_config_file = "";
  sources.flags = {{"config", ""},
                   {"repo", repo},
                   {"s3-access-key-id", "AKIAFUZZ"},
                   {"s3-secret-access-key", "fuzz-secret"}};
  if (!endpoint.empty()) sources.flags["s3-endpoint"] = endpoint;
  auto cfg = config::ResolveConfig(sources);

  // OpenStorage is also reached with whatever a caller builds: try the raw
  // strings too, not only what the syntax check let through.
  StorageConfig raw;
  raw.repo = repo;
  raw.s3.endpoint = endpoint;
  raw.s3.access_key_id = "AKIAFUZZ";
  raw.s3.secret_access_key = "fuzz-secret";
  std::vector<StorageConfig> tries = {raw};
  if (cfg.ok()) tries.push_back(cfg->storage);
  for (const StorageConfig& sc : tries) {
    auto st = OpenStorage(sc);
    if (!st.ok()) {
      FUZZ_CHECK(st.status().code() == Status::Code::kInvalidArgument ||
                     st.status().code() == Status::Code::kAuth,
                 "%s", st.status().ToString().c_str());
      continue;
    }
    const std::string d = (*st)->Describe();
    if (sc.repo.rfind("s3://", 0) == 0) {
      FUZZ_CHECK(d.rfind("s3://", 0) == 0, "s3 repository described as '%s'", d.c_str());
      std::string rest = d.substr(5);
      std::string bucket = rest.substr(0, rest.find('/'));
      FUZZ_CHECK(!bucket.empty(), "empty bucket");
      for (char c : bucket) {
        FUZZ_CHECK(
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '-' || c == '_',
            "bucket '%s'", bucket.c_str());
      }
      if (rest.find('/') != std::string::npos) {
        FUZZ_CHECK(ValidateKey(rest.substr(rest.find('/') + 1)).ok(), "prefix of '%s'", d.c_str());
      }
    } else {
      FUZZ_CHECK(sc.repo.rfind("file:///", 0) == 0, "'%s' opened as '%s'", sc.repo.c_str(),
                 d.c_str());
    }
  }
  return 0;
}
