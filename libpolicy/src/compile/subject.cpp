// Compiling one subject: the plans of the rule elements that select it,
// the peers each plan selects now, and the entries they give; and the
// incremental form, for peers that come, go or change.
#include <algorithm>
#include <iterator>

#include "compile/engine_state.h"
#include "compile/sorted_ids.h"

namespace axon::policy {

using datapath::PolicyEntry;
using internal::has_sorted;
using internal::insert_sorted;
using internal::RawEntry;

void PolicyEngine::State::unuse(Subject& s) {
  for (uint32_t m : s.used) peers.matchers[m].users.erase(s.identity);
  s.used.clear();
}

void PolicyEngine::State::reset(Subject& s) {
  unuse(s);
  s.plans.clear();
  s.policies.clear();
  for (auto& r : s.requirements) r.clear();
  s.set_index.clear();
  s.compiled = CompiledPolicy{};
}

// The default deny a rule puts the subject into, and the plans of its
// elements, each with the origin its entries will name.
void PolicyEngine::State::add_rule(Subject& s, const Policy& policy, const Rule& rule,
                                   const NamedPorts& own_ports) {
  CompiledPolicy& c = s.compiled;
  auto add_origin = [&](Section sec, int element) {
    c.origins.push_back(RuleOrigin{policy.kind, policy.ns, policy.name, rule.path, sec, element});
    return static_cast<uint32_t>(c.origins.size() - 1);
  };
  for (Direction d : {Direction::ingress, Direction::egress}) {
    if (!default_deny(rule, d)) continue;
    Section sec = d == Direction::ingress ? Section::ingress : Section::egress;
    (d == Direction::ingress ? c.ingress_default_deny_by : c.egress_default_deny_by)
        .push_back(add_origin(sec, -1));
  }
  for (Section sec :
       {Section::ingress, Section::egress, Section::ingress_deny, Section::egress_deny}) {
    const auto& list = section(rule, sec);
    for (size_t i = 0; i < list.size(); ++i) {
      add_plans(s, list[i], sec, add_origin(sec, static_cast<int>(i)), own_ports);
    }
  }
}

// The plan of one element (two for egress to any peer on a named port):
// its peer sets as matchers, its requirements, its ports.
void PolicyEngine::State::add_plans(Subject& s, const PeerRule& el, Section sec, uint32_t origin,
                                    const NamedPorts& own_ports) {
  Plan p;
  p.element = &el;
  p.direction = direction_of(sec);
  p.deny = is_deny(sec);
  p.origin = origin;
  p.any = el.any_peer ||
          std::find(el.entities.begin(), el.entities.end(), Entity::all) != el.entities.end();
  if (!p.any) {
    for (const auto& sel : el.endpoints) p.matchers.push_back(peers.selector_matcher(sel));
    for (const auto& cr : el.cidrs) p.matchers.push_back(peers.cidr_matcher(cr));
    for (auto e : el.entities) p.matchers.push_back(peers.entity_matcher(e));
    for (const auto& f : el.fqdns) p.matchers.push_back(peers.fqdn_matcher(f));
  }
  for (const auto& req : el.requirements) {
    insert_sorted(s.requirements[dir_index(p.direction)], peers.selector_matcher(req));
  }
  p.ports = internal::element_ports(el);
  if (p.direction == Direction::ingress && !p.ports.named.empty()) {
    // Ingress: the destination is this endpoint; resolve now.
    for (const auto& [port, l7] : p.ports.named) {
      internal::resolve_named(*port, l7, own_ports, p.ports.fixed);
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
    named.matchers = {peers.entity_matcher(Entity::all)};
    p.ports.named.clear();
    s.plans.push_back(std::move(named));
  }
  s.plans.push_back(std::move(p));
}

// Registers the subject as a user of every matcher its plans and
// requirements name, so that identity changes reach it.
void PolicyEngine::State::use_matchers(Subject& s) {
  for (const auto& p : s.plans) {
    for (uint32_t m : p.matchers) insert_sorted(s.used, m);
  }
  for (const auto& reqs : s.requirements) {
    for (uint32_t m : reqs) insert_sorted(s.used, m);
  }
  for (uint32_t m : s.used) peers.matchers[m].users.insert(s.identity);
}

void PolicyEngine::State::compile_subject(Subject& s) {
  reset(s);
  const Identity subject = peers.identity_or_bare(s.identity);
  const NamedPorts& own_ports = named_of(s.identity);
  for (const auto& [key, policy] : policies) {
    bool used = false;
    for (const auto& rule : policy->rules) {
      if (!selects(rule, subject)) continue;
      used = true;
      add_rule(s, *policy, rule, own_ports);
    }
    if (used) s.policies.push_back(policy);
  }
  use_matchers(s);

  CompiledPolicy& c = s.compiled;
  c.policy.ingress_enforced = !c.ingress_default_deny_by.empty();
  c.policy.egress_enforced = !c.egress_default_deny_by.empty();
  std::vector<RawEntry> raw;
  std::vector<uint32_t> ids;
  for (const auto& p : s.plans) {
    plan_peers(s, p, ids);
    for (uint32_t peer : ids) expand_plan(p, peer, raw);
  }
  merge(s, raw, c.policy.entries, c.provenance);
}

void PolicyEngine::State::expand_plan(const Plan& p, uint32_t peer,
                                      std::vector<RawEntry>& out) const {
  for (const auto& spec : p.ports.fixed) {
    out.push_back(
        RawEntry{internal::make_entry(p.direction, p.deny, peer, spec, options), p.origin});
  }
  if (p.ports.named.empty()) return;
  // Egress named ports resolve through each destination's ports. (Any
  // peer, identity 0, cannot resolve a name: no entry.)
  if (peer == 0) return;
  std::vector<internal::PortSpec> specs;
  for (const auto& [port, l7] : p.ports.named) {
    internal::resolve_named(*port, l7, named_of(peer), specs);
  }
  for (const auto& spec : specs) {
    out.push_back(
        RawEntry{internal::make_entry(p.direction, p.deny, peer, spec, options), p.origin});
  }
}

bool PolicyEngine::State::requirements_met(const Subject& s, Direction d, uint32_t peer) const {
  for (uint32_t r : s.requirements[dir_index(d)]) {
    if (!has_sorted(peers.matchers[r].ids, peer)) return false;
  }
  return true;
}

// Does plan `p` of subject `s` select peer `id` (already in the matchers)?
bool PolicyEngine::State::plan_selects(const Subject& s, const Plan& p, uint32_t id) const {
  if (p.any) {
    if (p.deny || s.requirements[dir_index(p.direction)].empty()) return false;  // identity 0
    return requirements_met(s, p.direction, id);
  }
  bool l3 = std::any_of(p.matchers.begin(), p.matchers.end(),
                        [&](uint32_t m) { return has_sorted(peers.matchers[m].ids, id); });
  return l3 && (p.deny || requirements_met(s, p.direction, id));
}

// The peers plan `p` of subject `s` selects: identity 0 for any peer,
// else the union of its matchers', less those that miss a requirement.
void PolicyEngine::State::plan_peers(const Subject& s, const Plan& p,
                                     std::vector<uint32_t>& out) const {
  out.clear();
  const auto& reqs = s.requirements[dir_index(p.direction)];
  if (p.any) {
    if (p.deny || reqs.empty()) {
      out.push_back(0);
      return;
    }
    out = peers.matchers[reqs.front()].ids;
  } else {
    for (uint32_t m : p.matchers) {
      std::vector<uint32_t> merged;
      const auto& ids = peers.matchers[m].ids;
      std::set_union(out.begin(), out.end(), ids.begin(), ids.end(), std::back_inserter(merged));
      out = std::move(merged);
    }
  }
  if (p.deny || reqs.empty()) return;
  out.erase(std::remove_if(out.begin(), out.end(),
                           [&](uint32_t id) { return !requirements_met(s, p.direction, id); }),
            out.end());
}

void PolicyEngine::State::merge(Subject& s, std::vector<RawEntry>& raw,
                                std::vector<PolicyEntry>& entries,
                                std::vector<uint32_t>& provenance) {
  internal::merge_entries(raw, s.set_index, s.compiled.origin_sets, entries, provenance);
}

std::pair<size_t, size_t> PolicyEngine::State::update_peers(Subject& s,
                                                            const std::vector<uint32_t>& removed,
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
                                  return internal::entry_key(x) < internal::entry_key(y);
                                });
    auto at = pos - entries.begin();
    entries.insert(pos, fresh[b]);
    provenance.insert(provenance.begin() + at, fresh_prov[b]);
  }
  return {fresh.size(), n_removed};
}

}  // namespace axon::policy
