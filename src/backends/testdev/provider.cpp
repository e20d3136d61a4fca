// testdev: a test-only execution provider that proves the provider seam is
// real. Its memory is a separate "device": every allocation is tracked, and
// bytes are stored scrambled (XOR 0x5A), so any kernel or copy that reads
// device memory as host memory, or forgets a boundary copy, gives wrong
// answers, and its kernels refuse pointers that are not testdev memory.
// It runs a handful of float32 ops: Add, Relu, MatMul.
//
// Built as the plug-in libdynrt_provider_testdev.so (loaded by name) and
// linked into the C++ unit tests, which call dynrt_register_provider.
#include "backends/testdev/testdev.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace dynrt::testdev {
namespace {

constexpr unsigned char kScramble = 0x5A;

std::atomic<int64_t> g_to_host{0}, g_from_host{0}, g_bytes{0}, g_live{0};
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

// A tensor's floats in host memory (decoded), and writing them back.
std::vector<float> load(const TensorView& v, const char* what) {
  check_owned(v.data, v.nbytes(), what);
  std::vector<float> out(static_cast<size_t>(v.numel()));
  scramble(out.data(), v.data, v.nbytes());
  return out;
}

void store(const TensorView& v, const std::vector<float>& x) {
  check_owned(v.data, v.nbytes(), "an output");
  scramble(v.data, x.data(), v.nbytes());
}

bool all_f32(const KernelInit& init) {
  for (size_t i = 0; i < init.num_inputs(); ++i)
    if (!init.has_input(i) || init.input_dtype(i) != DType::kFloat32) return false;
  return true;
}

// Element offset of output index `i` in an input broadcast to the output's dims.
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

std::unique_ptr<Kernel> make_add(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    std::vector<float> a = load(c.in(0), "Add input A"), b = load(c.in(1), "Add input B");
    const TensorView& y = c.out(0);
    std::vector<float> out(static_cast<size_t>(y.numel()));
    for (int64_t i = 0; i < y.numel(); ++i)
      out[static_cast<size_t>(i)] = a[static_cast<size_t>(broadcast_offset(y, c.in(0), i))] +
                                    b[static_cast<size_t>(broadcast_offset(y, c.in(1), i))];
    store(y, out);
  });
}

std::unique_ptr<Kernel> make_relu(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    std::vector<float> x = load(c.in(0), "Relu input");
    for (float& v : x) v = v > 0 ? v : 0;
    store(c.out(0), x);
  });
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

std::unique_ptr<Kernel> make_matmul(const KernelInit&) {
  return make_kernel([](KernelContext& c) {
    const TensorView &A = c.in(0), &B = c.in(1), &Y = c.out(0);
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
  });
}

class TestDevice : public ExecutionProvider {
 public:
  TestDevice() {
    kernels_.add_kernel("Add", make_add, all_f32, "");
    kernels_.add_kernel("Relu", make_relu, all_f32, "");
    kernels_.add_kernel("MatMul", make_matmul, matmul_supported, "");
  }
  std::string name() const override { return "testdev"; }
  bool host_memory() const override { return false; }

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
  void copy_to_host(void* dst, const void* src, size_t bytes) const override {
    check_owned(src, bytes, "a copy's source");
    scramble(dst, src, bytes);
    ++g_to_host;
    g_bytes += static_cast<int64_t>(bytes);
  }
  void copy_from_host(void* dst, const void* src, size_t bytes) const override {
    check_owned(dst, bytes, "a copy's destination");
    scramble(dst, src, bytes);
    ++g_from_host;
    g_bytes += static_cast<int64_t>(bytes);
  }
};

}  // namespace

Counters counters() { return Counters{g_to_host.load(), g_from_host.load(), g_bytes.load(), g_live.load()}; }

}  // namespace dynrt::testdev

extern "C" __attribute__((visibility("default"))) void dynrt_register_provider(dynrt::ProviderRegistry& r) {
  r.add("testdev", [] { return std::make_unique<dynrt::testdev::TestDevice>(); });
}
