// The node's L7 proxy on its own, for bench/l7_bench.py: listens on
// 127.0.0.1 (plain, not transparent: no datapath) and sends allowed
// requests to --upstream-port on 127.0.0.1, with one http rule to check per
// request (GET /.*, a regex match per request as a real rule costs). As the
// node runs it: the proxy asks the agent's end (agent/proxy_process.h, here
// in a thread of this process, started without a proxy process) over the
// unix socket, and sends it every request's record as JSON (L7 flows).
// Prints "port N", serves until stdin closes.
#include <cstdio>
#include <iostream>
#include <string>

#include <filesystem>

#include "axon/agent/proxy_process.h"
#include "axon/proxy/agent_link.h"
#include "axon/proxy/http_proxy.h"

using namespace axon::proxy;

int main(int argc, char** argv) {
  uint16_t upstream = 0;
  unsigned threads = 1;
  bool records = true;  // --records 0: no record per request (no L7 flows)
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--upstream-port") upstream = static_cast<uint16_t>(std::stoi(argv[i + 1]));
    if (a == "--threads") threads = static_cast<unsigned>(std::stoi(argv[i + 1]));
    if (a == "--records") records = std::stoi(argv[i + 1]) != 0;
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
  if (auto st = proxy.start(); !st) {
    std::cerr << st.error().str() << "\n";
    return 1;
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
            << s.denied << " errors " << s.errors << " records " << recorded << " (lost "
            << link.records_dropped() << ")\n";
  return 0;
}
