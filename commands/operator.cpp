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
      "Run the operator: one replica leads through a lease in the store and keeps EndpointSlices "
      "of every Service in step with its ready pods (the backends agents program), and hands out "
      "node pod CIDRs in cluster-pool IPAM mode. Started by the Deployment `axon install` "
      "renders.");
  b.option("--config-dir", p.config_dir, "DIR", "The configuration (the axon-config ConfigMap)");
  b.action([&p] {
    cli::handle_stop_signals();
    return agent::run_operator(p, cli::stop_flag());
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(operator, {"operator", "Run the operator (started by its Deployment)",
                                 "Daemons", axon::commands::setup})
