// libcurl and libpq are loaded on first use (src/common/lazy_lib.h): the
// wrappers resolve to the real libraries, the variadic ones forward every
// argument type, a missing library is a clear error, and the walferry binary
// neither needs nor exports them.

#include "common/lazy_lib.h"

#include <curl/curl.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "support/run_walferry.h"
#include "support/temp_dir.h"

namespace walferry {
namespace {

TEST(LazyLib, CurlWrappersReachTheRealLibrary) {
  ASSERT_TRUE(LibcurlAvailable().ok()) << LibcurlAvailable().ToString();
  // The real curl_version, looked up directly in the (now loaded) library.
  void* handle = dlopen("libcurl.so.4", RTLD_NOW | RTLD_NOLOAD);
  ASSERT_NE(handle, nullptr) << "libcurl.so.4 not loaded by the wrappers";
  auto real = reinterpret_cast<char* (*)()>(dlsym(handle, "curl_version"));
  ASSERT_NE(real, nullptr);
  EXPECT_STREQ(curl_version(), real());
  EXPECT_EQ(std::string(curl_version()).rfind("libcurl/", 0), 0u) << curl_version();
  dlclose(handle);
}

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

// One transfer of a file:// URL exercises every argument type of
// curl_easy_setopt (long, string, object pointer, function pointer,
// curl_off_t) and of curl_easy_getinfo (long*, curl_off_t*, char**).
TEST(LazyLib, VariadicCurlFunctionsForwardEveryArgumentType) {
  ASSERT_EQ(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
  walferry::testing::TempDir dir;
  const std::string path = dir.path() + "/body";
  std::ofstream(path) << "0123456789";
  const std::string url = "file://" + path;
  CURL* h = curl_easy_init();
  ASSERT_NE(h, nullptr);
  std::string body;
  EXPECT_EQ(curl_easy_setopt(h, CURLOPT_URL, url.c_str()), CURLE_OK);                  // string
  EXPECT_EQ(curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L), CURLE_OK);                      // long
  EXPECT_EQ(curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, Collect), CURLE_OK);            // function
  EXPECT_EQ(curl_easy_setopt(h, CURLOPT_WRITEDATA, &body), CURLE_OK);                  // object
  EXPECT_EQ(curl_easy_setopt(h, CURLOPT_RESUME_FROM_LARGE, curl_off_t{4}), CURLE_OK);  // off_t
  ASSERT_EQ(curl_easy_perform(h), CURLE_OK);
  EXPECT_EQ(body, "456789");
  curl_off_t size = -1;
  EXPECT_EQ(curl_easy_getinfo(h, CURLINFO_SIZE_DOWNLOAD_T, &size), CURLE_OK);
  EXPECT_EQ(size, 6);
  char* effective = nullptr;
  EXPECT_EQ(curl_easy_getinfo(h, CURLINFO_EFFECTIVE_URL, &effective), CURLE_OK);
  ASSERT_NE(effective, nullptr);
  EXPECT_EQ(std::string(effective), url);
  // A long option out of range is refused by libcurl, not misread.
  EXPECT_EQ(curl_easy_setopt(h, CURLOPT_TIMEOUT, -1L), CURLE_BAD_FUNCTION_ARGUMENT);
  curl_slist* list = curl_slist_append(nullptr, "X-A: b");
  ASSERT_NE(list, nullptr);
  EXPECT_EQ(curl_easy_setopt(h, CURLOPT_HTTPHEADER, list), CURLE_OK);  // slist
  curl_easy_reset(h);
  curl_slist_free_all(list);
  curl_easy_cleanup(h);
  EXPECT_STREQ(curl_easy_strerror(CURLE_COULDNT_CONNECT), "Couldn't connect to server");
}

TEST(LazyLib, PqWrappersReachTheRealLibrary) {
  ASSERT_TRUE(LibpqAvailable().ok()) << LibpqAvailable().ToString();
  EXPECT_GE(PQlibVersion(), 150000);
  char* err = nullptr;
  PQconninfoOption* opts = PQconninfoParse("host=/nonexistent port=1", &err);
  ASSERT_NE(opts, nullptr);
  PQconninfoFree(opts);
  EXPECT_EQ(PQconninfoParse("host", &err), nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_NE(std::string(err).find("host"), std::string::npos) << err;
  PQfreemem(err);
}

TEST(LazyLib, AMissingLibraryNamesItAndItsPackage) {
  const char* names[] = {"curl_version"};
  LazyLibrary missing("libwalferry-missing.so.9", "libwalferry-missing9", names, 1);
  EXPECT_FALSE(missing.Load());
  EXPECT_EQ(missing.Symbol(0), nullptr);
  Status s = missing.Available();
  EXPECT_EQ(s.code(), Status::Code::kNotSupported);
  const std::string text = s.ToString();
  EXPECT_NE(text.find("cannot load libwalferry-missing.so.9 (Debian package libwalferry-missing9)"),
            std::string::npos)
      << text;
  EXPECT_NE(s.hint().find("apt-get install libwalferry-missing9"), std::string::npos) << s.hint();
  // Stable: the second call says the same.
  EXPECT_EQ(missing.Available().ToString(), text);

  const char* absent[] = {"curl_version", "walferry_no_such_symbol"};
  LazyLibrary incomplete("libcurl.so.4", "libcurl4", absent, 2);
  EXPECT_NE(incomplete.Available().ToString().find("no symbol walferry_no_such_symbol"),
            std::string::npos)
      << incomplete.Available().ToString();
}

// A libcurl that cannot be loaded (here: an empty file found first through
// LD_LIBRARY_PATH) is exit 9 naming the library and the package, before any
// connection is tried: never a crash, never a success.
TEST(LazyLib, TheBinaryWithoutLibcurlFailsClearly) {
  walferry::testing::TempDir libs;
  std::ofstream(libs.path() + "/libcurl.so.4").flush();
  auto r = walferry::testing::RunWalferry(
      {"backup-list", "--repo", "s3://walferry-test/x", "--s3-endpoint", "http://127.0.0.1:9",
       "--s3-uri-style", "path", "--s3-access-key-id", "a", "--s3-secret-access-key", "b"},
      {{"PATH", "/usr/bin:/bin"}, {"LD_LIBRARY_PATH", libs.path()}});
  EXPECT_EQ(r.exit_code, 9) << r.err;
  EXPECT_NE(r.err.find("cannot load libcurl.so.4 (Debian package libcurl4)"), std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("install the Debian package libcurl4"), std::string::npos) << r.err;
}

std::string Command(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (p == nullptr) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int rc = pclose(p);
  if (rc != 0) out += "\n(exit status " + std::to_string(rc) + ")";
  return out;
}

// Process start must not map libcurl, libpq and their dependencies, and the
// binary must not export the wrappers (libcurl's internal calls would bind to them).
TEST(LazyLib, TheBinaryNeitherNeedsNorExportsCurlOrLibpq) {
  const std::string needed = Command("readelf -d '" WALFERRY_BINARY "' 2>&1");
  ASSERT_NE(needed.find("(NEEDED)"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("libcurl"), std::string::npos) << needed;
  EXPECT_EQ(needed.find("libpq"), std::string::npos) << needed;
  const std::string exported = Command("nm -D --defined-only '" WALFERRY_BINARY "' 2>&1");
  EXPECT_EQ(exported.find("(exit status"), std::string::npos) << exported;
  EXPECT_EQ(exported.find(" curl_"), std::string::npos) << exported;
  EXPECT_EQ(exported.find(" PQ"), std::string::npos) << exported;
}

}  // namespace
}  // namespace walferry
