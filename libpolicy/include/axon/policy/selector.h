// Label selectors: matchLabels and matchExpressions (In, NotIn, Exists,
// DoesNotExist), normalized into one list of requirements that are ANDed.
// A requirement's source "any" matches labels of every source.
#pragma once

#include <string>
#include <vector>

#include "axon/policy/labels.h"

namespace axon::policy {

enum class Operator : uint8_t { in, not_in, exists, does_not_exist };

std::string_view operator_name(Operator op);  // "In", "NotIn", "Exists", "DoesNotExist"

struct Requirement {
  std::string source;  // "any", "k8s", "reserved", ...
  std::string key;
  Operator op = Operator::exists;
  std::vector<std::string> values;  // sorted, unique; In/NotIn only

  bool operator==(const Requirement&) const = default;
};

// An empty selector matches every label set.
struct Selector {
  std::vector<Requirement> requirements;

  bool operator==(const Selector&) const = default;
};

bool matches(const Requirement& r, const LabelSet& labels);
bool matches(const Selector& s, const LabelSet& labels);

// Adds a requirement keeping the list sorted (by key, source, operator), so
// equal selectors compare and print equal.
void add_requirement(Selector& s, Requirement r);
Requirement equals(std::string source, std::string key, std::string value);
Requirement exists(std::string source, std::string key);

// Does a requirement of the selector name this key (with this source, or
// "any", or any source when `source` is "any")?
bool mentions(const Selector& s, std::string_view source, std::string_view key);
bool mentions_prefix(const Selector& s, std::string_view key_prefix);
bool mentions_source(const Selector& s, std::string_view source);

// Kubernetes selector syntax with Cilium sources:
// "k8s:io.kubernetes.pod.namespace=production, role=api" (source "any" is
// not printed), "env in (a, b)", "env notin (a)", "env", "!env";
// "{}" (everything) for an empty selector.
std::string to_string(const Selector& s);
std::string to_string(const Requirement& r);

}  // namespace axon::policy
