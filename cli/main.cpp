// axon's entry point: set up the process, run the CLI, map what escapes to
// an exit code. Everything else lives in cli/app.cpp and commands/.
#include <unistd.h>

#include <csignal>
#include <exception>
#include <iostream>
#include <iterator>
#include <map>
#include <string>
#include <vector>

#include "axon/agent/cni_plugin.h"
#include "axon/datapath/libbpf_env.h"
#include "cli/app.h"

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);  // `axon ... | head` ends with EPIPE, not a signal
  axon::datapath::route_libbpf_logs();

  // Installed as /opt/cni/bin/axon-cni, this binary is a CNI plugin.
  std::string name = argc > 0 ? argv[0] : "axon";
  if (name.substr(name.find_last_of('/') + 1) == "axon-cni") {
    std::map<std::string, std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      std::string kv = *e;
      if (kv.starts_with("CNI_")) env[kv.substr(0, kv.find('='))] = kv.substr(kv.find('=') + 1);
    }
    std::string input((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    return axon::agent::run_cni_plugin(env, input, std::cout, std::cerr);
  }

  axon::cli::Context ctx(std::cout, std::cerr);
  ctx.out_is_tty = ::isatty(STDOUT_FILENO) == 1;
  ctx.err_is_tty = ::isatty(STDERR_FILENO) == 1;
  if (argc > 0) ctx.argv0 = argv[0];
  std::vector<std::string> args(argv + (argc > 0 ? 1 : 0), argv + argc);
  try {
    int rc = axon::cli::run_cli(ctx, args);
    std::cout.flush();
    return rc;
  } catch (const std::exception& e) {
    std::cerr << "Error: " << e.what() << "\n";
    return axon::cli::kExitFailed;
  }
}
