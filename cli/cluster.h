// Which cluster a command talks to: a Kubernetes API server when
// --kubeconfig, KUBECONFIG or --context say so, else the etcd store
// AXON_STORE names (as in a lab pod), else the lab (--lab NAME, AXON_LAB,
// or the only lab that is up).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "axon/base/result.h"
#include "axon/client/cluster_store.h"
#include "axon/client/etcd_store.h"
#include "cli/context.h"

namespace axon::cli {

// The store of the selected cluster, or an error saying why there is none.
Result<std::unique_ptr<client::ClusterStore>> connect_cluster(Context& ctx);

// connect_cluster, or null after printing "Error: <why>" on stderr.
std::unique_ptr<client::ClusterStore> connect_or_report(Context& ctx);

// The selected lab's store (--lab / AXON_LAB, or the only lab that is up):
// its etcd, or for a Kubernetes lab its API server (the lab's kubeconfig).
Result<std::unique_ptr<client::ClusterStore>> connect_lab(Context& ctx);

// The embedded lab's node agents (`axon endpoint`, `axon fqdn`): its store
// and where each node's agent listens. `command` names the command in the
// error a Kubernetes cluster gets (its agents are not reachable yet).
struct LabAgents {
  std::unique_ptr<client::ClusterStore> store;
  std::string lab;
  std::function<std::string(const std::string&)> socket_of;
};
Result<LabAgents> lab_agents(Context& ctx, const std::string& command);

}  // namespace axon::cli
