// axon operator: the cluster-wide controller (the Deployment axon install
// renders); libagent's (axon/agent/operator.h).
#include "axon/agent/operator.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

void setup(CommandBuilder& b) {
  auto& p = b.params<agent::OperatorOptions>();
  b.description(
      "Run the operator: one replica leads through the Lease axon-operator; the leader hands out "
      "node pod CIDRs in cluster-pool IPAM mode, releases identities no pod uses, and in the lab "
      "(no kube-controller-manager) keeps EndpointSlices of every Service in step with its ready "
      "pods. Started by the Deployment `axon install` renders. Its store: the lab's etcd "
      "(AXON_STORE), else the Kubernetes API of --kubeconfig, else the pod's service account.");
  b.option("--config-dir", p.config_dir, "DIR", "The configuration (the axon-config ConfigMap)");
  b.action([&p, &ctx = b.ctx()] {
    cli::handle_stop_signals();
    p.kubeconfig = ctx.global.kubeconfig;  // --kubeconfig / KUBECONFIG
    p.kube_context = ctx.global.kube_context;
    return agent::run_operator(p, cli::stop_flag());
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(operator, {"operator", "Run the operator (started by its Deployment)",
                                 "Daemons", axon::commands::setup})
