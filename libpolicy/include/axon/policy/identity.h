// Security identities (semantics §1.9): a number for a set of
// identity-relevant labels. Policy is written against labels and compiled
// against identities, so pods restarting with new IPs keep their identity.
//
//   0        unknown             1-10     reserved (host, world, ...)
//   256-65535 cluster-wide identities of label sets (shifted by cluster-id << 16)
//   1<<24 +n  node-local identities (CIDRs named by policies)
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/policy/labels.h"
#include "axon/policy/net.h"

namespace axon::policy {

namespace reserved {
inline constexpr uint32_t unknown = 0;
inline constexpr uint32_t host = 1;
inline constexpr uint32_t world = 2;
inline constexpr uint32_t unmanaged = 3;
inline constexpr uint32_t health = 4;
inline constexpr uint32_t init = 5;
inline constexpr uint32_t remote_node = 6;
inline constexpr uint32_t kube_apiserver = 7;
inline constexpr uint32_t ingress = 8;
inline constexpr uint32_t world_ipv4 = 9;
inline constexpr uint32_t world_ipv6 = 10;
}  // namespace reserved

inline constexpr uint32_t kMinClusterIdentity = 256;
inline constexpr uint32_t kMaxClusterIdentity = 65535;
inline constexpr uint32_t kLocalScopeBit = 1u << 24;
inline constexpr uint32_t kRemoteNodeScope = 2u << 24;

struct Identity {
  uint32_t id = 0;
  LabelSet labels;

  bool operator==(const Identity&) const = default;
};

// "host", "world", ... for 1-10; empty otherwise.
std::string_view reserved_name(uint32_t id);
// The reserved identity a label set stands for ({reserved:host} -> 1).
std::optional<uint32_t> reserved_identity(const LabelSet& labels);
// The labels of a reserved identity ({reserved:world} for 2).
LabelSet reserved_labels(uint32_t id);
// Every reserved identity, 1-10, with its labels.
std::vector<Identity> reserved_identities();

bool is_reserved(uint32_t id);
// A label-derived identity of some cluster (not reserved, not node-local).
bool is_cluster_scope(uint32_t id);
bool is_local_scope(uint32_t id);

// CIDR identities: labels {cidr:<prefix>, reserved:world}. The prefix an
// identity stands for, if it is one.
LabelSet cidr_labels(const Prefix& p);
std::optional<Prefix> cidr_of(const LabelSet& labels);

// The pod facts its identity comes from.
struct PodLabels {
  std::string ns;
  std::map<std::string, std::string> labels;            // metadata.labels
  std::map<std::string, std::string> namespace_labels;  // the Namespace's labels
  std::string service_account;                          // may be empty
  std::string cluster = "default";
};

// Is a pod label key relevant to its identity (Cilium's default label
// filter)? Kubernetes bookkeeping labels (pod-template-hash,
// controller-revision-hash, *.kubernetes.io/..., ...) are not;
// app.kubernetes.io/* are.
bool is_identity_relevant(std::string_view key);

// The identity labels of a pod: relevant pod labels, its namespace, the
// namespace's labels (io.cilium.k8s.namespace.labels.*, including
// kubernetes.io/metadata.name), service account and cluster, all k8s:.
LabelSet identity_labels(const PodLabels& pod);

// Completes labels given by hand (a `policy trace` source, a test): with a
// namespace label and no namespace labels, adds the namespace's
// kubernetes.io/metadata.name label every namespace carries.
LabelSet with_namespace_name_label(LabelSet labels);

// Where identities come from. The agent backs it with the cluster store
// (libagent's IdentityStore), so every node agrees on the numbers; tests and offline tools
// use InMemoryIdentityAllocator. Same labels, same identity; allocate() and
// release() count references.
class IdentityAllocator {
 public:
  virtual ~IdentityAllocator() = default;

  // The identity of these labels: reserved for a reserved label set,
  // node-local for a CIDR, cluster-wide otherwise.
  virtual Result<Identity> allocate(const LabelSet& labels) = 0;
  virtual Status release(uint32_t id) = 0;
  virtual std::optional<Identity> find(uint32_t id) const = 0;
  virtual std::optional<Identity> find(const LabelSet& labels) const = 0;
  // Every identity currently allocated (reserved ones excluded).
  virtual std::vector<Identity> list() const = 0;
};

class InMemoryIdentityAllocator final : public IdentityAllocator {
 public:
  explicit InMemoryIdentityAllocator(uint32_t cluster_id = 0);

  Result<Identity> allocate(const LabelSet& labels) override;
  Status release(uint32_t id) override;
  std::optional<Identity> find(uint32_t id) const override;
  std::optional<Identity> find(const LabelSet& labels) const override;
  std::vector<Identity> list() const override;

 private:
  struct Entry {
    LabelSet labels;
    uint32_t refs = 0;
  };

  uint32_t cluster_base_;
  uint32_t next_cluster_;
  uint32_t next_local_ = kLocalScopeBit + 1;
  std::map<uint32_t, Entry> by_id_;
  std::map<LabelSet, uint32_t> by_labels_;
};

}  // namespace axon::policy
