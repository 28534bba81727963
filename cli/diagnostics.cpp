#include "cli/diagnostics.h"

#include "cli/output.h"

namespace axon::cli {

void print_diagnostics(Context& ctx, const std::vector<client::Diagnostic>& diagnostics) {
  Style style(ctx.color_err());
  for (const auto& d : diagnostics) {
    std::string head = d.headline();
    if (d.severity == client::Severity::error) {
      head = style.red("error:") + head.substr(6);
    } else {
      head = style.yellow("warning:") + head.substr(8);
    }
    ctx.err << head << "\n";
    if (!d.fix.empty()) ctx.err << "  fix: " << d.fix << "\n";
    if (!d.command.empty()) ctx.err << "  run: " << d.command << "\n";
  }
}

std::string count_summary(const std::vector<client::Diagnostic>& diagnostics) {
  size_t errors = 0, warnings = 0;
  for (const auto& d : diagnostics) (d.severity == client::Severity::error ? errors : warnings)++;
  auto plural = [](size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  if (warnings == 0) return plural(errors, "error");
  if (errors == 0) return plural(warnings, "warning");
  return plural(errors, "error") + ", " + plural(warnings, "warning");
}

}  // namespace axon::cli
