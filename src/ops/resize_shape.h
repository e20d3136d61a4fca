// Resize / Upsample output sizes and per-axis scales on concrete numbers:
// the runtime's shape function and the CPU kernel share this one version.
// Inference gives the same sizes as expressions (src/ops/resize.cpp).
#pragma once

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "dynrt/error.h"
#include "ir/attrs.h"

namespace dynrt {

// Resize / Upsample attributes, parsed once for inference, the run-time
// shape function and kernels. Upsample and Resize-10 use asymmetric
// coordinates with floor rounding whatever the attributes say.
struct ResizeAttrs {
  bool upsample = false;
  int64_t opset = 0;
  std::string mode;  // nearest, linear (Upsample's "bilinear"), cubic, or what the model gave
  int kind = 0;      // 0 nearest, 1 linear, 2 cubic
  std::string ct, nearest, policy;  // coordinate transformation, nearest rounding, aspect-ratio policy
  double cubic_a = -0.75, extrapolation = 0;
  bool exclude_outside = false, antialias = false;
  std::vector<int64_t> axes;
  std::vector<float> attr_scales;  // Upsample-7

  static ResizeAttrs parse(const AttrReader& r, bool upsample) {
    ResizeAttrs a;
    a.upsample = upsample;
    a.opset = r.opset();
    a.mode = r.attr_string("mode", "nearest");
    if (a.mode == "bilinear" && upsample) a.mode = "linear";
    a.kind = a.mode == "nearest" ? 0 : a.mode == "cubic" ? 2 : 1;
    bool legacy = upsample || a.opset < 11;
    a.ct = legacy ? "asymmetric" : r.attr_string("coordinate_transformation_mode", "half_pixel");
    a.nearest = legacy ? "floor" : r.attr_string("nearest_mode", "round_prefer_floor");
    a.policy = r.attr_string("keep_aspect_ratio_policy", "stretch");
    a.cubic_a = r.attr_float("cubic_coeff_a", -0.75f);
    a.extrapolation = r.attr_float("extrapolation_value", 0.f);
    a.exclude_outside = r.attr_int("exclude_outside", 0) != 0;
    a.antialias = r.attr_int("antialias", 0) != 0;
    a.axes = r.attr_ints("axes");
    a.attr_scales = r.attr_floats("scales");
    return a;
  }
};

struct ResizeSizing {
  std::vector<double> scale;  // per input axis
  std::vector<int64_t> dims;  // output dims
};

// `axes` as given (may be empty: all, may be negative). Exactly one of
// `sizes` (has_sizes) or `scales` is used, as the op's opset says.
inline ResizeSizing resize_sizing(std::span<const int64_t> in, std::vector<int64_t> axes, bool upsample,
                                  int64_t opset, const std::vector<float>& attr_scales, const std::string& policy,
                                  const std::vector<double>& scales, const std::vector<int64_t>& sizes,
                                  bool has_sizes) {
  auto bad = [](const std::string& why) { throw Error(ErrorCode::kInvalidInput, "Resize: " + why); };
  auto r = static_cast<int64_t>(in.size());
  if (axes.empty())
    for (int64_t i = 0; i < r; ++i) axes.push_back(i);
  for (int64_t& ax : axes) {
    if (ax < -r || ax >= r) bad("axis " + std::to_string(ax) + " is out of range for rank " + std::to_string(r));
    ax = ax < 0 ? ax + r : ax;
  }
  ResizeSizing s{std::vector<double>(in.size(), 1.0), {in.begin(), in.end()}};
  auto d = [&](int64_t ax) { return in[static_cast<size_t>(ax)]; };
  if (upsample && opset < 9) {
    if (attr_scales.size() != in.size()) bad("scales must have one value per input dim");
    for (int64_t i = 0; i < r; ++i) {
      s.scale[static_cast<size_t>(i)] = attr_scales[static_cast<size_t>(i)];
      s.dims[static_cast<size_t>(i)] = static_cast<int64_t>(std::floor(static_cast<double>(d(i)) * s.scale[static_cast<size_t>(i)]));
    }
  } else if (!upsample && opset >= 11 && has_sizes) {
    if (sizes.size() != axes.size()) bad("sizes length differs from the axes");
    for (size_t i = 0; i < axes.size(); ++i)
      s.scale[static_cast<size_t>(axes[i])] = static_cast<double>(sizes[i]) / static_cast<double>(d(axes[i]));
    if (policy != "stretch") {
      double k = policy == "not_larger" ? INFINITY : 0;
      for (int64_t ax : axes) k = policy == "not_larger" ? std::min(k, s.scale[static_cast<size_t>(ax)]) : std::max(k, s.scale[static_cast<size_t>(ax)]);
      for (int64_t ax : axes) {
        s.scale[static_cast<size_t>(ax)] = k;
        s.dims[static_cast<size_t>(ax)] = static_cast<int64_t>(k * static_cast<double>(d(ax)) + 0.5);
      }
    } else {
      for (size_t i = 0; i < axes.size(); ++i) s.dims[static_cast<size_t>(axes[i])] = sizes[i];
    }
  } else {
    if (scales.size() != axes.size()) bad("scales length differs from the axes");
    for (size_t i = 0; i < axes.size(); ++i) {
      if (!(scales[i] > 0)) bad("scales must be positive");
      auto f = static_cast<float>(scales[i]);  // scales are float32 in ONNX
      s.scale[static_cast<size_t>(axes[i])] = f;
      s.dims[static_cast<size_t>(axes[i])] = static_cast<int64_t>(std::floor(static_cast<double>(d(axes[i])) * static_cast<double>(f)));
    }
  }
  return s;
}

}  // namespace dynrt
