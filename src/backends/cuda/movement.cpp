// CUDA kernels for data movement: views, Transpose, Concat, Split, Slice,
// Gather, GatherElements, GatherND, Pad, Tile, Trilu, DepthToSpace,
// SpaceToDepth. Elements move by size, so every dtype of 1, 2, 4 or 8 bytes
// works. Semantics follow the CPU kernels (src/backends/cpu/movement.cpp,
// indexing.cpp, shape.cpp). An out-of-range gather index sets the stream's
// error flag (the indices are on the device): the run fails with
// kInvalidInput when the stream is next synchronized.
#include <algorithm>
#include <cstring>
#include <span>
#include <string>
#include <vector>

#include "backends/cuda/cuda_util.h"
#include "backends/cuda/kernels.h"
#include "backends/cuda/movement_launch.h"
#include "core/half.h"
#include "ops/attrs.h"
#include "ops/shape_fns.h"

namespace dynrt::cuda {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

bool movable(DType t) {
  switch (t) {
    case DType::kFloat32:
    case DType::kFloat16:
    case DType::kBFloat16:
    case DType::kFloat64:
    case DType::kInt8:
    case DType::kUInt8:
    case DType::kInt16:
    case DType::kUInt16:
    case DType::kInt32:
    case DType::kUInt32:
    case DType::kInt64:
    case DType::kUInt64:
    case DType::kBool: return true;
    default: return false;
  }
}

bool is_index(DType t) { return t == DType::kInt32 || t == DType::kInt64; }

// What every kernel here needs: a movable input 0 of rank <= 8, and a node
// that is not small shape arithmetic (that stays on the host).
bool movable_node(const KernelInit& n) {
  return n.has_input(0) && movable(n.input_dtype(0)) && n.input_rank(0) <= static_cast<size_t>(kMaxDims) &&
         !shape_math(n);
}

int esize(const TensorView& v) { return static_cast<int>(dtype_size(v.dtype)); }

int64_t prod(const TensorView& v, int b, int e) {
  int64_t n = 1;
  for (int i = b; i < e; ++i) n *= v.dim(i);
  return n;
}

int64_t norm_axis(int64_t a, int rank, const char* op) {
  if (a < -rank || a >= rank) throw Error(ErrorCode::kInvalidInput, std::string(op) + ": axis out of range");
  return a < 0 ? a + rank : a;
}

// A host input (the schema's host_inputs) of int32 or int64 values.
std::vector<int64_t> host_ints(const TensorView& v, const char* op) {
  std::vector<int64_t> out(sz(v.numel()));
  if (v.dtype == DType::kInt64) {
    if (!out.empty()) std::memcpy(out.data(), v.data, out.size() * sizeof(int64_t));
  } else if (v.dtype == DType::kInt32) {
    for (size_t i = 0; i < out.size(); ++i) out[i] = v.as<const int32_t>()[i];
  } else {
    throw Error(ErrorCode::kInvalidInput, std::string(op) + ": expected int32 or int64 values, got " +
                                              dtype_name(v.dtype));
  }
  return out;
}

// Runs the strided copy: dst (contiguous, s.dims) <- src.
void strided(const KernelContext& c, void* dst, const void* src, int es, const Strided& s, const char* what) {
  launch_strided_copy(dst, src, es, s, stream_of(c).get());
  check(cudaGetLastError(), what);
}

// y <- x viewed with contiguous dims v (rank entries), permuted by perm.
void permute(const KernelContext& c, const TensorView& x, const TensorView& y, int rank, const int64_t* v,
             const int64_t* perm, const char* what) {
  int64_t vs[kMaxDims];
  int64_t st = 1;
  for (int k = rank - 1; k >= 0; --k) {
    vs[k] = st;
    st *= v[k];
  }
  Strided s;
  s.rank = rank;
  for (int k = 0; k < rank; ++k) {
    s.dims[k] = v[perm[k]];
    s.strides[k] = vs[perm[k]];
  }
  strided(c, y.data, x.data, esize(x), s, what);
}

// ---- views ------------------------------------------------------------------------

// Identity, Reshape, Flatten, Squeeze, Unsqueeze: the runtime usually aliases
// the output; when it cannot, a device-to-device copy.
std::unique_ptr<Kernel> make_view_copy(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (x.data == y.data || x.nbytes() == 0) return;
    check(cudaMemcpyAsync(y.data, x.data, x.nbytes(), cudaMemcpyDeviceToDevice, stream_of(c).get()), "a view copy");
  });
}

// ---- Transpose, DepthToSpace, SpaceToDepth ------------------------------------------

std::unique_ptr<Kernel> make_transpose(const KernelInit& init) {
  std::vector<int64_t> perm = TransposeAttrs::parse(init).perm;
  return make_kernel([perm](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (!perm.empty() && perm.size() != sz(x.rank))
      throw Error(ErrorCode::kInvalidInput, "Transpose: perm length differs from the rank");
    int64_t p[kMaxDims];
    for (int k = 0; k < x.rank; ++k)
      p[k] = perm.empty() ? x.rank - 1 - k : norm_axis(perm[sz(k)], x.rank, "Transpose");
    permute(c, x, y, x.rank, x.dims.data(), p, "Transpose kernel");
  });
}

bool supports_transpose(const KernelInit& n) {
  if (!movable_node(n)) return false;
  std::vector<int64_t> perm = TransposeAttrs::parse(n).perm;
  return perm.empty() || perm.size() == n.input_rank(0);
}

std::unique_ptr<Kernel> make_depth_to_space(const KernelInit& init) {
  BlockAttrs attrs = BlockAttrs::parse(init);
  int64_t b = attrs.blocksize;
  bool crd = attrs.mode == "CRD";
  bool to_depth = init.op() == "SpaceToDepth";
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int64_t n = x.dims[0], ch = x.dims[1], h = x.dims[2], w = x.dims[3];
    if (to_depth) {  // mode (opset 28): CRD keeps channels outermost
      int64_t v[6] = {n, ch, h / b, b, w / b, b}, p[6] = {0, 3, 5, 1, 2, 4}, p_crd[6] = {0, 1, 3, 5, 2, 4};
      permute(c, x, y, 6, v, crd ? p_crd : p, "SpaceToDepth kernel");
    } else if (crd) {
      int64_t v[6] = {n, ch / (b * b), b, b, h, w}, p[6] = {0, 1, 4, 2, 5, 3};
      permute(c, x, y, 6, v, p, "DepthToSpace kernel");
    } else {
      int64_t v[6] = {n, b, b, ch / (b * b), h, w}, p[6] = {0, 3, 4, 1, 5, 2};
      permute(c, x, y, 6, v, p, "DepthToSpace kernel");
    }
  });
}

bool supports_depth_to_space(const KernelInit& n) {
  if (!movable_node(n) || n.input_rank(0) != 4) return false;
  BlockAttrs a = BlockAttrs::parse(n);
  return a.blocksize > 0 && (a.mode == "DCR" || a.mode == "CRD");
}

// ---- Concat, Split ------------------------------------------------------------------

// Concat and Split move the same blocks, in opposite directions, between a
// whole tensor and its pieces along `axis` (piece extents are final: for
// Split from the schema's shape function, also for sizes read at run time).
void move_pieces(KernelContext& c, const TensorView& whole, std::span<const TensorView> pieces, int64_t axis_attr,
                 bool into_whole, const char* op) {
  auto axis = static_cast<int>(norm_axis(axis_attr, whole.rank, op));
  int es = esize(whole);
  int64_t outer = prod(whole, 0, axis), inner = prod(whole, axis + 1, whole.rank);
  int64_t row = whole.dim(axis) * inner;
  std::vector<RowCopy> copies;
  int64_t at = 0;
  for (const TensorView& piece : pieces) {
    int64_t blk = piece.dim(axis) * inner;
    if (at + blk > row) throw Error(ErrorCode::kInternal, std::string(op) + ": the pieces exceed the whole tensor");
    if (blk > 0 && outer > 0) {
      auto* w = static_cast<std::byte*>(whole.data) + at * es;
      RowCopy rc;
      rc.src = into_whole ? piece.data : w;
      rc.dst = into_whole ? w : piece.data;
      rc.rows = outer;
      rc.width = blk;
      rc.src_pitch = into_whole ? blk : row;
      rc.dst_pitch = into_whole ? row : blk;
      copies.push_back(rc);
    }
    at += blk;
  }
  if (copies.empty()) return;
  launch_row_copies(copies.data(), static_cast<int>(copies.size()), es, stream_of(c).get());
  check(cudaGetLastError(), op);
}

std::unique_ptr<Kernel> make_concat(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  return make_kernel([axis_attr](KernelContext& c) { move_pieces(c, c.out(0), c.inputs, axis_attr, true, "Concat"); });
}

bool supports_concat(const KernelInit& n) {
  if (!movable_node(n) || n.input_rank(0) == 0) return false;
  for (size_t i = 0; i < n.num_inputs(); ++i)
    if (!n.has_input(i) || n.input_dtype(i) != n.input_dtype(0) || n.input_rank(i) != n.input_rank(0)) return false;
  return true;
}

std::unique_ptr<Kernel> make_split(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  return make_kernel([axis_attr](KernelContext& c) { move_pieces(c, c.in(0), c.outputs, axis_attr, false, "Split"); });
}

bool supports_split(const KernelInit& n) {
  if (!movable_node(n) || n.input_rank(0) == 0) return false;
  for (size_t i = 0; i < n.num_outputs(); ++i)  // an omitted output's extent is unknown: leave it to the CPU
    if (!n.has_output(i)) return false;
  return true;
}

// ---- Slice ----------------------------------------------------------------------------

std::unique_ptr<Kernel> make_slice(const KernelInit& init) {
  bool attrs = init.opset() < 10;
  SliceAttrs slice = SliceAttrs::parse(init);
  return make_kernel([attrs, slice](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    std::vector<int64_t> starts = slice.starts, ends = slice.ends, axes = slice.axes, steps;
    if (!attrs) {
      starts = host_ints(c.in(1), "Slice");
      ends = host_ints(c.in(2), "Slice");
      axes = c.has_in(3) ? host_ints(c.in(3), "Slice") : std::vector<int64_t>{};
      if (c.has_in(4)) steps = host_ints(c.in(4), "Slice");
    }
    shapefn::SlicePlan plan = shapefn::slice_plan(x.shape(), starts, ends, axes, steps);
    if (y.rank != x.rank) throw Error(ErrorCode::kInternal, "Slice: output rank differs from the input");
    for (int k = 0; k < x.rank; ++k)
      if (plan.dims[sz(k)] != y.dim(k)) throw Error(ErrorCode::kInternal, "Slice: output shape differs from the plan");
    if (y.numel() == 0) return;
    int es = esize(x);
    Strided s;
    s.rank = x.rank;
    int64_t stride = 1, off = 0;
    for (int k = x.rank - 1; k >= 0; --k) {
      s.dims[k] = y.dim(k);
      s.strides[k] = stride * plan.step[sz(k)];
      off += plan.first[sz(k)] * stride;
      stride *= x.dim(k);
    }
    strided(c, y.data, static_cast<const std::byte*>(x.data) + off * es, es, s, "Slice kernel");
  });
}

// ---- Gather, GatherElements, GatherND --------------------------------------------------

std::unique_ptr<Kernel> make_gather(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  std::string bad = init.label() + ": an index is out of range";
  return make_kernel([axis_attr, bad](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &y = c.out(0);
    auto axis = static_cast<int>(norm_axis(axis_attr, x.rank, "Gather"));
    if (y.numel() == 0) return;
    Stream& s = stream_of(c);
    launch_gather(y.data, x.data, ind.data, ind.dtype == DType::kInt64, esize(x), prod(x, 0, axis), x.dim(axis),
                  ind.numel(), prod(x, axis + 1, x.rank), s.error_flag(bad), s.get());
    check(cudaGetLastError(), "Gather kernel");
  });
}

bool supports_gather(const KernelInit& n) {
  return movable_node(n) && n.input_rank(0) >= 1 && n.has_input(1) && is_index(n.input_dtype(1));
}

std::unique_ptr<Kernel> make_gather_elements(const KernelInit& init) {
  int64_t axis_attr = AxisAttrs::parse(init).axis;
  std::string bad = init.label() + ": an index is out of range";
  return make_kernel([axis_attr, bad](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &y = c.out(0);
    auto axis = static_cast<int>(norm_axis(axis_attr, x.rank, "GatherElements"));
    if (ind.rank != x.rank) throw Error(ErrorCode::kInvalidInput, "GatherElements: data and indices ranks differ");
    if (y.numel() == 0) return;
    Strided s = contiguous(x);  // the data's strides over the indices' dims
    for (int k = 0; k < ind.rank; ++k) s.dims[k] = ind.dim(k);
    Stream& st = stream_of(c);
    launch_gather_elements(y.data, x.data, ind.data, ind.dtype == DType::kInt64, esize(x), s, axis, x.dim(axis),
                           st.error_flag(bad), st.get());
    check(cudaGetLastError(), "GatherElements kernel");
  });
}

bool supports_gather_elements(const KernelInit& n) {
  return movable_node(n) && n.input_rank(0) >= 1 && n.has_input(1) && is_index(n.input_dtype(1)) &&
         n.input_rank(1) == n.input_rank(0);
}

std::unique_ptr<Kernel> make_gather_nd(const KernelInit& init) {
  auto b = static_cast<int>(GatherNDAttrs::parse(init).batch_dims);
  std::string bad = init.label() + ": an index is out of range";
  return make_kernel([b, bad](KernelContext& c) {
    const TensorView &x = c.in(0), &ind = c.in(1), &y = c.out(0);
    if (ind.rank < 1 || b < 0 || b >= std::min(x.rank, ind.rank))
      throw Error(ErrorCode::kInvalidInput, "GatherND: batch_dims out of range");
    int64_t last = ind.dim(ind.rank - 1);
    if (last < 1 || last > x.rank - b) throw Error(ErrorCode::kInvalidInput, "GatherND: last dim of indices out of range");
    if (y.numel() == 0) return;
    GatherNDDesc d;
    d.last = static_cast<int>(last);
    int64_t ds[kMaxDims];
    int64_t stride = 1;
    for (int k = x.rank - 1; k >= 0; --k) {
      ds[k] = stride;
      stride *= x.dim(k);
    }
    for (int t = 0; t < d.last; ++t) {
      d.dims[t] = x.dim(b + t);
      d.strides[t] = ds[b + t];
    }
    d.batch_stride = prod(x, b, x.rank);
    d.tuples_per_batch = prod(ind, b, ind.rank - 1);
    d.slice = prod(x, b + d.last, x.rank);
    d.tuples = prod(ind, 0, ind.rank - 1);
    Stream& s = stream_of(c);
    launch_gather_nd(y.data, x.data, ind.as<const int64_t>(), esize(x), d, s.error_flag(bad), s.get());
    check(cudaGetLastError(), "GatherND kernel");
  });
}

bool supports_gather_nd(const KernelInit& n) {
  return movable_node(n) && n.input_rank(0) >= 1 && n.has_input(1) && n.input_dtype(1) == DType::kInt64 &&
         n.input_rank(1) >= 1;
}

// ---- Pad, Tile, Trilu ---------------------------------------------------------------------

// The bytes of `v` converted to t (Pad's `value` attribute before opset 11).
uint64_t value_bits(float v, DType t) {
  uint64_t bits = 0;
  auto put = [&bits](auto x) { std::memcpy(&bits, &x, sizeof(x)); };
  switch (t) {
    case DType::kFloat32: put(v); break;
    case DType::kFloat64: put(static_cast<double>(v)); break;
    case DType::kFloat16: put(float_to_half(v)); break;
    case DType::kBFloat16: put(float_to_bf16(v)); break;
    case DType::kInt8: put(static_cast<int8_t>(v)); break;
    case DType::kUInt8: put(static_cast<uint8_t>(v)); break;
    case DType::kInt16: put(static_cast<int16_t>(v)); break;
    case DType::kUInt16: put(static_cast<uint16_t>(v)); break;
    case DType::kInt32: put(static_cast<int32_t>(v)); break;
    case DType::kUInt32: put(static_cast<uint32_t>(v)); break;
    case DType::kInt64: put(static_cast<int64_t>(v)); break;
    case DType::kUInt64: put(static_cast<uint64_t>(v)); break;
    case DType::kBool: put(static_cast<uint8_t>(v != 0.f)); break;
    default: throw Error(ErrorCode::kUnsupported, std::string("Pad: value for dtype ") + dtype_name(t));
  }
  return bits;
}

int pad_mode(const std::string& m) { return m == "constant" ? 0 : m == "edge" ? 1 : m == "reflect" ? 2 : 3; }

std::unique_ptr<Kernel> make_pad(const KernelInit& init) {
  int64_t opset = init.opset();
  PadAttrs attrs = PadAttrs::parse(init);
  std::string mode_s = attrs.mode;
  int mode = pad_mode(mode_s);
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    int r = x.rank;
    std::vector<int64_t> pads = opset < 11 ? attrs.pads : host_ints(c.in(1), "Pad");
    std::vector<int64_t> axes;
    if (opset >= 18 && c.has_in(3))
      for (int64_t a : host_ints(c.in(3), "Pad")) axes.push_back(norm_axis(a, r, "Pad"));
    else
      for (int k = 0; k < r; ++k) axes.push_back(k);
    if (pads.size() != 2 * axes.size())
      throw Error(ErrorCode::kInvalidInput, "Pad: " + std::to_string(pads.size()) + " pads for " +
                                                std::to_string(axes.size()) + " axes");
    PadDesc d;
    d.rank = r;
    d.mode = mode;
    for (size_t i = 0; i < axes.size(); ++i) d.lo[axes[i]] = pads[i];
    // The fill value: the device element of input 2, or the attribute.
    const void* fill_device = nullptr;
    uint64_t fill_bits = 0;
    if (opset >= 11 && c.has_in(2) && c.in(2).numel() > 0) {
      if (c.in(2).dtype != x.dtype) throw Error(ErrorCode::kInvalidInput, "Pad: constant_value type differs from data");
      fill_device = c.in(2).data;
    } else if (opset < 11 && attrs.value != 0.f) {
      fill_bits = value_bits(attrs.value, x.dtype);
    }
    if (y.numel() == 0) return;
    if (y.rank != r) throw Error(ErrorCode::kInternal, "Pad: output rank differs from the input");
    int64_t stride = 1;
    for (int k = r - 1; k >= 0; --k) {
      if (mode != 0 && (d.lo[k] < 0 || y.dim(k) - x.dim(k) - d.lo[k] < 0))
        throw Error(ErrorCode::kUnsupported, "Pad: negative pads with mode '" + mode_s + "'");
      bool padded = y.dim(k) != x.dim(k) || d.lo[k] != 0;
      if (padded && mode != 0 && x.dim(k) < (mode == 2 ? 2 : 1))
        throw Error(ErrorCode::kInvalidInput, "Pad: dimension " + std::to_string(k) + " of size " +
                                                  std::to_string(x.dim(k)) + " is too small for mode '" + mode_s + "'");
      d.out_dims[k] = y.dim(k);
      d.in_dims[k] = x.dim(k);
      d.in_strides[k] = stride;
      stride *= x.dim(k);
    }
    launch_pad(y.data, x.data, esize(x), d, fill_device, fill_bits, stream_of(c).get());
    check(cudaGetLastError(), "Pad kernel");
  });
}

bool supports_pad(const KernelInit& n) {
  if (!movable_node(n)) return false;
  std::string m = PadAttrs::parse(n).mode;
  if (m != "constant" && m != "reflect" && m != "edge" && m != "wrap") return false;
  if (n.opset() >= 11 && n.has_input(2) && n.input_dtype(2) != n.input_dtype(0)) return false;
  return true;
}

std::unique_ptr<Kernel> make_tile(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (y.numel() == 0) return;
    if (y.rank != x.rank) throw Error(ErrorCode::kInternal, "Tile: output rank differs from the input");
    TileDesc d;
    d.rank = x.rank;
    int64_t stride = 1;
    for (int k = x.rank - 1; k >= 0; --k) {
      d.out_dims[k] = y.dim(k);
      d.in_dims[k] = x.dim(k);
      d.in_strides[k] = stride;
      stride *= x.dim(k);
    }
    launch_tile(y.data, x.data, esize(x), d, stream_of(c).get());
    check(cudaGetLastError(), "Tile kernel");
  });
}

std::unique_ptr<Kernel> make_trilu(const KernelInit& init) {
  bool upper = init.attr_int("upper", 1) != 0;
  return make_kernel([upper](KernelContext& c) {
    const TensorView &x = c.in(0), &y = c.out(0);
    if (y.numel() == 0) return;
    bool has_k = c.has_in(1) && c.in(1).numel() > 0;
    if (has_k && !is_index(c.in(1).dtype)) throw Error(ErrorCode::kInvalidInput, "Trilu: k must be int64");
    launch_trilu(y.data, x.data, esize(x), prod(x, 0, x.rank - 2), x.dim(x.rank - 2), x.dim(x.rank - 1), upper,
                 has_k ? c.in(1).data : nullptr, has_k && c.in(1).dtype == DType::kInt64, stream_of(c).get());
    check(cudaGetLastError(), "Trilu kernel");
  });
}

bool supports_trilu(const KernelInit& n) {
  return movable_node(n) && n.input_rank(0) >= 2 && (!n.has_input(1) || is_index(n.input_dtype(1)));
}

}  // namespace

void register_movement_kernels(KernelRegistry& r) {
  for (const char* op : {"Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze"})
    r.add_kernel(op, make_view_copy, movable_node, "");
  r.add_kernel("Transpose", make_transpose, supports_transpose, "");
  r.add_kernel("DepthToSpace", make_depth_to_space, supports_depth_to_space, "");
  r.add_kernel("SpaceToDepth", make_depth_to_space, supports_depth_to_space, "");
  r.add_kernel("Concat", make_concat, supports_concat, "");
  r.add_kernel("Split", make_split, supports_split, "");
  r.add_kernel("Slice", make_slice, movable_node, "");
  r.add_kernel("Gather", make_gather, supports_gather, "");
  r.add_kernel("GatherElements", make_gather_elements, supports_gather_elements, "");
  r.add_kernel("GatherND", make_gather_nd, supports_gather_nd, "");
  r.add_kernel("Pad", make_pad, supports_pad, "");
  r.add_kernel("Tile", make_tile, movable_node, "");
  r.add_kernel("Trilu", make_trilu, supports_trilu, "");
}

}  // namespace dynrt::cuda
