// The curl_* functions walferry calls, with the exact signatures of
// <curl/curl.h>, forwarding to libcurl.so.4 loaded on first use (see
// lazy_lib.h). If libcurl cannot be loaded, each returns libcurl's own failure
// value (CURLE_FAILED_INIT, nullptr, ...) and LibcurlAvailable() says why.

#include <curl/curl.h>

#include <cstdarg>

#include "common/lazy_lib.h"

// clang-format does not settle on one layout for this list: left as written.
// clang-format off
#define WALFERRY_CURL_FUNCTIONS(X)                                                        \
  X(curl_version)                                                                         \
  X(curl_global_init) X(curl_easy_init) X(curl_easy_cleanup) X(curl_easy_reset)           \
      X(curl_easy_perform) X(curl_easy_setopt) X(curl_easy_getinfo) X(curl_easy_strerror) \
          X(curl_slist_append) X(curl_slist_free_all)
// clang-format on

namespace walferry {
namespace {

#define WALFERRY_NAME(f) #f,
constexpr const char* kNames[] = {WALFERRY_CURL_FUNCTIONS(WALFERRY_NAME)};
#undef WALFERRY_NAME
#define WALFERRY_INDEX(f) k_##f,
enum : size_t { WALFERRY_CURL_FUNCTIONS(WALFERRY_INDEX) kCount };
#undef WALFERRY_INDEX
static_assert(sizeof(kNames) / sizeof(kNames[0]) == kCount);

LazyLibrary& Libcurl() {
  static LazyLibrary lib("libcurl.so.4", "libcurl4", kNames, kCount);
  return lib;
}

}  // namespace

Status LibcurlAvailable() { return Libcurl().Available(); }

}  // namespace walferry

// The real function `f` (typed exactly as the header declares it), or nullptr.
#define WALFERRY_REAL(f) \
  reinterpret_cast<decltype(&::f)>(walferry::Libcurl().Symbol(walferry::k_##f))

extern "C" {

char* curl_version(void) {
  static char unavailable[] = "libcurl not loaded";
  auto real = WALFERRY_REAL(curl_version);
  return real ? real() : unavailable;
}

CURLcode curl_global_init(long flags) {
  auto real = WALFERRY_REAL(curl_global_init);
  return real ? real(flags) : CURLE_FAILED_INIT;
}

CURL* curl_easy_init(void) {
  auto real = WALFERRY_REAL(curl_easy_init);
  return real ? real() : nullptr;
}

void curl_easy_cleanup(CURL* curl) {
  // A handle exists only if libcurl was loaded.
  if (curl != nullptr) WALFERRY_REAL(curl_easy_cleanup)(curl);
}

void curl_easy_reset(CURL* curl) {
  if (curl != nullptr) WALFERRY_REAL(curl_easy_reset)(curl);
}

CURLcode curl_easy_perform(CURL* curl) {
  auto real = WALFERRY_REAL(curl_easy_perform);
  return real ? real(curl) : CURLE_FAILED_INIT;
}

// The variadic argument's type follows from the option's range, as curl.h
// defines them (CURLOPTTYPE_*): long, object pointer (also string, slist and
// callback data), function pointer, curl_off_t, or struct curl_blob*.
// curl.h fixes these prototypes, with an enum before the "...": clang warns that
// va_start on a promoted parameter is undefined, but CURLoption and CURLINFO are
// int-sized and passed unpromoted on every ABI libcurl supports.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wvarargs"
#endif
CURLcode curl_easy_setopt(CURL* curl, CURLoption option, ...) {
  auto real = WALFERRY_REAL(curl_easy_setopt);
  if (real == nullptr) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, option);
  CURLcode rc;
  if (option < CURLOPTTYPE_OBJECTPOINT) {
    rc = real(curl, option, va_arg(ap, long));
  } else if (option < CURLOPTTYPE_FUNCTIONPOINT) {
    rc = real(curl, option, va_arg(ap, void*));
  } else if (option < CURLOPTTYPE_OFF_T) {
    using AnyFunction = void (*)(void);
    rc = real(curl, option, va_arg(ap, AnyFunction));
  } else if (option < CURLOPTTYPE_BLOB) {
    rc = real(curl, option, va_arg(ap, curl_off_t));
  } else {
    rc = real(curl, option, va_arg(ap, struct curl_blob*));
  }
  va_end(ap);
  return rc;
}

// Every CURLINFO_* takes one pointer (to long, char*, double, curl_off_t,
// curl_slist*, ... depending on the info).
CURLcode curl_easy_getinfo(CURL* curl, CURLINFO info, ...) {
  auto real = WALFERRY_REAL(curl_easy_getinfo);
  if (real == nullptr) return CURLE_FAILED_INIT;
  va_list ap;
  va_start(ap, info);
  void* out = va_arg(ap, void*);
  va_end(ap);
  return real(curl, info, out);
}

#if defined(__clang__)
#pragma clang diagnostic pop
#endif

const char* curl_easy_strerror(CURLcode code) {
  auto real = WALFERRY_REAL(curl_easy_strerror);
  return real ? real(code) : "libcurl.so.4 could not be loaded";
}

struct curl_slist* curl_slist_append(struct curl_slist* list, const char* data) {
  auto real = WALFERRY_REAL(curl_slist_append);
  return real ? real(list, data) : nullptr;
}

void curl_slist_free_all(struct curl_slist* list) {
  if (list != nullptr) WALFERRY_REAL(curl_slist_free_all)(list);
}

}  // extern "C"
