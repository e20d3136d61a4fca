// The `dynrt` command line: build, run, bench, inspect, with trtexec's
// spellings as aliases. Parsing is CLI11's; one subcommand per file
// (cmd_*.cpp). Exit status: 0 on success, 1 for a dynrt error (the model,
// engine or inputs), 2 for a usage error (an unknown flag, a missing value).

#include <cstdlib>
#include <iostream>

#include "cli_common.h"

int main(int argc, char** argv) {
  using namespace dynrt;
  CLI::App app{"dynrt: an ahead-of-time compiler and runtime for ONNX models with dynamic shapes.", "dynrt"};
  app.require_subcommand(1);
  app.set_version_flag("--version", std::string("dynrt ") + version());
  app.footer("Every subcommand takes --help. Example:\n"
             "  dynrt build model.onnx -o model.engine --dim batch=1:8:64\n"
             "  dynrt bench model.engine --shapes x:8x3x224x224");
  cli::add_build(app);
  cli::add_run(app);
  cli::add_bench(app);
  cli::add_inspect(app);
  std::string cmd = argc > 1 ? argv[1] : "";
  auto usage_hint = [&] {
    bool sub = cmd == "build" || cmd == "run" || cmd == "bench" || cmd == "inspect";
    std::cerr << "run 'dynrt " << (sub ? cmd + " " : "") << "--help' for the flags\n";
  };
  try {
    app.parse(argc, argv);  // the subcommand runs in its callback
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    if (argc < 2) {
      std::cout << app.help();
      return 2;
    }
    std::cerr << "dynrt: " << cli::printable(e.what()) << "\n";
    usage_hint();
    return 2;
  } catch (const cli::UsageError& e) {
    std::cerr << "dynrt: " << cli::printable(e.what()) << "\n";
    usage_hint();
    return 2;
  } catch (const Error& e) {
    std::cerr << "dynrt: error (" << error_code_name(e.code()) << "): " << cli::printable(e.what()) << "\n";
    return 1;
  } catch (const std::bad_alloc&) {
    std::cerr << "dynrt: error (out of memory): an allocation failed\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "dynrt: error (internal): " << cli::printable(e.what()) << "\n";
    return 1;
  }
  return 0;
}
