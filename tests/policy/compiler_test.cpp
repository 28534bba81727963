// The compiler's output (EndpointPolicy entries with provenance) and the
// incremental engine's bookkeeping.
#include <algorithm>

#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;
using axon::datapath::PolicyAction;
using axon::datapath::PolicyEntry;

namespace {

std::string cnp(const std::string& name, const std::string& spec, const std::string& ns = "prod") {
  return "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n" + spec;
}

std::vector<PolicyEntry> entries_for(const CompiledPolicy& c, Direction d, uint32_t identity) {
  std::vector<PolicyEntry> out;
  for (const auto& e : c.policy.entries) {
    if (e.direction == d && e.identity == identity) out.push_back(e);
  }
  return out;
}

PolicyEntry entry(Direction d, uint32_t id, Protocol p, uint16_t lo, uint16_t hi,
                  PolicyAction a = PolicyAction::allow, uint16_t proxy = 0) {
  return PolicyEntry{d, id, static_cast<uint8_t>(p), lo, hi, a, proxy};
}

}  // namespace

TEST_CASE("compile: one entry per peer identity and port, with the rules that produced it") {
  Cluster c;
  Peer web = c.pod("prod", "app=web");
  Peer db = c.pod("prod", "app=db");
  auto ps = must_decode(cnp("deny-all", "  endpointSelector: {}\n  ingress: [{}]\n") +
                        cnp("web-to-db", "  endpointSelector: {matchLabels: {app: db}}\n"
                                         "  ingress:\n"
                                         "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
                                         "      toPorts: [{ports: [{port: \"5432\", protocol: TCP}, "
                                         "{port: \"9000\", endPort: 9009}]}]\n"));
  auto compiled = compile(ps, db.identity, {}, c.universe());
  CHECK(compiled.policy.ingress_enforced);
  CHECK_FALSE(compiled.policy.egress_enforced);
  REQUIRE(compiled.ingress_default_deny_by.size() == 2);
  auto entries = entries_for(compiled, Direction::ingress, web.identity.id);
  // 5432/TCP, and 9000-9009 for ANY = TCP, UDP, SCTP; sorted by key.
  CHECK(entries == std::vector<PolicyEntry>{
                       entry(Direction::ingress, web.identity.id, Protocol::tcp, 5432, 5432),
                       entry(Direction::ingress, web.identity.id, Protocol::tcp, 9000, 9009),
                       entry(Direction::ingress, web.identity.id, Protocol::udp, 9000, 9009),
                       entry(Direction::ingress, web.identity.id, Protocol::sctp, 9000, 9009)});
  CHECK(compiled.policy.entries.size() == 4);
  auto origins = origins_of(compiled, 0);
  REQUIRE(origins.size() == 1);
  CHECK(to_string(origins[0]) == "CiliumNetworkPolicy prod/web-to-db spec.ingress[0]");
  CHECK(to_string(compiled.origins[compiled.ingress_default_deny_by[0]]) ==
        "CiliumNetworkPolicy prod/deny-all spec.ingress");
}

TEST_CASE("compile: deny and allow on the same key become one deny entry; any peer is identity 0") {
  Cluster c;
  Peer web = c.pod("prod", "app=web");
  Peer db = c.pod("prod", "app=db");
  auto ps = must_decode(cnp("allow", "  endpointSelector: {matchLabels: {app: db}}\n"
                                     "  ingress:\n"
                                     "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
                                     "      toPorts: [{ports: [{port: \"22\", protocol: TCP}]}]\n"
                                     "    - toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n") +
                        cnp("deny", "  endpointSelector: {matchLabels: {app: db}}\n"
                                    "  ingressDeny:\n"
                                    "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
                                    "      toPorts: [{ports: [{port: \"22\", protocol: TCP}]}]\n"));
  auto compiled = compile(ps, db.identity, {}, c.universe());
  auto web_entries = entries_for(compiled, Direction::ingress, web.identity.id);
  REQUIRE(web_entries.size() == 1);
  CHECK(web_entries[0].action == PolicyAction::deny);
  auto it = std::find(compiled.policy.entries.begin(), compiled.policy.entries.end(), web_entries[0]);
  auto origins = origins_of(compiled, static_cast<size_t>(it - compiled.policy.entries.begin()));
  REQUIRE(origins.size() == 1);
  CHECK(to_string(origins[0]) == "CiliumNetworkPolicy prod/deny spec.ingressDeny[0]");
  CHECK(entries_for(compiled, Direction::ingress, 0) ==
        std::vector<PolicyEntry>{entry(Direction::ingress, 0, Protocol::tcp, 443, 443)});
}

TEST_CASE("compile: entities, CIDRs, ICMP and L7 redirects as entries") {
  Cluster c;
  Peer db = c.pod("prod", "app=db");
  Peer web = c.pod("prod", "app=web");
  InMemoryIdentityAllocator alloc(0);
  PolicyEngine engine({}, &alloc);
  engine.upsert_policy(must_decode(cnp(
      "p", "  endpointSelector: {matchLabels: {app: db}}\n"
           "  ingress:\n"
           "    - fromEntities: [world]\n"
           "      icmps: [{fields: [{type: 8}]}]\n"
           "    - fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.1.0.0/16]}]\n"
           "  egress:\n"
           "    - toEndpoints: [{matchLabels: {app: web}}]\n"
           "      toPorts: [{ports: [{port: \"80\", protocol: TCP}], rules: {http: [{method: GET}]}}]\n"
           "    - toEntities: [all]\n"
           "      toPorts: [{ports: [{port: \"53\", protocol: UDP}], rules: {dns: [{matchPattern: \"*\"}]}}]\n"))[0]);
  for (const auto& id : c.universe()) engine.upsert_identity(id);
  engine.upsert_endpoint(Endpoint{7, db.identity.id, {}});
  (void)engine.commit();
  const CompiledPolicy* compiled = engine.endpoint_policy(7);
  REQUIRE(compiled != nullptr);
  auto prefixes = engine.cidr_prefixes();
  REQUIRE(prefixes.size() == 2);
  auto outer = alloc.find(cidr_labels(prefixes[0]));
  auto hole = alloc.find(cidr_labels(prefixes[1]));
  REQUIRE(outer.has_value());
  REQUIRE(hole.has_value());
  CHECK(is_local_scope(outer->id));
  // world: 2, 9, 10 and the CIDR identities (they carry reserved:world).
  for (uint32_t id : {reserved::world, reserved::world_ipv4, reserved::world_ipv6}) {
    CHECK(entries_for(*compiled, Direction::ingress, id) ==
          std::vector<PolicyEntry>{entry(Direction::ingress, id, Protocol::icmp, 8, 8)});
  }
  auto outer_entries = entries_for(*compiled, Direction::ingress, outer->id);
  CHECK(std::count(outer_entries.begin(), outer_entries.end(),
                   entry(Direction::ingress, outer->id, Protocol::any, 0, 0)) == 1);
  auto hole_entries = entries_for(*compiled, Direction::ingress, hole->id);
  CHECK(std::count(hole_entries.begin(), hole_entries.end(),
                   entry(Direction::ingress, hole->id, Protocol::any, 0, 0)) == 0);
  CHECK(entries_for(*compiled, Direction::egress, web.identity.id) ==
        std::vector<PolicyEntry>{entry(Direction::egress, web.identity.id, Protocol::tcp, 80, 80,
                                       PolicyAction::redirect, CompileOptions{}.http_egress_proxy_port)});
  CHECK(entries_for(*compiled, Direction::egress, 0) ==
        std::vector<PolicyEntry>{entry(Direction::egress, 0, Protocol::udp, 53, 53,
                                       PolicyAction::redirect, CompileOptions{}.dns_proxy_port)});
}

TEST_CASE("engine: a new identity adds entries only where rules select it, and says how many") {
  Cluster c;
  PolicyEngine engine;
  engine.upsert_policy(must_decode(cnp("db", "  endpointSelector: {matchLabels: {app: db}}\n"
                                             "  ingress:\n"
                                             "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
                                             "      toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]\n"))[0]);
  engine.upsert_policy(must_decode(cnp("cache", "  endpointSelector: {matchLabels: {app: cache}}\n"
                                                "  ingress: [{fromEndpoints: [{matchLabels: {app: api}}]}]\n"))[0]);
  Peer db = c.pod("prod", "app=db");
  Peer cache = c.pod("prod", "app=cache");
  for (const auto& id : c.universe()) engine.upsert_identity(id);
  engine.upsert_endpoint(Endpoint{1, db.identity.id, {}});
  engine.upsert_endpoint(Endpoint{2, db.identity.id, {}});
  engine.upsert_endpoint(Endpoint{3, cache.identity.id, {}});
  auto first = engine.commit();
  CHECK(first.policies_compiled == 2);
  CHECK(first.entries_added == 0);  // no web pod yet

  // A web pod with a new identity appears elsewhere: both db endpoints get
  // one entry; cache is untouched.
  Peer web = c.pod("prod", "app=web,version=2");
  engine.upsert_identity(web.identity);
  auto delta = engine.commit();
  CHECK(delta.policies_compiled == 0);
  CHECK(delta.entries_added == 2);
  CHECK(delta.entries_removed == 0);
  CHECK(delta.endpoints_updated == 2);
  CHECK(engine.endpoint_policy(1)->policy.entries ==
        std::vector<PolicyEntry>{entry(Direction::ingress, web.identity.id, Protocol::tcp, 5432, 5432)});
  CHECK(engine.endpoint_policy(3)->policy.entries.empty());

  // An identity no rule selects changes nothing.
  Peer batch = c.pod("prod", "app=batch");
  engine.upsert_identity(batch.identity);
  auto nothing = engine.commit();
  CHECK(nothing.entries_changed() == 0);
  CHECK(nothing.endpoints_updated == 0);

  // The identity goes: its entries go.
  engine.remove_identity(web.identity.id);
  auto gone = engine.commit();
  CHECK(gone.entries_removed == 2);
  CHECK(engine.endpoint_policy(1)->policy.entries.empty());

  // A policy change recompiles only what it selects.
  engine.upsert_policy(must_decode(cnp("cache", "  endpointSelector: {matchLabels: {app: cache}}\n"
                                                "  ingress: [{fromEntities: [world]}]\n"))[0]);
  auto changed = engine.commit();
  CHECK(changed.policies_compiled == 1);
  CHECK(changed.entries_added == 3);  // world, world-ipv4, world-ipv6
  CHECK(changed.endpoints_updated == 1);

  // A new endpoint of a known identity shares its compiled policy.
  engine.upsert_endpoint(Endpoint{4, cache.identity.id, {}});
  auto joined = engine.commit();
  CHECK(joined.policies_compiled == 0);
  CHECK(joined.entries_added == 3);
  CHECK(engine.endpoint_policy(4) == engine.endpoint_policy(3));

  engine.remove_endpoint(4);
  engine.remove_endpoint(3);
  auto left = engine.commit();
  CHECK(left.entries_removed == 6);
  CHECK(engine.endpoint_policy(3) == nullptr);
}

TEST_CASE("engine: CIDR identities follow the policies that name them") {
  InMemoryIdentityAllocator alloc;
  PolicyEngine engine({}, &alloc);
  auto p = must_decode(cnp("p", "  endpointSelector: {}\n  egress: [{toCIDR: [192.0.2.0/24]}]\n"))[0];
  engine.upsert_policy(p);
  (void)engine.commit();
  auto prefix = parse_prefix("192.0.2.0/24")->prefix;
  CHECK(alloc.find(cidr_labels(prefix)).has_value());
  engine.remove_policy(key_of(p));
  (void)engine.commit();
  CHECK_FALSE(alloc.find(cidr_labels(prefix)).has_value());
  CHECK(engine.cidr_prefixes().empty());
}

TEST_CASE("engine: toFQDNs selects the addresses learned for matching names (fqdn labels), as policy trace does") {
  Cluster c;
  PolicyEngine engine;
  auto p = must_decode(cnp("f", "  endpointSelector: {matchLabels: {app: web}}\n"
                                "  egress:\n"
                                "    - toFQDNs: [{matchPattern: \"*.Example.com\"}, {matchName: api.test}]\n"
                                "      toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]\n"))[0];
  engine.upsert_policy(p);
  Peer web = c.pod("prod", "app=web");
  for (const auto& id : c.universe()) engine.upsert_identity(id);
  engine.upsert_endpoint(Endpoint{1, web.identity.id, {}});
  (void)engine.commit();
  CHECK(engine.endpoint_policy(1)->policy.entries.empty());  // nothing learned yet

  auto learned = [](uint32_t id, const std::string& prefix, std::vector<std::string> fqdn_keys) {
    LabelSet l = cidr_labels(parse_prefix(prefix)->prefix);
    for (const auto& k : fqdn_keys) l.add(Label{std::string(kSourceFqdn), k, ""});
    return Identity{id, l};
  };
  FqdnSelector pattern{"", "*.Example.com"}, name{"api.test", ""};
  CHECK(fqdn_label_key(pattern) == "matchPattern:*.example.com.");
  CHECK(fqdn_label_key(name) == "matchName:api.test.");
  const Identity a = learned(16777301, "192.0.2.1/32", {fqdn_label_key(pattern)});
  const Identity b = learned(16777302, "192.0.2.2/32", {fqdn_label_key(name), fqdn_label_key(pattern)});
  const Identity other = learned(16777303, "192.0.2.3/32", {"matchName:elsewhere.test."});
  const Identity plain = learned(16777304, "192.0.2.4/32", {});
  for (const auto& id : {a, b, other, plain}) engine.upsert_identity(id);
  (void)engine.commit();
  const auto& entries = engine.endpoint_policy(1)->policy.entries;
  CHECK(entries == std::vector<PolicyEntry>{entry(Direction::egress, a.id, Protocol::tcp, 443, 443),
                                            entry(Direction::egress, b.id, Protocol::tcp, 443, 443)});
  // policy trace's evaluation agrees.
  for (const auto& [id, want] : {std::pair{a, true}, {b, true}, {other, false}, {plain, false}}) {
    auto v = evaluate({p}, Direction::egress, web, Peer{id, {}}, Flow{Protocol::tcp, 443});
    CHECK(v.allowed == want);
  }
  // The address expires: its identity goes, and so do its entries.
  engine.remove_identity(a.id);
  (void)engine.commit();
  CHECK(engine.endpoint_policy(1)->policy.entries ==
        std::vector<PolicyEntry>{entry(Direction::egress, b.id, Protocol::tcp, 443, 443)});
}
