// LB IPAM's allocator (libclient/src/lbipam.cpp) against every case of
// semantics.md §4, table by table, and a property: on random pools, Services,
// deletions and restarts no address is ever given to two Services that may
// not share it, every satisfiable request is satisfied, and a restart (the
// same objects with the allocations written back) changes nothing.
#include "axon/client/lbipam.h"

#include <doctest/doctest.h>

#include <map>
#include <random>
#include <set>

using axon::client::lbipam_allocate;
using axon::client::LbIpamState;
using axon::client::Json;

namespace {

Json pool(const std::string& name, Json blocks, const std::string& created = "2026-01-01T00:00:00Z",
          Json extra = Json::object()) {
  Json spec = {{"blocks", std::move(blocks)}};
  for (auto& [k, v] : extra.items()) spec[k] = v;
  return {{"apiVersion", "cilium.io/v2"},
          {"kind", "CiliumLoadBalancerIPPool"},
          {"metadata", {{"name", name}, {"creationTimestamp", created}}},
          {"spec", spec}};
}
Json cidr(const std::string& c) { return Json::array({{{"cidr", c}}}); }

struct SvcOpts {
  std::string ns = "default";
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;
  std::vector<std::pair<int, std::string>> ports = {{80, "TCP"}};
  std::string created = "2026-01-02T00:00:00Z";
  std::string etp = "Cluster";
  std::string type = "LoadBalancer";
  std::string lb_class;
  std::string load_balancer_ip;
  Json selector = {{"app", "x"}};
  std::vector<std::string> status_ips;
};

SvcOpts created_at(const std::string& t) {
  SvcOpts o;
  o.created = t;
  return o;
}
SvcOpts in_ns(const std::string& ns) {
  SvcOpts o;
  o.ns = ns;
  return o;
}

Json service(const std::string& name, const SvcOpts& o = {}) {
  Json ports = Json::array();
  for (const auto& [p, proto] : o.ports) ports.push_back({{"port", p}, {"protocol", proto}});
  Json spec = {{"type", o.type}, {"ports", ports}, {"externalTrafficPolicy", o.etp},
               {"selector", o.selector}};
  if (!o.lb_class.empty()) spec["loadBalancerClass"] = o.lb_class;
  if (!o.load_balancer_ip.empty()) spec["loadBalancerIP"] = o.load_balancer_ip;
  Json meta = {{"name", name}, {"namespace", o.ns}, {"creationTimestamp", o.created}};
  for (const auto& [k, v] : o.annotations) meta["annotations"][k] = v;
  for (const auto& [k, v] : o.labels) meta["labels"][k] = v;
  Json svc = {{"apiVersion", "v1"}, {"kind", "Service"}, {"metadata", meta}, {"spec", spec}};
  Json ingress = Json::array();
  for (const auto& ip : o.status_ips) ingress.push_back({{"ip", ip}});
  if (!o.status_ips.empty()) svc["status"]["loadBalancer"]["ingress"] = ingress;
  return svc;
}

std::string ips(const LbIpamState& st, const std::string& key) {
  auto it = st.services.find(key);
  if (it == st.services.end()) return "(unmanaged)";
  std::string out;
  for (const auto& ip : it->second.ips) out += (out.empty() ? "" : ",") + ip;
  return out;
}
std::string reason(const LbIpamState& st, const std::string& key) {
  auto it = st.services.find(key);
  return it == st.services.end() ? "(unmanaged)" : it->second.reason;
}

// The allocations written back into the Services' status (what the operator does).
std::vector<Json> written_back(std::vector<Json> services, const LbIpamState& st) {
  for (auto& s : services) {
    const std::string key = s["metadata"]["namespace"].get<std::string>() + "/" +
                            s["metadata"]["name"].get<std::string>();
    auto it = st.services.find(key);
    if (it == st.services.end()) continue;
    Json ingress = Json::array();
    for (const auto& ip : it->second.ips) ingress.push_back({{"ip", ip}});
    s["status"]["loadBalancer"]["ingress"] = ingress;
  }
  return services;
}

}  // namespace

TEST_CASE("lbipam: the seed's pool, fixed IP and sharing key") {
  const std::vector<Json> pools = {pool("homelab-pool", cidr("10.0.0.240/28"))};
  SvcOpts fixed;
  fixed.ns = "production";
  fixed.annotations = {{"lbipam.cilium.io/ips", "10.0.0.241"}};
  auto st = lbipam_allocate(pools, {service("api", fixed)});
  CHECK(ips(st, "production/api") == "10.0.0.241");
  CHECK(reason(st, "production/api") == "satisfied");
  CHECK(st.pools["homelab-pool"].total == 16);
  CHECK(st.pools["homelab-pool"].used == 1);

  // services-sharing-key.yaml replaces api (no fixed IP now) and adds admin:
  // api keeps its address, admin shares it (ports 80 and 8080 differ).
  SvcOpts shared = fixed;
  shared.annotations = {{"lbipam.cilium.io/sharing-key", "shared-1"}};
  SvcOpts admin = shared;
  admin.ports = {{8080, "TCP"}};
  admin.created = "2026-01-03T00:00:00Z";
  auto again = lbipam_allocate(
      pools, written_back({service("api", shared), service("admin", admin)}, st));
  CHECK(ips(again, "production/api") == "10.0.0.241");
  CHECK(ips(again, "production/admin") == "10.0.0.241");
  CHECK(again.pools["homelab-pool"].used == 1);
}

TEST_CASE("lbipam: which Services, allocation order, allowFirstLastIPs, start/stop") {
  SvcOpts other_class;
  other_class.lb_class = "example.com/other";
  SvcOpts l2;
  l2.lb_class = "io.cilium/l2-announcer";
  SvcOpts node_port;
  node_port.type = "NodePort";
  auto st = lbipam_allocate({pool("p", cidr("10.0.10.0/24"))},
                            {service("a"), service("other", other_class), service("l2", l2),
                             service("np", node_port)});
  CHECK(ips(st, "default/a") == "10.0.10.0");  // a fresh /24 starts at .0 (allowFirstLastIPs Yes)
  CHECK(ips(st, "default/l2") == "10.0.10.1");
  CHECK(ips(st, "default/other") == "(unmanaged)");
  CHECK(ips(st, "default/np") == "(unmanaged)");

  auto no = lbipam_allocate({pool("p", cidr("10.0.10.0/24"), "t", {{"allowFirstLastIPs", "No"}})},
                            {service("a")});
  CHECK(ips(no, "default/a") == "10.0.10.1");
  CHECK(no.pools["p"].total == 254);
  auto small = lbipam_allocate(
      {pool("p", cidr("10.0.10.4/31"), "t", {{"allowFirstLastIPs", "No"}})}, {service("a")});
  CHECK(ips(small, "default/a") == "10.0.10.4");  // /31: nothing reserved

  auto range = lbipam_allocate(
      {pool("p", Json::array({{{"start", "10.0.0.20"}, {"stop", "10.0.0.21"}},
                              {{"start", "10.0.0.30"}}}))},
      {service("a"), service("b", created_at("2026-01-03T00:00:00Z")),
       service("c", created_at("2026-01-04T00:00:00Z")),
       service("d", created_at("2026-01-05T00:00:00Z"))});
  CHECK(ips(range, "default/a") == "10.0.0.20");
  CHECK(ips(range, "default/b") == "10.0.0.21");
  CHECK(ips(range, "default/c") == "10.0.0.30");  // start alone: one address
  CHECK(ips(range, "default/d") == "");
  CHECK(reason(range, "default/d") == "out_of_ips");
  CHECK(range.pools["p"].total == 3);
  CHECK(range.pools["p"].used == 3);
}

TEST_CASE("lbipam: every unsatisfied reason of the reference") {
  SvcOpts want;
  want.annotations = {{"lbipam.cilium.io/ips", "10.0.0.241"}};
  struct Case {
    std::string what;
    std::vector<Json> pools;
    std::vector<Json> services;
    std::string key, reason;
  };
  SvcOpts legacy;
  legacy.annotations = {{"io.cilium/lb-ipam-ips", "10.0.9.9"}};
  SvcOpts spec_ip;
  spec_ip.load_balancer_ip = "10.0.9.9";
  SvcOpts selected;
  selected.labels = {{"color", "blue"}};
  Json blue = {{"serviceSelector", {{"matchLabels", {{"color", "blue"}}}}}};
  SvcOpts younger = want;
  younger.created = "2026-01-09T00:00:00Z";
  SvcOpts keyed = want;
  keyed.annotations["lbipam.cilium.io/sharing-key"] = "k";
  SvcOpts keyed_same_port = keyed;
  keyed_same_port.created = "2026-01-09T00:00:00Z";
  const std::vector<Case> cases = {
      {"no pool at all", {}, {service("a")}, "default/a", "no_pool"},
      {"no pool selects it", {pool("p", cidr("10.0.0.0/24"), "t", blue)}, {service("a")},
       "default/a", "no_pool"},
      {"a requested IP in no pool", {pool("p", cidr("10.0.1.0/24"))}, {service("a", want)},
       "default/a", "no_pool"},
      {"the legacy annotation", {pool("p", cidr("10.0.1.0/24"))}, {service("a", legacy)},
       "default/a", "no_pool"},
      {"spec.loadBalancerIP", {pool("p", cidr("10.0.1.0/24"))}, {service("a", spec_ip)},
       "default/a", "no_pool"},
      {"a disabled pool", {pool("p", cidr("10.0.0.0/24"), "t", {{"disabled", true}})},
       {service("a")}, "default/a", "no_pool"},
      {"exhausted", {pool("p", cidr("10.0.0.240/32"))},
       {service("a"), service("b", created_at("2026-01-09T00:00:00Z"))}, "default/b", "out_of_ips"},
      {"requested IP in a pool that does not select it",
       {pool("p", cidr("10.0.0.240/28"), "t", blue)}, {service("a", want)}, "default/a",
       "pool_selector_mismatch"},
      {"requested IP held by another Service", {pool("p", cidr("10.0.0.240/28"))},
       {service("a", want), service("b", younger)}, "default/b", "already_allocated"},
      {"same sharing key, same port", {pool("p", cidr("10.0.0.240/28"))},
       {service("a", keyed), service("b", keyed_same_port)}, "default/b",
       "already_allocated_incompatible_service"},
      {"a blue Service from a blue pool", {pool("p", cidr("10.0.0.0/24"), "t", blue)},
       {service("a", selected)}, "default/a", "satisfied"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    auto st = lbipam_allocate(c.pools, c.services);
    CHECK(reason(st, c.key) == c.reason);
    if (c.reason != "satisfied") {
      CHECK(ips(st, c.key) == "");
      CHECK_FALSE(st.services[c.key].message.empty());
    }
  }
}

TEST_CASE("lbipam: the virtual labels select by name and namespace") {
  Json by_name = {{"serviceSelector",
                   {{"matchLabels", {{"io.kubernetes.service.namespace", "prod"}}}}}};
  auto st = lbipam_allocate({pool("p", cidr("10.0.0.0/24"), "t", by_name)},
                            {service("a", in_ns("prod")), service("b", in_ns("dev"))});
  CHECK(reason(st, "prod/a") == "satisfied");
  CHECK(reason(st, "dev/b") == "no_pool");
}

TEST_CASE("lbipam: sharing rules (namespaces, ports, traffic policy, pods)") {
  const std::vector<Json> pools = {pool("p", cidr("10.0.0.240/28"))};
  auto with = [](std::string ns, int port, std::string proto = "TCP") {
    SvcOpts o;
    o.ns = std::move(ns);
    o.ports = {{port, proto}};
    o.annotations = {{"lbipam.cilium.io/sharing-key", "k"}};
    return o;
  };
  auto later = [](SvcOpts o) {
    o.created = "2026-01-09T00:00:00Z";
    return o;
  };
  auto same_ip = [&](std::vector<Json> svcs, const std::string& a, const std::string& b) {
    auto st = lbipam_allocate(pools, svcs);
    return ips(st, a) == ips(st, b);
  };
  CHECK(same_ip({service("a", with("x", 80)), service("b", later(with("x", 8080)))}, "x/a", "x/b"));
  CHECK_FALSE(same_ip({service("a", with("x", 80)), service("b", later(with("x", 80)))}, "x/a", "x/b"));
  // TCP 53 and UDP 53 are different ports (the newest rule).
  CHECK(same_ip({service("a", with("x", 53, "TCP")), service("b", later(with("x", 53, "UDP")))},
                "x/a", "x/b"));
  // Across namespaces only when both allow it.
  auto cross = [&](const std::string& a_allows, const std::string& b_allows) {
    SvcOpts a = with("x", 80), b = later(with("y", 8080));
    if (!a_allows.empty()) a.annotations["lbipam.cilium.io/sharing-cross-namespace"] = a_allows;
    if (!b_allows.empty()) b.annotations["lbipam.cilium.io/sharing-cross-namespace"] = b_allows;
    return same_ip({service("a", a), service("b", b)}, "x/a", "y/b");
  };
  CHECK_FALSE(cross("", ""));
  CHECK_FALSE(cross("y", ""));
  CHECK(cross("y", "x"));
  CHECK(cross("*", "x"));
  // The same externalTrafficPolicy; Local ones must select the same pods.
  SvcOpts l1 = with("x", 80), l2 = later(with("x", 8080));
  l1.etp = l2.etp = "Local";
  CHECK(same_ip({service("a", l1), service("b", l2)}, "x/a", "x/b"));
  l2.selector = {{"app", "other"}};
  CHECK_FALSE(same_ip({service("a", l1), service("b", l2)}, "x/a", "x/b"));
  l1.annotations["lbipam.cilium.io/sharing-permit-different-pods"] = "true";
  l2.annotations["lbipam.cilium.io/sharing-permit-different-pods"] = "true";
  CHECK(same_ip({service("a", l1), service("b", l2)}, "x/a", "x/b"));
  SvcOpts c1 = with("x", 80), c2 = later(with("x", 8080));
  c2.etp = "Local";
  CHECK_FALSE(same_ip({service("a", c1), service("b", c2)}, "x/a", "x/b"));
}

TEST_CASE("lbipam: overlapping pools: the newer conflicts and allocates nothing") {
  auto st = lbipam_allocate({pool("old", cidr("10.0.0.0/24"), "2026-01-01T00:00:00Z"),
                             pool("new", cidr("10.0.0.128/25"), "2026-02-01T00:00:00Z"),
                             pool("self", Json::array({{{"cidr", "10.1.0.0/24"}},
                                                       {{"cidr", "10.1.0.0/25"}}}))},
                            {service("a")});
  CHECK_FALSE(st.pools["old"].conflict);
  CHECK(st.pools["new"].conflict);
  CHECK(st.pools["new"].conflict_message.find("10.0.0.128/25") != std::string::npos);
  CHECK(st.pools["new"].conflict_message.find("'old'") != std::string::npos);
  CHECK(st.pools["new"].total == 0);
  CHECK(st.pools["self"].conflict);
  CHECK(ips(st, "default/a") == "10.0.0.0");
  // IPv6 blocks are not served, and say so.
  auto v6 = lbipam_allocate({pool("v6", cidr("fd00::/120"))}, {service("a")});
  CHECK(v6.pools["v6"].unsupported.size() == 1);
  CHECK(reason(v6, "default/a") == "out_of_ips");
}

TEST_CASE("lbipam: a restart keeps every allocation; pending Services get a new pool") {
  std::vector<Json> pools = {pool("p", cidr("10.0.0.240/30"))};
  std::vector<Json> svcs;
  for (int i = 0; i < 6; ++i) {
    SvcOpts o;
    o.created = "2026-01-0" + std::to_string(i + 1) + "T00:00:00Z";
    svcs.push_back(service("s" + std::to_string(i), o));
  }
  auto first = lbipam_allocate(pools, svcs);
  CHECK(reason(first, "default/s4") == "out_of_ips");
  // Delete s1, restart: the others keep theirs, s4 (the oldest pending) gets s1's.
  auto back = written_back(svcs, first);
  back.erase(back.begin() + 1);
  auto second = lbipam_allocate(pools, back);
  for (int i : {0, 2, 3}) {
    CAPTURE(i);
    const std::string k = "default/s" + std::to_string(i);
    CHECK(ips(second, k) == ips(first, k));
  }
  CHECK(ips(second, "default/s4") == ips(first, "default/s1"));
  CHECK(reason(second, "default/s5") == "out_of_ips");
  // A new pool appears: the pending one is satisfied from it.
  pools.push_back(pool("q", cidr("10.0.1.0/30")));
  auto third = lbipam_allocate(pools, written_back(back, second));
  CHECK(ips(third, "default/s5") == "10.0.1.0");
  // An address outside every pool (written by someone else) is replaced.
  SvcOpts stray;
  stray.status_ips = {"192.168.7.7"};
  auto fourth = lbipam_allocate(pools, {service("stray", stray)});
  CHECK(ips(fourth, "default/stray") == "10.0.0.240");
}

TEST_CASE("lbipam property: no address given to two Services that may not share; restarts are "
          "stable") {
  std::mt19937 rng(20261206);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  for (int round = 0; round < 300; ++round) {
    CAPTURE(round);
    std::vector<Json> pools;
    const int npools = pick(3);
    for (int p = 0; p < npools; ++p) {
      Json extra = Json::object();
      if (pick(4) == 0) extra["disabled"] = true;
      if (pick(3) == 0) extra["serviceSelector"] = {{"matchLabels", {{"tier", pick(2) ? "a" : "b"}}}};
      pools.push_back(pool("p" + std::to_string(p),
                           cidr("10.0." + std::to_string(pick(3)) + "." + std::to_string(pick(2) * 8) +
                                "/" + std::to_string(29 + pick(3))),
                           "2026-01-0" + std::to_string(p + 1) + "T00:00:00Z", extra));
    }
    std::vector<Json> svcs;
    const int nsvc = 1 + pick(12);
    for (int s = 0; s < nsvc; ++s) {
      SvcOpts o;
      o.ns = pick(2) ? "x" : "y";
      o.created = "2026-02-" + std::to_string(10 + s) + "T00:00:00Z";
      o.labels = {{"tier", pick(2) ? "a" : "b"}};
      o.ports = {{pick(2) ? 80 : 443, "TCP"}};
      if (pick(3) == 0) o.annotations["lbipam.cilium.io/sharing-key"] = pick(2) ? "k1" : "k2";
      if (pick(5) == 0) o.annotations["lbipam.cilium.io/ips"] = "10.0." + std::to_string(pick(3)) + "." + std::to_string(pick(16));
      if (pick(4) == 0) o.etp = "Local";
      svcs.push_back(service("s" + std::to_string(s), o));
    }
    auto st = lbipam_allocate(pools, svcs);
    // Never one address to two Services that may not share it.
    std::map<std::string, std::vector<std::string>> holders;
    for (const auto& [k, v] : st.services)
      for (const auto& ip : v.ips) holders[ip].push_back(k);
    auto find = [&](const std::string& key) -> const Json& {
      for (const auto& s : svcs)
        if (s["metadata"]["namespace"].get<std::string>() + "/" + s["metadata"]["name"].get<std::string>() == key)
          return s;
      FAIL("no service " << key);
      return svcs.front();
    };
    for (const auto& [ip, ks] : holders) {
      for (size_t a = 0; a < ks.size(); ++a) {
        for (size_t b = a + 1; b < ks.size(); ++b) {
          const Json &sa = find(ks[a]), &sb = find(ks[b]);
          const auto key = [](const Json& s) {
            return s["metadata"].value("annotations", Json::object()).value("lbipam.cilium.io/sharing-key", "");
          };
          CAPTURE(ip);
          CHECK(!key(sa).empty());
          CHECK(key(sa) == key(sb));
          CHECK(sa["metadata"]["namespace"] == sb["metadata"]["namespace"]);
          CHECK(sa["spec"]["ports"] != sb["spec"]["ports"]);
        }
      }
    }
    // Every satisfiable request is satisfied: a Service left out_of_ips has
    // every enabled pool that selects it full.
    for (const auto& [k, v] : st.services) {
      if (v.reason != "out_of_ips") continue;
      const Json& svc = find(k);
      for (const auto& p : pools) {
        const auto& ps = st.pools[p["metadata"]["name"]];
        if (ps.conflict || p["spec"].value("disabled", false)) continue;
        const Json& sel = p["spec"].value("serviceSelector", Json());
        if (!sel.is_null() && sel["matchLabels"]["tier"] != svc["metadata"]["labels"]["tier"]) continue;
        CAPTURE(k);
        CHECK(ps.used == ps.total);
      }
    }
    // A restart with the allocations written back changes nothing.
    auto again = lbipam_allocate(pools, written_back(svcs, st));
    for (const auto& [k, v] : st.services) {
      CAPTURE(k);
      CHECK(again.services[k].ips == v.ips);
      CHECK(again.services[k].reason == v.reason);
    }
  }
}

TEST_CASE("lbipam property: the incremental allocator (LbIpam) gives what a full run gives") {
  // Random histories of the changes an operator sees — Services created
  // (mostly the newest), deleted, their requests changed, the operator's own
  // status writes coming back, pools added or disabled — each step compared
  // with lbipam_allocate on the same objects.
  std::mt19937 rng(61206);
  auto pick = [&](int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng); };
  size_t incremental_steps = 0;
  for (int round = 0; round < 60; ++round) {
    CAPTURE(round);
    std::vector<Json> pools = {pool("p0", cidr("10.0.0.0/28"))};
    std::vector<Json> svcs;
    axon::client::LbIpam ipam;
    int next = 0, version = 1;
    auto new_service = [&](bool newest) {
      SvcOpts o;
      o.ns = pick(2) ? "x" : "y";
      const int day = newest ? 10 + next : 1 + pick(9);
      o.created = "2026-02-" + std::to_string(day) + "T00:00:00Z";
      o.ports = {{pick(2) ? 80 : 443, "TCP"}};
      if (pick(3) == 0) o.annotations["lbipam.cilium.io/sharing-key"] = "k";
      if (pick(6) == 0) o.annotations["lbipam.cilium.io/ips"] = "10.0.0." + std::to_string(1 + pick(14));
      Json s = service("s" + std::to_string(next++), o);
      s["metadata"]["resourceVersion"] = std::to_string(version++);
      return s;
    };
    for (int step = 0; step < 40; ++step) {
      CAPTURE(step);
      const int what = pick(10);
      if (what < 5 || svcs.empty()) {
        svcs.push_back(new_service(what != 0));
      } else if (what == 5) {
        svcs.erase(svcs.begin() + pick(static_cast<int>(svcs.size())));
      } else if (what == 6) {
        Json& s = svcs[pick(static_cast<int>(svcs.size()))];
        s["spec"]["ports"] = Json::array({{{"port", 8000 + pick(3)}, {"protocol", "TCP"}}});
        s["metadata"]["resourceVersion"] = std::to_string(version++);
      } else if (what == 7 && pools.size() < 3) {
        pools.push_back(pool("p" + std::to_string(pools.size()),
                             cidr("10.0." + std::to_string(pools.size()) + ".0/29"),
                             "2026-01-0" + std::to_string(pools.size() + 1) + "T00:00:00Z"));
      } else if (what == 8) {
        pools[pick(static_cast<int>(pools.size()))]["spec"]["disabled"] = pick(2) == 0;
      }
      auto u = ipam.update(pools, svcs);
      incremental_steps += !u.full;
      const auto want = lbipam_allocate(pools, svcs);
      REQUIRE(u.state->services.size() == want.services.size());
      for (const auto& [k, w] : want.services) {
        CAPTURE(k);
        const auto& got = u.state->services.at(k);
        CHECK(got.ips == w.ips);
        CHECK(got.reason == w.reason);
        CHECK(got.message == w.message);
        // (not_shared, apply's warning, is found when a Service is given an
        // address; a full run that keeps one does not look again.)
      }
      for (const auto& [name, w] : want.pools) {
        CAPTURE(name);
        CHECK(u.state->pools.at(name).used == w.used);
        CHECK(u.state->pools.at(name).total == w.total);
        CHECK(u.state->pools.at(name).conflict == w.conflict);
      }
      // The operator writes the statuses back (a new version each): the
      // echo changes nothing.
      std::vector<Json> before = svcs;
      svcs = written_back(svcs, *u.state);
      for (size_t i = 0; i < svcs.size(); ++i)
        if (svcs[i] != before[i]) svcs[i]["metadata"]["resourceVersion"] = std::to_string(version++);
      auto echo = ipam.update(pools, svcs);
      CHECK_FALSE(echo.full);
      for (const auto& [k, w] : want.services) CHECK(echo.state->services.at(k).ips == w.ips);
    }
  }
  CHECK(incremental_steps > 500);  // the common change took the short way
}
