// A problem found in user input: where it is, what is wrong, how to fix it.
#pragma once

#include <string>
#include <vector>

#include "axon/client/yaml.h"

namespace axon::client {

enum class Severity { error, warning };

struct Diagnostic {
  Severity severity = Severity::error;
  SourceLocation location;  // file:line of the offending value
  std::string path;         // field path: "gatewayApi", "hubble.relay.enabled"
  std::string message;      // what is wrong, and what it would cause
  std::string fix;          // how to fix it; may be empty
  std::string command;      // a command that applies the fix; may be empty

  // "error: values.yaml:31: gatewayApi: <message>"
  std::string headline() const;
  Json to_json() const;
};

bool has_errors(const std::vector<Diagnostic>& diagnostics);

}  // namespace axon::client
