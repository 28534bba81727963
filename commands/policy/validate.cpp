// axon policy validate: strict validation of policy manifests, one line per
// problem, and the problems only a set shows (an allow the other end's
// default deny makes unreachable).
#include "axon/policy/decode.h"
#include "cli/command.h"
#include "cli/output.h"
#include "axon/base/files.h"
#include "axon/client/policies.h"
#include "cli/diagnostics.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
namespace pol = axon::policy;

struct ValidateParams {
  std::vector<std::string> files;
};

int run(cli::Context& ctx, const ValidateParams& p) {
  if (p.files.empty()) throw cli::UsageError("policy validate needs -f FILE (one or more)");
  auto read = read_manifest_files(p.files);
  if (!read) throw cli::UsageError(read.error().message);
  const auto& inputs = *read;

  std::vector<Diagnostic> problems;
  std::vector<pol::Policy> valid;
  nlohmann::ordered_json docs = nlohmann::ordered_json::array();
  size_t documents = 0, policies = 0;
  for (const auto& in : inputs) {
    auto loaded = pol::load_documents(in.text, in.path);
    for (auto& pr : loaded.problems) problems.push_back(std::move(pr));
    for (const auto& doc : loaded.documents) {
      ++documents;
      auto d = pol::decode_policy(doc);
      if (!d.is_policy) {
        Diagnostic skip;
        skip.severity = Severity::warning;
        skip.location.file = doc.file;
        skip.document = doc.index;
        skip.location.line = doc.line;
        skip.message = "skipped: not a CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy or "
                       "NetworkPolicy";
        problems.push_back(std::move(skip));
        continue;
      }
      ++policies;
      docs.push_back({{"file", doc.file},
                      {"document", doc.index},
                      {"object", d.object},
                      {"valid", d.policy.has_value()}});
      for (auto& pr : d.problems) problems.push_back(std::move(pr));
      if (d.policy) valid.push_back(std::move(*d.policy));
    }
  }
  for (auto& pr : pol::check_policy_set(valid)) problems.push_back(std::move(pr));

  size_t errors = count(problems, Severity::error);
  size_t warnings = count(problems, Severity::warning);
  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    nlohmann::ordered_json out = {
        {"valid", errors == 0},
        {"files", inputs.size()},
        {"documents", documents},
        {"errors", errors},
        {"warnings", warnings},
        {"policies", docs},
        {"problems", nlohmann::ordered_json::array()},
    };
    for (const auto& pr : problems) out["problems"].push_back(cli::policy_problem_json(pr));
    cli::print_document(ctx.out, format, out);
    return errors == 0 ? cli::kExitOk : cli::kExitFailed;
  }
  for (const auto& pr : problems) ctx.out << cli::policy_problem_line(pr, ctx.color()) << "\n";
  auto plural = [](size_t n, const std::string& one, const std::string& many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
  };
  std::string where = plural(policies, "policy", "policies") + " in " +
                      plural(inputs.size(), "file", "files");
  if (errors == 0) {
    ctx.out << "All policies are valid: " << where;
    if (warnings > 0) ctx.out << ", " << plural(warnings, "warning", "warnings");
    ctx.out << "\n";
    return cli::kExitOk;
  }
  ctx.out << "Validation failed: " << plural(errors, "error", "errors") << ", " << plural(warnings, "warning", "warnings")
          << " (" << where << ")\n";
  return cli::kExitFailed;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<ValidateParams>();
  b.description(
      "Validate CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy "
      "manifests (YAML or JSON, several documents per file) strictly: unknown fields, wrong types, "
      "invalid selectors, CIDRs, ports and L7 rules, and the mistakes Cilium swallows silently: "
      "an empty ingress/egress list (which enables no default deny, so the policy blocks nothing) "
      "and Kubernetes NetworkPolicy words (from/to, podSelector, namespaceSelector, ports) inside "
      "a Cilium policy. Each problem is one line: file, line, document, object, field path, what "
      "is wrong and how to fix it; `axon policy fix` repairs those marked with a run: hint.\n"
      "\n"
      "Policies validated together are also checked as a set: traffic passes only if the "
      "source's egress and the destination's ingress both allow it, so an allow that the other "
      "end's default deny makes unreachable is a warning naming the missing rule.\n"
      "\n"
      "Exits 0 when there is no error (warnings allowed), 1 otherwise; -o json for programs.");
  b.files("-f,--file", p.files, "Policy manifest, or a directory of them (repeatable)");
  b.example("axon policy validate -f policy-default-deny.yaml");
  b.example("axon policy validate -f policies/ -o json");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(policy, {"policy", "Validate, fix and trace network policies", "Policy",
                               nullptr})
AXON_REGISTER_COMMAND(policy_validate, {"policy validate", "Validate policy manifests", "Commands",
                                        axon::commands::setup})
