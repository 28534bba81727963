// The seed post's policies: rejected as printed (with the field and the
// fix), accepted once `policy fix` rewrote them, and the verdict matrix of
// its scenario, stage by stage, every pair and port in both directions.
#include <filesystem>
#include <map>
#include <set>
#include <tuple>

#include "axon/policy/fix.h"
#include "helpers.h"

using namespace axon;
using namespace axon::policy;
using namespace axon::policy::test;

namespace {

const char* kSeedPolicies[] = {"policy-default-deny.yaml", "policy-allow-frontend-to-api.yaml",
                               "policy-allow-api-to-upstream.yaml", "policy-allow-dns.yaml"};

std::string fixed_seed(const std::string& name) {
  auto r = fix_text(seed_file(name), name);
  CHECK_MESSAGE(r.changed, name);
  CHECK_MESSAGE(count(r.remaining, Severity::error) == 0, dump(r.remaining));
  return r.text;
}

}  // namespace

TEST_CASE("seed: the copies in testdata/seed are the seed post's manifests") {
  std::error_code ec;
  if (!std::filesystem::is_directory(AXON_SHARED_SEED_DIR, ec)) {
    WARN_MESSAGE(false, "../shared is not beside the project: copies not compared with "
                            << AXON_SHARED_SEED_DIR);
    return;
  }
  for (const char* name : kSeedPolicies) {
    CAPTURE(name);
    CHECK(seed_file(name) == read_file(std::string(AXON_SHARED_SEED_DIR) + "/" + name));
  }
}

TEST_CASE("seed: default-deny as printed is rejected: an empty list blocks nothing") {
  auto ps = problems_of(seed_file("policy-default-deny.yaml"), "policy-default-deny.yaml");
  CHECK(count(ps, Severity::error) == 2);
  for (const char* dir : {"ingress", "egress"}) {
    const Diagnostic* p = at(ps, std::string("spec.") + dir);
    REQUIRE_MESSAGE(p != nullptr, dump(ps));
    CHECK(p->location.file == "policy-default-deny.yaml");
    CHECK(p->document == 1);
    CHECK(p->object == "CiliumNetworkPolicy production/default-deny");
    CHECK(p->location.line == (std::string(dir) == "ingress" ? 8 : 9));
    CHECK(mentions(p, "enables no default deny, so this policy blocks nothing"));
    CHECK(mentions(p, std::string("\"") + dir + ": [{}]\""));
    CHECK(mentions(p, std::string("enableDefaultDeny.") + dir + ": true"));
    CHECK(p->fixable);
  }
  CHECK(at(ps, "spec.ingress")->one_line() ==
        "error: policy-default-deny.yaml:8: document 1 (CiliumNetworkPolicy "
        "production/default-deny): spec.ingress: empty list enables no default deny, so this "
        "policy blocks nothing; write \"ingress: [{}]\" to deny all ingress (or set "
        "enableDefaultDeny.ingress: true)");
}

TEST_CASE("seed: NetworkPolicy words inside a CiliumNetworkPolicy are rejected with the Cilium rule") {
  auto ps = problems_of(seed_file("policy-allow-frontend-to-api.yaml"), "f.yaml");
  REQUIRE(count(ps, Severity::error) == 1);
  const Diagnostic* p = at(ps, "spec.ingress[0]");
  REQUIRE_MESSAGE(p != nullptr, dump(ps));
  CHECK(p->location.line == 13);
  CHECK(mentions(p, "\"from\" and \"podSelector\" are Kubernetes NetworkPolicy fields"));
  CHECK(mentions(p, "{fromEndpoints: [{matchLabels: {role: frontend}}]}"));
  CHECK(mentions(p, "pods of namespace production"));
  CHECK(p->fixable);

  ps = problems_of(seed_file("policy-allow-api-to-upstream.yaml"), "u.yaml");
  p = at(ps, "spec.egress[0]");
  REQUIRE_MESSAGE(p != nullptr, dump(ps));
  CHECK(mentions(p, "\"to\", \"namespaceSelector\" and \"podSelector\""));
  CHECK(mentions(p, "{toEndpoints: [{matchLabels: {role: upstream-service}, matchExpressions: "
                    "[{key: k8s:io.kubernetes.pod.namespace, operator: Exists}]}]}"));
  CHECK(mentions(p, "namespaceSelector {} means pods of every namespace"));

  ps = problems_of(seed_file("policy-allow-dns.yaml"), "d.yaml");
  p = at(ps, "spec.egress[0]");
  REQUIRE_MESSAGE(p != nullptr, dump(ps));
  CHECK(p->object == "CiliumClusterwideNetworkPolicy allow-dns");
  CHECK(mentions(p, "\"ports\""));
  CHECK(mentions(p, "k8s:io.kubernetes.pod.namespace: kube-system, k8s-app: kube-dns"));
  CHECK(mentions(p, "toPorts: [{ports: [{port: \"53\", protocol: UDP}, {port: \"53\", "
                    "protocol: TCP}]}]"));
  CHECK(mentions(p, "kubernetes.io/metadata.name: kube-system becomes "
                    "k8s:io.kubernetes.pod.namespace: kube-system"));
}

TEST_CASE("seed: fixed policies validate; the set warns about the allows default deny undoes") {
  std::vector<Policy> all;
  for (const char* name : kSeedPolicies) {
    auto text = fixed_seed(name);
    auto d = decode_policies(text, name);
    CHECK_MESSAGE(count(d.problems, Severity::error) == 0, dump(d.problems));
    REQUIRE(d.policies.size() == 1);
    all.push_back(d.policies.front());
  }
  auto ps = check_policy_set(all);
  const Diagnostic* ftoa = at(ps, "spec.ingress[0]", Severity::warning);
  REQUIRE_MESSAGE(ftoa != nullptr, dump(ps));
  CHECK(ftoa->object == "CiliumNetworkPolicy production/allow-frontend-to-api");
  CHECK(mentions(ftoa, "pods with role=frontend in namespace production"));
  CHECK(mentions(ftoa, "sources' egress is default-deny"));
  CHECK(mentions(ftoa, "CiliumNetworkPolicy production/default-deny spec.egress"));
  CHECK(mentions(ftoa, "add an egress rule to the sources"));
  CHECK(mentions(ftoa, "{endpointSelector: {matchLabels: {role: frontend}}, egress: "
                       "[{toEndpoints: [{matchLabels: {role: api}}]}]}"));
  const Diagnostic* atou = at(ps, "spec.egress[0]", Severity::warning);
  REQUIRE_MESSAGE(atou != nullptr, dump(ps));
  CHECK(atou->object == "CiliumNetworkPolicy production/allow-api-to-upstream");
  CHECK(mentions(atou, "destinations' ingress is default-deny"));
  CHECK(mentions(atou, "in namespace production"));
  CHECK(mentions(atou, "{endpointSelector: {matchLabels: {role: upstream-service}}, ingress: "
                       "[{fromEndpoints: [{matchLabels: {role: api}}]}]}"));
  CHECK(ps.size() == 2);

  // allow-dns alone (as Cilium means it) default-denies every pod's egress.
  auto dns = decode_policies(fixed_seed("policy-allow-dns.yaml"), "d.yaml");
  const Diagnostic* wide = at(dns.problems, "spec.egress", Severity::warning);
  REQUIRE_MESSAGE(wide != nullptr, dump(dns.problems));
  CHECK(mentions(wide, "every pod of every namespace"));
  CHECK(mentions(wide, "enableDefaultDeny: {egress: false}"));
}

TEST_CASE("seed: fix keeps the seed's comments and produces the documented forms") {
  auto text = fixed_seed("policy-allow-frontend-to-api.yaml");
  CHECK(text.starts_with("# As printed in the seed post."));
  CHECK(text.find("    - fromEndpoints:\n        - matchLabels:\n            role: frontend\n") !=
        std::string::npos);
  auto dd = fixed_seed("policy-default-deny.yaml");
  CHECK(dd.find("  ingress:\n    - {}\n  egress:\n    - {}\n") != std::string::npos);
}

// ---- the verdict matrix ----------------------------------------------------

namespace {

struct Scenario {
  Cluster cluster;
  std::map<std::string, Peer> eps;
  Scenario() {
    eps.emplace("frontend", cluster.pod("production", "role=frontend"));
    eps.emplace("api", cluster.pod("production", "role=api"));
    eps.emplace("upstream", cluster.pod("production", "role=upstream-service"));
    eps.emplace("kube-dns", cluster.pod("kube-system", "k8s-app=kube-dns"));
    eps.emplace("outsider", cluster.pod("other", "role=outsider"));
    eps.emplace("world", cluster.reserved(reserved::world));
  }
};

using Triple = std::tuple<std::string, std::string, std::string>;  // src, dst, port

const std::vector<std::pair<std::string, Flow>> kPorts = {
    {"8080/TCP", tcp(8080)}, {"53/UDP", udp(53)}, {"53/TCP", tcp(53)}};

// Every ordered pair and port: exactly `allowed` pass.
void check_matrix(const std::vector<Policy>& policies, Scenario& s,
                  const std::set<Triple>& allowed) {
  for (const auto& [src_name, src] : s.eps) {
    for (const auto& [dst_name, dst] : s.eps) {
      if (src_name == dst_name) continue;
      for (const auto& [port_name, flow] : kPorts) {
        bool want = allowed.count({src_name, dst_name, port_name}) != 0;
        auto v = verdict(policies, src, dst, flow, s.cluster.universe());
        CHECK_MESSAGE(v.allowed == want, src_name << " -> " << dst_name << " " << port_name
                                                  << ": " << (v.allowed ? "ALLOWED" : "DENIED")
                                                  << " (egress " << v.egress << ", ingress "
                                                  << v.ingress << ")");
      }
    }
  }
}

std::set<Triple> all_ports(const std::vector<std::pair<std::string, std::string>>& pairs) {
  std::set<Triple> out;
  for (const auto& [a, b] : pairs) {
    for (const auto& [p, f] : kPorts) out.insert({a, b, p});
  }
  return out;
}

const char* kFrontendEgress = R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: frontend-to-api, namespace: production}
spec:
  endpointSelector: {matchLabels: {role: frontend}}
  egress:
    - toEndpoints: [{matchLabels: {role: api}}]
      toPorts: [{ports: [{port: "8080", protocol: TCP}]}]
)";

const char* kUpstreamIngress = R"(
apiVersion: cilium.io/v2
kind: CiliumNetworkPolicy
metadata: {name: upstream-from-api, namespace: production}
spec:
  endpointSelector: {matchLabels: {role: upstream-service}}
  ingress:
    - fromEndpoints: [{matchLabels: {role: api}}]
)";

}  // namespace

TEST_CASE("seed scenario: the verdict matrix, stage by stage") {
  Scenario s;
  std::vector<Policy> policies;
  auto add = [&](const std::string& text) {
    for (auto& p : must_decode(text)) policies.push_back(std::move(p));
  };

  // Outside production nothing is selected yet: kube-dns, the outsider and
  // the world talk freely; production pods neither send nor receive.
  const auto free_outside =
      all_ports({{"kube-dns", "outsider"}, {"kube-dns", "world"}, {"outsider", "kube-dns"},
                 {"outsider", "world"}, {"world", "kube-dns"}, {"world", "outsider"}});

  SUBCASE("before any policy everything passes") {
    std::set<Triple> everything;
    for (const auto& [a, pa] : s.eps) {
      for (const auto& [b, pb] : s.eps) {
        if (a == b) continue;
        for (const auto& [p, f] : kPorts) everything.insert({a, b, p});
      }
    }
    check_matrix(policies, s, everything);
  }

  SUBCASE("the stages") {
    add(fixed_seed("policy-default-deny.yaml"));
    INFO("stage 1: default-deny alone");
    check_matrix(policies, s, free_outside);

    add(fixed_seed("policy-allow-frontend-to-api.yaml"));
    INFO("stage 2: + allow-frontend-to-api: api's ingress opens, frontend's egress stays shut");
    check_matrix(policies, s, free_outside);
    auto t = trace(policies, s.eps.at("frontend"), s.eps.at("api"), tcp(8080));
    CHECK(t.ingress.allowed);
    CHECK_FALSE(t.egress.allowed);

    add(fixed_seed("policy-allow-api-to-upstream.yaml"));
    INFO("stage 3: + allow-api-to-upstream: api's egress opens, upstream's ingress stays shut");
    check_matrix(policies, s, free_outside);
    t = trace(policies, s.eps.at("api"), s.eps.at("upstream"), tcp(8080));
    CHECK(t.egress.allowed);
    CHECK_FALSE(t.ingress.allowed);

    SUBCASE("+ allow-dns with UDP only: DNS over TCP fails") {
      std::string udp_only = fixed_seed("policy-allow-dns.yaml");
      auto pos = udp_only.find("            - port: \"53\"\n              protocol: TCP\n");
      REQUIRE(pos != std::string::npos);
      udp_only.erase(pos, std::string("            - port: \"53\"\n              protocol: TCP\n").size());
      add(udp_only);
      std::set<Triple> allowed;
      for (const char* src : {"frontend", "api", "upstream", "outsider"}) {
        allowed.insert({src, "kube-dns", "53/UDP"});
      }
      for (const auto& [p, f] : kPorts) {
        allowed.insert({"world", "kube-dns", p});
        allowed.insert({"world", "outsider", p});
      }
      check_matrix(policies, s, allowed);
    }

    SUBCASE("+ allow-dns (UDP and TCP), + frontend's egress to api, + upstream's ingress") {
      add(fixed_seed("policy-allow-dns.yaml"));
      INFO("stage 4: + allow-dns: every pod may resolve names, over UDP and TCP; the "
           "cluster-wide rule also puts every pod's egress into default deny");
      std::set<Triple> allowed;
      for (const char* src : {"frontend", "api", "upstream", "outsider"}) {
        allowed.insert({src, "kube-dns", "53/UDP"});
        allowed.insert({src, "kube-dns", "53/TCP"});
      }
      for (const auto& [p, f] : kPorts) {
        allowed.insert({"world", "kube-dns", p});
        allowed.insert({"world", "outsider", p});
      }
      check_matrix(policies, s, allowed);

      add(kFrontendEgress);
      INFO("stage 5: + an egress rule letting frontend reach api on 8080/TCP");
      allowed.insert({"frontend", "api", "8080/TCP"});
      check_matrix(policies, s, allowed);

      add(kUpstreamIngress);
      INFO("stage 6: + the ingress rule the warning asks for: api reaches upstream");
      for (const auto& [p, f] : kPorts) allowed.insert({"api", "upstream", p});
      check_matrix(policies, s, allowed);
      CHECK(check_policy_set(policies).empty());
    }
  }
}
