// Typed attributes: RoiAlign, MaxUnpool, DeformConv, Col2Im, CenterCropPad, GridSample, TfIdfVectorizer, TreeEnsemble.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"
#include "ir/attrs.h"

namespace dynrt {

struct RoiAlignAttrs {
  std::string mode;  // avg or max
  std::string coordinate_transformation_mode;  // opset 10 has none and behaves as output_half_pixel
  int64_t output_height = 1, output_width = 1, sampling_ratio = 0;
  float spatial_scale = 1.f;
  static RoiAlignAttrs parse(const AttrReader& a) {
    return {a.attr_string("mode", "avg"),
            a.attr_string("coordinate_transformation_mode", a.opset() < 16 ? "output_half_pixel" : "half_pixel"),
            a.attr_int("output_height", 1), a.attr_int("output_width", 1), a.attr_int("sampling_ratio", 0),
            a.attr_float("spatial_scale", 1.f)};
  }
};

// ImageDecoder's output channels: RGB or BGR (3), Grayscale (1).
struct ImageDecoderAttrs {
  std::string pixel_format;
  static ImageDecoderAttrs parse(const AttrReader& a) { return {a.attr_string("pixel_format", "RGB")}; }
  bool valid() const { return pixel_format == "RGB" || pixel_format == "BGR" || pixel_format == "Grayscale"; }
  int64_t channels() const { return pixel_format == "Grayscale" ? 1 : 3; }
};

// MaxUnpool's window (strides and pads default per spatial dim).
struct MaxUnpoolAttrs {
  std::vector<int64_t> kernel_shape, strides, pads;
  static MaxUnpoolAttrs parse(const AttrReader& a, size_t spatial) {
    return {a.attr_ints("kernel_shape"), a.attr_ints("strides", std::vector<int64_t>(spatial, 1)),
            a.attr_ints("pads", std::vector<int64_t>(2 * spatial, 0))};
  }
};

// DeformConv (2-D). An empty kernel_shape means "from W".
struct DeformConvAttrs {
  int64_t group = 1, offset_group = 1;
  std::vector<int64_t> kernel_shape, strides, dilations, pads;
  static DeformConvAttrs parse(const AttrReader& a) {
    return {a.attr_int("group", 1), a.attr_int("offset_group", 1), a.attr_ints("kernel_shape"),
            a.attr_ints("strides", {1, 1}), a.attr_ints("dilations", {1, 1}), a.attr_ints("pads", {0, 0, 0, 0})};
  }
};

// Col2Im (empty: the defaults, per spatial dim of image_shape).
struct Col2ImAttrs {
  std::vector<int64_t> dilations, pads, strides;
  static Col2ImAttrs parse(const AttrReader& a) {
    return {a.attr_ints("dilations"), a.attr_ints("pads"), a.attr_ints("strides")};
  }
};

// CenterCropPad: the axes `shape` applies to (empty: all).
struct CenterCropPadAttrs {
  std::vector<int64_t> axes;
  static CenterCropPadAttrs parse(const AttrReader& a) { return {a.attr_ints("axes")}; }
};

// GridSample: mode names changed in opset 20 (bilinear -> linear, bicubic -> cubic).
struct GridSampleAttrs {
  std::string mode, padding_mode;
  bool align_corners = false;
  static GridSampleAttrs parse(const AttrReader& a) {
    return {a.attr_string("mode", a.opset() >= 20 ? "linear" : "bilinear"), a.attr_string("padding_mode", "zeros"),
            a.attr_int("align_corners", 0) != 0};
  }
};

// TfIdfVectorizer (int n-grams).
struct TfIdfAttrs {
  std::string mode;  // TF, IDF, TFIDF (required)
  int64_t min_gram_length = 0, max_gram_length = 0, max_skip_count = 0;
  std::vector<int64_t> ngram_indexes, pool_int64s, ngram_counts;
  std::vector<float> weights;
  static TfIdfAttrs parse(const AttrReader& a) {
    return {a.attr_string("mode", ""), a.attr_int("min_gram_length", 0), a.attr_int("max_gram_length", 0),
            a.attr_int("max_skip_count", 0), a.attr_ints("ngram_indexes"), a.attr_ints("pool_int64s"),
            a.attr_ints("ngram_counts"), a.attr_floats("weights")};
  }
};

// TreeEnsemble: what inference checks and the kernel uses alike (the trees
// themselves are read by the kernel only).
struct TreeEnsembleAttrs {
  int64_t n_targets = 0, aggregate_function = 1, post_transform = 0;
  static TreeEnsembleAttrs parse(const AttrReader& a) {
    return {a.attr_int("n_targets", 0), a.attr_int("aggregate_function", 1), a.attr_int("post_transform", 0)};
  }
};

}  // namespace dynrt
