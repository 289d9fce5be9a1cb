// temp_dir.h — a temporary directory for one test, removed at its end.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

namespace walferry::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& stem = "wf-test") {
    std::string tmpl = (std::filesystem::temp_directory_path() / (stem + "-XXXXXX")).string();
    path_ = ::mkdtemp(tmpl.data());
  }
  // Never throws: a process the test started (a spool worker on its way out) may still be
  // creating or removing files inside; retried a few times, bounded.
  ~TempDir() {
    std::error_code ec;
    for (int i = 0; i < 50; ++i) {
      ec.clear();
      std::filesystem::remove_all(path_, ec);
      if (!ec) return;
      ::usleep(20000);
    }
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  // Writes `text` to a file in the directory; returns its path.
  std::string Write(const std::string& name, const std::string& text) const {
    std::string p = (std::filesystem::path(path_) / name).string();
    std::ofstream(p) << text;
    return p;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

}  // namespace walferry::testing
