// Bringing a lab up and down, and reporting on it.
//
// `up` builds the network (lab/topology.h), starts etcd, the controller and
// one kubelet per node as daemons with pid files and logs, and writes the
// bare cluster: namespaces, Nodes with their pod CIDRs, and cluster DNS
// (Deployment coredns with k8s-app=kube-dns, Service kube-dns 10.96.0.10),
// whose pods wait for a network like everything else until `axon install`.
// `down` stops every process the lab started, deletes every network
// namespace and pin it named, and removes its state, even after a crash.
// With `kubernetes`, a real control plane (lab/control_plane.h) takes the
// place of etcd and the controller, the kubelets register their Nodes
// through the API, and cluster DNS is applied to it.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/etcd_store.h"
#include "axon/lab/paths.h"

namespace axon::lab {

struct UpOptions {
  LabPaths paths;
  int nodes = 3;
  // The Kubernetes lab (lab/control_plane.h): the real control plane in
  // place of the lab's etcd store and controller; its binaries' directory.
  bool kubernetes = false;
  std::string kube_binaries;
};

struct UpReport {
  bool already_up = false;           // everything was running: nothing changed
  std::vector<std::string> started;  // "etcd", "controller", "kubelet node1"...
};

using Say = std::function<void(const std::string&)>;

Result<UpReport> lab_up(const UpOptions& options, const Say& progress);

struct DownReport {
  int processes = 0, namespaces = 0;
  bool pins = false, state = false;
};

Result<DownReport> lab_down(const LabPaths& paths, const Say& progress);

// What `axon lab status` shows.
struct ComponentStatus {
  std::string name;  // "etcd", "controller", "kubelet node1"
  bool running = false;
  int pid = 0;
};
struct LabStatus {
  std::string name;
  int nodes = 0;
  std::vector<ComponentStatus> components;
  std::vector<std::string> namespaces;  // network namespaces that exist
};
LabStatus lab_status(const LabPaths& paths);

// The lab's description file (lab.json).
Result<Json> read_lab_file(const LabPaths& paths);
// Whether the lab runs on kube-apiserver (lab.json "kubernetes").
bool is_kubernetes_lab(const LabPaths& paths);

// The bare cluster's objects (namespaces, nodes, cluster DNS).
std::vector<Json> bootstrap_objects(int nodes);

}  // namespace axon::lab
