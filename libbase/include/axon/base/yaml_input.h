// Text that must not reach yaml-cpp. yaml-cpp 0.7 (Debian 12) loops forever
// or allocates without bound on some inputs that are not valid YAML anyway;
// every parser of user files checks this first (found by the policy
// parser's fuzz target, tests/policy/fuzz_policy.cpp):
//   - a NUL byte or a UTF-16 byte-order mark (it guesses UTF-16/32);
//   - malformed UTF-8;
//   - a ',' starting a document, or following a complete top-level flow
//     collection ("[a]\n,").
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace axon {

struct YamlInputProblem {
  int line = 0;         // 1-based
  std::string message;  // "contains a NUL byte (offset 12): ..."
};

std::optional<YamlInputProblem> unsafe_yaml_input(std::string_view text);

}  // namespace axon
