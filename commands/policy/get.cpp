// axon policy get: the policies in the cluster store, each validated as
// the agent will read it (an invalid policy enforces nothing).
#include "axon/policy/decode.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/output.h"
#include "axon/base/files.h"
#include "axon/client/policies.h"
#include "cli/diagnostics.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
namespace pol = axon::policy;

struct GetParams {
  std::string ns;
  bool all_namespaces = false;
};

int run(cli::Context& ctx, const GetParams& p) {
  if (!p.ns.empty() && p.all_namespaces) {
    throw cli::UsageError("give -n NAMESPACE or -A, not both");
  }
  auto store = cli::connect_cluster(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto listed = client::store_policies(**store, p.ns);
  if (!listed) {
    ctx.err << "Error: " << listed.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& sp : *listed) {
      nlohmann::ordered_json j = {{"kind", std::string(pol::kind_name(sp.kind))},
                                  {"namespace", sp.ns},
                                  {"name", sp.name},
                                  {"valid", sp.policy.has_value()},
                                  {"rules", sp.policy ? sp.policy->rules.size() : 0},
                                  {"problems", nlohmann::ordered_json::array()}};
      for (const auto& pr : sp.problems) j["problems"].push_back(cli::policy_problem_json(pr));
      out.push_back(std::move(j));
    }
    cli::print_document(ctx.out, format, out);
    return cli::kExitOk;
  }
  if (listed->empty()) {
    ctx.out << "No policies" << (p.ns.empty() ? "" : " in namespace " + p.ns) << " ("
            << (*store)->describe() << ")\n";
    return cli::kExitOk;
  }
  cli::Table t({"KIND", "NAMESPACE", "NAME", "RULES", "VALID"});
  cli::Style s(ctx.color());
  for (const auto& sp : *listed) {
    t.row({std::string(pol::kind_name(sp.kind)), sp.ns.empty() ? "-" : sp.ns, sp.name,
           sp.policy ? std::to_string(sp.policy->rules.size()) : "-",
           sp.policy ? s.green("True") : s.red("False")});
  }
  t.print(ctx.out);
  for (const auto& sp : *listed) {
    for (const auto& pr : sp.problems) ctx.err << cli::policy_problem_line(pr, ctx.color_err()) << "\n";
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<GetParams>();
  b.description(
      "List the CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies and NetworkPolicies in "
      "the cluster store (the lab's, or a Kubernetes cluster's with --kubeconfig), each validated "
      "as the agent reads it: VALID False means the policy enforces nothing, and its problems "
      "follow on stderr. Cluster-wide policies are listed with every namespace.");
  b.option("-n,--namespace", p.ns, "NAMESPACE", "Only policies of this namespace");
  b.flag("-A,--all-namespaces", p.all_namespaces, "Policies of every namespace (the default)");
  b.example("axon policy get -n production");
  b.example("axon policy get -o json");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(policy_get, {"policy get", "List the policies in the cluster", "Commands",
                                   axon::commands::setup})
