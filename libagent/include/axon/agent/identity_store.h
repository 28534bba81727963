// Cluster-wide security identities, kept as CiliumIdentity objects as
// Cilium's CRD identity mode keeps them (name = the number,
// security-labels = the labels), in any ClusterStore: the same label set
// gets the same number on every node, whichever agent asks first.
//
// Allocation without a counter or a lock: an agent that finds no identity
// for a label set creates one under the number after the highest it has
// seen (so a released number is not soon reused; create fails
// when another agent took that number: it tries the next), then lists the
// identities of the label set (label axon.io/labels-hash) and uses the
// lowest. Two agents racing may both create one; both then read the same
// lowest number, and the other goes unused until the operator's garbage
// collection releases it.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "axon/client/cluster_store.h"
#include "axon/client/informer.h"

namespace axon::agent {

using client::ClusterStore;
using client::Json;

inline constexpr uint32_t kFirstClusterIdentity = 256;
inline constexpr uint32_t kLastClusterIdentity = 65535;
inline constexpr const char* kLabelsHashLabel = "axon.io/labels-hash";

class IdentityStore {
 public:
  // `cache`: an informer of CiliumIdentity objects on the same store (the
  // agent's): lookups read it instead of asking the store. Without one
  // every lookup lists.
  explicit IdentityStore(ClusterStore& store, const client::Informer* cache = nullptr)
      : store_(store), cache_(cache) {}

  // The identity of `labels` ("k8s:app=api", ... sorted), allocating it if new.
  Result<uint32_t> allocate(const std::map<std::string, std::string>& labels);
  // The labels of an identity, if it exists.
  Result<std::optional<std::map<std::string, std::string>>> labels_of(uint32_t id);

  // "k8s:app=api;k8s:io.kubernetes.pod.namespace=prod" (sorted by key).
  static std::string canonical(const std::map<std::string, std::string>& labels);
  // The label value that indexes a label set (16 hex digits of FNV-1a 64).
  static std::string labels_hash(const std::map<std::string, std::string>& labels);

  // Every identity in the store: number -> labels.
  Result<std::map<uint32_t, std::map<std::string, std::string>>> list();
  // Removes an identity. The operator's garbage collection calls it for
  // identities no pod has had for a grace period; an agent asking for the
  // labels later gets a new number.
  Status release(uint32_t id, const std::map<std::string, std::string>& labels);

  // The identity labels of a pod (policy::identity_labels over its Pod and
  // Namespace objects), "source:key" -> value: what agents allocate and
  // what the operator's garbage collection counts as in use.
  static std::map<std::string, std::string> pod_labels(const Json& pod, const Json* namespace_obj,
                                                       const std::string& cluster);

 private:
  // The identities in the cache (or the store), indexed by canonical labels.
  struct Index {
    std::map<std::string, uint32_t> lowest;  // canonical labels -> lowest number
    std::set<uint32_t> used;
  };
  Result<Index> index();
  // Every CiliumIdentity: the cache's, or listed.
  Result<std::vector<Json>> all_objects();
  // The lowest number the store holds for `labels` right now (0: none).
  Result<uint32_t> lowest_in_store(const std::map<std::string, std::string>& labels);

  ClusterStore& store_;
  const client::Informer* cache_;
  std::mutex mu_;
  uint64_t cached_generation_ = ~uint64_t{0};
  Index cached_;
  std::map<std::string, uint32_t> recent_;  // allocated here, maybe not cached yet
  uint32_t high_water_ = 0;                 // the highest number seen: not handed out again
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

  // One pass over the cluster's pods and namespaces (the operator's
  // caches); returns the identities released.
  Result<std::vector<uint32_t>> pass(const std::vector<Json>& pods,
                                     const std::vector<Json>& namespaces,
                                     IdentityStore& identities, const std::string& cluster,
                                     Clock::time_point now);

 private:
  std::chrono::seconds grace_;
  std::map<uint32_t, Clock::time_point> unused_since_;
};

}  // namespace axon::agent
