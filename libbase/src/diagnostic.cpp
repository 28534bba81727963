#include "axon/base/diagnostic.h"

#include <algorithm>

namespace axon {

std::string_view severity_name(Severity s) { return s == Severity::error ? "error" : "warning"; }

std::string SourceLocation::str() const {
  if (line <= 0 || file == "--set") return file;
  return file + ":" + std::to_string(line);
}

std::string Diagnostic::headline() const {
  std::string out(severity_name(severity));
  out += ": ";
  std::string where = location.str();
  if (!where.empty()) out += where + ": ";
  if (document > 0) {
    out +=
        "document " + std::to_string(document) + (object.empty() ? "" : " (" + object + ")") + ": ";
  } else if (!object.empty()) {
    out += object + ": ";
  }
  if (!path.empty()) out += path + ": ";
  return out + message;
}

std::string Diagnostic::one_line() const {
  return fix.empty() ? headline() : headline() + "; " + fix;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
  return count(diagnostics, Severity::error) > 0;
}

size_t count(const std::vector<Diagnostic>& diagnostics, Severity s) {
  return static_cast<size_t>(std::count_if(diagnostics.begin(), diagnostics.end(),
                                           [s](const Diagnostic& d) { return d.severity == s; }));
}

}  // namespace axon
