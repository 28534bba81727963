// The relay as a process (what `axon relay` runs in the hubble-relay
// Deployment): one Observer API over every node agent's (relay.h), the
// nodes read from the store and refreshed every 2 s, its Prometheus
// metrics, and optionally a forwarder that answers on an address of
// another network namespace (the machine's loopback, where Hubble clients
// look, while the relay runs in a pod).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/connect.h"

namespace axon::hubble {

struct RelayDaemonOptions {
  client::StoreTarget store;            // where the Nodes are (connect.h)
  std::vector<std::string> addresses;   // gRPC addresses to serve ("unix://...", "0.0.0.0:4245")
  std::string metrics_address;          // "0.0.0.0:9966"; "" for none
  // A node's Observer target; null: the node's InternalIP on Hubble's port 4244.
  std::function<std::string(const std::string& node)> node_target;
  // Forward `forward_address` in network namespace `forward_netns` to the
  // unix socket `forward_socket`; all three or none.
  std::string forward_address, forward_socket, forward_netns;
};

// Serves until `stop` is set. An error when the store or an address fails.
Status run_relay(const RelayDaemonOptions& options, const std::atomic<bool>& stop);

}  // namespace axon::hubble
