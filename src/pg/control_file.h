// control_file.h — what a PostgreSQL data directory says about its cluster:
// global/pg_control and PG_VERSION. Depends only on common/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace walferry::pg {

struct DataDirFacts {
  uint64_t system_identifier = 0;  // ControlFileData starts with it
  std::string pg_version;          // PG_VERSION's first line; "" when unreadable
};
// nullopt when `data_dir` has no readable global/pg_control.
std::optional<DataDirFacts> ReadDataDirFacts(const std::string& data_dir);

}  // namespace walferry::pg
