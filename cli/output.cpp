#include "cli/output.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "axon/client/yaml.h"

namespace axon::cli {

Format parse_format(std::string_view name) {
  if (name == "json") return Format::json;
  if (name == "yaml") return Format::yaml;
  return Format::table;
}

size_t display_width(std::string_view s) {
  size_t width = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b && i + 1 < s.size() && s[i + 1] == '[') {
      // CSI sequence: ESC [ params final-byte(0x40-0x7e)
      i += 2;
      while (i < s.size() && !(s[i] >= 0x40 && s[i] <= 0x7e)) ++i;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++width;  // count code points, not continuation bytes
  }
  return width;
}

Table::Table(std::vector<std::string> header) : header_(std::move(header)) {}

void Table::row(std::vector<std::string> cells) {
  rows_.push_back(std::move(cells));
}

void Table::print(std::ostream& out) const {
  std::vector<size_t> widths;
  auto measure = [&](const std::vector<std::string>& cells) {
    if (widths.size() < cells.size()) widths.resize(cells.size(), 0);
    for (size_t i = 0; i < cells.size(); ++i)
      widths[i] = std::max(widths[i], display_width(cells[i]));
  };
  if (!header_.empty()) measure(header_);
  for (const auto& r : rows_) measure(r);
  auto emit = [&](const std::vector<std::string>& cells) {
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) {
      line += cells[i];
      if (i + 1 < cells.size()) line.append(widths[i] - display_width(cells[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out << line << '\n';
  };
  if (!header_.empty()) emit(header_);
  for (const auto& r : rows_) emit(r);
}

void print_json(std::ostream& out, const nlohmann::ordered_json& doc) {
  // Invalid UTF-8 (from a user's file) is replaced rather than thrown about.
  out << doc.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace) << '\n';
}

void print_yaml(std::ostream& out, const nlohmann::ordered_json& doc) {
  out << client::to_yaml(doc);
}

void print_document(std::ostream& out, Format format, const nlohmann::ordered_json& doc) {
  if (format == Format::yaml) {
    print_yaml(out, doc);
  } else {
    print_json(out, doc);
  }
}

std::string Style::wrap(std::string_view code, std::string_view s) const {
  if (!enabled_) return std::string(s);
  return "\x1b[" + std::string(code) + "m" + std::string(s) + "\x1b[0m";
}

void print_objects(std::ostream& out, const std::string& format, const nlohmann::ordered_json& doc) {
  if (format == "yaml") {
    out << client::to_yaml(doc);
  } else {
    out << doc.dump(4) << "\n";
  }
}

}  // namespace axon::cli
