// L2 announcements' plan (libclient/src/l2announce.cpp) against semantics.md
// §5: which Services a CiliumL2AnnouncementPolicy selects (virtual labels,
// loadBalancerClass), which addresses (loadBalancerIPs / externalIPs), which
// nodes may announce them on which devices (nodeSelector, interface
// regexes, externalTrafficPolicy Local), and the policy's conditions for bad
// selectors and regexes.
#include "axon/client/l2announce.h"

#include <doctest/doctest.h>

using axon::client::Json;
using axon::client::l2_plan;
using axon::client::l2_policy_status;
using axon::client::L2Plan;

namespace {

Json policy(const std::string& name, Json spec) {
  return {{"apiVersion", "cilium.io/v2alpha1"},
          {"kind", "CiliumL2AnnouncementPolicy"},
          {"metadata", {{"name", name}}},
          {"spec", std::move(spec)}};
}

Json service(const std::string& ns, const std::string& name, std::vector<std::string> lb_ips,
             Json spec_extra = Json::object(), Json labels = Json::object()) {
  Json ingress = Json::array();
  for (const auto& ip : lb_ips) ingress.push_back({{"ip", ip}});
  Json spec = {{"type", "LoadBalancer"}, {"ports", Json::array({{{"port", 80}}})}};
  for (auto& [k, v] : spec_extra.items()) spec[k] = v;
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", std::move(labels)}}},
          {"spec", spec},
          {"status", {{"loadBalancer", {{"ingress", ingress}}}}}};
}

Json node(const std::string& name, Json labels = Json::object()) {
  labels["kubernetes.io/hostname"] = name;
  return {{"apiVersion", "v1"}, {"kind", "Node"}, {"metadata", {{"name", name}, {"labels", labels}}}};
}

Json slice(const std::string& ns, const std::string& svc, std::vector<std::pair<std::string, bool>> eps) {
  Json endpoints = Json::array();
  for (const auto& [n, ready] : eps)
    endpoints.push_back({{"addresses", {"10.244.0.9"}}, {"nodeName", n}, {"conditions", {{"ready", ready}}}});
  return {{"apiVersion", "discovery.k8s.io/v1"},
          {"kind", "EndpointSlice"},
          {"metadata",
           {{"name", svc + "-x"}, {"namespace", ns}, {"labels", {{"kubernetes.io/service-name", svc}}}}},
          {"endpoints", endpoints}};
}

const std::vector<Json> kNodes = {node("node1", {{"rack", "a"}}), node("node2", {{"rack", "b"}}),
                                  node("node3", {{"rack", "b"}})};

std::vector<std::string> nodes_of(const L2Plan& p, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& [n, ifs] : p.services.at(key).candidates) out.push_back(n);
  return out;
}

}  // namespace

TEST_CASE("L2 plan: the seed's policy announces every LoadBalancer IP from every node on eth0") {
  // l2-announcement-policy.yaml: serviceSelector {matchLabels: {}}, interfaces eth0/enp1s0.
  Json seed = policy("homelab-announce", {{"serviceSelector", {{"matchLabels", Json::object()}}},
                                          {"interfaces", {"eth0", "enp1s0"}},
                                          {"loadBalancerIPs", true}});
  auto p = l2_plan({seed},
                   {service("production", "api", {"10.0.0.241"}), service("production", "admin", {"10.0.0.241"}),
                    service("production", "pending", {})},
                   {}, kNodes, {"eth0"}, false);
  REQUIRE(p.services.size() == 2);  // pending has no address: nothing to announce
  CHECK(p.services.at("production/api").ips == std::vector<std::string>{"10.0.0.241"});
  CHECK(nodes_of(p, "production/api") == std::vector<std::string>{"node1", "node2", "node3"});
  CHECK(p.services.at("production/api").candidates.at("node2") == std::vector<std::string>{"eth0"});
  CHECK(p.services.at("production/admin").policies == std::vector<std::string>{"homelab-announce"});
  CHECK(p.policies.at("homelab-announce").empty());
}

TEST_CASE("L2 plan: selectors, classes, address kinds, devices and eTP Local") {
  const std::vector<Json> svcs = {
      service("a", "web", {"10.0.0.240"}, Json::object(), {{"tier", "web"}}),
      service("b", "db", {"10.0.0.242"}, {{"externalIPs", {"192.0.2.7"}}}),
      service("a", "bgp", {"10.0.0.243"}, {{"loadBalancerClass", "io.cilium/bgp-control-plane"}}),
      service("a", "l2only", {"10.0.0.244"}, {{"loadBalancerClass", "io.cilium/l2-announcer"}}),
      service("a", "local", {"10.0.0.245"}, {{"externalTrafficPolicy", "Local"}}),
  };
  const std::vector<Json> slices = {slice("a", "local", {{"node2", true}, {"node3", false}})};

  SUBCASE("a label selector, and the virtual labels of name and namespace") {
    auto p = l2_plan({policy("p", {{"serviceSelector", {{"matchLabels", {{"tier", "web"}}}}},
                                   {"loadBalancerIPs", true}}),
                      policy("q", {{"serviceSelector",
                                    {{"matchLabels", {{"io.kubernetes.service.namespace", "b"}}}}},
                                   {"loadBalancerIPs", true}})},
                     svcs, slices, kNodes, {"eth0"}, false);
    CHECK(p.services.count("a/web") == 1);
    CHECK(p.services.count("b/db") == 1);
    CHECK(p.services.count("a/l2only") == 0);
    CHECK(p.services.at("b/db").ips == std::vector<std::string>{"10.0.0.242"});  // not its external IP
  }
  SUBCASE("loadBalancerClass: none or io.cilium/l2-announcer, never another's") {
    auto p = l2_plan({policy("all", {{"loadBalancerIPs", true}})}, svcs, slices, kNodes, {"eth0"}, false);
    CHECK(p.services.count("a/bgp") == 0);
    CHECK(p.services.count("a/l2only") == 1);
  }
  SUBCASE("externalIPs only when the policy asks and the agents serve them") {
    Json ext = policy("ext", {{"externalIPs", true}});
    CHECK(l2_plan({ext}, svcs, slices, kNodes, {"eth0"}, false).services.empty());
    auto p = l2_plan({ext}, svcs, slices, kNodes, {"eth0"}, true);
    REQUIRE(p.services.size() == 1);
    CHECK(p.services.at("b/db").ips == std::vector<std::string>{"192.0.2.7"});
    Json both = policy("both", {{"externalIPs", true}, {"loadBalancerIPs", true}});
    CHECK(l2_plan({both}, svcs, slices, kNodes, {"eth0"}, true).services.at("b/db").ips ==
          std::vector<std::string>{"10.0.0.242", "192.0.2.7"});
  }
  SUBCASE("nodeSelector and interface regexes (matched anywhere, as Go's MatchString)") {
    auto p = l2_plan({policy("rack-b", {{"nodeSelector", {{"matchLabels", {{"rack", "b"}}}}},
                                        {"interfaces", {"^eth[0-9]+$"}},
                                        {"loadBalancerIPs", true}})},
                     svcs, slices, kNodes, {"eth0", "veth1", "ens3"}, false);
    CHECK(nodes_of(p, "a/web") == std::vector<std::string>{"node2", "node3"});
    CHECK(p.services.at("a/web").candidates.at("node3") == std::vector<std::string>{"eth0"});
    auto anywhere = l2_plan({policy("e", {{"interfaces", {"eth"}}, {"loadBalancerIPs", true}})}, svcs,
                            slices, kNodes, {"eth0", "veth1", "ens3"}, false);
    CHECK(anywhere.services.at("a/web").candidates.at("node1") ==
          std::vector<std::string>{"eth0", "veth1"});
    // No device matches: nobody can announce (the Service is planned, with no candidate).
    auto none = l2_plan({policy("w", {{"interfaces", {"^wlan"}}, {"loadBalancerIPs", true}})}, svcs,
                        slices, kNodes, {"eth0"}, false);
    CHECK(none.services.at("a/web").candidates.empty());
  }
  SUBCASE("externalTrafficPolicy Local: only nodes with a ready backend") {
    auto p = l2_plan({policy("all", {{"loadBalancerIPs", true}})}, svcs, slices, kNodes, {"eth0"}, false);
    CHECK(p.services.at("a/local").local);
    CHECK(nodes_of(p, "a/local") == std::vector<std::string>{"node2"});  // node3's is not ready
    auto gone = l2_plan({policy("all", {{"loadBalancerIPs", true}})}, svcs, {}, kNodes, {"eth0"}, false);
    CHECK(gone.services.at("a/local").candidates.empty());
  }
  SUBCASE("two policies: the union of their nodes and devices") {
    auto p = l2_plan({policy("a", {{"nodeSelector", {{"matchLabels", {{"rack", "a"}}}}},
                                   {"interfaces", {"^eth"}},
                                   {"loadBalancerIPs", true}}),
                      policy("b", {{"nodeSelector", {{"matchLabels", {{"rack", "b"}}}}},
                                   {"interfaces", {"^ens"}},
                                   {"loadBalancerIPs", true}})},
                     svcs, slices, kNodes, {"eth0", "ens3"}, false);
    CHECK(p.services.at("a/web").candidates.at("node1") == std::vector<std::string>{"eth0"});
    CHECK(p.services.at("a/web").candidates.at("node2") == std::vector<std::string>{"ens3"});
    CHECK(p.services.at("a/web").policies == std::vector<std::string>{"a", "b"});
  }
}

TEST_CASE("L2 plan: a bad selector or regex selects nothing and is in the policy's status") {
  Json bad = policy("bad", {{"serviceSelector",
                             {{"matchExpressions", {{{"key", "tier"}, {"operator", "Equals"}}}}}},
                            {"nodeSelector", {{"matchExpressions", {{{"key", "rack"}, {"operator", "In"}}}}}},
                            {"interfaces", {"eth[0-9", "(?!lo)"}},
                            {"loadBalancerIPs", true}});
  auto p = l2_plan({bad}, {service("a", "web", {"10.0.0.240"})}, {}, kNodes, {"eth0"}, false);
  CHECK(p.services.empty());
  const auto& conds = p.policies.at("bad");
  std::map<std::string, std::string> by_type;
  for (const auto& c : conds) by_type[c.type] += c.message + ";";
  CHECK(by_type["io.cilium/bad-service-selector"].find("\"Equals\" is not an operator") != std::string::npos);
  CHECK(by_type["io.cilium/bad-node-selector"].find("operator In of rack needs values") != std::string::npos);
  CHECK(by_type["io.cilium/bad-interface-regex"].find("\"eth[0-9\"") != std::string::npos);
  CHECK(by_type["io.cilium/bad-interface-regex"].find("lookaround is not RE2 syntax") != std::string::npos);

  auto status = l2_policy_status(bad, p, "2026-12-06T00:00:00Z");
  REQUIRE(status);
  int true_conditions = 0;
  for (const auto& c : (*status)["conditions"]) {
    CHECK(c["status"] == "True");
    CHECK(c["reason"] == "error");
    CHECK(c["lastTransitionTime"] == "2026-12-06T00:00:00Z");
    ++true_conditions;
  }
  CHECK(true_conditions == 3);
  // Written back, nothing changes; fixed, each turns False (resolved).
  Json written = bad;
  written["status"] = *status;
  CHECK_FALSE(l2_policy_status(written, p, "2026-12-06T00:01:00Z"));
  written["spec"] = {{"loadBalancerIPs", true}};
  auto fixed_plan = l2_plan({written}, {}, {}, {}, {}, false);
  auto fixed = l2_policy_status(written, fixed_plan, "2026-12-06T00:02:00Z");
  REQUIRE(fixed);
  for (const auto& c : (*fixed)["conditions"]) {
    CHECK(c["status"] == "False");
    CHECK(c["reason"] == "resolved");
    CHECK(c["lastTransitionTime"] == "2026-12-06T00:02:00Z");
  }
  // A good policy gets no condition at all.
  Json good = policy("good", {{"loadBalancerIPs", true}});
  CHECK_FALSE(l2_policy_status(good, l2_plan({good}, {}, {}, {}, {}, false), "2026-12-06T00:00:00Z"));
}

TEST_CASE("L2 Lease names are Cilium's") {
  CHECK(axon::client::l2_lease_name("production", "api") == "cilium-l2announce-production-api");
}
