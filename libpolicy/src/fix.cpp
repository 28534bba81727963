#include "axon/policy/fix.h"

#include <algorithm>

#include "internal.h"

namespace axon::policy {
namespace {

bool is_marker(std::string_view line, std::string_view marker) {
  if (!line.starts_with(marker)) return false;
  if (line.size() == marker.size()) return true;
  char c = line[marker.size()];
  return c == ' ' || c == '\t' || c == '\r' || c == '#';
}

bool is_blank_or_comment(std::string_view line) {
  size_t i = line.find_first_not_of(" \t\r");
  return i == std::string_view::npos || line[i] == '#';
}

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  size_t start = 0;
  while (start < text.size()) {
    size_t nl = text.find('\n', start);
    size_t end = nl == std::string_view::npos ? text.size() : nl + 1;
    lines.push_back(text.substr(start, end - start));
    start = end;
  }
  return lines;
}

// The text of each document as the parser counts them (index 1..n), or
// nothing when the split is not certain (then every document is printed).
struct Chunk {
  std::string head;  // "---" line and the comment lines leading the document
  std::string body;  // the rest
};

std::optional<std::vector<Chunk>> split_documents(std::string_view text, size_t expected) {
  std::vector<std::vector<std::string_view>> groups(1);
  for (auto line : split_lines(text)) {
    std::string_view bare = line;
    while (!bare.empty() && (bare.back() == '\n' || bare.back() == '\r')) bare.remove_suffix(1);
    if (is_marker(bare, "...")) return std::nullopt;  // explicit document ends: rare, be safe
    if (is_marker(bare, "---")) groups.emplace_back();
    groups.back().push_back(line);
  }
  // Text before the first "---" is a document only if it has content;
  // otherwise (comments) it leads the next one.
  bool first_has_content = std::any_of(groups.front().begin(), groups.front().end(),
                                       [](std::string_view l) { return !is_blank_or_comment(l); });
  if (!first_has_content && groups.size() > 1) {
    auto lead = std::move(groups.front());
    groups.erase(groups.begin());
    groups.front().insert(groups.front().begin(), lead.begin(), lead.end());
  }
  if (groups.size() != expected) return std::nullopt;
  std::vector<Chunk> chunks;
  for (const auto& g : groups) {
    Chunk c;
    bool in_head = true;
    for (auto line : g) {
      std::string_view bare = line;
      while (!bare.empty() && (bare.back() == '\n' || bare.back() == '\r')) bare.remove_suffix(1);
      if (in_head && (is_blank_or_comment(line) || bare == "---")) {
        c.head += line;
      } else {
        in_head = false;
        c.body += line;
      }
    }
    chunks.push_back(std::move(c));
  }
  return chunks;
}

}  // namespace

FixResult fix_text(std::string_view text, const std::string& file) {
  FixResult out;
  out.text = std::string(text);
  auto loaded = load_documents(text, file);
  if (!loaded.problems.empty()) {
    out.remaining = loaded.problems;
    return out;
  }
  // How many documents the parser saw, empty ones included.
  size_t total = 0;
  try {
    total = load_yaml_all(text).size();
  } catch (const std::exception&) {
    total = 0;
  }

  struct Fixed {
    int index;
    YAML::Node node;
  };
  std::vector<Fixed> fixed;
  for (const auto& doc : loaded.documents) {
    Document copy = doc;
    copy.node = YAML::Clone(doc.node);
    std::vector<internal::FixAction> fixes;
    auto decoded = internal::decode_document(copy, &fixes);
    if (fixes.empty()) continue;
    for (auto it = fixes.rbegin(); it != fixes.rend(); ++it) it->apply();
    std::string where = "document " + std::to_string(doc.index);
    if (!decoded.object.empty()) where += " (" + decoded.object + ")";
    for (const auto& f : fixes) out.applied.push_back(where + ": " + f.note);
    fixed.push_back(Fixed{doc.index, copy.node});
  }
  if (fixed.empty()) {
    out.remaining = decode_policies(text, file, true).problems;
    return out;
  }
  out.changed = true;

  auto emit_doc = [&](const YAML::Node& n) -> std::string {
    if (loaded.json) {
      auto j = to_json(n);
      // Invalid UTF-8 in a string is replaced, not thrown about.
      return j ? j->dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n"
               : std::string();
    }
    auto y = emit_yaml(n);
    return y ? *y : std::string();
  };
  auto chunks = loaded.json ? std::nullopt : split_documents(text, total);
  std::string result;
  if (chunks) {
    for (size_t i = 0; i < chunks->size(); ++i) {
      int index = static_cast<int>(i) + 1;
      auto f = std::find_if(fixed.begin(), fixed.end(), [&](const Fixed& x) { return x.index == index; });
      const Chunk& c = (*chunks)[i];
      if (f == fixed.end()) {
        result += c.head + c.body;
        continue;
      }
      result += c.head + emit_doc(f->node);
      bool inner_comments = std::any_of(
          c.body.begin(), c.body.end(), [](char ch) { return ch == '#'; });
      if (inner_comments) out.comments_dropped.push_back(index);
      // Keep the blank line that separated it from the next document.
      if (c.body.ends_with("\n\n")) result += "\n";
    }
  } else {
    // Print every document anew.
    bool first = true;
    for (const auto& doc : loaded.documents) {
      auto f = std::find_if(fixed.begin(), fixed.end(), [&](const Fixed& x) { return x.index == doc.index; });
      if (!first && !loaded.json) result += "---\n";
      first = false;
      result += emit_doc(f == fixed.end() ? doc.node : f->node);
    }
    out.comments_dropped.push_back(0);
  }
  out.text = std::move(result);
  out.remaining = decode_policies(out.text, file, true).problems;
  return out;
}

}  // namespace axon::policy
