#include "cli/output.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "axon/base/strings.h"

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

namespace {

// A plain scalar YAML would read back as null, a bool or a number.
bool reads_back_as_non_string(const std::string& s) {
  if (s.empty()) return true;
  const std::string lower = to_lower(s);
  for (const char* word : {"~", "null", "true", "false", "yes", "no", "on", "off", "y", "n"}) {
    if (lower == word) return true;
  }
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  if (end != nullptr && *end == '\0') return true;
  return s.starts_with("0x") || s.starts_with("0o");
}

void emit_yaml(YAML::Emitter& e, const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::object:
      e << YAML::BeginMap;
      for (const auto& [k, v] : j.items()) {
        e << YAML::Key << k << YAML::Value;
        emit_yaml(e, v);
      }
      e << YAML::EndMap;
      break;
    case nlohmann::ordered_json::value_t::array:
      e << YAML::BeginSeq;
      for (const auto& v : j) emit_yaml(e, v);
      e << YAML::EndSeq;
      break;
    case nlohmann::ordered_json::value_t::string: {
      const auto& s = j.get_ref<const std::string&>();
      if (reads_back_as_non_string(s)) e << YAML::DoubleQuoted;
      e << s;
      break;
    }
    case nlohmann::ordered_json::value_t::boolean:
      e << j.get<bool>();
      break;
    case nlohmann::ordered_json::value_t::number_integer:
      e << j.get<int64_t>();
      break;
    case nlohmann::ordered_json::value_t::number_unsigned:
      e << j.get<uint64_t>();
      break;
    case nlohmann::ordered_json::value_t::number_float:
      e << j.get<double>();
      break;
    default:
      e << YAML::Null;
      break;
  }
}

}  // namespace

void print_yaml(std::ostream& out, const nlohmann::ordered_json& doc) {
  YAML::Emitter e;
  e.SetIndent(2);
  e.SetSeqFormat(YAML::Block);
  emit_yaml(e, doc);
  out << e.c_str() << '\n';
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

}  // namespace axon::cli
