// Cluster-wide security identities kept in the store: the same label set
// gets the same number on every node, whichever agent asks first. Each is
// also a CiliumIdentity object (name = the number, security-labels = the
// labels), as Cilium's CRD identity mode keeps them.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "axon/client/etcd_store.h"

namespace axon::agent {

using client::ClusterStore;
using client::EtcdClient;
using client::EtcdStore;
using client::Json;

inline constexpr uint32_t kFirstClusterIdentity = 256;
inline constexpr uint32_t kLastClusterIdentity = 65535;

class IdentityStore {
 public:
  explicit IdentityStore(std::shared_ptr<EtcdClient> etcd)
      : etcd_(std::move(etcd)), store_(etcd_) {}

  // The identity of `labels` ("k8s:app=api", ... sorted), allocating it if new.
  Result<uint32_t> allocate(const std::map<std::string, std::string>& labels);
  // The labels of an identity, if it exists.
  Result<std::optional<std::map<std::string, std::string>>> labels_of(uint32_t id);

  // "k8s:app=api;k8s:io.kubernetes.pod.namespace=prod" (sorted by key).
  static std::string canonical(const std::map<std::string, std::string>& labels);

  // Every identity in the store: number -> labels.
  Result<std::map<uint32_t, std::map<std::string, std::string>>> list();
  // Removes an identity (its CiliumIdentity and its label index). The
  // operator's garbage collection calls it for identities no pod has had
  // for a grace period; an agent asking for the labels later gets a new number.
  Status release(uint32_t id, const std::map<std::string, std::string>& labels);

  // The identity labels of a pod (policy::identity_labels over its Pod and
  // Namespace objects), "source:key" -> value: what agents allocate and
  // what the operator's garbage collection counts as in use.
  static std::map<std::string, std::string> pod_labels(const Json& pod, const Json* namespace_obj,
                                                       const std::string& cluster);

 private:
  std::shared_ptr<EtcdClient> etcd_;
  EtcdStore store_;
};

// The operator's identity garbage collection: an identity whose labels no
// pod has had for `grace` is released (Cilium's operator does the same for
// CiliumIdentity objects; cilium-config's identity-gc-interval, 15 minutes).
// It remembers when each identity was first seen unused, so one allocated a
// moment before the pod list was read is never collected: by the next pass
// its pod is listed.
class IdentityGarbageCollector {
 public:
  using Clock = std::chrono::steady_clock;
  explicit IdentityGarbageCollector(std::chrono::seconds grace) : grace_(grace) {}

  // One pass; returns the identities released.
  Result<std::vector<uint32_t>> pass(ClusterStore& store, IdentityStore& identities,
                                     const std::string& cluster, Clock::time_point now);

 private:
  std::chrono::seconds grace_;
  std::map<uint32_t, Clock::time_point> unused_since_;
};

}  // namespace axon::agent
