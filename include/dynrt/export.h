// Symbols of libdynrt_runtime and libdynrt_compiler are hidden by default.
// DYNRT_API marks the public API (include/dynrt). DYNRT_INTERNAL marks the
// internal classes and functions libdynrt_runtime shares with
// libdynrt_compiler and provider plug-ins: exported, but not API.
#pragma once

#define DYNRT_API __attribute__((visibility("default")))
#define DYNRT_INTERNAL __attribute__((visibility("default")))
