#include "axon/base/yaml_input.h"

#include <algorithm>
#include <cstdint>
#include <utility>

#include <nlohmann/json.hpp>

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

// A document that starts like JSON ('{' or '[' first) and has a '"' in it
// is parsed as JSON first; if it is not valid JSON, the JSON parser's error
// is the answer (clearer for a JSON file than a YAML parser's). (Valid YAML
// flow style with double quotes that is not JSON is refused too: write it
// in block style or as JSON.) Returns the offset and message, or nullopt.
std::optional<std::pair<size_t, std::string>> broken_json(std::string_view s) {
  size_t start = 0;
  while (start < s.size()) {
    size_t eol = s.find('\n', start);
    if (eol == std::string_view::npos) eol = s.size();
    // The document: up to the next line that starts a new one.
    size_t end = eol;
    while (end < s.size() && !(s.substr(end + 1).starts_with("---"))) {
      size_t next = s.find('\n', end + 1);
      end = next == std::string_view::npos ? s.size() : next;
    }
    std::string_view doc = s.substr(start, end - start);
    size_t first = 0;
    while (first < doc.size()) {  // skip blank lines, comments, a "---" line
      size_t line_end = doc.find('\n', first);
      if (line_end == std::string_view::npos) line_end = doc.size();
      std::string_view line = doc.substr(first, line_end - first);
      size_t c = line.find_first_not_of(" \t\r");
      if (c != std::string_view::npos && line[c] != '#' && !(first == 0 && line.starts_with("---"))) {
        first += c;
        break;
      }
      first = line_end + 1;
    }
    if (first < doc.size() && (doc[first] == '{' || doc[first] == '[') &&
        doc.find('"') != std::string_view::npos) {
      try {
        auto parsed = nlohmann::json::parse(doc.substr(first), nullptr, true, true);
        (void)parsed;
      } catch (const nlohmann::json::parse_error& e) {
        std::string what = e.what();
        if (auto colon = what.find("parse error"); colon != std::string::npos) what = what.substr(colon);
        return std::make_pair(start + first + std::min(e.byte > 0 ? e.byte - 1 : 0, doc.size() - first),
                              what);
      }
    }
    if (end >= s.size()) break;
    start = end + 1;
  }
  return std::nullopt;
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
  if (auto bad = invalid_utf8(text); bad == std::string_view::npos) {
    if (auto j = broken_json(text)) {
      int line = line_of(text, std::min(j->first, text.size()));
      return YamlInputProblem{line, "starts like JSON but is not valid JSON (" + j->second +
                                        "); fix the JSON (quotes, commas, brackets), or write "
                                        "the manifest as block-style YAML"};
    }
  }
  if (auto bad = invalid_utf8(text); bad != std::string_view::npos) {
    return YamlInputProblem{line_of(text, bad),
                            "is not valid UTF-8 (byte offset " + std::to_string(bad) +
                                "); YAML and JSON manifests are UTF-8 text"};
  }
  return std::nullopt;
}

}  // namespace axon
