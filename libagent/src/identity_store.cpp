#include "axon/agent/identity_store.h"

#include <algorithm>
#include <cstdio>

#include "axon/policy/identity.h"

namespace axon::agent {

using client::member;
using client::ObjectRef;
using LabelMap = std::map<std::string, std::string>;

namespace {

ObjectRef identity_ref(uint32_t id) {
  return ObjectRef{"cilium.io/v2", "CiliumIdentity", "", std::to_string(id)};
}

// The number a CiliumIdentity is named by (0: not one of ours).
uint32_t number_of(const Json& o) {
  const std::string name = member(o, "metadata").value("name", "");
  if (name.empty() || name.size() > 5 || name.find_first_not_of("0123456789") != std::string::npos)
    return 0;
  const unsigned long n = std::stoul(name);
  return n >= kFirstClusterIdentity && n <= kLastClusterIdentity ? static_cast<uint32_t>(n) : 0;
}

LabelMap security_labels(const Json& o) {
  LabelMap labels;
  for (const auto& [k, v] : member(o, "security-labels").items()) {
    if (v.is_string()) labels[k] = v.get<std::string>();
  }
  return labels;
}

// After the highest number in use or seen before (`high_water`: a number
// released a moment ago is not given to other labels while nodes may still
// hold it), else the lowest free.
uint32_t next_free(const std::set<uint32_t>& used, uint32_t high_water) {
  const uint32_t top = std::max(used.empty() ? 0 : *used.rbegin(), high_water);
  if (top < kLastClusterIdentity) return std::max(top + 1, kFirstClusterIdentity);
  for (uint32_t n = kFirstClusterIdentity; n <= kLastClusterIdentity; ++n) {
    if (!used.count(n)) return n;
  }
  return 0;
}

}  // namespace

std::string IdentityStore::canonical(const LabelMap& labels) {
  std::string s;
  for (const auto& [k, v] : labels) s += (s.empty() ? "" : ";") + k + "=" + v;
  return s;
}

std::string IdentityStore::labels_hash(const LabelMap& labels) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : canonical(labels)) {
    h ^= c;
    h *= 1099511628211ull;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

Result<std::vector<Json>> IdentityStore::all_objects() {
  if (cache_ != nullptr) return cache_->list();
  return store_.list("cilium.io/v2", "CiliumIdentity", "", "");
}

Result<IdentityStore::Index> IdentityStore::index() {
  if (cache_ != nullptr && cache_->generation() == cached_generation_) return cached_;
  const uint64_t generation = cache_ != nullptr ? cache_->generation() : 0;
  auto objects = all_objects();
  if (!objects) return objects.error();
  Index idx;
  for (const auto& o : *objects) {
    const uint32_t id = number_of(o);
    if (id == 0) continue;
    idx.used.insert(id);
    high_water_ = std::max(high_water_, id);
    auto [it, fresh] = idx.lowest.emplace(canonical(security_labels(o)), id);
    if (!fresh) it->second = std::min(it->second, id);
  }
  if (cache_ != nullptr) {
    cached_ = idx;
    cached_generation_ = generation;
  }
  return idx;
}

Result<uint32_t> IdentityStore::lowest_in_store(const LabelMap& labels) {
  auto listed = store_.list("cilium.io/v2", "CiliumIdentity", "",
                            std::string(kLabelsHashLabel) + "=" + labels_hash(labels));
  if (!listed) return listed.error();
  uint32_t lowest = 0;
  for (const auto& o : *listed) {
    const uint32_t id = number_of(o);
    if (id != 0 && security_labels(o) == labels && (lowest == 0 || id < lowest)) lowest = id;
  }
  return lowest;
}

Result<uint32_t> IdentityStore::allocate(const LabelMap& labels) {
  std::lock_guard lock(mu_);
  const std::string key = canonical(labels);
  std::set<uint32_t> used;
  if (cache_ != nullptr) {
    auto idx = index();
    if (!idx) return idx.error();
    if (auto it = idx->lowest.find(key); it != idx->lowest.end()) {
      recent_.erase(key);
      return it->second;
    }
    // Allocated here a moment ago; the cache has not seen it yet.
    if (auto it = recent_.find(key); it != recent_.end()) return it->second;
    used = idx->used;
  } else {
    auto low = lowest_in_store(labels);
    if (!low) return low.error();
    if (*low != 0) return *low;
    auto idx = index();
    if (!idx) return idx.error();
    used = idx->used;
  }
  for (const auto& [k, id] : recent_) used.insert(id);
  Json sec = Json::object();
  for (const auto& [k, v] : labels) sec[k] = v;
  for (int attempt = 0; attempt < 100; ++attempt) {
    const uint32_t candidate = next_free(used, high_water_);
    if (candidate == 0) return Error{"no cluster identities left (all of 256-65535 are in use)"};
    Json obj = {{"apiVersion", "cilium.io/v2"},
                {"kind", "CiliumIdentity"},
                {"metadata",
                 {{"name", std::to_string(candidate)},
                  {"labels",
                   {{"app.kubernetes.io/managed-by", "axon"},
                    {kLabelsHashLabel, labels_hash(labels)}}}}},
                {"security-labels", sec}};
    auto created = store_.create(obj);
    if (!created) return created.error();
    high_water_ = std::max(high_water_, candidate);
    if (!*created) {
      // Another agent took this number: most likely for these very labels.
      auto low = lowest_in_store(labels);
      if (!low) return low.error();
      if (*low != 0) {
        if (cache_ != nullptr) recent_[key] = *low;
        return *low;
      }
      used.insert(candidate);
      continue;
    }
    // Whoever raced us for these labels: the lowest number wins.
    auto low = lowest_in_store(labels);
    if (!low) return low.error();
    const uint32_t id = *low != 0 ? *low : candidate;
    if (cache_ != nullptr) recent_[key] = id;
    return id;
  }
  return Error{"identity allocation for {" + key + "} keeps conflicting; try again"};
}

Result<std::optional<LabelMap>> IdentityStore::labels_of(uint32_t id) {
  std::optional<Json> obj;
  if (cache_ != nullptr) {
    obj = cache_->get("", std::to_string(id));
  } else {
    auto got = store_.get(identity_ref(id));
    if (!got) return got.error();
    obj = std::move(*got);
  }
  if (!obj) return std::optional<LabelMap>();
  return std::optional<LabelMap>(security_labels(*obj));
}

Result<std::map<uint32_t, LabelMap>> IdentityStore::list() {
  auto objects = all_objects();
  if (!objects) return objects.error();
  std::map<uint32_t, LabelMap> out;
  for (const auto& o : *objects) {
    if (const uint32_t id = number_of(o); id != 0) out[id] = security_labels(o);
  }
  return out;
}

Status IdentityStore::release(uint32_t id, const LabelMap& labels) {
  {
    std::lock_guard lock(mu_);
    if (auto it = recent_.find(canonical(labels)); it != recent_.end() && it->second == id)
      recent_.erase(it);
  }
  if (auto r = store_.remove(identity_ref(id)); !r) return r.error();
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

Result<std::vector<uint32_t>> IdentityGarbageCollector::pass(const std::vector<Json>& pods,
                                                             const std::vector<Json>& nss,
                                                             IdentityStore& identities,
                                                             const std::string& cluster,
                                                             Clock::time_point now) {
  auto all = identities.list();
  if (!all) return all.error();
  std::map<std::string, Json> namespaces;
  for (const auto& n : nss) namespaces[member(n, "metadata").value("name", "")] = n;
  std::set<std::string> in_use;
  for (const auto& p : pods) {
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
