#include "axon/policy/identity.h"

namespace axon::policy {
namespace {

constexpr const char* kReservedNames[] = {"unknown",     "host",   "world",     "unmanaged",
                                          "health",      "init",   "remote-node",
                                          "kube-apiserver", "ingress", "world-ipv4",
                                          "world-ipv6"};

bool contains_word(std::string_view key, std::string_view word) {
  return key.find(word) != std::string_view::npos;
}

}  // namespace

std::string_view reserved_name(uint32_t id) {
  if (id >= 1 && id <= reserved::world_ipv6) return kReservedNames[id];
  return {};
}

std::optional<uint32_t> reserved_identity(const LabelSet& labels) {
  if (labels.size() != 1) {
    // kube-apiserver on the host carries both reserved:host and
    // reserved:kube-apiserver: it is the host.
    if (labels.has(kSourceReserved, "host")) return reserved::host;
    return std::nullopt;
  }
  const Label& l = labels.labels().front();
  if (l.source != kSourceReserved) return std::nullopt;
  for (uint32_t id = 1; id <= reserved::world_ipv6; ++id) {
    if (l.key == kReservedNames[id]) return id;
  }
  return std::nullopt;
}

LabelSet reserved_labels(uint32_t id) {
  LabelSet s;
  if (is_reserved(id)) s.add(Label{std::string(kSourceReserved), kReservedNames[id], ""});
  return s;
}

std::vector<Identity> reserved_identities() {
  std::vector<Identity> out;
  for (uint32_t id = 1; id <= reserved::world_ipv6; ++id) {
    out.push_back(Identity{id, reserved_labels(id)});
  }
  return out;
}

bool is_reserved(uint32_t id) { return id >= 1 && id <= reserved::world_ipv6; }

bool is_cluster_scope(uint32_t id) {
  return id >= kMinClusterIdentity && id < kLocalScopeBit;
}

bool is_local_scope(uint32_t id) { return (id & kLocalScopeBit) != 0 && id < kRemoteNodeScope; }

LabelSet cidr_labels(const Prefix& p) {
  LabelSet s;
  s.add(Label{std::string(kSourceCidr), to_string(p), ""});
  s.add(Label{std::string(kSourceReserved), "world", ""});
  return s;
}

std::optional<Prefix> cidr_of(const LabelSet& labels) {
  for (const auto& l : labels.labels()) {
    if (l.source != kSourceCidr) continue;
    auto p = parse_prefix(l.key + (l.value.empty() ? "" : "=" + l.value));
    if (p) return p->prefix;
  }
  return std::nullopt;
}

bool is_identity_relevant(std::string_view key) {
  if (key == kNamespaceKey || key.starts_with(kNamespaceLabelsPrefix) ||
      key.starts_with(kPolicyLabelsPrefix) || key.starts_with("app.kubernetes.io/")) {
    return true;
  }
  for (std::string_view exact :
       {"pod-template-hash", "pod-template-generation", "controller-revision-hash",
        "controller-uid", "etcd_node"}) {
    if (key == exact) return false;
  }
  if (key.starts_with("annotation.")) return false;
  return !(key.starts_with("io.kubernetes") || contains_word(key, "kubernetes.io") ||
           contains_word(key, "k8s.io"));
}

LabelSet identity_labels(const PodLabels& pod) {
  LabelSet s;
  const std::string k8s(kSourceK8s);
  for (const auto& [k, v] : pod.labels) {
    if (is_identity_relevant(k)) s.add(Label{k8s, k, v});
  }
  s.add(Label{k8s, std::string(kNamespaceKey), pod.ns});
  for (const auto& [k, v] : pod.namespace_labels) {
    s.add(Label{k8s, std::string(kNamespaceLabelsPrefix) + k, v});
  }
  s.add(Label{k8s, std::string(kNamespaceLabelsPrefix) + std::string(kMetadataNameKey), pod.ns});
  if (!pod.service_account.empty()) {
    s.add(Label{k8s, std::string(kServiceAccountKey), pod.service_account});
  }
  if (!pod.cluster.empty()) s.add(Label{k8s, std::string(kClusterKey), pod.cluster});
  return s;
}

LabelSet with_namespace_name_label(LabelSet labels) {
  const Label* ns = labels.first(kSourceAny, kNamespaceKey);
  if (ns == nullptr) return labels;
  const std::string key = std::string(kNamespaceLabelsPrefix) + std::string(kMetadataNameKey);
  if (!labels.has(kSourceAny, key)) labels.add(Label{std::string(kSourceK8s), key, ns->value});
  return labels;
}

InMemoryIdentityAllocator::InMemoryIdentityAllocator(uint32_t cluster_id)
    : cluster_base_(cluster_id << 16), next_cluster_((cluster_id << 16) + kMinClusterIdentity) {}

Result<Identity> InMemoryIdentityAllocator::allocate(const LabelSet& labels) {
  if (labels.empty()) return Error{"cannot allocate an identity for an empty label set"};
  if (auto id = reserved_identity(labels)) return Identity{*id, reserved_labels(*id)};
  if (auto it = by_labels_.find(labels); it != by_labels_.end()) {
    ++by_id_[it->second].refs;
    return Identity{it->second, labels};
  }
  uint32_t id = 0;
  if (cidr_of(labels)) {
    if (next_local_ >= kRemoteNodeScope) return Error{"node-local identities exhausted"};
    id = next_local_++;
  } else {
    const uint32_t limit = cluster_base_ + kMaxClusterIdentity;
    // Reuse released numbers before giving up.
    while (next_cluster_ <= limit && by_id_.count(next_cluster_) != 0) ++next_cluster_;
    if (next_cluster_ > limit) {
      for (uint32_t c = cluster_base_ + kMinClusterIdentity; c <= limit; ++c) {
        if (by_id_.count(c) == 0) {
          next_cluster_ = c;
          break;
        }
      }
    }
    if (next_cluster_ > limit || by_id_.count(next_cluster_) != 0) {
      return Error{"cluster identities exhausted (at most " +
                   std::to_string(kMaxClusterIdentity - kMinClusterIdentity + 1) + ")"};
    }
    id = next_cluster_++;
  }
  by_id_[id] = Entry{labels, 1};
  by_labels_[labels] = id;
  return Identity{id, labels};
}

Status InMemoryIdentityAllocator::release(uint32_t id) {
  if (is_reserved(id)) return {};
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return Error{"identity " + std::to_string(id) + " is not allocated"};
  if (--it->second.refs == 0) {
    by_labels_.erase(it->second.labels);
    by_id_.erase(it);
  }
  return {};
}

std::optional<Identity> InMemoryIdentityAllocator::find(uint32_t id) const {
  if (is_reserved(id)) return Identity{id, reserved_labels(id)};
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return Identity{id, it->second.labels};
}

std::optional<Identity> InMemoryIdentityAllocator::find(const LabelSet& labels) const {
  if (auto id = reserved_identity(labels)) return Identity{*id, reserved_labels(*id)};
  auto it = by_labels_.find(labels);
  if (it == by_labels_.end()) return std::nullopt;
  return Identity{it->second, labels};
}

std::vector<Identity> InMemoryIdentityAllocator::list() const {
  std::vector<Identity> out;
  out.reserve(by_id_.size());
  for (const auto& [id, e] : by_id_) out.push_back(Identity{id, e.labels});
  return out;
}

}  // namespace axon::policy
