#include "cli/diagnostics.h"

#include "cli/output.h"

namespace axon::cli {

void print_diagnostics(Context& ctx, const std::vector<Diagnostic>& diagnostics) {
  Style style(ctx.color_err());
  for (const auto& d : diagnostics) {
    std::string head = d.headline();
    if (d.severity == Severity::error) {
      head = style.red("error:") + head.substr(6);
    } else {
      head = style.yellow("warning:") + head.substr(8);
    }
    ctx.err << head << "\n";
    if (!d.fix.empty()) ctx.err << "  fix: " << d.fix << "\n";
    if (!d.command.empty()) ctx.err << "  run: " << d.command << "\n";
  }
}

std::string count_summary(const std::vector<Diagnostic>& diagnostics) {
  size_t errors = 0, warnings = 0;
  for (const auto& d : diagnostics) (d.severity == Severity::error ? errors : warnings)++;
  auto plural = [](size_t n, const char* word) {
    return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
  };
  if (warnings == 0) return plural(errors, "error");
  if (errors == 0) return plural(warnings, "warning");
  return plural(errors, "error") + ", " + plural(warnings, "warning");
}

nlohmann::ordered_json diagnostic_json(const Diagnostic& d) {
  nlohmann::ordered_json j = {{"severity", std::string(severity_name(d.severity))},
                              {"file", d.location.file},
                              {"line", d.location.line},
                              {"path", d.path},
                              {"message", d.message}};
  if (d.document > 0) j["document"] = d.document;
  if (!d.object.empty()) j["object"] = d.object;
  if (!d.fix.empty()) j["fix"] = d.fix;
  if (!d.command.empty()) j["command"] = d.command;
  return j;
}

bool report_manifest_problems(Context& ctx, const std::vector<Diagnostic>& problems,
                              const std::string& nothing_done) {
  print_diagnostics(ctx, problems);
  if (!has_errors(problems)) return false;
  ctx.err << "Error: the manifests have " << count_summary(problems) << "; " << nothing_done
          << "\n";
  return true;
}

namespace {
std::string policy_fix_command(const std::string& file) {
  return "axon policy fix -f " + file + " -w";
}
}  // namespace

std::string policy_problem_line(const Diagnostic& p, bool color) {
  std::string line = p.one_line();
  if (p.fixable && !p.location.file.empty()) line += "; run: " + policy_fix_command(p.location.file);
  if (color) {
    Style s(true);
    std::string sev(severity_name(p.severity));
    std::string colored = p.severity == Severity::error ? s.red(sev) : s.yellow(sev);
    line = colored + line.substr(sev.size());
  }
  return line;
}

nlohmann::ordered_json policy_problem_json(const Diagnostic& p) {
  nlohmann::ordered_json j = {
      {"severity", std::string(severity_name(p.severity))},
      {"file", p.location.file},
      {"document", p.document},
      {"line", p.location.line},
      {"object", p.object},
      {"path", p.path},
      {"message", p.message},
      {"fix", p.fix},
      {"fixable", p.fixable},
  };
  if (p.fixable && !p.location.file.empty()) j["fixCommand"] = policy_fix_command(p.location.file);
  return j;
}

}  // namespace axon::cli
