#include "common/lazy_lib.h"

#include <dlfcn.h>

namespace walferry {

LazyLibrary::LazyLibrary(const char* soname, const char* package, const char* const* names,
                         size_t count)
    : soname_(soname), package_(package), names_(names), count_(count) {}

bool LazyLibrary::Load() {
  std::call_once(once_, [this] {
    // RTLD_LOCAL: the library's own symbols stay out of the global scope, and
    // the executable exports none of the wrappers, so the library's internal
    // calls are never routed back through them.
    void* handle = dlopen(soname_, RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* e = dlerror();
      error_ = e ? e : "dlopen failed";
      return;
    }
    void** symbols = new void*[count_];
    for (size_t i = 0; i < count_; ++i) {
      dlerror();
      symbols[i] = dlsym(handle, names_[i]);
      if (symbols[i] == nullptr) {
        error_ = std::string(soname_) + " has no symbol " + names_[i] + " (too old a version?)";
        delete[] symbols;
        dlclose(handle);
        return;
      }
    }
    symbols_ = symbols;  // the handle stays open for the life of the process
  });
  return symbols_ != nullptr;
}

void* LazyLibrary::Symbol(size_t i) { return Load() ? symbols_[i] : nullptr; }

Status LazyLibrary::Available() {
  if (Load()) return Status::Ok();
  return Status::NotSupported(std::string("cannot load ") + soname_ + " (Debian package " +
                              package_ + "): " + error_)
      .WithHint(std::string("install the Debian package ") + package_ + " (apt-get install " +
                package_ + ")");
}

}  // namespace walferry
