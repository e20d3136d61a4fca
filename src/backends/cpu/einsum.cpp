// CPU kernel for Einsum.
//
// Each operand is a strided view with one label per dim. Repeated labels
// (diagonals) and labels no other operand or the output needs are summed out
// first; then operands are contracted left to right. A contraction packs both
// sides as [batch, m, k] x [batch, k, n], skipping the copy when a view
// already has that layout, and multiplies with a register-tiled loop.
// Broadcast (size-1) ellipsis dims read with stride 0.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "backends/cpu/kernel_util.h"
#include "ops/attrs.h"
#include "ops/einsum.h"

namespace dynrt::cpu {
namespace {

template <class T>
struct View {
  const T* data = nullptr;
  std::vector<int> labels;  // may repeat (diagonal)
  std::vector<int64_t> dims, strides;
  std::shared_ptr<std::vector<T>> owned;

  int64_t dim_of(int l) const {
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == l) return dims[i];
    return 1;
  }
  // Stride of a label, summed over repeats; 0 if absent or broadcast (size 1).
  int64_t stride_of(int l) const {
    int64_t s = 0;
    for (size_t i = 0; i < labels.size(); ++i)
      if (labels[i] == l && dims[i] != 1) s += strides[i];
    return s;
  }
  bool has(int l) const { return std::find(labels.begin(), labels.end(), l) != labels.end(); }
};

// Calls f(off_a, off_b) for every index of `dims` (row-major), with offsets
// from two stride vectors; the innermost dim runs as a plain loop.
template <class F>
void walk(const std::vector<int64_t>& dims, const std::vector<int64_t>& sa, const std::vector<int64_t>& sb, F&& f) {
  size_t r = dims.size();
  for (int64_t d : dims)
    if (d == 0) return;
  if (r == 0) return f(int64_t{0}, int64_t{0});
  std::vector<int64_t> idx(r, 0);
  int64_t a = 0, b = 0, n = dims[r - 1], ia = sa[r - 1], ib = sb[r - 1];
  for (;;) {
    for (int64_t i = 0; i < n; ++i) f(a + i * ia, b + i * ib);
    size_t d = r - 1;
    for (;;) {
      if (d == 0) return;
      --d;
      a += sa[d];
      b += sb[d];
      if (++idx[d] < dims[d]) break;
      a -= sa[d] * dims[d];
      b -= sb[d] * dims[d];
      idx[d] = 0;
    }
  }
}

template <class T>
View<T> contiguous(std::vector<int> labels, std::vector<int64_t> dims) {
  View<T> v;
  int64_t n = 1;
  v.strides.resize(dims.size());
  for (size_t i = dims.size(); i-- > 0;) {
    v.strides[i] = n;
    n *= dims[i];
  }
  v.owned = std::make_shared<std::vector<T>>(static_cast<size_t>(n), T(0));
  v.data = v.owned->data();
  v.labels = std::move(labels);
  v.dims = std::move(dims);
  return v;
}

// New contiguous view with labels `out` (each in v, unique), summing over v's
// other labels and taking diagonals of repeated ones.
template <class T>
View<T> reduce_to(const View<T>& v, const std::vector<int>& out) {
  std::vector<int64_t> odims;
  for (int l : out) odims.push_back(v.dim_of(l));
  View<T> r = contiguous<T>(out, odims);
  std::vector<int> uniq;
  for (int l : v.labels)
    if (std::find(uniq.begin(), uniq.end(), l) == uniq.end()) uniq.push_back(l);
  std::vector<int64_t> dims, si, so;
  for (int l : uniq) {
    dims.push_back(v.dim_of(l));
    si.push_back(v.stride_of(l));
    auto it = std::find(out.begin(), out.end(), l);
    so.push_back(it == out.end() ? 0 : r.strides[static_cast<size_t>(it - out.begin())]);
  }
  T* o = r.owned->data();
  walk(dims, si, so, [&](int64_t a, int64_t b) { o[b] += v.data[a]; });
  return r;
}

template <class T>
bool needs_reduce(const View<T>& v, const std::vector<int>& keep) {
  for (size_t i = 0; i < v.labels.size(); ++i) {
    if (std::find(keep.begin(), keep.end(), v.labels[i]) == keep.end()) return true;
    for (size_t j = 0; j < i; ++j)
      if (v.labels[j] == v.labels[i]) return true;
  }
  return false;
}

// Source strides of v read as `order`, and whether that is already the
// contiguous layout of `sizes`.
template <class T>
bool layout(const View<T>& v, const std::vector<int>& order, const std::vector<int64_t>& sizes,
            std::vector<int64_t>& src, std::vector<int64_t>& dst) {
  src.clear();
  dst.assign(order.size(), 0);
  int64_t n = 1;
  for (size_t i = order.size(); i-- > 0;) {
    dst[i] = n;
    n *= sizes[i];
  }
  bool same = true;
  for (size_t i = 0; i < order.size(); ++i) {
    src.push_back(v.dim_of(order[i]) == 1 ? 0 : v.stride_of(order[i]));
    if (sizes[i] != 1 && src[i] != dst[i]) same = false;
  }
  return same;
}

// Pointer to v laid out as `order` (dims `sizes`), copying only if needed.
template <class T>
const T* pack(const View<T>& v, const std::vector<int>& order, const std::vector<int64_t>& sizes, std::vector<T>& buf) {
  std::vector<int64_t> src, dst;
  if (layout(v, order, sizes, src, dst)) return v.data;
  int64_t n = 1;
  for (int64_t d : sizes) n *= d;
  buf.resize(static_cast<size_t>(n));
  T* o = buf.data();
  walk(sizes, src, dst, [&](int64_t a, int64_t b) { o[b] = v.data[a]; });
  return buf.data();
}

template <class E>
std::vector<E> cat(std::vector<E> x, const std::vector<E>& y, const std::vector<E>& z) {
  x.insert(x.end(), y.begin(), y.end());
  x.insert(x.end(), z.begin(), z.end());
  return x;
}

int64_t prod(const std::vector<int64_t>& v) {
  int64_t p = 1;
  for (int64_t d : v) p *= d;
  return p;
}

constexpr int64_t kMR = 4;   // rows of C per micro-tile
constexpr int64_t kNR = 16;  // columns of C per micro-tile (two AVX registers of float)

// C[rows, N] = A[rows, K] * B[K, N], all contiguous; rows <= kMR. Full tiles
// keep their kMR x kNR accumulators in registers.
template <class T>
void gemm_rows(const T* a, const T* b, T* c, int64_t rows, int64_t N, int64_t K) {
  int64_t j0 = 0;
  if (rows == kMR) {
    for (; j0 + kNR <= N; j0 += kNR) {
      T acc[kMR][kNR] = {};
      for (int64_t q = 0; q < K; ++q) {
        const T* br = b + q * N + j0;
        for (int64_t r = 0; r < kMR; ++r) {
          T av = a[r * K + q];
#pragma omp simd
          for (int64_t j = 0; j < kNR; ++j) acc[r][j] += av * br[j];
        }
      }
      for (int64_t r = 0; r < kMR; ++r)
        for (int64_t j = 0; j < kNR; ++j) c[r * N + j0 + j] = acc[r][j];
    }
  }
  if (j0 == N) return;
  // Edges: one row at a time, accumulating rows of B into the row of C.
  for (int64_t r = 0; r < rows; ++r) {
    T* cr = c + r * N;
    for (int64_t j = j0; j < N; ++j) cr[j] = 0;
    for (int64_t q = 0; q < K; ++q) {
      T av = a[r * K + q];
      const T* br = b + q * N;
#pragma omp simd
      for (int64_t j = j0; j < N; ++j) cr[j] += av * br[j];
    }
  }
}

// a (labels over a) x b -> contiguous view with labels `keep`.
template <class T>
View<T> contract(View<T> a, View<T> b, const std::vector<int>& keep) {
  auto in_keep = [&](int l) { return std::find(keep.begin(), keep.end(), l) != keep.end(); };
  // Labels only one side has and the result drops: sum them out first.
  auto own = [&](const View<T>& x, const View<T>& y) {
    std::vector<int> k;
    for (int l : x.labels)
      if ((in_keep(l) || y.has(l)) && std::find(k.begin(), k.end(), l) == k.end()) k.push_back(l);
    return k;
  };
  if (needs_reduce(a, own(a, b))) a = reduce_to(a, own(a, b));
  if (needs_reduce(b, own(b, a))) b = reduce_to(b, own(b, a));
  std::vector<int> batch, m, n, k;
  for (int l : keep) (a.has(l) && b.has(l) ? batch : a.has(l) ? m : n).push_back(l);
  for (int l : a.labels)
    if (b.has(l) && !in_keep(l)) k.push_back(l);
  auto sizes = [&](const std::vector<int>& ls) {
    std::vector<int64_t> s;
    for (int l : ls) s.push_back(std::max(a.dim_of(l), b.dim_of(l)));
    return s;
  };
  std::vector<int64_t> sb = sizes(batch), sm = sizes(m), sn = sizes(n), sk = sizes(k);
  int64_t Bt = prod(sb), M = prod(sm), N = prod(sn), K = prod(sk);
  std::vector<T> abuf, bbuf;
  const T* pa = pack(a, cat(batch, m, k), cat(sb, sm, sk), abuf);
  const T* pb = pack(b, cat(batch, k, n), cat(sb, sk, sn), bbuf);
  View<T> c = contiguous<T>(cat(batch, m, n), cat(sb, sm, sn));
  T* pc = c.owned->data();
  // Tasks are blocks of kMR rows of one batch entry.
  int64_t mblocks = (M + kMR - 1) / kMR;
  parallel_for(Bt * mblocks, std::max<int64_t>(1, 16384 / std::max<int64_t>(1, kMR * N * K)), [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      int64_t bt = t / mblocks, i0 = (t % mblocks) * kMR, rows = std::min(kMR, M - i0);
      gemm_rows(pa + (bt * M + i0) * K, pb + bt * K * N, pc + (bt * M + i0) * N, rows, N, K);
    }
  });
  if (c.labels == keep) return c;
  std::vector<T> buf;
  View<T> out = contiguous<T>(keep, sizes(keep));
  const T* p = pack(c, keep, out.dims, buf);
  std::copy(p, p + prod(out.dims), out.owned->begin());
  return out;
}

template <class T>
void run_einsum(const EinsumSpec& s, KernelContext& ctx) {
  std::vector<View<T>> ops;
  for (size_t i = 0; i < s.inputs.size(); ++i) {
    const TensorView& t = ctx.in(i);
    View<T> v;
    v.data = t.as<const T>();
    v.labels = s.inputs[i];
    int64_t st = 1;
    v.dims.resize(static_cast<size_t>(t.rank));
    v.strides.resize(static_cast<size_t>(t.rank));
    for (int d = t.rank - 1; d >= 0; --d) {
      v.dims[static_cast<size_t>(d)] = t.dim(d);
      v.strides[static_cast<size_t>(d)] = st;
      st *= t.dim(d);
    }
    ops.push_back(std::move(v));
  }
  const TensorView& y = ctx.out(0);
  View<T> acc = ops[0];
  if (ops.size() == 1) {
    acc = reduce_to(acc, s.output);
  } else {
    for (size_t i = 1; i < ops.size(); ++i) {
      std::vector<int> keep;
      if (i + 1 == ops.size()) {
        keep = s.output;
      } else {
        auto needed = [&](int l) {
          if (std::find(s.output.begin(), s.output.end(), l) != s.output.end()) return true;
          for (size_t j = i + 1; j < ops.size(); ++j)
            if (ops[j].has(l)) return true;
          return false;
        };
        for (const View<T>* v : {&acc, &ops[i]})
          for (int l : v->labels)
            if (needed(l) && std::find(keep.begin(), keep.end(), l) == keep.end()) keep.push_back(l);
      }
      acc = contract(acc, ops[i], keep);
    }
  }
  int64_t n = y.numel();
  if (n != prod(acc.dims)) throw Error(ErrorCode::kInternal, "Einsum: result size mismatch");
  std::copy(acc.data, acc.data + n, y.as<T>());
}

}  // namespace

std::unique_ptr<Kernel> make_einsum_kernel(const KernelInit& init) {
  std::string eq = EinsumAttrs::parse(init).equation;
  std::vector<size_t> ranks;
  for (size_t i = 0; i < init.num_inputs(); ++i) ranks.push_back(init.input_rank(i));
  auto spec = std::make_shared<EinsumSpec>(parse_einsum(eq, ranks));
  return make_kernel([spec](KernelContext& c) {
    switch (c.in(0).dtype) {
      case DType::kFloat32: run_einsum<float>(*spec, c); break;
      case DType::kFloat64: run_einsum<double>(*spec, c); break;
      case DType::kInt32: run_einsum<int32_t>(*spec, c); break;
      case DType::kInt64: run_einsum<int64_t>(*spec, c); break;
      default: unsupported_dtype("Einsum", c.in(0).dtype);
    }
  });
}

}  // namespace dynrt::cpu
