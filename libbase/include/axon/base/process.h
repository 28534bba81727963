// Running programs: a command whose output we need (`ip`, `nft`, ...), the
// path of this binary, entering a network namespace. What the agent, the
// CNI plugin and the lab all do.
#pragma once

#include <string>
#include <vector>

#include "axon/base/result.h"

namespace axon::proc {

// Runs argv (PATH lookup) and returns its stdout; an error (with stderr)
// when it cannot start or exits non-zero.
Result<std::string> run(const std::vector<std::string>& argv, const std::string& stdin_data = "");

// `ip` with arguments: run({"ip", ...}).
Result<std::string> ip(const std::vector<std::string>& args);

// The path of the running axon binary.
std::string self_exe();

// Enters a named network namespace (this thread / process).
Status enter_netns(const std::string& name);

}  // namespace axon::proc
