// CPU kernels for MatMul and Gemm. float32 runs on oneDNN matmul (constant
// weights are reordered once into the layout oneDNN prefers, the primitive
// is built per input shape in prepare()); other types use a plain loop. A
// node marked for bf16 compute with constant weights keeps them in bf16 and
// converts its input to bf16 on the way in (AMX / AVX512-BF16 products,
// float32 accumulation and output).
#include <algorithm>
#include <string>

#include "backends/cpu/half.h"
#include "backends/cpu/onednn_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"

namespace dynrt::cpu {
namespace {

using dnnl::memory;

// A matmul primitive built for one shape.
struct MatmulState : KernelState {
  dnnl::matmul prim;
  memory::desc src, wei, bias, dst, scratch;
  std::shared_ptr<memory> packed;  // constant weights in the primitive's layout
  // bf16 compute: the float32 input (src_f32) is converted into scratch first.
  bool convert = false;
  memory::desc src_f32;
  dnnl::reorder to_bf16;
  memory::desc residual;  // a fused residual (MatMul input 3), added by the first post-op
  // oneDNN memory objects made on the first run and pointed at each run's
  // buffers (making them costs allocations: a fifth of a small product's time).
  // A plan's state is used by one run at a time.
  struct Bound {
    std::unordered_map<int, memory> args;
    memory user, converted;
    bool bias = false, residual = false, made = false;
  };
  mutable Bound bound;
};

std::unique_ptr<MatmulState> make_matmul(const std::string& what, memory::desc src, memory::desc wei, memory::desc bias,
                                         memory::desc dst, const dnnl::primitive_attr& attr,
                                         const PackedWeights* packed, bool bf16 = false) {
  return with_dnnl_errors(what, [&] {
    auto st = std::make_unique<MatmulState>();
    using dt = memory::data_type;
    bf16 = bf16 && packed;
    // bf16: the input converted to a dense bf16 copy (plain_desc's strides), unless it is
    // stored in bf16 already (builder/precision.cpp: store_cpu_bf16_activations).
    memory::desc src_used = bf16 ? plain_desc(src.get_dims(), dt::bf16) : src;
    dnnl::matmul::primitive_desc pd(
        dnnl_engine(), src_used,
        packed ? memory::desc(wei.get_dims(), bf16 ? dt::bf16 : dt::f32, memory::format_tag::any) : wei, bias, dst, attr);
    st->prim = dnnl::matmul(pd);
    st->src = src_used;
    if (bf16 && src.get_data_type() != dt::bf16) {
      st->convert = true;
      st->src_f32 = src;
      st->to_bf16 = dnnl::reorder(dnnl::reorder::primitive_desc(dnnl_engine(), src, dnnl_engine(), src_used));
    }
    st->wei = pd.weights_desc();
    st->bias = bias;
    st->dst = dst;
    st->scratch = pd.scratchpad_desc();
    if (packed) st->packed = packed->get(st->wei);
    return st;
  });
}

void run_matmul(const MatmulState& st, const void* a, const void* b, const void* bias, void* out,
                const void* residual = nullptr) {
  const dnnl::engine& eng = dnnl_engine();
  MatmulState::Bound& io = st.bound;
  if (!io.made || io.bias != (bias != nullptr) || io.residual != (residual != nullptr)) {
    io.args.clear();
    if (st.convert) {
      io.user = memory(st.src_f32, eng, DNNL_MEMORY_NONE);
      io.converted = memory(st.src, eng, DNNL_MEMORY_NONE);
    }
    io.args.emplace(DNNL_ARG_SRC, memory(st.src, eng, DNNL_MEMORY_NONE));
    io.args.emplace(DNNL_ARG_WEIGHTS, st.packed ? *st.packed : memory(st.wei, eng, DNNL_MEMORY_NONE));
    if (bias) io.args.emplace(DNNL_ARG_BIAS, memory(st.bias, eng, DNNL_MEMORY_NONE));
    io.args.emplace(DNNL_ARG_DST, memory(st.dst, eng, DNNL_MEMORY_NONE));
    if (residual) io.args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, memory(st.residual, eng, DNNL_MEMORY_NONE));
    if (st.scratch.get_size()) io.args.emplace(DNNL_ARG_SCRATCHPAD, memory(st.scratch, eng, DNNL_MEMORY_NONE));
    io.bias = bias != nullptr;
    io.residual = residual != nullptr;
    io.made = true;
  }
  if (st.convert) {
    io.user.set_data_handle(const_cast<void*>(a));
    io.converted.set_data_handle(thread_scratch(kScratchSrc, st.src.get_size()));
    st.to_bf16.execute(dnnl_stream(), io.user, io.converted);
    io.args.at(DNNL_ARG_SRC).set_data_handle(io.converted.get_data_handle());
  } else {
    io.args.at(DNNL_ARG_SRC).set_data_handle(const_cast<void*>(a));
  }
  if (!st.packed) io.args.at(DNNL_ARG_WEIGHTS).set_data_handle(const_cast<void*>(b));
  if (bias) io.args.at(DNNL_ARG_BIAS).set_data_handle(const_cast<void*>(bias));
  io.args.at(DNNL_ARG_DST).set_data_handle(out);
  if (residual) io.args.at(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1).set_data_handle(const_cast<void*>(residual));
  // The scratchpad is the running thread's, which may differ from run to run.
  if (size_t n = st.scratch.get_size()) io.args.at(DNNL_ARG_SCRATCHPAD).set_data_handle(thread_scratch(kScratchPad, n));
  st.prim.execute(dnnl_stream(), io.args);
}

// ---- MatMul -----------------------------------------------------------------

// Operand dims with 1-D operands expanded and batch dims padded to one rank.
struct MatmulShape {
  memory::dims a, b, d;
  int64_t batch = 1, m = 0, k = 0, n = 0;
};

MatmulShape matmul_shape(const TensorView& x, const TensorView& y) {
  MatmulShape s;
  s.a = to_dnnl_dims(x.shape());
  s.b = to_dnnl_dims(y.shape());
  if (s.a.size() == 1) s.a.insert(s.a.begin(), 1);
  if (s.b.size() == 1) s.b.push_back(1);
  size_t r = std::max(s.a.size(), s.b.size());
  s.a.insert(s.a.begin(), r - s.a.size(), 1);
  s.b.insert(s.b.begin(), r - s.b.size(), 1);
  s.d.resize(r);
  for (size_t i = 0; i + 2 < r; ++i) {
    s.d[i] = s.a[i] == 1 ? s.b[i] : s.a[i];
    s.batch *= s.d[i];
  }
  s.m = s.d[r - 2] = s.a[r - 2];
  s.n = s.d[r - 1] = s.b[r - 1];
  s.k = s.a[r - 1];
  // B shared by every batch (x @ W): one (batch*M, K) x (K, N) product.
  if (r > 2 && s.b[r - 3] == 1 && std::all_of(s.b.begin(), s.b.end() - 2, [](int64_t d) { return d == 1; })) {
    s.m *= s.batch;
    s.batch = 1;
    s.a = {s.m, s.k};
    s.b = {s.k, s.n};
    s.d = {s.m, s.n};
  }
  return s;
}

// Reference loop for non-float32 types (and empty inner dimensions).
template <class T>
void matmul_loop(const MatmulShape& s, const T* a, const T* b, const T* bias, const T* residual, T* o,
                 const FusedActivation& act) {
  size_t r = s.d.size();
  int64_t total = s.batch * s.m;
  parallel_for(total, std::max<int64_t>(1, 4096 / std::max<int64_t>(1, s.n * s.k)), [&](int64_t b0, int64_t b1) {
    std::vector<T> saved;  // a residual row that is the output row (in place), kept before the row is zeroed
    for (int64_t row = b0; row < b1; ++row) {
      int64_t bi = row / s.m, i = row % s.m;
      // Batch offsets of a and b under broadcasting.
      int64_t rem = bi, aoff = 0, boff = 0, astride = s.m * s.k, bstride = s.k * s.n;
      for (size_t d = r - 2; d-- > 0;) {
        int64_t idx = rem % s.d[d];
        rem /= s.d[d];
        if (s.a[d] != 1) aoff += idx * astride;
        if (s.b[d] != 1) boff += idx * bstride;
        astride *= s.a[d];
        bstride *= s.b[d];
      }
      const T* pa = a + aoff + i * s.k;
      const T* pb = b + boff;
      T* po = o + row * s.n;
      const T* pr = residual ? residual + row * s.n : nullptr;
      if (pr == po) {
        saved.assign(po, po + s.n);
        pr = saved.data();
      }
      for (int64_t j = 0; j < s.n; ++j) po[j] = T(0);
      for (int64_t kk = 0; kk < s.k; ++kk) {
        T av = pa[kk];
        const T* rowb = pb + kk * s.n;
        for (int64_t j = 0; j < s.n; ++j) po[j] = static_cast<T>(po[j] + av * rowb[j]);
      }
      for (int64_t j = 0; j < s.n; ++j) {
        T v = bias ? static_cast<T>(po[j] + bias[j]) : po[j];
        po[j] = act.apply(pr ? static_cast<T>(v + pr[j]) : v);
      }
    }
  });
}

// Logical dims and strides of a stored row-major tensor seen through a
// transpose `perm` (logical dim j = stored dim perm[j]).
std::pair<memory::dims, memory::dims> permuted(std::span<const int64_t> stored, const std::vector<int64_t>& perm) {
  memory::dims st(stored.size());
  int64_t s = 1;
  for (size_t i = stored.size(); i-- > 0;) {
    st[i] = s;
    s *= stored[i];
  }
  memory::dims dims(stored.size()), strides(stored.size());
  for (size_t j = 0; j < perm.size(); ++j) {
    dims[j] = stored[static_cast<size_t>(perm[j])];
    strides[j] = st[static_cast<size_t>(perm[j])];
  }
  return {dims, strides};
}

std::vector<int64_t> identity_perm(size_t r) {
  std::vector<int64_t> p(r);
  for (size_t i = 0; i < r; ++i) p[i] = static_cast<int64_t>(i);
  return p;
}

class MatMulKernel : public Kernel {
 public:
  // native_bf16: made by the registration for bf16 activations (native_bf16 below); otherwise a
  // 16-bit MatMul reaches this kernel widened to float32 (widen_half), whatever init says.
  explicit MatMulKernel(const KernelInit& init, bool native_bf16 = false) : label_(init.label()) {
    act_ = FusedActivation::from(init);
    // Transposes folded into the operands / the result by the
    // fuse_transpose_matmul pass: oneDNN reads and writes through strides.
    perm_a_ = init.attr_ints("dynrt.perm_a");
    perm_b_ = init.attr_ints("dynrt.perm_b");
    perm_y_ = init.attr_ints("dynrt.perm_y");
    strided_ = !perm_a_.empty() || !perm_b_.empty() || !perm_y_.empty();
    // bf16 activations (builder/precision.cpp): the input or output stored in bf16, which
    // only the bf16 product on packed float32 weights takes.
    src_bf16_ = native_bf16 && init.input_dtype(0) == DType::kBFloat16;
    dst_bf16_ = native_bf16 && init.output_dtype(0) == DType::kBFloat16;
    // A fused residual (fuse_epilogue.h) is read in the output's row-major layout, in the
    // output's type (float32 here, or the type widen_half widens).
    if (init.has_input(3) && (strided_ || init.input_dtype(3) != (native_bf16 ? DType::kFloat32 : init.output_dtype(0))))
      throw Error(ErrorCode::kInvalidEngine, label_ + ": a fused residual that is not of the output's type and layout");
    // A residual of the output's type is accumulated onto by a sum post-op, onto its own
    // buffer when the runtime grants it (inplace_input); a bf16 output's float32 residual
    // is read by a binary-add post-op.
    sum_residual_ = init.has_input(3) && init.input_dtype(3) == init.output_dtype(0);
    if (strided_) {
      if (src_bf16_ || dst_bf16_)
        throw Error(ErrorCode::kInvalidEngine, label_ + ": bf16 activations on a MatMul with folded transposes");
      check_folded_transposes(init);
      return;
    }
    if (init.input_dtype(0) == DType::kFloat32 || src_bf16_)
      if (const Tensor* w = init.constant_input(1); w && w->shape().size() >= 2 && w->dtype() == DType::kFloat32)
        packed_ = std::make_unique<PackedWeights>(*w, plain_desc(memory::dims(w->shape().begin(), w->shape().end())));
    bf16_ = bf16_compute(init) && packed_;
    if (src_bf16_ || dst_bf16_) {  // what store_cpu_bf16_activations makes, and nothing else
      const Tensor* w = init.constant_input(1);
      const bool ok = bf16_ && w->shape()[w->shape().size() - 2] > 0 &&
                      (!init.has_input(2) || init.input_dtype(2) == DType::kFloat32) &&
                      (src_bf16_ || init.input_dtype(0) == DType::kFloat32) &&
                      (dst_bf16_ || init.output_dtype(0) == DType::kFloat32);
      if (!ok)
        throw Error(ErrorCode::kInvalidEngine, label_ + ": bf16 activations on a MatMul that does not compute in "
                                                        "bf16 on constant float32 weights");
    }
  }

  // A bf16-compute MatMul whose activation is stored in bf16 (input or output): it takes
  // those itself instead of going through widen_half (the constructor checks the rest).
  // The residual (input 3) when it is summed onto the output: the output may take its buffer.
  int inplace_input() const override { return sum_residual_ ? 3 : -1; }

  static bool native_bf16(const KernelInit& init) {
    if (init.op() != "MatMul" || init.attr_string("dynrt.compute", "") != "bf16") return false;
    return init.input_dtype(0) == DType::kBFloat16 || init.output_dtype(0) == DType::kBFloat16;
  }

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    if (c.in(0).dtype != DType::kFloat32 && !src_bf16_) return nullptr;
    if (strided_) return prepare_strided(c);
    MatmulShape s = matmul_shape(c.in(0), c.in(1));
    // The fused operands are read as the product's shape says: their sizes must be that
    // (an engine file could say otherwise; validation checks only lowered nodes' shapes).
    if (c.has_in(2) && c.in(2).numel() != s.n)
      throw Error(ErrorCode::kInvalidEngine, label_ + ": the fused bias has " + std::to_string(c.in(2).numel()) +
                                                 " elements, not the product's " + std::to_string(s.n) + " columns");
    if (c.has_in(3) && !std::ranges::equal(c.in(3).shape(), c.out(0).shape())) {
      auto dims = [](const TensorView& v) { return dims_str({v.shape().begin(), v.shape().end()}); };
      throw Error(ErrorCode::kInvalidEngine, label_ + ": the fused residual " + dims(c.in(3)) +
                                                 " is not the output's shape " + dims(c.out(0)));
    }
    if (s.k == 0 || s.batch * s.m * s.n == 0) return nullptr;
    dnnl::primitive_attr attr = base_attr();
    dnnl::post_ops po;
    // A fused residual (input 3, float32, the output's shape): added before the activation.
    const memory::desc residual = c.has_in(3) ? plain_desc(s.d) : memory::desc();
    if (c.has_in(3) && sum_residual_) po.append_sum(1.f);
    else if (c.has_in(3)) po.append_binary(dnnl::algorithm::binary_add, residual);
    act_.append_to(po);
    attr.set_post_ops(po);
    // Constant B: s.b is its dims reshaped (unit dims added or dropped), which
    // PackedWeights handles.
    const PackedWeights* packed = packed_.get();
    // A fused bias (input 2, from MatMul + Add) broadcasts along the last dim.
    memory::desc bias;
    if (c.has_in(2)) {
      memory::dims bd(s.d.size(), 1);
      bd.back() = s.n;
      bias = plain_desc(bd);
    }
    using dt = memory::data_type;
    auto st = make_matmul(label_, plain_desc(s.a, src_bf16_ ? dt::bf16 : dt::f32), plain_desc(s.b), bias,
                          plain_desc(s.d, dst_bf16_ ? dt::bf16 : dt::f32), attr, packed, bf16_);
    st->residual = sum_residual_ ? memory::desc() : residual;
    return st;
  }

  void run(KernelContext& c) const override {
    const TensorView &x = c.in(0), &y = c.in(1), &z = c.out(0);
    if (z.numel() == 0) return;
    if (auto* st = static_cast<const MatmulState*>(c.state)) {
      const void* residual = c.has_in(3) ? c.in(3).data : nullptr;
      if (residual && sum_residual_) {  // the sum post-op adds what the output holds
        if (residual != z.data) parallel_copy(z.data, residual, z.nbytes());
        residual = nullptr;
      }
      run_matmul(*st, x.data, y.data, c.has_in(2) ? c.in(2).data : nullptr, z.data, residual);
      return;
    }
    if (strided_) {  // no primitive: an empty inner dimension, so the product is all zeros
      if (c.has_in(2) || act_.present) throw Error(ErrorCode::kUnsupported, label_ + ": empty inner dimension with fused ops");
      std::memset(z.data, 0, z.nbytes());
      return;
    }
    MatmulShape s = matmul_shape(x, y);
    DYNRT_DISPATCH_NUMERIC(x.dtype, "MatMul",
                           matmul_loop<T>(s, x.as<const T>(), y.as<const T>(), c.has_in(2) ? c.in(2).as<const T>() : nullptr,
                                          c.has_in(3) ? c.in(3).as<const T>() : nullptr, z.as<T>(), act_));
  }

 private:
  // The fuse_transpose_matmul pass's attributes, which engine validation
  // cannot check against the MatMul schema (they change the shapes read):
  // float32 operands of one rank, each perm a permutation of it.
  void check_folded_transposes(const KernelInit& init) const {
    auto corrupt = [&](const std::string& what) { throw Error(ErrorCode::kInvalidEngine, label_ + ": " + what); };
    if (init.input_dtype(0) != DType::kFloat32 || init.input_dtype(1) != DType::kFloat32)
      corrupt("folded transposes on a MatMul that is not float32");
    const size_t r = init.input_rank(0);
    if (r < 2 || init.input_rank(1) != r) corrupt("folded transposes need operands of one rank, at least 2");
    for (const auto* p : {&perm_a_, &perm_b_, &perm_y_}) {
      if (p->empty()) continue;
      std::vector<bool> seen(r, false);
      bool ok = p->size() == r;
      for (int64_t d : *p) {
        ok = ok && d >= 0 && d < static_cast<int64_t>(r) && !seen[static_cast<size_t>(d)];
        if (ok) seen[static_cast<size_t>(d)] = true;
      }
      if (!ok) corrupt("a dynrt.perm_* attribute is not a permutation of the operands' " + std::to_string(r) + " dims");
    }
  }

  std::unique_ptr<KernelState> prepare_strided(const KernelContext& c) const {
    const TensorView &x = c.in(0), &y = c.in(1), &z = c.out(0);
    size_t r = static_cast<size_t>(x.rank);
    auto mismatch = [&] {
      throw Error(ErrorCode::kInvalidEngine, label_ + ": the folded transposes do not fit the shapes " +
                                                 dims_str({x.shape().begin(), x.shape().end()}) + ", " +
                                                 dims_str({y.shape().begin(), y.shape().end()}) + " -> " +
                                                 dims_str({z.shape().begin(), z.shape().end()}));
    };
    if (y.rank != x.rank || z.rank != x.rank) mismatch();
    auto [ad, as] = permuted(x.shape(), perm_a_.empty() ? identity_perm(r) : perm_a_);
    auto [bd, bs] = permuted(y.shape(), perm_b_.empty() ? identity_perm(r) : perm_b_);
    memory::dims dd(r);
    for (size_t i = 0; i + 2 < r; ++i) {
      if (ad[i] != bd[i] && ad[i] != 1 && bd[i] != 1) mismatch();
      dd[i] = ad[i] == 1 ? bd[i] : ad[i];
    }
    dd[r - 2] = ad[r - 2];
    dd[r - 1] = bd[r - 1];
    if (ad[r - 1] != bd[r - 2]) mismatch();
    // The product's dims, read through perm_y, must be the stored output's.
    for (size_t j = 0; j < r; ++j)
      if (dd[static_cast<size_t>(perm_y_.empty() ? static_cast<int64_t>(j) : perm_y_[j])] != z.dim(static_cast<int>(j)))
        mismatch();
    // The stored output is Transpose(result, perm_y): logical dim i sits at stored position j with perm_y[j] == i.
    memory::dims ds(r);
    std::vector<int64_t> py = perm_y_.empty() ? identity_perm(r) : perm_y_;
    int64_t stride = 1;
    for (size_t j = r; j-- > 0;) {
      ds[static_cast<size_t>(py[j])] = stride;
      stride *= z.dim(static_cast<int>(j));
    }
    if (ad[r - 1] == 0 || z.numel() == 0) return nullptr;
    dnnl::primitive_attr attr = base_attr();
    dnnl::post_ops po;
    act_.append_to(po);
    attr.set_post_ops(po);
    memory::desc bias;
    if (c.has_in(2)) {
      memory::dims bdims(r, 1);
      bdims.back() = dd.back();
      bias = plain_desc(bdims);
    }
    using dt = memory::data_type;
    return make_matmul(label_, memory::desc(ad, dt::f32, as), memory::desc(bd, dt::f32, bs), bias,
                       memory::desc(dd, dt::f32, ds), attr, nullptr);
  }

  std::string label_;
  FusedActivation act_;
  std::unique_ptr<PackedWeights> packed_;
  std::vector<int64_t> perm_a_, perm_b_, perm_y_;
  bool strided_ = false;
  bool sum_residual_ = false;  // the residual goes in by a sum post-op (see the constructor)
  bool bf16_ = false;  // bf16 products (constant weights only)
  bool src_bf16_ = false, dst_bf16_ = false;  // activations stored in bf16
};

// ---- Gemm -------------------------------------------------------------------

class GemmKernel : public Kernel {
 public:
  explicit GemmKernel(const KernelInit& init) : label_(init.label()) {
    GemmAttrs a = GemmAttrs::parse(init);
    ta_ = a.trans_a;
    tb_ = a.trans_b;
    alpha_ = a.alpha;
    beta_ = a.beta;
    act_ = FusedActivation::from(init);
    f32_ = init.input_dtype(0) == DType::kFloat32;
    if (!f32_) return;
    if (const Tensor* w = init.constant_input(1)) {
      int64_t r = w->shape()[0], cdim = w->shape()[1];
      memory::dims dims = tb_ ? memory::dims{cdim, r} : memory::dims{r, cdim};
      memory::dims strides = tb_ ? memory::dims{1, cdim} : memory::dims{cdim, 1};
      packed_ = std::make_unique<PackedWeights>(*w, memory::desc(dims, memory::data_type::f32, strides));
    }
    bf16_ = bf16_compute(init) && packed_;
    // A row-broadcast C (shape (N) or (1, N)) becomes the primitive's bias.
    if (init.input_dtype(2) != DType::kUndefined && beta_ != 0.f && alpha_ == 1.f) {
      const Tensor* cst = init.constant_input(2);
      size_t rank = init.input_rank(2);
      bool row = rank == 1 || (rank == 2 && init.input_shape(2)[0] == Expr::constant(1));
      if (row && cst) {
        bias_ = cst->clone();
        for (int64_t i = 0; i < bias_.numel(); ++i) bias_.data_as<float>()[i] *= beta_;
        c_mode_ = CMode::kConstBias;
      } else if (row && beta_ == 1.f) {
        c_mode_ = CMode::kInputBias;
      }
    }
  }

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    if (!f32_) return nullptr;
    int64_t m, k, n;
    dims(c, m, k, n);
    if (m == 0 || n == 0 || k == 0) return nullptr;
    CMode mode = c_mode_;
    if (mode != CMode::kNone && c.in(2).numel() != n) mode = CMode::kNone;  // (1,1)-shaped C at run time
    dnnl::primitive_attr attr = base_attr();
    dnnl::post_ops po;
    // alpha * A B (then + beta * C, then the activation): alpha scales the product only.
    if (alpha_ != 1.f) po.append_eltwise(dnnl::algorithm::eltwise_linear, alpha_, 0.f);
    if (mode == CMode::kNone && c.has_in(2) && beta_ != 0.f) po.append_sum(beta_);
    act_.append_to(po);
    attr.set_post_ops(po);
    memory::desc a(memory::dims{m, k}, memory::data_type::f32, ta_ ? memory::dims{1, m} : memory::dims{k, 1});
    memory::desc b(memory::dims{k, n}, memory::data_type::f32, tb_ ? memory::dims{1, k} : memory::dims{n, 1});
    memory::desc bias = mode == CMode::kNone ? memory::desc() : plain_desc({1, n});
    auto st = make_matmul(label_, a, b, bias, plain_desc({m, n}), attr, packed_.get(), bf16_);
    auto gs = std::make_unique<GemmState>();
    gs->mm = std::move(st);
    gs->mode = mode;
    return gs;
  }

  void run(KernelContext& c) const override {
    const TensorView &x = c.in(0), &y = c.in(1), &z = c.out(0);
    int64_t m, k, n;
    dims(c, m, k, n);
    if (m * n == 0) return;
    if (c.has_in(2)) check_c(c.in(2), m, n);
    const auto* gs = static_cast<const GemmState*>(c.state);
    CMode mode = gs ? gs->mode : CMode::kNone;
    if (mode == CMode::kNone && c.has_in(2) && beta_ != 0.f) fill_c(c.in(2), z, m, n);
    if (gs) {
      const void* bias = mode == CMode::kConstBias ? bias_.data() : mode == CMode::kInputBias ? c.in(2).data : nullptr;
      run_matmul(*gs->mm, x.data, y.data, bias, z.data);
      return;
    }
    bool use_c = c.has_in(2) && beta_ != 0.f;
    DYNRT_DISPATCH_NUMERIC(x.dtype, "Gemm", {
      const T* a = x.as<const T>();
      const T* b = y.as<const T>();
      T* o = z.as<T>();
      parallel_for(m, 16, [&](int64_t i0, int64_t i1) {
        for (int64_t i = i0; i < i1; ++i)
          for (int64_t j = 0; j < n; ++j) {
            double acc = 0;
            for (int64_t kk = 0; kk < k; ++kk)
              acc += static_cast<double>(a[ta_ ? kk * m + i : i * k + kk]) * static_cast<double>(b[tb_ ? j * k + kk : kk * n + j]);
            double v = alpha_ * acc + (use_c ? beta_ * static_cast<double>(o[i * n + j]) : 0.0);
            o[i * n + j] = act_.apply(static_cast<T>(v));
          }
      });
    });
  }

 private:
  enum class CMode { kNone, kConstBias, kInputBias };
  struct GemmState : KernelState {
    std::unique_ptr<MatmulState> mm;
    CMode mode = CMode::kNone;
  };

  void dims(const KernelContext& c, int64_t& m, int64_t& k, int64_t& n) const {
    const TensorView &x = c.in(0), &y = c.in(1);
    m = ta_ ? x.dim(1) : x.dim(0);
    k = ta_ ? x.dim(0) : x.dim(1);
    n = tb_ ? y.dim(0) : y.dim(1);
  }

  // C must be unidirectionally broadcastable to (M, N).
  void check_c(const TensorView& cv, int64_t m, int64_t n) const {
    int64_t cm = cv.rank == 2 ? cv.dim(0) : 1, cn = cv.rank >= 1 ? cv.dim(cv.rank - 1) : 1;
    if ((cm != 1 && cm != m) || (cn != 1 && cn != n))
      throw Error(ErrorCode::kInvalidInput, label_ + ": C of shape (" + std::to_string(cm) + ", " +
                                                std::to_string(cn) + ") cannot be broadcast to (" + std::to_string(m) +
                                                ", " + std::to_string(n) + ")");
  }

  // Broadcast C into the output (the matmul then adds beta * it).
  static void fill_c(const TensorView& cv, const TensorView& z, int64_t m, int64_t n) {
    int64_t cm = cv.rank == 2 ? cv.dim(0) : 1, cn = cv.rank >= 1 ? cv.dim(cv.rank - 1) : 1;
    size_t es = dtype_size(z.dtype);
    auto* o = static_cast<char*>(z.data);
    const auto* src = static_cast<const char*>(cv.data);
    parallel_for(m, 64, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) {
        const char* row = src + static_cast<size_t>(cm == 1 ? 0 : i * cn) * es;
        char* dst = o + static_cast<size_t>(i * n) * es;
        if (cn == n) std::memcpy(dst, row, static_cast<size_t>(n) * es);
        else
          for (int64_t j = 0; j < n; ++j) std::memcpy(dst + static_cast<size_t>(j) * es, row, es);
      }
    });
  }

  std::string label_;
  bool ta_ = false, tb_ = false, f32_ = false, bf16_ = false;
  float alpha_ = 1.f, beta_ = 1.f;
  FusedActivation act_;
  std::unique_ptr<PackedWeights> packed_;
  CMode c_mode_ = CMode::kNone;
  Tensor bias_;
};

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_linalg_kernels(KernelRegistry& r) {
  using namespace cpu;
  // float16/bfloat16 run the float32 path on widened copies (widen_half).
  // float16/bfloat16 MatMuls run the float32 kernel on widened copies (widen_half); a
  // bf16-compute MatMul with bf16 activations reads and writes them itself.
  KernelFactory widened = widen_half([](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<MatMulKernel>(init);
  });
  r.add_kernel("MatMul", [widened](const KernelInit& init) -> std::unique_ptr<Kernel> {
    if (MatMulKernel::native_bf16(init)) return std::make_unique<MatMulKernel>(init, true);
    return widened(init);
  });
  r.add_kernel("Gemm", [](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<GemmKernel>(init);
  });
}

}  // namespace dynrt
