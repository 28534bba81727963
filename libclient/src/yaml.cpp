#include "axon/client/yaml.h"

#include <yaml-cpp/yaml.h>

#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "axon/base/strings.h"
#include "axon/base/yaml_input.h"
#include "axon/policy/yaml.h"

namespace axon::client {
namespace {

bool is_int(const std::string& s) {
  size_t i = (s[0] == '-' || s[0] == '+') ? 1 : 0;
  if (i == s.size()) return false;
  for (; i < s.size(); ++i) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  }
  return true;
}

bool is_float(const std::string& s) {
  if (s.find_first_of(".eE") == std::string::npos) return false;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return end != nullptr && *end == '\0' && std::isdigit(static_cast<unsigned char>(s.back()));
}

// A plain (unquoted) scalar, typed as YAML 1.2's core schema would.
Json plain_scalar(const std::string& s) {
  if (s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL") return nullptr;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (is_int(s)) {
    try {
      return std::stoll(s);
    } catch (const std::out_of_range&) {
      return s;
    }
  }
  if (is_float(s)) return std::strtod(s.c_str(), nullptr);
  return s;
}

struct Converter {
  std::string file;
  std::map<std::string, SourceLocation>* locations;

  Result<Json> convert(const YAML::Node& node, const std::string& path) {
    (*locations)[path] = SourceLocation{file, node.Mark().line + 1};
    switch (node.Type()) {
      case YAML::NodeType::Null:
      case YAML::NodeType::Undefined:
        return Json(nullptr);
      case YAML::NodeType::Scalar:
        // yaml-cpp tags plain scalars "?" and quoted ones "!".
        if (node.Tag() == "!" || node.Tag() == "tag:yaml.org,2002:str") return Json(node.Scalar());
        return plain_scalar(node.Scalar());
      case YAML::NodeType::Sequence: {
        Json arr = Json::array();
        size_t i = 0;
        for (const auto& item : node) {
          auto v = convert(item, child_path(path, i++));
          if (!v) return v.error();
          arr.push_back(std::move(*v));
        }
        return arr;
      }
      case YAML::NodeType::Map: {
        Json obj = Json::object();
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) {
            return Error{SourceLocation{file, kv.first.Mark().line + 1}.str() + ": " +
                         (path.empty() ? std::string("top level") : path) +
                         ": mapping keys must be plain strings"};
          }
          std::string key = kv.first.Scalar();
          if (obj.contains(key)) {
            return Error{SourceLocation{file, kv.first.Mark().line + 1}.str() + ": " +
                         child_path(path, key) + ": duplicate key"};
          }
          auto v = convert(kv.second, child_path(path, key));
          if (!v) return v.error();
          (*locations)[child_path(path, key)].line = kv.first.Mark().line + 1;
          obj[key] = std::move(*v);
        }
        return obj;
      }
    }
    return Json(nullptr);
  }
};

// A string that must be quoted to read back as the same string: one YAML
// would type as null, bool or number, or one that starts with an indicator
// character or holds a sequence that ends a plain scalar.
bool needs_quotes(const std::string& s) {
  if (s.empty()) return true;
  if (std::string_view("-?:,[]{}#&*!|>'\"%@`").find(s.front()) != std::string_view::npos)
    return true;
  if (s.front() == ' ' || s.back() == ' ' || s.back() == ':') return true;
  if (s.find(": ") != std::string::npos || s.find(" #") != std::string::npos) return true;
  const std::string lower = to_lower(s);
  for (const char* word : {"~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"}) {
    if (lower == word) return true;
  }
  if (is_int(s) || is_float(s)) return true;
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  if (end != nullptr && *end == '\0') return true;
  return s.starts_with("0x") || s.starts_with("0o");
}

void emit(YAML::Emitter& e, const Json& j) {
  switch (j.type()) {
    case Json::value_t::object:
      if (j.empty()) {
        e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        break;
      }
      e << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        e << YAML::Key << k << YAML::Value;
        emit(e, v);
      }
      e << YAML::EndMap;
      break;
    case Json::value_t::array:
      if (j.empty()) {
        e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        break;
      }
      e << YAML::BeginSeq;
      for (const auto& v : j) emit(e, v);
      e << YAML::EndSeq;
      break;
    case Json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (s.find('\n') != std::string::npos) {
        e << YAML::Literal << s;
      } else {
        if (needs_quotes(s)) e << YAML::DoubleQuoted;
        e << s;
      }
      break;
    }
    case Json::value_t::boolean:
      e << j.get<bool>();
      break;
    case Json::value_t::number_integer:
      e << j.get<int64_t>();
      break;
    case Json::value_t::number_unsigned:
      e << j.get<uint64_t>();
      break;
    case Json::value_t::number_float:
      e << j.get<double>();
      break;
    default:
      e << YAML::Null;
      break;
  }
}

}  // namespace

SourceLocation YamlDocument::where(const std::string& path) const {
  std::string p = path;
  for (;;) {
    auto it = locations.find(p);
    if (it != locations.end()) return it->second;
    if (p.empty()) return {};
    auto cut = p.find_last_of(".[");
    p = cut == std::string::npos ? "" : p.substr(0, cut);
  }
}

const Json& member(const Json& object, const std::string& key) {
  static const Json empty = Json::object();
  if (!object.is_object()) return empty;
  auto it = object.find(key);
  return it == object.end() || it->is_null() ? empty : *it;
}

std::string child_path(const std::string& parent, const std::string& key) {
  return parent.empty() ? key : parent + "." + key;
}

std::string child_path(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

Result<std::vector<YamlDocument>> parse_yaml_stream(std::string_view text,
                                                    const std::string& file) {
  std::vector<YamlDocument> docs;
  std::vector<YAML::Node> nodes;
  // Inputs yaml-cpp 0.7 cannot survive (it hangs or exhausts memory).
  if (auto bad = unsafe_yaml_input(text)) {
    return Error{SourceLocation{file, bad->line}.str() + ": " + bad->message};
  }
  try {
    nodes = policy::load_yaml_all(text);
  } catch (const YAML::Exception& e) {
    return Error{SourceLocation{file, e.mark.line + 1}.str() + ": invalid YAML: " + e.msg};
  }
  int index = 0;
  for (const auto& node : nodes) {
    if (node.IsNull()) continue;
    YamlDocument doc;
    doc.index = index++;
    doc.line = node.Mark().line + 1;
    Converter conv{file, &doc.locations};
    auto v = conv.convert(node, "");
    if (!v) return v.error();
    doc.value = std::move(*v);
    docs.push_back(std::move(doc));
  }
  return docs;
}

Result<std::vector<YamlDocument>> read_yaml_file(const std::string& path) {
  std::stringstream buf;
  if (path == "-") {
    buf << std::cin.rdbuf();
  } else {
    std::ifstream in(path, std::ios::binary);
    if (!in) return sys_error("cannot read " + path);
    buf << in.rdbuf();
  }
  return parse_yaml_stream(buf.str(), path);
}

std::string to_yaml(const Json& doc) {
  YAML::Emitter e;
  e.SetIndent(2);
  e.SetSeqFormat(YAML::Block);
  emit(e, doc);
  return std::string(e.c_str()) + "\n";
}

std::string to_yaml_stream(const std::vector<Json>& docs) {
  std::string out;
  for (const auto& d : docs) out += "---\n" + to_yaml(d);
  return out;
}

}  // namespace axon::client
