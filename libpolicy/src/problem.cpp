#include "axon/policy/problem.h"

#include <algorithm>

namespace axon::policy {

std::string_view severity_name(Severity s) { return s == Severity::error ? "error" : "warning"; }

std::string format(const Problem& p) {
  std::string out(severity_name(p.severity));
  out += ": ";
  if (!p.file.empty()) {
    out += p.file;
    if (p.line > 0) out += ":" + std::to_string(p.line);
    out += ": ";
  }
  if (p.document > 0) {
    out += "document " + std::to_string(p.document);
    if (!p.object.empty()) out += " (" + p.object + ")";
    out += ": ";
  } else if (!p.object.empty()) {
    out += p.object + ": ";
  }
  if (!p.path.empty()) out += p.path + ": ";
  out += p.message;
  if (!p.fix.empty()) out += "; " + p.fix;
  return out;
}

size_t count(const std::vector<Problem>& problems, Severity s) {
  return static_cast<size_t>(std::count_if(problems.begin(), problems.end(),
                                           [s](const Problem& p) { return p.severity == s; }));
}

}  // namespace axon::policy
