// CPU kernels for Conv and ConvTranspose on oneDNN. Pools and
// BatchNormalization live in pooling.cpp.
//
// Activations are plain NCHW unless the CPU layout pass marked their values
// channels-last (ir::Layout::kChannelsLast: same shape in the IR, NHWC bytes
// in memory; a fused residual is in the output's layout). For NCHW
// oneDNN picks its preferred layout (format_tag::any) and we reorder in and
// out, since its NHWC/blocked kernels beat its plain-NCHW (gemm) path by far
// more than the reorders cost. Constant weights are reordered once per
// layout (PackedWeights), never per run.
#include <algorithm>
#include <cstdlib>
#include <string>
#include <string_view>

#include "backends/cpu/half.h"
#include "backends/cpu/onednn_util.h"
#include "backends/cpu/kernels.h"
#include "ops/attrs.h"
#include "ops/nn_shape.h"

namespace dynrt::cpu {

void register_pooling_kernels(KernelRegistry& r);  // pooling.cpp

namespace {

using dnnl::memory;

memory::format_tag plain_tag(size_t rank) {
  switch (rank) {
    case 3: return memory::format_tag::ncw;
    case 4: return memory::format_tag::nchw;
    default: return memory::format_tag::ncdhw;
  }
}

memory::format_tag channels_last_tag(size_t rank) {
  switch (rank) {
    case 3: return memory::format_tag::nwc;
    case 4: return memory::format_tag::nhwc;
    default: return memory::format_tag::ndhwc;
  }
}

struct ConvState : KernelState {
  dnnl::primitive prim;
  memory::desc src_plain, dst_plain, src, wei, wei_plain, bias, dst, scratch;
  std::shared_ptr<memory> packed;
  memory::desc res_plain;  // the residual as stored (its type may differ from the output's)
  bool has_residual = false;
  dnnl::reorder src_in, dst_out, res_in, wei_in;  // empty when no reorder is needed
  bool binary_residual = false;  // the residual read by a binary-add post-op (else summed onto dst)
  bool src_reorder = false, dst_reorder = false, wei_reorder = false;
  // oneDNN memory objects made on the first run and pointed at each run's
  // buffers (see MatmulState::Bound). A plan's state is used by one run at a time.
  struct Bound {
    std::unordered_map<int, memory> args;
    memory src_user, src, wei_user, wei, dst_user, dst, res;
    bool bias = false, made = false;
  };
  mutable Bound bound;
};

class ConvKernel : public Kernel {
 public:
  // native_bf16: bfloat16 activations are read and written as they are (else
  // widen_half hands this kernel float32 copies).
  ConvKernel(const KernelInit& init, bool transposed, bool native_bf16 = false)
      : label_(init.label()), transposed_(transposed) {
    // float16/bfloat16 reach this kernel widened to float32 (widen_half at registration).
    if (init.input_dtype(0) != DType::kFloat32 && !is_half(init.input_dtype(0)))
      unsupported_dtype(init.op().c_str(), init.input_dtype(0));
    const std::vector<Expr>& ws = init.input_shape(1);
    if (ws.size() < 3 || init.input_rank(0) != ws.size())
      init.unsupported("the weight must have the input's rank, at least 3");
    n_ = ws.size() - 2;
    std::vector<int64_t> k;
    // Symbolic kernel dims (weight is a graph input) are read in prepare().
    for (size_t i = 0; i < n_; ++i) k.push_back(ws[i + 2].is_const() ? ws[i + 2].const_value() : 1);
    sp_ = nnshape::read_spatial(init, n_, k);
    if (!sp_.error.empty()) init.unsupported(sp_.error);
    ConvAttrs attrs = ConvAttrs::parse(init, n_);
    group_ = attrs.group;
    if (transposed_) {
      tr_.output_padding = attrs.output_padding;
      tr_.output_shape = attrs.output_shape;
      if (tr_.output_shape.size() == n_ + 2) tr_.output_shape.erase(tr_.output_shape.begin(), tr_.output_shape.begin() + 2);
    }
    act_ = FusedActivation::from(init);
    residual_ = init.input_dtype(3) != DType::kUndefined;
    src_cl_ = init.input_layout(0) == ir::Layout::kChannelsLast;
    dst_cl_ = init.output_layout(0) == ir::Layout::kChannelsLast;
    if (const Tensor* w = init.constant_input(1); w && w->dtype() == DType::kFloat32) {
      std::vector<int64_t> d = w->shape();
      packed_ = std::make_unique<PackedWeights>(*w, weight_plain_desc(d));
    }
    // bf16 products with constant weights: a float32 input is converted on
    // the way in (the src reorder). Activations the precision pass stored in
    // bf16 (builder/precision.cpp) are read and written as they are.
    bf16_ = bf16_compute(init) && packed_ && !transposed_;
    if (!native_bf16) return;
    src_bf16_ = init.input_dtype(0) == DType::kBFloat16;
    dst_bf16_ = init.output_dtype(0) == DType::kBFloat16;
    res_bf16_ = residual_ && init.input_dtype(3) == DType::kBFloat16;
    if (!bf16_) init.unsupported("bfloat16 activations need bf16 compute with constant weights (--precision bf16)");
  }

  // A Conv whose bfloat16 activations this kernel reads and writes itself
  // (no widening to float32 around it).
  static bool native_bf16(const KernelInit& init) {
    if (init.op() != "Conv" || init.attr_string("dynrt.compute", "") != "bf16") return false;
    for (size_t i : {size_t{1}, size_t{2}})
      if (init.has_input(i) && init.input_dtype(i) != DType::kFloat32) return false;
    return init.input_dtype(0) == DType::kBFloat16 || init.output_dtype(0) == DType::kBFloat16 ||
           init.input_dtype(3) == DType::kBFloat16;
  }

  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    const TensorView &x = c.in(0), &w = c.in(1), &y = c.out(0);
    if (y.numel() == 0 || x.numel() == 0) return nullptr;
    memory::dims strides, dil, pl, pr;
    nnshape::Spatial sp = sp_;
    for (size_t i = 0; i < n_; ++i) sp.kernel[i] = w.dim(static_cast<int>(i + 2));
    for (size_t i = 0; i < n_; ++i) {
      int64_t in = x.dim(static_cast<int>(i + 2)), out = y.dim(static_cast<int>(i + 2));
      int64_t b, e, dk = sp.eff_kernel(i);
      if (transposed_) {
        b = nnshape::transposed_pad_begin(sp, tr_, i, in);
        e = (in - 1) * sp.strides[i] + dk - b - out;  // may be negative (output_padding)
      } else {
        nnshape::forward_pads(sp, i, in, out, b, e);
      }
      strides.push_back(sp.strides[i]);
      dil.push_back(sp.dilations[i] - 1);
      pl.push_back(b);
      pr.push_back(e);
    }
    return with_dnnl_errors(label_, [&] {
      auto st = std::make_unique<ConvState>();
      memory::dims xd = to_dnnl_dims(x.shape()), yd = to_dnnl_dims(y.shape());
      using dt = memory::data_type;
      st->has_residual = residual_;
      st->src_plain = memory::desc(xd, src_bf16_ ? dt::bf16 : dt::f32, src_cl_ ? channels_last_tag(xd.size()) : plain_tag(xd.size()));
      st->dst_plain = memory::desc(yd, dst_bf16_ ? dt::bf16 : dt::f32, dst_cl_ ? channels_last_tag(yd.size()) : plain_tag(yd.size()));
      if (residual_)
        st->res_plain = memory::desc(yd, res_bf16_ ? dt::bf16 : dt::f32, dst_cl_ ? channels_last_tag(yd.size()) : plain_tag(yd.size()));
      st->wei_plain = weight_plain_desc(std::vector<int64_t>(w.shape().begin(), w.shape().end()));
      const auto compute = bf16_ ? memory::data_type::bf16 : memory::data_type::f32;
      memory::desc wei_any(st->wei_plain.get_dims(), compute, memory::format_tag::any);
      const memory::desc src_exact(xd, compute, src_cl_ ? channels_last_tag(xd.size()) : plain_tag(xd.size()));
      memory::desc bias_md = c.has_in(2) ? memory::desc({yd[1]}, memory::data_type::f32, memory::format_tag::a)
                                         : memory::desc();
      // The residual: a sum post-op, accumulating onto dst, which holds the
      // residual already when the runtime gave the output the residual's
      // buffer (inplace_input), else a copy of it. A binary-add post-op
      // reading the residual where it is measured 3.4x slower in oneDNN
      // 2.6's AMX bf16 convolution (ResNet-50's 1x1 convolutions at 56x56);
      // it stays for a float32 residual of a bf16 output in channels-last
      // layout, which it adds unrounded.
      auto make_attr = [&](bool binary, const memory::desc& residual) {
        dnnl::primitive_attr attr = base_attr();
        dnnl::post_ops po;
        if (residual_ && binary) po.append_binary(dnnl::algorithm::binary_add, residual);
        else if (residual_) po.append_sum(1.f);
        act_.append_to(po);
        attr.set_post_ops(po);
        return attr;
      };
      memory::desc src_any(xd, compute, memory::format_tag::any);
      memory::desc dst_any(yd, dst_bf16_ ? dt::bf16 : dt::f32, memory::format_tag::any);
      // Channels-last activations are what oneDNN's fast kernels use: ask for
      // them exactly, unless that leaves only the reference implementation.
      bool exact = src_cl_ || dst_cl_;
      for (int attempt = exact ? 0 : 1; attempt < 2; ++attempt) {
        const memory::desc& sm = attempt == 0 && src_cl_ ? src_exact : src_any;
        const memory::desc& dm = attempt == 0 && dst_cl_ ? st->dst_plain : dst_any;
        bool reject_ref = attempt == 0;
        st->binary_residual = residual_ && (res_bf16_ != dst_bf16_ || binary_residual_ab()) && attempt == 0 && dst_cl_;
        dnnl::primitive_attr attr = make_attr(st->binary_residual, st->res_plain);
        auto kind = dnnl::prop_kind::forward_inference;
        bool ok = transposed_
                      ? build<dnnl::deconvolution_forward>(
                            *st, {dnnl_engine(), kind, dnnl::algorithm::deconvolution_direct, sm, wei_any, bias_md, dm,
                                  strides, dil, pl, pr, attr},
                            reject_ref)
                      : build<dnnl::convolution_forward>(
                            *st, {dnnl_engine(), kind, dnnl::algorithm::convolution_direct, sm, wei_any, bias_md, dm,
                                  strides, dil, pl, pr, attr},
                            reject_ref);
        if (ok) break;
      }
      st->bias = bias_md;
      if (packed_) st->packed = packed_->get(st->wei);
      return st;
    });
  }

  // The residual (input 3) is accumulated onto by the sum post-op: the output may take its buffer.
  int inplace_input() const override { return residual_ && res_bf16_ == dst_bf16_ && !binary_residual_ab() ? 3 : -1; }

  // DYNRT_CPU_CONV_RESIDUAL=binary (for A/B measurements only): a channels-last
  // residual read by a binary-add post-op, not summed in place.
  static bool binary_residual_ab() {
    static const bool on = [] {
      const char* v = std::getenv("DYNRT_CPU_CONV_RESIDUAL");
      return v && std::string_view(v) == "binary";
    }();
    return on;
  }

  void run(KernelContext& c) const override {
    const TensorView &x = c.in(0), &w = c.in(1), &y = c.out(0);
    if (y.numel() == 0) return;
    const auto* st = static_cast<const ConvState*>(c.state);
    if (!st) {  // empty input: the output is the bias (then residual and activation)
      fill_degenerate(c);
      return;
    }
    dnnl::stream& s = dnnl_stream();
    ConvState::Bound& io = bind(*st, c.has_in(2));
    io.src_user.set_data_handle(x.data);
    if (st->src_reorder) {
      io.src.set_data_handle(thread_scratch(kScratchSrc, st->src.get_size()));
      st->src_in.execute(s, io.src_user, io.src);
    }
    if (!st->packed) {
      io.wei_user.set_data_handle(w.data);
      if (st->wei_reorder) {
        io.wei.set_data_handle(thread_scratch(kScratchWeights, st->wei.get_size()));
        st->wei_in.execute(s, io.wei_user, io.wei);
      }
    }
    if (c.has_in(2)) io.args.at(DNNL_ARG_BIAS).set_data_handle(c.in(2).data);
    io.dst_user.set_data_handle(y.data);
    if (st->dst_reorder) io.dst.set_data_handle(thread_scratch(kScratchDst, st->dst.get_size()));
    if (st->binary_residual) {
      io.res.set_data_handle(c.in(3).data);
    } else if (residual_) {
      // The sum post-op accumulates onto what dst holds: load the residual
      // (converted when its layout or type differs from dst's), unless it is there.
      if (st->res_in) {
        io.res.set_data_handle(c.in(3).data);
        st->res_in.execute(s, io.res, io.dst);
      } else if (c.in(3).data != y.data) {
        parallel_copy(y.data, c.in(3).data, y.nbytes());
      }
    }
    // The scratchpad is the running thread's, which may differ from run to run.
    if (size_t n = st->scratch.get_size()) io.args.at(DNNL_ARG_SCRATCHPAD).set_data_handle(thread_scratch(kScratchPad, n));
    st->prim.execute(s, io.args);
    if (st->dst_reorder) st->dst_out.execute(s, io.dst, io.dst_user);
  }

  // The state's memory objects, made on its first run (buffers set by the caller).
  ConvState::Bound& bind(const ConvState& st, bool bias) const {
    ConvState::Bound& io = st.bound;
    if (io.made && io.bias == bias) return io;
    const dnnl::engine& eng = dnnl_engine();
    io.args.clear();
    io.src_user = memory(st.src_plain, eng, DNNL_MEMORY_NONE);
    io.src = st.src_reorder ? memory(st.src, eng, DNNL_MEMORY_NONE) : io.src_user;
    io.args.emplace(DNNL_ARG_SRC, io.src);
    if (st.packed) {
      io.args.emplace(DNNL_ARG_WEIGHTS, *st.packed);
    } else {
      io.wei_user = memory(st.wei_plain, eng, DNNL_MEMORY_NONE);
      io.wei = st.wei_reorder ? memory(st.wei, eng, DNNL_MEMORY_NONE) : io.wei_user;
      io.args.emplace(DNNL_ARG_WEIGHTS, io.wei);
    }
    if (bias) io.args.emplace(DNNL_ARG_BIAS, memory(st.bias, eng, DNNL_MEMORY_NONE));
    io.dst_user = memory(st.dst_plain, eng, DNNL_MEMORY_NONE);
    io.dst = st.dst_reorder ? memory(st.dst, eng, DNNL_MEMORY_NONE) : io.dst_user;
    if (st.binary_residual || (residual_ && st.res_in)) io.res = memory(st.res_plain, eng, DNNL_MEMORY_NONE);
    if (st.binary_residual) io.args.emplace(DNNL_ARG_ATTR_MULTIPLE_POST_OP(0) | DNNL_ARG_SRC_1, io.res);
    io.args.emplace(DNNL_ARG_DST, io.dst);
    if (st.scratch.get_size()) io.args.emplace(DNNL_ARG_SCRATCHPAD, memory(st.scratch, eng, DNNL_MEMORY_NONE));
    io.bias = bias;
    io.made = true;
    return io;
  }

 private:
  // Weight layout in oneDNN's dims: Conv W is (M, C/g, k...) = goihw;
  // ConvTranspose W is (C, M/g, k...) = giohw (i and o swapped in memory).
  memory::desc weight_plain_desc(const std::vector<int64_t>& w) const {
    int64_t ks = 1;
    for (size_t i = 2; i < w.size(); ++i) ks *= w[i];
    memory::dims dims, strides;
    int64_t g = group_;
    if (!transposed_) {
      if (g > 1) {
        dims = {g, w[0] / g, w[1]};
        strides = {w[0] / g * w[1] * ks, w[1] * ks, ks};
      } else {
        dims = {w[0], w[1]};
        strides = {w[1] * ks, ks};
      }
    } else {
      int64_t icg = w[0] / g, ocg = w[1];
      if (g > 1) {
        dims = {g, ocg, icg};
        strides = {icg * ocg * ks, ks, ocg * ks};
      } else {
        dims = {ocg, icg};
        strides = {ks, ocg * ks};
      }
    }
    int64_t s = ks;
    for (size_t i = 2; i < w.size(); ++i) {
      dims.push_back(w[i]);
      s /= w[i];
      strides.push_back(s);
    }
    return memory::desc(dims, memory::data_type::f32, strides);
  }

  // The first implementation oneDNN offers that is not the reference one
  // (reject_ref); false if none is left.
  template <class Prim>
  static bool build(ConvState& st, typename Prim::primitive_desc pd, bool reject_ref) {
    while (reject_ref && std::string_view(pd.impl_info_str()).starts_with("ref"))
      if (!pd.next_impl()) return false;
    st.prim = Prim(pd);
    fill(st, pd.src_desc(), pd.weights_desc(), pd.dst_desc(), pd.scratchpad_desc());
    return true;
  }

  static void fill(ConvState& st, const memory::desc& src, const memory::desc& wei, const memory::desc& dst,
                   const memory::desc& scratch) {
    const dnnl::engine& eng = dnnl_engine();
    st.src = src;
    st.wei = wei;
    st.dst = dst;
    st.scratch = scratch;
    st.src_reorder = src != st.src_plain;
    st.dst_reorder = dst != st.dst_plain;
    st.wei_reorder = wei != st.wei_plain;
    if (st.src_reorder) st.src_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, st.src_plain, eng, src));
    if (st.dst_reorder) st.dst_out = dnnl::reorder(dnnl::reorder::primitive_desc(eng, dst, eng, st.dst_plain));
    if (st.has_residual && st.res_plain != dst)
      st.res_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, st.res_plain, eng, dst));
    if (st.wei_reorder) st.wei_in = dnnl::reorder(dnnl::reorder::primitive_desc(eng, st.wei_plain, eng, wei));
  }

  // No input elements (zero channels or zero spatial size): out = act(bias + residual).
  void fill_degenerate(KernelContext& c) const {
    const TensorView& y = c.out(0);
    int64_t ch = y.dim(1), inner = y.numel() / std::max<int64_t>(1, y.dim(0) * ch);
    for (int64_t idx = 0; idx < y.numel(); ++idx) {
      int64_t k = dst_cl_ ? idx % ch : idx / inner % ch;
      float v = c.has_in(2) ? c.in(2).as<const float>()[k] : 0.f;
      if (residual_)
        v += res_bf16_ ? bf16_to_float(c.in(3).as<const uint16_t>()[idx]) : c.in(3).as<const float>()[idx];
      v = act_.apply(v);
      if (dst_bf16_) y.as<uint16_t>()[idx] = float_to_bf16(v);
      else y.as<float>()[idx] = v;
    }
  }

  std::string label_;
  bool transposed_;
  size_t n_ = 0;
  nnshape::Spatial sp_;
  nnshape::Transposed tr_;
  int64_t group_ = 1;
  FusedActivation act_;
  bool residual_ = false;
  bool src_cl_ = false, dst_cl_ = false;  // channels-last activations
  bool bf16_ = false;                      // bf16 products (builder/precision.cpp's mark)
  bool src_bf16_ = false, dst_bf16_ = false, res_bf16_ = false;  // activations stored in bf16
  std::unique_ptr<PackedWeights> packed_;
};

}  // namespace
}  // namespace dynrt::cpu

namespace dynrt {

void register_cpu_nn_kernels(KernelRegistry& r) {
  using namespace cpu;
  // float16/bfloat16 run the float32 primitive on widened copies (widen_half).
  // A bf16-compute Conv reads and writes bf16 activations itself.
  KernelFactory widened = widen_half([](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<ConvKernel>(init, false);
  });
  r.add_kernel("Conv", [widened](const KernelInit& init) -> std::unique_ptr<Kernel> {
    if (ConvKernel::native_bf16(init)) return std::make_unique<ConvKernel>(init, false, true);
    return widened(init);
  });
  r.add_kernel("ConvTranspose", widen_half([](const KernelInit& init) -> std::unique_ptr<Kernel> {
    return std::make_unique<ConvKernel>(init, true);
  }));
  register_pooling_kernels(r);
}

}  // namespace dynrt
