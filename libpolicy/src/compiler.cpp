#include "axon/policy/compiler.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

namespace axon::policy {
namespace {

using datapath::PolicyAction;
using datapath::PolicyEntry;

constexpr size_t kDirs = 2;
size_t dir_index(Direction d) { return d == Direction::ingress ? 0 : 1; }

struct PortSpec {
  uint8_t protocol = 0;
  uint16_t lo = 0;
  uint16_t hi = 0;
  L7Kind l7 = L7Kind::none;
};

// Ports of a rule as policy map ranges. ANY with a port: TCP, UDP, SCTP;
// ANY without: everything.
void expand(Protocol proto, uint16_t lo, uint16_t hi, L7Kind l7, std::vector<PortSpec>& out) {
  if (proto == Protocol::any) {
    if (lo == 0) {
      out.push_back(PortSpec{0, 0, 0, l7});
      return;
    }
    for (Protocol p : {Protocol::tcp, Protocol::udp, Protocol::sctp}) {
      out.push_back(PortSpec{static_cast<uint8_t>(p), lo, hi, l7});
    }
    return;
  }
  if (lo == 0) hi = 0;
  out.push_back(PortSpec{static_cast<uint8_t>(proto), lo, hi, l7});
}

void resolve_named(const PortProtocol& p, L7Kind l7, const NamedPorts& named,
                   std::vector<PortSpec>& out) {
  auto it = named.find(p.name);
  if (it == named.end()) return;
  if (p.protocol != Protocol::any && p.protocol != it->second.protocol) return;
  expand(it->second.protocol, it->second.port, it->second.port, l7, out);
}

// Ports of an element that need no name resolution, plus the named ones.
struct ElementPorts {
  std::vector<PortSpec> fixed;
  std::vector<std::pair<const PortProtocol*, L7Kind>> named;
};

ElementPorts element_ports(const PeerRule& el) {
  ElementPorts out;
  if (el.ports.empty() && el.icmps.empty()) {
    out.fixed.push_back(PortSpec{});
    return out;
  }
  for (const auto& f : el.icmps) {
    uint8_t proto = static_cast<uint8_t>(f.family == 6 ? Protocol::icmpv6 : Protocol::icmp);
    out.fixed.push_back(PortSpec{proto, f.type, f.type, L7Kind::none});
  }
  for (const auto& pr : el.ports) {
    L7Kind l7 = l7_kind(pr.rules);
    if (pr.ports.empty()) out.fixed.push_back(PortSpec{0, 0, 0, l7});
    for (const auto& p : pr.ports) {
      if (!p.name.empty()) {
        out.named.emplace_back(&p, l7);
      } else {
        expand(p.protocol, p.port, p.end_port == 0 ? p.port : p.end_port, l7, out.fixed);
      }
    }
  }
  return out;
}

// The datapath's precedence (policy_map.h): deny, then redirect, then allow.
int action_rank(PolicyAction a) {
  switch (a) {
    case PolicyAction::deny:
      return 0;
    case PolicyAction::redirect:
      return 1;
    case PolicyAction::allow:
      return 2;
  }
  return 3;
}

auto entry_key(const PolicyEntry& e) {
  return std::make_tuple(e.direction, e.identity, e.protocol, e.port_lo, e.port_hi);
}

// An entry as a rule produced it, with its sort key packed into two words:
// (direction, identity) then (protocol, port_lo, port_hi, action rank,
// proxy port). Sorting on them orders entries by key, deny first.
struct RawEntry {
  PolicyEntry entry;
  uint32_t origin = 0;
  uint64_t k1 = 0;
  uint64_t k2 = 0;

  RawEntry(const PolicyEntry& e, uint32_t o) : entry(e), origin(o) {
    k1 = (static_cast<uint64_t>(e.direction) << 32) | e.identity;
    k2 = (static_cast<uint64_t>(e.protocol) << 52) | (static_cast<uint64_t>(e.port_lo) << 36) |
         (static_cast<uint64_t>(e.port_hi) << 20) |
         (static_cast<uint64_t>(action_rank(e.action)) << 16) | e.proxy_port;
  }
  // The key part of k2 (without action and proxy port).
  uint64_t key2() const { return k2 >> 20; }
};

bool raw_less(const RawEntry& a, const RawEntry& b) {
  if (a.k1 != b.k1) return a.k1 < b.k1;
  if (a.k2 != b.k2) return a.k2 < b.k2;
  return a.origin < b.origin;
}

// Sorted vector helpers.
void insert_sorted(std::vector<uint32_t>& v, uint32_t x) {
  auto it = std::lower_bound(v.begin(), v.end(), x);
  if (it == v.end() || *it != x) v.insert(it, x);
}
void erase_sorted(std::vector<uint32_t>& v, uint32_t x) {
  auto it = std::lower_bound(v.begin(), v.end(), x);
  if (it != v.end() && *it == x) v.erase(it);
}
bool has_sorted(const std::vector<uint32_t>& v, uint32_t x) {
  return std::binary_search(v.begin(), v.end(), x);
}

}  // namespace

std::vector<RuleOrigin> origins_of(const CompiledPolicy& c, size_t i) {
  std::vector<RuleOrigin> out;
  if (i >= c.provenance.size()) return out;
  for (uint32_t o : c.origin_sets[c.provenance[i]]) out.push_back(c.origins[o]);
  return out;
}

Lookup lookup(const datapath::EndpointPolicy& p, Direction d, uint32_t peer, const Flow& flow) {
  Lookup out;
  std::optional<size_t> deny, allow, redirect;
  const uint8_t proto = static_cast<uint8_t>(flow.protocol);
  for (size_t i = 0; i < p.entries.size(); ++i) {
    const auto& e = p.entries[i];
    if (e.direction != d) continue;
    if (e.identity != 0 && e.identity != peer) continue;
    if (e.protocol != 0 && e.protocol != proto) continue;
    if (!(e.port_lo == 0 && e.port_hi == 0) && (flow.port < e.port_lo || flow.port > e.port_hi)) {
      continue;
    }
    switch (e.action) {
      case PolicyAction::deny:
        if (!deny) deny = i;
        break;
      case PolicyAction::allow:
        if (!allow) allow = i;
        break;
      case PolicyAction::redirect:
        // The smallest proxy port among the matching redirects.
        if (!redirect || e.proxy_port < p.entries[*redirect].proxy_port) redirect = i;
        break;
    }
  }
  const bool enforced = d == Direction::ingress ? p.ingress_enforced : p.egress_enforced;
  if (deny) {
    out.entry = deny;
  } else if (redirect) {
    out.allowed = true;
    out.redirected = true;
    out.proxy_port = p.entries[*redirect].proxy_port;
    out.entry = redirect;
  } else if (allow) {
    out.allowed = true;
    out.entry = allow;
  } else {
    out.allowed = !enforced;
  }
  return out;
}

// ---------------------------------------------------------------------------

struct PolicyEngine::State {
  // A peer set that rules share: an endpoint selector, an entity, a CIDR
  // rule; with the identities it selects, kept current as identities come
  // and go, and the subjects (compiled identities) that use it.
  struct Matcher {
    enum class Kind { selector, entity, cidr } kind = Kind::selector;
    Selector selector;
    Entity entity = Entity::none;
    CidrRule cidr;
    std::vector<uint32_t> ids;  // sorted
    std::unordered_set<uint32_t> users;
    bool live = true;
  };

  // One element of a rule that selects the subject, ready to expand.
  struct Plan {
    const PeerRule* element = nullptr;
    uint32_t origin = 0;
    Direction direction = Direction::ingress;
    bool deny = false;
    bool any = false;  // any peer (subject to requirements for allows)
    std::vector<uint32_t> matchers;
    ElementPorts ports;  // for ingress, named ports already resolved
  };

  // The compiled policy of one identity that local endpoints have.
  struct Subject {
    uint32_t identity = 0;
    std::vector<uint64_t> endpoints;
    std::vector<std::shared_ptr<const Policy>> policies;  // selecting it; kept alive for plans
    std::vector<Plan> plans;
    std::vector<uint32_t> requirements[kDirs];  // matcher ids
    std::vector<uint32_t> used;                 // every matcher used, sorted
    std::map<std::vector<uint32_t>, uint32_t> set_index;
    std::vector<uint32_t> single_set;  // origin -> its one-origin set (+1; 0: none yet)
    CompiledPolicy compiled;
  };

  struct IdRec {
    Identity identity;
    NamedPorts remote_ports;
  };

  CompileOptions options;
  IdentityAllocator* allocator = nullptr;

  std::map<PolicyKey, std::shared_ptr<const Policy>> policies;
  std::unordered_map<uint32_t, IdRec> identities;
  std::unordered_map<std::string, std::vector<uint32_t>> by_label;  // "key=value" -> ids
  std::unordered_map<std::string, std::vector<uint32_t>> by_key;    // "key" -> ids
  std::vector<uint32_t> cidr_ids;  // identities standing for prefixes, plus world
  std::vector<Matcher> matchers;
  std::unordered_map<std::string, uint32_t> matcher_index;
  std::unordered_map<uint32_t, Subject> subjects;
  std::unordered_map<uint64_t, Endpoint> endpoints;
  std::unordered_map<uint32_t, NamedPorts> named;  // merged named ports per identity
  std::map<Prefix, uint32_t> cidr_allocated;       // prefixes we allocated identities for

  // Pending changes.
  std::map<PolicyKey, std::shared_ptr<const Policy>> pending_policies;  // null: removed
  std::map<uint32_t, std::optional<Identity>> pending_identities;
  std::map<uint32_t, NamedPorts> pending_named;
  std::map<uint64_t, std::optional<Endpoint>> pending_endpoints;

  // ---- identities and the label index --------------------------------

  static std::string label_key(const Label& l) { return l.key + "=" + l.value; }

  void index_add(const Identity& id) {
    for (const auto& l : id.labels.labels()) {
      insert_sorted(by_label[label_key(l)], id.id);
      insert_sorted(by_key[l.key], id.id);
    }
    if (cidr_of(id.labels) || id.id == reserved::world || id.id == reserved::world_ipv4 ||
        id.id == reserved::world_ipv6) {
      insert_sorted(cidr_ids, id.id);
    }
  }

  void index_remove(const Identity& id) {
    for (const auto& l : id.labels.labels()) {
      if (auto it = by_label.find(label_key(l)); it != by_label.end()) {
        erase_sorted(it->second, id.id);
        if (it->second.empty()) by_label.erase(it);
      }
      if (auto it = by_key.find(l.key); it != by_key.end()) {
        erase_sorted(it->second, id.id);
        if (it->second.empty()) by_key.erase(it);
      }
    }
    erase_sorted(cidr_ids, id.id);
  }

  const LabelSet& labels_of(uint32_t id) const {
    static const LabelSet kEmpty;
    auto it = identities.find(id);
    return it == identities.end() ? kEmpty : it->second.identity.labels;
  }

  const Identity* identity_of(uint32_t id) const {
    auto it = identities.find(id);
    return it == identities.end() ? nullptr : &it->second.identity;
  }

  void refresh_named(uint32_t id) {
    NamedPorts merged;
    if (auto it = identities.find(id); it != identities.end()) merged = it->second.remote_ports;
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

  const NamedPorts& named_of(uint32_t id) const {
    static const NamedPorts kNone;
    auto it = named.find(id);
    return it == named.end() ? kNone : it->second;
  }

  // ---- matchers ------------------------------------------------------

  bool matcher_matches(const Matcher& m, const Identity& id) const {
    switch (m.kind) {
      case Matcher::Kind::selector:
        return matches(m.selector, id.labels);
      case Matcher::Kind::entity:
        return entity_matches(m.entity, id);
      case Matcher::Kind::cidr:
        return cidr_matches(m.cidr, id);
    }
    return false;
  }

  // Candidate identities for a selector from the label index.
  std::vector<uint32_t> selector_candidates(const Selector& s, bool& all) const {
    all = true;
    const std::vector<uint32_t>* best = nullptr;
    std::vector<uint32_t> best_union;
    size_t best_size = SIZE_MAX;
    for (const auto& r : s.requirements) {
      if (r.op == Operator::exists) {
        auto it = by_key.find(r.key);
        size_t n = it == by_key.end() ? 0 : it->second.size();
        if (n < best_size) {
          best_size = n;
          best = it == by_key.end() ? nullptr : &it->second;
          best_union.clear();
          all = false;
        }
      } else if (r.op == Operator::in) {
        size_t n = 0;
        for (const auto& v : r.values) {
          auto it = by_label.find(r.key + "=" + v);
          if (it != by_label.end()) n += it->second.size();
        }
        if (n < best_size) {
          best_size = n;
          best = nullptr;
          best_union.clear();
          for (const auto& v : r.values) {
            auto it = by_label.find(r.key + "=" + v);
            if (it == by_label.end()) continue;
            std::vector<uint32_t> merged;
            std::set_union(best_union.begin(), best_union.end(), it->second.begin(),
                           it->second.end(), std::back_inserter(merged));
            best_union = std::move(merged);
          }
          all = false;
        }
      }
    }
    if (best != nullptr) return *best;
    return best_union;
  }

  void compute_matcher_ids(Matcher& m) {
    m.ids.clear();
    auto consider = [&](uint32_t id) {
      const Identity* ident = identity_of(id);
      if (ident != nullptr && matcher_matches(m, *ident)) m.ids.push_back(id);
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
    } else if (m.kind == Matcher::Kind::cidr ||
               (m.kind == Matcher::Kind::entity &&
                (m.entity == Entity::world || m.entity == Entity::world_ipv4 ||
                 m.entity == Entity::world_ipv6))) {
      for (uint32_t id : cidr_ids) consider(id);
    } else {
      for (const auto& [id, rec] : identities) consider(id);
      std::sort(m.ids.begin(), m.ids.end());
    }
  }

  uint32_t matcher_for(std::string key, Matcher proto) {
    if (auto it = matcher_index.find(key); it != matcher_index.end()) {
      Matcher& m = matchers[it->second];
      if (!m.live) {
        m.live = true;
        compute_matcher_ids(m);
      }
      return it->second;
    }
    uint32_t idx = static_cast<uint32_t>(matchers.size());
    matchers.push_back(std::move(proto));
    compute_matcher_ids(matchers.back());
    matcher_index.emplace(std::move(key), idx);
    return idx;
  }

  uint32_t selector_matcher(const Selector& s) {
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

  uint32_t entity_matcher(Entity e) {
    Matcher m;
    m.kind = Matcher::Kind::entity;
    m.entity = e;
    return matcher_for("e:" + std::string(entity_name(e)), std::move(m));
  }

  uint32_t cidr_matcher(const CidrRule& c) {
    Matcher m;
    m.kind = Matcher::Kind::cidr;
    m.cidr = c;
    std::string key = "c:" + to_string(c.cidr);
    for (const auto& e : c.except) key += "-" + to_string(e);
    return matcher_for(std::move(key), std::move(m));
  }

  // ---- compiling one subject -----------------------------------------

  uint16_t proxy_port(L7Kind k) const {
    return k == L7Kind::http ? options.http_proxy_port : options.dns_proxy_port;
  }

  PolicyEntry make_entry(const Plan& p, uint32_t peer, const PortSpec& spec) const {
    PolicyEntry e;
    e.direction = p.direction;
    e.identity = peer;
    e.protocol = spec.protocol;
    e.port_lo = spec.lo;
    e.port_hi = spec.hi;
    if (p.deny) {
      e.action = PolicyAction::deny;
    } else if (spec.l7 == L7Kind::none) {
      e.action = PolicyAction::allow;
    } else {
      e.action = PolicyAction::redirect;
      e.proxy_port = proxy_port(spec.l7);
    }
    return e;
  }

  void expand_plan(const Plan& p, uint32_t peer, std::vector<RawEntry>& out) const {
    for (const auto& spec : p.ports.fixed) out.push_back(RawEntry{make_entry(p, peer, spec), p.origin});
    if (p.ports.named.empty()) return;
    // Egress named ports resolve through each destination's ports. (Any
    // peer, identity 0, cannot resolve a name: no entry.)
    if (peer == 0) return;
    std::vector<PortSpec> specs;
    for (const auto& [port, l7] : p.ports.named) resolve_named(*port, l7, named_of(peer), specs);
    for (const auto& spec : specs) out.push_back(RawEntry{make_entry(p, peer, spec), p.origin});
  }

  bool requirements_met(const Subject& s, Direction d, uint32_t peer) const {
    for (uint32_t r : s.requirements[dir_index(d)]) {
      if (!has_sorted(matchers[r].ids, peer)) return false;
    }
    return true;
  }

  // Does plan `p` of subject `s` select peer `id` (already in the matchers)?
  bool plan_selects(const Subject& s, const Plan& p, uint32_t id) const {
    if (p.any) {
      if (p.deny || s.requirements[dir_index(p.direction)].empty()) return false;  // identity 0
      return requirements_met(s, p.direction, id);
    }
    bool l3 = std::any_of(p.matchers.begin(), p.matchers.end(),
                          [&](uint32_t m) { return has_sorted(matchers[m].ids, id); });
    return l3 && (p.deny || requirements_met(s, p.direction, id));
  }

  void plan_peers(const Subject& s, const Plan& p, std::vector<uint32_t>& peers) const {
    peers.clear();
    const auto& reqs = s.requirements[dir_index(p.direction)];
    if (p.any) {
      if (p.deny || reqs.empty()) {
        peers.push_back(0);
        return;
      }
      peers = matchers[reqs.front()].ids;
    } else {
      for (uint32_t m : p.matchers) {
        std::vector<uint32_t> merged;
        const auto& ids = matchers[m].ids;
        std::set_union(peers.begin(), peers.end(), ids.begin(), ids.end(),
                       std::back_inserter(merged));
        peers = std::move(merged);
      }
    }
    if (p.deny || reqs.empty()) return;
    peers.erase(std::remove_if(peers.begin(), peers.end(),
                               [&](uint32_t id) { return !requirements_met(s, p.direction, id); }),
                peers.end());
  }

  uint32_t intern_set(Subject& s, std::vector<uint32_t> set) {
    if (set.size() == 1) {  // the common case, without a map lookup
      uint32_t o = set.front();
      if (s.single_set.size() <= o) s.single_set.resize(o + 1, 0);
      if (s.single_set[o] != 0) return s.single_set[o] - 1;
      uint32_t idx = static_cast<uint32_t>(s.compiled.origin_sets.size());
      s.compiled.origin_sets.push_back(std::move(set));
      s.single_set[o] = idx + 1;
      return idx;
    }
    auto it = s.set_index.find(set);
    if (it != s.set_index.end()) return it->second;
    uint32_t idx = static_cast<uint32_t>(s.compiled.origin_sets.size());
    s.compiled.origin_sets.push_back(set);
    s.set_index.emplace(std::move(set), idx);
    return idx;
  }

  // Merges raw entries (sorted here) into unique keys: deny > redirect >
  // allow, as the datapath decides. A redirect keeps the origins of the
  // L4-only allows of the same key too: they tell the proxy to let every
  // request through (an L4 allow cancels the L7 restriction).
  void merge(Subject& s, std::vector<RawEntry>& raw, std::vector<PolicyEntry>& entries,
             std::vector<uint32_t>& provenance) {
    std::sort(raw.begin(), raw.end(), raw_less);
    for (size_t i = 0; i < raw.size();) {
      size_t j = i;
      std::vector<uint32_t> origins;
      const PolicyEntry& win = raw[i].entry;
      while (j < raw.size() && raw[j].k1 == raw[i].k1 && raw[j].key2() == raw[i].key2()) {
        const PolicyEntry& e = raw[j].entry;
        bool same = e.action == win.action && e.proxy_port == win.proxy_port;
        bool cancels_l7 = win.action == PolicyAction::redirect && e.action == PolicyAction::allow;
        if (same || cancels_l7) insert_sorted(origins, raw[j].origin);
        ++j;
      }
      entries.push_back(win);
      provenance.push_back(intern_set(s, std::move(origins)));
      i = j;
    }
  }

  void unuse(Subject& s) {
    for (uint32_t m : s.used) matchers[m].users.erase(s.identity);
    s.used.clear();
  }

  void compile_subject(Subject& s) {
    unuse(s);
    s.plans.clear();
    s.policies.clear();
    for (auto& r : s.requirements) r.clear();
    s.set_index.clear();
    s.single_set.clear();
    CompiledPolicy& c = s.compiled;
    c = CompiledPolicy{};
    const Identity* self = identity_of(s.identity);
    const Identity subject = self != nullptr ? *self : Identity{s.identity, {}};
    const NamedPorts& own_ports = named_of(s.identity);

    for (const auto& [key, policy] : policies) {
      bool used = false;
      for (const auto& rule : policy->rules) {
        if (!selects(rule, subject)) continue;
        used = true;
        for (Direction d : {Direction::ingress, Direction::egress}) {
          if (!default_deny(rule, d)) continue;
          Section sec = d == Direction::ingress ? Section::ingress : Section::egress;
          c.origins.push_back(RuleOrigin{policy->kind, policy->ns, policy->name, rule.path, sec, -1});
          (d == Direction::ingress ? c.ingress_default_deny_by : c.egress_default_deny_by)
              .push_back(static_cast<uint32_t>(c.origins.size() - 1));
        }
        for (Section sec : {Section::ingress, Section::egress, Section::ingress_deny,
                            Section::egress_deny}) {
          const auto& list = section(rule, sec);
          for (size_t i = 0; i < list.size(); ++i) {
            const PeerRule& el = list[i];
            Plan p;
            p.element = &el;
            p.direction = direction_of(sec);
            p.deny = is_deny(sec);
            c.origins.push_back(RuleOrigin{policy->kind, policy->ns, policy->name, rule.path, sec,
                                           static_cast<int>(i)});
            p.origin = static_cast<uint32_t>(c.origins.size() - 1);
            p.any = el.any_peer ||
                    std::find(el.entities.begin(), el.entities.end(), Entity::all) !=
                        el.entities.end();
            if (!p.any) {
              for (const auto& sel : el.endpoints) p.matchers.push_back(selector_matcher(sel));
              for (const auto& cr : el.cidrs) p.matchers.push_back(cidr_matcher(cr));
              for (auto e : el.entities) p.matchers.push_back(entity_matcher(e));
            }
            for (const auto& req : el.requirements) {
              insert_sorted(s.requirements[dir_index(p.direction)], selector_matcher(req));
            }
            p.ports = element_ports(el);
            if (p.direction == Direction::ingress && !p.ports.named.empty()) {
              // Ingress: the destination is this endpoint; resolve now.
              for (const auto& [port, l7] : p.ports.named) {
                resolve_named(*port, l7, own_ports, p.ports.fixed);
              }
              p.ports.named.clear();
            }
            if (p.any && !p.ports.named.empty()) {
              // Egress to any peer on a named port: the number is each
              // destination's own, so the named part becomes one entry per
              // identity that has the name (kept current through `all`).
              Plan named = p;
              named.any = false;
              named.ports.fixed.clear();
              named.matchers = {entity_matcher(Entity::all)};
              p.ports.named.clear();
              s.plans.push_back(std::move(named));
            }
            s.plans.push_back(std::move(p));
          }
        }
      }
      if (used) s.policies.push_back(policy);
    }
    for (const auto& p : s.plans) {
      for (uint32_t m : p.matchers) insert_sorted(s.used, m);
    }
    for (const auto& reqs : s.requirements) {
      for (uint32_t m : reqs) insert_sorted(s.used, m);
    }
    for (uint32_t m : s.used) matchers[m].users.insert(s.identity);

    c.policy.ingress_enforced = !c.ingress_default_deny_by.empty();
    c.policy.egress_enforced = !c.egress_default_deny_by.empty();
    std::vector<RawEntry> raw;
    std::vector<uint32_t> peers;
    for (const auto& p : s.plans) {
      plan_peers(s, p, peers);
      for (uint32_t peer : peers) expand_plan(p, peer, raw);
    }
    merge(s, raw, c.policy.entries, c.provenance);
  }

  // Removes every entry for these peers and adds the entries the plans
  // give them now, in place (entries stay sorted). Returns (added, removed).
  std::pair<size_t, size_t> update_peers(Subject& s, const std::vector<uint32_t>& removed,
                                         const std::vector<uint32_t>& added) {
    CompiledPolicy& c = s.compiled;
    auto& entries = c.policy.entries;
    auto& provenance = c.provenance;
    size_t n_removed = 0;
    if (!removed.empty()) {
      size_t w = 0;
      for (size_t i = 0; i < entries.size(); ++i) {
        if (has_sorted(removed, entries[i].identity)) continue;
        entries[w] = entries[i];
        provenance[w] = provenance[i];
        ++w;
      }
      n_removed = entries.size() - w;
      entries.resize(w);
      provenance.resize(w);
    }
    std::vector<RawEntry> raw;
    for (uint32_t id : added) {
      for (const auto& p : s.plans) {
        if (plan_selects(s, p, id)) expand_plan(p, id, raw);
      }
    }
    std::vector<PolicyEntry> fresh;
    std::vector<uint32_t> fresh_prov;
    merge(s, raw, fresh, fresh_prov);
    // The new entries' identities are new to the list: insert each where
    // its key sorts.
    for (size_t b = 0; b < fresh.size(); ++b) {
      auto pos = std::lower_bound(entries.begin(), entries.end(), fresh[b],
                                  [](const PolicyEntry& x, const PolicyEntry& y) {
                                    return entry_key(x) < entry_key(y);
                                  });
      auto at = pos - entries.begin();
      entries.insert(pos, fresh[b]);
      provenance.insert(provenance.begin() + at, fresh_prov[b]);
    }
    return {fresh.size(), n_removed};
  }

  // ---- commit --------------------------------------------------------

  static size_t old_endpoints(const Subject& s, const std::unordered_set<uint64_t>& joined) {
    return static_cast<size_t>(std::count_if(s.endpoints.begin(), s.endpoints.end(),
                                             [&](uint64_t e) { return joined.count(e) == 0; }));
  }

  std::set<Prefix> wanted_prefixes() const {
    std::set<Prefix> out;
    for (const auto& [k, p] : policies) {
      for (const auto& r : p->rules) {
        for (Section s : {Section::ingress, Section::egress, Section::ingress_deny,
                          Section::egress_deny}) {
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

  void sync_cidr_identities() {
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

  UpdateStats commit() {
    UpdateStats stats;
    std::unordered_set<uint32_t> dirty;
    std::set<uint32_t> peer_changed;  // named ports changed: redo their peer entries

    // 1. Policies: every subject the old or the new version selects.
    for (auto& [key, next] : pending_policies) {
      auto cur = policies.find(key);
      if (cur != policies.end()) {
        for (auto& [id, s] : subjects) {
          if (std::find(s.policies.begin(), s.policies.end(), cur->second) != s.policies.end()) {
            dirty.insert(id);
          }
        }
        policies.erase(cur);
      }
      if (next) {
        for (auto& [id, s] : subjects) {
          const Identity* ident = identity_of(id);
          Identity subject = ident != nullptr ? *ident : Identity{id, {}};
          for (const auto& r : next->rules) {
            if (selects(r, subject)) {
              dirty.insert(id);
              break;
            }
          }
        }
        policies[key] = next;
      }
    }
    if (!pending_policies.empty()) sync_cidr_identities();
    pending_policies.clear();

    // 2. Endpoints. One that appears (or changes identity) gets its whole
    // map written at the end; one that goes has its map deleted.
    std::set<uint32_t> subjects_gone;
    std::unordered_set<uint64_t> joined;
    for (auto& [ep_id, next] : pending_endpoints) {
      auto cur = endpoints.find(ep_id);
      bool same_identity = false;
      if (cur != endpoints.end()) {
        uint32_t old_identity = cur->second.identity;
        same_identity = next && next->identity == old_identity;
        if (!cur->second.named_ports.empty() &&
            (!next || !same_identity || next->named_ports != cur->second.named_ports)) {
          peer_changed.insert(old_identity);
          dirty.insert(old_identity);
        }
        if (auto it = subjects.find(old_identity); it != subjects.end()) {
          if (!same_identity) {
            stats.entries_removed += it->second.compiled.policy.entries.size();
            ++stats.endpoints_updated;
          }
          auto& eps = it->second.endpoints;
          eps.erase(std::remove(eps.begin(), eps.end(), ep_id), eps.end());
          if (eps.empty()) subjects_gone.insert(old_identity);
        }
        endpoints.erase(cur);
      }
      if (next) {
        bool ports_changed = !next->named_ports.empty() &&
                             (cur == endpoints.end() || !same_identity);
        endpoints[ep_id] = *next;
        auto [it, created] = subjects.try_emplace(next->identity);
        it->second.identity = next->identity;
        it->second.endpoints.push_back(ep_id);
        subjects_gone.erase(next->identity);
        if (created) dirty.insert(next->identity);
        if (!same_identity) joined.insert(ep_id);
        if (ports_changed) {
          peer_changed.insert(next->identity);
          dirty.insert(next->identity);
        }
      }
    }
    pending_endpoints.clear();
    for (uint32_t id : subjects_gone) {
      auto it = subjects.find(id);
      if (it == subjects.end() || !it->second.endpoints.empty()) continue;
      unuse(it->second);
      subjects.erase(it);
      dirty.erase(id);
    }

    // 3. Named ports of remote pods.
    for (auto& [id, ports] : pending_named) {
      if (auto it = identities.find(id); it != identities.end()) {
        if (it->second.remote_ports == ports) continue;
        it->second.remote_ports = std::move(ports);
      } else {
        identities[id] = IdRec{Identity{id, {}}, std::move(ports)};
      }
      peer_changed.insert(id);
      if (subjects.count(id) != 0) dirty.insert(id);
    }
    pending_named.clear();
    for (uint32_t id : peer_changed) refresh_named(id);

    // 4. Identities: update matchers, collect the subjects each touches.
    std::unordered_map<uint32_t, std::pair<std::vector<uint32_t>, std::vector<uint32_t>>> delta;
    auto touch_users = [&](uint32_t id, bool add_side, bool remove_side) {
      for (auto& m : matchers) {
        if (!m.live || !has_sorted(m.ids, id)) continue;
        for (uint32_t user : m.users) {
          if (remove_side) insert_sorted(delta[user].first, id);
          if (add_side) insert_sorted(delta[user].second, id);
        }
      }
    };
    for (auto& [id, next] : pending_identities) {
      auto cur = identities.find(id);
      bool known = cur != identities.end();
      if (known && next && cur->second.identity.labels == next->labels) continue;
      if (known) {
        // Gone or relabelled: drop it from every peer set first.
        touch_users(id, false, true);
        for (auto& m : matchers) erase_sorted(m.ids, id);
        index_remove(cur->second.identity);
        if (subjects.count(id) != 0) dirty.insert(id);
        if (!next) {
          identities.erase(cur);
          named.erase(id);
          continue;
        }
      }
      if (!next) continue;
      IdRec& rec = identities[id];
      rec.identity = *next;
      index_add(rec.identity);
      for (auto& m : matchers) {
        if (!m.live || !matcher_matches(m, rec.identity)) continue;
        insert_sorted(m.ids, id);
        for (uint32_t user : m.users) insert_sorted(delta[user].second, id);
      }
      if (subjects.count(id) != 0) dirty.insert(id);
    }
    pending_identities.clear();
    for (uint32_t id : peer_changed) touch_users(id, true, true);

    // 5. Peer deltas for subjects not recompiled anyway.
    for (auto& [sid, d] : delta) {
      if (dirty.count(sid) != 0) continue;
      auto it = subjects.find(sid);
      if (it == subjects.end()) continue;
      auto [added, removed] = update_peers(it->second, d.first, d.second);
      if (added + removed == 0) continue;
      size_t n = old_endpoints(it->second, joined);
      stats.entries_added += added * n;
      stats.entries_removed += removed * n;
      stats.endpoints_updated += n;
    }

    // 6. Full recompiles.
    for (uint32_t sid : dirty) {
      auto it = subjects.find(sid);
      if (it == subjects.end()) continue;
      Subject& s = it->second;
      std::vector<PolicyEntry> before = s.compiled.policy.entries;
      bool enforced_before[2] = {s.compiled.policy.ingress_enforced,
                                 s.compiled.policy.egress_enforced};
      compile_subject(s);
      ++stats.policies_compiled;
      const auto& after = s.compiled.policy.entries;
      auto less = [](const PolicyEntry& a, const PolicyEntry& b) {
        return std::make_tuple(entry_key(a), a.action, a.proxy_port) <
               std::make_tuple(entry_key(b), b.action, b.proxy_port);
      };
      std::vector<PolicyEntry> only_before, only_after;
      std::set_difference(before.begin(), before.end(), after.begin(), after.end(),
                          std::back_inserter(only_before), less);
      std::set_difference(after.begin(), after.end(), before.begin(), before.end(),
                          std::back_inserter(only_after), less);
      size_t n = old_endpoints(s, joined);
      stats.entries_added += only_after.size() * n;
      stats.entries_removed += only_before.size() * n;
      if (!only_before.empty() || !only_after.empty() ||
          enforced_before[0] != s.compiled.policy.ingress_enforced ||
          enforced_before[1] != s.compiled.policy.egress_enforced) {
        stats.endpoints_updated += n;
      }
    }

    for (uint64_t ep : joined) {
      auto e = endpoints.find(ep);
      if (e == endpoints.end()) continue;
      auto it = subjects.find(e->second.identity);
      if (it == subjects.end()) continue;
      stats.entries_added += it->second.compiled.policy.entries.size();
      ++stats.endpoints_updated;
    }

    // 7. Matchers nobody uses any more.
    for (auto& m : matchers) {
      if (m.live && m.users.empty()) {
        m.live = false;
        m.ids.clear();
        m.ids.shrink_to_fit();
      }
    }
    return stats;
  }
};

PolicyEngine::PolicyEngine(CompileOptions options, IdentityAllocator* allocator)
    : s_(std::make_unique<State>()) {
  s_->options = options;
  s_->allocator = allocator;
  for (const auto& id : reserved_identities()) {
    s_->identities[id.id] = State::IdRec{id, {}};
    s_->index_add(id);
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

void PolicyEngine::remove_endpoint(uint64_t id) { s_->pending_endpoints[id] = std::nullopt; }

UpdateStats PolicyEngine::commit() { return s_->commit(); }

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

size_t PolicyEngine::identity_count() const { return s_->identities.size(); }

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
