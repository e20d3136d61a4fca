// Typed attributes: attention, rotary embeddings, RNNs, linear attention, causal conv, DFT/STFT, losses.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/expr.h"
#include "dynrt/types.h"
#include "ir/attrs.h"

namespace dynrt {

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

// NegativeLogLikelihoodLoss / SoftmaxCrossEntropyLoss.
struct LossAttrs {
  std::string reduction;  // none, sum, mean
  bool has_ignore_index = false;
  int64_t ignore_index = 0;
  static LossAttrs parse(const AttrReader& a) {
    return {a.attr_string("reduction", "mean"), a.has_attr("ignore_index"), a.attr_int("ignore_index", 0)};
  }
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

}  // namespace dynrt
