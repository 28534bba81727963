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

// yaml-cpp 0.7 loops forever (or allocates without bound, or silently
// drops the document) when a ',' stands where a flow collection is not
// open: where a document's top-level node should start (after its tag or
// anchor, if any: "!t ,a", "&a ,b"), right after a top-level quoted scalar
// or flow collection ("'a' ,b", "[a]\n,"), or at the start of a line
// ("   - a\n  ,b"). The first two are invalid YAML; the third is only valid
// as the continuation of a plain scalar, which a manifest can quote.
// Quoted scalars, flow collections, comments and block scalars (| and >)
// are skipped. Returns the offset of such a comma, or npos.
size_t runaway_comma(std::string_view s) {
  enum class Top { expect_node, in_flow, in_quote, after_node, other };
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  Top top = Top::expect_node;
  int depth = 0;          // open flow collections
  char quote = 0;         // inside a quoted scalar (it may span lines)
  int block_parent = -2;  // inside a block scalar: the indentation its lines exceed
  int block_indent = -1;  // its content's indentation, from its first non-empty line
  size_t i = 0;
  while (i < s.size()) {
    size_t eol = s.find('\n', i);
    if (eol == std::string_view::npos) eol = s.size();
    std::string_view line = s.substr(i, eol - i);
    size_t first = line.find_first_not_of(" \t\r");
    if (block_parent > -2) {
      // Empty lines belong to the block; the first non-empty one fixes the
      // content's indentation, and a less indented line ends the block.
      if (first == std::string_view::npos ||
          (block_indent < 0 && static_cast<int>(first) > block_parent) ||
          (block_indent >= 0 && static_cast<int>(first) >= block_indent)) {
        if (first != std::string_view::npos && block_indent < 0) block_indent = static_cast<int>(first);
        i = eol + 1;
        continue;
      }
      block_parent = -2;
      block_indent = -1;
    }
    size_t k = 0;
    if (quote == 0 && line.starts_with("---") && (line.size() == 3 || is_space(line[3]))) {
      top = Top::expect_node;
      depth = 0;
      k = 3;
    }
    bool line_start = true;  // nothing significant on this line yet
    char prev = ' ';
    size_t last = std::string_view::npos;  // last significant character outside comments
    for (; k < line.size(); ++k) {
      char c = line[k];
      if (quote != 0) {
        if (quote == '"' && c == '\\') {
          ++k;
        } else if (c == quote) {
          if (quote == '\'' && k + 1 < line.size() && line[k + 1] == '\'') {
            ++k;
          } else {
            quote = 0;
            if (top == Top::in_quote) top = Top::after_node;
          }
        }
        prev = c;
        last = k;
        line_start = false;
        continue;
      }
      if (is_space(c)) {
        prev = c;
        continue;
      }
      if (c == '#' && (prev == ' ' || prev == '\t')) break;  // a comment
      if (c == ',' && depth == 0 &&
          (line_start || top == Top::expect_node || top == Top::after_node)) {
        return i + k;
      }
      line_start = false;
      last = k;
      bool quote_start = (c == '"' || c == '\'') &&
                         (prev == ' ' || prev == '\t' || prev == '[' || prev == '{' ||
                          prev == ',' || prev == ':' || prev == '-' || prev == '?');
      switch (top) {
        case Top::expect_node:
          if (c == '!' || c == '&') {  // node properties: the node follows them
            for (; k < line.size() && !is_space(line[k]); ++k) {
              if (line[k] == ',') return i + k;
            }
            --k;
            prev = 'x';
            continue;
          }
          top = (c == '[' || c == '{') ? Top::in_flow : quote_start ? Top::in_quote : Top::other;
          break;
        case Top::after_node:
          top = Top::other;  // ':' makes it a key; anything else ends the watch
          break;
        default:
          break;
      }
      if (quote_start) {
        quote = c;
      } else if (c == '[' || c == '{') {
        ++depth;
      } else if ((c == ']' || c == '}') && depth > 0 && --depth == 0 && top == Top::in_flow) {
        top = Top::after_node;
      }
      prev = c;
    }
    // A block scalar indicator ends the line: skip the lines of its content.
    if (quote == 0 && depth == 0 && last != std::string_view::npos) {
      size_t b = last;
      while (b > 0 && (line[b] == '+' || line[b] == '-' || (line[b] >= '0' && line[b] <= '9'))) --b;
      if ((line[b] == '|' || line[b] == '>') && (b == 0 || line[b - 1] == ' ' || line[b - 1] == '\t')) {
        // The parent node: the key on this line, or the sequence entry.
        size_t p = first;
        int dash = -1;
        while (p < line.size() && line[p] == '-' && p + 1 < line.size() && is_space(line[p + 1])) {
          dash = static_cast<int>(p);
          p = line.find_first_not_of(" \t", p + 1);
          if (p == std::string_view::npos) p = line.size();
        }
        block_parent = p == b ? dash : static_cast<int>(p);
      }
    }
    i = eol + 1;
  }
  return std::string_view::npos;
}

// yaml-cpp 0.7 also hangs on some broken JSON (flow mappings whose quotes
// no longer pair up, found by the fuzzer). A document that starts like JSON
// ('{' or '[' first) and has a '"' in it is parsed as JSON first; if it is
// not valid JSON, the JSON parser's error is the answer. (Valid YAML flow
// style with double quotes that is not JSON is refused too: write it in
// block style or as JSON.) Returns the offset and message, or nullopt.
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
  if (auto comma = runaway_comma(text); comma != std::string_view::npos) {
    int line = line_of(text, comma);
    return YamlInputProblem{
        line, "not valid YAML (line " + std::to_string(line) +
                  "): a ',' outside a flow collection ([...] or {...}) cannot start a value, a "
                  "line or follow a complete document (quote the value if the comma belongs to "
                  "it)"};
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
