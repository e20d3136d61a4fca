// dynrt.If and dynrt.Loop: an ONNX If whose condition is known only at run
// time, and an ONNX Loop, after builder/control_flow.cpp built each subgraph
// as an engine of its own (held in the node's *_engine attributes as engine
// file bytes; an If branch invalid at the build's shapes holds its build
// error in *_error instead, given when a run takes it). The builder gives the outputs their types and shapes; the
// runtime runs these nodes itself (runtime/control_flow.cpp), on the host,
// sizing the outputs as the subgraph engines return them.
//
// dynrt.If inputs:   cond, then the then-engine's inputs ("then_inputs" of
//                    them), then the else-engine's.
// dynrt.Loop inputs: M, cond, the "carried" initial values (as ONNX Loop),
//                    then the body engine's inputs after its own.
// dynrt.SequenceMap inputs: the "mapped" inputs of ONNX SequenceMap (each
//                    sequence mapped element by element, each tensor whole),
//                    then the body engine's inputs after its own.
#include "ops/families.h"
#include "ops/registry.h"

namespace dynrt {
namespace {

void require_engine(InferContext& c, const char* name) {
  if (c.attr_string(name, "").empty()) c.fail(std::string("no '") + name + "' (a subgraph's engine)");
}

void check_outputs_typed(InferContext& c) {
  for (size_t i = 0; i < c.num_outputs(); ++i)
    if (c.has_output(i) && c.graph().values[static_cast<size_t>(c.node().outputs[i])].dtype == DType::kUndefined)
      c.fail("output " + std::to_string(i) + " has no type");
}

void infer_if(InferContext& c) {
  // A branch whose build failed holds its error instead (then_error, else_error).
  if (c.attr_string("then_error", "").empty()) require_engine(c, "then_engine");
  if (c.attr_string("else_error", "").empty()) require_engine(c, "else_engine");
  const int64_t then_inputs = c.attr_int("then_inputs");
  if (c.num_inputs() < 1 || !c.has_input(0) || then_inputs < 0 ||
      then_inputs > static_cast<int64_t>(c.num_inputs()) - 1)
    c.fail("its inputs do not match 'then_inputs'");
  check_outputs_typed(c);
}

void infer_loop(InferContext& c) {
  require_engine(c, "body_engine");
  const int64_t carried = c.attr_int("carried");
  if (carried < 0 || carried > static_cast<int64_t>(c.num_inputs()) - 2 || carried > static_cast<int64_t>(c.num_outputs()))
    c.fail("its inputs and outputs do not match 'carried'");
  check_outputs_typed(c);
}

void infer_sequence_map(InferContext& c) {
  require_engine(c, "body_engine");
  const int64_t mapped = c.attr_int("mapped");
  if (mapped < 1 || mapped > static_cast<int64_t>(c.num_inputs())) c.fail("its inputs do not match 'mapped'");
  for (size_t i = 0; i < c.num_outputs(); ++i)
    if (c.has_output(i) && c.graph().values[static_cast<size_t>(c.node().outputs[i])].kind != ValueKind::kSequence)
      c.fail("output " + std::to_string(i) + " is not a sequence");
  check_outputs_typed(c);
}

}  // namespace

void register_control_flow_ops(OpRegistry& r) {
  r.add("If", infer_if, "dynrt").data_dependent().subgraphs();
  r.add("Loop", infer_loop, "dynrt").data_dependent().subgraphs();
  r.add("SequenceMap", infer_sequence_map, "dynrt").data_dependent().subgraphs();
}

}  // namespace dynrt
