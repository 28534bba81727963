// The lab's network, made of network namespaces the lab names and owns:
//
//   axon-<lab>-lan     bridge br0: the seed's home network, 10.0.0.0/24
//   axon-<lab>-nodeN   eth0 10.0.0.(10+N)/24 on the bridge; pods behind veths
//   axon-<lab>-client  eth0 10.0.0.100/24: a laptop on the LAN
//   axon-<lab>-cp      eth0 10.0.0.2/24: the Kubernetes lab's control plane
//
// Every link is created inside these namespaces: nothing is added to the
// root namespace, and nothing routes to the machine's real network.
#pragma once

#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/lab/paths.h"

namespace axon::lab {

// Creates what is missing (idempotent); the control plane's host only for
// the Kubernetes lab.
Status create_topology(const LabPaths& paths, int nodes, bool control_plane = false);

// Deletes every network namespace named with this lab's prefix (nodes,
// LAN, client and pods); their links go with them.
Status destroy_topology(const LabPaths& paths);

// Network namespaces whose name starts with `prefix`.
std::vector<std::string> list_netns(const std::string& prefix);
bool netns_exists(const std::string& name);

// Makes sure /sys/fs/bpf is a bpffs (mounting one there if not, as Cilium
// and systemd do); pins live under /sys/fs/bpf/axon/.
Status ensure_bpffs();

// Writes a sysctl inside a network namespace (net.* are per namespace).
Status netns_sysctl(const std::string& netns, const std::string& key, const std::string& value);

}  // namespace axon::lab
