// probe.h — the repository probe behind `walferry check`: write, read back,
// verify, list and delete one small object, timing each step.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "repo/keys.h"
#include "walferry/status.h"
#include "walferry/storage.h"

namespace walferry::check {

// Where probe objects live; nothing else in a repository uses this prefix.
using repo::kProbePrefix;  // "walferry-check/" (repo/keys.h)

struct StepResult {
  std::string name;  // "write probe", "read probe", ...
  Status status;
  double millis = 0;   // wall time of the step
  std::string detail;  // extra words for the report line; may be empty
};

// "walferry-check/probe-<host>-<pid>-<unix seconds>": unique per run, so two
// checks against one repository never touch each other's object.
std::string ProbeKey();

// A body of `size` bytes that names `key`, so a stray probe explains itself.
std::string ProbeBody(const std::string& key, size_t size = 4096);

// Runs the steps in order, calling `report` after each. Stops at the first
// failure, but deletes the probe whenever the write succeeded. A write that
// failed is not followed by a delete: against an unreachable server that
// would only double the wait, and a stray probe is a few KiB under its own
// prefix.
// Returns the first failure (annotated with the step), or ok.
Status ProbeRepository(Storage& storage, const std::string& key, std::string_view body,
                       const std::function<void(const StepResult&)>& report);

}  // namespace walferry::check
