#pragma once

#include <map>
#include <string>

#include "dynrt/types.h"

namespace dynrt {

// Arrays of a .npz (or a single .npy, as "arr_0"), keyed by name.
std::map<std::string, Tensor> read_npz(const std::string& path);
// The same from the file's bytes; `label` names it in errors.
std::map<std::string, Tensor> read_npz_bytes(const std::string& data, const std::string& label);
void write_npz(const std::string& path, const std::map<std::string, Tensor>& arrays);

}  // namespace dynrt
