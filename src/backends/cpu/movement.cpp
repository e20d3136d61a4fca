// CPU kernels for data-movement ops. Everything moves elements by size, so
// all dtypes work; the strided copy handles Transpose, Slice, DepthToSpace and
// SpaceToDepth, with a tiled path when the innermost output dim is strided.
#include <algorithm>
#include <cstring>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"
#include "ops/shape_fns.h"

namespace dynrt::cpu {

namespace {

// Row-by-row copy: the innermost dim is contiguous (memcpy) or strided.
template <class E>
void copy_rows(E* dst, const E* src, int n, const int64_t* d, const int64_t* s) {
  int64_t inner = d[n - 1], is = s[n - 1];
  int64_t rows = prod(d, 0, n - 1);
  parallel_for(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t r0, int64_t r1) {
    int64_t idx[kMaxRank] = {};
    int64_t off = 0, rem = r0;
    for (int k = n - 2; k >= 0; --k) {
      idx[k] = rem % d[k];
      rem /= d[k];
      off += idx[k] * s[k];
    }
    for (int64_t r = r0; r < r1; ++r) {
      E* o = dst + r * inner;
      const E* p = src + off;
      if (is == 1) std::memcpy(o, p, static_cast<size_t>(inner) * sizeof(E));
      else
        for (int64_t i = 0; i < inner; ++i) o[i] = p[i * is];
      for (int k = n - 2; k >= 0; --k) {
        off += s[k];
        if (++idx[k] < d[k]) break;
        off -= s[k] * d[k];
        idx[k] = 0;
      }
    }
  });
}

// Tiled copy for transposes whose innermost output dim is strided in the
// source while another output dim j is contiguous there: 2-D tiles keep both
// the reads and the writes in cache.
template <class E>
bool copy_tiled(E* dst, const E* src, int n, const int64_t* d, const int64_t* s) {
  int j = -1;
  for (int k = 0; k < n - 1; ++k)
    if (s[k] == 1) j = k;
  int64_t inner = d[n - 1], is = s[n - 1];
  if (j < 0 || is == 1 || inner < 8 || d[j] < 8) return false;
  int64_t os[kMaxRank];
  os[n - 1] = 1;
  for (int k = n - 2; k >= 0; --k) os[k] = os[k + 1] * d[k + 1];
  int rest[kMaxRank], nr = 0;
  for (int k = 0; k < n - 1; ++k)
    if (k != j) rest[nr++] = k;
  constexpr int64_t T = 32;
  int64_t ablocks = (d[j] + T - 1) / T;
  int64_t items = 1;
  for (int q = 0; q < nr; ++q) items *= d[rest[q]];
  items *= ablocks;
  parallel_for(items, 1, [&](int64_t w0, int64_t w1) {
    for (int64_t w = w0; w < w1; ++w) {
      int64_t rr = w / ablocks, ab = w % ablocks;
      int64_t soff = 0, doff = 0;
      for (int q = nr - 1; q >= 0; --q) {
        int k = rest[q];
        int64_t i = rr % d[k];
        rr /= d[k];
        soff += i * s[k];
        doff += i * os[k];
      }
      int64_t a0 = ab * T, a1 = std::min(a0 + T, d[j]);
      for (int64_t b0 = 0; b0 < inner; b0 += T) {
        int64_t b1 = std::min(b0 + T, inner);
        for (int64_t a = a0; a < a1; ++a) {
          E* o = dst + doff + a * os[j];
          const E* p = src + soff + a;
          for (int64_t b = b0; b < b1; ++b) o[b] = p[b * is];
        }
      }
    }
  });
  return true;
}

}  // namespace

void strided_copy(void* dst, const void* src, size_t elem_size, int rank, const int64_t* dims,
                  const int64_t* src_strides) {
  // Drop unit dims and merge dims that are contiguous in the source.
  int64_t d[kMaxRank], s[kMaxRank];
  int n = 0;
  for (int k = 0; k < rank; ++k) {
    if (dims[k] == 0) return;
    if (dims[k] == 1) continue;
    if (n > 0 && s[n - 1] == src_strides[k] * dims[k]) {
      d[n - 1] *= dims[k];
      s[n - 1] = src_strides[k];
    } else {
      d[n] = dims[k];
      s[n] = src_strides[k];
      ++n;
    }
  }
  if (n == 0) {
    std::memcpy(dst, src, elem_size);
    return;
  }
  DYNRT_DISPATCH_BYTES(elem_size, "strided copy", {
    auto* o = static_cast<E*>(dst);
    const auto* p = static_cast<const E*>(src);
    if (!copy_tiled(o, p, n, d, s)) copy_rows(o, p, n, d, s);
  });
}

namespace {

int64_t norm_axis(int64_t a, int rank, const char* op) {
  if (a < -rank || a >= rank) throw Error(ErrorCode::kInvalidInput, std::string(op) + ": axis out of range");
  return a < 0 ? a + rank : a;
}

void copy_all(const TensorView& in, const TensorView& out) {
  if (in.data != out.data && in.nbytes() > 0) std::memcpy(out.data, in.data, in.nbytes());
}

// Permute a tensor viewed with dims v (contiguous) by perm into out.
void permute(const TensorView& in, const TensorView& out, int rank, const int64_t* v, const int64_t* perm) {
  int64_t vs[kMaxRank], od[kMaxRank], ss[kMaxRank];
  int64_t st = 1;
  for (int k = rank - 1; k >= 0; --k) {
    vs[k] = st;
    st *= v[k];
  }
  for (int k = 0; k < rank; ++k) {
    od[k] = v[perm[k]];
    ss[k] = vs[perm[k]];
  }
  strided_copy(out.data, in.data, dtype_size(in.dtype), rank, od, ss);
}

std::unique_ptr<Kernel> make_transpose(const KernelInit& init) {
  std::vector<int64_t> perm = TransposeAttrs::parse(init).perm;
  return make_kernel([perm](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t p[kMaxRank];
    for (int k = 0; k < x.rank; ++k)
      p[k] = perm.empty() ? x.rank - 1 - k : norm_axis(perm[static_cast<size_t>(k)], x.rank, "Transpose");
    permute(x, y, x.rank, x.dims.data(), p);
  });
}

std::unique_ptr<Kernel> make_concat(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  return make_kernel([axis_attr](KernelContext& c) {
    const TensorView& y = c.out(0);
    auto axis = static_cast<int>(norm_axis(axis_attr, y.rank, "Concat"));
    size_t es = dtype_size(y.dtype);
    int64_t outer = prod(y.dims.data(), 0, axis), inner = prod(y.dims.data(), axis + 1, y.rank);
    int64_t row = y.dims[static_cast<size_t>(axis)] * inner;
    auto* dst = static_cast<std::byte*>(y.data);
    int64_t at = 0;
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      const TensorView& x = c.in(i);
      int64_t blk = x.dims[static_cast<size_t>(axis)] * inner;
      if (blk > 0) {
        const auto* src = static_cast<const std::byte*>(x.data);
        auto bytes = static_cast<size_t>(blk) * es;
        parallel_for(outer, std::max<int64_t>(1, 65536 / static_cast<int64_t>(bytes)), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o)
            std::memcpy(dst + static_cast<size_t>(o * row + at) * es, src + static_cast<size_t>(o) * bytes, bytes);
        });
      }
      at += blk;
    }
  });
}

// Output sizes come from the schema (src/ops/shape_fns.h), also when the
// split sizes are a tensor known only while running.
std::unique_ptr<Kernel> make_split(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  return make_kernel([axis_attr](KernelContext& c) {
    const TensorView& x = c.in(0);
    auto axis = static_cast<int>(norm_axis(axis_attr, x.rank, "Split"));
    size_t es = dtype_size(x.dtype);
    int64_t outer = prod(x.dims.data(), 0, axis), inner = prod(x.dims.data(), axis + 1, x.rank);
    int64_t row = x.dims[static_cast<size_t>(axis)] * inner;
    const auto* src = static_cast<const std::byte*>(x.data);
    int64_t at = 0;
    for (size_t i = 0; i < c.outputs.size(); ++i) {
      const TensorView& y = c.out(i);
      if (y.dtype == DType::kUndefined) continue;  // omitted output
      int64_t blk = y.dims[static_cast<size_t>(axis)] * inner;
      if (at + blk > row) throw Error(ErrorCode::kInternal, "Split: output sizes exceed the input");
      if (blk > 0) {
        auto* dst = static_cast<std::byte*>(y.data);
        auto bytes = static_cast<size_t>(blk) * es;
        parallel_for(outer, std::max<int64_t>(1, 65536 / static_cast<int64_t>(bytes)), [&](int64_t b, int64_t e) {
          for (int64_t o = b; o < e; ++o)
            std::memcpy(dst + static_cast<size_t>(o) * bytes, src + static_cast<size_t>(o * row + at) * es, bytes);
        });
      }
      at += blk;
    }
  });
}

// ONNX Slice clamping for one axis: returns the first index; count via size.
std::unique_ptr<Kernel> make_slice(const KernelInit& init) {
  bool attrs = init.opset() < 10;
  SliceAttrs slice = SliceAttrs::parse(init);
  std::vector<int64_t> a_starts = slice.starts, a_ends = slice.ends, a_axes = slice.axes;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    std::vector<int64_t> starts = a_starts, ends = a_ends, axes = a_axes, steps;
    if (!attrs) {
      starts = read_ints(c.in(1));
      ends = read_ints(c.in(2));
      axes = c.has_in(3) ? read_ints(c.in(3)) : std::vector<int64_t>{};
      if (c.has_in(4)) steps = read_ints(c.in(4));
    }
    // The output is shaped by the schema (run_shape_slice while running);
    // the plan gives where to read.
    shapefn::SlicePlan plan = shapefn::slice_plan(x.shape(), starts, ends, axes, steps);
    int64_t xs[kMaxRank], first[kMaxRank] = {}, ss[kMaxRank];
    contiguous_strides(x, xs);
    for (int k = 0; k < x.rank; ++k) {
      first[k] = plan.first[static_cast<size_t>(k)];
      ss[k] = xs[k] * plan.step[static_cast<size_t>(k)];
    }
    if (y.numel() == 0) return;
    size_t es = dtype_size(x.dtype);
    int64_t off = 0;
    for (int k = 0; k < x.rank; ++k) off += first[k] * xs[k];
    strided_copy(y.data, static_cast<const std::byte*>(x.data) + off * static_cast<int64_t>(es), es, y.rank,
                 y.dims.data(), ss);
  });
}

// Squeeze / Unsqueeze: a copy (or nothing, when the runtime aliases the
// output); the output shape comes from the schema's shape function.
std::unique_ptr<Kernel> make_squeeze(const KernelInit&) {
  return make_kernel([](KernelContext& c) { copy_all(c.in(0), c.out(0)); });
}

std::unique_ptr<Kernel> make_tile(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (y.numel() == 0) return;
    size_t es = dtype_size(x.dtype);
    if (x.rank == 0) {
      copy_all(x, y);
      return;
    }
    int r = x.rank;
    int64_t xs[kMaxRank];
    contiguous_strides(x, xs);
    int64_t in_inner = x.dims[static_cast<size_t>(r - 1)], out_inner = y.dims[static_cast<size_t>(r - 1)];
    int64_t rows = prod(y.dims.data(), 0, r - 1);
    const auto* src = static_cast<const std::byte*>(x.data);
    auto* dst = static_cast<std::byte*>(y.data);
    auto row_bytes = static_cast<size_t>(in_inner) * es;
    parallel_for(rows, std::max<int64_t>(1, 16384 / out_inner), [&](int64_t b, int64_t e) {
      for (int64_t rix = b; rix < e; ++rix) {
        int64_t rem = rix, off = 0;
        for (int k = r - 2; k >= 0; --k) {
          int64_t i = rem % y.dims[static_cast<size_t>(k)];
          rem /= y.dims[static_cast<size_t>(k)];
          off += (i % x.dims[static_cast<size_t>(k)]) * xs[k];
        }
        std::byte* o = dst + static_cast<size_t>(rix * out_inner) * es;
        for (int64_t j = 0; j < out_inner; j += in_inner)
          std::memcpy(o + static_cast<size_t>(j) * es, src + static_cast<size_t>(off) * es, row_bytes);
      }
    });
  });
}

// Source index along one axis of Pad for output index o, -1 for the fill value.
int64_t pad_source(int64_t o, int64_t lo, int64_t d, int mode) {
  int64_t i = o - lo;
  if (i >= 0 && i < d) return i;
  switch (mode) {
    case 0: return -1;                                 // constant
    case 1: return std::clamp<int64_t>(i, 0, d - 1);   // edge
    case 2: {                                          // reflect (edge not repeated)
      if (d == 1) return 0;
      int64_t period = 2 * (d - 1);
      int64_t m = ((i % period) + period) % period;
      return m < d ? m : period - m;
    }
    default: return ((i % d) + d) % d;                 // wrap
  }
}

std::unique_ptr<Kernel> make_pad(const KernelInit& init) {
  int64_t opset = init.opset();
  PadAttrs attrs = PadAttrs::parse(init);
  std::string mode_s = attrs.mode;
  int mode = mode_s == "constant" ? 0 : mode_s == "edge" ? 1 : mode_s == "reflect" ? 2 : 3;
  std::vector<int64_t> a_pads = attrs.pads;
  float a_value = attrs.value;
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int r = x.rank;
    size_t es = dtype_size(x.dtype);
    std::vector<int64_t> pads = opset < 11 ? a_pads : read_ints(c.in(1));
    std::vector<int64_t> axes;
    if (opset >= 18 && c.has_in(3))
      for (int64_t a : read_ints(c.in(3))) axes.push_back(norm_axis(a, r, "Pad"));
    else
      for (int k = 0; k < r; ++k) axes.push_back(k);
    if (pads.size() != 2 * axes.size())
      throw Error(ErrorCode::kInvalidInput, "Pad: " + std::to_string(pads.size()) + " pads for " +
                                                std::to_string(axes.size()) + " axes");
    // The output is already shaped (the schema's shape function); the kernel
    // needs only where each axis's data starts.
    std::vector<int64_t> lo(static_cast<size_t>(r), 0);
    for (size_t i = 0; i < axes.size(); ++i) lo[static_cast<size_t>(axes[i])] = pads[i];
    // Fill value as raw bytes of the element type.
    uint64_t fill = 0;
    if (opset >= 11 && c.has_in(2) && c.in(2).numel() > 0) {
      std::memcpy(&fill, c.in(2).data, es);
    } else if (opset < 11 && a_value != 0.f) {
      DYNRT_DISPATCH_NUMERIC(x.dtype, "Pad", {
        T v = static_cast<T>(a_value);
        std::memcpy(&fill, &v, sizeof(T));
      });
    }
    if (y.numel() == 0) return;
    // Per-axis source index tables.
    std::vector<std::vector<int64_t>> map(static_cast<size_t>(r));
    for (int k = 0; k < r; ++k) {
      auto ku = static_cast<size_t>(k);
      if (mode != 0 && (lo[ku] < 0 || y.dims[ku] - x.dims[ku] - lo[ku] < 0))
        throw Error(ErrorCode::kUnsupported, "Pad: negative pads with mode '" + mode_s + "'");
      bool padded = y.dims[ku] != x.dims[ku] || lo[ku] != 0;
      if (padded && mode != 0 && x.dims[ku] < (mode == 2 ? 2 : 1))
        throw Error(ErrorCode::kInvalidInput, "Pad: dimension " + std::to_string(k) + " of size " +
                                                  std::to_string(x.dims[ku]) + " is too small for mode '" + mode_s + "'");
      map[ku].resize(static_cast<size_t>(y.dims[ku]));
      for (int64_t o = 0; o < y.dims[ku]; ++o) map[ku][static_cast<size_t>(o)] = pad_source(o, lo[ku], x.dims[ku], mode);
    }
    int64_t xs[kMaxRank];
    contiguous_strides(x, xs);
    if (r == 0) {
      copy_all(x, y);
      return;
    }
    int64_t inner = y.dims[static_cast<size_t>(r - 1)];
    const std::vector<int64_t>& last = map[static_cast<size_t>(r - 1)];
    int64_t rows = prod(y.dims.data(), 0, r - 1);
    DYNRT_DISPATCH_BYTES(es, "Pad", {
      E fv;
      std::memcpy(&fv, &fill, sizeof(E));
      const E* src = x.as<const E>();
      E* dst = y.as<E>();
      parallel_for(rows, std::max<int64_t>(1, 16384 / inner), [&](int64_t b, int64_t e) {
        for (int64_t rix = b; rix < e; ++rix) {
          int64_t rem = rix, off = 0;
          bool filled = false;
          for (int k = r - 2; k >= 0; --k) {
            auto ku = static_cast<size_t>(k);
            int64_t i = map[ku][static_cast<size_t>(rem % y.dims[ku])];
            rem /= y.dims[ku];
            if (i < 0) filled = true;
            off += i * xs[k];
          }
          E* o = dst + rix * inner;
          if (filled) {
            std::fill(o, o + inner, fv);
            continue;
          }
          const E* p = src + off;
          for (int64_t j = 0; j < inner; ++j) {
            int64_t i = last[static_cast<size_t>(j)];
            o[j] = i < 0 ? fv : p[i];
          }
        }
      });
    });
  });
}

std::unique_ptr<Kernel> make_trilu(const KernelInit& init) {
  bool upper = init.attr_int("upper", 1) != 0;
  return make_kernel([upper](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t k = c.has_in(1) && c.in(1).numel() > 0 ? index_at(c.in(1), 0) : 0;
    int64_t n = x.dims[static_cast<size_t>(x.rank - 2)], m = x.dims[static_cast<size_t>(x.rank - 1)];
    int64_t rows = prod(x.dims.data(), 0, x.rank - 1);
    size_t es = dtype_size(x.dtype);
    const auto* src = static_cast<const std::byte*>(x.data);
    auto* dst = static_cast<std::byte*>(y.data);
    parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(m, 1)), [&](int64_t b, int64_t e) {
      for (int64_t rix = b; rix < e; ++rix) {
        int64_t i = rix % n;
        // Kept columns: j >= i + k (upper) or j <= i + k (lower).
        int64_t j0 = upper ? std::clamp<int64_t>(i + k, 0, m) : 0;
        int64_t j1 = upper ? m : std::clamp<int64_t>(i + k + 1, 0, m);
        auto base = static_cast<size_t>(rix * m) * es;
        std::memset(dst + base, 0, static_cast<size_t>(m) * es);
        if (j1 > j0)
          std::memcpy(dst + base + static_cast<size_t>(j0) * es, src + base + static_cast<size_t>(j0) * es,
                      static_cast<size_t>(j1 - j0) * es);
      }
    });
  });
}

std::unique_ptr<Kernel> make_depth_to_space(const KernelInit& init) {
  BlockAttrs attrs = BlockAttrs::parse(init);
  int64_t b = attrs.blocksize;
  bool crd = attrs.mode == "CRD";
  bool to_depth = init.op() == "SpaceToDepth";
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t n = x.dims[0], ch = x.dims[1], h = x.dims[2], w = x.dims[3];
    if (to_depth) {
      int64_t v[6] = {n, ch, h / b, b, w / b, b}, p[6] = {0, 3, 5, 1, 2, 4}, p_crd[6] = {0, 1, 3, 5, 2, 4};
      permute(x, y, 6, v, crd ? p_crd : p);  // mode (opset 28): CRD keeps channels outermost
    } else if (crd) {
      int64_t v[6] = {n, ch / (b * b), b, b, h, w}, p[6] = {0, 1, 4, 2, 5, 3};
      permute(x, y, 6, v, p);
    } else {
      int64_t v[6] = {n, b, b, ch / (b * b), h, w}, p[6] = {0, 3, 4, 1, 5, 2};
      permute(x, y, 6, v, p);
    }
  });
}

}  // namespace

}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_movement_kernels(KernelRegistry& r) {
  using namespace cpu;
  r.add_kernel("Transpose", make_transpose);
  r.add_kernel("Concat", make_concat);
  r.add_kernel("Split", make_split);
  r.add_kernel("Slice", make_slice);
  r.add_kernel("Squeeze", make_squeeze);
  r.add_kernel("Unsqueeze", make_squeeze);
  r.add_kernel("Tile", make_tile);
  r.add_kernel("Pad", make_pad);
  r.add_kernel("Trilu", make_trilu);
  r.add_kernel("DepthToSpace", make_depth_to_space);
  r.add_kernel("SpaceToDepth", make_depth_to_space);
}

}  // namespace dynrt
