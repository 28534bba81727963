// What `axon status` reports: the state of every component axon installs
// (agents, operator, Hubble relay and UI) from the cluster store, and, where
// the agents can be reached (the lab), each agent's own view: endpoints,
// identities, policies, services and errors.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "axon/agent/v1/agent.pb.h"
#include "axon/client/cluster_store.h"

namespace axon::client {

enum class Health { ok, warning, error, disabled };
std::string to_string(Health h);  // "OK", "warning", "error", "disabled"

struct WorkloadStatus {
  std::string kind, name;  // "DaemonSet", "axon-agent"
  std::string label;       // "Axon", "Operator", "Hubble Relay", "Hubble UI"
  Health health = Health::disabled;
  int64_t desired = 0, ready = 0, available = 0;
  std::vector<std::string> images;  // "ghcr.io/axon/axon:0.1.0: 2"
};

struct AgentStatus {
  std::string node, pod;
  bool reachable = false;
  std::string state;  // the agent's: "Ok", "Warning", "Failure"
  uint32_t endpoints = 0, identities = 0, policies = 0, services = 0;
  std::string pod_cidr;
  std::string l7_proxy;  // the node's L7 proxy (StatusResponse.l7_proxy)
  std::vector<std::string> errors;
};

// LB IPAM as the pools' and Services' status say.
struct LbIpamSummary {
  int64_t pools = 0, conflicting = 0;
  int64_t ips_used = 0, ips_total = 0;
  int64_t services = 0, pending = 0;  // LoadBalancer Services LB IPAM manages
};

// L2 announcements: each announced address, its Services and the node
// whose Lease says it answers ARP for it ("" when none does).
struct L2Announced {
  std::string ip;
  std::vector<std::string> services;  // "namespace/name"
  std::string node;
};

// Gateway API: the Gateways of axon's class and whether their status says
// Programmed (the node proxies route them).
struct GatewaySummary {
  int64_t total = 0, programmed = 0;
  std::vector<std::string> not_programmed;  // "namespace/name: reason: message"
};

struct StatusReport {
  std::vector<WorkloadStatus> workloads;
  LbIpamSummary lb_ipam;
  GatewaySummary gateways;
  std::vector<L2Announced> l2;
  std::vector<AgentStatus> agents;
  int64_t pods = 0, managed_pods = 0;
  std::vector<std::string> errors;  // "axon-agent: 1/2 ready; not ready on node2"
  std::vector<std::string> warnings;

  bool ready(bool ignore_warnings) const {
    return errors.empty() && (ignore_warnings || warnings.empty());
  }
  Json to_json() const;
};

// Finds the agent API socket of a node ("" when agents cannot be reached).
using AgentSocketFinder = std::function<std::string(const std::string& node)>;

Result<StatusReport> collect_status(ClusterStore& store, const std::string& ns,
                                    const AgentSocketFinder& agents);

// One node's agent's endpoints and their policy maps (`axon endpoint`).
struct NodePolicy {
  std::string node;
  std::optional<agent::v1::PolicyResponse> response;  // empty: the agent did not answer
};

// Asks the agent of every node of the store (or of `only_node`) for its
// endpoints and policy maps, 3 s each.
Result<std::vector<NodePolicy>> agent_policies(ClusterStore& store, const AgentSocketFinder& agents,
                                               const std::string& only_node);

// One node's toFQDNs cache (`axon fqdn cache list`).
struct NodeFqdnCache {
  std::string node;
  std::optional<agent::v1::FqdnCache> cache;  // empty: the agent did not answer
};
Result<std::vector<NodeFqdnCache>> agent_fqdn_caches(ClusterStore& store, const AgentSocketFinder& agents,
                                                     const std::string& only_node);

}  // namespace axon::client
