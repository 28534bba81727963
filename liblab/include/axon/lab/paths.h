// Names and places of one lab: state directory, etcd socket, network
// namespaces, addresses. Everything a lab creates is named from here, so
// `axon lab down` can remove exactly that and nothing else.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/yaml.h"

namespace axon::lab {

using client::Json;

inline constexpr int kMaxNodes = 9;
inline constexpr const char* kLanCidr = "10.0.0.0/24";
inline constexpr const char* kServiceCidr = "10.96.0.0/12";
inline constexpr const char* kClusterDnsIp = "10.96.0.10";
inline constexpr const char* kClusterDomain = "cluster.local";
// The Kubernetes lab's control-plane host on the LAN (axon lab up --kubernetes),
// its API server port there, and KubePrism's port on every node's loopback.
inline constexpr const char* kControlPlaneIp = "10.0.0.2";
inline constexpr int kApiServerPort = 6443;
inline constexpr int kKubePrismPort = 7445;

struct LabPaths {
  std::string state_dir;  // --state-dir: /run/axon
  std::string name;       // lab name: "lab"

  std::string dir() const { return state_dir + "/" + name; }  // /run/axon/lab
  std::string lab_file() const { return dir() + "/lab.json"; }
  std::string etcd_dir() const { return dir() + "/etcd"; }
  std::string etcd_target() const { return "unix:" + etcd_dir() + "/etcd.sock:0"; }
  std::string log_dir() const { return dir() + "/logs"; }
  std::string pid_dir() const { return dir() + "/pids"; }
  std::string pods_dir() const { return dir() + "/pods"; }
  // The relay's flow API (Hubble's Observer), where `axon observe` looks.
  std::string relay_socket() const { return dir() + "/relay.sock"; }
  // The per-node host filesystem: what /run/axon, /opt/cni/bin, /etc/cni/net.d
  // are on that node (see lab/rootfs.h).
  std::string node_root(const std::string& node) const { return dir() + "/nodes/" + node; }
  // The node agent's API (axon.agent.v1.Agent).
  std::string node_agent_socket(const std::string& node) const {
    return node_root(node) + "/run/axon/agent.sock";
  }
  // The node agent's flow API: /run/axon/hubble.sock on that node.
  std::string node_hubble_socket(const std::string& node) const {
    return node_root(node) + "/run/axon/hubble.sock";
  }
  // The node's bpffs directory: /sys/fs/bpf on that node.
  std::string node_bpffs(const std::string& node) const {
    return "/sys/fs/bpf/axon/" + name + "/" + node;
  }
  std::string bpffs_dir() const { return "/sys/fs/bpf/axon/" + name; }

  // The Kubernetes lab's credentials, kubeconfigs and the API server's etcd
  // data: beside the lab directory, not in it, because every pod sees the
  // lab directory and must not see the cluster-admin token.
  std::string kube_dir() const { return state_dir + "/" + name + ".kube"; }
  // cluster-admin through the machine's loopback: what the CLI uses.
  std::string kubeconfig() const { return kube_dir() + "/admin.kubeconfig"; }
  // A node's kubelet: user system:node:<node>, group system:nodes.
  std::string node_kubeconfig(const std::string& node) const {
    return kube_dir() + "/" + node + ".kubeconfig";
  }

  // Network namespaces.
  std::string netns_prefix() const { return "axon-" + name + "-"; }
  std::string lan_netns() const { return netns_prefix() + "lan"; }
  std::string client_netns() const { return netns_prefix() + "client"; }
  // The Kubernetes lab's control-plane host (10.0.0.2 on the LAN).
  std::string control_plane_netns() const { return netns_prefix() + "cp"; }
  std::string node_netns(const std::string& node) const { return netns_prefix() + node; }
  std::string pod_netns(const std::string& pod_uid) const {
    return netns_prefix() + "p" + pod_uid.substr(0, 8);
  }
};

// Node i (1-based): its name, LAN address and pod CIDR.
std::string node_name(int i);      // "node1"
std::string node_ip(int i);        // "10.0.0.11"
std::string node_pod_cidr(int i);  // "10.244.1.0/24"
inline constexpr const char* kClientIp = "10.0.0.100";

// The lab whose etcd target (AXON_STORE, as the lab gives every pod) is
// `target`: "unix:<state>/<lab>/etcd/etcd.sock:0". Pods see the lab's
// directory at the same path, so the relay finds the agents' sockets.
std::optional<LabPaths> lab_from_store_target(const std::string& target);

// The lab a pod runs in, from the AXON_STATE_DIR and AXON_LAB its kubelet
// gives it (a pod of the Kubernetes lab has no AXON_STORE); nullopt when
// they are unset or name no lab.
std::optional<LabPaths> lab_of_pod(const std::string& state_dir, const std::string& name);

// The machine's network namespace, as the lab knows it: the one its etcd
// runs in (`lab up` starts etcd there, or the Kubernetes lab's API server
// proxy; nodes and pods get their own), as a /proc path. "" when neither runs.
std::string machine_netns(const LabPaths& lab);

// A lab name must make valid netns and file names: [a-z0-9], 1-12 chars.
Status check_lab_name(const std::string& name);

// The labs under `state_dir` (those with a lab.json), sorted.
std::vector<std::string> list_labs(const std::string& state_dir);

// Which lab a command means: `wanted` (from --lab / AXON_LAB) if given,
// else the only lab that is up. The error says what to do.
Result<LabPaths> find_lab(const std::string& state_dir, const std::string& wanted);

}  // namespace axon::lab
