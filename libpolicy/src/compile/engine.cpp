// PolicyEngine: the changes it records and how commit() applies them,
// compiling each subject again only when it must (subject.cpp compiles).
#include <algorithm>
#include <iterator>
#include <tuple>

#include "compile/engine_state.h"
#include "compile/sorted_ids.h"

namespace axon::policy {
namespace {

using datapath::PolicyEntry;

// How many entries a recompile removed and added: those only in `before`
// and those only in `after` (both sorted by key).
std::pair<size_t, size_t> entry_changes(const std::vector<PolicyEntry>& before,
                                        const std::vector<PolicyEntry>& after) {
  auto less = [](const PolicyEntry& a, const PolicyEntry& b) {
    return std::make_tuple(internal::entry_key(a), a.action, a.proxy_port) <
           std::make_tuple(internal::entry_key(b), b.action, b.proxy_port);
  };
  std::vector<PolicyEntry> only_before, only_after;
  std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                      std::back_inserter(only_before), less);
  std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                      std::back_inserter(only_after), less);
  return {only_before.size(), only_after.size()};
}

}  // namespace

using internal::erase_sorted;
using internal::has_sorted;
using internal::insert_sorted;

// ---- named ports and CIDR identities ----------------------------------

void PolicyEngine::State::refresh_named(uint32_t id) {
  NamedPorts merged;
  if (auto it = peers.identities.find(id); it != peers.identities.end()) {
    merged = it->second.remote_ports;
  }
  if (auto it = subjects.find(id); it != subjects.end()) {
    for (uint64_t ep : it->second.endpoints) {
      for (const auto& [k, v] : endpoints.at(ep).named_ports) merged[k] = v;
    }
  }
  if (merged.empty()) {
    named.erase(id);
  } else {
    named[id] = std::move(merged);
  }
}

std::set<Prefix> PolicyEngine::State::wanted_prefixes() const {
  std::set<Prefix> out;
  for (const auto& [k, p] : policies) {
    for (const auto& r : p->rules) {
      for (Section s :
           {Section::ingress, Section::egress, Section::ingress_deny, Section::egress_deny}) {
        for (const auto& el : section(r, s)) {
          for (const auto& c : el.cidrs) {
            out.insert(c.cidr);
            for (const auto& e : c.except) out.insert(e);
          }
        }
      }
    }
  }
  return out;
}

// Allocates identities for the prefixes the policies name now and releases
// those of the prefixes they no longer name; both take effect as identity
// changes of this commit.
void PolicyEngine::State::sync_cidr_identities() {
  if (allocator == nullptr) return;
  auto wanted = wanted_prefixes();
  for (const auto& p : wanted) {
    if (cidr_allocated.count(p) != 0) continue;
    auto id = allocator->allocate(cidr_labels(p));
    if (!id) continue;  // exhausted: the prefix stays world
    cidr_allocated[p] = id->id;
    pending_identities[id->id] = *id;
  }
  for (auto it = cidr_allocated.begin(); it != cidr_allocated.end();) {
    if (wanted.count(it->first) != 0) {
      ++it;
      continue;
    }
    (void)allocator->release(it->second);
    pending_identities[it->second] = std::nullopt;
    it = cidr_allocated.erase(it);
  }
}

// ---- commit -----------------------------------------------------------

size_t PolicyEngine::State::old_endpoints(const Subject& s,
                                          const std::unordered_set<uint64_t>& joined) {
  return static_cast<size_t>(std::count_if(s.endpoints.begin(), s.endpoints.end(),
                                           [&](uint64_t e) { return joined.count(e) == 0; }));
}

UpdateStats PolicyEngine::State::commit() {
  Changes c;
  apply_policies(c);
  apply_endpoints(c);
  apply_named_ports(c);
  apply_identities(c);
  apply_peer_deltas(c);
  recompile_dirty(c);
  count_joined(c);
  peers.retire_unused();
  return c.stats;
}

// 1. Policies: every subject the old or the new version selects is dirty.
void PolicyEngine::State::apply_policies(Changes& c) {
  for (auto& [key, next] : pending_policies) {
    auto cur = policies.find(key);
    if (cur != policies.end()) {
      for (auto& [id, s] : subjects) {
        if (std::find(s.policies.begin(), s.policies.end(), cur->second) != s.policies.end()) {
          c.dirty.insert(id);
        }
      }
      policies.erase(cur);
    }
    if (next) {
      for (auto& [id, s] : subjects) {
        Identity subject = peers.identity_or_bare(id);
        for (const auto& r : next->rules) {
          if (selects(r, subject)) {
            c.dirty.insert(id);
            break;
          }
        }
      }
      policies[key] = next;
    }
  }
  if (!pending_policies.empty()) sync_cidr_identities();
  pending_policies.clear();
}

// 2. Endpoints. One that appears (or changes identity) gets its whole map
// written at the end; one that goes has its map deleted. A subject no
// endpoint has any more goes.
void PolicyEngine::State::apply_endpoints(Changes& c) {
  std::set<uint32_t> subjects_gone;
  for (auto& [ep_id, next] : pending_endpoints) {
    auto cur = endpoints.find(ep_id);
    const bool existed = cur != endpoints.end();
    bool same_identity = false;
    if (existed) {
      uint32_t old_identity = cur->second.identity;
      same_identity = next && next->identity == old_identity;
      if (!cur->second.named_ports.empty() &&
          (!next || !same_identity || next->named_ports != cur->second.named_ports)) {
        c.peer_changed.insert(old_identity);
        c.dirty.insert(old_identity);
      }
      if (auto it = subjects.find(old_identity); it != subjects.end()) {
        if (!same_identity) {
          c.stats.entries_removed += it->second.compiled.policy.entries.size();
          ++c.stats.endpoints_updated;
        }
        auto& eps = it->second.endpoints;
        eps.erase(std::remove(eps.begin(), eps.end(), ep_id), eps.end());
        if (eps.empty()) subjects_gone.insert(old_identity);
      }
      endpoints.erase(cur);
    }
    if (next) {
      bool ports_changed = !next->named_ports.empty() && (!existed || !same_identity);
      endpoints[ep_id] = *next;
      auto [it, created] = subjects.try_emplace(next->identity);
      it->second.identity = next->identity;
      it->second.endpoints.push_back(ep_id);
      subjects_gone.erase(next->identity);
      if (created) c.dirty.insert(next->identity);
      if (!same_identity) c.joined.insert(ep_id);
      if (ports_changed) {
        c.peer_changed.insert(next->identity);
        c.dirty.insert(next->identity);
      }
    }
  }
  pending_endpoints.clear();
  for (uint32_t id : subjects_gone) {
    auto it = subjects.find(id);
    if (it == subjects.end() || !it->second.endpoints.empty()) continue;
    unuse(it->second);
    subjects.erase(it);
    c.dirty.erase(id);
  }
}

// 3. Named ports of remote pods.
void PolicyEngine::State::apply_named_ports(Changes& c) {
  for (auto& [id, ports] : pending_named) {
    if (auto it = peers.identities.find(id); it != peers.identities.end()) {
      if (it->second.remote_ports == ports) continue;
      it->second.remote_ports = std::move(ports);
    } else {
      peers.identities[id] = internal::PeerSets::IdRec{Identity{id, {}}, std::move(ports)};
    }
    c.peer_changed.insert(id);
    if (subjects.count(id) != 0) c.dirty.insert(id);
  }
  pending_named.clear();
  for (uint32_t id : c.peer_changed) refresh_named(id);
}

// 4. Identities: update the matchers, and collect per subject the peers
// whose entries go and those whose entries are computed again.
void PolicyEngine::State::apply_identities(Changes& c) {
  auto& matchers = peers.matchers;
  auto touch_users = [&](uint32_t id, bool add_side, bool remove_side) {
    for (auto& m : matchers) {
      if (!m.live || !has_sorted(m.ids, id)) continue;
      for (uint32_t user : m.users) {
        if (remove_side) insert_sorted(c.delta[user].first, id);
        if (add_side) insert_sorted(c.delta[user].second, id);
      }
    }
  };
  for (auto& [id, next] : pending_identities) {
    auto cur = peers.identities.find(id);
    bool known = cur != peers.identities.end();
    if (known && next && cur->second.identity.labels == next->labels) continue;
    if (known) {
      // Gone or relabelled: drop it from every peer set first.
      touch_users(id, false, true);
      for (auto& m : matchers) erase_sorted(m.ids, id);
      peers.index_remove(cur->second.identity);
      if (subjects.count(id) != 0) c.dirty.insert(id);
      if (!next) {
        peers.identities.erase(cur);
        named.erase(id);
        continue;
      }
    }
    if (!next) continue;
    auto& rec = peers.identities[id];
    rec.identity = *next;
    peers.index_add(rec.identity);
    for (auto& m : matchers) {
      if (!m.live || !m.selects(rec.identity)) continue;
      insert_sorted(m.ids, id);
      for (uint32_t user : m.users) insert_sorted(c.delta[user].second, id);
    }
    if (subjects.count(id) != 0) c.dirty.insert(id);
  }
  pending_identities.clear();
  for (uint32_t id : c.peer_changed) touch_users(id, true, true);
}

// 5. Peer deltas, for the subjects not compiled from scratch anyway.
void PolicyEngine::State::apply_peer_deltas(Changes& c) {
  for (auto& [sid, d] : c.delta) {
    if (c.dirty.count(sid) != 0) continue;
    auto it = subjects.find(sid);
    if (it == subjects.end()) continue;
    auto [added, removed] = update_peers(it->second, d.first, d.second);
    if (added + removed == 0) continue;
    size_t n = old_endpoints(it->second, c.joined);
    c.stats.entries_added += added * n;
    c.stats.entries_removed += removed * n;
    c.stats.endpoints_updated += n;
  }
}

// 6. Subjects compiled from scratch; their existing endpoints' maps get
// what differs.
void PolicyEngine::State::recompile_dirty(Changes& c) {
  for (uint32_t sid : c.dirty) {
    auto it = subjects.find(sid);
    if (it == subjects.end()) continue;
    Subject& s = it->second;
    std::vector<PolicyEntry> before = s.compiled.policy.entries;
    bool enforced_before[2] = {s.compiled.policy.ingress_enforced,
                               s.compiled.policy.egress_enforced};
    compile_subject(s);
    ++c.stats.policies_compiled;
    auto [removed, added] = entry_changes(before, s.compiled.policy.entries);
    size_t n = old_endpoints(s, c.joined);
    c.stats.entries_added += added * n;
    c.stats.entries_removed += removed * n;
    if (removed != 0 || added != 0 || enforced_before[0] != s.compiled.policy.ingress_enforced ||
        enforced_before[1] != s.compiled.policy.egress_enforced) {
      c.stats.endpoints_updated += n;
    }
  }
}

// 7. Endpoints that joined get their whole map written.
void PolicyEngine::State::count_joined(Changes& c) {
  for (uint64_t ep : c.joined) {
    auto e = endpoints.find(ep);
    if (e == endpoints.end()) continue;
    auto it = subjects.find(e->second.identity);
    if (it == subjects.end()) continue;
    c.stats.entries_added += it->second.compiled.policy.entries.size();
    ++c.stats.endpoints_updated;
  }
}

// ---- the public face --------------------------------------------------

PolicyEngine::PolicyEngine(CompileOptions options, IdentityAllocator* allocator)
    : s_(std::make_unique<State>()) {
  s_->options = options;
  s_->allocator = allocator;
  for (const auto& id : reserved_identities()) {
    s_->peers.identities[id.id] = internal::PeerSets::IdRec{id, {}};
    s_->peers.index_add(id);
  }
}

PolicyEngine::~PolicyEngine() = default;

void PolicyEngine::upsert_policy(Policy policy) {
  PolicyKey key = key_of(policy);
  s_->pending_policies[key] = std::make_shared<const Policy>(std::move(policy));
}

bool PolicyEngine::remove_policy(const PolicyKey& key) {
  bool known = s_->policies.count(key) != 0 || s_->pending_policies.count(key) != 0;
  s_->pending_policies[key] = nullptr;
  return known;
}

void PolicyEngine::upsert_identity(const Identity& identity) {
  if (is_reserved(identity.id)) return;
  s_->pending_identities[identity.id] = identity;
}

void PolicyEngine::remove_identity(uint32_t id) {
  if (is_reserved(id)) return;
  s_->pending_identities[id] = std::nullopt;
}

void PolicyEngine::set_named_ports(uint32_t identity, NamedPorts ports) {
  s_->pending_named[identity] = std::move(ports);
}

void PolicyEngine::upsert_endpoint(const Endpoint& endpoint) {
  s_->pending_endpoints[endpoint.id] = endpoint;
}

void PolicyEngine::remove_endpoint(uint64_t id) {
  s_->pending_endpoints[id] = std::nullopt;
}

UpdateStats PolicyEngine::commit() {
  return s_->commit();
}

const CompiledPolicy* PolicyEngine::endpoint_policy(uint64_t endpoint_id) const {
  auto ep = s_->endpoints.find(endpoint_id);
  if (ep == s_->endpoints.end()) return nullptr;
  auto it = s_->subjects.find(ep->second.identity);
  return it == s_->subjects.end() ? nullptr : &it->second.compiled;
}

std::vector<Prefix> PolicyEngine::cidr_prefixes() const {
  auto set = s_->wanted_prefixes();
  return {set.begin(), set.end()};
}

std::vector<std::shared_ptr<const Policy>> PolicyEngine::policies() const {
  std::vector<std::shared_ptr<const Policy>> out;
  for (const auto& [k, p] : s_->policies) out.push_back(p);
  return out;
}

size_t PolicyEngine::identity_count() const {
  return s_->peers.identities.size();
}

// The engine with one endpoint: the one-shot compile shares every step
// with the agent's incremental one.
CompiledPolicy compile(const std::vector<Policy>& policies, const Identity& subject,
                       const NamedPorts& subject_ports, const std::vector<Identity>& identities,
                       const CompileOptions& options) {
  PolicyEngine engine(options);
  for (const auto& p : policies) engine.upsert_policy(p);
  for (const auto& id : identities) engine.upsert_identity(id);
  engine.upsert_identity(subject);
  engine.upsert_endpoint(Endpoint{1, subject.id, subject_ports});
  (void)engine.commit();
  const CompiledPolicy* c = engine.endpoint_policy(1);
  return c != nullptr ? *c : CompiledPolicy{};
}

}  // namespace axon::policy
