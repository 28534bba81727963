// Runs the axon CLI in-process and captures what it prints.
#pragma once

#include <algorithm>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "cli/app.h"

namespace axon::test {

struct CliRun {
  int code = -1;
  std::string out;
  std::string err;
};

// `input` is what the command reads from standard input ("-f -").
inline CliRun run_axon(std::vector<std::string> args, std::map<std::string, std::string> env = {},
                       const std::string& input = "") {
  std::ostringstream out, err;
  std::istringstream in(input);
  cli::Context ctx(out, err);
  ctx.in = &in;
  ctx.getenv = [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  // Never the machine's labs: a test that wants one passes --state-dir.
  if (std::find(args.begin(), args.end(), "--state-dir") == args.end()) {
    args.insert(args.begin(), {"--state-dir", "/nonexistent/axon-test-state"});
  }
  CliRun r;
  r.code = cli::run_cli(ctx, args);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace axon::test
