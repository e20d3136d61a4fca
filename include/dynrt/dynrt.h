// dynrt public C++ API: the compiler (dynrt/compiler.h, libdynrt_compiler)
// and the runtime (dynrt/runtime.h, libdynrt_runtime). A program that only
// loads and runs engines includes dynrt/runtime.h and links the runtime alone.
#pragma once

#include "dynrt/compiler.h"
#include "dynrt/runtime.h"
#include "dynrt/version.h"
