// Plug-ins: shared libraries of dynrt's that the runtime opens when first
// needed (providers, libdynrt_provider_<name>.so; the image codecs,
// libdynrt_image_codecs.so), so that it links none of their dependencies.
#pragma once

#include <string>

namespace dynrt {

// Opens `file` (a bare file name) from the folder of libdynrt_runtime.so,
// else through the dynamic loader's search path; returns its handle (never
// closed), or null with the loader's reason in `why`.
void* open_plugin(const std::string& file, std::string& why);

}  // namespace dynrt
