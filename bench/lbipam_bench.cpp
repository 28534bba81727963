// LB IPAM's allocator at cluster size (bench/README.md): 10,000 LoadBalancer
// Services over pools of /20 blocks, the whole allocation from scratch (an
// operator starting with nothing allocated), again with every allocation in
// the Services' status (an operator restarting), and one change (a Service
// added) on top of that, as a full recompute and as the operator does it
// (LbIpam: incremental). Times are the operator's CPU for the computation;
// the status writes are one request per Service that changed.
//
//   axon_bench_lbipam [SERVICES]   (default 10000)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "axon/client/lbipam.h"

using axon::client::Json;
using Clock = std::chrono::steady_clock;

namespace {

Json pool(int i) {
  return {{"apiVersion", "cilium.io/v2"},
          {"kind", "CiliumLoadBalancerIPPool"},
          {"metadata", {{"name", "pool-" + std::to_string(i)}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
          {"spec", {{"blocks", Json::array({{{"cidr", "10." + std::to_string(10 + i) + ".0.0/20"}}})}}}};
}

Json service(int i) {
  char ts[32];
  std::snprintf(ts, sizeof ts, "2026-02-01T%02d:%02d:%02dZ", i / 3600 % 24, i / 60 % 60, i % 60);
  Json s = {{"apiVersion", "v1"},
            {"kind", "Service"},
            {"metadata",
             {{"name", "svc-" + std::to_string(i)},
              {"namespace", "ns-" + std::to_string(i % 50)},
              {"creationTimestamp", ts}}},
            {"spec",
             {{"type", "LoadBalancer"},
              {"selector", {{"app", "a" + std::to_string(i)}}},
              {"ports", Json::array({{{"port", 80}, {"protocol", "TCP"}}})}}}};
  if (i % 10 == 0) s["metadata"]["annotations"]["lbipam.cilium.io/sharing-key"] = "k" + std::to_string(i % 100);
  return s;
}

double ms_since(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int n = argc > 1 ? std::atoi(argv[1]) : 10000;
  std::vector<Json> pools;
  for (int i = 0; i < 4; ++i) pools.push_back(pool(i));  // 4 x 4096 addresses
  std::vector<Json> services;
  for (int i = 0; i < n; ++i) services.push_back(service(i));

  double best_fresh = 1e18, best_restart = 1e18, best_change = 1e18, best_status = 1e18,
         best_full_change = 1e18, best_echo = 1e18;
  bool incremental = false, echo_quiet = false;
  size_t satisfied = 0, changed = 0;
  for (int round = 0; round < 5; ++round) {
    auto t = Clock::now();
    auto state = axon::client::lbipam_allocate(pools, services);
    best_fresh = std::min(best_fresh, ms_since(t));
    satisfied = 0;
    for (const auto& [k, v] : state.services) satisfied += v.satisfied;
    // Written back, as the operator does (status of every Service).
    std::vector<Json> written = services;
    t = Clock::now();
    changed = 0;
    for (auto& s : written) {
      if (auto st = axon::client::lbipam_service_status(s, state, "2026-12-06T00:00:00Z")) {
        s["status"] = *st;
        ++changed;
      }
    }
    best_status = std::min(best_status, ms_since(t));
    t = Clock::now();
    auto again = axon::client::lbipam_allocate(pools, written);
    best_restart = std::min(best_restart, ms_since(t));
    written.push_back(service(n));
    t = Clock::now();
    auto more = axon::client::lbipam_allocate(pools, written);
    best_full_change = std::min(best_full_change, ms_since(t));
    (void)again;
    (void)more;
    written.pop_back();

    // The operator's way (LbIpam): its state from the Services as they are
    // (every status written, each object at a version), then one created:
    // the update and the one status it computes.
    for (size_t i = 0; i < written.size(); ++i)
      written[i]["metadata"]["resourceVersion"] = std::to_string(i + 1);
    axon::client::LbIpam ipam;
    (void)ipam.update(pools, written);
    Json added = service(n);
    added["metadata"]["resourceVersion"] = std::to_string(n + 1);
    written.push_back(added);
    t = Clock::now();
    auto u = ipam.update(pools, written);
    for (const auto& key : u.changed) {
      if (key == "ns-" + std::to_string(n % 50) + "/svc-" + std::to_string(n))
        (void)axon::client::lbipam_service_status(written.back(), *u.state, "2026-12-06T00:00:00Z");
    }
    best_change = std::min(best_change, ms_since(t));
    incremental = !u.full && u.changed.size() == 1;
    // Its own status write coming back: nothing to do.
    auto st = axon::client::lbipam_service_status(written.back(), *u.state, "2026-12-06T00:00:00Z");
    if (st) written.back()["status"] = *st;
    written.back()["metadata"]["resourceVersion"] = std::to_string(n + 2);
    t = Clock::now();
    auto echo = ipam.update(pools, written);
    best_echo = std::min(best_echo, ms_since(t));
    echo_quiet = !echo.full && echo.changed.size() == 1;
  }
  std::printf("%d LoadBalancer Services, 4 pools of 4,096 addresses, best of 5:\n", n);
  std::printf("  %8.1f ms  allocate from scratch (%zu satisfied)\n", best_fresh, satisfied);
  std::printf("  %8.1f ms  the %zu Services' new status computed\n", best_status, changed);
  std::printf("  %8.1f ms  allocate again with every allocation in status (restart)\n", best_restart);
  std::printf("  %8.1f ms  one Service added, as a full recompute (lbipam_allocate)\n", best_full_change);
  std::printf("  %8.1f ms  one Service added, as the operator does it (LbIpam::update and its one status)%s\n",
              best_change, incremental ? "" : "  [NOT incremental]");
  std::printf("  %8.1f ms  its status write coming back (LbIpam::update)%s\n", best_echo,
              echo_quiet ? "" : "  [NOT quiet]");
  return 0;
}
