// Small helpers shared by CPU kernels: threading, dtype dispatch, broadcasting.
#pragma once

#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <type_traits>

#include "backends/kernel.h"

namespace dynrt::cpu {

// v converted to D. C++ leaves a floating value outside D's range undefined
// when D is an integer type (ONNX leaves the result unspecified): such values
// saturate at D's limits and NaN becomes 0, so a hostile model cannot reach
// undefined behaviour through Cast or Pow.
template <class D, class S>
D convert(S v) {
  if constexpr (std::is_floating_point_v<S> && std::is_integral_v<D> && !std::is_same_v<D, bool>) {
    if (v != v) return D(0);
    // The limits as S are exact powers of two (or 0), so these compares are exact.
    if (v <= static_cast<S>(std::numeric_limits<D>::min())) return std::numeric_limits<D>::min();
    if (v >= static_cast<S>(std::numeric_limits<D>::max())) return std::numeric_limits<D>::max();
  }
  return static_cast<D>(v);
}

// Integer +, -, * and negation wrap modulo 2^bits, as numpy's and ONNX
// Runtime's do: computed in an unsigned type at least as wide as unsigned int
// (signed overflow is undefined in C++, and small types promote to int, whose
// products can overflow). Floating types compute as written.
template <class T>
using WrapType = std::common_type_t<std::make_unsigned_t<T>, unsigned>;

template <class T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return static_cast<T>(static_cast<WrapType<T>>(a) + static_cast<WrapType<T>>(b));
  else
    return static_cast<T>(a + b);
}

template <class T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return static_cast<T>(static_cast<WrapType<T>>(a) - static_cast<WrapType<T>>(b));
  else
    return static_cast<T>(a - b);
}

template <class T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return static_cast<T>(static_cast<WrapType<T>>(a) * static_cast<WrapType<T>>(b));
  else
    return static_cast<T>(a * b);
}

template <class T>
T wrap_neg(T a) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return static_cast<T>(WrapType<T>(0) - static_cast<WrapType<T>>(a));
  else
    return static_cast<T>(-a);
}

// Run f(begin, end) over [0, n) in parallel chunks of at least `grain` items,
// on the TBB arena the caller runs in (the context's: runtime/context_impl.h),
// which oneDNN's primitives use too. A few chunks per thread, so that when other
// processes take a core its chunks are taken by the threads still running
// (work stealing), where a static split would wait for it. Each chunk runs
// isolated: while it waits inside (a oneDNN primitive's own parallel loop) its
// thread takes no other chunk of this loop, which would reuse the thread's
// scratch buffers (onednn_util.h's thread_scratch) under the first one.
template <class F>
void parallel_for(int64_t n, int64_t grain, F&& f) {
  if (n <= 0) return;
  constexpr int64_t kChunksPerThread = 4;
  const int64_t threads = tbb::this_task_arena::max_concurrency();
  const int64_t chunks =
      std::min<int64_t>(threads * kChunksPerThread, std::max<int64_t>(1, n / std::max<int64_t>(grain, 1)));
  if (threads <= 1 || chunks <= 1) {
    f(int64_t{0}, n);
    return;
  }
  tbb::parallel_for(int64_t{0}, chunks, [&](int64_t c) {
    tbb::this_task_arena::isolate([&] { f(n * c / chunks, n * (c + 1) / chunks); });
  });
}

// memcpy over the team, in 64 KiB pieces: one thread copies a few GB/s,
// well below what the cores together move.
inline void parallel_copy(void* dst, const void* src, size_t bytes) {
  constexpr int64_t kPiece = 64 << 10;
  parallel_for(static_cast<int64_t>(bytes), kPiece, [&](int64_t b, int64_t e) {
    std::memcpy(static_cast<char*>(dst) + b, static_cast<const char*>(src) + b, static_cast<size_t>(e - b));
  });
}

// Strides (in elements) of a view broadcast to `rank` output dims: 0 on
// broadcast axes.
struct BroadcastStrides {
  int rank = 0;
  int64_t dims[kMaxRank] = {};
  int64_t strides[4][kMaxRank] = {};
};

inline BroadcastStrides make_broadcast(const TensorView& out, std::initializer_list<const TensorView*> ins) {
  BroadcastStrides b;
  b.rank = out.rank;
  for (int i = 0; i < out.rank; ++i) b.dims[i] = out.dims[static_cast<size_t>(i)];
  int k = 0;
  for (const TensorView* in : ins) {
    int64_t s = 1;
    for (int i = out.rank - 1; i >= 0; --i) {
      int j = i - (out.rank - in->rank);
      int64_t d = j >= 0 ? in->dims[static_cast<size_t>(j)] : 1;
      b.strides[k][i] = (d == 1) ? 0 : s;
      s *= d;
    }
    ++k;
  }
  return b;
}

// Calls f(out_offset, in_offsets[], inner_count, inner_strides[]) for every
// row of the last dimension; rows run in parallel.
template <int N, class F>
void for_each_row(const BroadcastStrides& b, F&& f) {
  if (b.rank == 0) {
    int64_t zero[N] = {};
    f(int64_t{0}, zero, int64_t{1}, zero);
    return;
  }
  int64_t inner = b.dims[b.rank - 1];
  int64_t rows = 1;
  for (int i = 0; i < b.rank - 1; ++i) rows *= b.dims[i];
  int64_t inner_strides[N];
  for (int k = 0; k < N; ++k) inner_strides[k] = b.strides[k][b.rank - 1];
  parallel_for(rows, std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1)), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t offs[N] = {};
      int64_t rem = r;
      for (int i = b.rank - 2; i >= 0; --i) {
        int64_t idx = rem % b.dims[i];
        rem /= b.dims[i];
        for (int k = 0; k < N; ++k) offs[k] += idx * b.strides[k][i];
      }
      f(r * inner, offs, inner, inner_strides);
    }
  });
}

// Row-major strides of a view.
inline void contiguous_strides(const TensorView& v, int64_t* strides) {
  int64_t s = 1;
  for (int i = v.rank - 1; i >= 0; --i) {
    strides[i] = s;
    s *= v.dims[static_cast<size_t>(i)];
  }
}

[[noreturn]] inline void unsupported_dtype(const char* op, DType t) {
  throw Error(ErrorCode::kUnsupported, std::string(op) + ": element type " + dtype_name(t) + " is not supported on CPU");
}

// Dispatch on a numeric dtype: body uses the type alias T.
#define DYNRT_DISPATCH_NUMERIC(DTYPE, OPNAME, ...)                   \
  switch (DTYPE) {                                                   \
    case DType::kFloat32: { using T = float; __VA_ARGS__; break; }   \
    case DType::kFloat64: { using T = double; __VA_ARGS__; break; }  \
    case DType::kInt64: { using T = int64_t; __VA_ARGS__; break; }   \
    case DType::kInt32: { using T = int32_t; __VA_ARGS__; break; }   \
    case DType::kInt16: { using T = int16_t; __VA_ARGS__; break; }   \
    case DType::kInt8: { using T = int8_t; __VA_ARGS__; break; }     \
    case DType::kUInt8: { using T = uint8_t; __VA_ARGS__; break; }   \
    case DType::kUInt16: { using T = uint16_t; __VA_ARGS__; break; } \
    case DType::kUInt32: { using T = uint32_t; __VA_ARGS__; break; } \
    case DType::kUInt64: { using T = uint64_t; __VA_ARGS__; break; } \
    default: ::dynrt::cpu::unsupported_dtype(OPNAME, DTYPE);         \
  }

#define DYNRT_DISPATCH_FLOAT(DTYPE, OPNAME, ...)                    \
  switch (DTYPE) {                                                  \
    case DType::kFloat32: { using T = float; __VA_ARGS__; break; }  \
    case DType::kFloat64: { using T = double; __VA_ARGS__; break; } \
    default: ::dynrt::cpu::unsupported_dtype(OPNAME, DTYPE);        \
  }

using ::dynrt::make_kernel;

}  // namespace dynrt::cpu
