// YAML in and out, with the line of every value remembered, so errors can
// say "values.yaml:31: gatewayApi: ..." instead of just "invalid".
//
// Scalars are typed as Kubernetes' YAML reader types them: a plain `true`
// is a bool, `7445` an integer, `1.5` a number, `null`/`~`/empty a null;
// anything quoted stays a string.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "axon/base/diagnostic.h"
#include "axon/base/result.h"

namespace axon::client {

using Json = nlohmann::ordered_json;

struct YamlDocument {
  Json value;
  int index = 0;  // 0-based position in the stream
  int line = 0;   // line of the document's first node
  // Location of every node, keyed by its path: "hubble.relay.enabled",
  // "spec.ingress[0].from". The root is "".
  std::map<std::string, SourceLocation> locations;

  // The location of `path`, or of its closest ancestor that has one.
  SourceLocation where(const std::string& path) const;
};

// Parses every document of a YAML stream. Empty documents are skipped.
// Duplicate keys in a mapping are an error.
Result<std::vector<YamlDocument>> parse_yaml_stream(std::string_view text, const std::string& file);

// Reads and parses a file ("-" reads standard input).
Result<std::vector<YamlDocument>> read_yaml_file(const std::string& path);

// Joins a path and a key or index the way locations are keyed.
std::string child_path(const std::string& parent, const std::string& key);
std::string child_path(const std::string& parent, size_t index);

// The member `key` of an object, or an empty object when it is absent or
// null (so .value(), .items() and range-for all work on the result): a
// reference that stays valid, unlike value(key, default), whose result is
// a temporary (iterating `.items()` of a temporary reads freed memory).
const Json& member(const Json& object, const std::string& key);

// Block-style YAML. Strings that would read back as another type are quoted.
std::string to_yaml(const Json& doc);
// Documents separated by "---".
std::string to_yaml_stream(const std::vector<Json>& docs);

}  // namespace axon::client
