#include "axon/agent/identity_store.h"

#include "axon/policy/identity.h"

namespace axon::agent {

using client::member;
using client::ObjectRef;
namespace {

constexpr const char* kByLabels = "/axon/identities/by-labels/";
constexpr const char* kNextId = "/axon/identities/next-id";

}  // namespace

std::string IdentityStore::canonical(const std::map<std::string, std::string>& labels) {
  std::string s;
  for (const auto& [k, v] : labels) s += (s.empty() ? "" : ";") + k + "=" + v;
  return s;
}

Result<uint32_t> IdentityStore::allocate(const std::map<std::string, std::string>& labels) {
  // No cache: an identity may be garbage-collected and its labels given a
  // new number later; every node must read the same answer from the store.
  const std::string key = canonical(labels);
  const std::string index = std::string(kByLabels) + key;
  for (int attempt = 0; attempt < 50; ++attempt) {
    auto existing = etcd_->get(index);
    if (!existing) return existing.error();
    if (*existing) {
      return static_cast<uint32_t>(std::stoul((*existing)->value));
    }
    // Take the next number (compare-and-swap on the counter), then claim the
    // label set; whoever claims it first wins and the others read theirs.
    auto counter = etcd_->get(kNextId);
    if (!counter) return counter.error();
    uint32_t next =
        *counter ? static_cast<uint32_t>(std::stoul((*counter)->value)) : kFirstClusterIdentity;
    if (next > kLastClusterIdentity) return Error{"no cluster identities left (65,535 reached)"};
    auto bumped =
        etcd_->put_if(kNextId, std::to_string(next + 1), *counter ? (*counter)->mod_revision : 0);
    if (!bumped) return bumped.error();
    if (!*bumped) continue;  // another agent took this number
    auto claimed = etcd_->put_if(index, std::to_string(next), 0);
    if (!claimed) return claimed.error();
    if (!*claimed) continue;  // the label set got a number meanwhile: read it
    Json sec = Json::object();
    for (const auto& [k, v] : labels) sec[k] = v;
    Json obj = {
        {"apiVersion", "cilium.io/v2"},
        {"kind", "CiliumIdentity"},
        {"metadata",
         {{"name", std::to_string(next)}, {"labels", {{"app.kubernetes.io/managed-by", "axon"}}}}},
        {"security-labels", sec}};
    if (auto r = store_.apply(obj); !r) return r.error();
    return next;
  }
  return Error{"identity allocation for {" + key + "} keeps conflicting; try again"};
}

Result<std::optional<std::map<std::string, std::string>>> IdentityStore::labels_of(uint32_t id) {
  auto obj = store_.get(ObjectRef{"cilium.io/v2", "CiliumIdentity", "", std::to_string(id)});
  if (!obj) return obj.error();
  if (!*obj) return std::optional<std::map<std::string, std::string>>();
  std::map<std::string, std::string> labels;
  const Json sec =
      (**obj).contains("security-labels") ? (**obj)["security-labels"] : Json::object();
  for (const auto& [k, v] : sec.items()) labels[k] = v.get<std::string>();
  return std::optional<std::map<std::string, std::string>>(labels);
}

Result<std::map<uint32_t, std::map<std::string, std::string>>> IdentityStore::list() {
  auto objs = store_.list("cilium.io/v2", "CiliumIdentity", "", "");
  if (!objs) return objs.error();
  std::map<uint32_t, std::map<std::string, std::string>> out;
  for (const auto& o : *objs) {
    const std::string name = member(o, "metadata").value("name", "");
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    auto& labels = out[static_cast<uint32_t>(std::stoul(name))];
    for (const auto& [k, v] : member(o, "security-labels").items()) {
      if (v.is_string()) labels[k] = v.get<std::string>();
    }
  }
  return out;
}

Status IdentityStore::release(uint32_t id, const std::map<std::string, std::string>& labels) {
  const std::string index = std::string(kByLabels) + canonical(labels);
  auto existing = etcd_->get(index);
  if (!existing) return existing.error();
  // Only the index entry that names this number (a re-allocation keeps its own).
  if (*existing && (*existing)->value == std::to_string(id)) {
    if (auto d = etcd_->remove_if(index, (*existing)->mod_revision); !d) return d.error();
  }
  if (auto r = store_.remove(ObjectRef{"cilium.io/v2", "CiliumIdentity", "", std::to_string(id)});
      !r) {
    return r.error();
  }
  return {};
}

std::map<std::string, std::string> IdentityStore::pod_labels(const Json& pod,
                                                             const Json* namespace_obj,
                                                             const std::string& cluster) {
  policy::PodLabels pl;
  const Json& meta = member(pod, "metadata");
  pl.ns = meta.value("namespace", "default");
  for (const auto& [k, v] : member(meta, "labels").items()) {
    if (v.is_string()) pl.labels[k] = v.get<std::string>();
  }
  if (namespace_obj != nullptr) {
    for (const auto& [k, v] : member(member(*namespace_obj, "metadata"), "labels").items()) {
      if (v.is_string()) pl.namespace_labels[k] = v.get<std::string>();
    }
  }
  pl.service_account = member(pod, "spec").value("serviceAccountName", "default");
  pl.cluster = cluster;
  const policy::LabelSet set = policy::identity_labels(pl);
  std::map<std::string, std::string> out;
  for (const auto& l : set.labels()) out[l.source + ":" + l.key] = l.value;
  return out;
}

Result<std::vector<uint32_t>> IdentityGarbageCollector::pass(ClusterStore& store,
                                                             IdentityStore& identities,
                                                             const std::string& cluster,
                                                             Clock::time_point now) {
  auto pods = store.list("v1", "Pod", "", "");
  if (!pods) return pods.error();
  auto nss = store.list("v1", "Namespace", "", "");
  if (!nss) return nss.error();
  auto all = identities.list();
  if (!all) return all.error();
  std::map<std::string, Json> namespaces;
  for (const auto& n : *nss) namespaces[member(n, "metadata").value("name", "")] = n;
  std::set<std::string> in_use;
  for (const auto& p : *pods) {
    if (member(p, "spec").value("hostNetwork", false)) continue;
    auto it = namespaces.find(member(p, "metadata").value("namespace", "default"));
    in_use.insert(IdentityStore::canonical(
        IdentityStore::pod_labels(p, it == namespaces.end() ? nullptr : &it->second, cluster)));
  }
  std::vector<uint32_t> released;
  for (const auto& [id, labels] : *all) {
    if (in_use.count(IdentityStore::canonical(labels))) {
      unused_since_.erase(id);
      continue;
    }
    auto [it, fresh] = unused_since_.emplace(id, now);
    if (fresh || now - it->second < grace_) continue;
    if (auto st = identities.release(id, labels); !st) return st.error();
    released.push_back(id);
    unused_since_.erase(it);
  }
  for (auto it = unused_since_.begin(); it != unused_since_.end();) {
    it = all->count(it->first) ? std::next(it) : unused_since_.erase(it);
  }
  return released;
}

}  // namespace axon::agent
