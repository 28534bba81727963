// axon policy get: the policies in the cluster store (issue 6).
#include "cli/command.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct GetParams {
  std::string ns;
  bool all_namespaces = false;
};

void setup(CommandBuilder& b) {
  auto& p = b.params<GetParams>();
  b.description(
      "List the CiliumNetworkPolicies, CiliumClusterwideNetworkPolicies and NetworkPolicies in "
      "the cluster store, with whether each is valid (an invalid policy enforces nothing).");
  b.option("-n,--namespace", p.ns, "NAMESPACE", "Only policies of this namespace");
  b.flag("-A,--all-namespaces", p.all_namespaces, "Policies of every namespace");
  b.example("axon policy get -n production");
  b.action([&ctx = b.ctx()] {
    return cli::not_implemented(ctx, "axon policy get",
                                "the cluster store is not built yet (issue 6); validate files "
                                "offline with axon policy validate -f");
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(policy_get, {"policy get", "List the policies in the cluster", "Commands",
                                   axon::commands::setup})
