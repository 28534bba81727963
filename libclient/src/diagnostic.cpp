#include "axon/client/diagnostic.h"

namespace axon::client {

std::string Diagnostic::headline() const {
  std::string out = severity == Severity::error ? "error: " : "warning: ";
  std::string where = location.str();
  if (!where.empty()) out += where + ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

Json Diagnostic::to_json() const {
  Json j = {{"severity", severity == Severity::error ? "error" : "warning"},
            {"file", location.file},
            {"line", location.line},
            {"path", path},
            {"message", message}};
  if (!fix.empty()) j["fix"] = fix;
  if (!command.empty()) j["command"] = command;
  return j;
}

bool has_errors(const std::vector<Diagnostic>& diagnostics) {
  for (const auto& d : diagnostics) {
    if (d.severity == Severity::error) return true;
  }
  return false;
}

}  // namespace axon::client
