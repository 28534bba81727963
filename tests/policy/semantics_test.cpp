// One test per semantic rule of ../shared/reference/semantics.md §1-2.
// Each verdict is computed by direct evaluation and by the compiled policy
// map entries at both ends, and the two must agree (helpers.h).
#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;

namespace {

std::string cnp(const std::string& name, const std::string& spec, const std::string& ns = "prod") {
  return "---\napiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n" + spec;
}
std::string ccnp(const std::string& name, const std::string& spec) {
  return "---\napiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: " +
         name + "}\nspec:\n" + spec;
}
std::string knp(const std::string& name, const std::string& spec, const std::string& ns = "prod") {
  return "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: " + name +
         ", namespace: " + ns + "}\nspec:\n" + spec;
}

struct Fixture {
  Cluster c;
  Peer web = c.pod("prod", "app=web");
  Peer db = c.pod("prod", "app=db");
  Peer other = c.pod("dev", "app=web");  // same labels, another namespace
  Peer world = c.reserved(reserved::world);
  Peer host = c.reserved(reserved::host);
  Peer remote_node = c.reserved(reserved::remote_node);

  bool pass(const std::vector<Policy>& ps, const Peer& src, const Peer& dst, Flow f) {
    return verdict(ps, src, dst, f, c.universe()).allowed;
  }
};

const char* kDbIngress = "  endpointSelector: {matchLabels: {app: db}}\n";

}  // namespace

// ---- 1.1 object shape -------------------------------------------------------

TEST_CASE("1.1 spec and specs both apply; one invalid rule invalidates the whole object") {
  Fixture f;
  auto ps = must_decode(cnp("p",
                            "  endpointSelector: {matchLabels: {app: db}}\n"
                            "  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n") +
                        "specs:\n  - endpointSelector: {matchLabels: {app: db}}\n"
                        "    ingress: [{fromEntities: [world]}]\n");
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].rules.size() == 2);
  CHECK(f.pass(ps, f.web, f.db, tcp(80)));
  CHECK(f.pass(ps, f.world, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, f.other, f.db, tcp(80)));

  auto d = decode_policies(cnp("p", "  endpointSelector: {}\n  ingress: [{}]\n") +
                               "specs:\n  - endpointSelector: {}\n    ingress: [{fromEntities: [moon]}]\n",
                           "t.yaml");
  CHECK(d.policies.empty());  // nothing of it is enforced
  CHECK(d.invalid == 1);
}

// ---- 1.2 rule fields ----------------------------------------------------------

TEST_CASE("1.2 inside one element L3 AND L4; entries of one field and elements are ORed") {
  Fixture f;
  auto ps = must_decode(cnp("p", std::string(kDbIngress) +
                                     "  ingress:\n"
                                     "    - fromEndpoints: [{matchLabels: {app: web}}, {matchLabels: {app: cache}}]\n"
                                     "      toPorts: [{ports: [{port: \"5432\", protocol: TCP}]}]\n"
                                     "    - fromEntities: [world]\n"));
  CHECK(f.pass(ps, f.web, f.db, tcp(5432)));
  CHECK_FALSE(f.pass(ps, f.web, f.db, tcp(5433)));  // peer matches, port does not
  CHECK(f.pass(ps, f.world, f.db, tcp(9999)));      // the second element
  Peer cache = f.c.pod("prod", "app=cache");
  CHECK(f.pass(ps, cache, f.db, tcp(5432)));  // the second selector of the first element
}

TEST_CASE("1.2 an element with only toPorts allows any peer on those ports, the world included") {
  Fixture f;
  auto ps = must_decode(cnp("p", std::string(kDbIngress) +
                                     "  ingress: [{toPorts: [{ports: [{port: \"443\", protocol: TCP}]}]}]\n"));
  CHECK(f.pass(ps, f.world, f.db, tcp(443)));
  CHECK(f.pass(ps, f.other, f.db, tcp(443)));
  CHECK_FALSE(f.pass(ps, f.web, f.db, tcp(80)));
}

TEST_CASE("1.2 an explicitly empty list selects nothing") {
  Fixture f;
  auto d = decode_policies(cnp("p", std::string(kDbIngress) + "  ingress: [{fromEntities: []}]\n"),
                           "t.yaml");
  CHECK(at(d.problems, "spec.ingress[0].fromEntities", Severity::warning) != nullptr);
  REQUIRE(d.policies.size() == 1);
  CHECK_FALSE(f.pass(d.policies, f.world, f.db, tcp(80)));
  CHECK_FALSE(f.pass(d.policies, f.web, f.db, tcp(80)));
}

TEST_CASE("1.2 CIDR rules match addresses outside the cluster, never pods; except carves holes") {
  Fixture f;
  Peer inside = f.c.cidr("10.1.2.0/24");
  Peer hole = f.c.cidr("10.96.0.0/12");
  Peer outside = f.c.cidr("192.168.0.0/16");
  auto ps = must_decode(cnp("p", std::string(kDbIngress) +
                                     "  ingress:\n    - fromCIDRSet: [{cidr: 10.0.0.0/8, except: [10.96.0.0/12]}]\n"));
  CHECK(f.pass(ps, inside, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, hole, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, outside, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, f.web, f.db, tcp(80)));    // a pod, whatever its IP
  CHECK_FALSE(f.pass(ps, f.world, f.db, tcp(80)));  // other addresses: only /0 covers them

  auto all = must_decode(cnp("p", std::string(kDbIngress) + "  ingress:\n    - fromCIDR: [0.0.0.0/0]\n"));
  CHECK(f.pass(all, f.world, f.db, tcp(80)));
  CHECK(f.pass(all, outside, f.db, tcp(80)));
  CHECK_FALSE(f.pass(all, f.web, f.db, tcp(80)));
}

TEST_CASE("1.2 entities: world is outside the cluster, cluster is everything inside, all is both") {
  Fixture f;
  Peer addr = f.c.cidr("203.0.113.0/24");
  auto ent = [&](const std::string& e) {
    return must_decode(cnp("p", std::string(kDbIngress) + "  ingress: [{fromEntities: [" + e + "]}]\n"));
  };
  auto world = ent("world");
  CHECK(f.pass(world, f.world, f.db, tcp(80)));
  CHECK(f.pass(world, addr, f.db, tcp(80)));
  CHECK_FALSE(f.pass(world, f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(world, f.host, f.db, tcp(80)));

  auto cluster = ent("cluster");
  CHECK(f.pass(cluster, f.web, f.db, tcp(80)));
  CHECK(f.pass(cluster, f.other, f.db, tcp(80)));  // any namespace
  CHECK(f.pass(cluster, f.host, f.db, tcp(80)));
  CHECK(f.pass(cluster, f.remote_node, f.db, tcp(80)));
  CHECK_FALSE(f.pass(cluster, f.world, f.db, tcp(80)));
  CHECK_FALSE(f.pass(cluster, addr, f.db, tcp(80)));

  auto all = ent("all");
  CHECK(f.pass(all, f.world, f.db, tcp(80)));
  CHECK(f.pass(all, f.web, f.db, tcp(80)));

  auto host = ent("host");
  CHECK(f.pass(host, f.host, f.db, tcp(80)));
  CHECK_FALSE(f.pass(host, f.remote_node, f.db, tcp(80)));
  auto remote = ent("remote-node");
  CHECK(f.pass(remote, f.remote_node, f.db, tcp(80)));
  CHECK_FALSE(f.pass(remote, f.host, f.db, tcp(80)));
}

TEST_CASE("1.2 ports: 0 is every port, endPort is an inclusive range, ANY is TCP, UDP and SCTP") {
  Fixture f;
  auto ports = [&](const std::string& p) {
    return must_decode(cnp("p", std::string(kDbIngress) +
                                    "  ingress: [{fromEntities: [all], toPorts: [{ports: [" + p + "]}]}]\n"));
  };
  auto range = ports("{port: \"8000\", endPort: 8010, protocol: TCP}");
  CHECK_FALSE(f.pass(range, f.web, f.db, tcp(7999)));
  CHECK(f.pass(range, f.web, f.db, tcp(8000)));
  CHECK(f.pass(range, f.web, f.db, tcp(8005)));
  CHECK(f.pass(range, f.web, f.db, tcp(8010)));
  CHECK_FALSE(f.pass(range, f.web, f.db, tcp(8011)));
  CHECK_FALSE(f.pass(range, f.web, f.db, udp(8005)));

  auto any = ports("{port: \"53\"}");
  CHECK(f.pass(any, f.web, f.db, tcp(53)));
  CHECK(f.pass(any, f.web, f.db, udp(53)));
  CHECK(f.pass(any, f.web, f.db, sctp(53)));
  CHECK_FALSE(f.pass(any, f.web, f.db, udp(54)));
  CHECK_FALSE(f.pass(any, f.web, f.db, icmp(8)));

  auto all_tcp = ports("{port: \"0\", protocol: TCP}");
  CHECK(f.pass(all_tcp, f.web, f.db, tcp(1)));
  CHECK(f.pass(all_tcp, f.web, f.db, tcp(65535)));
  CHECK_FALSE(f.pass(all_tcp, f.web, f.db, udp(53)));
}

TEST_CASE("1.2 named ports resolve through the destination pod's ports") {
  Fixture f;
  Peer api = f.c.pod("prod", "app=api", {{"http", NamedPort{Protocol::tcp, 8080}}});
  auto ingress = must_decode(cnp("p", "  endpointSelector: {matchLabels: {app: api}}\n"
                                      "  ingress: [{fromEntities: [all], toPorts: [{ports: [{port: http}]}]}]\n"));
  CHECK(f.pass(ingress, f.web, api, tcp(8080)));
  CHECK_FALSE(f.pass(ingress, f.web, api, tcp(80)));

  auto egress = must_decode(cnp("p", "  endpointSelector: {matchLabels: {app: web}}\n"
                                     "  egress: [{toEndpoints: [{}], toPorts: [{ports: [{port: http}]}]}]\n"));
  CHECK(f.pass(egress, f.web, api, tcp(8080)));  // api names 8080 "http"
  CHECK_FALSE(f.pass(egress, f.web, api, tcp(80)));
  CHECK_FALSE(f.pass(egress, f.web, f.db, tcp(8080)));  // db names no port "http"
}

TEST_CASE("1.2 ICMP is allowed with icmps; an L4-only policy blocks ping") {
  Fixture f;
  auto l4 = must_decode(cnp("p", std::string(kDbIngress) +
                                  "  ingress: [{fromEntities: [all], toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}]\n"));
  CHECK_FALSE(f.pass(l4, f.web, f.db, icmp(8)));
  auto ping = must_decode(cnp("p", std::string(kDbIngress) +
                                    "  ingress: [{fromEntities: [all], icmps: [{fields: [{type: EchoRequest}]}]}]\n"));
  CHECK(f.pass(ping, f.web, f.db, icmp(8)));
  CHECK_FALSE(f.pass(ping, f.web, f.db, icmp(13)));
  CHECK_FALSE(f.pass(ping, f.web, f.db, tcp(80)));
}

TEST_CASE("1.2 L7 rules redirect to the proxy; an L4-only allow on the same port opens it to every request") {
  Fixture f;
  const std::string http =
      "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
      "      toPorts: [{ports: [{port: \"80\", protocol: TCP}], rules: {http: [{method: GET}]}}]\n";
  auto l7 = must_decode(cnp("p", std::string(kDbIngress) + "  ingress:\n" + http));
  auto v = verdict(l7, f.web, f.db, tcp(80), f.c.universe());
  CHECK(v.allowed);
  CHECK(v.redirected);
  auto both = must_decode(cnp("p", std::string(kDbIngress) + "  ingress:\n" + http +
                                       "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
                                       "      toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]\n"));
  // With an L4-only allow for the same peer and port, the flow still goes
  // through the proxy (as the datapath orders it: redirect before allow),
  // and the proxy lets every request through.
  v = verdict(both, f.web, f.db, tcp(80), f.c.universe());
  CHECK(v.allowed);
  CHECK(v.redirected);
  auto t = trace(both, f.web, f.db, tcp(80));
  CHECK(t.ingress.l7_allow_all);
  CHECK_FALSE(trace(l7, f.web, f.db, tcp(80)).ingress.l7_allow_all);

  // The compiled entry is one redirect to the HTTP proxy, and it names the
  // L4-only rule that opens it to every request.
  auto c = compile(l7, f.db.identity, {}, f.c.universe());
  auto l = lookup(c.policy, Direction::ingress, f.web.identity.id, tcp(80));
  CHECK(l.redirected);
  CHECK(l.proxy_port == CompileOptions{}.http_proxy_port);
  auto cb = compile(both, f.db.identity, {}, f.c.universe());
  REQUIRE(cb.policy.entries.size() == 1);
  CHECK(cb.policy.entries[0].action == axon::datapath::PolicyAction::redirect);
  CHECK(origins_of(cb, 0).size() == 2);
}

TEST_CASE("1.2 fromRequires: every allowed peer must also match; it never grants by itself") {
  Fixture f;
  Peer web_prod = f.c.pod("prod", "app=web,env=prod");
  auto ps = must_decode(
      cnp("allow", std::string(kDbIngress) + "  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n") +
      cnp("require", std::string(kDbIngress) + "  ingress: [{fromRequires: [{matchLabels: {env: prod}}]}]\n"));
  CHECK(f.pass(ps, web_prod, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, f.web, f.db, tcp(80)));  // app=web, but no env=prod
  Peer other_prod = f.c.pod("prod", "app=cache,env=prod");
  CHECK_FALSE(f.pass(ps, other_prod, f.db, tcp(80)));  // meets the requirement, allowed by nothing
}

// ---- 1.3 default deny ---------------------------------------------------------

TEST_CASE("1.3 no policy selecting an endpoint: everything allowed") {
  Fixture f;
  auto ps = must_decode(cnp("p", "  endpointSelector: {matchLabels: {app: other}}\n  ingress: [{}]\n"));
  CHECK(f.pass(ps, f.web, f.db, tcp(80)));
  CHECK(f.pass(ps, f.world, f.db, tcp(80)));
}

TEST_CASE("1.3 the default-deny table: absent, [], [{}], [{fromEndpoints: [{}]}], [{fromEntities: [all]}]") {
  Fixture f;
  // ingress absent: no effect on ingress (an egress-only policy).
  auto absent = must_decode(cnp("p", std::string(kDbIngress) + "  egress: [{}]\n"));
  CHECK(f.pass(absent, f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(absent, f.db, f.web, tcp(80)));

  // ingress: [] is the same as absent: beside egress it is accepted with a
  // warning (as upstream), and as a model it puts nothing into default deny.
  auto d = decode_policies(cnp("p", std::string(kDbIngress) + "  ingress: []\n  egress: [{}]\n"), "t");
  CHECK(at(d.problems, "spec.ingress") == nullptr);
  CHECK(at(d.problems, "spec.ingress", Severity::warning) != nullptr);
  Rule r;
  r.path = "spec";
  r.subject = must_decode(cnp("x", std::string(kDbIngress) + "  ingress: [{}]\n"))[0].rules[0].subject;
  Policy empty_list{PolicyKind::cilium_network_policy, "prod", "p", {}, {r}, {}};
  CHECK(f.pass({empty_list}, f.web, f.db, tcp(80)));
  CHECK(f.pass({empty_list}, f.world, f.db, tcp(80)));

  // [{}]: deny all ingress.
  auto deny_all = must_decode(cnp("p", std::string(kDbIngress) + "  ingress: [{}]\n"));
  CHECK_FALSE(f.pass(deny_all, f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(deny_all, f.world, f.db, tcp(80)));
  CHECK(f.pass(deny_all, f.db, f.web, tcp(80)));  // egress untouched

  // [{fromEndpoints: [{}]}]: default deny, all pods of the policy's namespace.
  auto ns_only = must_decode(cnp("p", std::string(kDbIngress) + "  ingress: [{fromEndpoints: [{}]}]\n"));
  CHECK(f.pass(ns_only, f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ns_only, f.other, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ns_only, f.world, f.db, tcp(80)));

  // [{fromEntities: [all]}]: default deny on, everything allowed.
  auto all = must_decode(cnp("p", std::string(kDbIngress) + "  ingress: [{fromEntities: [all]}]\n"));
  CHECK(all[0].rules[0].default_deny_ingress);
  CHECK(f.pass(all, f.world, f.db, tcp(80)));
  CHECK(f.pass(all, f.other, f.db, tcp(80)));
}

TEST_CASE("1.3 ingressDeny alone puts the endpoint into default deny, unless enableDefaultDeny is false") {
  Fixture f;
  auto deny = must_decode(cnp("p", std::string(kDbIngress) +
                                    "  ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n"));
  CHECK_FALSE(f.pass(deny, f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(deny, f.world, f.db, tcp(80)));  // dropped too (cilium/cilium#20914)

  auto only_deny = must_decode(cnp("p", std::string(kDbIngress) +
                                         "  enableDefaultDeny: {ingress: false}\n"
                                         "  ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n"));
  CHECK_FALSE(f.pass(only_deny, f.web, f.db, tcp(80)));
  CHECK(f.pass(only_deny, f.world, f.db, tcp(80)));
}

TEST_CASE("1.3 enableDefaultDeny false adds allows without default deny; any other rule can still turn it on") {
  Fixture f;
  auto no_dd = must_decode(cnp("p", std::string(kDbIngress) +
                                     "  enableDefaultDeny: {ingress: false}\n"
                                     "  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n"));
  CHECK(f.pass(no_dd, f.world, f.db, tcp(80)));
  CHECK(f.pass(no_dd, f.web, f.db, tcp(80)));

  auto with_other = no_dd;
  for (auto& p : must_decode(cnp("q", std::string(kDbIngress) +
                                          "  ingress: [{fromEntities: [host]}]\n"))) {
    with_other.push_back(p);
  }
  CHECK_FALSE(f.pass(with_other, f.world, f.db, tcp(80)));
  CHECK(f.pass(with_other, f.web, f.db, tcp(80)));
  CHECK(f.pass(with_other, f.host, f.db, tcp(80)));

  // An L7 rule holds its port to the proxy even without default deny.
  auto l7 = must_decode(cnp("p", std::string(kDbIngress) +
                                  "  enableDefaultDeny: {ingress: false}\n"
                                  "  ingress: [{fromEndpoints: [{}], toPorts: [{ports: [{port: \"80\", "
                                  "protocol: TCP}], rules: {http: [{path: /public}]}}]}]\n"));
  auto v = verdict(l7, f.web, f.db, tcp(80), f.c.universe());
  CHECK(v.allowed);
  CHECK(v.redirected);
  v = verdict(l7, f.web, f.db, tcp(81), f.c.universe());
  CHECK(v.allowed);
  CHECK_FALSE(v.redirected);
}

// ---- 1.4 deny precedence ------------------------------------------------------

TEST_CASE("1.4 deny beats allow, whatever the order or the kind of the allowing policy") {
  Fixture f;
  const std::string deny =
      cnp("deny", std::string(kDbIngress) + "  ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n");
  const std::string allow =
      cnp("allow", std::string(kDbIngress) + "  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n");
  const std::string k8s_allow =
      knp("allow", "  podSelector: {matchLabels: {app: db}}\n  ingress: [{}]\n");
  CHECK_FALSE(f.pass(must_decode(allow + deny), f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(must_decode(deny + allow), f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(must_decode(deny + k8s_allow), f.web, f.db, tcp(80)));
  CHECK(f.pass(must_decode(deny + k8s_allow), f.world, f.db, tcp(80)));
}

TEST_CASE("1.4 Cilium's deny example: allow L3 + HTTP on 80,81; deny 80; then deny the client") {
  Fixture f;
  const std::string allow = cnp(
      "allow", std::string(kDbIngress) +
                   "  ingress:\n"
                   "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
                   "    - fromEndpoints: [{matchLabels: {app: web}}]\n"
                   "      toPorts: [{ports: [{port: \"80\", protocol: TCP}, {port: \"81\", protocol: TCP}],"
                   " rules: {http: [{method: GET}]}}]\n");
  auto ps = must_decode(allow);
  CHECK(f.pass(ps, f.web, f.db, tcp(80)));
  CHECK(f.pass(ps, f.web, f.db, tcp(81)));
  CHECK(f.pass(ps, f.web, f.db, icmp(8)));
  ps = must_decode(allow + cnp("deny80", std::string(kDbIngress) +
                                             "  ingressDeny: [{toPorts: [{ports: [{port: \"80\", protocol: TCP}]}]}]\n"));
  CHECK_FALSE(f.pass(ps, f.web, f.db, tcp(80)));
  CHECK(f.pass(ps, f.web, f.db, tcp(81)));
  CHECK(f.pass(ps, f.web, f.db, icmp(8)));
  ps = must_decode(allow + cnp("deny-client", std::string(kDbIngress) +
                                                  "  ingressDeny: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n"));
  CHECK_FALSE(f.pass(ps, f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, f.web, f.db, tcp(81)));
  CHECK_FALSE(f.pass(ps, f.web, f.db, icmp(8)));
}

// ---- 1.5 namespaces and label sources ----------------------------------------

TEST_CASE("1.5 a CiliumNetworkPolicy implies its namespace; other namespaces are named explicitly") {
  Fixture f;
  auto same = must_decode(cnp("p", std::string(kDbIngress) +
                                    "  ingress: [{fromEndpoints: [{matchLabels: {app: web}}]}]\n"));
  CHECK(f.pass(same, f.web, f.db, tcp(80)));
  CHECK_FALSE(f.pass(same, f.other, f.db, tcp(80)));

  auto dev = must_decode(cnp("p", std::string(kDbIngress) +
                                   "  ingress: [{fromEndpoints: [{matchLabels: {app: web, "
                                   "k8s:io.kubernetes.pod.namespace: dev}}]}]\n"));
  CHECK(f.pass(dev, f.other, f.db, tcp(80)));
  CHECK_FALSE(f.pass(dev, f.web, f.db, tcp(80)));

  auto every = must_decode(cnp("p", std::string(kDbIngress) +
                                     "  ingress: [{fromEndpoints: [{matchLabels: {app: web}, matchExpressions: "
                                     "[{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}]}]\n"));
  CHECK(f.pass(every, f.web, f.db, tcp(80)));
  CHECK(f.pass(every, f.other, f.db, tcp(80)));

  // The endpointSelector never reaches another namespace's pods.
  Peer dev_db = f.c.pod("dev", "app=db");
  auto deny_all = must_decode(cnp("p", std::string(kDbIngress) + "  ingress: [{}]\n"));
  CHECK(f.pass(deny_all, f.web, dev_db, tcp(80)));
}

TEST_CASE("1.5 cluster-wide peers without a namespace: pods of every namespace, no reserved identities") {
  Fixture f;
  auto ps = must_decode(ccnp("p", "  endpointSelector: {matchLabels: {app: db}}\n"
                                  "  ingress: [{fromEndpoints: [{}]}]\n"));
  CHECK(f.pass(ps, f.web, f.db, tcp(80)));
  CHECK(f.pass(ps, f.other, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, f.world, f.db, tcp(80)));
  CHECK_FALSE(f.pass(ps, f.host, f.db, tcp(80)));
  Peer dev_db = f.c.pod("dev", "app=db");
  CHECK_FALSE(f.pass(ps, f.world, dev_db, tcp(80)));  // the endpointSelector: every namespace
}

TEST_CASE("1.5 namespace-label and reserved selectors get no namespace added") {
  Fixture f;
  PodLabels pl;
  pl.ns = "team-a";
  pl.labels = {{"app", "web"}};
  pl.namespace_labels = {{"team", "a"}};
  auto id_labels = identity_labels(pl);
  Cluster& c = f.c;
  (void)c;
  InMemoryIdentityAllocator alloc(1);
  auto team_a = alloc.allocate(id_labels);
  REQUIRE(team_a.ok());
  Peer team_web{*team_a, {}};
  std::vector<Identity> universe = f.c.universe();
  universe.push_back(*team_a);
  auto ps = must_decode(cnp("p", std::string(kDbIngress) +
                                  "  ingress: [{fromEndpoints: [{matchLabels: "
                                  "{k8s:io.cilium.k8s.namespace.labels.team: a}}]}]\n"));
  CHECK(verdict(ps, team_web, f.db, tcp(80), universe).allowed);
  CHECK_FALSE(verdict(ps, f.web, f.db, tcp(80), universe).allowed);

  auto host = must_decode(cnp("p", std::string(kDbIngress) +
                                    "  ingress: [{fromEndpoints: [{matchLabels: {reserved:host: \"\"}}]}]\n"));
  CHECK(f.pass(host, f.host, f.db, tcp(80)));
  CHECK_FALSE(f.pass(host, f.web, f.db, tcp(80)));
}

TEST_CASE("label selectors: matchLabels and In, NotIn, Exists, DoesNotExist; any: matches every source") {
  Fixture f;
  Peer blue = f.c.pod("prod", "app=web,color=blue");
  Peer red = f.c.pod("prod", "app=web,color=red");
  Peer plain = f.c.pod("prod", "app=web");
  auto sel = [&](const std::string& expr) {
    return must_decode(cnp("p", std::string(kDbIngress) +
                                    "  ingress: [{fromEndpoints: [{matchExpressions: [" + expr + "]}]}]\n"));
  };
  auto in = sel("{key: color, operator: In, values: [blue, green]}");
  CHECK(f.pass(in, blue, f.db, tcp(80)));
  CHECK_FALSE(f.pass(in, red, f.db, tcp(80)));
  CHECK_FALSE(f.pass(in, plain, f.db, tcp(80)));
  auto not_in = sel("{key: color, operator: NotIn, values: [blue]}");
  CHECK_FALSE(f.pass(not_in, blue, f.db, tcp(80)));
  CHECK(f.pass(not_in, red, f.db, tcp(80)));
  CHECK(f.pass(not_in, plain, f.db, tcp(80)));
  auto exists = sel("{key: color, operator: Exists}");
  CHECK(f.pass(exists, blue, f.db, tcp(80)));
  CHECK(f.pass(exists, red, f.db, tcp(80)));
  CHECK_FALSE(f.pass(exists, plain, f.db, tcp(80)));
  auto absent = sel("{key: color, operator: DoesNotExist}");
  CHECK_FALSE(f.pass(absent, blue, f.db, tcp(80)));
  CHECK(f.pass(absent, plain, f.db, tcp(80)));

  auto k8s_source = must_decode(cnp("p", std::string(kDbIngress) +
                                          "  ingress: [{fromEndpoints: [{matchLabels: {k8s:color: blue}}]}]\n"));
  CHECK(f.pass(k8s_source, blue, f.db, tcp(80)));
  auto container_source = must_decode(cnp("p", std::string(kDbIngress) +
                                                "  ingress: [{fromEndpoints: [{matchLabels: {container:color: blue}}]}]\n"));
  CHECK_FALSE(f.pass(container_source, blue, f.db, tcp(80)));  // pods carry k8s: labels
}

// ---- 2 Kubernetes NetworkPolicy --------------------------------------------------

TEST_CASE("2 NetworkPolicy: policyTypes, empty and missing rules, peers, ports") {
  Fixture f;
  // Ingress by default: no rules = deny all ingress; egress untouched.
  auto deny = must_decode(knp("n", "  podSelector: {matchLabels: {app: db}}\n"));
  CHECK_FALSE(f.pass(deny, f.web, f.db, tcp(80)));
  CHECK(f.pass(deny, f.db, f.web, tcp(80)));
  // An egress section adds Egress; `egress: []` then denies all egress.
  auto egress_empty = must_decode(knp("n", "  podSelector: {}\n  policyTypes: [Egress]\n  egress: []\n"));
  CHECK_FALSE(f.pass(egress_empty, f.db, f.world, tcp(443)));
  CHECK(f.pass(egress_empty, f.world, f.db, tcp(443)));
  // ingress: [{}] allows everything, the world included.
  auto allow_all = must_decode(knp("n", "  podSelector: {}\n  ingress: [{}]\n"));
  CHECK(f.pass(allow_all, f.world, f.db, tcp(80)));
  CHECK(f.pass(allow_all, f.other, f.db, tcp(80)));

  auto peers = must_decode(knp("n",
                               "  podSelector: {matchLabels: {app: db}}\n"
                               "  ingress:\n"
                               "    - from:\n"
                               "        - podSelector: {matchLabels: {app: web}}\n"
                               "        - namespaceSelector: {matchLabels: {kubernetes.io/metadata.name: dev}}\n"
                               "          podSelector: {matchLabels: {app: web}}\n"
                               "        - ipBlock: {cidr: 10.0.0.0/8, except: [10.9.0.0/16]}\n"
                               "      ports:\n"
                               "        - port: 5432\n"
                               "        - protocol: UDP\n"
                               "          port: 6000\n"
                               "          endPort: 6010\n"));
  Peer dev_cache = f.c.pod("dev", "app=cache");
  Peer net = f.c.cidr("10.1.0.0/16");
  Peer hole = f.c.cidr("10.9.0.0/16");
  CHECK(f.pass(peers, f.web, f.db, tcp(5432)));    // podSelector alone: own namespace
  CHECK(f.pass(peers, f.other, f.db, tcp(5432)));  // namespaceSelector AND podSelector
  CHECK_FALSE(f.pass(peers, dev_cache, f.db, tcp(5432)));
  CHECK(f.pass(peers, net, f.db, tcp(5432)));
  CHECK_FALSE(f.pass(peers, hole, f.db, tcp(5432)));
  CHECK_FALSE(f.pass(peers, f.web, f.db, udp(5432)));  // ports default to TCP
  CHECK(f.pass(peers, f.web, f.db, udp(6010)));
  CHECK_FALSE(f.pass(peers, f.web, f.db, udp(6011)));

  // namespaceSelector {} alone: every pod of every namespace, not the world.
  auto any_pod = must_decode(knp("n", "  podSelector: {}\n  ingress: [{from: [{namespaceSelector: {}}]}]\n"));
  CHECK(f.pass(any_pod, f.other, f.db, tcp(80)));
  CHECK_FALSE(f.pass(any_pod, f.world, f.db, tcp(80)));
  CHECK_FALSE(f.pass(any_pod, f.host, f.db, tcp(80)));
}
