// man.h — the parts of man/walferry.1, man/walferry.conf.5 and README.md made
// from the option, command and exit-code tables.
//
// A committed page holds each part between two troff comment lines:
//   .\" BEGIN GENERATED <NAME>
//   .\" END GENERATED <NAME>
// UpdateManPage rewrites those parts; a unit test fails when the committed
// pages differ from what it produces, so the pages cannot drift from the tables.
#pragma once

#include <string>
#include <string_view>

#include "walferry/status.h"

namespace walferry::cli {

// Part names: COMMANDS, OPTIONS, ENVIRONMENT, EXIT-STATUS (walferry.1), KEYS (walferry.conf.5).
// kInvalidArgument for an unknown name.
Result<std::string> GeneratedManPart(std::string_view name);

// `page` with every generated part replaced by the current text. An unknown
// part name or a BEGIN without its END is kInvalidArgument.
Result<std::string> UpdateManPage(std::string_view page);

// The README's exit-code table (markdown), from the exit-code table.
std::string ReadmeExitCodes();

// `readme` with the part between "<!-- BEGIN GENERATED EXIT-CODES -->" and
// "<!-- END GENERATED EXIT-CODES -->" replaced by ReadmeExitCodes();
// kInvalidArgument when the markers are missing or out of order.
Result<std::string> UpdateReadme(std::string_view readme);

// Escapes text for troff: '\' and '-' (so flags copy-paste as ASCII), and a
// leading '.' or '\''.
std::string TroffEscape(std::string_view text);

}  // namespace walferry::cli
