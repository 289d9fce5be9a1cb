// record_fields.h — reading the fields of the spool's JSON records safely (inside
// spool/ only: records.cc and staged.cc).
//
// Numbers are read by exact type. nlohmann's value() and get<>() turn a float into an
// integer by a cast that is undefined beyond the integer's range (found by tests/fuzz:
// fuzz_spool), so a record damaged on disk must never reach them: another type, or out
// of range, reads as 0.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>

#include "archive/archive.h"

namespace walferry::spool::record {

inline uint64_t U64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

inline int64_t I64(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number_integer()) return 0;
  if (it->is_number_unsigned()) {
    uint64_t u = it->get<uint64_t>();
    return u > static_cast<uint64_t>(INT64_MAX) ? 0 : static_cast<int64_t>(u);
  }
  return it->get<int64_t>();
}

inline nlohmann::json SourceJson(const archive::SourceStat& s) {
  return {{"dev", s.dev}, {"ino", s.ino}, {"size", s.size}, {"mtime_ns", s.mtime_ns}};
}

inline archive::SourceStat SourceFrom(const nlohmann::json& j) {
  archive::SourceStat s;
  if (!j.is_object()) return s;
  s.dev = U64(j, "dev");
  s.ino = U64(j, "ino");
  s.size = U64(j, "size");
  s.mtime_ns = I64(j, "mtime_ns");
  return s;
}

}  // namespace walferry::spool::record
