// Device code of the data-movement kernels. Elements move as unsigned
// integers of their size; contiguous runs are widened to up to 16-byte words
// when lengths, strides and addresses allow. Loops are grid-stride over
// int64 (int32 where every index fits, which is cheaper to divide).
#include <cstdint>

#include <algorithm>

#include "backends/cuda/movement_launch.h"

namespace dynrt::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int64_t kMaxBlocks = 65535LL * 4;
// Below this, element counts and offsets use int32 (with room for i + step).
constexpr int64_t kSmall = int64_t{1} << 30;

unsigned blocks_for(int64_t n, int64_t cap = kMaxBlocks) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(b, cap)));
}

// Calls f(E{}) with E the unsigned word of `bytes` bytes.
template <class F>
void by_size(int bytes, F&& f) {
  switch (bytes) {
    case 1: f(uint8_t{}); break;
    case 2: f(uint16_t{}); break;
    case 4: f(uint32_t{}); break;
    case 8: f(uint64_t{}); break;
    case 16: f(uint4{}); break;
    default: break;  // the host side admits only the sizes above
  }
}

bool aligned(const void* p, int64_t bytes) { return reinterpret_cast<uintptr_t>(p) % static_cast<uintptr_t>(bytes) == 0; }

// ---- strided copy -------------------------------------------------------------

template <class E, class I>
__global__ void strided_copy_kernel(E* __restrict__ dst, const E* __restrict__ src, Strided s, I n) {
  I step = static_cast<I>(gridDim.x) * blockDim.x;
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    I rem = i, off = 0;
    for (int k = s.rank - 1; k > 0; --k) {
      I d = static_cast<I>(s.dims[k]);
      I q = rem / d;
      off += (rem - q * d) * static_cast<I>(s.strides[k]);
      rem = q;
    }
    off += rem * static_cast<I>(s.strides[0]);
    dst[i] = src[off];
  }
}

// A transpose whose innermost output dim is strided in the source while dim
// `a` is contiguous there: 32x32 tiles through shared memory, so reads run
// along `a` and writes along the innermost dim, both coalesced.
struct TiledCopy {
  int nrest = 0;
  int64_t rest_dims[kMaxDims] = {}, rest_src[kMaxDims] = {}, rest_dst[kMaxDims] = {};
  int64_t a_dim = 0, a_dst = 0;  // the source-contiguous dim: extent, output stride
  int64_t b_dim = 0, b_src = 0;  // the innermost output dim: extent, source stride
  int64_t a_tiles = 0, b_tiles = 0, total = 0;
};

constexpr int kTile = 32, kTileRows = 8;

template <class E>
__global__ void tiled_copy_kernel(E* __restrict__ dst, const E* __restrict__ src, TiledCopy t) {
  __shared__ E tile[kTile][kTile + 1];  // +1: column reads hit distinct banks
  const int tx = static_cast<int>(threadIdx.x), ty = static_cast<int>(threadIdx.y);
  for (int64_t w = blockIdx.x; w < t.total; w += gridDim.x) {
    int64_t r = w / t.b_tiles;
    int64_t b0 = (w - r * t.b_tiles) * kTile;
    int64_t a0 = (r % t.a_tiles) * kTile;
    r /= t.a_tiles;
    int64_t soff = 0, doff = 0;
    for (int q = t.nrest - 1; q >= 0; --q) {
      int64_t c = r % t.rest_dims[q];
      r /= t.rest_dims[q];
      soff += c * t.rest_src[q];
      doff += c * t.rest_dst[q];
    }
    for (int y = ty; y < kTile; y += kTileRows) {  // tile[b][a]
      int64_t a = a0 + tx, b = b0 + y;
      if (a < t.a_dim && b < t.b_dim) tile[y][tx] = src[soff + a + b * t.b_src];
    }
    __syncthreads();
    for (int y = ty; y < kTile; y += kTileRows) {
      int64_t a = a0 + y, b = b0 + tx;
      if (a < t.a_dim && b < t.b_dim) dst[doff + a * t.a_dst + b] = tile[tx][y];
    }
    __syncthreads();
  }
}

// Tries the tiled path for dims d / source strides s (simplified, n >= 2).
bool try_tiled(void* dst, const void* src, int es, int n, const int64_t* d, const int64_t* s, cudaStream_t stream) {
  int j = -1;
  for (int k = 0; k < n - 1; ++k)
    if (s[k] == 1) j = k;
  if (j < 0 || s[n - 1] == 1 || d[n - 1] < 8 || d[j] < 8) return false;
  int64_t os[kMaxDims];
  os[n - 1] = 1;
  for (int k = n - 2; k >= 0; --k) os[k] = os[k + 1] * d[k + 1];
  TiledCopy t;
  int64_t rest = 1;
  for (int k = 0; k < n - 1; ++k) {
    if (k == j) continue;
    t.rest_dims[t.nrest] = d[k];
    t.rest_src[t.nrest] = s[k];
    t.rest_dst[t.nrest] = os[k];
    ++t.nrest;
    rest *= d[k];
  }
  t.a_dim = d[j];
  t.a_dst = os[j];
  t.b_dim = d[n - 1];
  t.b_src = s[n - 1];
  t.a_tiles = (t.a_dim + kTile - 1) / kTile;
  t.b_tiles = (t.b_dim + kTile - 1) / kTile;
  t.total = rest * t.a_tiles * t.b_tiles;
  auto grid = static_cast<unsigned>(std::min<int64_t>(t.total, kMaxBlocks));
  dim3 block(kTile, kTileRows);
  by_size(es, [&](auto tag) {
    using E = decltype(tag);
    tiled_copy_kernel<E><<<grid, block, 0, stream>>>(static_cast<E*>(dst), static_cast<const E*>(src), t);
  });
  return true;
}

}  // namespace

void launch_strided_copy(void* dst, const void* src, int elem_size, const Strided& in, cudaStream_t stream) {
  // Drop unit dims and merge dims that are contiguous in the source.
  int64_t d[kMaxDims], s[kMaxDims];
  int n = 0;
  for (int k = 0; k < in.rank; ++k) {
    if (in.dims[k] == 0) return;
    if (in.dims[k] == 1) continue;
    if (n > 0 && s[n - 1] == in.strides[k] * in.dims[k]) {
      d[n - 1] *= in.dims[k];
      s[n - 1] = in.strides[k];
    } else {
      d[n] = in.dims[k];
      s[n] = in.strides[k];
      ++n;
    }
  }
  if (n == 0) {  // one element
    d[0] = 1;
    s[0] = 0;
    n = 1;
  }
  if (n >= 2 && try_tiled(dst, src, elem_size, n, d, s, stream)) return;
  // Widen contiguous innermost runs: two words become one of twice the size.
  int es = elem_size;
  while (es < 16 && s[n - 1] == 1 && d[n - 1] % 2 == 0 && aligned(dst, 2 * es) && aligned(src, 2 * es)) {
    bool even = true;
    for (int k = 0; k < n - 1; ++k) even = even && s[k] % 2 == 0;
    if (!even) break;
    d[n - 1] /= 2;
    for (int k = 0; k < n - 1; ++k) s[k] /= 2;
    es *= 2;
  }
  Strided t;
  t.rank = n;
  int64_t total = 1, span = 0;
  for (int k = 0; k < n; ++k) {
    t.dims[k] = d[k];
    t.strides[k] = s[k];
    total *= d[k];
    span += (s[k] < 0 ? -s[k] : s[k]) * (d[k] - 1);
  }
  unsigned grid = blocks_for(total);
  by_size(es, [&](auto tag) {
    using E = decltype(tag);
    auto* o = static_cast<E*>(dst);
    const auto* p = static_cast<const E*>(src);
    if (total < kSmall && span < kSmall)
      strided_copy_kernel<E, int32_t><<<grid, kThreads, 0, stream>>>(o, p, t, static_cast<int32_t>(total));
    else
      strided_copy_kernel<E, int64_t><<<grid, kThreads, 0, stream>>>(o, p, t, total);
  });
}

// ---- row copies (Concat, Split) -------------------------------------------------

namespace {

struct RowCopyBatch {
  RowCopy c[kMaxRowCopies];
};

// blockIdx.y picks the copy; blocks along x stride over its elements.
template <class E, class I>
__global__ void row_copy_kernel(RowCopyBatch b) {
  const RowCopy& c = b.c[blockIdx.y];
  const auto* src = static_cast<const E*>(c.src);
  auto* dst = static_cast<E*>(c.dst);
  I width = static_cast<I>(c.width), sp = static_cast<I>(c.src_pitch), dp = static_cast<I>(c.dst_pitch);
  I n = static_cast<I>(c.rows) * width;
  I step = static_cast<I>(gridDim.x) * blockDim.x;
  for (I i = static_cast<I>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    I r = i / width, k = i - r * width;
    dst[r * dp + k] = src[r * sp + k];
  }
}

}  // namespace

void launch_row_copies(const RowCopy* copies, int count, int elem_size, cudaStream_t stream) {
  RowCopyBatch batch;
  int m = 0;
  // The widest word every copy allows.
  int es = 16;
  for (int i = 0; i < count; ++i) {
    const RowCopy& c = copies[i];
    if (c.rows <= 0 || c.width <= 0) continue;
    while (es > elem_size && !((c.width * elem_size) % es == 0 && (c.src_pitch * elem_size) % es == 0 &&
                               (c.dst_pitch * elem_size) % es == 0 && aligned(c.src, es) && aligned(c.dst, es)))
      es /= 2;
  }
  int64_t f = es / elem_size;
  auto flush = [&] {
    if (m == 0) return;
    int64_t most = 0, extent = 0;
    for (int i = 0; i < m; ++i) {
      const RowCopy& c = batch.c[i];
      most = std::max(most, c.rows * c.width);
      extent = std::max({extent, c.rows * c.width, c.rows * std::max(c.src_pitch, c.dst_pitch)});
    }
    dim3 grid(blocks_for(most, std::max<int64_t>(1, kMaxBlocks / m)), static_cast<unsigned>(m));
    by_size(es, [&](auto tag) {
      using E = decltype(tag);
      if (extent < kSmall) row_copy_kernel<E, int32_t><<<grid, kThreads, 0, stream>>>(batch);
      else row_copy_kernel<E, int64_t><<<grid, kThreads, 0, stream>>>(batch);
    });
    m = 0;
  };
  for (int i = 0; i < count; ++i) {
    RowCopy c = copies[i];
    if (c.rows <= 0 || c.width <= 0) continue;
    c.width /= f;
    c.src_pitch /= f;
    c.dst_pitch /= f;
    batch.c[m++] = c;
    if (m == kMaxRowCopies) flush();
  }
  flush();
}

// ---- Gather, GatherElements, GatherND ------------------------------------------

namespace {

template <class Idx>
__device__ int64_t load_index(const Idx* p, int64_t i, int64_t dim) {
  auto v = static_cast<int64_t>(p[i]);
  return v < 0 ? v + dim : v;  // may still be out of range: callers check
}

template <class E, class Idx>
__global__ void gather_kernel(E* __restrict__ dst, const E* __restrict__ src, const Idx* __restrict__ idx,
                              int64_t axis_dim, int64_t count, int64_t inner, int64_t total, int* error) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t r = i / inner, k = i - r * inner;
    int64_t o = r / count, j = r - o * count;
    int64_t v = load_index(idx, j, axis_dim);
    bool ok = v >= 0 && v < axis_dim;
    if (!ok) *error = 1;
    dst[i] = ok ? src[(o * axis_dim + v) * inner + k] : E{};
  }
}

template <class E, class Idx>
__global__ void gather_elements_kernel(E* __restrict__ dst, const E* __restrict__ src, const Idx* __restrict__ idx,
                                       Strided s, int axis, int64_t axis_dim, int64_t total, int* error) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int k = s.rank - 1; k >= 0; --k) {
      int64_t q = rem / s.dims[k];
      if (k != axis) off += (rem - q * s.dims[k]) * s.strides[k];
      rem = q;
    }
    int64_t v = load_index(idx, i, axis_dim);
    bool ok = v >= 0 && v < axis_dim;
    if (!ok) *error = 1;
    dst[i] = ok ? src[off + v * s.strides[axis]] : E{};
  }
}

template <class E>
__global__ void gather_nd_kernel(E* __restrict__ dst, const E* __restrict__ src, const int64_t* __restrict__ idx,
                                 GatherNDDesc d, int64_t slice, int64_t total, int* error) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t m = i / slice, k = i - m * slice;
    const int64_t* tuple = idx + m * d.last;
    int64_t off = (m / d.tuples_per_batch) * d.batch_stride;
    bool ok = true;
    for (int t = 0; t < d.last; ++t) {
      int64_t v = load_index(tuple, t, d.dims[t]);
      ok = ok && v >= 0 && v < d.dims[t];
      off += v * d.strides[t];
    }
    if (!ok) *error = 1;
    dst[i] = ok ? src[off + k] : E{};
  }
}

// The widest word that divides a run of `run` elements and both addresses.
int widen(int elem_size, int64_t run, const void* a, const void* b) {
  int es = 16;
  while (es > elem_size && !((run * elem_size) % es == 0 && aligned(a, es) && aligned(b, es))) es /= 2;
  return es;
}

}  // namespace

void launch_gather(void* dst, const void* src, const void* indices, bool idx64, int elem_size, int64_t outer,
                   int64_t axis_dim, int64_t count, int64_t inner, int* error, cudaStream_t stream) {
  int es = widen(elem_size, inner, dst, src);
  inner = inner * elem_size / es;
  int64_t total = outer * count * inner;
  if (total <= 0) return;
  unsigned grid = blocks_for(total);
  by_size(es, [&](auto tag) {
    using E = decltype(tag);
    auto* o = static_cast<E*>(dst);
    const auto* p = static_cast<const E*>(src);
    if (idx64)
      gather_kernel<E, int64_t><<<grid, kThreads, 0, stream>>>(o, p, static_cast<const int64_t*>(indices), axis_dim,
                                                                count, inner, total, error);
    else
      gather_kernel<E, int32_t><<<grid, kThreads, 0, stream>>>(o, p, static_cast<const int32_t*>(indices), axis_dim,
                                                                count, inner, total, error);
  });
}

void launch_gather_elements(void* dst, const void* src, const void* indices, bool idx64, int elem_size,
                            const Strided& ind, int axis, int64_t axis_dim, int* error, cudaStream_t stream) {
  int64_t total = 1;
  for (int k = 0; k < ind.rank; ++k) total *= ind.dims[k];
  if (total <= 0) return;
  unsigned grid = blocks_for(total);
  by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    auto* o = static_cast<E*>(dst);
    const auto* p = static_cast<const E*>(src);
    if (idx64)
      gather_elements_kernel<E, int64_t><<<grid, kThreads, 0, stream>>>(
          o, p, static_cast<const int64_t*>(indices), ind, axis, axis_dim, total, error);
    else
      gather_elements_kernel<E, int32_t><<<grid, kThreads, 0, stream>>>(
          o, p, static_cast<const int32_t*>(indices), ind, axis, axis_dim, total, error);
  });
}

void launch_gather_nd(void* dst, const void* src, const int64_t* indices, int elem_size, const GatherNDDesc& d,
                      int* error, cudaStream_t stream) {
  int es = widen(elem_size, d.slice, dst, src);
  for (int t = 0; t < d.last; ++t)  // tuple offsets must land on word boundaries too
    if ((d.strides[t] * elem_size) % es != 0) es = elem_size;
  if ((d.batch_stride * elem_size) % es != 0) es = elem_size;
  int64_t f = es / elem_size;
  GatherNDDesc w = d;
  w.batch_stride /= f;
  for (int t = 0; t < w.last; ++t) w.strides[t] /= f;
  w.tuples_per_batch = std::max<int64_t>(1, w.tuples_per_batch);
  int64_t slice = d.slice / f, total = d.tuples * slice;
  if (total <= 0) return;
  unsigned grid = blocks_for(total);
  by_size(es, [&](auto tag) {
    using E = decltype(tag);
    gather_nd_kernel<E><<<grid, kThreads, 0, stream>>>(static_cast<E*>(dst), static_cast<const E*>(src), indices, w,
                                                        slice, total, error);
  });
}

// ---- Pad, Tile, Trilu -------------------------------------------------------------

namespace {

// Source index along one axis for output index o, -1 for the fill value.
__device__ int64_t pad_source(int64_t o, int64_t lo, int64_t d, int mode) {
  int64_t i = o - lo;
  if (i >= 0 && i < d) return i;
  switch (mode) {
    case 0: return -1;                          // constant
    case 1: return i < 0 ? 0 : d - 1;           // edge
    case 2: {                                   // reflect (edge not repeated)
      if (d == 1) return 0;
      int64_t period = 2 * (d - 1);
      int64_t m = ((i % period) + period) % period;
      return m < d ? m : period - m;
    }
    default: return ((i % d) + d) % d;          // wrap
  }
}

template <class E>
__global__ void pad_kernel(E* __restrict__ dst, const E* __restrict__ src, PadDesc p, const E* fill_device,
                           uint64_t fill_bits, int64_t total) {
  E fill = fill_device ? *fill_device : static_cast<E>(fill_bits);  // low bytes (little-endian)
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, off = 0;
    bool filled = false;
    for (int k = p.rank - 1; k >= 0; --k) {
      int64_t q = rem / p.out_dims[k];
      int64_t s = pad_source(rem - q * p.out_dims[k], p.lo[k], p.in_dims[k], p.mode);
      rem = q;
      if (s < 0) filled = true;
      else off += s * p.in_strides[k];
    }
    dst[i] = filled ? fill : src[off];
  }
}

template <class E>
__global__ void tile_kernel(E* __restrict__ dst, const E* __restrict__ src, TileDesc t, int64_t total) {
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t rem = i, off = 0;
    for (int k = t.rank - 1; k >= 0; --k) {
      int64_t q = rem / t.out_dims[k];
      off += ((rem - q * t.out_dims[k]) % t.in_dims[k]) * t.in_strides[k];
      rem = q;
    }
    dst[i] = src[off];
  }
}

template <class E>
__global__ void trilu_kernel(E* dst, const E* src, int64_t n, int64_t m, bool upper, const void* k_device, bool k64,
                             int64_t total) {  // no __restrict__: may run in place
  int64_t k = 0;
  if (k_device) k = k64 ? *static_cast<const int64_t*>(k_device) : *static_cast<const int32_t*>(k_device);
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    int64_t r = i / m, j = i - r * m;
    int64_t diff = j - r % n;  // column minus row: no overflow for any k
    bool keep = upper ? diff >= k : diff <= k;
    dst[i] = keep ? src[i] : E{};
  }
}

}  // namespace

void launch_pad(void* dst, const void* src, int elem_size, const PadDesc& d, const void* fill_device,
                uint64_t fill_bits, cudaStream_t stream) {
  int64_t total = 1;
  for (int k = 0; k < d.rank; ++k) total *= d.out_dims[k];
  if (total <= 0) return;
  unsigned grid = blocks_for(total);
  by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    if constexpr (sizeof(E) <= 8)
      pad_kernel<E><<<grid, kThreads, 0, stream>>>(static_cast<E*>(dst), static_cast<const E*>(src), d,
                                                   static_cast<const E*>(fill_device), fill_bits, total);
  });
}

void launch_tile(void* dst, const void* src, int elem_size, const TileDesc& d, cudaStream_t stream) {
  int64_t total = 1;
  for (int k = 0; k < d.rank; ++k) total *= d.out_dims[k];
  if (total <= 0) return;
  unsigned grid = blocks_for(total);
  by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    tile_kernel<E><<<grid, kThreads, 0, stream>>>(static_cast<E*>(dst), static_cast<const E*>(src), d, total);
  });
}

void launch_trilu(void* dst, const void* src, int elem_size, int64_t batch, int64_t n, int64_t m, bool upper,
                  const void* k_device, bool k64, cudaStream_t stream) {
  int64_t total = batch * n * m;
  if (total <= 0) return;
  unsigned grid = blocks_for(total);
  by_size(elem_size, [&](auto tag) {
    using E = decltype(tag);
    trilu_kernel<E><<<grid, kThreads, 0, stream>>>(static_cast<E*>(dst), static_cast<const E*>(src), n, m, upper,
                                                   k_device, k64, total);
  });
}

}  // namespace dynrt::cuda
