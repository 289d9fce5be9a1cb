// tablespace.h — where PostgreSQL keeps tablespaces in a data directory:
// pg_tblspc/<oid> is a symbolic link to the tablespace's location, and the
// tablespace's files are listed under pg_tblspc/<oid>/... Pure functions of a
// path relative to the data directory. Depends only on common/.
#pragma once

#include <algorithm>
#include <optional>
#include <string_view>

namespace walferry::pg {

constexpr std::string_view kTablespaceDir = "pg_tblspc";
constexpr std::string_view kTablespacePrefix = "pg_tblspc/";

// True for any path below pg_tblspc/ (the links and what is inside them).
constexpr bool InTablespaceDir(std::string_view path) {
  return path.starts_with(kTablespacePrefix);
}
// "pg_tblspc/<name>" with no further '/': where a tablespace link lives.
constexpr bool IsTablespaceLinkPath(std::string_view path) {
  return InTablespaceDir(path) &&
         path.find('/', kTablespacePrefix.size()) == std::string_view::npos;
}
// The part after "pg_tblspc/" of a path below it (the link's name: the OID).
constexpr std::string_view TablespaceLinkName(std::string_view path) {
  return path.substr(kTablespacePrefix.size());
}
// An OID as PostgreSQL names the links: decimal digits only.
constexpr bool IsOidName(std::string_view name) {
  return !name.empty() &&
         std::all_of(name.begin(), name.end(), [](char c) { return c >= '0' && c <= '9'; });
}
// "pg_tblspc/<digits>": a link PostgreSQL made for a tablespace.
constexpr bool IsTablespaceLink(std::string_view path) {
  return IsTablespaceLinkPath(path) && IsOidName(TablespaceLinkName(path));
}

// "pg_tblspc/<name>/<rest>": the tablespace's name and the path inside it;
// nullopt for every other path (the link itself included).
struct TablespacePath {
  std::string_view name;
  std::string_view rest;
};
constexpr std::optional<TablespacePath> InTablespace(std::string_view path) {
  if (!InTablespaceDir(path)) return std::nullopt;
  size_t slash = path.find('/', kTablespacePrefix.size());
  if (slash == std::string_view::npos) return std::nullopt;
  return TablespacePath{path.substr(kTablespacePrefix.size(), slash - kTablespacePrefix.size()),
                        path.substr(slash + 1)};
}

}  // namespace walferry::pg
