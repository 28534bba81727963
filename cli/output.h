// Rendering results for people and for programs: aligned tables, JSON,
// YAML and terminal colors. Commands build data; these print it.
#pragma once

#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace axon::cli {

enum class Format { table, json, yaml };

// "table", "json", "yaml" (as validated by the -o flag).
Format parse_format(std::string_view name);

// Columns padded to their widest cell plus three spaces (as Go's tabwriter
// with padding 3); the last column is not padded. Width counts characters,
// not bytes, and ignores ANSI color sequences.
class Table {
 public:
  explicit Table(std::vector<std::string> header = {});
  void row(std::vector<std::string> cells);
  void print(std::ostream& out) const;
  bool empty() const { return rows_.empty(); }

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

// Display width of a UTF-8 string without ANSI escape sequences.
size_t display_width(std::string_view s);

void print_json(std::ostream& out, const nlohmann::ordered_json& doc);
void print_yaml(std::ostream& out, const nlohmann::ordered_json& doc);
// JSON or YAML as `format` says; table is the caller's job.
void print_document(std::ostream& out, Format format, const nlohmann::ordered_json& doc);
// Objects as kubectl prints them: YAML for "yaml", else JSON with kubectl's
// 4-space indent.
void print_objects(std::ostream& out, const std::string& format, const nlohmann::ordered_json& doc);

// ANSI colors, or plain text when disabled.
class Style {
 public:
  explicit Style(bool enabled) : enabled_(enabled) {}
  bool enabled() const { return enabled_; }
  std::string red(std::string_view s) const { return wrap("31", s); }
  std::string green(std::string_view s) const { return wrap("32", s); }
  std::string yellow(std::string_view s) const { return wrap("33", s); }
  std::string magenta(std::string_view s) const { return wrap("35", s); }
  std::string cyan(std::string_view s) const { return wrap("36", s); }
  std::string bold(std::string_view s) const { return wrap("1", s); }

 private:
  std::string wrap(std::string_view code, std::string_view s) const;
  bool enabled_;
};

}  // namespace axon::cli
