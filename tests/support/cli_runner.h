// Runs the axon CLI in-process and captures what it prints.
#pragma once

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

inline CliRun run_axon(std::vector<std::string> args, std::map<std::string, std::string> env = {}) {
  std::ostringstream out, err;
  cli::Context ctx(out, err);
  ctx.getenv = [env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
  CliRun r;
  r.code = cli::run_cli(ctx, args);
  r.out = out.str();
  r.err = err.str();
  return r;
}

}  // namespace axon::test
