// Text refused before it is parsed as YAML, with a message that says what
// to do: a NUL byte or a UTF-16 byte-order mark (save it as UTF-8),
// malformed UTF-8, and text that starts like JSON but is not JSON (the JSON
// parser's error). Not a safety guard: YAML is parsed by libyaml
// (libpolicy's load_yaml_all), which cannot hang; yaml-cpp 0.7's own parser,
// which could, is never given text.
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
