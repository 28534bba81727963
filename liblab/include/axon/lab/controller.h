// The lab's control loops, in the role of kube-controller-manager and the
// scheduler: Deployments and DaemonSets become Pods (a Deployment's spread
// over the Ready nodes; a DaemonSet's one per node), changed templates
// replace their Pods, Pods whose owner is gone are deleted, Services get a
// ClusterIP (and NodePorts), and workloads report their status.
//
// As in Kubernetes, a node that is not Ready (no CNI configuration yet)
// takes only Pods that tolerate node.kubernetes.io/not-ready: the agents'
// DaemonSet does, ordinary Deployments (cluster DNS among them) wait.
#pragma once

#include <atomic>

#include "axon/client/etcd_store.h"
#include "axon/lab/paths.h"

namespace axon::lab {

// One pass over every kind the controller looks after.
Status reconcile_cluster(client::EtcdStore& store);

// Runs reconcile_cluster until `stop`, on every change and every second.
int run_controller(const LabPaths& paths, const std::atomic<bool>& stop);

// Allocation helpers, exposed for tests.
std::string allocate_cluster_ip(const std::vector<std::string>& taken);  // from 10.96.0.0/12
// The first port of first..last not in `taken` (0: none left).
int allocate_node_port(const std::vector<int>& taken, int first = 30000, int last = 32767);
std::string template_hash(const Json& pod_template);                     // 10 hex digits

}  // namespace axon::lab
