// The decoder's core: running it, reporting problems with their file, line,
// object and field path, reading the generic shapes (maps, lists, strings,
// booleans) and the checks of plain values.
#include "decode/decoder.h"

#include <algorithm>
#include <charconv>
#include <regex>

#include "axon/base/strings.h"
#include "axon/base/suggest.h"

namespace axon::policy::internal {
namespace {

constexpr size_t kMaxVisits = 200'000;  // nodes one document may make us read (aliases!)
constexpr size_t kMaxRegex = 1024;

}  // namespace

// ---- value checks ------------------------------------------------------

std::string type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Null:
      return "empty (null)";
    default:
      return "undefined";
  }
}

bool is_plain(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

bool plain_non_string(const YAML::Node& n) {
  if (!is_plain(n)) return false;
  const std::string& s = n.Scalar();
  const std::string lower = to_lower(s);
  for (const char* w : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}) {
    if (lower == w) return true;
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_dns_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

bool is_fqdn(const std::string& s, bool pattern) {
  if (s.empty() || s.size() > 255) return false;
  bool prev_dot = true;
  for (char c : s) {
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || (pattern && c == '*');
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
    } else if (word) {
      prev_dot = false;
    } else {
      return false;
    }
  }
  return true;
}

std::string regex_error(const std::string& re) {
  if (re.size() > kMaxRegex) return "longer than " + std::to_string(kMaxRegex) + " characters";
  int depth = 0;
  for (char c : re) {
    if (c == '(') ++depth;
    if (depth > 32) return "nested more than 32 groups deep";
    if (c == ')') --depth;
  }
  // Counted repetitions expand into copies when compiled: a{1000}{1000}
  // is a million states. Keep their product small.
  uint64_t product = 1;
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] != '{') continue;
    uint64_t n = 0;
    for (size_t j = i + 1; j < re.size() && re[j] != '}'; ++j) {
      if (re[j] >= '0' && re[j] <= '9') {
        n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(re[j] - '0'), 1'000'000);
      } else if (re[j] == ',') {
        n = 0;
      }
    }
    product *= std::max<uint64_t>(n, 1);
    if (product > 10'000) {
      return "counted repetitions ({n}) too large (their product is over 10000)";
    }
  }
  try {
    std::regex compiled(re, std::regex::extended);
    (void)compiled;
  } catch (const std::regex_error& e) {
    return e.what();
  }
  return {};
}

// ---- field paths -------------------------------------------------------

std::string index_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string other_direction(const std::string& key) {
  if (key.starts_with("from")) return "to" + key.substr(4);
  if (key.starts_with("to") && key != "toPorts") return "from" + key.substr(2);
  return {};
}

// ---- running -----------------------------------------------------------

Decoded Decoder::run() {
  try {
    decode();
  } catch (const std::exception& e) {
    // yaml-cpp throws on some malformed trees; never let it escape.
    report(Severity::error, doc_.node, "", std::string("cannot read this document: ") + e.what());
  }
  if (errors_ > 0) out_.policy.reset();
  return std::move(out_);
}

// ---- reporting ---------------------------------------------------------

int Decoder::line_of(const YAML::Node& n) const {
  if (!n.IsDefined()) return doc_.line;
  auto m = n.Mark();
  return m.is_null() ? doc_.line : m.line + 1;
}

void Decoder::report(Severity sev, const YAML::Node& at, std::string path, std::string message,
                     std::string fix, std::function<void()> apply, std::string note) {
  Diagnostic p;
  p.severity = sev;
  p.location.file = doc_.file;
  p.document = doc_.index;
  p.location.line = line_of(at);
  p.object = object_;
  p.path = std::move(path);
  p.message = std::move(message);
  p.fix = std::move(fix);
  p.fixable = static_cast<bool>(apply);
  if (apply && fixes_ != nullptr) {
    fixes_->push_back(FixAction{std::move(apply), note.empty() ? p.path + ": " + p.fix : note});
  }
  if (sev == Severity::error) ++errors_;
  out_.problems.push_back(std::move(p));
}

void Decoder::error(const YAML::Node& at, std::string path, std::string message, std::string fix,
                    std::function<void()> apply, std::string note) {
  report(Severity::error, at, std::move(path), std::move(message), std::move(fix),
         std::move(apply), std::move(note));
}

void Decoder::warn(const YAML::Node& at, std::string path, std::string message, std::string fix,
                   std::function<void()> apply, std::string note) {
  report(Severity::warning, at, std::move(path), std::move(message), std::move(fix),
         std::move(apply), std::move(note));
}

bool Decoder::visit() {
  if (++visits_ <= kMaxVisits) return true;
  if (!too_big_) {
    too_big_ = true;
    error(doc_.node, "",
          "document too large (more than " + std::to_string(kMaxVisits) +
              " nodes, counting aliases); split it");
  }
  return false;
}

// ---- generic shapes ----------------------------------------------------

std::vector<Field> Decoder::fields(const YAML::Node& map, const std::string& path) {
  std::vector<Field> out;
  if (!visit()) return out;
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!visit()) return out;
    if (!it->first.IsScalar()) {
      error(it->first, path, "a key is " + type_name(it->first) + "; keys must be names");
      continue;
    }
    Field f{it->first.Scalar(), it->first, it->second};
    bool dup = std::any_of(out.begin(), out.end(), [&](const Field& o) { return o.key == f.key; });
    if (dup) {
      error(f.key_node, child(path, f.key),
            "duplicate key (YAML readers keep only one of them, so part of the rule would be "
            "lost); merge the two");
      continue;
    }
    out.push_back(std::move(f));
  }
  return out;
}

const Field* Decoder::find(const std::vector<Field>& fs, std::string_view key) {
  for (const auto& f : fs) {
    if (f.key == key) return &f;
  }
  return nullptr;
}

void Decoder::check_keys(const std::vector<Field>& fs, const std::string& path,
                         const std::vector<std::string>& known,
                         const std::vector<std::string>& handled, const std::string& what) {
  for (const auto& f : fs) {
    if (std::find(known.begin(), known.end(), f.key) != known.end()) continue;
    if (std::find(handled.begin(), handled.end(), f.key) != handled.end()) continue;
    std::string msg = "unknown field \"" + f.key + "\" in " + what;
    std::string fix;
    std::string other = other_direction(f.key);
    if (!other.empty() && std::find(known.begin(), known.end(), other) != known.end()) {
      fix = "\"" + f.key + "\" belongs to the other direction; here it is \"" + other + "\"";
    } else if (auto m = closest_match(f.key, known)) {
      fix = "did you mean \"" + *m + "\"?";
    } else {
      fix = "valid fields: " + join(known, ", ");
    }
    error(f.key_node, child(path, f.key), msg, fix);
  }
}

bool Decoder::one_of(const std::vector<Field>& fs, const YAML::Node& map, const std::string& path,
                     std::initializer_list<std::string_view> keys, const OneOf& say) {
  const Field* first = find(fs, *keys.begin());
  bool others = std::any_of(keys.begin() + 1, keys.end(),
                            [&](std::string_view k) { return find(fs, k) != nullptr; });
  if (first != nullptr && others) {
    if (say.at_map) {
      error(map, path, say.combined, say.fix);
    } else {
      error(first->key_node, child(path, first->key), say.combined, say.fix);
    }
    return false;
  }
  if (first == nullptr && !others && !say.missing.empty()) {
    error(map, path, say.missing);
    return false;
  }
  return true;
}

bool Decoder::exactly_one_of(const std::vector<Field>& fs, const YAML::Node& map,
                             const std::string& path, std::string_view a, std::string_view b) {
  std::string msg = "give exactly one of " + std::string(a) + " and " + std::string(b);
  return one_of(fs, map, path, {a, b}, {.combined = msg, .missing = msg, .at_map = true});
}

bool Decoder::expect_map(const YAML::Node& n, const std::string& path, const std::string& what) {
  if (n.IsMap()) return true;
  error(n, path, what + " must be a map, not " + type_name(n));
  return false;
}

bool Decoder::expect_seq(const YAML::Node& n, const std::string& path, const std::string& what) {
  if (n.IsSequence()) return true;
  error(n, path, what + " must be a list, not " + type_name(n));
  return false;
}

std::optional<std::string> Decoder::string_of(const YAML::Node& n, const std::string& path,
                                              bool warn_type) {
  if (!n.IsScalar()) {
    error(n, path, "must be a string, not " + type_name(n));
    return std::nullopt;
  }
  if (warn_type && plain_non_string(n)) {
    YAML::Node handle = n;
    warn(n, path,
         n.Scalar() + " is not a string in YAML (Kubernetes rejects it: the field is a string)",
         "quote it: \"" + n.Scalar() + "\"", [handle]() mutable { handle.SetTag("!"); },
         path + ": quoted " + n.Scalar());
  }
  return n.Scalar();
}

std::optional<bool> Decoder::bool_of(const YAML::Node& n, const std::string& path) {
  if (is_plain(n)) {
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  error(n, path, "must be true or false, not " + type_name(n));
  return std::nullopt;
}

std::vector<std::string> Decoder::string_list(const YAML::Node& n, const std::string& path) {
  std::vector<std::string> out;
  if (!expect_seq(n, path, "this field")) return out;
  size_t i = 0;
  for (auto it = n.begin(); it != n.end(); ++it, ++i) {
    if (!visit()) break;
    if (auto s = string_of(*it, index_path(path, i))) out.push_back(*s);
  }
  return out;
}

}  // namespace axon::policy::internal
