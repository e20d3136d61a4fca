// testdev: a test-only execution provider that proves the provider seam is
// real. Its memory is a separate "device": every allocation is tracked, and
// bytes are stored scrambled (XOR 0x5A), so any kernel or copy that reads
// device memory as host memory, or forgets a boundary copy, gives wrong
// answers, and its kernels refuse pointers that are not testdev memory.
// It runs a handful of float32 (and float16) ops: Add, Relu, MatMul, Cast. Like
// a GPU it works through a per-context stream: copies to the host land only
// when the stream is synchronized, so a runtime that reads them earlier sees
// stale bytes, and its kernels refuse to run without the stream.
//
// Built as the plug-in libdynrt_provider_testdev.so (loaded by name) and
// linked into the C++ unit tests, which call dynrt_register_provider.
#include "backends/testdev/testdev.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>

#include "backends/timing_cache.h"
#include "core/half.h"

namespace dynrt::testdev {
namespace {

constexpr unsigned char kScramble = 0x5A;

std::atomic<int64_t> g_to_host{0}, g_from_host{0}, g_bytes{0}, g_live{0}, g_syncs{0}, g_replays{0};
std::atomic<int64_t> g_tuned_choice{-1};
std::mutex g_mu;
std::map<const std::byte*, size_t> g_allocations;  // start -> bytes

void check_owned(const void* p, size_t bytes, const char* what) {
  if (bytes == 0) return;
  auto* b = static_cast<const std::byte*>(p);
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_allocations.upper_bound(b);
  if (it != g_allocations.begin()) {
    --it;
    if (b >= it->first && b + bytes <= it->first + it->second) return;
  }
  throw Error(ErrorCode::kInternal, std::string("testdev: ") + what + " is not in testdev memory");
}

void scramble(void* dst, const void* src, size_t bytes) {
  auto* d = static_cast<unsigned char*>(dst);
  auto* s = static_cast<const unsigned char*>(src);
  for (size_t i = 0; i < bytes; ++i) d[i] = s[i] ^ kScramble;
}

void copy_to_host_now(void* dst, const void* src, size_t bytes) {
  check_owned(src, bytes, "a copy's source");
  scramble(dst, src, bytes);
  ++g_to_host;
  g_bytes += static_cast<int64_t>(bytes);
}

void copy_from_host_now(void* dst, const void* src, size_t bytes) {
  check_owned(dst, bytes, "a copy's destination");
  scramble(dst, src, bytes);
  ++g_from_host;
  g_bytes += static_cast<int64_t>(bytes);
}

// Copies to the host are queued (their source bytes taken now) and land at
// synchronize(); copies from the host happen at once.
class TestStream final : public ProviderStream {
 public:
  void copy_to_host(void* dst, const void* src, size_t bytes) override {
    check_owned(src, bytes, "a copy's source");
    std::vector<unsigned char> staged(bytes);
    std::memcpy(staged.data(), src, bytes);
    pending_.push_back({dst, std::move(staged)});
  }
  void copy_from_host(void* dst, const void* src, size_t bytes) override { copy_from_host_now(dst, src, bytes); }
  void copy_within(void* dst, const void* src, size_t bytes) override {
    check_owned(src, bytes, "a copy's source");
    check_owned(dst, bytes, "a copy's destination");
    launch([=] { std::memcpy(dst, src, bytes); });
  }
  void synchronize() override {
    for (auto& [dst, bytes] : pending_) {
      scramble(dst, bytes.data(), bytes.size());
      ++g_to_host;
      g_bytes += static_cast<int64_t>(bytes.size());
    }
    pending_.clear();
    ++g_syncs;
  }

  // Kernels run at once, or are recorded (with the pointers they were given,
  // as a CUDA graph records them) between begin_capture and end_capture.
  void launch(std::function<void()> work) {
    if (recording_)
      recorded_.push_back(std::move(work));
    else
      work();
  }
  bool begin_capture() override {
    recording_ = true;
    recorded_.clear();
    return true;
  }
  std::unique_ptr<CapturedWork> end_capture() override;

 private:
  std::vector<std::pair<void*, std::vector<unsigned char>>> pending_;
  bool recording_ = false;
  std::vector<std::function<void()>> recorded_;
};

class TestGraph final : public CapturedWork {
 public:
  explicit TestGraph(std::vector<std::function<void()>> work) : work_(std::move(work)) {}
  void replay() override {
    for (auto& w : work_) w();
    ++g_replays;
  }

 private:
  std::vector<std::function<void()>> work_;
};

std::unique_ptr<CapturedWork> TestStream::end_capture() {
  recording_ = false;
  return std::make_unique<TestGraph>(std::move(recorded_));
}

using Views = std::vector<TensorView>;

// Queues a kernel's work on its stream, with copies of its tensor views.
void enqueue(KernelContext& c, void (*body)(const Views& in, const Views& out)) {
  auto* s = dynamic_cast<TestStream*>(c.stream);
  if (!s) throw Error(ErrorCode::kInternal, "testdev: a kernel ran without its stream");
  Views in(c.inputs.begin(), c.inputs.end()), out(c.outputs.begin(), c.outputs.end());
  s->launch([body, in, out] { body(in, out); });
}

// A tensor's floats in host memory (decoded, widened from float16), and
// writing them back.
std::vector<float> load(const TensorView& v, const char* what) {
  check_owned(v.data, v.nbytes(), what);
  std::vector<float> out(static_cast<size_t>(v.numel()));
  if (v.dtype == DType::kFloat16) {
    std::vector<uint16_t> h(out.size());
    scramble(h.data(), v.data, v.nbytes());
    for (size_t i = 0; i < h.size(); ++i) out[i] = half_to_float(h[i]);
  } else {
    scramble(out.data(), v.data, v.nbytes());
  }
  return out;
}

void store(const TensorView& v, const std::vector<float>& x) {
  check_owned(v.data, v.nbytes(), "an output");
  if (v.dtype == DType::kFloat16) {
    std::vector<uint16_t> h(x.size());
    for (size_t i = 0; i < h.size(); ++i) h[i] = float_to_half(x[i]);
    scramble(v.data, h.data(), v.nbytes());
  } else {
    scramble(v.data, x.data(), v.nbytes());
  }
}

// Every input and output float32, or every one float16 (what a
// reduced-precision build asks for).
bool all_f32(const KernelInit& init) {
  DType t = init.input_dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat16) return false;
  for (size_t i = 0; i < init.num_inputs(); ++i)
    if (!init.has_input(i) || init.input_dtype(i) != t) return false;
  for (size_t o = 0; o < init.num_outputs(); ++o)
    if (init.has_output(o) && init.output_dtype(o) != t) return false;
  return true;
}

// Element offset of output index `i` in an input broadcast to the output's
// dims.
int64_t broadcast_offset(const TensorView& out, const TensorView& in, int64_t i) {
  int64_t off = 0, stride = 1;
  for (int d = out.rank - 1; d >= 0; --d) {
    int64_t idx = i % out.dim(d);
    i /= out.dim(d);
    int j = d - (out.rank - in.rank);
    if (j < 0) continue;
    if (in.dim(j) != 1) off += idx * stride;
    stride *= in.dim(j);
  }
  return off;
}

void add(const Views& in, const Views& out) {
  std::vector<float> a = load(in[0], "Add input A"), b = load(in[1], "Add input B");
  const TensorView& y = out[0];
  std::vector<float> r(static_cast<size_t>(y.numel()));
  for (int64_t i = 0; i < y.numel(); ++i)
    r[static_cast<size_t>(i)] =
        a[static_cast<size_t>(broadcast_offset(y, in[0], i))] + b[static_cast<size_t>(broadcast_offset(y, in[1], i))];
  store(y, r);
}

void relu(const Views& in, const Views& out) {
  std::vector<float> x = load(in[0], "Relu input");
  for (float& v : x) v = v > 0 ? v : 0;
  store(out[0], x);
}

std::unique_ptr<Kernel> make_add(const KernelInit&) {
  return make_kernel([](KernelContext& c) { enqueue(c, add); });
}

std::unique_ptr<Kernel> make_relu(const KernelInit&) {
  return make_kernel([](KernelContext& c) { enqueue(c, relu); });
}

// Cast between float32 and float16.
bool cast_supported(const KernelInit& init) {
  auto f = [](DType t) { return t == DType::kFloat32 || t == DType::kFloat16; };
  return f(init.input_dtype(0)) && f(init.output_dtype(0));
}

void cast(const Views& in, const Views& out) { store(out[0], load(in[0], "Cast input")); }

std::unique_ptr<Kernel> make_cast(const KernelInit&) {
  return make_kernel([](KernelContext& c) { enqueue(c, cast); });
}

// MatMul of A [..., M, K] by B [K, N] or by B [..., K, N] with A's batch dims.
bool matmul_supported(const KernelInit& init) {
  if (!all_f32(init) || init.input_rank(0) < 2) return false;
  size_t rb = init.input_rank(1);
  if (rb == 2) return true;
  if (rb != init.input_rank(0)) return false;
  const std::vector<Expr>&a = init.input_shape(0), &b = init.input_shape(1);
  for (size_t i = 0; i + 2 < rb; ++i)
    if (a[i] != b[i]) return false;
  return true;
}

void matmul(const Views& in, const Views& out) {
  const TensorView &A = in[0], &B = in[1], &Y = out[0];
  std::vector<float> a = load(A, "MatMul input A"), b = load(B, "MatMul input B");
  int64_t m = A.dim(A.rank - 2), k = A.dim(A.rank - 1), n = B.dim(B.rank - 1);
  int64_t batches = A.numel() / std::max<int64_t>(m * k, 1);
  bool batched_b = B.rank > 2;
  std::vector<float> y(static_cast<size_t>(Y.numel()), 0.f);
  for (int64_t t = 0; t < batches; ++t)
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = 0; p < k; ++p) {
        float av = a[static_cast<size_t>((t * m + i) * k + p)];
        const float* brow = &b[static_cast<size_t>(((batched_b ? t : 0) * k + p) * n)];
        float* yrow = &y[static_cast<size_t>((t * m + i) * n)];
        for (int64_t j = 0; j < n; ++j) yrow[j] += av * brow[j];
      }
  store(Y, y);
}

// MatMul also stands for a kernel that tunes (the builder's tuning, tested
// without a GPU): while tuning it "measures" each row count M it is prepared
// for through the timing cache and keeps it; otherwise prepare() picks the
// tuned M if this M was tuned, else -1 (counters().tuned_choice).
class TuningMatMul : public Kernel {
 public:
  explicit TuningMatMul(const KernelInit& init) : tuned_(init.attr_ints("dynrt.tuned")) {}
  std::unique_ptr<KernelState> prepare(const KernelContext& c) const override {
    const TensorView& A = c.in(0);
    int64_t m = A.numel() / std::max<int64_t>(A.dim(A.rank - 1), 1);
    std::lock_guard lock(mu_);
    if (c.tuning) {
      std::vector<int64_t> v;
      if (!c.tuning->find("testdev matmul m" + std::to_string(m), &v)) c.tuning->put("testdev matmul m" + std::to_string(m), {m});
      if (std::find(tuned_.begin(), tuned_.end(), m) == tuned_.end()) tuned_.push_back(m);
    } else {
      g_tuned_choice = std::find(tuned_.begin(), tuned_.end(), m) != tuned_.end() ? m : -1;
    }
    return nullptr;
  }
  void run(KernelContext& c) const override { enqueue(c, matmul); }
  std::vector<int64_t> tuning() const override {
    std::lock_guard lock(mu_);
    return tuned_;
  }

 private:
  mutable std::mutex mu_;
  mutable std::vector<int64_t> tuned_;
};

std::unique_ptr<Kernel> make_matmul(const KernelInit& init) { return std::make_unique<TuningMatMul>(init); }

class TestDevice : public ExecutionProvider {
 public:
  TestDevice() {
    kernels_.add_kernel("Add", make_add, all_f32, "");
    kernels_.add_kernel("Relu", make_relu, all_f32, "");
    kernels_.add_kernel("Cast", make_cast, cast_supported, "");
    kernels_.add_kernel("MatMul", make_matmul, matmul_supported, "");
  }
  std::string name() const override { return "testdev"; }
  bool host_memory() const override { return false; }
  bool tunes() const override { return true; }

  void* allocate(size_t bytes) const override {
    bytes = std::max<size_t>(bytes, 1);
    void* p = std::aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) return nullptr;
    std::lock_guard<std::mutex> lock(g_mu);
    g_allocations[static_cast<std::byte*>(p)] = bytes;
    ++g_live;
    return p;
  }
  void deallocate(void* p) const override {
    {
      std::lock_guard<std::mutex> lock(g_mu);
      if (g_allocations.erase(static_cast<std::byte*>(p)) == 0)
        std::abort();  // freeing memory testdev never gave out: a runtime bug
      --g_live;
    }
    std::free(p);
  }
  void copy_to_host(void* dst, const void* src, size_t bytes) const override { copy_to_host_now(dst, src, bytes); }
  void copy_from_host(void* dst, const void* src, size_t bytes) const override { copy_from_host_now(dst, src, bytes); }
  std::unique_ptr<ProviderStream> create_stream(void*) const override { return std::make_unique<TestStream>(); }
};

}  // namespace

Counters counters() {
  return Counters{g_to_host.load(), g_from_host.load(), g_bytes.load(),   g_live.load(),
                  g_syncs.load(),   g_replays.load(),   g_tuned_choice.load()};
}

}  // namespace dynrt::testdev

extern "C" __attribute__((visibility("default"))) void dynrt_register_provider(dynrt::ProviderRegistry& r) {
  r.add("testdev", [] { return std::make_unique<dynrt::testdev::TestDevice>(); });
}
