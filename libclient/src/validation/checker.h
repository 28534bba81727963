// What every validator of libclient/src/validation/ uses: the Checker that
// collects Diagnostics with their field paths (the registry adds file, line,
// document and object), the words for values in messages, and the checks
// each kind's validator is (one file per family of kinds).
#pragma once

#include <cctype>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/diagnostic.h"
#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "axon/client/resources.h"
#include "axon/client/validation.h"

namespace axon::client::validation {

inline bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
inline bool is_alnum(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0; }

// "a string", "a number", "a list", "a mapping", "empty (null)".
std::string type_word(const Json& v);
// The value as it reads in YAML, for messages: 80, "80", true, [..], {..}.
std::string shown(const Json& v);

class Checker {
 public:
  Checker() = default;

  void error(const std::string& path, std::string message, std::string fix = "") {
    add(Severity::error, path, std::move(message), std::move(fix));
  }
  void warning(const std::string& path, std::string message, std::string fix = "") {
    add(Severity::warning, path, std::move(message), std::move(fix));
  }
  std::vector<Diagnostic> take() { return std::move(out_); }
  bool failed() const { return has_errors(out_); }

  // `v` at `path` must be a mapping; reports and returns false otherwise.
  bool object(const Json& v, const std::string& path) {
    if (v.is_object()) return true;
    error(path, "must be a mapping (key: value lines), not " + type_word(v));
    return false;
  }
  bool list(const Json& v, const std::string& path) {
    if (v.is_array()) return true;
    error(path, "must be a list (lines starting with \"- \"), not " + type_word(v),
          v.is_object() ? "put \"- \" before the first key to make it a list item" : "");
    return false;
  }
  bool string(const Json& v, const std::string& path) {
    if (v.is_string()) return true;
    error(path, "must be a string, not " + type_word(v),
          v.is_number() || v.is_boolean()
              ? "quote it: \"" + (v.is_string() ? v.get<std::string>() : v.dump()) + "\""
              : "");
    return false;
  }
  // An integer in [lo, hi]. A quoted number gets its own fix.
  bool integer(const Json& v, const std::string& path, int64_t lo, int64_t hi) {
    if (v.is_string()) {
      error(path, "must be a number, not the string " + shown(v),
            "write it without quotes: " + leaf(path) + ": " + v.get<std::string>());
      return false;
    }
    if (!v.is_number_integer() && !v.is_number_unsigned()) {
      error(path, "must be a whole number, not " + type_word(v));
      return false;
    }
    int64_t n = v.get<int64_t>();
    if (n < lo || n > hi) {
      error(path, std::to_string(n) + " is out of range: must be " + std::to_string(lo) + "-" +
                      std::to_string(hi));
      return false;
    }
    return true;
  }
  // A string among `choices` (case-sensitive, as the API server is).
  bool one_of(const Json& v, const std::string& path, const std::vector<std::string>& choices) {
    if (!string(v, path)) return false;
    const auto s = v.get<std::string>();
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return true;
    std::string fix;
    for (const auto& c : choices) {
      if (to_lower(c) == to_lower(s)) fix = "write " + c + " (the letter case matters)";
    }
    if (fix.empty()) {
      if (auto hint = closest_match(s, choices)) fix = "did you mean " + *hint + "?";
    }
    error(path, "unsupported value " + shown(v) + ": must be one of " + join(choices, ", "), fix);
    return false;
  }
  // Keys of a mapping must be among `known`; the error suggests the closest.
  void known_keys(const Json& v, const std::string& path, const std::vector<std::string>& known) {
    if (!v.is_object()) return;
    for (const auto& [k, _] : v.items()) {
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      std::string fix;
      if (auto hint = closest_match(k, known)) {
        fix = "did you mean \"" + *hint + "\"?";
      } else {
        fix = "known fields here: " + join(known, ", ");
      }
      error(child_path(path, k), "unknown field \"" + k + "\"", fix);
    }
  }
  // A mapping of strings to strings (labels, selectors, annotations, data).
  bool string_map(const Json& v, const std::string& path) {
    if (!object(v, path)) return false;
    bool ok = true;
    for (const auto& [k, val] : v.items()) {
      if (val.is_string()) continue;
      ok = false;
      std::string as_text = val.is_null() ? "" : val.dump();
      error(child_path(path, k),
            "must be a string, not " + type_word(val) +
                (val.is_number() || val.is_boolean()
                     ? " (YAML reads " + as_text + " unquoted as " + type_word(val) + ")"
                     : ""),
            "quote it: " + k + ": \"" + as_text + "\"");
    }
    return ok;
  }

 private:
  static std::string leaf(const std::string& path) {
    auto cut = path.find_last_of('.');
    std::string l = cut == std::string::npos ? path : path.substr(cut + 1);
    auto br = l.find('[');
    return br == std::string::npos ? l : l.substr(0, br);
  }
  void add(Severity s, const std::string& path, std::string message, std::string fix) {
    Diagnostic d;
    d.severity = s;
    d.path = path;
    d.message = std::move(message);
    d.fix = std::move(fix);
    out_.push_back(std::move(d));
  }
  std::vector<Diagnostic> out_;
};

const Json* field(const Json& o, const char* key);
bool parse_ip(const std::string& s);
// "10.0.0.240/28", "fd00::/64": "" when it is one, else what is wrong.
std::string check_cidr(const std::string& s);

// generic.cpp: what every object must be.
std::vector<std::string> top_level_fields(const std::string& kind);
void check_metadata(Checker& c, const ResourceInfo& r, const Json& o);
std::optional<ResourceInfo> check_type(Checker& c, const Json& o);

// One check per kind.
void check_service(Checker& c, const ManifestObject& m);        // workloads.cpp
void check_workload(Checker& c, const ManifestObject& m);       // workloads.cpp
void check_pod(Checker& c, const ManifestObject& m);            // workloads.cpp
void check_config_data(Checker& c, const ManifestObject& m);    // workloads.cpp
void check_crd(Checker& c, const ManifestObject& m);            // crds.cpp
void check_ip_pool(Checker& c, const ManifestObject& m);        // lb.cpp
void check_l2_policy(Checker& c, const ManifestObject& m);      // lb.cpp
void check_gateway(Checker& c, const ManifestObject& m);        // gateway.cpp
void check_http_route(Checker& c, const ManifestObject& m);     // gateway.cpp
void check_gateway_class(Checker& c, const ManifestObject& m);  // gateway.cpp

}  // namespace axon::client::validation
