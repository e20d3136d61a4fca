// Inference for MatMul (numpy semantics: 1-D operands, broadcast batch dims)
// and Gemm (transposes, alpha/beta, unidirectionally broadcast C).
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

void require_numeric(InferContext& c, size_t i, bool allow_half = false) {
  DType t = c.dtype(i);
  bool ok = t == DType::kFloat32 || t == DType::kFloat64 || t == DType::kInt32 || t == DType::kInt64 ||
            t == DType::kUInt32 || t == DType::kUInt64 ||
            (allow_half && (t == DType::kFloat16 || t == DType::kBFloat16));
  if (!ok) c.unsupported(std::string("element type ") + dtype_name(t));
}

void infer_matmul(InferContext& c) {
  require_numeric(c, 0, /*allow_half=*/true);  // 16-bit floats are computed in float32
  if (c.dtype(0) != c.dtype(1))
    c.fail(std::string("input types differ: ") + dtype_name(c.dtype(0)) + " vs " + dtype_name(c.dtype(1)));
  std::vector<Expr> a = c.shape(0), b = c.shape(1);
  if (a.empty() || b.empty()) c.fail("MatMul operands must have rank >= 1");
  bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  if (a_vec) a.insert(a.begin(), Expr::constant(1));
  if (b_vec) b.push_back(Expr::constant(1));
  c.require_equal(a[a.size() - 1], b[b.size() - 2], "inner dimensions of MatMul");
  std::vector<Expr> batch = c.broadcast_shapes(std::vector<Expr>(a.begin(), a.end() - 2),
                                               std::vector<Expr>(b.begin(), b.end() - 2));
  if (!a_vec) batch.push_back(a[a.size() - 2]);
  if (!b_vec) batch.push_back(b[b.size() - 1]);
  c.set_output(0, c.dtype(0), batch);
}

void infer_gemm(InferContext& c) {
  require_numeric(c, 0);
  if (c.dtype(0) != c.dtype(1)) c.fail("A and B types differ");
  if (c.rank(0) != 2 || c.rank(1) != 2) c.fail("A and B must be 2-D");
  const std::vector<Expr>& a = c.shape(0);
  const std::vector<Expr>& b = c.shape(1);
  GemmAttrs attrs = GemmAttrs::parse(c);
  bool ta = attrs.trans_a, tb = attrs.trans_b;
  Expr m = ta ? a[1] : a[0], k = ta ? a[0] : a[1];
  Expr k2 = tb ? b[1] : b[0], n = tb ? b[0] : b[1];
  c.require_equal(k, k2, "inner dimensions of Gemm");
  if (c.has_input(2)) {
    if (c.dtype(2) != c.dtype(0)) c.fail("C has a different type than A");
    const std::vector<Expr>& cs = c.shape(2);
    if (cs.size() > 2) c.fail("C must have rank <= 2");
    Expr target[2] = {m, n};
    // Unidirectional: each C dim is 1 or equals the output dim. A symbolic
    // dim gets a broadcast guard; the kernel rejects C dims that would need
    // the output to grow (the guard alone allows output 1, C > 1).
    for (size_t i = 0; i < cs.size(); ++i) {
      Expr want = target[2 - cs.size() + i];
      if (cs[i] == want || (cs[i].is_const() && cs[i].const_value() == 1)) continue;
      if (cs[i].is_const() && want.is_const()) c.fail("C cannot be broadcast to (M, N)");
      c.broadcast_dim(cs[i], want);
    }
  }
  c.set_output(0, c.dtype(0), {m, n});
}

}  // namespace

void register_linalg_ops(OpRegistry& r) {
  r.add("MatMul", infer_matmul);
  r.add("Gemm", infer_gemm);
}

}  // namespace dynrt
