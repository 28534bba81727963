// A problem found in user input (values, manifests, policies, flags):
// where it is, what is wrong, how to fix it. One type for every layer:
// libpolicy's decoder, libclient's validators and the CLI's printers.
//
//   error: policy-default-deny.yaml:8: document 1 (CiliumNetworkPolicy
//   production/default-deny): spec.ingress: empty list enables no default
//   deny, so this policy blocks nothing; write "ingress: [{}]" ...
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace axon {

enum class Severity : uint8_t { error, warning };

std::string_view severity_name(Severity s);  // "error", "warning"

struct SourceLocation {
  std::string file;  // as the user named it; "--set" for command-line values
  int line = 0;      // 1-based; 0 when unknown

  // "values.yaml:31", "values.yaml", "--set"
  std::string str() const;
};

struct Diagnostic {
  Severity severity = Severity::error;
  SourceLocation location;  // file:line of the offending value
  std::string path;         // field path: "gatewayApi", "spec.ingress[0].from"; may be empty
  std::string message;      // what is wrong, and what it would cause
  std::string fix;          // how to fix it; may be empty
  std::string command;      // a command that applies the fix; may be empty
  int document = 0;         // 1-based document of a multi-document file; 0: not given
  std::string object = "";  // "Service production/api"; may be empty
  bool fixable = false;     // `axon policy fix` repairs it by itself

  // "error: values.yaml:31: gatewayApi: <message>"; with a document:
  // "error: app.yaml:12: document 2 (Service production/api): spec.ports[0].port: <message>"
  std::string headline() const;
  // The headline and "; <fix>" on one line (parts that are unknown are left out).
  std::string one_line() const;
};

bool has_errors(const std::vector<Diagnostic>& diagnostics);
size_t count(const std::vector<Diagnostic>& diagnostics, Severity s);

}  // namespace axon
