// Builds an ONNX model with a dynamic batch, runs it at batch 3, prints the
// output's dims: what a user of the installed library does first.
#include <dynrt/dynrt.h>

#include <iostream>
#include <string>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  static_assert(DYNRT_VERSION >= 100, "the version macros come with the headers");
  if (std::string(dynrt::version()) != DYNRT_VERSION_STRING) return 3;  // headers and library agree
  dynrt::BuildConfig cfg;
  cfg.profiles.push_back({.inputs = {}, .dims = {{"batch", {1, 2, 4}}}});
  auto engine = dynrt::build(argv[1], cfg);
  auto ctx = engine->create_context();
  dynrt::Tensor x(dynrt::DType::kFloat32, {3, 3, 16, 16});
  auto out = ctx->run({{engine->inputs()[0].name, x}});
  std::cout << "ok " << dynrt::dims_str(out.begin()->second.shape()) << "\n";
  return 0;
}
