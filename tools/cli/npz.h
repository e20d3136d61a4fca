#pragma once

#include <map>
#include <string>

#include "dynrt/types.h"

namespace dynrt {

// For arrays saved as raw bytes ('|V1': numpy's form of ml_dtypes' float8,
// float4, int4 and int2 arrays), the narrow type each name is read as.
// bfloat16 ('|V2') needs no entry. Narrow outputs are written as '|V1'.
using RawTypes = std::map<std::string, DType>;

// Arrays of a .npz (or a single .npy, as "arr_0"), keyed by name.
std::map<std::string, Tensor> read_npz(const std::string& path, const RawTypes& raw = {});
// The same from the file's bytes; `label` names it in errors.
std::map<std::string, Tensor> read_npz_bytes(const std::string& data, const std::string& label, const RawTypes& raw = {});
void write_npz(const std::string& path, const std::map<std::string, Tensor>& arrays);

}  // namespace dynrt
