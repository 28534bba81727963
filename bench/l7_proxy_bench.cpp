// The node's L7 proxy on its own, for bench/l7_bench.py: listens on
// 127.0.0.1 (plain, not transparent: no datapath) and sends allowed
// requests to --upstream-port on 127.0.0.1, with one http rule to check per
// request (GET /.*, a regex match per request as a real rule costs). As the
// node runs it: the proxy asks the agent's end (agent/proxy_process.h, here
// in a thread of this process, started without a proxy process) over the
// unix socket, and sends it every request's record as JSON (L7 flows).
// --gateway N: a Gateway HTTP listener instead (no policy): N HTTPRoutes
// (hosts h0..h<N-1>.example.com; every other Host 404) to a Service whose one
// endpoint is the upstream, routed per request as the node's Gateway
// listener routes (GatewayRoutes from a snapshot), records sent as above.
// Prints "port N", serves until stdin closes.
#include <cstdio>
#include <iostream>
#include <string>

#include <filesystem>

#include "axon/agent/proxy_process.h"
#include "axon/proxy/agent_link.h"
#include "axon/proxy/gateway_routes.h"
#include "axon/proxy/http_proxy.h"

using namespace axon::proxy;

int main(int argc, char** argv) {
  uint16_t upstream = 0;
  unsigned threads = 1;
  bool records = true;  // --records 0: no record per request (no L7 flows)
  int gateway_routes = 0;
  int endpoints = 1;  // --endpoints N: the Service's endpoints are the upstream port and the N-1 after it
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--upstream-port") upstream = static_cast<uint16_t>(std::stoi(argv[i + 1]));
    if (a == "--threads") threads = static_cast<unsigned>(std::stoi(argv[i + 1]));
    if (a == "--records") records = std::stoi(argv[i + 1]) != 0;
    if (a == "--gateway") gateway_routes = std::stoi(argv[i + 1]);
    if (a == "--endpoints") endpoints = std::stoi(argv[i + 1]);
  }
  axon::policy::HttpRule rule;
  rule.method = "GET";
  rule.path = "/.*";
  auto rules = HttpRuleSet::compile({rule}, false);
  if (!rules) return 1;
  ProxyOptions o;
  o.port = 0;
  o.address = "127.0.0.1";
  o.transparent = false;
  o.threads = threads;
  auto set = *rules;
  char dir[] = "/tmp/axon-l7-bench-XXXXXX";
  if (mkdtemp(dir) == nullptr) return 1;
  axon::agent::ProxyProcessConfig pc;
  pc.exe = "";
  pc.socket = std::string(dir) + "/proxy.sock";
  uint64_t recorded = 0;
  axon::agent::ProxyProcess agent(
      pc,
      [set, upstream](const ConnectionInfo&) {
        Decision d;
        d.rules = set;
        d.upstream_ip = "127.0.0.1";
        d.upstream_port = upstream;
        return d;
      },
      [&recorded](const RequestRecord&) { ++recorded; });
  if (auto st = agent.start(); !st) {
    std::cerr << st.error().str() << "\n";
    return 1;
  }
  AgentLink link(pc.socket);
  link.start();
  auto linked = records ? linked_proxy(o, link)
                        : std::make_unique<HttpProxy>(
                              o, [&link](const ConnectionInfo& c) { return link.cached(c); }, HttpProxy::Record{},
                              [&link](const ConnectionInfo& c, std::function<void(Decision)> done) {
                                link.fetch(c, std::move(done));
                              });
  auto& proxy = *linked;
  std::shared_ptr<const GatewayRoutes> routes;
  if (gateway_routes > 0)
    proxy.set_router([&routes](const ConnectionInfo& c, const HttpRequestView& v) { return routes->route(c, v); });
  if (auto st = proxy.start(); !st) {
    std::cerr << st.error().str() << "\n";
    return 1;
  }
  if (gateway_routes > 0) {
    GatewaySnapshot s;
    s.frontends.push_back({"127.0.0.1", proxy.port(), "bench/gw", 80});
    s.listeners.push_back({"bench/gw", 80, "HTTP", {}});
    for (int i = 0; i < gateway_routes; ++i) {
      GatewaySnapshot::AttachedRoute r;
      std::string host = "h" + std::to_string(i) + ".example.com";
      r.object = {{"apiVersion", "gateway.networking.k8s.io/v1"},
                  {"kind", "HTTPRoute"},
                  {"metadata",
                   {{"name", "r" + std::to_string(i)},
                    {"namespace", "bench"},
                    {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
                  {"spec",
                   {{"hostnames", {host}},
                    {"rules",
                     {{{"matches", {{{"path", {{"type", "PathPrefix"}, {"value", "/"}}}}}},
                       {"backendRefs", {{{"name", "api"}, {"port", 80}}}}}}}}}};
      r.hostnames = {host};
      r.resolved = {{true}};
      s.listeners[0].routes.push_back(std::move(r));
    }
    for (int i = 0; i < endpoints; ++i)
      s.endpoints["bench/api:80"].push_back("127.0.0.1:" + std::to_string(upstream + i));
    auto built = GatewayRoutes::from_json(wire::to_json(s));
    if (!built) {
      std::cerr << built.error().str() << "\n";
      return 1;
    }
    routes = *built;
  }
  std::cout << "port " << proxy.port() << std::endl;
  std::string line;
  while (std::getline(std::cin, line)) {
  }
  proxy.stop();
  link.stop();
  agent.stop();
  std::filesystem::remove_all(dir);
  auto s = proxy.stats();
  std::cerr << "connections " << s.connections << " requests " << s.requests << " denied "
            << s.denied << " errors " << s.errors << " upstream connects " << s.upstream_connects
            << " reused " << s.upstream_reused << " records " << recorded << " (lost "
            << link.records_dropped() << ")\n";
  return 0;
}
