#include "axon/policy/yaml.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "axon/base/strings.h"
#include "axon/base/yaml_input.h"

namespace axon::policy {
namespace {

// Trees from YAML can be deep or, through aliases, cyclic and exponential:
// every generic walk stops at these limits.
constexpr int kMaxDepth = 64;
constexpr size_t kMaxNodes = 1'000'000;

bool looks_like_json(std::string_view text) {
  for (char c : text) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
    return c == '{' || c == '[';
  }
  return false;
}

bool is_null_word(const std::string& s) {
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::optional<bool> bool_word(const std::string& s) {
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  return std::nullopt;
}

// A plain scalar YAML (1.1 or 1.2) would read back as null, a bool or a number.
bool reads_back_as_non_string(const std::string& s) {
  if (is_null_word(s)) return true;
  const std::string lower = to_lower(s);
  for (const char* word : {"true", "false", "yes", "no", "on", "off", "y", "n"}) {
    if (lower == word) return true;
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  if (ec == std::errc() && ptr == s.data() + s.size()) return true;
  return s.starts_with("0x") || s.starts_with("0o") || s.starts_with("+") || s.starts_with(".");
}

struct Walk {
  size_t nodes = 0;
  bool truncated = false;
};

void emit(YAML::Emitter& e, const YAML::Node& n, int depth, Walk& w) {
  if (++w.nodes > kMaxNodes || depth > kMaxDepth) {
    w.truncated = true;
    e << YAML::Null;
    return;
  }
  switch (n.Type()) {
    case YAML::NodeType::Map:
      if (n.size() == 0) {
        e << YAML::Flow << YAML::BeginMap << YAML::EndMap;
        return;
      }
      e << YAML::BeginMap;
      for (auto it = n.begin(); it != n.end(); ++it) {
        e << YAML::Key;
        emit(e, it->first, depth + 1, w);
        e << YAML::Value;
        emit(e, it->second, depth + 1, w);
      }
      e << YAML::EndMap;
      return;
    case YAML::NodeType::Sequence:
      if (n.size() == 0) {
        e << YAML::Flow << YAML::BeginSeq << YAML::EndSeq;
        return;
      }
      e << YAML::BeginSeq;
      for (auto it = n.begin(); it != n.end(); ++it) emit(e, *it, depth + 1, w);
      e << YAML::EndSeq;
      return;
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!" && reads_back_as_non_string(s)) e << YAML::DoubleQuoted;
      e << s;
      return;
    }
    default:
      e << YAML::Null;
      return;
  }
}

Result<nlohmann::ordered_json> convert(const YAML::Node& n, int depth, Walk& w) {
  if (++w.nodes > kMaxNodes || depth > kMaxDepth) {
    return Error{"document too large or nested too deeply"};
  }
  switch (n.Type()) {
    case YAML::NodeType::Map: {
      auto obj = nlohmann::ordered_json::object();
      for (auto it = n.begin(); it != n.end(); ++it) {
        auto v = convert(it->second, depth + 1, w);
        if (!v) return v.error();
        obj[it->first.Scalar()] = std::move(*v);
      }
      return obj;
    }
    case YAML::NodeType::Sequence: {
      auto arr = nlohmann::ordered_json::array();
      for (auto it = n.begin(); it != n.end(); ++it) {
        auto v = convert(*it, depth + 1, w);
        if (!v) return v.error();
        arr.push_back(std::move(*v));
      }
      return arr;
    }
    case YAML::NodeType::Scalar: {
      const std::string& s = n.Scalar();
      if (n.Tag() == "!") return nlohmann::ordered_json(s);
      if (is_null_word(s)) return nlohmann::ordered_json(nullptr);
      if (auto b = bool_word(s)) return nlohmann::ordered_json(*b);
      int64_t i = 0;
      auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), i);
      if (ec == std::errc() && ptr == s.data() + s.size()) return nlohmann::ordered_json(i);
      double d = 0;
      auto [dptr, dec] = std::from_chars(s.data(), s.data() + s.size(), d);
      if (dec == std::errc() && dptr == s.data() + s.size()) return nlohmann::ordered_json(d);
      return nlohmann::ordered_json(s);
    }
    default:
      return nlohmann::ordered_json(nullptr);
  }
}

template <typename Json>
YAML::Node from_json_depth(const Json& j, int depth) {
  if (depth > kMaxDepth) return YAML::Node(YAML::NodeType::Null);
  switch (j.type()) {
    case nlohmann::json::value_t::object: {
      YAML::Node m(YAML::NodeType::Map);
      for (const auto& [k, v] : j.items()) m[quoted(k)] = from_json_depth(v, depth + 1);
      return m;
    }
    case nlohmann::json::value_t::array: {
      YAML::Node s(YAML::NodeType::Sequence);
      for (const auto& v : j) s.push_back(from_json_depth(v, depth + 1));
      return s;
    }
    case nlohmann::json::value_t::string:
      return quoted(j.template get<std::string>());
    case nlohmann::json::value_t::boolean:
      return YAML::Node(j.template get<bool>() ? "true" : "false");
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
    case nlohmann::json::value_t::number_float:
      return YAML::Node(j.dump());
    default:
      return YAML::Node(YAML::NodeType::Null);
  }
}

Diagnostic syntax_problem(const std::string& file, int line, std::string message) {
  Diagnostic p;
  p.location = {file, line};
  p.message = std::move(message);
  return p;
}

}  // namespace

YAML::Node quoted(const std::string& value) {
  YAML::Node n(value);
  n.SetTag("!");
  return n;
}

LoadedFile load_documents(std::string_view text, const std::string& file) {
  LoadedFile out;
  out.json = looks_like_json(text);
  if (text.size() > kMaxManifestBytes) {
    out.problems.push_back(syntax_problem(
        file, 0,
        "file is " + std::to_string(text.size()) + " bytes; manifests larger than " +
            std::to_string(kMaxManifestBytes >> 20) + " MiB are refused"));
    return out;
  }
  if (auto bad = unsafe_yaml_input(text)) {
    out.problems.push_back(syntax_problem(file, bad->line, bad->message));
    return out;
  }
  try {
    std::vector<YAML::Node> docs = load_yaml_all(text);
    int index = 0;
    for (auto& d : docs) {
      ++index;
      if (d.IsNull()) continue;  // an empty document between two "---"
      Document doc;
      doc.file = file;
      doc.index = index;
      doc.line = d.Mark().line + 1;
      doc.node = d;
      out.documents.push_back(std::move(doc));
    }
  } catch (const YAML::Exception& e) {
    out.documents.clear();
    std::string what = e.msg.empty() ? std::string(e.what()) : e.msg;
    int line = e.mark.is_null() ? 0 : e.mark.line + 1;
    std::string where;
    if (!e.mark.is_null()) where = " (line " + std::to_string(line) + ", column " +
                                   std::to_string(e.mark.column + 1) + ")";
    out.problems.push_back(syntax_problem(
        file, line,
        std::string(out.json ? "not valid JSON/YAML" : "not valid YAML") + where + ": " + what));
  } catch (const std::exception& e) {
    out.documents.clear();
    out.problems.push_back(syntax_problem(file, 0, std::string("cannot parse: ") + e.what()));
  }
  return out;
}

namespace {

template <typename Json>
Result<Document> document_of(const Json& object, const std::string& file, int index) {
  if (!object.is_object()) return Error{"not a JSON object"};
  Document doc;
  doc.file = file;
  doc.index = index;
  doc.node = from_json_depth(object, 0);
  return doc;
}

}  // namespace

Result<Document> document_from_json(const nlohmann::json& object, const std::string& file,
                                    int index) {
  return document_of(object, file, index);
}

Result<Document> document_from_json(const nlohmann::ordered_json& object, const std::string& file,
                                    int index) {
  return document_of(object, file, index);
}

Result<std::string> emit_yaml(const YAML::Node& node) {
  try {
    YAML::Emitter e;
    e.SetIndent(2);
    e.SetMapFormat(YAML::Block);
    e.SetSeqFormat(YAML::Block);
    Walk w;
    emit(e, node, 0, w);
    if (w.truncated) return Error{"document too large or nested too deeply to print"};
    if (!e.good()) return Error{"cannot print YAML: " + e.GetLastError()};
    std::string out = e.c_str();
    if (!out.ends_with('\n')) out += '\n';
    return out;
  } catch (const std::exception& ex) {
    return Error{std::string("cannot print YAML: ") + ex.what()};
  }
}

std::string emit_flow(const YAML::Node& node) {
  try {
    YAML::Emitter e;
    e.SetMapFormat(YAML::Flow);
    e.SetSeqFormat(YAML::Flow);
    Walk w;
    emit(e, node, 0, w);
    return e.c_str();
  } catch (const std::exception&) {
    return "?";
  }
}

Result<nlohmann::ordered_json> to_json(const YAML::Node& node) {
  try {
    Walk w;
    return convert(node, 0, w);
  } catch (const std::exception& e) {
    return Error{std::string("cannot convert to JSON: ") + e.what()};
  }
}

YAML::Node from_json(const nlohmann::json& j) { return from_json_depth(j, 0); }
YAML::Node from_json(const nlohmann::ordered_json& j) { return from_json_depth(j, 0); }

}  // namespace axon::policy
