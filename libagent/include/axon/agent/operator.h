// The operator (what `axon operator` runs in its Deployment): one replica
// leads through a lease in the store (the others wait to take over); the
// leader keeps EndpointSlices of every Service in step with its ready pods,
// hands out node pod CIDRs in cluster-pool IPAM mode, and releases
// identities no pod has used for identity-gc-interval.
#pragma once

#include <atomic>
#include <string>

namespace axon::agent {

struct OperatorOptions {
  std::string config_dir = "/etc/axon/config";  // the axon-config ConfigMap's files
};

// Runs until `stop` is set; the store is AXON_STORE (the lab's etcd).
// Returns the process's exit code.
int run_operator(const OperatorOptions& options, const std::atomic<bool>& stop);

}  // namespace axon::agent
