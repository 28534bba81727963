// Small string helpers used across axon.
#pragma once

#include <algorithm>
#include <cctype>
#include <string>
#include <string_view>
#include <vector>

namespace axon {

inline std::string join(const std::vector<std::string>& parts, std::string_view sep) {
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += sep;
    out += p;
  }
  return out;
}

inline std::string to_lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

inline std::string to_upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::toupper(c)); });
  return s;
}

// Spaces and tabs off both ends (`chars`: others).
inline std::string trim(std::string_view s, std::string_view chars = " \t") {
  auto b = s.find_first_not_of(chars);
  if (b == std::string_view::npos) return "";
  auto e = s.find_last_not_of(chars);
  return std::string(s.substr(b, e - b + 1));
}

// Any whitespace, line ends too, off both ends (a file's content).
inline std::string trim_space(std::string_view s) { return trim(s, " \t\r\n"); }

// Splits at `sep` outside parentheses, trimming each part: the requirements
// of a label selector ("a in (x,y),b=c" -> "a in (x,y)", "b=c").
inline std::vector<std::string> split_outside_parens(std::string_view text, char sep = ',') {
  std::vector<std::string> out;
  size_t start = 0;
  int depth = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')') --depth;
    if (text[i] == sep && depth == 0) {
      out.push_back(trim(text.substr(start, i - start)));
      start = i + 1;
    }
  }
  out.push_back(trim(text.substr(start)));
  return out;
}

}  // namespace axon
