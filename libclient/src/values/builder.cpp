// Values as Helm builds them: -f files merged in order, then --set,
// --set-string and --set-file, each value remembering where it came from.
#include "values/schema.h"

#include <fstream>
#include <sstream>

#include "axon/base/strings.h"

namespace axon::client {

using namespace values;

namespace {

// Helm's --set parsing.

// Splits on `sep` outside of {...} lists, honouring backslash escapes (kept).
std::vector<std::string> split_unescaped(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      cur += c;
      cur += s[++i];
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (c == sep && depth == 0) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(cur);
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else {
      out += s[i];
    }
  }
  return out;
}

// Helm types --set values: true/false, null, integers without leading zeros.
Json typed_value(const std::string& raw, bool typed) {
  if (!typed) return raw;
  if (raw == "true") return true;
  if (raw == "false") return false;
  if (raw == "null") return nullptr;
  bool digits = !raw.empty() &&
                raw.find_first_not_of("0123456789", raw[0] == '-' ? 1 : 0) == std::string::npos &&
                raw != "-";
  if (digits && (raw.size() == 1 || (raw[0] != '0' && raw.substr(0, 2) != "-0"))) {
    try {
      return std::stoll(raw);
    } catch (const std::out_of_range&) {
      return raw;
    }
  }
  return raw;
}

struct KeySegment {
  std::string name;
  std::vector<size_t> indexes;  // list[0][1]
};

Result<std::vector<KeySegment>> parse_key(const std::string& key, const std::string& expr) {
  std::vector<KeySegment> segs;
  for (const auto& part : split_unescaped(key, '.')) {
    KeySegment seg;
    std::string p = part;
    while (!p.empty() && p.back() == ']') {
      auto open = p.rfind('[');
      if (open == std::string::npos) return Error{"--set " + expr + ": unbalanced ] in " + key};
      std::string idx = p.substr(open + 1, p.size() - open - 2);
      if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) {
        return Error{"--set " + expr + ": list index must be a number: [" + idx + "]"};
      }
      seg.indexes.insert(seg.indexes.begin(), std::stoul(idx));
      p = p.substr(0, open);
    }
    seg.name = unescape(p);
    if (seg.name.empty()) return Error{"--set " + expr + ": empty key segment in " + key};
    segs.push_back(std::move(seg));
  }
  return segs;
}

}  // namespace


SourceLocation ValuesBuilder::where(const std::string& path) const {
  std::string p = path;
  for (;;) {
    auto it = provenance_.find(p);
    if (it != provenance_.end()) return it->second;
    if (p.empty()) return {};
    auto cut = p.find_last_of(".[");
    p = cut == std::string::npos ? "" : p.substr(0, cut);
  }
}

void ValuesBuilder::merge(Json& dst, const Json& src, const std::string& path,
                          const std::map<std::string, SourceLocation>& locations) {
  for (const auto& [key, value] : src.items()) {
    const std::string p = child_path(path, key);
    auto loc = locations.find(p);
    if (loc != locations.end()) provenance_[p] = loc->second;
    if (value.is_null()) {
      dst.erase(key);
    } else if (value.is_object() && dst.contains(key) && dst[key].is_object()) {
      merge(dst[key], value, p, locations);
    } else {
      dst[key] = value;
      // Record where every node below a replaced value comes from.
      for (auto it = locations.lower_bound(p); it != locations.end(); ++it) {
        if (!it->first.starts_with(p)) break;
        char next = it->first.size() > p.size() ? it->first[p.size()] : '\0';
        if (next == '.' || next == '[' || next == '\0') provenance_[it->first] = it->second;
      }
    }
  }
}

Status ValuesBuilder::add_yaml(std::string_view text, const std::string& name) {
  auto docs = parse_yaml_stream(text, name);
  if (!docs) return docs.error();
  if (docs->empty()) return {};
  if (docs->size() > 1)
    return Error{name + ": a values file holds one YAML document, found " +
                 std::to_string(docs->size())};
  const auto& doc = docs->front();
  if (!doc.value.is_object()) {
    return Error{doc.where("").str() + ": values must be a mapping of keys (key: value), not " +
                 describe(doc.value)};
  }
  merge(values_, doc.value, "", doc.locations);
  return {};
}

Status ValuesBuilder::add_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return sys_error("cannot read values file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return add_yaml(buf.str(), path);
}

Status ValuesBuilder::apply_set(const std::string& expr, bool typed, bool from_file) {
  for (const auto& pair : split_unescaped(expr, ',')) {
    if (pair.empty()) continue;
    // The first unescaped '=' splits key and value.
    size_t eq = std::string::npos;
    for (size_t i = 0; i < pair.size(); ++i) {
      if (pair[i] == '\\') {
        ++i;
      } else if (pair[i] == '=') {
        eq = i;
        break;
      }
    }
    const std::string flag = from_file ? "--set-file" : typed ? "--set" : "--set-string";
    if (eq == std::string::npos) {
      return Error{flag + " " + pair + ": expected KEY=VALUE (for example hubble.ui.enabled=true)"};
    }
    auto segs = parse_key(pair.substr(0, eq), pair);
    if (!segs) return segs.error();
    std::string raw = pair.substr(eq + 1);
    Json value;
    if (from_file) {
      std::string file = unescape(raw);
      std::ifstream in(file, std::ios::binary);
      if (!in) return sys_error(flag + " " + pair + ": cannot read " + file);
      std::stringstream buf;
      buf << in.rdbuf();
      value = buf.str();
    } else if (raw.size() >= 2 && raw.front() == '{' && raw.back() == '}') {
      value = Json::array();
      for (const auto& item : split_unescaped(raw.substr(1, raw.size() - 2), ',')) {
        value.push_back(typed_value(unescape(item), typed));
      }
    } else {
      value = typed_value(unescape(raw), typed);
    }
    // Walk/create the path, then set (null removes).
    Json* cur = &values_;
    std::string path;
    for (size_t i = 0; i < segs->size(); ++i) {
      const auto& seg = (*segs)[i];
      const bool last_seg = i + 1 == segs->size();
      if (!cur->is_object()) *cur = Json::object();
      path = child_path(path, seg.name);
      if (last_seg && seg.indexes.empty()) {
        if (value.is_null()) {
          cur->erase(seg.name);
        } else {
          (*cur)[seg.name] = value;
        }
        break;
      }
      cur = &(*cur)[seg.name];
      for (size_t k = 0; k < seg.indexes.size(); ++k) {
        if (!cur->is_array()) *cur = Json::array();
        while (cur->size() <= seg.indexes[k]) cur->push_back(nullptr);
        cur = &(*cur)[seg.indexes[k]];
        path = child_path(path, seg.indexes[k]);
      }
      if (last_seg) *cur = value;
    }
    provenance_[path] = SourceLocation{flag + " " + pair, 0};
  }
  return {};
}

Status ValuesBuilder::set(const std::string& expr) {
  return apply_set(expr, true, false);
}
Status ValuesBuilder::set_string(const std::string& expr) {
  return apply_set(expr, false, false);
}
Status ValuesBuilder::set_file(const std::string& expr) {
  return apply_set(expr, false, true);
}

}  // namespace axon::client
