#include "axon/base/yaml_input.h"

#include <algorithm>
#include <cstdint>

namespace axon {
namespace {

// Offset of the first byte that is not part of well-formed UTF-8, or npos.
size_t invalid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return i;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return i;
    }
    uint32_t cp = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return i;
    i += n;
  }
  return std::string_view::npos;
}

// yaml-cpp 0.7 loops forever on a document that starts with ',' and on a
// ',' after a complete top-level flow collection ("[a]\n,"); both are
// invalid YAML. Returns the offset of such a comma, or npos.
size_t runaway_comma(std::string_view s) {
  bool doc_start = true;   // the next significant character starts a document
  bool top_flow = false;   // the document is a flow collection ([...] or {...})
  bool closed = false;     // ... and it has ended
  int depth = 0;
  char prev = '\n';
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool line_start = prev == '\n';
    if (line_start && s.substr(i, 3) == "---" &&
        (i + 3 == s.size() || s[i + 3] == ' ' || s[i + 3] == '\n' || s[i + 3] == '\r')) {
      doc_start = true;
      top_flow = closed = false;
      depth = 0;
      i += 2;
      prev = '-';
      continue;
    }
    if (c == '#' && (line_start || prev == ' ' || prev == '\t')) {
      while (i < s.size() && s[i] != '\n') ++i;
      prev = '\n';
      continue;
    }
    bool space = c == ' ' || c == '\t' || c == '\r' || c == '\n';
    if (!space && doc_start) {
      if (c == ',') return i;
      doc_start = false;
      top_flow = c == '[' || c == '{';
    }
    if ((c == '"' || c == '\'') &&
        (prev == ' ' || prev == '\t' || prev == '\n' || prev == '[' || prev == '{' ||
         prev == ',' || prev == ':')) {
      // A quoted scalar: skip it ('' and \" escape the quote).
      for (++i; i < s.size(); ++i) {
        if (c == '"' && s[i] == '\\') {
          ++i;
        } else if (s[i] == c) {
          if (c == '\'' && i + 1 < s.size() && s[i + 1] == '\'') {
            ++i;
          } else {
            break;
          }
        }
      }
      prev = c;
      continue;
    }
    if (top_flow) {
      if (c == '[' || c == '{') ++depth;
      if ((c == ']' || c == '}') && depth > 0 && --depth == 0) closed = true;
      if (c == ',' && closed && depth == 0) return i;
    }
    prev = c;
  }
  return std::string_view::npos;
}

int line_of(std::string_view text, size_t offset) {
  return 1 + static_cast<int>(std::count(text.begin(), text.begin() + static_cast<long>(offset), '\n'));
}

}  // namespace

std::optional<YamlInputProblem> unsafe_yaml_input(std::string_view text) {
  if (auto nul = text.find('\0'); nul != std::string_view::npos) {
    return YamlInputProblem{line_of(text, nul),
                            "contains a NUL byte (offset " + std::to_string(nul) +
                                "): not a UTF-8 text file; save it as UTF-8 (UTF-16 and UTF-32 "
                                "are not supported)"};
  }
  if (text.starts_with("\xff\xfe") || text.starts_with("\xfe\xff")) {
    return YamlInputProblem{1, "starts with a UTF-16 byte-order mark; save it as UTF-8"};
  }
  if (auto comma = runaway_comma(text); comma != std::string_view::npos) {
    int line = line_of(text, comma);
    return YamlInputProblem{
        line, "not valid YAML (line " + std::to_string(line) +
                  "): a ',' outside a flow collection ([...] or {...}) cannot start a value or "
                  "follow a complete document"};
  }
  if (auto bad = invalid_utf8(text); bad != std::string_view::npos) {
    return YamlInputProblem{line_of(text, bad),
                            "is not valid UTF-8 (byte offset " + std::to_string(bad) +
                                "); YAML and JSON manifests are UTF-8 text"};
  }
  return std::nullopt;
}

}  // namespace axon
