#include "backends/plugin.h"

#include <dlfcn.h>

#include <filesystem>

namespace dynrt {
namespace {

// The folder of the library holding this code: plug-ins are looked up there
// first. The loader may have taken the runtime from a glibc-hwcaps subfolder
// (lib/glibc-hwcaps/x86-64-v3/, the build for CPUs with AVX2): the plug-ins
// sit two levels up, beside the baseline library.
std::filesystem::path own_folder() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&own_folder), &info) == 0 || !info.dli_fname) return {};
  std::filesystem::path dir = std::filesystem::path(info.dli_fname).parent_path();
  if (dir.parent_path().filename() == "glibc-hwcaps") dir = dir.parent_path().parent_path();
  return dir;
}

}  // namespace

void* open_plugin(const std::string& file, std::string& why) {
  why.clear();
  std::filesystem::path beside = own_folder() / file;
  std::error_code ec;
  if (!own_folder().empty() && std::filesystem::exists(beside, ec)) {
    if (void* handle = dlopen(beside.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
    const char* e = dlerror();
    why = e ? e : beside.string() + ": could not be loaded";
  }
  if (void* handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL)) return handle;
  if (why.empty()) {
    const char* e = dlerror();
    why = e ? e : file + ": not found";
  }
  return nullptr;
}

}  // namespace dynrt
