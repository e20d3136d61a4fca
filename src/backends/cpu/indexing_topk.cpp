// CPU kernels for TopK and OneHot.
#include <algorithm>
#include <cstring>
#include <numeric>

#include "backends/cpu/copy_util.h"
#include "ops/families.h"

namespace dynrt::cpu {
namespace {

size_t sz(int64_t v) { return static_cast<size_t>(v); }

// Element i of a numeric tensor as int64 (floats truncate).
int64_t int_at(const TensorView& v, int64_t i) {
  int64_t r = 0;
  DYNRT_DISPATCH_NUMERIC(v.dtype, "OneHot", { r = static_cast<int64_t>(v.as<const T>()[i]); });
  return r;
}

std::unique_ptr<Kernel> make_topk(const KernelInit& init) {
  int64_t axis_attr = init.attr_int("axis", -1);
  bool largest = init.attr_int("largest", 1) != 0;
  bool k_attr = init.graph.opset < 10;
  int64_t k_value = init.attr_int("k", 0);
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &vals = c.out(0), &idxs = c.out(1);
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
    if (axis < 0 || axis >= x.rank) throw Error(ErrorCode::kInvalidInput, "TopK: axis out of range");
    int64_t k = k_attr ? k_value : index_at(c.in(1), 0);
    int64_t d = x.dims[sz(axis)];
    if (k < 0 || k > d)
      throw Error(ErrorCode::kInvalidInput, "TopK: k=" + std::to_string(k) + " exceeds the dimension " + std::to_string(d));
    int64_t outer = prod(x.dims.data(), 0, static_cast<int>(axis));
    int64_t inner = prod(x.dims.data(), static_cast<int>(axis) + 1, x.rank);
    if (k == 0 || outer * inner == 0) return;
    auto* oi = idxs.dtype == DType::kUndefined ? nullptr : idxs.as<int64_t>();  // output may be omitted
    DYNRT_DISPATCH_NUMERIC(x.dtype, "TopK", {
      const T* src = x.as<const T>();
      T* ov = vals.as<T>();
      parallel_for(outer * inner, std::max<int64_t>(1, 4096 / std::max<int64_t>(d, 1)), [&](int64_t b, int64_t e) {
        std::vector<T> line(sz(d));
        std::vector<int64_t> order(sz(d));
        for (int64_t l = b; l < e; ++l) {
          int64_t o = l / inner, i = l % inner;
          const T* p = src + o * d * inner + i;
          for (int64_t j = 0; j < d; ++j) line[sz(j)] = p[j * inner];
          std::iota(order.begin(), order.end(), int64_t{0});
          // Ties go to the lower index, like ONNX Runtime.
          auto cmp = [&](int64_t a, int64_t b2) {
            T va = line[sz(a)], vb = line[sz(b2)];
            if (va != vb) return largest ? va > vb : va < vb;
            return a < b2;
          };
          if (k < d) std::partial_sort(order.begin(), order.begin() + k, order.end(), cmp);
          else std::sort(order.begin(), order.end(), cmp);
          T* qv = ov + o * k * inner + i;
          int64_t* qi = oi ? oi + o * k * inner + i : nullptr;
          for (int64_t j = 0; j < k; ++j) {
            qv[j * inner] = line[sz(order[sz(j)])];
            if (qi) qi[j * inner] = order[sz(j)];
          }
        }
      });
    });
  });
}

std::unique_ptr<Kernel> make_onehot(const KernelInit& init) {
  int64_t axis_attr = init.attr_int("axis", -1);
  return make_kernel([axis_attr](KernelContext& c) {
    const TensorView &ind = c.in(0), &depth_t = c.in(1), &values = c.in(2), &y = c.out(0);
    int64_t axis = axis_attr < 0 ? axis_attr + ind.rank + 1 : axis_attr;
    int64_t depth = int_at(depth_t, 0);
    int64_t outer = prod(ind.dims.data(), 0, static_cast<int>(axis));
    int64_t inner = prod(ind.dims.data(), static_cast<int>(axis), ind.rank);
    if (y.dims[sz(axis)] != depth) throw Error(ErrorCode::kInternal, "OneHot: depth differs from the compiled shape");
    std::vector<int64_t> idx(sz(ind.numel()));
    for (size_t i = 0; i < idx.size(); ++i) idx[i] = int_at(ind, static_cast<int64_t>(i));
    DYNRT_DISPATCH_BYTES(dtype_size(values.dtype), "OneHot", {
      E off = values.as<const E>()[0], on = values.as<const E>()[1];
      E* q = y.as<E>();
      std::fill(q, q + y.numel(), off);
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) {
          int64_t v = idx[sz(o * inner + i)];
          if (v < 0) v += depth;
          if (v >= 0 && v < depth) q[(o * depth + v) * inner + i] = on;
        }
    });
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_topk_onehot_kernels(OpRegistry& r) {
  r.add_kernel("TopK", Backend::kCpu, cpu::make_topk);
  r.add_kernel("OneHot", Backend::kCpu, cpu::make_onehot);
}

}  // namespace dynrt
