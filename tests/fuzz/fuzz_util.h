// fuzz_util.h — what the libFuzzer targets of tests/fuzz share.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

// A broken invariant is a crash libFuzzer records (and minimises), with the why.
#define FUZZ_CHECK(cond, ...)                                                                  \
  do {                                                                                         \
    if (!(cond)) {                                                                             \
      std::fprintf(stderr, "fuzz invariant failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::fprintf(stderr, "  " __VA_ARGS__);                                                  \
      std::fprintf(stderr, "\n");                                                              \
      std::abort();                                                                            \
    }                                                                                          \
  } while (0)

namespace walferry::fuzz {

inline std::string_view AsText(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Splits at "\n----\n" lines: one input, several fields (missing ones are empty).
inline std::vector<std::string> Sections(std::string_view text, size_t count) {
  std::vector<std::string> out;
  constexpr std::string_view kSep = "\n----\n";
  while (out.size() + 1 < count) {
    size_t at = text.find(kSep);
    if (at == std::string_view::npos) break;
    out.emplace_back(text.substr(0, at));
    text.remove_prefix(at + kSep.size());
  }
  out.emplace_back(text);
  out.resize(count);
  return out;
}

// A private scratch directory for targets whose parser reads files, made once
// per process under $TMPDIR (tests/fuzz/run.sh points it at a fresh directory)
// and removed by run.sh.
inline const std::string& ScratchDir() {
  static const std::string dir = [] {
    const char* base = std::getenv("TMPDIR");
    std::string templ = std::string(base && *base ? base : "/tmp") + "/walferry-fuzz.XXXXXX";
    if (::mkdtemp(templ.data()) == nullptr) {
      std::perror("mkdtemp");
      std::abort();
    }
    return templ;
  }();
  return dir;
}

// Writes `data` to `path` (replacing it); aborts when it cannot (not a finding).
inline void WriteFileOrDie(const std::string& path, std::string_view data) {
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr || std::fwrite(data.data(), 1, data.size(), f) != data.size() ||
      std::fclose(f) != 0) {
    std::perror(path.c_str());
    std::abort();
  }
}

}  // namespace walferry::fuzz
