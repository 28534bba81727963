// Kubernetes names: DNS-1123 labels and subdomains, label keys and values.
#include <algorithm>
#include <string>

#include "validation/checker.h"

namespace axon::client {

// Name rules, as Kubernetes' apimachinery states them.

namespace {

using validation::is_alnum;
using validation::is_lower_alnum;

bool valid_label_chars(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool valid_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!valid_label_chars(part)) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

std::string check_dns1123_label(const std::string& v) {
  if (v.size() > 63) return "must be no more than 63 characters";
  if (valid_label_chars(v)) return "";
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
         "and must start and end with an alphanumeric character";
}

std::string check_dns1123_subdomain(const std::string& v) {
  if (v.size() > 253) return "must be no more than 253 characters";
  if (valid_subdomain(v)) return "";
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
         "or '.', and must start and end with an alphanumeric character";
}

std::string check_label_key(const std::string& key) {
  std::string name = key;
  auto slash = key.find('/');
  if (slash != std::string::npos) {
    std::string prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty() || !valid_subdomain(prefix))
      return "the prefix before '/' must be a lowercase DNS subdomain (example.com/my-key)";
  }
  if (name.empty() || name.size() > 63 || !is_alnum(name.front()) || !is_alnum(name.back()) ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; })) {
    return "a label key's name must be 1-63 characters of letters, digits, '-', '_' or '.', "
           "starting and ending with a letter or digit";
  }
  return "";
}

std::string check_label_value(const std::string& v) {
  if (v.empty()) return "";
  if (v.size() > 63) return "must be no more than 63 characters";
  if (!is_alnum(v.front()) || !is_alnum(v.back()) || !std::all_of(v.begin(), v.end(), [](char c) {
        return is_alnum(c) || c == '-' || c == '_' || c == '.';
      })) {
    return "a label value must be empty or consist of letters, digits, '-', '_' or '.', starting "
           "and ending with a letter or digit";
  }
  return "";
}

std::string suggest_dns_name(const std::string& value, bool allow_dots) {
  std::string out;
  for (char c : to_lower(value)) {
    bool ok = is_lower_alnum(c) || (allow_dots && c == '.');
    char next = ok ? c : '-';
    if (next == '-' && (out.empty() || out.back() == '-' || out.back() == '.')) continue;
    out += next;
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  if (out.size() > (allow_dots ? 253u : 63u)) out.resize(allow_dots ? 253 : 63);
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  return out.empty() ? "my-object" : out;
}

}  // namespace axon::client
