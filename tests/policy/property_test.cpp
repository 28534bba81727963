// Property: on random policies, identities and flows, the compiled policy
// map entries answer exactly as direct evaluation of the rules does, in
// both directions — and the incremental engine ends where a fresh full
// compile of the same state ends. The generator (generator.h) is shared
// with the datapath's differential test against `policy trace`.
#include <map>
#include <random>

#include "generator.h"
#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;

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
        for (const auto& f : kGeneratedFlows) {
          for (Direction d : {Direction::ingress, Direction::egress}) {
            auto direct = evaluate(policies, d, *subject, peer, f, /*allow_localhost=*/false);
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
