// The operator (what `axon operator` runs in its Deployment): one replica
// leads through a coordination.k8s.io Lease, axon-operator (the others wait
// to take over); in the lab (where no kube-controller-manager runs) the
// leader keeps EndpointSlices of every Service in step with its ready pods,
// hands out node pod CIDRs in cluster-pool IPAM mode, and releases
// identities no pod has used for identity-gc-interval.
#pragma once

#include <atomic>
#include <string>

namespace axon::agent {

struct OperatorOptions {
  std::string config_dir = "/etc/axon/config";  // the axon-config ConfigMap's files
  // The Kubernetes API's kubeconfig and context; empty: in-cluster. The
  // lab's etcd (AXON_STORE) comes first.
  std::string kubeconfig, kube_context;
  std::string lease_namespace;  // empty: POD_NAMESPACE, else the service account's, else kube-system
};

// Runs until `stop` is set; the store is the lab's etcd (AXON_STORE) or a
// Kubernetes API (connect.h).
// Returns the process's exit code.
int run_operator(const OperatorOptions& options, const std::atomic<bool>& stop);

}  // namespace axon::agent
