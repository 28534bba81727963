// The lab's per-node runtime, in the role of a kubelet plus a container
// runtime: it realises the Pods bound to its node as network namespace +
// process, calls the node's CNI plugin exactly as a container runtime does
// (CNI 1.0: ADD/DEL, environment + JSON on stdin, result JSON on stdout),
// runs init containers, restarts crashed processes, probes readiness, and
// reports Pod and Node status to the store (the lab's etcd, or the
// Kubernetes lab's API server).
#pragma once

#include <atomic>
#include <string>

#include "axon/lab/paths.h"

namespace axon::lab {

struct KubeletOptions {
  LabPaths paths;
  std::string node;  // "node1"
  // The Kubernetes lab: the node's kubeconfig (system:node:<node>). The
  // kubelet then registers its Node, renews its Lease in kube-node-lease,
  // confirms deletions (grace period 0 once the pod is stopped), gives pods
  // projected service-account tokens (TokenRequest) and the `kubernetes`
  // Service's address, and serves KubePrism on 127.0.0.1:7445. Empty: the
  // lab's etcd store.
  std::string kubeconfig;
};

// Runs until `stop` becomes true. Call in a process already inside the
// node's network namespace; it enters the node's filesystem view itself.
// Returns a process exit code.
int run_kubelet(const KubeletOptions& options, const std::atomic<bool>& stop);

// The node's CNI network configuration (the first *.conflist / *.conf in
// `dir`, by name), normalised to a conflist; empty when there is none.
Json find_cni_config(const std::string& dir);

}  // namespace axon::lab
