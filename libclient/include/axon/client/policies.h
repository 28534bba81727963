// A cluster's policies and pods as the policy language sees them: for
// `axon policy get` and `axon policy trace --src-pod/--dst-pod`.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "axon/base/diagnostic.h"
#include "axon/base/result.h"
#include "axon/client/cluster_store.h"
#include "axon/policy/evaluate.h"
#include "axon/policy/model.h"

namespace axon::client {

// One policy object of the cluster store, decoded and validated.
struct StoredPolicy {
  policy::PolicyKind kind = policy::PolicyKind::cilium_network_policy;
  std::string ns;
  std::string name;
  std::optional<policy::Policy> policy;  // set when valid
  std::vector<Diagnostic> problems;
};

// Every CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy and
// NetworkPolicy in the store (`ns` empty: all namespaces; cluster-wide
// policies always).
Result<std::vector<StoredPolicy>> store_policies(ClusterStore& store, const std::string& ns);

// "NAMESPACE/NAME" split in two; nullopt when either part is missing.
std::optional<std::pair<std::string, std::string>> split_namespaced(const std::string& ns_name);

// A pod of the store as policy sees it: its identity labels (with its
// namespace's labels and service account) and named ports.
struct StoredPod {
  policy::LabelSet labels;
  policy::NamedPorts named_ports;
};
Result<StoredPod> store_pod(ClusterStore& store, const std::string& ns, const std::string& name);

}  // namespace axon::client
