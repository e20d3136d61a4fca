// Inference for the recurrent ops RNN, GRU and LSTM (forward, reverse and
// bidirectional; layout 0 = [seq, batch, ...], layout 1 = [batch, seq, ...]).
#include "ops/attrs.h"
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

void infer_rnn(InferContext& c) {
  const std::string& op = c.node().op;
  DType t = c.dtype(0);
  if (t != DType::kFloat32 && t != DType::kFloat64) c.unsupported(std::string("input type ") + dtype_name(t));
  for (size_t i : {1, 2})
    if (c.dtype(i) != t) c.fail("W and R must have X's type");
  const std::vector<Expr>&x = c.shape(0), &w = c.shape(1), &r = c.shape(2);
  if (x.size() != 3 || w.size() != 3 || r.size() != 3) c.fail("X, W and R must be 3-D");
  RecurrentAttrs attrs = RecurrentAttrs::parse(c);
  int64_t layout = attrs.layout;
  if (layout != 0 && layout != 1) c.fail("layout must be 0 or 1");
  const std::string& dir = attrs.direction;
  if (dir != "forward" && dir != "reverse" && dir != "bidirectional") c.fail("unknown direction '" + dir + "'");
  int64_t nd = dir == "bidirectional" ? 2 : 1;
  int64_t gates = op == "LSTM" ? 4 : op == "GRU" ? 3 : 1;
  Expr hidden = attrs.has_hidden_size ? Expr::constant(attrs.hidden_size) : r[2];
  Expr seq = layout == 0 ? x[0] : x[1], batch = layout == 0 ? x[1] : x[0];
  c.require_equal(w[0], Expr::constant(nd), "W num_directions");
  c.require_equal(w[1], hidden * Expr::constant(gates), "W rows");
  c.require_equal(w[2], x[2], "W input size");
  c.require_equal(r[0], Expr::constant(nd), "R num_directions");
  c.require_equal(r[1], hidden * Expr::constant(gates), "R rows");
  c.require_equal(r[2], hidden, "R columns");
  if (c.has_input(3)) {
    if (c.rank(3) != 2) c.fail("B must be 2-D");
    c.require_equal(c.shape(3)[1], hidden * Expr::constant(2 * gates), "B length");
  }
  if (c.has_input(4) && c.dtype(4) != DType::kInt32 && c.dtype(4) != DType::kInt64) c.fail("sequence_lens must be int32");
  if (c.has_input(4)) {
    if (c.rank(4) != 1) c.fail("sequence_lens must be 1-D");
    c.require_equal(c.shape(4)[0], batch, "sequence_lens length");
  }
  std::vector<std::string> acts;
  for (const auto& a : c.node().attrs)
    if (a.first == "activations") acts = a.second.strings;
  for (const std::string& a : acts)
    if (a != "Relu" && a != "Tanh" && a != "Sigmoid" && a != "Affine" && a != "LeakyRelu" && a != "ThresholdedRelu" &&
        a != "ScaledTanh" && a != "HardSigmoid" && a != "Elu" && a != "Softsign" && a != "Softplus")
      c.unsupported("activation '" + a + "'");
  Expr n = Expr::constant(nd);
  if (layout == 0) {
    c.set_output(0, t, {seq, n, batch, hidden});
    c.set_output(1, t, {n, batch, hidden});
    c.set_output(2, t, {n, batch, hidden});
  } else {
    c.set_output(0, t, {batch, seq, n, hidden});
    c.set_output(1, t, {batch, n, hidden});
    c.set_output(2, t, {batch, n, hidden});
  }
}

}  // namespace

void register_rnn_ops(OpRegistry& r) {
  r.add("RNN", infer_rnn);
  r.add("GRU", infer_rnn);
  r.add("LSTM", infer_rnn);
}

}  // namespace dynrt
