// Launchers of the data-movement kernels (movement.cu). They move elements by
// size (1, 2, 4 or 8 bytes), so every dtype of those sizes works. Each returns
// right after queueing its work on `stream`; the caller checks
// cudaGetLastError(). Index tensors live on the device; out-of-range indices
// (after adding the axis extent to negative ones) produce zeros, never an
// out-of-bounds access.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "backends/cuda/device_shape.h"

namespace dynrt::cuda {

// dst (contiguous, s.dims) <- src, where output index (i0..ik) reads element
// sum(i_j * s.strides[j]) of src (strides in elements, may be negative or 0).
// Covers Transpose, Slice, DepthToSpace, SpaceToDepth.
void launch_strided_copy(void* dst, const void* src, int elem_size, const Strided& s, cudaStream_t stream);

// rows x width elements from src (row pitch src_pitch) to dst (row pitch
// dst_pitch), pitches in elements: one input of Concat or one output of Split.
struct RowCopy {
  const void* src = nullptr;
  void* dst = nullptr;
  int64_t rows = 0, width = 0, src_pitch = 0, dst_pitch = 0;
};
// Any number of copies; they go in launches of up to kMaxRowCopies each.
constexpr int kMaxRowCopies = 16;
void launch_row_copies(const RowCopy* copies, int count, int elem_size, cudaStream_t stream);

// Gather: data viewed as [outer, axis_dim, inner], output [outer, count, inner];
// indices int64 (idx64) or int32, `count` of them. The three gathers set
// *error when an index is out of range (and write zeros there).
void launch_gather(void* dst, const void* src, const void* indices, bool idx64, int elem_size, int64_t outer,
                   int64_t axis_dim, int64_t count, int64_t inner, int* error, cudaStream_t stream);

// GatherElements: `ind` has the dims of the indices (= the output) and the
// contiguous strides of the data; the coordinate along `axis` is replaced by
// the index value (axis_dim: the data's extent there).
void launch_gather_elements(void* dst, const void* src, const void* indices, bool idx64, int elem_size,
                            const Strided& ind, int axis, int64_t axis_dim, int* error, cudaStream_t stream);

// GatherND: `tuples` index tuples of `last` int64 values each; tuple m reads
// the slice at batch m / tuples_per_batch (batch_stride elements apart) plus
// sum(wrap(tuple[t], dims[t]) * strides[t]); slices of `slice` elements.
struct GatherNDDesc {
  int64_t tuples = 0, tuples_per_batch = 1, batch_stride = 0, slice = 0;
  int last = 0;
  int64_t dims[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};
};
void launch_gather_nd(void* dst, const void* src, const int64_t* indices, int elem_size, const GatherNDDesc& d,
                      int* error, cudaStream_t stream);

// Pad: output index o along axis k reads input index o - lo[k]; outside the
// input, mode 0 (constant) writes the fill value, 1 (edge) clamps, 2 (reflect)
// mirrors without repeating the edge, 3 (wrap) wraps around.
struct PadDesc {
  int rank = 0;
  int mode = 0;
  int64_t out_dims[kMaxDims] = {};
  int64_t in_dims[kMaxDims] = {};
  int64_t in_strides[kMaxDims] = {};
  int64_t lo[kMaxDims] = {};
};
// The fill value: *fill_device (an element on the device) when not null,
// else the low elem_size bytes of fill_bits.
void launch_pad(void* dst, const void* src, int elem_size, const PadDesc& d, const void* fill_device,
                uint64_t fill_bits, cudaStream_t stream);

// Tile: output coordinate c reads input coordinate c % in_dims per axis.
struct TileDesc {
  int rank = 0;
  int64_t out_dims[kMaxDims] = {};
  int64_t in_dims[kMaxDims] = {};
  int64_t in_strides[kMaxDims] = {};
};
void launch_tile(void* dst, const void* src, int elem_size, const TileDesc& d, cudaStream_t stream);

// Trilu on `batch` matrices of n x m: keeps column j of row i where
// j - i >= k (upper) or j - i <= k (lower), zeros the rest. k is one element
// on the device (int64 when k64, else int32), or 0 when k_device is null.
void launch_trilu(void* dst, const void* src, int elem_size, int64_t batch, int64_t n, int64_t m, bool upper,
                  const void* k_device, bool k64, cudaStream_t stream);

}  // namespace dynrt::cuda
