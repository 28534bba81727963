#include "compile/matchers.h"

#include <algorithm>
#include <cstdint>
#include <iterator>

#include "compile/sorted_ids.h"

namespace axon::policy::internal {
namespace {

std::string label_key(const Label& l) {
  return l.key + "=" + l.value;
}

}  // namespace

void PeerSets::index_add(const Identity& id) {
  for (const auto& l : id.labels.labels()) {
    insert_sorted(by_label_[label_key(l)], id.id);
    insert_sorted(by_key_[l.key], id.id);
  }
  if (cidr_of(id.labels) || id.id == reserved::world || id.id == reserved::world_ipv4 ||
      id.id == reserved::world_ipv6) {
    insert_sorted(cidr_ids_, id.id);
  }
}

void PeerSets::index_remove(const Identity& id) {
  for (const auto& l : id.labels.labels()) {
    if (auto it = by_label_.find(label_key(l)); it != by_label_.end()) {
      erase_sorted(it->second, id.id);
      if (it->second.empty()) by_label_.erase(it);
    }
    if (auto it = by_key_.find(l.key); it != by_key_.end()) {
      erase_sorted(it->second, id.id);
      if (it->second.empty()) by_key_.erase(it);
    }
  }
  erase_sorted(cidr_ids_, id.id);
}

// Candidate identities for a selector from the label index: those of its
// most selective `exists` or `in` requirement; `all` when it has neither.
std::vector<uint32_t> PeerSets::selector_candidates(const Selector& s, bool& all) const {
  all = true;
  const std::vector<uint32_t>* best = nullptr;
  std::vector<uint32_t> best_union;
  size_t best_size = SIZE_MAX;
  for (const auto& r : s.requirements) {
    if (r.op == Operator::exists) {
      auto it = by_key_.find(r.key);
      size_t n = it == by_key_.end() ? 0 : it->second.size();
      if (n < best_size) {
        best_size = n;
        best = it == by_key_.end() ? nullptr : &it->second;
        best_union.clear();
        all = false;
      }
    } else if (r.op == Operator::in) {
      size_t n = 0;
      for (const auto& v : r.values) {
        auto it = by_label_.find(r.key + "=" + v);
        if (it != by_label_.end()) n += it->second.size();
      }
      if (n < best_size) {
        best_size = n;
        best = nullptr;
        best_union.clear();
        for (const auto& v : r.values) {
          auto it = by_label_.find(r.key + "=" + v);
          if (it == by_label_.end()) continue;
          std::vector<uint32_t> merged;
          std::set_union(best_union.begin(), best_union.end(), it->second.begin(), it->second.end(),
                         std::back_inserter(merged));
          best_union = std::move(merged);
        }
        all = false;
      }
    }
  }
  if (best != nullptr) return *best;
  return best_union;
}

void PeerSets::compute_ids(Matcher& m) {
  m.ids.clear();
  auto consider = [&](uint32_t id) {
    const Identity* ident = identity_of(id);
    if (ident != nullptr && m.selects(*ident)) m.ids.push_back(id);
  };
  if (m.kind == Matcher::Kind::selector) {
    bool all = false;
    auto cands = selector_candidates(m.selector, all);
    if (all) {
      for (const auto& [id, rec] : identities) consider(id);
      std::sort(m.ids.begin(), m.ids.end());
    } else {
      for (uint32_t id : cands) consider(id);
    }
  } else if (m.kind == Matcher::Kind::cidr || m.kind == Matcher::Kind::fqdn ||
             (m.kind == Matcher::Kind::entity &&
              (m.entity == Entity::world || m.entity == Entity::world_ipv4 ||
               m.entity == Entity::world_ipv6))) {
    for (uint32_t id : cidr_ids_) consider(id);
  } else {
    for (const auto& [id, rec] : identities) consider(id);
    std::sort(m.ids.begin(), m.ids.end());
  }
}

uint32_t PeerSets::matcher_for(std::string key, Matcher proto) {
  if (auto it = matcher_index_.find(key); it != matcher_index_.end()) {
    Matcher& m = matchers[it->second];
    if (!m.live) {
      m.live = true;
      compute_ids(m);
    }
    return it->second;
  }
  uint32_t idx = static_cast<uint32_t>(matchers.size());
  matchers.push_back(std::move(proto));
  compute_ids(matchers.back());
  matcher_index_.emplace(std::move(key), idx);
  return idx;
}

uint32_t PeerSets::selector_matcher(const Selector& s) {
  Matcher m;
  m.kind = Matcher::Kind::selector;
  m.selector = s;
  std::string key = "s:";
  for (const auto& r : s.requirements) {
    key += r.source + "\x1f" + r.key + "\x1f" + std::to_string(static_cast<int>(r.op));
    for (const auto& v : r.values) key += "\x1f" + v;
    key += "\x1e";
  }
  return matcher_for(std::move(key), std::move(m));
}

uint32_t PeerSets::entity_matcher(Entity e) {
  Matcher m;
  m.kind = Matcher::Kind::entity;
  m.entity = e;
  return matcher_for("e:" + std::string(entity_name(e)), std::move(m));
}

uint32_t PeerSets::cidr_matcher(const CidrRule& c) {
  Matcher m;
  m.kind = Matcher::Kind::cidr;
  m.cidr = c;
  std::string key = "c:" + to_string(c.cidr);
  for (const auto& e : c.except) key += "-" + to_string(e);
  return matcher_for(std::move(key), std::move(m));
}

// Learned addresses' identities are CIDR identities with fqdn labels.
uint32_t PeerSets::fqdn_matcher(const FqdnSelector& f) {
  Matcher m;
  m.kind = Matcher::Kind::fqdn;
  m.fqdn = f;
  return matcher_for("f:" + fqdn_label_key(f), std::move(m));
}

void PeerSets::retire_unused() {
  for (auto& m : matchers) {
    if (m.live && m.users.empty()) {
      m.live = false;
      m.ids.clear();
      m.ids.shrink_to_fit();
    }
  }
}

}  // namespace axon::policy::internal
