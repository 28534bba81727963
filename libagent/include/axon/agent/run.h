// The node agent as a process (what `axon agent` runs in the DaemonSet's
// pod): the Agent (agent.h), its gRPC API on <run-dir>/agent.sock (the CNI
// plugin, `status`, `endpoint`, `policy get`), the readiness endpoint
// 127.0.0.1:<health-port>/healthz, and Hubble's observer (observer.h).
// Also the init steps of the agent's pod.
#pragma once

#include <atomic>
#include <string>

namespace axon::agent {

struct AgentRunOptions {
  std::string config_dir = "/etc/axon/config";  // the axon-config ConfigMap's files
  std::string cni_conf_dir = "/host/etc/cni/net.d";
  std::string cni_bin_dir = "/host/opt/cni/bin";
  // The Kubernetes API's kubeconfig and context; empty: in-cluster. The
  // lab's etcd (AXON_STORE) comes first.
  std::string kubeconfig, kube_context;
};

// Runs until `stop` is set (the caller's signal handling sets it); sets it
// itself when the agent ends for its own reasons, so every thread stops.
// Returns the process's exit code.
int run_agent(const AgentRunOptions& options, std::atomic<bool>& stop);

// Init step: with CLEAN_AXON_STATE=true (the ConfigMap's clean-axon-state
// key), removes this node's pins and agent state. Exit code.
int clean_state();

// Init step (privileged, Bidirectional mount propagation): makes sure
// /sys/fs/bpf is a bpffs, mounting one when it is not, so pinned maps
// outlive the agent's container. Exit code.
int mount_bpf_fs();

// Init step: makes sure cgroup2 is mounted at `root`. Exit code.
int mount_cgroup(const std::string& root);

}  // namespace axon::agent
