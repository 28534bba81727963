// The Kubernetes lab's control plane (`axon lab up --kubernetes`): a host of
// its own on the LAN, netns axon-<lab>-cp at 10.0.0.2, as a control-plane
// node is, running
//
//   etcd                     127.0.0.1:2379 (the API server's store only)
//   kube-apiserver           0.0.0.0:6443, advertised as 10.0.0.2 (so the
//                            `kubernetes` Service's endpoint is reachable
//                            from pods), Node + RBAC authorization,
//                            NodeRestriction, bound service-account tokens
//   kube-controller-manager  every default controller but cloud and node IPAM
//   kube-scheduler
//
// and, in the machine's network namespace, a forwarder from 127.0.0.1:<port>
// to 10.0.0.2:6443 so the CLI (and kubectl) reach the API server through
// <state>/<lab>.kube/admin.kubeconfig. The binaries are the real ones
// (Kubernetes 1.26); credentials are made with openssl: one self-signed
// serving certificate (its SANs: 10.0.0.2, 127.0.0.1, localhost, 10.96.0.1,
// kubernetes.default.svc...) that is also the CA in every kubeconfig, a
// service-account signing key, and static tokens: cluster-admin for the
// CLI and the controllers, system:node:<node> (group system:nodes) per
// kubelet.
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/lab/lab.h"
#include "axon/lab/paths.h"

namespace axon::lab {

struct KubeBinaries {
  std::string apiserver, controller_manager, scheduler;
};

// The binaries in `dir` (plain, or .xz as ../shared/tools/kubernetes ships
// them, unpacked once into $AXON_KUBE_BIN_DIR or ~/.cache/axon-kubernetes-1.26).
Result<KubeBinaries> find_kube_binaries(const std::string& dir);

// Starts what is not running (idempotent) and waits until the API server
// is ready and the controllers work (ServiceAccount default/default exists).
// Adds what it started to `started`.
Status start_control_plane(const LabPaths& paths, const KubeBinaries& bins,
                           std::vector<std::string>& started, const Say& say);

// Stops the control plane's processes (the forwarder, scheduler,
// controller-manager, API server, etcd) and removes <state>/<lab>.kube.
// Returns how many processes it stopped.
int stop_control_plane(const LabPaths& paths, const Say& say);

// One entry per control-plane process, for `axon lab status`.
std::vector<ComponentStatus> control_plane_status(const LabPaths& paths);

// The forwarder `axon lab apiserver-proxy` runs: 127.0.0.1:`port` of this
// network namespace to 10.0.0.2:6443 in the control plane's, until `stop`.
int run_apiserver_proxy(const LabPaths& paths, int port, const std::atomic<bool>& stop);

// The objects the Kubernetes lab adds to a fresh API server: cluster DNS
// (as bootstrap_objects) with the ServiceAccount and RBAC it needs to
// read Services and EndpointSlices.
std::vector<Json> kube_bootstrap_objects();

}  // namespace axon::lab
