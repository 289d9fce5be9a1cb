#pragma once
// libcurl and libpq are loaded on first use (dlopen), not at process start:
// mapping them and their ~30 dependencies (gnutls, krb5, ldap, ssh2, ...)
// costs more than the whole archive-push fast path, which needs neither.
// lazy_curl.cc and lazy_pq.cc define the curl_* / PQ* functions walferry
// calls; each forwards to the real one, resolved once by a LazyLibrary.

#include <cstddef>
#include <mutex>
#include <string>

#include "walferry/status.h"

namespace walferry {

class LazyLibrary {
 public:
  // `soname` e.g. "libcurl.so.4"; `package` the Debian package that ships it;
  // `names` the `count` symbols to resolve (all or nothing).
  LazyLibrary(const char* soname, const char* package, const char* const* names, size_t count);
  LazyLibrary(const LazyLibrary&) = delete;
  LazyLibrary& operator=(const LazyLibrary&) = delete;

  // Loads the library and resolves every symbol, once (thread-safe). Returns
  // false if the library or any symbol is missing.
  bool Load();
  // Symbol `i` (index into `names`), or nullptr if Load() failed.
  void* Symbol(size_t i);
  // Ok, or NotSupported naming the library, the reason and the package.
  Status Available();

 private:
  const char* soname_;
  const char* package_;
  const char* const* names_;
  size_t count_;
  std::once_flag once_;
  void** symbols_ = nullptr;  // count_ entries, set once
  std::string error_;
};

// Ok once libcurl.so.4 is loaded; otherwise a NotSupported status that names
// the library and the Debian package (libcurl4). Loads it on the first call.
Status LibcurlAvailable();
// The same for libpq.so.5 (Debian package libpq5).
Status LibpqAvailable();

}  // namespace walferry
