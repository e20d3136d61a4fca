// The CPU Attention kernel's fast path: float32 4-D Q, K, V (either layout),
// an optional float or boolean mask, a scale. It is what the fusion pass
// (backends/fuse_attention.h) makes of a transformer's scaled-dot-product
// chain. Per batch, head and block of queries: K transposed into a [D, L]
// tile once (kept while the next block has the same head); scores of four
// query rows against 16 keys at a time, accumulated in registers over the
// head size; softmax with the vectorizable exp; the output as four rows by 16
// columns of P V at a time. A fully masked row gives 0, as the general
// kernel (attention.cpp, the ONNX reference's arithmetic) does.
#include "backends/cpu/attention_fast.h"

#include <cmath>
#include <limits>
#include <vector>

#include "backends/cpu/kernel_util.h"
#include "backends/cpu/vec_math.h"

namespace dynrt::cpu {
namespace {

// Q, K, V or the output in its layout; a packed operand takes its heads and
// head size from the output (`out`) and its slot from `slot`.
AttentionOperand operand(const TensorView& v, char layout, const char* what, const AttentionOperand* out = nullptr,
                         int slot = 0) {
  auto bad = [&](const char* why) { return Error(ErrorCode::kInvalidInput, std::string("Attention: ") + what + why); };
  AttentionOperand o;
  if (layout == 'p') {
    // [B, S, 3 * H * D] holding [B, S, 3, H, D]: slot `slot` of the three.
    int64_t hd = 0, n = 0;
    if (v.rank != 3 || !out || __builtin_mul_overflow(out->h, out->d, &hd) || __builtin_mul_overflow(hd, 3, &n) ||
        v.dim(2) != n)
      throw bad(" is not a packed [batch, seq, 3 * heads * head size] operand");
    o.b = v.dim(0);
    o.s = v.dim(1);
    o.h = out->h;
    o.d = out->d;
    o.ss = n;
    o.sh = o.d;
    o.sb = o.s * n;
    o.offset = slot * hd;
    return o;
  }
  if (v.rank != 4) throw bad(" is not 4-D");
  o.b = v.dim(0);
  o.d = v.dim(3);
  if (layout == 's') {
    o.s = v.dim(1);
    o.h = v.dim(2);
    o.ss = o.h * o.d;
    o.sh = o.d;
  } else {
    o.h = v.dim(1);
    o.s = v.dim(2);
    o.sh = o.s * o.d;
    o.ss = o.d;
  }
  o.sb = o.h * o.s * o.d;
  return o;
}

constexpr int64_t kRows = 24;   // queries per task
constexpr int64_t kGroup = 6;   // query rows computed together: 6 x 2 vectors, 12 AVX-512 accumulators
constexpr int64_t kLanes = 32;  // keys (or output columns) per register block: 8 AVX-512 accumulators

// Tasks [t0, t1) of (batch, head, block of kRows queries). Compiled twice:
// for AVX-512 CPUs and for the build's baseline; the loader picks (the
// library itself is built for x86-64 and x86-64-v3, neither with AVX-512,
// where oneDNN's matmuls use it).
DYNRT_AVX512_CLONE
void run_tasks(const AttentionJob& jb, int64_t blocks, int64_t Lp, int64_t t0, int64_t t1) {
  const AttentionOperand &q = jb.q, &k = jb.k, &v = jb.v, &y = jb.y;
  const float *Q = jb.Q, *K = jb.K, *V = jb.V;
  float* Y = jb.Y;
  const int64_t H = jb.H, Sq = jb.Sq, L = jb.L, D = jb.D, Dv = jb.Dv, group = jb.group;
  const float scale = jb.scale, ninf = -std::numeric_limits<float>::infinity();
  std::vector<float> kt(static_cast<size_t>(D * Lp), 0.f), qs(static_cast<size_t>(kGroup * D)),
      sc(static_cast<size_t>(kGroup * Lp));
  int64_t tile = -1;  // which (batch, kv head) kt holds
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t b = t / (H * blocks), h = t / blocks % H, kh = h / group;
    if (tile != b * k.h + kh) {
      tile = b * k.h + kh;
      const float* kp = K + b * k.sb + kh * k.sh;
      for (int64_t j = 0; j < L; ++j)
        for (int64_t d = 0; d < D; ++d) kt[static_cast<size_t>(d * Lp + j)] = kp[j * k.ss + d];
    }
    const float* vp = V + b * v.sb + kh * v.sh;
    const int64_t i_end = std::min(Sq, t % blocks * kRows + kRows);
    for (int64_t i0 = t % blocks * kRows; i0 < i_end; i0 += kGroup) {
      const int64_t rows = std::min(kGroup, i_end - i0);
      // Scaled query rows (missing rows zero), then the scores of kGroup rows
      // against kLanes keys at a time, accumulated in registers over D.
      for (int64_t r = 0; r < kGroup; ++r)
        for (int64_t d = 0; d < D; ++d)
          qs[static_cast<size_t>(r * D + d)] = r < rows ? Q[b * q.sb + h * q.sh + (i0 + r) * q.ss + d] * scale : 0.f;
      for (int64_t j0 = 0; j0 < Lp; j0 += kLanes) {
        float acc[kGroup][kLanes] = {};
        for (int64_t d = 0; d < D; ++d) {
          const float* kr = kt.data() + d * Lp + j0;
          for (int64_t r = 0; r < kGroup; ++r) {
            const float qv = qs[static_cast<size_t>(r * D + d)];
#pragma omp simd
            for (int64_t jj = 0; jj < kLanes; ++jj) acc[r][jj] += qv * kr[jj];
          }
        }
        for (int64_t r = 0; r < kGroup; ++r)
          std::copy_n(acc[r], kLanes, sc.data() + r * Lp + j0);
      }
      // Mask and softmax per row; p = 0 past L; a fully masked row: all p = 0.
      for (int64_t r = 0; r < rows; ++r) {
        float* sp = sc.data() + r * Lp;
        apply_attention_mask(jb, b, h, i0 + r, sp);
        // The padding past L takes no weight; the max over whole vectors, lane by
      // lane (a scalar max chain was a third of the kernel's time).
      for (int64_t j = L; j < Lp; ++j) sp[j] = ninf;
      float lanes[kLanes];
      std::fill_n(lanes, kLanes, ninf);
      for (int64_t j0 = 0; j0 < Lp; j0 += kLanes)
#pragma omp simd
        for (int64_t l = 0; l < kLanes; ++l) lanes[l] = lanes[l] < sp[j0 + l] ? sp[j0 + l] : lanes[l];
      float mx = ninf;
      for (int64_t l = 0; l < kLanes; ++l) mx = std::max(mx, lanes[l]);
      if (mx == ninf) {
        std::fill(sp, sp + Lp, 0.f);
        continue;
      }
      float sum = 0;
#pragma omp simd reduction(+ : sum)
      for (int64_t j = 0; j < Lp; ++j) {
        sp[j] = vexp(sp[j] - mx);
        sum += sp[j];
      }
      const float inv = 1.f / sum;
#pragma omp simd
      for (int64_t j = 0; j < Lp; ++j) sp[j] *= inv;
    }
      // Y rows = P V, kLanes output columns of kGroup rows at a time.
      for (int64_t d0 = 0; d0 < Dv; d0 += kLanes) {
        const int64_t nd = std::min(kLanes, Dv - d0);
        float acc[kGroup][kLanes] = {};
        if (nd == kLanes) {
          for (int64_t j = 0; j < L; ++j) {
            const float* vr = vp + j * v.ss + d0;
            for (int64_t r = 0; r < kGroup; ++r) {
              const float pv = sc[static_cast<size_t>(r * Lp + j)];
#pragma omp simd
              for (int64_t dd = 0; dd < kLanes; ++dd) acc[r][dd] += pv * vr[dd];
            }
          }
        } else {
          for (int64_t j = 0; j < L; ++j)
            for (int64_t r = 0; r < kGroup; ++r)
              for (int64_t dd = 0; dd < nd; ++dd) acc[r][dd] += sc[static_cast<size_t>(r * Lp + j)] * vp[j * v.ss + d0 + dd];
        }
        for (int64_t r = 0; r < rows; ++r) std::copy_n(acc[r], nd, Y + b * y.sb + h * y.sh + (i0 + r) * y.ss + d0);
      }
    }
  }
}

}  // namespace

bool attention_fast_node(const AttentionAttrs& a, size_t inputs, size_t outputs) {
  return !a.causal && a.softcap == 0 && a.left < 0 && a.right < 0 && inputs >= 3 && inputs <= 4 && outputs == 1;
}

bool attention_fast_applies(const KernelContext& c, const AttentionLayout& layout) {
  for (size_t i = 4; i < c.inputs.size(); ++i)
    if (c.has_in(i)) return false;
  for (size_t o = 1; o < c.outputs.size(); ++o)
    if (c.outputs[o].dtype != DType::kUndefined) return false;
  for (size_t i = 0; i < 3; ++i)
    if (c.in(i).dtype != DType::kFloat32 || c.in(i).rank != (layout[i] == 'p' ? 3 : 4)) return false;
  return !c.has_in(3) || c.in(3).dtype == DType::kFloat32 || c.in(3).dtype == DType::kBool;
}

bool attention_job(const AttentionAttrs& a, const AttentionLayout& layout, const KernelContext& c, AttentionJob& jb) {
  auto bad = [](const std::string& why) { return Error(ErrorCode::kInvalidInput, "Attention: " + why); };
  if (!attention_fast_applies(c, layout))
    throw bad("a stored layout needs float32 Q, K, V of its rank and a float or boolean mask");
  const AttentionOperand y = operand(c.out(0), layout[3], "the output");
  const AttentionOperand q = operand(c.in(0), layout[0], "Q", &y, 0), k = operand(c.in(1), layout[1], "K", &y, 1),
                         v = operand(c.in(2), layout[2], "V", &y, 2);
  if (k.b != q.b || v.b != q.b || v.h != k.h || v.s != k.s || k.d != q.d || k.h == 0 || q.h % k.h != 0)
    throw bad("Q, K and V do not agree in batch, heads, keys or head size");
  if (y.b != q.b || y.h != q.h || y.s != q.s || y.d != v.d) throw bad("the output's shape is not Q's with V's head size");
  jb = AttentionJob{};
  jb.q = q, jb.k = k, jb.v = v, jb.y = y;
  jb.B = q.b, jb.H = q.h, jb.Sq = q.s, jb.L = k.s, jb.D = q.d, jb.Dv = v.d, jb.group = q.h / k.h;
  // Mask, right-aligned against [B, H, Sq, L]; a shorter last dim pads as masked.
  const bool mask_bool = c.has_in(3) && c.in(3).dtype == DType::kBool;
  jb.has_mask = c.has_in(3);
  std::fill_n(jb.mdim, 4, int64_t{1});
  if (jb.has_mask) {
    const TensorView& m = c.in(3);
    if (m.rank > 4) throw bad("attn_mask has more than 4 dims");
    for (int i = 0; i < m.rank; ++i) jb.mdim[4 - m.rank + i] = m.dim(i);
    const int64_t full[4] = {jb.B, jb.H, jb.Sq, jb.L};
    int64_t s = 1;
    for (int i = 3; i >= 0; --i) {
      if (i < 3 && jb.mdim[i] != 1 && jb.mdim[i] != full[i]) throw bad("attn_mask does not broadcast to [batch, heads, q, kv]");
      if (i == 3 && jb.mdim[3] > jb.L) throw bad("attn_mask is longer than the keys");
      jb.mstr[i] = jb.mdim[i] == 1 && i < 3 ? 0 : s;
      s *= jb.mdim[i];
    }
  }
  if (jb.B * jb.H * jb.Sq == 0) return false;
  jb.scale = a.has_scale ? a.scale : 1.f / std::sqrt(static_cast<float>(jb.D));
  jb.Q = c.in(0).as<const float>() + q.offset, jb.K = c.in(1).as<const float>() + k.offset,
  jb.V = c.in(2).as<const float>() + v.offset;
  jb.maskf = jb.has_mask && !mask_bool ? c.in(3).as<const float>() : nullptr;
  jb.maskb = mask_bool ? c.in(3).as<const uint8_t>() : nullptr;
  jb.Y = c.out(0).as<float>();
  return true;
}

void attention_fast(const AttentionAttrs& a, const AttentionLayout& layout, KernelContext& c) {
  AttentionJob jb;
  if (!attention_job(a, layout, c, jb)) return;
  const int64_t blocks = (jb.Sq + kRows - 1) / kRows;
  const int64_t Lp = (jb.L + kLanes - 1) / kLanes * kLanes;  // K^T rows padded with zeros to whole vectors
  parallel_for(jb.B * jb.H * blocks, 1, [&](int64_t t0, int64_t t1) { run_tasks(jb, blocks, Lp, t0, t1); });
}

}  // namespace dynrt::cpu
