#include "axon/policy/evaluate.h"

#include <algorithm>
#include <charconv>

#include "axon/base/strings.h"

namespace axon::policy {
namespace {

bool is_world(uint32_t id) {
  return id == reserved::world || id == reserved::world_ipv4 || id == reserved::world_ipv6;
}

bool has_reserved(const Identity& id, std::string_view name) {
  return id.labels.has(kSourceReserved, name);
}

struct ResolvedPort {
  Protocol protocol = Protocol::any;
  uint16_t lo = 0;
  uint16_t hi = 0;
};

// A port of a rule with its name resolved through the destination's ports.
std::optional<ResolvedPort> resolve(const PortProtocol& p, const NamedPorts& named) {
  if (p.name.empty()) {
    return ResolvedPort{p.protocol, p.port, p.end_port == 0 ? p.port : p.end_port};
  }
  auto it = named.find(p.name);
  if (it == named.end()) return std::nullopt;
  if (p.protocol != Protocol::any && p.protocol != it->second.protocol) return std::nullopt;
  return ResolvedPort{it->second.protocol, it->second.port, it->second.port};
}

bool port_matches(const ResolvedPort& p, const Flow& f) {
  if (p.protocol == Protocol::any) {
    // Port 0 with ANY is all traffic; a port with ANY is TCP, UDP and SCTP.
    if (p.lo == 0) return true;
    if (f.protocol != Protocol::tcp && f.protocol != Protocol::udp &&
        f.protocol != Protocol::sctp) {
      return false;
    }
  } else if (p.protocol != f.protocol) {
    return false;
  }
  return p.lo == 0 || (f.port >= p.lo && f.port <= p.hi);
}

std::string describe_port(const PortProtocol& p) {
  std::string port = !p.name.empty() ? p.name
                     : p.port == 0   ? "any port"
                                     : std::to_string(p.port);
  if (p.end_port != 0) port += "-" + std::to_string(p.end_port);
  return port + "/" + std::string(protocol_name(p.protocol));
}

}  // namespace

std::string to_string(const Flow& f) {
  return std::to_string(f.port) + "/" + std::string(protocol_name(f.protocol));
}

Result<Flow> parse_flow(std::string_view text) {
  Flow f;
  std::string_view port = text;
  auto slash = text.find('/');
  if (slash != std::string_view::npos) {
    port = text.substr(0, slash);
    auto proto = parse_protocol(text.substr(slash + 1));
    if (!proto || *proto == Protocol::any) {
      return Error{"\"" + std::string(text) +
                   "\": protocol must be TCP, UDP, SCTP, ICMP or ICMPv6 (e.g. 8080/TCP)"};
    }
    f.protocol = *proto;
  }
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), v);
  unsigned max = f.protocol == Protocol::icmp || f.protocol == Protocol::icmpv6 ? 255 : 65535;
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || v > max) {
    return Error{"\"" + std::string(text) + "\": port must be a number 0-" + std::to_string(max) +
                 " (e.g. 8080/TCP, 53/UDP, 8/ICMP for an echo request)"};
  }
  f.port = static_cast<uint16_t>(v);
  return f;
}

bool entity_matches(Entity e, const Identity& id) {
  switch (e) {
    case Entity::all:
      return true;
    case Entity::none:
      return false;
    case Entity::world:
      return is_world(id.id) || has_reserved(id, "world");
    case Entity::world_ipv4: {
      if (id.id == reserved::world_ipv4) return true;
      auto p = cidr_of(id.labels);
      return p && !p->v6;
    }
    case Entity::world_ipv6: {
      if (id.id == reserved::world_ipv6) return true;
      auto p = cidr_of(id.labels);
      return p && p->v6;
    }
    case Entity::cluster:
      return (is_reserved(id.id) && !is_world(id.id)) || is_cluster_scope(id.id);
    case Entity::host:
      return id.id == reserved::host;
    case Entity::remote_node:
      return id.id == reserved::remote_node;
    case Entity::kube_apiserver:
      return id.id == reserved::kube_apiserver || has_reserved(id, "kube-apiserver");
    case Entity::health:
      return id.id == reserved::health;
    case Entity::init:
      return id.id == reserved::init;
    case Entity::unmanaged:
      return id.id == reserved::unmanaged;
    case Entity::ingress:
      return id.id == reserved::ingress;
  }
  return false;
}

bool cidr_matches(const CidrRule& c, const Identity& id) {
  if (auto p = cidr_of(id.labels)) {
    // The identity of a prefix the ipcache resolves addresses to: inside
    // the rule's prefix and not inside one of its exceptions.
    if (!contains(c.cidr, *p)) return false;
    return std::none_of(c.except.begin(), c.except.end(),
                        [&](const Prefix& e) { return contains(e, *p); });
  }
  // Addresses no policy names resolve to world: only /0 covers them.
  if (c.cidr.len != 0) return false;
  if (id.id == reserved::world) return true;
  if (id.id == reserved::world_ipv4) return !c.cidr.v6;
  if (id.id == reserved::world_ipv6) return c.cidr.v6;
  return false;
}

bool fqdn_matches(const FqdnSelector& f, const Identity& id) {
  return id.labels.first(kSourceFqdn, fqdn_label_key(f)) != nullptr;
}

bool l3_matches(const PeerRule& el, const Identity& peer) {
  if (el.any_peer) return true;
  for (const auto& s : el.endpoints) {
    if (matches(s, peer.labels)) return true;
  }
  for (const auto& c : el.cidrs) {
    if (cidr_matches(c, peer)) return true;
  }
  for (auto e : el.entities) {
    if (entity_matches(e, peer)) return true;
  }
  for (const auto& f : el.fqdns) {
    if (fqdn_matches(f, peer)) return true;
  }
  // toServices resolves to addresses at run time (service backends):
  // offline it selects nothing.
  return false;
}

bool l4_matches(const PeerRule& el, const Flow& flow, const NamedPorts& dst_ports, L7Kind* l7) {
  if (l7 != nullptr) *l7 = L7Kind::none;
  if (el.ports.empty() && el.icmps.empty()) return true;
  for (const auto& f : el.icmps) {
    Protocol want = f.family == 6 ? Protocol::icmpv6 : Protocol::icmp;
    if (flow.protocol == want && flow.port == f.type) return true;
  }
  bool matched = false;
  L7Kind best = L7Kind::none;
  for (const auto& pr : el.ports) {
    bool hit = pr.ports.empty();
    for (const auto& p : pr.ports) {
      auto r = resolve(p, dst_ports);
      if (r && port_matches(*r, flow)) hit = true;
    }
    if (!hit) continue;
    // Any L7 rules on the port send the flow to the proxy.
    L7Kind k = l7_kind(pr.rules);
    if (k != L7Kind::none) best = k;
    matched = true;
  }
  if (matched && l7 != nullptr) *l7 = best;
  return matched;
}

bool selects(const Rule& rule, const Identity& subject) {
  // endpointSelector selects pods: never the world, an address (CIDR) or a
  // reserved identity; nodeSelector selects the host.
  if (!rule.host && (is_reserved(subject.id) || cidr_of(subject.labels))) return false;
  return matches(rule.subject, subject.labels);
}

std::string describe_peers(const PeerRule& el, Section section) {
  const std::string pfx = direction_of(section) == Direction::ingress ? "from" : "to";
  std::vector<std::string> parts;
  if (el.any_peer) parts.push_back("any peer");
  if (!el.endpoints.empty()) {
    std::vector<std::string> s;
    for (const auto& sel : el.endpoints) s.push_back("[" + to_string(sel) + "]");
    parts.push_back(pfx + "Endpoints " + join(s, " or "));
  }
  if (!el.cidrs.empty()) {
    std::vector<std::string> s;
    for (const auto& c : el.cidrs) {
      std::string t = to_string(c.cidr);
      for (const auto& e : c.except) t += " except " + to_string(e);
      s.push_back(t);
    }
    parts.push_back(pfx + "CIDR " + join(s, ", "));
  }
  if (!el.entities.empty()) {
    std::vector<std::string> s;
    for (auto e : el.entities) s.emplace_back(entity_name(e));
    parts.push_back(pfx + "Entities " + join(s, ", "));
  }
  if (!el.fqdns.empty()) {
    std::vector<std::string> s;
    for (const auto& f : el.fqdns) s.push_back(f.match_name.empty() ? f.match_pattern : f.match_name);
    parts.push_back("toFQDNs " + join(s, ", ") + " (resolved by the DNS proxy at run time)");
  }
  if (!el.services.empty()) {
    std::vector<std::string> s;
    for (const auto& v : el.services) {
      s.push_back(v.selector ? v.ns + "/[" + to_string(*v.selector) + "]" : v.ns + "/" + v.name);
    }
    parts.push_back("toServices " + join(s, ", ") + " (resolved from the store at run time)");
  }
  if (parts.empty()) return "no peer";
  return join(parts, "; ");
}

std::string describe_ports(const PeerRule& el) {
  if (el.ports.empty() && el.icmps.empty()) return "any port";
  std::vector<std::string> parts;
  for (const auto& pr : el.ports) {
    std::string l7(l7_name(l7_kind(pr.rules)));
    if (pr.ports.empty()) parts.push_back("any port");
    for (const auto& p : pr.ports) parts.push_back(describe_port(p) + (l7.empty() ? "" : " (" + l7 + " rules)"));
  }
  for (const auto& f : el.icmps) {
    parts.push_back("ICMP" + std::string(f.family == 6 ? "v6" : "") + " type " +
                    std::to_string(f.type));
  }
  return join(parts, ", ");
}

DirectionVerdict evaluate(const std::vector<Policy>& policies, Direction direction,
                          const Peer& subject, const Peer& peer, const Flow& flow,
                          bool allow_localhost) {
  DirectionVerdict v;
  v.direction = direction;
  const Section allow_section = direction == Direction::ingress ? Section::ingress : Section::egress;
  const Section deny_section =
      direction == Direction::ingress ? Section::ingress_deny : Section::egress_deny;
  // The destination's named ports resolve rule ports.
  const NamedPorts& dst_ports =
      direction == Direction::ingress ? subject.named_ports : peer.named_ports;

  // Requirements of every selecting rule, in this direction.
  std::vector<const Selector*> requirements;
  for (const auto& p : policies) {
    for (const auto& r : p.rules) {
      if (!selects(r, subject.identity)) continue;
      for (Section s : {allow_section, deny_section}) {
        for (const auto& el : section(r, s)) {
          for (const auto& req : el.requirements) requirements.push_back(&req);
        }
      }
    }
  }
  for (const auto* r : requirements) v.requirements.push_back(to_string(*r));
  const bool requirements_met =
      std::all_of(requirements.begin(), requirements.end(),
                  [&](const Selector* s) { return matches(*s, peer.identity.labels); });

  std::vector<RuleOrigin> allow_plain, allow_l7, denies;
  L7Kind l7_seen = L7Kind::none;
  for (const auto& p : policies) {
    for (const auto& r : p.rules) {
      RuleTrace rt;
      rt.origin = RuleOrigin{p.kind, p.ns, p.name, r.path, allow_section, -1};
      rt.subject = to_string(r.subject);
      rt.selected = selects(r, subject.identity);
      if (rt.selected) {
        v.selected = true;
        rt.default_deny = default_deny(r, direction);
        if (rt.default_deny) v.default_deny_by.push_back(rt.origin);
        for (Section s : {deny_section, allow_section}) {
          const auto& list = section(r, s);
          for (size_t i = 0; i < list.size(); ++i) {
            const PeerRule& el = list[i];
            ElementTrace et;
            et.origin = RuleOrigin{p.kind, p.ns, p.name, r.path, s, static_cast<int>(i)};
            et.deny = is_deny(s);
            et.peers = describe_peers(el, s);
            et.ports = describe_ports(el);
            et.peer_matches = l3_matches(el, peer.identity);
            et.port_matches = l4_matches(el, flow, dst_ports, &et.l7);
            et.requirements_met = et.deny || requirements_met;
            et.matched = et.peer_matches && et.port_matches && et.requirements_met;
            if (et.matched) {
              if (et.deny) {
                denies.push_back(et.origin);
              } else if (et.l7 == L7Kind::none) {
                allow_plain.push_back(et.origin);
              } else {
                allow_l7.push_back(et.origin);
                l7_seen = et.l7;
              }
            }
            rt.elements.push_back(std::move(et));
          }
        }
      }
      v.rules.push_back(std::move(rt));
    }
  }
  v.enforced = !v.default_deny_by.empty();

  if (!v.selected) {
    v.allowed = true;
  } else if (!denies.empty()) {
    v.allowed = false;
    v.decided_by = denies;
  } else if (!allow_l7.empty()) {
    // L7 rules send the flow to the proxy, even without default deny; an
    // L4-only allow of the same flow makes the proxy let every request
    // through (it is among decided_by).
    v.allowed = true;
    v.redirected = true;
    v.l7 = l7_seen;
    v.l7_allow_all = !allow_plain.empty();
    v.decided_by = allow_l7;
    v.decided_by.insert(v.decided_by.end(), allow_plain.begin(), allow_plain.end());
  } else if (!allow_plain.empty()) {
    v.allowed = true;
    v.decided_by = allow_plain;
  } else {
    v.allowed = !v.enforced;
    if (!v.allowed && allow_localhost && direction == Direction::ingress &&
        peer.identity.id == reserved::host) {
      v.allowed = true;
      v.localhost = true;
    }
  }
  return v;
}

TraceResult trace(const std::vector<Policy>& policies, const Peer& src, const Peer& dst,
                  const Flow& flow, bool allow_localhost) {
  TraceResult t;
  t.egress = evaluate(policies, Direction::egress, src, dst, flow, allow_localhost);
  t.ingress = evaluate(policies, Direction::ingress, dst, src, flow, allow_localhost);
  t.allowed = t.egress.allowed && t.ingress.allowed;
  return t;
}

}  // namespace axon::policy
