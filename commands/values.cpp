// axon values validate|fix: check install values files, and fix the
// mistakes that have one right answer (a key in the wrong letter case).
#include "axon/client/values.h"

#include <fstream>
#include <sstream>

#include "cli/command.h"
#include "cli/diagnostics.h"
#include "cli/output.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct ValuesParams {
  std::vector<std::string> files;
  bool strict = false;
  bool write = false;
};

std::optional<std::string> read(cli::Context& ctx, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    ctx.err << "Error: " << sys_error("cannot read " + path).str() << "\n";
    return std::nullopt;
  }
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

// Validates `files` together (as `install -f a -f b` would merge them).
int validate(cli::Context& ctx, const ValuesParams& p) {
  client::ValuesBuilder values;
  for (const auto& f : p.files) {
    if (auto st = values.add_file(f); !st) {
      ctx.err << "Error: " << st.error().str() << "\n";
      return cli::kExitUsage;
    }
  }
  auto diagnostics = client::validate_values(values, client::ValuesCheck{p.strict, p.files});
  if (cli::parse_format(ctx.global.output) != cli::Format::table) {
    nlohmann::ordered_json doc = {{"valid", !has_errors(diagnostics)},
                                  {"problems", nlohmann::ordered_json::array()}};
    for (const auto& d : diagnostics) doc["problems"].push_back(cli::diagnostic_json(d));
    cli::print_document(ctx.out, cli::parse_format(ctx.global.output), doc);
  } else {
    cli::print_diagnostics(ctx, diagnostics);
    if (!has_errors(diagnostics)) {
      ctx.out << "values are valid"
              << (diagnostics.empty() ? "" : " (" + cli::count_summary(diagnostics) + ")") << "\n";
    }
  }
  return has_errors(diagnostics) ? cli::kExitFailed : cli::kExitOk;
}

int fix(cli::Context& ctx, const ValuesParams& p) {
  if (!p.write && p.files.size() > 1) {
    throw cli::UsageError(
        "without -w the fixed file is printed; give one file, or -w to fix several in place");
  }
  size_t changes = 0;
  std::vector<std::pair<std::string, std::string>> fixed;  // file, text
  for (const auto& f : p.files) {
    auto text = read(ctx, f);
    if (!text) return cli::kExitUsage;
    auto result = client::fix_values_text(*text, f);
    if (!result) {
      ctx.err << "Error: " << result.error().str() << "\n";
      return cli::kExitUsage;
    }
    for (const auto& c : result->changes) ctx.err << f << ": " << c << "\n";
    changes += result->changes.size();
    fixed.emplace_back(f, result->text);
  }
  if (p.write) {
    for (const auto& [f, text] : fixed) {
      std::ofstream out(f, std::ios::binary | std::ios::trunc);
      out << text;
      if (!out) {
        ctx.err << "Error: cannot write " << f << "\n";
        return cli::kExitFailed;
      }
    }
  } else {
    ctx.out << fixed.front().second;
  }
  if (changes == 0) ctx.err << "nothing to fix automatically\n";
  // What is left needs a person: show it.
  client::ValuesBuilder values;
  for (const auto& [f, text] : fixed) {
    if (auto st = values.add_yaml(text, f); !st) {
      ctx.err << "Error: " << st.error().str() << "\n";
      return cli::kExitFailed;
    }
  }
  auto diagnostics = client::validate_values(values, client::ValuesCheck{p.strict, {}});
  cli::print_diagnostics(ctx, diagnostics);
  return has_errors(diagnostics) ? cli::kExitFailed : cli::kExitOk;
}

void setup_validate(CommandBuilder& b) {
  auto& p = b.params<ValuesParams>();
  b.description(
      "Check install values files as `axon install -f` would, without installing: unknown keys, "
      "keys in the wrong letter case, wrong types, invalid values and combinations that cannot "
      "work, each with its file, line, field path and fix. Exit 0 when valid, 1 when not.");
  b.files("-f,--values", p.files, "Values file; several are merged in order")->required();
  b.flag("--strict", p.strict, "Treat unknown keys as errors");
  b.example("axon values validate -f cilium-values.yaml");
  b.action([&ctx = b.ctx(), &p] { return validate(ctx, p); });
}

void setup_fix(CommandBuilder& b) {
  auto& p = b.params<ValuesParams>();
  b.description(
      "Fix what has one right answer in values files: a key that differs from a chart key only "
      "in letter case is renamed (gatewayApi becomes gatewayAPI). The file is edited in place "
      "with -w, keeping comments and layout; without -w the fixed file is printed. Problems "
      "that need a decision are listed after; exit 1 while any error remains.");
  b.files("-f,--values", p.files, "Values file to fix")->required();
  b.flag("-w,--write", p.write, "Write the fixed file in place");
  b.flag("--strict", p.strict, "Treat unknown keys as errors");
  b.example("axon values fix -f cilium-values.yaml -w");
  b.action([&ctx = b.ctx(), &p] { return fix(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(values,
                      {"values", "Check and fix install values files", "Getting started", nullptr})
AXON_REGISTER_COMMAND(values_validate, {"values validate", "Check values files without installing",
                                        "Commands", axon::commands::setup_validate})
AXON_REGISTER_COMMAND(values_fix, {"values fix", "Fix keys written in the wrong letter case",
                                   "Commands", axon::commands::setup_fix})
