// Which store changes wake the agent's sync: the kinds it acts on, not the
// leases, events and workloads that change all the time.
#include <doctest/doctest.h>

#include "axon/agent/agent.h"

using axon::agent::agent_watches_key;

TEST_CASE("the agent syncs on the kinds it acts on, not on leases or Deployments") {
  for (const char* key : {"/axon/registry/core/pods/production/api-1",
                          "/axon/registry/core/nodes/node1",
                          "/axon/registry/core/namespaces/production",
                          "/axon/registry/core/services/production/api",
                          "/axon/registry/discovery.k8s.io/endpointslices/production/api-axon",
                          "/axon/registry/cilium.io/ciliumnetworkpolicies/production/deny",
                          "/axon/registry/cilium.io/ciliumclusterwidenetworkpolicies/allow-dns",
                          "/axon/registry/networking.k8s.io/networkpolicies/default/np"}) {
    CAPTURE(key);
    CHECK(agent_watches_key(key));
  }
  for (const char* key : {"/axon/registry/coordination.k8s.io/leases/kube-system/axon-operator",
                          "/axon/registry/apps/deployments/production/api",
                          "/axon/registry/core/configmaps/kube-system/axon-config",
                          "/axon/registry/core/podtemplates/x",  // not "core/pods/"
                          "/other/core/pods/x", ""}) {
    CAPTURE(key);
    CHECK_FALSE(agent_watches_key(key));
  }
}
