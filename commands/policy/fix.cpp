// axon policy fix: rewrite what validation can repair by itself.
#include "axon/policy/decode.h"
#include "axon/policy/fix.h"
#include "cli/command.h"
#include "cli/output.h"
#include "axon/base/files.h"
#include "axon/client/policies.h"
#include "cli/diagnostics.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
namespace pol = axon::policy;

struct FixParams {
  std::vector<std::string> files;
  bool write = false;
};

int run(cli::Context& ctx, const FixParams& p) {
  if (p.files.empty()) throw cli::UsageError("policy fix needs -f FILE");
  auto read = read_manifest_files(p.files);
  if (!read) throw cli::UsageError(read.error().message);
  const auto& inputs = *read;
  if (!p.write && inputs.size() != 1) {
    throw cli::UsageError("policy fix prints one fixed file to stdout; with " +
                          std::to_string(inputs.size()) +
                          " files, use -w to rewrite each in place");
  }
  bool color = ctx.color_err();
  size_t errors = 0;
  std::vector<pol::Policy> fixed_policies;
  for (const auto& in : inputs) {
    auto r = pol::fix_text(in.text, in.path);
    if (r.changed) {
      for (const auto& a : r.applied) ctx.err << "fixed: " << in.path << ": " << a << "\n";
      for (int d : r.comments_dropped) {
        ctx.err << "note: " << in.path << ": "
                << (d == 0 ? std::string("every document was printed anew; comments inside "
                                         "documents were not kept")
                           : "comments inside document " + std::to_string(d) +
                                 " were not kept (the ones above it were)")
                << "\n";
      }
    } else {
      ctx.err << in.path << ": nothing to fix\n";
    }
    for (const auto& pr : r.remaining) {
      if (pr.severity == Severity::error) ++errors;
      ctx.err << cli::policy_problem_line(pr, color) << "\n";
    }
    if (p.write) {
      if (r.changed) {
        if (auto st = replace_file(in.path, r.text); !st) throw cli::UsageError(st.error().message);
        ctx.out << "wrote " << in.path << " (" << r.applied.size() << " fix"
                << (r.applied.size() == 1 ? "" : "es") << ")\n";
      }
    } else {
      ctx.out << r.text;
    }
    auto decoded = pol::decode_policies(r.text, in.path, true);
    for (auto& pol_ : decoded.policies) fixed_policies.push_back(std::move(pol_));
  }
  for (const auto& pr : pol::check_policy_set(fixed_policies)) {
    ctx.err << cli::policy_problem_line(pr, color) << "\n";
  }
  if (errors > 0) {
    ctx.err << "Error: " << errors << " problem" << (errors == 1 ? "" : "s")
            << " need a person; see the lines above\n";
    return cli::kExitFailed;
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<FixParams>();
  b.description(
      "Rewrite what `axon policy validate` can repair by itself: an empty ingress/egress list "
      "(which enables no default deny) becomes [{}] (deny all in that direction); Kubernetes "
      "NetworkPolicy words inside a Cilium policy become the Cilium rule that means the same "
      "(from/to with podSelector and namespaceSelector -> fromEndpoints/toEndpoints with the "
      "namespace labels; ipBlock -> fromCIDRSet/toCIDRSet; ports -> toPorts); unquoted ports are "
      "quoted, lower-case protocols upper-cased, a wrong apiVersion corrected.\n"
      "\n"
      "Without -w, prints the fixed file on stdout and what was changed on stderr. With -w, "
      "rewrites the files in place. Documents that need no change are kept byte for byte. "
      "Exits 1 when problems remain that need a person.");
  b.files("-f,--file", p.files, "Policy manifest to fix (repeatable with -w)");
  b.flag("-w,--write", p.write, "Rewrite the files in place instead of printing");
  b.example("axon policy fix -f policy-allow-frontend-to-api.yaml");
  b.example("axon policy fix -f policy-default-deny.yaml -w");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(policy_fix, {"policy fix", "Rewrite policy manifests to repair known mistakes",
                                   "Commands", axon::commands::setup})
