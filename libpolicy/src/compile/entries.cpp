// Entries from rule elements, their merge into unique keys, and the lookup
// the datapath does on them.
#include "compile/entries.h"

#include <algorithm>

#include "compile/sorted_ids.h"

namespace axon::policy {
namespace internal {
namespace {

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

bool raw_less(const RawEntry& a, const RawEntry& b) {
  if (a.k1 != b.k1) return a.k1 < b.k1;
  if (a.k2 != b.k2) return a.k2 < b.k2;
  return a.origin < b.origin;
}

// The index of `set` in `sets`, appended if new.
uint32_t intern(OriginSetIndex& index, std::vector<uint32_t> set,
                std::vector<std::vector<uint32_t>>& sets) {
  if (set.size() == 1) {  // the common case, without a map lookup
    uint32_t o = set.front();
    if (index.single.size() <= o) index.single.resize(o + 1, 0);
    if (index.single[o] != 0) return index.single[o] - 1;
    uint32_t idx = static_cast<uint32_t>(sets.size());
    sets.push_back(std::move(set));
    index.single[o] = idx + 1;
    return idx;
  }
  auto it = index.by_set.find(set);
  if (it != index.by_set.end()) return it->second;
  uint32_t idx = static_cast<uint32_t>(sets.size());
  sets.push_back(set);
  index.by_set.emplace(std::move(set), idx);
  return idx;
}

}  // namespace

void resolve_named(const PortProtocol& p, L7Kind l7, const NamedPorts& named,
                   std::vector<PortSpec>& out) {
  auto it = named.find(p.name);
  if (it == named.end()) return;
  if (p.protocol != Protocol::any && p.protocol != it->second.protocol) return;
  expand(it->second.protocol, it->second.port, it->second.port, l7, out);
}

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

// Deny > redirect > allow, as the datapath decides. A redirect keeps the
// origins of the L4-only allows of the same key too: they tell the proxy to
// let every request through (an L4 allow cancels the L7 restriction).
void merge_entries(std::vector<RawEntry>& raw, OriginSetIndex& index,
                   std::vector<std::vector<uint32_t>>& sets,
                   std::vector<datapath::PolicyEntry>& entries, std::vector<uint32_t>& provenance) {
  using datapath::PolicyAction;
  // A lambda, so that the sort inlines the comparison (through a function
  // pointer it may call it, once per comparison: the hot loop here).
  std::sort(raw.begin(), raw.end(),
            [](const RawEntry& a, const RawEntry& b) { return raw_less(a, b); });
  for (size_t i = 0; i < raw.size();) {
    size_t j = i;
    std::vector<uint32_t> origins;
    const datapath::PolicyEntry& win = raw[i].entry;
    while (j < raw.size() && raw[j].k1 == raw[i].k1 && raw[j].key2() == raw[i].key2()) {
      const datapath::PolicyEntry& e = raw[j].entry;
      bool same = e.action == win.action && e.proxy_port == win.proxy_port;
      bool cancels_l7 = win.action == PolicyAction::redirect && e.action == PolicyAction::allow;
      if (same || cancels_l7) insert_sorted(origins, raw[j].origin);
      ++j;
    }
    entries.push_back(win);
    provenance.push_back(intern(index, std::move(origins), sets));
    i = j;
  }
}

}  // namespace internal

std::vector<RuleOrigin> origins_of(const CompiledPolicy& c, size_t i) {
  std::vector<RuleOrigin> out;
  if (i >= c.provenance.size()) return out;
  for (uint32_t o : c.origin_sets[c.provenance[i]]) out.push_back(c.origins[o]);
  return out;
}

void add_allow_localhost(datapath::EndpointPolicy& p) {
  if (!p.ingress_enforced) return;
  datapath::PolicyEntry host;
  host.direction = datapath::Direction::ingress;
  host.identity = reserved::host;
  const bool has_key = std::any_of(p.entries.begin(), p.entries.end(), [&](const auto& e) {
    return e.direction == host.direction && e.identity == host.identity && e.protocol == 0 &&
           e.port_lo == 0 && e.port_hi == 0;
  });
  if (!has_key) p.entries.push_back(host);
}

Lookup lookup(const datapath::EndpointPolicy& p, Direction d, uint32_t peer, const Flow& flow) {
  using datapath::PolicyAction;
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

}  // namespace axon::policy
