// Random policies, identities and flows for property and differential tests
// (tests/policy/property_test.cpp: compiled entries == direct evaluation;
// tests/datapath/policy_trace_differential_test.cpp: the kernel's verdict ==
// `policy trace`'s). Policies are drawn in the typed model (model.h), as
// decoding leaves them, so that every combination the tests care about
// comes up often:
//   - CiliumNetworkPolicy and CiliumClusterwideNetworkPolicy, namespaces as
//     decoding adds them;
//   - enableDefaultDeny ingress/egress absent, true or false;
//   - deny-only policies (ingressDeny/egressDeny without allows), empty
//     sections, `[{}]` elements (no peer);
//   - peers by endpoint selector, CIDR (toCIDR / toCIDRSet with except),
//     entity (world, cluster, host, all, remote-node, kube-apiserver) or none
//     (ports only: any peer); fromRequires/toRequires;
//   - ports with protocol ANY/TCP/UDP/SCTP, port 0, named ports, ranges
//     (endPort); ICMP types; L7 (HTTP, DNS) rules on allow ports;
//   - with a focus (an endpoint's labels), several policies that select it.
// Only libpolicy headers: usable from any test binary that links axon_policy.
#pragma once

#include <algorithm>
#include <cstdint>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "axon/policy/evaluate.h"
#include "axon/policy/identity.h"
#include "axon/policy/model.h"
#include "axon/policy/selector.h"

namespace axon::policy::test {

// enableDefaultDeny of one direction as a manifest would write it.
enum class DefaultDenySetting : uint8_t { absent, yes, no };

inline std::string_view setting_name(DefaultDenySetting s) {
  return s == DefaultDenySetting::absent ? "absent" : s == DefaultDenySetting::yes ? "true" : "false";
}

struct GenOptions {
  bool l7 = true;  // L7 (HTTP, DNS) rules on some allow ports
};

class Gen {
 public:
  explicit Gen(uint32_t seed, GenOptions options = {}) : rng_(seed), options_(options) {}

  size_t pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& one(const std::vector<T>& v) {
    return v[pick(v.size())];
  }

  Selector selector(bool peer, const std::string& ns, PolicyKind kind) {
    Selector s;
    static const std::vector<std::string> kKeys = {"app", "tier", "env"};
    static const std::vector<std::string> kValues = {"a", "b", "c"};
    size_t n = pick(3);
    for (size_t i = 0; i < n; ++i) {
      Requirement r;
      r.source = chance(0.5) ? "any" : "k8s";
      r.key = one(kKeys);
      switch (pick(5)) {
        case 0:
        case 1:
          r.op = Operator::in;
          r.values = {one(kValues)};
          if (chance(0.3)) r.values.push_back(one(kValues));
          break;
        case 2:
          r.op = Operator::not_in;
          r.values = {one(kValues)};
          break;
        case 3:
          r.op = Operator::exists;
          break;
        default:
          r.op = Operator::does_not_exist;
          break;
      }
      add_requirement(s, std::move(r));
    }
    add_namespace(s, peer, ns, kind);
    return s;
  }

  // An endpointSelector that selects `focus` (a pod's identity labels): a
  // few of its app/tier/env labels, in the namespace the policy implies.
  Selector selector_of(const LabelSet& focus, const std::string& ns, PolicyKind kind) {
    Selector s;
    for (const char* key : {"app", "tier", "env"}) {
      const Label* l = focus.first("k8s", key);
      if (l == nullptr || !chance(0.4)) continue;
      add_requirement(s, equals(chance(0.5) ? "any" : "k8s", key, l->value));
    }
    add_namespace(s, false, ns, kind);
    return s;
  }

  PortRule port_rule(bool deny, Direction d) {
    PortRule pr;
    size_t n = 1 + pick(2);
    for (size_t i = 0; i < n; ++i) {
      PortProtocol p;
      switch (pick(4)) {
        case 0:
          p.protocol = Protocol::any;
          break;
        case 1:
          p.protocol = Protocol::udp;
          break;
        case 2:
          p.protocol = Protocol::sctp;
          break;
        default:
          p.protocol = Protocol::tcp;
          break;
      }
      switch (pick(5)) {
        case 0:
          p.port = 0;
          break;
        case 1:
          p.name = chance(0.5) ? "http" : "dns";
          break;
        case 2:
          p.port = static_cast<uint16_t>(78 + pick(6));
          p.end_port = static_cast<uint16_t>(p.port + pick(4));
          if (p.end_port == p.port) p.end_port = 0;
          break;
        default:
          p.port = static_cast<uint16_t>(78 + pick(6));
          break;
      }
      pr.ports.push_back(p);
    }
    if (!deny && options_.l7 && chance(0.2)) {
      bool specific = std::all_of(pr.ports.begin(), pr.ports.end(), [](const PortProtocol& p) {
        return p.port != 0 || !p.name.empty();
      });
      if (specific && d == Direction::egress && chance(0.5)) {
        pr.rules.dns.push_back(DnsRule{"", "*"});
      } else if (specific) {
        pr.rules.http.push_back(HttpRule{"GET", "", "", {}, {}});
      }
    }
    return pr;
  }

  PeerRule element(Section s, const std::string& ns, PolicyKind kind) {
    PeerRule el;
    const bool deny = is_deny(s);
    switch (pick(6)) {
      case 0: {
        size_t n = 1 + pick(2);
        for (size_t i = 0; i < n; ++i) el.endpoints.push_back(selector(true, ns, kind));
        break;
      }
      case 1: {
        // toCIDR / toCIDRSet, some with exceptions.
        static const std::vector<std::string> kCidrs = {"10.0.0.0/8", "10.1.0.0/16",
                                                        "192.168.0.0/16", "0.0.0.0/0"};
        size_t n = 1 + (chance(0.2) ? 1 : 0);
        for (size_t i = 0; i < n; ++i) {
          CidrRule c{parse_prefix(one(kCidrs))->prefix, {}};
          if (c.cidr.len == 8 && chance(0.5)) c.except.push_back(parse_prefix("10.1.0.0/16")->prefix);
          if (c.cidr.len == 16 && c.cidr.addr[0] == 10 && chance(0.3)) {
            c.except.push_back(parse_prefix("10.1.2.0/24")->prefix);
          }
          if (c.cidr.len == 0 && chance(0.3)) {
            c.except.push_back(parse_prefix("192.168.0.0/16")->prefix);
          }
          el.cidrs.push_back(c);
        }
        break;
      }
      case 2: {
        static const std::vector<Entity> kEntities = {Entity::world,       Entity::cluster,
                                                      Entity::host,        Entity::all,
                                                      Entity::remote_node, Entity::kube_apiserver};
        el.entities.push_back(one(kEntities));
        if (chance(0.15)) el.entities.push_back(one(kEntities));
        break;
      }
      case 3:
        break;  // no L3: with ports, any peer; without, {} (nothing)
      default:
        el.endpoints.push_back(selector(true, ns, kind));
        break;
    }
    if (chance(0.6)) {
      el.ports.push_back(port_rule(deny, direction_of(s)));
    } else if (chance(0.2)) {
      el.icmps.push_back(IcmpField{4, static_cast<uint8_t>(chance(0.5) ? 8 : 13)});
    }
    el.any_peer = el.endpoints.empty() && el.cidrs.empty() && el.entities.empty() &&
                  (!el.ports.empty() || !el.icmps.empty());
    if (!deny && chance(0.1)) el.requirements.push_back(selector(true, ns, kind));
    return el;
  }

  // One policy. With a focus, its endpointSelector is often drawn from the
  // focus's labels (and a namespaced policy often sits in its namespace), so
  // that several policies select the same endpoint.
  Policy policy(int index, const LabelSet* focus = nullptr) {
    Policy p;
    p.kind = chance(0.25) ? PolicyKind::cilium_clusterwide_network_policy
                          : PolicyKind::cilium_network_policy;
    const bool focused = focus != nullptr && chance(0.6);
    const Label* focus_ns = focus != nullptr ? focus->first("k8s", kNamespaceKey) : nullptr;
    if (p.kind == PolicyKind::cilium_network_policy) {
      p.ns = focused && focus_ns != nullptr ? focus_ns->value : (chance(0.7) ? "n1" : "n2");
    }
    p.name = "p" + std::to_string(index);
    Rule r;
    r.path = "spec";
    r.subject = focused ? selector_of(*focus, p.ns, p.kind) : selector(false, p.ns, p.kind);
    // Deny-only: ingressDeny/egressDeny and no allow section.
    const bool deny_only = chance(0.15);
    for (Section s : {Section::ingress, Section::egress, Section::ingress_deny, Section::egress_deny}) {
      size_t n = is_deny(s) ? (chance(deny_only ? 0.7 : 0.3) ? 1 + (chance(0.2) ? 1 : 0) : 0)
                            : (deny_only ? 0 : pick(3));
      auto& list = s == Section::ingress        ? r.ingress
                   : s == Section::egress       ? r.egress
                   : s == Section::ingress_deny ? r.ingress_deny
                                                : r.egress_deny;
      for (size_t i = 0; i < n; ++i) list.push_back(element(s, p.ns, p.kind));
    }
    // enableDefaultDeny: absent (the sections decide, semantics §1.3),
    // true or false, per direction.
    auto setting = [&] {
      size_t k = pick(10);
      return k < 6 ? DefaultDenySetting::absent : k < 8 ? DefaultDenySetting::yes : DefaultDenySetting::no;
    };
    const DefaultDenySetting in = setting(), eg = setting();
    auto effective = [](DefaultDenySetting s, bool sections) {
      return s == DefaultDenySetting::absent ? sections : s == DefaultDenySetting::yes;
    };
    r.default_deny_ingress = effective(in, !r.ingress.empty() || !r.ingress_deny.empty());
    r.default_deny_egress = effective(eg, !r.egress.empty() || !r.egress_deny.empty());
    // Kept for dumps only (the model has the effective values).
    r.description = "enableDefaultDeny: {ingress: " + std::string(setting_name(in)) +
                    ", egress: " + std::string(setting_name(eg)) + "}";
    p.rules.push_back(std::move(r));
    return p;
  }

  PodLabels pod(const char* ns = nullptr) {
    PodLabels pl;
    pl.ns = ns != nullptr ? ns : chance(0.5) ? "n1" : (chance(0.5) ? "n2" : "n3");
    for (const char* key : {"app", "tier", "env"}) {
      if (chance(0.6)) pl.labels[key] = std::string(1, static_cast<char>('a' + pick(3)));
    }
    return pl;
  }

  LabelSet pod_labels() { return identity_labels(pod()); }

  NamedPorts named_ports() {
    NamedPorts np;
    if (chance(0.5)) np["http"] = NamedPort{Protocol::tcp, static_cast<uint16_t>(79 + pick(3))};
    if (chance(0.4)) np["dns"] = NamedPort{chance(0.5) ? Protocol::udp : Protocol::tcp, 53};
    return np;
  }

  std::mt19937& rng() { return rng_; }

 private:
  // Namespaces as decoding adds them (semantics §1.5).
  void add_namespace(Selector& s, bool peer, const std::string& ns, PolicyKind kind) {
    if (kind == PolicyKind::cilium_network_policy) {
      if (peer && chance(0.3)) {
        add_requirement(s, exists("k8s", std::string(kNamespaceKey)));
      } else {
        add_requirement(s, equals("k8s", std::string(kNamespaceKey), peer && chance(0.3) ? "n2" : ns));
      }
    } else if (peer) {
      add_requirement(s, exists("k8s", std::string(kNamespaceKey)));
    }
  }

  std::mt19937 rng_;
  GenOptions options_;
};

// Flows the generated ports and ICMP types hit, miss and straddle.
inline const std::vector<Flow> kGeneratedFlows = {
    {Protocol::tcp, 78},  {Protocol::tcp, 79},  {Protocol::tcp, 80},   {Protocol::tcp, 81},
    {Protocol::tcp, 83},  {Protocol::tcp, 86},  {Protocol::udp, 53},   {Protocol::udp, 80},
    {Protocol::sctp, 80}, {Protocol::tcp, 53},  {Protocol::icmp, 8},   {Protocol::icmp, 13},
    {Protocol::tcp, 8080}};

// A readable dump of a generated policy (the model, as decoding leaves it).
inline std::string dump(const Policy& p) {
  std::ostringstream os;
  os << describe(p) << "\n";
  for (const auto& r : p.rules) {
    os << "  " << r.path << ": endpointSelector [" << to_string(r.subject) << "]"
       << (r.host ? " (nodeSelector)" : "") << "\n";
    os << "    default deny: ingress " << (r.default_deny_ingress ? "yes" : "no") << ", egress "
       << (r.default_deny_egress ? "yes" : "no");
    if (!r.description.empty()) os << " (" << r.description << ")";
    os << "\n";
    for (Section s : {Section::ingress, Section::egress, Section::ingress_deny, Section::egress_deny}) {
      const auto& list = section(r, s);
      for (size_t i = 0; i < list.size(); ++i) {
        const PeerRule& el = list[i];
        os << "    " << section_name(s) << "[" << i << "]: " << describe_peers(el, s) << "; "
           << describe_ports(el);
        for (const auto& req : el.requirements) {
          os << "; " << (direction_of(s) == Direction::ingress ? "fromRequires" : "toRequires")
             << " [" << to_string(req) << "]";
        }
        os << "\n";
      }
    }
  }
  return os.str();
}

inline std::string dump(const std::vector<Policy>& policies) {
  std::string out;
  for (const auto& p : policies) out += dump(p);
  return out;
}

}  // namespace axon::policy::test
