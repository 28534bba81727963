// Which store a daemon talks to, chosen as Cilium's daemons find their API
// server, with the lab's etcd first:
//   1. AXON_STORE (or --store): the lab's etcd, "unix:///run/lab/etcd.sock";
//   2. --kubeconfig or KUBECONFIG: that kubeconfig's context;
//   3. in a pod: the in-cluster configuration (service-account token, CA,
//      KUBERNETES_SERVICE_HOST/PORT).
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "axon/base/result.h"
#include "axon/client/cluster_store.h"
#include "axon/client/kubeconfig.h"

namespace axon::client {

struct StoreTarget {
  std::string etcd;        // AXON_STORE
  std::string kubeconfig;  // KUBECONFIG
  std::string context;     // empty: the kubeconfig's current context
  std::string service_account_dir = kServiceAccountDir;
};

// AXON_STORE and KUBECONFIG from the environment.
StoreTarget store_target_from_env();

// The store `target` names; the error says which one was tried and why it failed.
Result<std::unique_ptr<ClusterStore>> connect_store(const StoreTarget& target,
                                                    std::chrono::seconds etcd_timeout =
                                                        std::chrono::seconds(30));

// True when `store` is a Kubernetes API server (whose own controllers keep
// EndpointSlices), false for the lab's etcd.
bool is_kubernetes(const ClusterStore& store);

}  // namespace axon::client
