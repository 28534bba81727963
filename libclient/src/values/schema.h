// What the values' parts share: the schema as a tree to walk user values
// against, and the words for types and values in messages.
#pragma once

#include <map>
#include <string>

#include "axon/client/values.h"

namespace axon::client::values {

// Maglev needs a prime table size; these are the sizes Cilium accepts.
extern const std::vector<int64_t> kMaglevPrimes;

std::string type_name(ValueType t);
// A value as a message names it: "the string \"x\"", "a list", ...
std::string describe(const Json& v);
bool valid_cidr(const std::string& s);

// The schema as a tree of key names, to walk user values against.
struct SchemaNode {
  const ValueSpec* spec = nullptr;  // a leaf
  std::map<std::string, SchemaNode> children;
};
const SchemaNode& schema_tree();

// The value at a dotted path; null when absent or null.
const Json* lookup(const Json& values, const std::string& path);

}  // namespace axon::client::values
