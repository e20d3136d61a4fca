// dynrt's version: the macros for compile-time checks, dynrt::version() for
// the library a program actually loaded. CMakeLists.txt reads the numbers
// from here.
#pragma once

#include "dynrt/export.h"

#define DYNRT_VERSION_MAJOR 0
#define DYNRT_VERSION_MINOR 1
#define DYNRT_VERSION_PATCH 0
#define DYNRT_VERSION_STRING "0.1.0"
#define DYNRT_VERSION (DYNRT_VERSION_MAJOR * 10000 + DYNRT_VERSION_MINOR * 100 + DYNRT_VERSION_PATCH)

namespace dynrt {

// "MAJOR.MINOR.PATCH" of the loaded libdynrt_runtime.
DYNRT_API const char* version();

}  // namespace dynrt
