#include "check/probe.h"

#include <unistd.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>

#include "common/crypto.h"

namespace walferry::check {
namespace {

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
      .count();
}

}  // namespace

std::string ProbeKey() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') {
    std::snprintf(host, sizeof host, "unknown");
  }
  std::string h;
  for (const char* p = host; *p; ++p) {
    char c = *p;
    bool plain = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_';
    h += plain ? c : '_';
  }
  return std::string(kProbePrefix) + "probe-" + h + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(static_cast<long long>(std::time(nullptr)));
}

std::string ProbeBody(const std::string& key, size_t size) {
  std::string body = "walferry check probe object '" + key + "'; safe to delete\n";
  // Bytes that are not all alike, so a store that mangles content is caught.
  std::string block = crypto::Sha256(key);
  while (body.size() < size) {
    body += block;
    block = crypto::Sha256(block);
  }
  body.resize(size);
  return body;
}

Status ProbeRepository(Storage& storage, const std::string& key, std::string_view body,
                       const std::function<void(const StepResult&)>& report) {
  const std::string want_sha = crypto::Sha256Hex(body);
  Status first_failure;
  // Runs one step; returns false when it failed (and records the failure).
  auto step = [&](const std::string& name, const std::function<Status(std::string*)>& fn) {
    StepResult r;
    r.name = name;
    auto start = std::chrono::steady_clock::now();
    r.status = fn(&r.detail);
    r.millis = MillisSince(start);
    report(r);
    if (!r.status.ok() && first_failure.ok()) first_failure = r.status.Annotate(name);
    return r.status.ok();
  };

  auto write = [&](std::string*) -> Status {
    PutOptions options;
    options.size = body.size();
    options.sha256_hex = want_sha;
    Result<PutResult> put = PutString(storage, key, body, options);
    if (!put.ok()) return put.status();
    if (!put->sha256_hex.empty() && put->sha256_hex != want_sha) {
      return Status::Corruption("put '" + key + "' stored sha256 " + put->sha256_hex + ", sent " +
                                want_sha);
    }
    return Status::Ok();
  };
  std::string got;
  auto read = [&](std::string*) -> Status {
    Result<std::string> r = GetString(storage, key);
    if (!r.ok()) return r.status();
    got = std::move(r).value();
    return Status::Ok();
  };
  auto verify = [&](std::string* detail) -> Status {
    std::string got_sha = crypto::Sha256Hex(got);
    if (got.size() != body.size() || got_sha != want_sha) {
      return Status::Corruption("probe '" + key + "' read back as " + std::to_string(got.size()) +
                                " bytes with sha256 " + got_sha + ", wrote " +
                                std::to_string(body.size()) + " bytes with sha256 " + want_sha);
    }
    *detail = "sha256 " + want_sha.substr(0, 12) + "...";
    return Status::Ok();
  };
  auto list = [&](std::string* detail) -> Status {
    bool seen = false;
    Status s = storage.List(kProbePrefix, [&](const ObjectInfo& info) {
      if (info.key == key) seen = true;
      return Status::Ok();
    });
    // Listing may lag a write on some stores; that is not a failure of the
    // repository, so it is reported but not fatal.
    if (s.ok() && !seen) *detail = "probe not listed yet";
    return s;
  };

  if (!step("write probe", write)) return first_failure;  // nothing to read or clean up
  if (step("read probe", read) && step("verify probe", verify)) step("list probe", list);
  // The probe is deleted even when a later step failed.
  step("delete probe", [&](std::string*) { return storage.Remove(key); });
  return first_failure;
}

}  // namespace walferry::check
