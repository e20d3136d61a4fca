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
  auto check = std::make_shared<bool>(false);
  CLI::App* cmd = app.add_subcommand("inspect", "Describe an engine file or an ONNX model.");
  cmd->add_option("file", *path, "an engine or an ONNX model")->required();
  cmd->add_flag("--check", *check, "list everything in the ONNX model that dynrt does not support (exit 1 if any)");
  cmd->callback([path, check] {
    if (*check) {
      std::vector<std::string> problems = check_model(*path);
      for (const std::string& p : problems) std::cout << "  " << printable(p) << "\n";
      if (problems.empty()) {
        std::cout << *path << ": no unsupported ops, control flow or element types found\n";
        return;
      }
      throw Error(ErrorCode::kUnsupported, *path + ": " + std::to_string(problems.size()) +
                                               " unsupported construct(s), listed above");
    }
    std::ifstream f(*path, std::ios::binary);
    if (!f) throw Error(ErrorCode::kIo, "cannot open '" + *path + "'");
    char magic[8] = {};
    f.read(magic, 8);
    const bool engine = std::memcmp(magic, "DYNRTENG", 8) == 0 || std::memcmp(magic, "DYNRTVAR", 8) == 0;
    if (engine) std::cout << printable(Engine::load(*path)->describe());
    else std::cout << printable(describe_model(*path));
  });
}

}  // namespace dynrt::cli
