// dynrt inspect: what an engine holds (inputs, ranges, partition, guards,
// memory) or what a model needs before building (inputs, dynamic dims, ops).
#include <cstring>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli_common.h"

namespace dynrt::cli {

void add_inspect(CLI::App& app) {
  auto path = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("inspect", "Describe an engine file or an ONNX model.");
  cmd->add_option("file", *path, "an engine or an ONNX model")->required();
  cmd->callback([path] {
    std::ifstream f(*path, std::ios::binary);
    if (!f) throw Error(ErrorCode::kIo, "cannot open '" + *path + "'");
    char magic[8] = {};
    f.read(magic, 8);
    if (std::memcmp(magic, "DYNRTENG", 8) == 0) std::cout << Engine::load(*path)->describe();
    else std::cout << describe_model(*path);
  });
}

}  // namespace dynrt::cli
