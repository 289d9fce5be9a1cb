// lsn.h — PostgreSQL's text form of a WAL location (pg_lsn): "X/Y", two hex
// numbers of up to 8 digits, the high and low 32 bits. Depends only on common/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "walferry/status.h"

namespace walferry::pg {

// "0/3000028" -> 0x3000028. kInvalidArgument naming the text otherwise.
Result<uint64_t> ParseLsn(std::string_view text);
// 0x1A000000FF -> "1A/FF" (uppercase, no leading zeros, as PostgreSQL prints it).
std::string FormatLsn(uint64_t lsn);

}  // namespace walferry::pg
