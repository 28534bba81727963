// Decoding and strict validation: every field into the model, every
// mistake an error (or warning) naming its field path and the fix.
#include <algorithm>

#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;

namespace {

std::string cnp(const std::string& spec, const std::string& ns = "shop") {
  return "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata:\n  name: p\n  namespace: " +
         ns + "\nspec:\n" + spec;
}

const Requirement* requirement(const Selector& s, std::string_view key) {
  for (const auto& r : s.requirements) {
    if (r.key == key) return &r;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("every modelled field of a CiliumNetworkPolicy decodes") {
  auto d = decode_policies(read_file(AXON_POLICY_TESTDATA "/all-fields.yaml"), "all-fields.yaml");
  CHECK_MESSAGE(count(d.problems, Severity::error) == 0, dump(d.problems));
  // fromRequires is deprecated: a warning, not an error.
  CHECK(at(d.problems, "spec.ingress[0].fromRequires", Severity::warning) != nullptr);
  REQUIRE(d.policies.size() == 1);
  const Policy& p = d.policies[0];
  CHECK(p.kind == PolicyKind::cilium_network_policy);
  CHECK(p.ns == "shop");
  CHECK(p.labels.has("k8s", "team"));
  REQUIRE(p.rules.size() == 1);
  const Rule& r = p.rules[0];
  CHECK(r.description == "every field");
  CHECK(r.labels.has("k8s", "owner"));
  // The endpointSelector gets the policy's namespace.
  CHECK(to_string(r.subject) ==
        "app=checkout, !canary, k8s:io.kubernetes.pod.namespace=shop, tier in (api, web)");
  CHECK(r.default_deny_ingress);
  CHECK(r.default_deny_egress);

  REQUIRE(r.ingress.size() == 3);
  const PeerRule& in0 = r.ingress[0];
  REQUIRE(in0.endpoints.size() == 2);
  CHECK(to_string(in0.endpoints[0]) == "app=frontend, k8s:io.kubernetes.pod.namespace=shop");
  // A peer naming its namespace keeps it.
  CHECK(to_string(in0.endpoints[1]) ==
        "app notin (debug), k8s:io.kubernetes.pod.namespace=monitoring");
  REQUIRE(in0.requirements.size() == 1);
  CHECK(to_string(in0.requirements[0]) == "env=prod, k8s:io.kubernetes.pod.namespace=shop");
  REQUIRE(in0.ports.size() == 1);
  REQUIRE(in0.ports[0].ports.size() == 2);
  CHECK(in0.ports[0].ports[0] == PortProtocol{8080, 0, "", Protocol::tcp});
  CHECK(in0.ports[0].ports[1] == PortProtocol{9000, 9100, "", Protocol::tcp});
  REQUIRE(in0.ports[0].rules.http.size() == 1);
  const HttpRule& h = in0.ports[0].rules.http[0];
  CHECK(h.method == "GET|POST");
  CHECK(h.path == "/api/v[0-9]+/.*");
  CHECK(h.headers == std::vector<std::string>{"X-Trace", "X-Env: prod"});
  REQUIRE(h.header_matches.size() == 1);
  CHECK(h.header_matches[0].secret_name == "token");
  CHECK(h.header_matches[0].mismatch == "LOG");
  CHECK_FALSE(in0.any_peer);

  const PeerRule& in1 = r.ingress[1];
  REQUIRE(in1.cidrs.size() == 1);
  CHECK(to_string(in1.cidrs[0].cidr) == "10.0.0.0/8");
  REQUIRE(in1.cidrs[0].except.size() == 1);
  CHECK(to_string(in1.cidrs[0].except[0]) == "10.96.0.0/12");
  CHECK(in1.ports[0].ports[0].name == "http");

  const PeerRule& in2 = r.ingress[2];
  CHECK(in2.entities.size() == 8);
  REQUIRE(in2.icmps.size() == 2);
  CHECK(in2.icmps[0] == IcmpField{4, 8});
  CHECK(in2.icmps[1] == IcmpField{6, 128});

  REQUIRE(r.ingress_deny.size() == 2);
  CHECK(r.ingress_deny[1].entities == std::vector<Entity>{Entity::cluster});

  REQUIRE(r.egress.size() == 5);
  CHECK(r.egress[0].ports[0].rules.dns.size() == 2);
  CHECK(r.egress[0].ports[0].rules.dns[0].match_pattern == "*.example.com");
  CHECK(r.egress[1].fqdns.size() == 2);
  REQUIRE(r.egress[2].services.size() == 1);
  CHECK(r.egress[2].services[0].name == "payments");
  CHECK(r.egress[3].ports[0].ports[0].protocol == Protocol::sctp);
  CHECK(r.egress[4].entities == std::vector<Entity>{Entity::all});
  REQUIRE(r.egress_deny.size() == 1);
  CHECK(r.egress_deny[0].entities == std::vector<Entity>{Entity::world});
}

TEST_CASE("specs lists, host rules and Kubernetes NetworkPolicy decode into one model") {
  auto d = decode_policies(read_file(AXON_POLICY_TESTDATA "/specs-and-knp.yaml"), "s.yaml");
  CHECK_MESSAGE(count(d.problems, Severity::error) == 0, dump(d.problems));
  REQUIRE(d.policies.size() == 2);
  const Policy& ccnp = d.policies[0];
  CHECK(ccnp.kind == PolicyKind::cilium_clusterwide_network_policy);
  CHECK(ccnp.ns.empty());
  REQUIRE(ccnp.rules.size() == 2);
  CHECK(ccnp.rules[0].path == "specs[0]");
  // A cluster-wide peer without a namespace: pods of every namespace.
  CHECK(to_string(ccnp.rules[0].ingress[0].endpoints[0]) ==
        "app=api, k8s:io.kubernetes.pod.namespace");
  CHECK(ccnp.rules[1].host);
  CHECK(ccnp.rules[1].path == "specs[1]");

  const Policy& knp = d.policies[1];
  CHECK(knp.kind == PolicyKind::network_policy);
  const Rule& r = knp.rules[0];
  CHECK(to_string(r.subject) == "k8s:app=web, k8s:io.kubernetes.pod.namespace=shop");
  CHECK(r.default_deny_ingress);
  CHECK(r.default_deny_egress);
  REQUIRE(r.ingress.size() == 1);
  const PeerRule& in = r.ingress[0];
  REQUIRE(in.endpoints.size() == 2);
  CHECK(to_string(in.endpoints[0]) == "k8s:app=lb, k8s:io.kubernetes.pod.namespace=shop");
  CHECK(to_string(in.endpoints[1]) ==
        "k8s:app=prometheus, k8s:io.cilium.k8s.namespace.labels.team=ops, "
        "k8s:io.kubernetes.pod.namespace");
  REQUIRE(in.cidrs.size() == 1);
  CHECK(in.cidrs[0].except.size() == 1);
  REQUIRE(in.ports.size() == 1);
  CHECK(in.ports[0].ports[0] == PortProtocol{8080, 0, "", Protocol::tcp});  // TCP by default
  CHECK(in.ports[0].ports[1] == PortProtocol{5000, 5010, "", Protocol::udp});
  REQUIRE(r.egress.size() == 1);
  CHECK(to_string(r.egress[0].endpoints[0]) == "k8s:io.kubernetes.pod.namespace");
  CHECK(r.egress[0].ports[0].ports[0].name == "dns");
}

TEST_CASE("JSON manifests decode, with the same problems") {
  auto d = decode_policies(read_file(AXON_POLICY_TESTDATA "/policy.json"), "policy.json");
  // ingress: [] beside a meaningful egress: upstream accepts it, so a warning.
  CHECK(at(d.problems, "spec.ingress") == nullptr);
  const Diagnostic* empty = at(d.problems, "spec.ingress", Severity::warning);
  REQUIRE_MESSAGE(empty != nullptr, dump(d.problems));
  CHECK(empty->location.line == 7);
  // "port": 5432 is a number; Cilium's port is a string.
  const Diagnostic* port =
      at(d.problems, "spec.egress[0].toPorts[0].ports[0].port", Severity::warning);
  REQUIRE(port != nullptr);
  CHECK(port->fixable);

  // Objects from the store arrive as JSON values.
  auto j = nlohmann::json::parse(read_file(AXON_POLICY_TESTDATA "/policy.json"));
  j["spec"].erase("ingress");
  auto doc = document_from_json(j, "store", 1);
  REQUIRE(doc.ok());
  auto dec = decode_policy(*doc);
  CHECK(dec.is_policy);
  CHECK_MESSAGE(dec.policy.has_value(), dump(dec.problems));
}

TEST_CASE("unknown fields are errors with the closest valid field") {
  auto ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - fromEndpoint: [{}]\n"));
  const Diagnostic* p = at(ps, "spec.ingress[0].fromEndpoint");
  REQUIRE_MESSAGE(p != nullptr, dump(ps));
  CHECK(p->message == "unknown field \"fromEndpoint\" in ingress element");
  CHECK(p->fix == "did you mean \"fromEndpoints\"?");
  CHECK(p->location.line == 9);

  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - toEndpoints: [{}]\n"));
  p = at(ps, "spec.ingress[0].toEndpoints");
  REQUIRE(p != nullptr);
  CHECK(mentions(p, "belongs to the other direction; here it is \"fromEndpoints\""));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingres: [{}]\n"));
  CHECK(mentions(at(ps, "spec.ingres"), "did you mean \"ingress\"?"));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingress: [{}]\n") + "extra: 1\n");
  CHECK(at(ps, "extra") != nullptr);
}

TEST_CASE("duplicate keys are errors: YAML readers would keep only one") {
  auto ps = problems_of(cnp("  endpointSelector: {}\n  ingress: [{}]\n  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.ingress"), "duplicate key"));
}

TEST_CASE("apiVersion, kind and metadata are checked") {
  auto ps = problems_of(
      "apiVersion: cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\n"
      "spec: {endpointSelector: {}, ingress: [{}]}\n");
  const Diagnostic* p = at(ps, "apiVersion");
  REQUIRE(p != nullptr);
  CHECK(p->fix == "write apiVersion: cilium.io/v2");
  CHECK(p->fixable);

  ps = problems_of("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolcy\nmetadata: {name: p}\n");
  CHECK(mentions(at(ps, "kind"), "did you mean \"CiliumNetworkPolicy\"?"));

  // Not a policy at all: skipped with a warning, never an error.
  auto d = decode_policies("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n", "s.yaml");
  CHECK(count(d.problems, Severity::error) == 0);
  CHECK(count(d.problems, Severity::warning) == 1);

  ps = problems_of("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: Bad_Name}\n"
                   "spec: {endpointSelector: {}, ingress: [{}]}\n");
  CHECK(at(ps, "metadata.name") != nullptr);
  CHECK(at(ps, "metadata.namespace", Severity::warning) != nullptr);  // assumed "default"

  ps = problems_of("apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\n"
                   "metadata: {name: c, namespace: x}\nspec: {endpointSelector: {matchLabels: {a: b}}, "
                   "ingress: [{}]}\n");
  CHECK(mentions(at(ps, "metadata.namespace", Severity::warning), "cluster-scoped"));

  ps = problems_of("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\n");
  CHECK(mentions(at(ps, "spec"), "empty policy"));
}

TEST_CASE("rules: selector XOR, namespaces, empty sections") {
  auto ps = problems_of(cnp("  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.endpointSelector"), "endpointSelector: {}"));

  ps = problems_of(cnp("  nodeSelector: {}\n  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.nodeSelector"), "only valid in a CiliumClusterwideNetworkPolicy"));

  ps = problems_of(cnp("  endpointSelector: {}\n  nodeSelector: {}\n  ingress: [{}]\n"));
  CHECK(at(ps, "spec.nodeSelector") != nullptr);

  ps = problems_of(cnp("  endpointSelector:\n    matchLabels:\n      k8s:io.kubernetes.pod.namespace: other\n"
                       "  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.endpointSelector"), "only selects pods of its own namespace"));

  // `ingress:` with no value is nil in Go: the same trap as [].
  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n  egress: [{}]\n"));
  CHECK(at(ps, "spec.ingress") == nullptr);  // beside egress: a warning, as upstream accepts it
  const Diagnostic* p = at(ps, "spec.ingress", Severity::warning);
  REQUIRE(p != nullptr);
  CHECK(mentions(p, "no value (null) enables no default deny, so this rule blocks no ingress"));
  CHECK(p->fixable);
  // As the rule's only section it is an error.
  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n"));
  REQUIRE(at(ps, "spec.ingress") != nullptr);
  CHECK(mentions(at(ps, "spec.ingress"), "this policy blocks nothing"));

  // With enableDefaultDeny the empty list is only redundant.
  ps = problems_of(cnp("  endpointSelector: {}\n  ingress: []\n  enableDefaultDeny: {ingress: true}\n"));
  CHECK(at(ps, "spec.ingress") == nullptr);
  CHECK(mentions(at(ps, "spec.ingress", Severity::warning), "has no effect"));

  ps = problems_of(cnp("  endpointSelector: {}\n  description: nothing\n"));
  CHECK(mentions(at(ps, "spec"), "enforces nothing"));

  ps = problems_of(cnp("  endpointSelector: {}\n  enableDefaultDeny: {ingress: yes}\n  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.enableDefaultDeny.ingress"), "must be true or false"));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingressDeny: []\n  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.ingressDeny", Severity::warning), "denies nothing"));
}

TEST_CASE("keys that exclude each other: each site says it the same way, at the same place") {
  std::string knp =
      "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: p, namespace: a}\n"
      "spec:\n  podSelector: {}\n  ingress:\n    - from:\n        - ";
  struct Case {
    std::string yaml;
    std::string path;
    int line;
    std::string message;
    std::string fix;
  };
  const Case cases[] = {
      {cnp("  endpointSelector: {}\n  nodeSelector: {}\n  ingress: [{}]\n"),
       "spec.nodeSelector", 8,
       "a rule has either endpointSelector (pods) or nodeSelector (nodes), not both",
       "write two rules (specs)"},
      {cnp("  endpointSelector: {}\n  egress:\n    - toServices:\n"
           "        - k8sService: {serviceName: a}\n"
           "          k8sServiceSelector: {selector: {}}\n"),
       "spec.egress[0].toServices[0]", 10, "give exactly one of k8sService and k8sServiceSelector",
       ""},
      {cnp("  endpointSelector: {}\n  egress:\n    - toServices: [{}]\n"),
       "spec.egress[0].toServices[0]", 9, "give exactly one of k8sService and k8sServiceSelector",
       ""},
      {cnp("  endpointSelector: {}\n  egress:\n    - toFQDNs:\n        - {matchName: a.com, "
           "matchPattern: \"*.a.com\"}\n"),
       "spec.egress[0].toFQDNs[0]", 10, "give exactly one of matchName and matchPattern", ""},
      {cnp("  endpointSelector: {}\n  egress:\n    - toFQDNs: [{}]\n"),
       "spec.egress[0].toFQDNs[0]", 9, "give exactly one of matchName and matchPattern", ""},
      {cnp("  endpointSelector: {}\n  egress:\n    - toServices: [{k8sService: {serviceName: a}}]\n"
           "      toPorts: [{ports: [{port: \"80\"}]}]\n"),
       "spec.egress[0].toPorts", 10, "toServices cannot be combined with toPorts",
       "the service's own ports apply; remove toPorts"},
      {cnp("  endpointSelector: {}\n  ingress:\n    - toPorts: [{ports: [{port: \"80\"}]}]\n"
           "      icmps: [{fields: [{type: 8}]}]\n"),
       "spec.ingress[0].icmps", 10, "icmps cannot be combined with toPorts in one element",
       "write two elements with the same peers"},
      {cnp("  endpointSelector: {}\n  ingress:\n    - toPorts:\n        - ports: [{port: \"80\", "
           "protocol: TCP}]\n          rules:\n            http:\n              - headerMatches:\n"
           "                  - {name: X, value: v, secret: {name: s}}\n"),
       "spec.ingress[0].toPorts[0].rules.http[0].headerMatches[0].secret", 14,
       "give value or secret, not both", ""},
      {knp + "ipBlock: {cidr: 10.0.0.0/8}\n          podSelector: {}\n",
       "spec.ingress[0].from[0].ipBlock", 8,
       "ipBlock cannot be combined with podSelector or namespaceSelector in one peer",
       "write them as separate peers"},
      {knp + "{}\n", "spec.ingress[0].from[0]", 8,
       "a peer needs podSelector, namespaceSelector or ipBlock", ""},
  };
  for (const auto& c : cases) {
    CAPTURE(c.yaml);
    auto ps = problems_of(c.yaml);
    const Diagnostic* p = at(ps, c.path);
    REQUIRE_MESSAGE(p != nullptr, dump(ps));
    CHECK(p->message == c.message);
    CHECK(p->fix == c.fix);
    CHECK(p->location.line == c.line);
    // One problem says it: the check reports once, whatever else is wrong.
    CHECK(std::count_if(ps.begin(), ps.end(), [&](const Diagnostic& d) {
            return d.message == c.message;
          }) == 1);
  }
  // Keys that may go together, and one of each kind, are fine.
  auto ps = problems_of(knp + "podSelector: {}\n          namespaceSelector: {}\n");
  CHECK_MESSAGE(ps.empty(), dump(ps));
  ps = problems_of(cnp("  endpointSelector: {}\n  egress:\n    - toFQDNs: [{matchName: a.com}]\n"
                       "      toPorts: [{ports: [{port: \"53\", protocol: ANY}], rules: {dns: "
                       "[{matchPattern: \"*\"}]}}]\n"));
  CHECK_MESSAGE(ps.empty(), dump(ps));
}

TEST_CASE("L7 rules and toFQDNs are enforced: no warning but the missing dns rule's") {
  auto ps = problems_of(cnp(
      "  endpointSelector: {}\n  ingress:\n    - toPorts: [{ports: [{port: \"80\", protocol: TCP}], rules: "
      "{http: [{method: GET}]}}]\n  egress:\n    - toFQDNs: [{matchName: a.com}]\n"
      "      toPorts: [{ports: [{port: \"53\", protocol: ANY}], rules: {dns: [{matchName: "
      "a.com}]}}]\n    - toPorts: [{ports: [{port: \"80\", protocol: TCP}], rules: {http: [{method: GET}]}}]\n"));
  CHECK_MESSAGE(ps.empty(), dump(ps));
  ps = problems_of(cnp("  endpointSelector: {}\n  egress:\n    - toFQDNs: [{matchName: a.com}]\n"));
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].severity == Severity::warning);
  CHECK(ps[0].message.find("no rule of this policy sends lookups through it") != std::string::npos);
}

TEST_CASE("selectors: operators, values, label sources") {
  auto ps = problems_of(cnp(
      "  endpointSelector:\n    matchExpressions:\n      - {key: app, operator: in, values: [a]}\n"
      "  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.endpointSelector.matchExpressions[0].operator"),
                 "did you mean \"In\"?"));

  ps = problems_of(cnp(
      "  endpointSelector:\n    matchExpressions:\n      - {key: app, operator: In}\n"
      "  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.endpointSelector.matchExpressions[0].values"), "at least one value"));

  ps = problems_of(cnp(
      "  endpointSelector:\n    matchExpressions:\n      - {key: app, operator: Exists, values: [a]}\n"
      "  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.endpointSelector.matchExpressions[0].values"), "takes no values"));

  ps = problems_of(cnp("  endpointSelector:\n    matchLabels:\n      k8ss:app: x\n  ingress: [{}]\n"));
  CHECK(mentions(at(ps, "spec.endpointSelector.matchLabels.k8ss:app"), "did you mean \"k8s:\"?"));

  ps = problems_of(cnp("  endpointSelector:\n    matchLabels:\n      app: -bad-\n  ingress: [{}]\n"));
  CHECK(at(ps, "spec.endpointSelector.matchLabels.app") != nullptr);

  // A number where a label value (a string) belongs: kubectl rejects it.
  ps = problems_of(cnp("  endpointSelector:\n    matchLabels:\n      version: 2\n  ingress: [{}]\n"));
  CHECK(at(ps, "spec.endpointSelector.matchLabels.version", Severity::warning) != nullptr);

  auto pols = must_decode(cnp(
      "  endpointSelector:\n    matchLabels:\n      any:app: x\n      reserved:host: \"\"\n"
      "  ingress: [{}]\n"));
  REQUIRE(pols.size() == 1);
  CHECK(requirement(pols[0].rules[0].subject, "app")->source == "any");
  CHECK(requirement(pols[0].rules[0].subject, "host")->source == "reserved");
}

TEST_CASE("elements: L3 kinds, ports, ICMP, CIDRs, entities") {
  auto ps = problems_of(cnp(
      "  endpointSelector: {}\n  ingress:\n    - fromEndpoints: [{}]\n      fromCIDR: [10.0.0.0/8]\n"));
  CHECK(mentions(at(ps, "spec.ingress[0]"), "combining fromEndpoints and fromCIDR"));

  ps = problems_of(cnp(
      "  endpointSelector: {}\n  egress:\n    - toFQDNs: [{matchName: a.com}]\n      toEntities: [world]\n"));
  CHECK(mentions(at(ps, "spec.egress[0]"), "toFQDNs cannot be combined"));

  ps = problems_of(cnp(
      "  endpointSelector: {}\n  egress:\n    - toServices: [{k8sService: {serviceName: a}}]\n"
      "      toPorts: [{ports: [{port: \"80\"}]}]\n"));
  CHECK(mentions(at(ps, "spec.egress[0].toPorts"), "toServices cannot be combined with toPorts"));

  ps = problems_of(cnp(
      "  endpointSelector: {}\n  ingress:\n    - icmps: [{fields: [{type: 8}]}]\n"
      "      toPorts: [{ports: [{port: \"80\"}]}]\n"));
  CHECK(at(ps, "spec.ingress[0].icmps") != nullptr);

  ps = problems_of(cnp(
      "  endpointSelector: {}\n  ingress:\n    - fromCIDRSet: [{cidr: 10.0.0.0/16, except: [10.1.0.0/24]}]\n"));
  CHECK(mentions(at(ps, "spec.ingress[0].fromCIDRSet[0].except[0]"), "is not inside 10.0.0.0/16"));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - fromCIDR: [10.0.0.1/8]\n"));
  CHECK(mentions(at(ps, "spec.ingress[0].fromCIDR[0]", Severity::warning), "means 10.0.0.0/8"));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - fromCIDR: [10.0.0.0/33]\n"));
  CHECK(mentions(at(ps, "spec.ingress[0].fromCIDR[0]"), "prefix length must be 0-32"));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - fromEntities: [wrld]\n"));
  CHECK(mentions(at(ps, "spec.ingress[0].fromEntities[0]"), "did you mean \"world\"?"));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - fromNodes: [{}]\n"));
  CHECK(mentions(at(ps, "spec.ingress[0].fromNodes"), "not supported by axon yet"));

  const std::string p = "spec.ingress[0].toPorts[0].ports[0]";
  auto port = [&](const std::string& spec) {
    return problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - toPorts: [{ports: [" + spec +
                           "]}]\n"));
  };
  CHECK(mentions(at(port("{port: \"70000\"}"), p + ".port"), "out of range"));
  CHECK(mentions(at(port("{port: \"HTTP\"}"), p + ".port"), "lower-case"));
  CHECK(at(port("{port: \"HTTP\"}"), p + ".port")->fixable);
  CHECK(mentions(at(port("{port: \"a_b\"}"), p + ".port"), "port name"));
  CHECK(mentions(at(port("{port: \"80\", endPort: 79}"), p + ".endPort"), "between port"));
  CHECK(mentions(at(port("{port: \"0\", endPort: 79}"), p + ".endPort"), "needs a start port"));
  CHECK(mentions(at(port("{port: http, endPort: 90}"), p + ".endPort", Severity::warning),
                 "ignored with a named port"));
  CHECK(at(port("{port: \"80\", protocol: tcp}"), p + ".protocol")->fixable);
  CHECK(mentions(at(port("{port: \"80\", protocol: ICMP}"), p + ".protocol"), "icmps"));
  CHECK(mentions(at(port("{port: \"80\", protocol: QUIC}"), p + ".protocol"), "unknown protocol"));

  auto icmp_ps = problems_of(cnp(
      "  endpointSelector: {}\n  ingress:\n    - icmps: [{fields: [{type: EchoReqest}]}]\n"));
  CHECK(mentions(at(icmp_ps, "spec.ingress[0].icmps[0].fields[0].type"),
                 "did you mean \"EchoRequest\"?"));
}

TEST_CASE("L7 rules are validated now, enforced later") {
  auto l7 = [](const std::string& section, const std::string& port, const std::string& rules) {
    return problems_of(cnp("  endpointSelector: {}\n  " + section + ":\n    - toPorts: [{ports: [" +
                           port + "], rules: " + rules + "}]\n"));
  };
  const std::string tp = "spec.ingress[0].toPorts[0]";
  CHECK(mentions(at(l7("ingress", "{port: \"80\", protocol: UDP}", "{http: [{}]}"),
                    tp + ".ports[0]"),
                 "http rules need protocol TCP"));
  CHECK(mentions(at(l7("ingress", "{port: \"80\", protocol: TCP}", "{http: [{path: \"/a(\"}]}"),
                    tp + ".rules.http[0].path"),
                 "not an extended POSIX regular expression"));
  CHECK(mentions(at(l7("ingress", "{port: \"53\", protocol: UDP}", "{dns: [{matchName: a.com}]}"),
                    tp + ".rules.dns"),
                 "egress only"));
  CHECK(mentions(at(l7("ingressDeny", "{port: \"80\", protocol: TCP}", "{http: [{}]}"),
                    "spec.ingressDeny[0].toPorts[0].rules"),
                 "deny rules cannot have L7 rules"));
  CHECK(mentions(at(l7("egress", "{port: \"53\", protocol: TCP}",
                       "{http: [{}], dns: [{matchName: a.com}]}"),
                    "spec.egress[0].toPorts[0].rules"),
                 "one kind of L7 rules"));
  CHECK(mentions(at(l7("ingress", "{port: \"0\", protocol: TCP}", "{http: [{}]}"), tp + ".ports[0]"),
                 "port 0"));
  CHECK(mentions(at(l7("egress", "{port: \"53\", endPort: 54, protocol: UDP}",
                       "{dns: [{matchName: a.com}]}"),
                    "spec.egress[0].toPorts[0].ports[0]"),
                 "port range"));
  CHECK(mentions(at(l7("egress", "{port: \"53\", protocol: UDP}", "{dns: [{matchName: \"a b\"}]}"),
                    "spec.egress[0].toPorts[0].rules.dns[0].matchName"),
                 "not a DNS name"));
  CHECK(mentions(at(l7("ingress", "{port: \"80\", protocol: TCP}", "{http: [{path: \"a{99}{99}{99}\"}]}"),
                    tp + ".rules.http[0].path"),
                 "too large"));
  // A valid one.
  CHECK(count(l7("ingress", "{port: \"80\", protocol: TCP}",
                 "{http: [{method: GET, path: \"/public/.*\"}]}"),
              Severity::error) == 0);
}

TEST_CASE("NetworkPolicy words in a Cilium policy, and Cilium words in a NetworkPolicy") {
  auto ps = problems_of(cnp("  podSelector: {matchLabels: {app: a}}\n  ingress: [{}]\n"));
  const Diagnostic* p = at(ps, "spec.podSelector");
  REQUIRE(p != nullptr);
  CHECK(p->fixable);
  CHECK(mentions(p, "rename it to endpointSelector"));

  ps = problems_of(cnp("  endpointSelector: {}\n  policyTypes: [Ingress, Egress]\n  ingress: [{}]\n"));
  p = at(ps, "spec.policyTypes");
  REQUIRE(p != nullptr);
  CHECK(mentions(p, "write egress: [{}]"));

  ps = problems_of(cnp("  endpointSelector: {}\n  ingress:\n    - from:\n        - ipBlock: {cidr: 10.0.0.0/8}\n"
                       "          podSelector: {}\n"));
  p = at(ps, "spec.ingress[0]");
  REQUIRE(p != nullptr);
  CHECK_FALSE(p->fixable);
  CHECK(mentions(p, "cannot translate it automatically"));

  ps = problems_of("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: a}\n"
                   "spec:\n  podSelector: {}\n  ingress:\n    - fromEndpoints: [{}]\n");
  CHECK(mentions(at(ps, "spec.ingress[0].fromEndpoints"), "CiliumNetworkPolicy field"));

  ps = problems_of("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: a}\n"
                   "spec:\n  endpointSelector: {}\n");
  CHECK(mentions(at(ps, "spec.endpointSelector"), "write podSelector"));
  CHECK(at(ps, "spec.podSelector") != nullptr);

  ps = problems_of("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: n, namespace: a}\n"
                   "spec:\n  podSelector: {matchLabels: {k8s:app: a}}\n");
  CHECK(mentions(at(ps, "spec.podSelector.matchLabels.k8s:app"), "without a source prefix"));
}

TEST_CASE("syntax errors and hostile documents end in a problem, not a crash or a hang") {
  auto ps = problems_of("a: [1, 2\nb: 3\n", "bad.yaml");
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].location.file == "bad.yaml");
  CHECK(ps[0].location.line > 0);
  CHECK(ps[0].message.starts_with("not valid YAML"));

  // Billion laughs through aliases: refused as too large.
  std::string laughs =
      "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\n"
      "x0: &a0 [{fromEntities: [all]}, {fromEntities: [all]}, {fromEntities: [all]}, {fromEntities: [all]}]\n";
  for (int i = 1; i < 10; ++i) {
    laughs += "x" + std::to_string(i) + ": &a" + std::to_string(i) + " [*a" + std::to_string(i - 1) +
              ", *a" + std::to_string(i - 1) + ", *a" + std::to_string(i - 1) + ", *a" +
              std::to_string(i - 1) + "]\n";
  }
  laughs += "spec:\n  endpointSelector: {}\n  ingress: *a9\n";
  ps = problems_of(laughs);
  CHECK(count(ps, Severity::error) > 0);

  // A cycle (an alias inside its own anchor).
  ps = problems_of(cnp("  endpointSelector: &s {matchLabels: *s}\n  ingress: [{}]\n"));
  CHECK(count(ps, Severity::error) > 0);
}

TEST_CASE("NUL bytes and UTF-16 are refused before the YAML parser sees them (found by the fuzzer)") {
  std::string text("apiVersion: cilium.io/v2\nkind: x\x00y\n", 34);
  auto ps = problems_of(text, "nul.yaml");
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].location.line == 2);
  CHECK(ps[0].message.find("NUL byte") != std::string::npos);
  ps = problems_of("\xff\xfe" "a\0:\0", "utf16.yaml");
  REQUIRE(ps.size() == 1);
  CHECK(ps[0].message.find("UTF-16") != std::string::npos);
}

TEST_CASE("broken JSON is refused with the JSON parser's error, never given to yaml-cpp (fuzzer hangs)") {
  for (const char* text :
       {"{\n  \"apiVersion\": \"c\", \"namespace\": specs:\"},\n  \"spec\": {\"a\": [\n}\n",
        "{\n  path:ersion\": \"x\", \"namespace\": type:\"},\n  \"spec\": {}\n}null\n",
        "# a comment first\n{\"kind\": \"CiliumNetworkPolicy\",}\n"}) {
    CAPTURE(text);
    auto ps = problems_of(text, "j.json");
    REQUIRE(ps.size() == 1);
    CHECK(ps[0].message.find("starts like JSON but is not valid JSON (parse error") != std::string::npos);
  }
  // JSON that is valid, and YAML flow style without double quotes, still load.
  for (const char* text : {"{\"apiVersion\": \"v1\", \"kind\": \"X\"}\n", "[a, b]\n", "{a: 1}\n",
                           "a: 1\n---\n{\"b\": 2}\n"}) {
    CAPTURE(text);
    CHECK(load_documents(text, "ok.yaml").problems.empty());
  }
}

TEST_CASE("a stray ',' (that hung yaml-cpp's parser) is a syntax error with its line") {
  for (const char* text : {",t2nt2n2n{}\n", "# c\n  ,a\n", "{a: 1}\n,\n", "[a]\n,", "---\n,a\n",
                           "a: 1\n---\n[x, \"]\", 'y'] ,\n", "!t ,a\n", "&a ,b\n",
                           "!piVers~~~~,~~~~\"10.0.0.240/28\"\n", "\"a\" ,b\n", "'a',b\n",
                           "\"a\"\n\n  ,\n", "&x \"a\" ,\n", "!t\n  [a] ,\n", "a: 1\n--- \"x\" ,\n",
                           "   - a\n  ,b\n", "- a\n,b\n", "k:\n  - a\n ,b\n",
                           // a top-level block scalar ends at the first line less indented
                           // than its content, and there the comma starts a line
                           "|\n  \"a\": 1\n,v\n", "k: |\n    x\n  ,y\n",
                           // an empty entry in a flow sequence (yaml-cpp took it)
                           "k: [a,\n  ,b]\n"}) {
    CAPTURE(text);
    auto ps = problems_of(text, "c.yaml");
    REQUIRE(ps.size() == 1);
    CHECK_MESSAGE(ps[0].message.find("not valid") != std::string::npos, ps[0].message);
    CHECK(ps[0].location.line > 0);
  }
  // Commas where YAML allows them are fine.
  for (const char* text : {"a: x,y\n", "k: [a, b]\n", "x,{}\n", "d: |\n  ,line\n", "q: ',a'\n",
                           "[a, b]\n# ,\n", "\"a\": x ,y\n", "[a]: b ,c\n", "!t b ,c\n",
                           "{\"k\": \"v,w\", \"l\": [1, 2]}\n", "k: |\n  a\n  ,b\nj: 1\n",
                           "k: \"a\n  ,b\"\n", "- k: >-\n    x\n    ,y\n  j: 2\n",
                           "- |\n  ,a\n", "|\n  a\n\n  ,b\n"}) {
    CAPTURE(text);
    auto loaded = load_documents(text, "ok.yaml");
    CHECK(loaded.problems.empty());
  }
}
