// A problem found in a manifest: where (file, document, line, object, field
// path), what is wrong, and how to fix it. One line of text each:
//
//   error: policy-default-deny.yaml:8: document 1 (CiliumNetworkPolicy
//   production/default-deny): spec.ingress: empty list enables no default
//   deny, ...; write "ingress: [{}]" ...
#pragma once

#include <string>
#include <vector>

namespace axon::policy {

enum class Severity : uint8_t { error, warning };

std::string_view severity_name(Severity s);  // "error", "warning"

struct Problem {
  Severity severity = Severity::error;
  std::string file;
  int document = 0;    // 1-based; 0: the file as a whole
  int line = 0;        // 1-based; 0: unknown
  std::string object;  // "CiliumNetworkPolicy production/default-deny"; may be empty
  std::string path;    // "spec.ingress[0].from"; may be empty
  std::string message;  // what is wrong
  std::string fix;      // how to fix it; may be empty
  bool fixable = false;  // `axon policy fix` rewrites it
};

// "error: FILE:LINE: document N (OBJECT): PATH: MESSAGE; FIX" (parts that
// are unknown are left out).
std::string format(const Problem& p);

size_t count(const std::vector<Problem>& problems, Severity s);

}  // namespace axon::policy
