// CPU kernels for TopK, OneHot and Unique.
#include <algorithm>
#include <cstring>
#include <map>
#include <numeric>

#include "backends/cpu/copy_util.h"
#include "backends/cpu/half.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/runtime_shape.h"

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
  int64_t axis_attr = AxisAttrs::parse(init, -1).axis;
  bool largest = init.attr_int("largest", 1) != 0;
  // k is the output's dim along the axis: the schema's shape function sized
  // the outputs (at build time, or by the runtime when k is known only then).
  return make_kernel([=](KernelContext& c) {
    const TensorView &x = c.in(0), &vals = c.out(0), &idxs = c.out(1);
    int64_t axis = axis_attr < 0 ? axis_attr + x.rank : axis_attr;
    if (axis < 0 || axis >= x.rank) throw Error(ErrorCode::kInvalidInput, "TopK: axis out of range");
    int64_t k = vals.dims[sz(axis)], d = x.dims[sz(axis)];
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
  int64_t axis_attr = AxisAttrs::parse(init, -1).axis;
  return make_kernel([axis_attr](KernelContext& c) {
    const TensorView &ind = c.in(0), &values = c.in(2), &y = c.out(0);
    int64_t axis = axis_attr < 0 ? axis_attr + ind.rank + 1 : axis_attr;
    int64_t depth = y.dim(static_cast<int>(axis));  // the output is shaped by the schema
    int64_t outer = prod(ind.dims.data(), 0, static_cast<int>(axis));
    int64_t inner = prod(ind.dims.data(), static_cast<int>(axis), ind.rank);
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

// Lexicographic order of items (a plain loop: std::vector's operator< on
// bytes trips a bogus -Wstringop-overread in GCC 12).
template <class T>
struct ItemLess {
  bool operator()(const std::vector<T>& a, const std::vector<T>& b) const {
    for (size_t i = 0; i < a.size(); ++i)
      if (a[i] != b[i]) return a[i] < b[i];
    return false;
  }
};

// Unique over elements (no axis) or over slices along an axis. Items are
// compared lexicographically; the map orders them for sorted=1, and the
// first-occurrence order is kept for sorted=0 (both as in ONNX Runtime).
template <class T>
void unique_typed(KernelContext& c, bool has_axis, int64_t axis_attr, bool sorted, const std::vector<bool>& present) {
  const TensorView& x = c.in(0);
  int axis = 0;
  if (has_axis) {
    axis = static_cast<int>(axis_attr < 0 ? axis_attr + x.rank : axis_attr);
    if (axis < 0 || axis >= x.rank) throw Error(ErrorCode::kInvalidInput, "Unique: axis out of range");
  }
  int64_t outer = has_axis ? prod(x.dims.data(), 0, axis) : 1;
  int64_t items = has_axis ? x.dims[sz(axis)] : x.numel();
  int64_t inner = has_axis ? prod(x.dims.data(), axis + 1, x.rank) : 1;
  int64_t len = outer * inner;
  const T* src = x.as<const T>();
  auto item = [&](int64_t k) {
    std::vector<T> v(sz(len));
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < inner; ++i) v[sz(o * inner + i)] = src[(o * items + k) * inner + i];
    return v;
  };
  std::map<std::vector<T>, int64_t, ItemLess<T>> seen;  // item -> first-occurrence rank
  std::vector<int64_t> first, counts, inverse(sz(items));
  std::vector<std::vector<T>> uniq;
  for (int64_t k = 0; k < items; ++k) {
    auto v = item(k);
    auto [it, inserted] = seen.emplace(v, static_cast<int64_t>(uniq.size()));
    if (inserted) {
      uniq.push_back(std::move(v));
      first.push_back(k);
      counts.push_back(0);
    }
    ++counts[sz(it->second)];
    inverse[sz(k)] = it->second;
  }
  auto n = static_cast<int64_t>(uniq.size());
  std::vector<int64_t> order(sz(n));  // output position -> first-occurrence rank
  std::iota(order.begin(), order.end(), int64_t{0});
  if (sorted) {
    int64_t j = 0;
    for (const auto& kv : seen) order[sz(j++)] = kv.second;
  }
  std::vector<int64_t> pos(sz(n));
  for (int64_t j = 0; j < n; ++j) pos[sz(order[sz(j)])] = j;
  if (present[0]) {
    std::vector<int64_t> dims = {n};
    if (has_axis) {
      dims.assign(x.dims.begin(), x.dims.begin() + x.rank);
      dims[sz(axis)] = n;
    }
    c.allocate_output(0, dims);
    T* y = c.out(0).as<T>();
    for (int64_t j = 0; j < n; ++j) {
      const std::vector<T>& v = uniq[sz(order[sz(j)])];
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t i = 0; i < inner; ++i) y[(o * n + j) * inner + i] = v[sz(o * inner + i)];
    }
  }
  auto emit = [&](size_t out, int64_t count, auto value) {
    if (!present[out]) return;
    int64_t d[1] = {count};
    c.allocate_output(out, std::span<const int64_t>(d, 1));
    int64_t* p = c.out(out).as<int64_t>();
    for (int64_t j = 0; j < count; ++j) p[j] = value(j);
  };
  emit(1, n, [&](int64_t j) { return first[sz(order[sz(j)])]; });
  emit(2, items, [&](int64_t k) { return pos[sz(inverse[sz(k)])]; });
  emit(3, n, [&](int64_t j) { return counts[sz(order[sz(j)])]; });
}

// 16-bit floats compared by value (stored and copied as their bits).
template <bool kBf16>
struct Half16 {
  uint16_t bits;
  float value() const { return kBf16 ? bf16_to_float(bits) : half_to_float(bits); }
  bool operator<(const Half16& o) const { return value() < o.value(); }
  bool operator==(const Half16& o) const { return value() == o.value(); }
  bool operator!=(const Half16& o) const { return !(*this == o); }
};

std::unique_ptr<Kernel> make_unique_op(const KernelInit& init) {
  OptionalAxisAttrs attrs = OptionalAxisAttrs::parse(init);
  bool has_axis = attrs.has_axis, sorted = init.attr_int("sorted", 1) != 0;
  int64_t axis = attrs.axis;
  std::vector<bool> present;
  for (size_t i = 0; i < 4; ++i) present.push_back(init.has_output(i));
  return make_kernel([=](KernelContext& c) {
    DType t = c.in(0).dtype;
    if (t == DType::kBool) {
      unique_typed<uint8_t>(c, has_axis, axis, sorted, present);
      return;
    }
    if (t == DType::kFloat16 || t == DType::kBFloat16) {
      if (t == DType::kBFloat16) unique_typed<Half16<true>>(c, has_axis, axis, sorted, present);
      else unique_typed<Half16<false>>(c, has_axis, axis, sorted, present);
      return;
    }
    DYNRT_DISPATCH_NUMERIC(t, "Unique", unique_typed<T>(c, has_axis, axis, sorted, present));
  });
}

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_topk_onehot_kernels(KernelRegistry& r) {
  r.add_kernel("TopK", cpu::make_topk);
  r.add_kernel("OneHot", cpu::make_onehot);
  r.add_kernel("Unique", cpu::make_unique_op);
}

}  // namespace dynrt
