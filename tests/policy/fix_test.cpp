// `policy fix`: what it rewrites, what it keeps byte for byte.
#include "axon/policy/fix.h"
#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;

TEST_CASE("fix rewrites the broken document and keeps the others byte for byte") {
  const std::string good =
      "# first: fine as it is\n"
      "apiVersion: cilium.io/v2\n"
      "kind: CiliumNetworkPolicy\n"
      "metadata: {name: ok, namespace: a}   # flow style stays\n"
      "spec: {endpointSelector: {}, ingress: [{}]}\n";
  const std::string broken =
      "---\n"
      "# second: the seed's mistake\n"
      "apiVersion: cilium.io/v2\n"
      "kind: CiliumNetworkPolicy\n"
      "metadata:\n"
      "  name: deny\n"
      "  namespace: a\n"
      "spec:\n"
      "  endpointSelector: {}\n"
      "  ingress: []\n"
      "  egress: []  # a comment inside\n";
  const std::string other = "---\napiVersion: v1\nkind: Service\nmetadata: {name: s}\n";
  auto r = fix_text(good + broken + other, "multi.yaml");
  REQUIRE(r.changed);
  CHECK(r.applied.size() == 2);
  CHECK(r.applied[0] == "document 2 (CiliumNetworkPolicy a/deny): spec.ingress: empty list -> [{}] "
                        "(deny all ingress except what other rules allow)");
  CHECK(r.text.starts_with(good));
  CHECK(r.text.ends_with(other));
  CHECK(r.text.find("---\n# second: the seed's mistake\napiVersion: cilium.io/v2\n") !=
        std::string::npos);
  CHECK(r.text.find("  ingress:\n    - {}\n  egress:\n    - {}\n") != std::string::npos);
  CHECK(r.comments_dropped == std::vector<int>{2});
  CHECK(count(r.remaining, Severity::error) == 0);

  // Fixing again changes nothing.
  auto again = fix_text(r.text, "multi.yaml");
  CHECK_FALSE(again.changed);
  CHECK(again.text == r.text);
}

TEST_CASE("fix: ports quoted, protocols upper-cased, apiVersion corrected, podSelector renamed") {
  auto r = fix_text(
      "apiVersion: cilium.io/v1\n"
      "kind: CiliumNetworkPolicy\n"
      "metadata: {name: p, namespace: a}\n"
      "spec:\n"
      "  podSelector: {matchLabels: {app: web}}\n"
      "  ingress:\n"
      "    - toPorts: [{ports: [{port: 80, protocol: tcp}, {port: HTTP}]}]\n",
      "p.yaml");
  CHECK(r.changed);
  CHECK(count(r.remaining, Severity::error) == 0);
  CHECK(r.text.find("apiVersion: cilium.io/v2\n") != std::string::npos);
  CHECK(r.text.find("  endpointSelector:\n    matchLabels:\n      app: web\n") != std::string::npos);
  CHECK(r.text.find("podSelector") == std::string::npos);
  CHECK(r.text.find("            - port: \"80\"\n              protocol: TCP\n") != std::string::npos);
  CHECK(r.text.ends_with("            - port: http\n"));
  auto d = decode_policies(r.text, "p.yaml");
  REQUIRE(d.policies.size() == 1);
  CHECK(d.policies[0].rules[0].ingress[0].ports[0].ports[0] ==
        PortProtocol{80, 0, "", Protocol::tcp});
}

TEST_CASE("fix: NetworkPolicy words, every shape of peer") {
  auto r = fix_text(
      "apiVersion: cilium.io/v2\n"
      "kind: CiliumNetworkPolicy\n"
      "metadata: {name: p, namespace: shop}\n"
      "spec:\n"
      "  endpointSelector: {}\n"
      "  policyTypes: [Ingress, Egress]\n"
      "  ingress:\n"
      "    - from:\n"
      "        - podSelector: {matchLabels: {app: web}}\n"
      "        - namespaceSelector: {matchLabels: {team: ops}}\n"
      "        - ipBlock: {cidr: 10.0.0.0/8, except: [10.1.0.0/16]}\n"
      "      ports:\n"
      "        - port: 8080\n"
      "    - from: []\n"
      "    - ports: [{protocol: UDP, port: 53}]\n",
      "p.yaml");
  REQUIRE(r.changed);
  CHECK_MESSAGE(count(r.remaining, Severity::error) == 0, dump(r.remaining));
  auto d = decode_policies(r.text, "p.yaml");
  REQUIRE_MESSAGE(d.policies.size() == 1, r.text);
  const Rule& rule = d.policies[0].rules[0];
  // policyTypes Egress with no egress section: deny all egress.
  CHECK(rule.default_deny_egress);
  REQUIRE(rule.egress.size() == 1);
  PeerRule empty;
  empty.line = rule.egress[0].line;
  CHECK(rule.egress[0] == empty);
  // Selectors and ipBlock cannot share an element: two elements, same ports.
  REQUIRE(rule.ingress.size() == 4);
  REQUIRE(rule.ingress[0].endpoints.size() == 2);
  CHECK(to_string(rule.ingress[0].endpoints[0]) == "app=web, k8s:io.kubernetes.pod.namespace=shop");
  CHECK(to_string(rule.ingress[0].endpoints[1]) == "k8s:io.cilium.k8s.namespace.labels.team=ops");
  CHECK(rule.ingress[0].ports[0].ports[0] == PortProtocol{8080, 0, "", Protocol::tcp});
  REQUIRE(rule.ingress[1].cidrs.size() == 1);
  CHECK(rule.ingress[1].cidrs[0].except.size() == 1);
  CHECK(rule.ingress[1].ports == rule.ingress[0].ports);
  // from: [] means every source.
  CHECK(rule.ingress[2].entities == std::vector<Entity>{Entity::all});
  // ports alone: every source on that port.
  CHECK(rule.ingress[3].any_peer);
  CHECK(rule.ingress[3].ports[0].ports[0] == PortProtocol{53, 0, "", Protocol::udp});
}

TEST_CASE("fix: JSON stays JSON; syntax errors are left alone") {
  auto r = fix_text(read_file(AXON_POLICY_TESTDATA "/policy.json"), "policy.json");
  REQUIRE(r.changed);
  auto j = nlohmann::json::parse(r.text);
  CHECK(j["spec"]["ingress"] == nlohmann::json::parse("[{}]"));
  CHECK(j["spec"]["egress"][0]["toPorts"][0]["ports"][0]["port"] == "5432");

  auto bad = fix_text("a: [1\n", "bad.yaml");
  CHECK_FALSE(bad.changed);
  CHECK(bad.text == "a: [1\n");
  CHECK(count(bad.remaining, Severity::error) == 1);

  auto untouchable = fix_text(
      "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p, namespace: a}\n"
      "spec: {endpointSelector: {}, ingress: [{fromEntities: [moon]}]}\n",
      "u.yaml");
  CHECK_FALSE(untouchable.changed);
  CHECK(count(untouchable.remaining, Severity::error) == 1);
}

TEST_CASE("fix: invalid UTF-8 is refused with its line, never thrown about (found by the fuzzer)") {
  std::string text =
      "{\"apiVersion\": \"cilium.io/v2\", \"kind\": \"CiliumNetworkPolicy\",\n\"metadata\": "
      "{\"name\": \"from-\xc3;\x0e\", \"namespace\": \"shop\"}, \"spec\": {\"endpointSelector\": {}, "
      "\"ingress\": []}}";
  auto r = fix_text(text, "bad-utf8.json");
  CHECK_FALSE(r.changed);
  REQUIRE(r.remaining.size() == 1);
  CHECK(r.remaining[0].location.line == 2);
  CHECK(r.remaining[0].message.find("not valid UTF-8") != std::string::npos);
  // Well-formed multi-byte characters are fine.
  auto ok = decode_policies("apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\n"
                            "metadata: {name: p, namespace: a}\nspec:\n  description: \"caf\xc3\xa9 \xe2\x86\x92 \xf0\x9f\x94\x92\"\n"
                            "  endpointSelector: {}\n  ingress: [{}]\n", "u.yaml");
  CHECK_MESSAGE(ok.problems.empty(), dump(ok.problems));
}
