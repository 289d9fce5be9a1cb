// main.cc — the walferry binary: everything lives in cli::Main (walferry_core).
#include <cstdio>
#include <exception>

#include "cli/commands.h"
#include "walferry/exit_codes.h"

int main(int argc, char** argv) {
  // Last resort only: modules return Status, and CLI11's exceptions are caught
  // in cli::Main. Reaching here is a bug (or out of memory).
  try {
    return walferry::cli::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(
        stderr, "walferry: internal error: %s\nHINT: this is a bug in walferry; please report it\n",
        e.what());
  } catch (...) {
    std::fprintf(stderr,
                 "walferry: internal error: unknown exception\n"
                 "HINT: this is a bug in walferry; please report it\n");
  }
  return static_cast<int>(walferry::ExitCode::kInternal);
}
