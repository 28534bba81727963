// Gateway route matching per request as the route count grows (bench/README.md;
// issue target: 1,000 routes on one Gateway within 10% of 10 routes). Two
// shapes of a listener's routes: one hostname per route (api-N.example.com,
// three rules each: an Exact path, a PathPrefix and a PathPrefix with a
// header match), and every route on one hostname with its own path prefix
// (/svc-N). Requests cycle over the routes' hosts and paths, plus misses
// (404). The figure is the matcher's CPU per request (the route lookup the
// proxy runs for every request), the median of rounds.
//
//   axon_bench_gateway_routing [ROUTES...]   (default 10 100 1000 10000)
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "axon/gateway/routing.h"

namespace gw = axon::gateway;
using Clock = std::chrono::steady_clock;

namespace {

std::shared_ptr<gw::Route> route(int i, bool shared_host) {
  const std::string n = std::to_string(i);
  const std::string base = shared_host ? "/svc-" + n : "";
  gw::Json o = {{"kind", "HTTPRoute"},
                {"metadata", {{"name", "r" + n}, {"namespace", "default"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
                {"spec", {{"rules", gw::Json::parse(R"([
    {"matches": [{"path": {"type": "Exact", "value": "BASE/healthz"}}], "backendRefs": [{"name": "a", "port": 80}]},
    {"matches": [{"path": {"type": "PathPrefix", "value": "BASE/v1"}}], "backendRefs": [{"name": "b", "port": 80}]},
    {"matches": [{"path": {"type": "PathPrefix", "value": "BASE/v2"}, "headers": [{"name": "x-canary", "value": "1"}]}],
     "backendRefs": [{"name": "c", "port": 80}]}])")}}}};
  std::string rules = o["spec"]["rules"].dump();
  for (size_t p; (p = rules.find("BASE")) != std::string::npos;) rules.replace(p, 4, base);
  o["spec"]["rules"] = gw::Json::parse(rules);
  return std::make_shared<gw::Route>(gw::parse_route(o));
}

struct Req {
  std::string host, target;
  gw::HeaderList headers;
};

double ns_per_request(int routes, bool shared_host) {
  gw::RouteTable t;
  for (int i = 0; i < routes; ++i)
    t.add(route(i, shared_host), shared_host ? std::vector<std::string>{"api.example.com"}
                                             : std::vector<std::string>{"api-" + std::to_string(i) + ".example.com"});
  t.build();
  std::vector<Req> reqs;
  for (int k = 0; k < 1024; ++k) {
    const int i = (k * 7919) % routes;
    const std::string host = shared_host ? "api.example.com" : "api-" + std::to_string(i) + ".example.com";
    const std::string base = shared_host ? "/svc-" + std::to_string(i) : "";
    switch (k % 4) {
      case 0: reqs.push_back({host + ":80", base + "/healthz", {}}); break;
      case 1: reqs.push_back({host, base + "/v1/users/42?page=2", {{"user-agent", "wrk"}}}); break;
      case 2: reqs.push_back({host, base + "/v2/items", {{"user-agent", "wrk"}, {"X-Canary", "1"}}}); break;
      case 3: reqs.push_back({host, base + "/nowhere", {}}); break;
    }
  }
  std::vector<double> rounds;
  size_t found = 0;
  for (int round = 0; round < 7; ++round) {
    const int n = 200000;
    auto start = Clock::now();
    for (int k = 0; k < n; ++k) {
      const Req& r = reqs[k & 1023];
      auto res = t.route({"GET", r.target, r.host, &r.headers});
      found += res.action != gw::RouteResult::Action::NotFound;
    }
    rounds.push_back(std::chrono::duration<double, std::nano>(Clock::now() - start).count() / n);
  }
  if (found == 0) std::abort();  // the requests must find their routes
  std::sort(rounds.begin(), rounds.end());
  return rounds[rounds.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<int> counts;
  for (int i = 1; i < argc; ++i) counts.push_back(std::atoi(argv[i]));
  if (counts.empty()) counts = {10, 100, 1000, 10000};
  std::printf("%-8s %-22s %-22s\n", "routes", "host per route ns/req", "one host ns/req");
  double base_a = 0, base_b = 0;
  for (int n : counts) {
    const double a = ns_per_request(n, false), b = ns_per_request(n, true);
    if (base_a == 0) base_a = a, base_b = b;
    std::printf("%-8d %-10.0f (%5.2fx)      %-10.0f (%5.2fx)\n", n, a, a / base_a, b, b / base_b);
  }
}
