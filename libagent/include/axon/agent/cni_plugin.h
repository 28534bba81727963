// axon's CNI plugin (CNI 1.0.0): what a container runtime executes as
// /opt/cni/bin/axon-cni with CNI_* variables and the network configuration
// on stdin. It does the namespace plumbing itself (a veth pair, the pod's
// address and routes, the host-side route) and asks the node's agent, over
// its unix socket, for an address (IPAM) and to make the veth an endpoint
// (identity, BPF programs, policy). Errors are CNI error objects on stdout.
#pragma once

#include <map>
#include <ostream>
#include <string>

namespace axon::agent {

inline constexpr const char* kDefaultAgentSocket = "/run/axon/agent.sock";

// Runs one CNI operation; returns the process exit code (0 or 1).
int run_cni_plugin(const std::map<std::string, std::string>& env, const std::string& stdin_data,
                   std::ostream& out, std::ostream& log);

// The host-side veth name of a container: "lxc" + 8 hex digits.
std::string host_veth_name(const std::string& container_id);

}  // namespace axon::agent
