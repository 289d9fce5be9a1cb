#include "repo/keys.h"

#include <cstdio>

namespace walferry::repo {

std::string WalObjectKey(const WalFileName& wal) {
  if (wal.kind == WalFileKind::kHistory) return kHistoryPrefix + wal.name;
  return kWalPrefix + wal.name.substr(0, 16) + "/" + wal.name;
}

std::string BackupPrefix(const std::string& name) {
  return std::string(kBackupPrefix) + name + "/";
}
std::string ManifestKey(const std::string& name) { return BackupPrefix(name) + kManifestName; }
std::string StartedKey(const std::string& name) { return BackupPrefix(name) + kStartedName; }
std::string DeletingKey(const std::string& name) { return BackupPrefix(name) + kDeletingName; }
std::string DataPrefix(const std::string& name) { return BackupPrefix(name) + "data/"; }
std::string DataObjectKey(const std::string& name, uint32_t n) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%06u", n);
  return DataPrefix(name) + buf;
}

std::optional<std::string> BackupNameOf(std::string_view key) {
  const std::string_view prefix = kBackupPrefix;
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = key.substr(prefix.size());
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return std::string(rest.substr(0, slash));
}

}  // namespace walferry::repo
