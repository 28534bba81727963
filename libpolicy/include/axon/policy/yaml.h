// Manifests as text: YAML or JSON, one or many documents, read into
// yaml-cpp trees that remember where each node was (line numbers for
// errors) and whether a scalar was quoted ("53" is a string, 53 a number).
// Objects that arrive as JSON (from the cluster store) convert to the same
// tree, so validation and decoding read one shape.
#pragma once

#include <yaml-cpp/yaml.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "axon/base/result.h"
#include "axon/base/diagnostic.h"

namespace axon::policy {

// Files larger than this are refused (a policy file is kilobytes).
inline constexpr size_t kMaxManifestBytes = 16u << 20;

struct Document {
  std::string file;  // as the user named it
  int index = 0;     // 1-based position in the file
  int line = 0;      // 1-based line where it starts
  YAML::Node node;
};

struct LoadedFile {
  std::vector<Document> documents;  // empty documents are left out
  std::vector<Diagnostic> problems;    // syntax errors (then `documents` is empty)
  bool json = false;                // the text is JSON, not YAML
};

// Every YAML text's parse (manifests, values, kubeconfig): libyaml's
// parser, which cannot hang, building yaml-cpp trees as YAML::LoadAll does
// (tags, quoted scalars, styles, marks, shared aliases); nesting past 512
// levels and aliases expanding past 1,000,000 nodes refused. Throws
// YAML::ParserException (with its mark) as YAML::LoadAll does.
std::vector<YAML::Node> load_yaml_all(std::string_view text);
YAML::Node load_yaml(std::string_view text);  // the first document (none: an undefined node)

// Splits and parses the text; never throws.
LoadedFile load_documents(std::string_view text, const std::string& file);

// A JSON object (e.g. from the cluster store) as a document.
Result<Document> document_from_json(const nlohmann::json& object, const std::string& file,
                                    int index);
Result<Document> document_from_json(const nlohmann::ordered_json& object, const std::string& file,
                                    int index);

// Block-style YAML of a tree; scalars that were quoted stay quoted.
Result<std::string> emit_yaml(const YAML::Node& node);
// One-line flow style: {toEndpoints: [{matchLabels: {role: api}}]}.
std::string emit_flow(const YAML::Node& node);

// JSON of a tree: quoted scalars are strings; plain ones become null,
// booleans and numbers when they read as such (YAML 1.2 core schema).
Result<nlohmann::ordered_json> to_json(const YAML::Node& node);
YAML::Node from_json(const nlohmann::json& j);
YAML::Node from_json(const nlohmann::ordered_json& j);

// A scalar node that is a string even if it reads as a number ("53").
YAML::Node quoted(const std::string& value);

}  // namespace axon::policy
