#include "pg/control_file.h"

#include <cstring>
#include <fstream>

namespace walferry::pg {

std::optional<DataDirFacts> ReadDataDirFacts(const std::string& data_dir) {
  std::ifstream control(data_dir + "/global/pg_control", std::ios::binary);
  char buf[8];
  if (!control.read(buf, sizeof buf)) return std::nullopt;
  DataDirFacts facts;
  std::memcpy(&facts.system_identifier, buf, sizeof facts.system_identifier);
  std::ifstream version(data_dir + "/PG_VERSION");
  std::getline(version, facts.pg_version);
  return facts;
}

}  // namespace walferry::pg
