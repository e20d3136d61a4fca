// Typed attributes of the ops whose inference and kernels both read them:
// one struct and one parse(AttrReader) per op, so defaults, opset rules and
// validation live in one place. InferContext, RunShapeContext and KernelInit
// are all AttrReaders. (Spatial attributes of Conv and the pools:
// nnshape::read_spatial; Reshape: shapefn::ReshapeAttrs.)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"
#include "ir/attrs.h"

namespace dynrt {

// Softmax, LogSoftmax, Hardmax. Opset 13 made the axis a single dim (default
// -1); before, the input is coerced to 2-D at `axis` (default 1).
struct SoftmaxAttrs {
  int64_t axis = -1;
  bool coerce_2d = false;
  static SoftmaxAttrs parse(const AttrReader& a) {
    bool coerce = a.opset() < 13;
    return {a.attr_int("axis", coerce ? 1 : -1), coerce};
  }
};

// LayerNormalization, RMSNormalization: normalized over [axis, rank).
struct LayerNormAttrs {
  int64_t axis = -1;
  float epsilon = 1e-5f;
  DType stash = DType::kFloat32;  // precision of mean and variance: float32 or float64
  bool stash_valid = true;
  static LayerNormAttrs parse(const AttrReader& a) {
    int64_t st = a.attr_int("stash_type", 1);
    bool ok = st == static_cast<int64_t>(DType::kFloat32) || st == static_cast<int64_t>(DType::kFloat64);
    return {a.attr_int("axis", -1), a.attr_float("epsilon", 1e-5f), ok ? static_cast<DType>(st) : DType::kFloat32, ok};
  }
};

// Gemm: Y = alpha * op(A) * op(B) + beta * C.
struct GemmAttrs {
  bool trans_a = false, trans_b = false;
  float alpha = 1.f, beta = 1.f;
  static GemmAttrs parse(const AttrReader& a) {
    return {a.attr_int("transA", 0) != 0, a.attr_int("transB", 0) != 0, a.attr_float("alpha", 1.f),
            a.attr_float("beta", 1.f)};
  }
};

// ---- internal -------------------------------------------------------------------

// dynrt.ExprTensor: its elements, dimension expressions serialized in
// "exprs", and whether it is a scalar.
struct ExprTensorAttrs {
  std::vector<Expr> values;
  bool scalar = false;
  static ExprTensorAttrs parse(const AttrReader& a) {
    ExprTensorAttrs r;
    std::vector<int64_t> code = a.attr_ints("exprs");
    for (size_t pos = 0; pos < code.size();) r.values.push_back(Expr::deserialize(code, pos));
    r.scalar = a.attr_int("scalar", 0) != 0;
    return r;
  }
};

// ---- reduction --------------------------------------------------------------

// Reduce*: axes as an attribute (before they became an input), keepdims,
// noop_with_empty_axes.
struct ReduceAttrs {
  std::vector<int64_t> axes;
  bool keep_dims = true, noop_with_empty_axes = false;
  static ReduceAttrs parse(const AttrReader& a) {
    return {a.attr_ints("axes"), a.attr_int("keepdims", 1) != 0, a.attr_int("noop_with_empty_axes", 0) != 0};
  }
};

// ArgMax / ArgMin.
struct ArgReduceAttrs {
  int64_t axis = 0;
  bool keep_dims = true, select_last_index = false;
  static ArgReduceAttrs parse(const AttrReader& a) {
    return {a.attr_int("axis", 0), a.attr_int("keepdims", 1) != 0, a.attr_int("select_last_index", 0) != 0};
  }
};

// ---- normalization ------------------------------------------------------------

// GroupNormalization (num_groups required), InstanceNormalization (epsilon only).
struct GroupNormAttrs {
  int64_t num_groups = 0;  // 0: missing (invalid)
  float epsilon = 1e-5f;
  static GroupNormAttrs parse(const AttrReader& a) { return {a.attr_int("num_groups", 0), a.attr_float("epsilon", 1e-5f)}; }
};

struct LpNormAttrs {
  int64_t axis = -1, p = 2;
  static LpNormAttrs parse(const AttrReader& a) { return {a.attr_int("axis", -1), a.attr_int("p", 2)}; }
};

// MeanVarianceNormalization: normalized over `axes` (default N, H, W).
struct MvnAttrs {
  std::vector<int64_t> axes;
  static MvnAttrs parse(const AttrReader& a) { return {a.attr_ints("axes", {0, 2, 3})}; }
};

// LRN (size required).
struct LrnAttrs {
  int64_t size = 0;  // 0: missing (invalid)
  float alpha = 1e-4f, beta = 0.75f, bias = 1.f;
  static LrnAttrs parse(const AttrReader& a) {
    return {a.attr_int("size", 0), a.attr_float("alpha", 1e-4f), a.attr_float("beta", 0.75f), a.attr_float("bias", 1.f)};
  }
};

// ---- nn (beyond the spatial attributes) ----------------------------------------

// MaxPool / AveragePool / LpPool: the window (spatial attributes through
// nnshape::read_spatial(reader, n, kernel_shape)).
struct PoolAttrs {
  std::vector<int64_t> kernel_shape;
  bool count_include_pad = false;
  static PoolAttrs parse(const AttrReader& a) {
    return {a.attr_ints("kernel_shape"), a.attr_int("count_include_pad", 0) != 0};
  }
};

struct BatchNormAttrs {
  float epsilon = 1e-5f, momentum = 0.9f;
  bool training_mode = false, spatial = true;
  static BatchNormAttrs parse(const AttrReader& a) {
    return {a.attr_float("epsilon", 1e-5f), a.attr_float("momentum", 0.9f), a.attr_int("training_mode", 0) != 0,
            a.attr_int("spatial", 1) == 1};
  }
};

// ---- signal ---------------------------------------------------------------------

// DFT: since opset 20 the axis is an input (default -2), before an attribute (default 1).
struct DftAttrs {
  bool inverse = false, onesided = false;
  int64_t axis_attr = 1;
  bool axis_from_input = false;
  static DftAttrs parse(const AttrReader& a) {
    return {a.attr_int("inverse", 0) != 0, a.attr_int("onesided", 0) != 0, a.attr_int("axis", 1), a.opset() >= 20};
  }
};

// STFT (onesided defaults to 1, unlike DFT).
struct StftAttrs {
  bool onesided = true;
  static StftAttrs parse(const AttrReader& a) { return {a.attr_int("onesided", 1) != 0}; }
};

// ---- shape, elementwise, loss -----------------------------------------------------

// Shape: the dims [start, end) (end defaults to the rank).
struct ShapeAttrs {
  int64_t start = 0;
  bool has_end = false;
  int64_t end = 0;
  static ShapeAttrs parse(const AttrReader& a) {
    return {a.attr_int("start", 0), a.has_attr("end"), a.attr_int("end", 0)};
  }
};

// Mod: C fmod (sign of the dividend) or Python-style mod.
struct ModAttrs {
  bool fmod = false;
  static ModAttrs parse(const AttrReader& a) { return {a.attr_int("fmod", 0) != 0}; }
};

// NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss.
struct LossAttrs {
  std::string reduction;  // none, sum, mean
  bool has_ignore_index = false;
  int64_t ignore_index = 0;
  static LossAttrs parse(const AttrReader& a) {
    return {a.attr_string("reduction", "mean"), a.has_attr("ignore_index"), a.attr_int("ignore_index", 0)};
  }
};

// ---- quantize, misc ------------------------------------------------------------

// QuantizeLinear / DequantizeLinear: per-axis (axis) or blocked (block_size > 0).
struct QuantizeAttrs {
  int64_t axis = 1, block_size = 0;
  static QuantizeAttrs parse(const AttrReader& a) { return {a.attr_int("axis", 1), a.attr_int("block_size", 0)}; }
};

// ReverseSequence.
struct ReverseSequenceAttrs {
  int64_t batch_axis = 1, time_axis = 0;
  static ReverseSequenceAttrs parse(const AttrReader& a) {
    return {a.attr_int("batch_axis", 1), a.attr_int("time_axis", 0)};
  }
};

// TensorScatter: the sequence axis of the cache, and linear or circular writes.
struct TensorScatterAttrs {
  int64_t axis = -2;
  std::string mode;
  static TensorScatterAttrs parse(const AttrReader& a) { return {a.attr_int("axis", -2), a.attr_string("mode", "linear")}; }
};

// ---- vision -----------------------------------------------------------------------

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

// ---- attention variants, ml ---------------------------------------------------------

// LinearAttention: heads (0: missing, invalid) and the state update rule.
struct LinearAttentionAttrs {
  int64_t q_num_heads = 0, kv_num_heads = 0;
  float scale = 0;  // 0: 1/sqrt(head size)
  std::string update_rule;
  static LinearAttentionAttrs parse(const AttrReader& a) {
    return {a.attr_int("q_num_heads", 0), a.attr_int("kv_num_heads", 0), a.attr_float("scale", 0.f),
            a.attr_string("update_rule", "gated_delta")};
  }
};

struct CausalConvAttrs {
  std::string activation;  // none, silu, swish
  static CausalConvAttrs parse(const AttrReader& a) { return {a.attr_string("activation", "none")}; }
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

// ---- attention --------------------------------------------------------------------

// Attention (opset 23): heads for 3-D inputs, causal masking, scale, softcap,
// which intermediate the optional output returns, sliding windows.
struct AttentionAttrs {
  bool causal = false;
  float scale = 0;
  bool has_scale = false;
  float softcap = 0;
  int64_t q_heads = 0, kv_heads = 0, mode = 0, left = -1, right = -1, softmax_precision = 0;
  static AttentionAttrs parse(const AttrReader& a) {
    AttentionAttrs r;
    r.causal = a.attr_int("is_causal", 0) != 0;
    r.has_scale = a.has_attr("scale");
    r.scale = a.attr_float("scale", 0.f);
    r.softcap = a.attr_float("softcap", 0.f);
    r.q_heads = a.attr_int("q_num_heads", 0);
    r.kv_heads = a.attr_int("kv_num_heads", 0);
    r.mode = a.attr_int("qk_matmul_output_mode", 0);
    r.left = a.attr_int("left_window_size", -1);
    r.right = a.attr_int("right_window_size", -1);
    r.softmax_precision = a.attr_int("softmax_precision", 0);
    return r;
  }
};

struct RotaryAttrs {
  bool interleaved = false;
  int64_t rotary_embedding_dim = 0, num_heads = 0;
  static RotaryAttrs parse(const AttrReader& a) {
    return {a.attr_int("interleaved", 0) != 0, a.attr_int("rotary_embedding_dim", 0), a.attr_int("num_heads", 0)};
  }
};

// ---- rnn ------------------------------------------------------------------------

// RNN / GRU / LSTM.
struct RecurrentAttrs {
  std::string direction;  // forward, reverse, bidirectional
  int64_t layout = 0;     // 0: [seq, batch, ...], 1: [batch, seq, ...]
  bool has_hidden_size = false;
  int64_t hidden_size = 0;
  bool linear_before_reset = false, input_forget = false;
  float clip = 0;  // 0: none
  std::vector<std::string> activations;
  std::vector<float> activation_alpha, activation_beta;
  static RecurrentAttrs parse(const AttrReader& a) {
    RecurrentAttrs r;
    r.direction = a.attr_string("direction", "forward");
    r.layout = a.attr_int("layout", 0);
    r.has_hidden_size = a.has_attr("hidden_size");
    r.hidden_size = a.attr_int("hidden_size", 0);
    r.linear_before_reset = a.attr_int("linear_before_reset", 0) != 0;
    r.input_forget = a.attr_int("input_forget", 0) != 0;
    r.clip = a.attr_float("clip", 0.f);
    if (const ir::Attribute* at = a.attr("activations")) r.activations = at->strings;
    r.activation_alpha = a.attr_floats("activation_alpha");
    r.activation_beta = a.attr_floats("activation_beta");
    return r;
  }
};

// ---- movement ---------------------------------------------------------------

// Transpose: the permutation (empty: reverse the dims).
struct TransposeAttrs {
  std::vector<int64_t> perm;
  static TransposeAttrs parse(const AttrReader& a) { return {a.attr_ints("perm")}; }
};

// The `axis` of Concat, Split, Gather, GatherElements, Scatter*, CumSum-like
// ops (its default differs: 0 for most, -1 for TopK/ArgMax-style ops).
struct AxisAttrs {
  int64_t axis = 0;
  static AxisAttrs parse(const AttrReader& a, int64_t def = 0) { return {a.attr_int("axis", def)}; }
};

// DepthToSpace / SpaceToDepth.
struct BlockAttrs {
  int64_t blocksize = 0;  // 0: missing (invalid)
  std::string mode;       // DCR or CRD (DepthToSpace)
  static BlockAttrs parse(const AttrReader& a) { return {a.attr_int("blocksize", 0), a.attr_string("mode", "DCR")}; }
};

// Pad: the mode; before opset 11 also the pads and fill value.
struct PadAttrs {
  std::string mode;
  std::vector<int64_t> pads;  // opset < 11 ("paddings" in opset 1)
  float value = 0.f;          // opset < 11
  static PadAttrs parse(const AttrReader& a) {
    return {a.attr_string("mode", "constant"), a.attr_ints(a.has_attr("pads") ? "pads" : "paddings"),
            a.attr_float("value", 0.f)};
  }
};

// Slice before opset 10: starts, ends and axes were attributes.
struct SliceAttrs {
  std::vector<int64_t> starts, ends, axes;
  static SliceAttrs parse(const AttrReader& a) {
    return {a.attr_ints("starts"), a.attr_ints("ends"), a.attr_ints("axes")};
  }
};

// Einsum.
struct EinsumAttrs {
  std::string equation;
  static EinsumAttrs parse(const AttrReader& a) { return {a.attr_string("equation", "")}; }
};

// ---- indexing ---------------------------------------------------------------

// Compress / Unique: an optional axis (absent: over the flattened input).
struct OptionalAxisAttrs {
  bool has_axis = false;
  int64_t axis = 0;
  static OptionalAxisAttrs parse(const AttrReader& a) { return {a.has_attr("axis"), a.attr_int("axis", 0)}; }
};

struct GatherNDAttrs {
  int64_t batch_dims = 0;
  static GatherNDAttrs parse(const AttrReader& a) { return {a.attr_int("batch_dims", 0)}; }
};

// ScatterND / ScatterElements: how updates combine with the data.
struct ScatterAttrs {
  std::string reduction;  // none, add, mul, max, min
  static ScatterAttrs parse(const AttrReader& a) { return {a.attr_string("reduction", "none")}; }
};

// ---- nn -----------------------------------------------------------------------

// Conv / ConvTranspose beyond the spatial attributes (nnshape::read_spatial).
struct ConvAttrs {
  int64_t group = 1;
  std::vector<int64_t> output_padding, output_shape;  // ConvTranspose
  static ConvAttrs parse(const AttrReader& a, size_t spatial) {
    return {a.attr_int("group", 1), a.attr_ints("output_padding", std::vector<int64_t>(spatial, 0)),
            a.attr_ints("output_shape", {})};
  }
};

}  // namespace dynrt
