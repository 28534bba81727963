// The operator's Gateway API controller (Cilium's gateway-api operator
// cell): watches GatewayClasses, Gateways, the routes, ReferenceGrants and
// Secrets; computes what gateway_compute says (libgateway/status.h); makes
// one LoadBalancer Service cilium-gateway-<name> per Gateway (LB IPAM gives
// its address, L2 announcements answer for it) and writes every status
// that changed. Started when the values enable Gateway API.
#pragma once

#include <functional>
#include <set>
#include <memory>

#include "axon/client/cluster_store.h"
#include "axon/client/informer.h"

namespace axon::agent {

class GatewayController {
 public:
  // `services` and `namespaces`: the operator's informers, shared.
  // `served`: the listener protocols the node proxies route (others are
  // Programmed=False, Pending).
  GatewayController(client::ClusterStore& store, client::Informer& services,
                    client::Informer& namespaces, std::set<std::string> served,
                    std::function<void()> wake);
  ~GatewayController();

  std::vector<client::Informer*> informers();
  // One pass when something it watches changed since the last good one;
  // false when a write failed (the next pass tries again).
  bool sync();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace axon::agent
