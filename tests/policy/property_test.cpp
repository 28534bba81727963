// Property: on random policies, identities and flows, the compiled policy
// map entries answer exactly as direct evaluation of the rules does, in
// both directions — and the incremental engine ends where a fresh full
// compile of the same state ends.
#include <map>
#include <random>

#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;

namespace {

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

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
    // Namespaces as decoding adds them.
    if (kind == PolicyKind::cilium_network_policy) {
      if (peer && chance(0.3)) {
        add_requirement(s, exists("k8s", std::string(kNamespaceKey)));
      } else {
        add_requirement(s, equals("k8s", std::string(kNamespaceKey), peer && chance(0.3) ? "n2" : ns));
      }
    } else if (peer) {
      add_requirement(s, exists("k8s", std::string(kNamespaceKey)));
    }
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
    if (!deny && chance(0.2)) {
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
        static const std::vector<std::string> kCidrs = {"10.0.0.0/8", "10.1.0.0/16",
                                                        "192.168.0.0/16", "0.0.0.0/0"};
        CidrRule c{parse_prefix(one(kCidrs))->prefix, {}};
        if (c.cidr.len == 8 && chance(0.5)) c.except.push_back(parse_prefix("10.1.0.0/16")->prefix);
        el.cidrs.push_back(c);
        break;
      }
      case 2: {
        static const std::vector<Entity> kEntities = {Entity::world, Entity::cluster, Entity::host,
                                                      Entity::all, Entity::remote_node};
        el.entities.push_back(one(kEntities));
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

  Policy policy(int index) {
    Policy p;
    p.kind = chance(0.25) ? PolicyKind::cilium_clusterwide_network_policy
                          : PolicyKind::cilium_network_policy;
    p.ns = p.kind == PolicyKind::cilium_network_policy ? (chance(0.7) ? "n1" : "n2") : "";
    p.name = "p" + std::to_string(index);
    Rule r;
    r.path = "spec";
    r.subject = selector(false, p.ns, p.kind);
    for (Section s : {Section::ingress, Section::egress, Section::ingress_deny, Section::egress_deny}) {
      size_t n = is_deny(s) ? (chance(0.3) ? 1 : 0) : pick(3);
      auto& list = s == Section::ingress        ? r.ingress
                   : s == Section::egress       ? r.egress
                   : s == Section::ingress_deny ? r.ingress_deny
                                                : r.egress_deny;
      for (size_t i = 0; i < n; ++i) list.push_back(element(s, p.ns, p.kind));
    }
    r.default_deny_ingress = !r.ingress.empty() || !r.ingress_deny.empty();
    r.default_deny_egress = !r.egress.empty() || !r.egress_deny.empty();
    if (chance(0.15)) r.default_deny_ingress = !r.default_deny_ingress;
    if (chance(0.15)) r.default_deny_egress = !r.default_deny_egress;
    p.rules.push_back(std::move(r));
    return p;
  }

  LabelSet pod_labels() {
    PodLabels pl;
    pl.ns = chance(0.5) ? "n1" : (chance(0.5) ? "n2" : "n3");
    for (const char* key : {"app", "tier", "env"}) {
      if (chance(0.6)) pl.labels[key] = std::string(1, static_cast<char>('a' + pick(3)));
    }
    return identity_labels(pl);
  }

  NamedPorts named_ports() {
    NamedPorts np;
    if (chance(0.5)) np["http"] = NamedPort{Protocol::tcp, static_cast<uint16_t>(79 + pick(3))};
    if (chance(0.4)) np["dns"] = NamedPort{chance(0.5) ? Protocol::udp : Protocol::tcp, 53};
    return np;
  }

 private:
  std::mt19937 rng_;
};

const std::vector<Flow> kFlows = {tcp(78),  tcp(79), tcp(80), tcp(81), tcp(83), tcp(86),
                                  udp(53),  udp(80), sctp(80), tcp(53), icmp(8), icmp(13),
                                  tcp(8080)};

}  // namespace

TEST_CASE("property: compiled entries agree with direct evaluation on random inputs") {
  size_t compared = 0, allowed = 0, redirected = 0;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    CAPTURE(seed);
    Gen g(seed);
    InMemoryIdentityAllocator alloc;
    PolicyEngine engine({}, &alloc);
    std::vector<Policy> policies;
    size_t np = 1 + g.pick(6);
    for (size_t i = 0; i < np; ++i) {
      policies.push_back(g.policy(static_cast<int>(i)));
      engine.upsert_policy(policies.back());
    }
    // Peers: pods (some local endpoints), the reserved identities, and the
    // CIDR identities the engine allocates for the policies' prefixes.
    std::vector<Peer> peers;
    for (const auto& r : reserved_identities()) peers.push_back(Peer{r, {}});
    std::vector<std::pair<uint64_t, size_t>> endpoints;  // endpoint id, index in peers
    for (int i = 0; i < 8; ++i) {
      auto id = alloc.allocate(g.pod_labels());
      REQUIRE(id.ok());
      NamedPorts ports = g.named_ports();
      engine.upsert_identity(*id);
      bool duplicate = false;
      for (auto& p : peers) {
        if (p.identity.id == id->id) duplicate = true;
      }
      if (duplicate) continue;
      engine.set_named_ports(id->id, ports);
      peers.push_back(Peer{*id, ports});
      if (i < 5) {
        endpoints.emplace_back(100 + static_cast<uint64_t>(i), peers.size() - 1);
        engine.upsert_endpoint(Endpoint{endpoints.back().first, id->id, {}});
      }
    }
    (void)engine.commit();
    for (const auto& prefix : engine.cidr_prefixes()) {
      auto id = alloc.find(cidr_labels(prefix));
      REQUIRE(id.has_value());
      peers.push_back(Peer{*id, {}});
    }

    for (const auto& [ep, index] : endpoints) {
      const CompiledPolicy* c = engine.endpoint_policy(ep);
      REQUIRE(c != nullptr);
      const Peer* subject = &peers[index];
      for (const auto& peer : peers) {
        for (const auto& f : kFlows) {
          for (Direction d : {Direction::ingress, Direction::egress}) {
            auto direct = evaluate(policies, d, *subject, peer, f);
            auto compiled = lookup(c->policy, d, peer.identity.id, f);
            ++compared;
            allowed += direct.allowed;
            redirected += direct.redirected;
            if (direct.allowed != compiled.allowed || direct.redirected != compiled.redirected) {
              FAIL_CHECK("seed " << seed << ": " << direction_name(d) << " at ["
                                 << to_string(subject->identity.labels) << "] with peer "
                                 << peer.identity.id << " [" << to_string(peer.identity.labels)
                                 << "] " << to_string(f) << ": evaluation says "
                                 << direct.allowed << "/" << direct.redirected
                                 << ", entries say " << compiled.allowed << "/"
                                 << compiled.redirected);
            }
          }
        }
      }
    }
  }
  MESSAGE(compared << " verdicts compared, " << allowed << " allowed, " << redirected
                   << " through a proxy");
  CHECK(compared > 10000);
  // The random policies must exercise both outcomes and the proxy.
  CHECK(allowed > compared / 10);
  CHECK(allowed < compared - compared / 10);
  CHECK(redirected > 0);
}

TEST_CASE("property: the incremental engine ends where a fresh full compile ends") {
  size_t changed = 0;
  for (uint32_t seed = 100; seed < 160; ++seed) {
    CAPTURE(seed);
    Gen g(seed);
    InMemoryIdentityAllocator alloc;
    PolicyEngine live({}, &alloc);
    std::vector<Policy> policies;
    int next_name = 0;
    for (int i = 0; i < 4; ++i) policies.push_back(g.policy(next_name++));
    for (const auto& p : policies) live.upsert_policy(p);
    std::vector<Identity> ids;
    std::map<uint32_t, NamedPorts> ports;
    std::vector<Endpoint> eps;
    auto add_pod = [&](bool endpoint) {
      auto id = alloc.allocate(g.pod_labels());
      REQUIRE(id.ok());
      if (std::any_of(ids.begin(), ids.end(), [&](const Identity& x) { return x.id == id->id; })) {
        return;
      }
      ids.push_back(*id);
      live.upsert_identity(*id);
      if (endpoint) {
        eps.push_back(Endpoint{eps.size() + 1, id->id, {}});
        live.upsert_endpoint(eps.back());
      }
    };
    for (int i = 0; i < 6; ++i) add_pod(i < 4);
    (void)live.commit();

    // A series of changes, each committed on its own.
    for (int step = 0; step < 8; ++step) {
      switch (g.pick(5)) {
        case 0:
          add_pod(g.chance(0.5));  // a new identity, maybe with a local endpoint
          break;
        case 1: {
          // A policy changes in place: same kind, namespace and name.
          size_t i = g.pick(policies.size());
          Policy next = g.policy(next_name++);
          for (int tries = 0; tries < 50 && (next.kind != policies[i].kind || next.ns != policies[i].ns);
               ++tries) {
            next = g.policy(next_name++);
          }
          if (next.kind != policies[i].kind || next.ns != policies[i].ns) break;
          next.name = policies[i].name;
          policies[i] = next;
          live.upsert_policy(policies[i]);
          break;
        }
        case 2: {
          size_t i = g.pick(ids.size());
          bool used = std::any_of(eps.begin(), eps.end(),
                                  [&](const Endpoint& e) { return e.identity == ids[i].id; });
          if (!used) {  // an identity goes away
            live.remove_identity(ids[i].id);
            ports.erase(ids[i].id);
            ids.erase(ids.begin() + static_cast<long>(i));
          }
          break;
        }
        case 3: {
          size_t i = g.pick(policies.size());
          live.remove_policy(key_of(policies[i]));
          policies.erase(policies.begin() + static_cast<long>(i));
          policies.push_back(g.policy(next_name++));
          live.upsert_policy(policies.back());
          break;
        }
        default: {
          uint32_t id = ids[g.pick(ids.size())].id;
          ports[id] = g.named_ports();  // named ports of an identity change
          live.set_named_ports(id, ports[id]);
          break;
        }
      }
      changed += live.commit().entries_changed();
    }

    PolicyEngine fresh({}, &alloc);
    for (const auto& p : policies) fresh.upsert_policy(p);
    for (const auto& id : ids) fresh.upsert_identity(id);
    for (const auto& [id, np] : ports) fresh.set_named_ports(id, np);
    for (const auto& e : eps) fresh.upsert_endpoint(e);
    (void)fresh.commit();
    for (const auto& e : eps) {
      const CompiledPolicy* a = live.endpoint_policy(e.id);
      const CompiledPolicy* b = fresh.endpoint_policy(e.id);
      REQUIRE(a != nullptr);
      REQUIRE(b != nullptr);
      CHECK(a->policy.ingress_enforced == b->policy.ingress_enforced);
      CHECK(a->policy.egress_enforced == b->policy.egress_enforced);
      if (a->policy.entries != b->policy.entries) {
        std::string diff;
        auto show = [](const axon::datapath::PolicyEntry& x) {
          return std::string(direction_name(x.direction)) + " id " + std::to_string(x.identity) +
                 " proto " + std::to_string(x.protocol) + " " + std::to_string(x.port_lo) + "-" +
                 std::to_string(x.port_hi) + " action " +
                 std::to_string(static_cast<int>(x.action));
        };
        for (const auto& x : a->policy.entries) {
          if (std::find(b->policy.entries.begin(), b->policy.entries.end(), x) ==
              b->policy.entries.end()) {
            diff += "  only incremental: " + show(x) + "\n";
          }
        }
        for (const auto& x : b->policy.entries) {
          if (std::find(a->policy.entries.begin(), a->policy.entries.end(), x) ==
              a->policy.entries.end()) {
            diff += "  only fresh: " + show(x) + "\n";
          }
        }
        FAIL_CHECK("endpoint " << e.id << " identity " << e.identity << ":\n" << diff);
        continue;
      }
      for (size_t i = 0; i < a->policy.entries.size(); ++i) {
        CHECK(origins_of(*a, i) == origins_of(*b, i));
      }
    }
  }
  CHECK(changed > 0);
}
