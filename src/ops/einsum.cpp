// Inference for Einsum (registered with the normalization family).
#include <map>

#include "ops/attrs.h"
#include "ops/einsum.h"
#include "ops/registry.h"

namespace dynrt {

void infer_einsum(InferContext& c) {
  if (c.num_inputs() == 0) c.fail("Einsum needs at least one input");
  DType t = c.dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64 && t != DType::kInt32 && t != DType::kInt64 &&
      t != DType::kFloat16 && t != DType::kBFloat16)  // 16-bit floats: computed in float32
    c.unsupported(std::string("input type ") + dtype_name(t));
  std::vector<size_t> ranks;
  for (size_t i = 0; i < c.num_inputs(); ++i) {
    if (c.dtype(i) != t) c.fail("input types differ");
    ranks.push_back(c.rank(i));
  }
  std::string eq = EinsumAttrs::parse(c).equation;
  EinsumSpec s;
  try {
    s = parse_einsum(eq, ranks);
  } catch (const Error& e) {
    c.fail(e.what());
  }
  // One size per label: letters must agree (size-1 broadcasting is allowed
  // only for ellipsis dims, as in numpy).
  std::map<int, Expr> dim;
  for (size_t i = 0; i < s.inputs.size(); ++i)
    for (size_t d = 0; d < s.inputs[i].size(); ++d) {
      int l = s.inputs[i][d];
      Expr e = c.shape(i)[d];
      auto it = dim.find(l);
      if (it == dim.end()) dim[l] = e;
      else if (l >= kEinsumEllipsisLabel) it->second = c.broadcast_dim(it->second, e);
      else c.require_equal(it->second, e, "Einsum label '" + std::string(1, static_cast<char>(l < 26 ? 'A' + l : 'a' + l - 26)) + "' sizes");
    }
  std::vector<Expr> out;
  for (int l : s.output) out.push_back(dim.at(l));
  c.set_output(0, t, out);
}

}  // namespace dynrt
