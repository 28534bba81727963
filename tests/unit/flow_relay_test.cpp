// The relay over real Observer servers on unix sockets: merge order, nodes
// that are down or fail, sums.
#include "axon/hubble/relay.h"

#include <doctest/doctest.h>

#include <thread>

#include "flow_fixtures.h"
#include "observer/observer.grpc.pb.h"

using namespace axon::hubble;
using namespace std::chrono_literals;

namespace {

FlowEntry flow_at(int64_t ms, const std::string& node) {
  flow::Flow f;
  set_unix_ns(f.mutable_time(), std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    axon::test::at_ms(ms).time_since_epoch())
                                    .count());
  f.set_node_name(node);
  f.set_verdict(flow::FORWARDED);
  return make_flow_entry(std::move(f));
}

FlowEntry flow_now(const std::string& node) {
  flow::Flow f;
  set_unix_ns(f.mutable_time(), std::chrono::duration_cast<std::chrono::nanoseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count());
  f.set_node_name(node);
  return make_flow_entry(std::move(f));
}

struct Node {
  std::string name;
  std::shared_ptr<FlowRing> ring = std::make_shared<FlowRing>(100);
  std::unique_ptr<ObserverService> service;
  std::unique_ptr<FlowServer> server;
};

struct Cluster {
  axon::test::TempDir dir;
  std::vector<Node> nodes;  // node1..node3 up; node4 has no server
  std::vector<Upstream> upstreams;
  std::unique_ptr<RelayService> relay;
  std::unique_ptr<FlowServer> relay_server;
  std::string relay_target;

  explicit Cluster(RelayOptions options = {}) {
    nodes.resize(3);
    for (size_t i = 0; i < 3; ++i) {
      auto& n = nodes[i];
      n.name = "node" + std::to_string(i + 1);
      n.service = std::make_unique<ObserverService>(n.ring, ObserverOptions{n.name, "agent-v"});
      auto s = FlowServer::start({n.service.get()}, {dir.socket(n.name + ".sock")});
      REQUIRE(s.ok());
      n.server = std::move(*s);
      upstreams.push_back({n.name, dir.socket(n.name + ".sock"), ""});
    }
    upstreams.push_back({"node4", dir.socket("node4.sock"), "10.0.0.14:4244"});
    options.version = "relay-v";
    relay = std::make_unique<RelayService>(std::make_shared<StaticUpstreams>(upstreams), options);
    relay_target = dir.socket("relay.sock");
    auto s = FlowServer::start({relay.get()}, {relay_target});
    REQUIRE(s.ok());
    relay_server = std::move(*s);
  }

  std::unique_ptr<observer::Observer::Stub> stub() {
    return observer::Observer::NewStub(
        grpc::CreateChannel(relay_target, grpc::InsecureChannelCredentials()));
  }
};

RelayOptions fast() {
  RelayOptions o;
  o.dial_timeout = 300ms;
  o.drain_timeout = 200ms;
  return o;
}

}  // namespace

TEST_CASE("the relay merges three nodes in time order and names the one that is down") {
  Cluster c(fast());
  // Interleaved times across nodes, each node's own in order.
  for (int i = 0; i < 30; ++i) c.nodes[i % 3].ring->write(flow_at(i * 10, c.nodes[i % 3].name));

  auto stub = c.stub();
  grpc::ClientContext ctx;
  observer::GetFlowsRequest req;
  req.set_number(5);  // per node
  auto t0 = std::chrono::steady_clock::now();
  auto reader = stub->GetFlows(&ctx, req);
  std::vector<observer::GetFlowsResponse> got;
  observer::GetFlowsResponse r;
  while (reader->Read(&r)) got.push_back(r);
  auto st = reader->Finish();
  CHECK(st.ok());
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);  // node4 costs the dial timeout, no more
  auto version = ctx.GetServerInitialMetadata().find(kRelayVersionHeader);
  REQUIRE(version != ctx.GetServerInitialMetadata().end());
  CHECK(std::string(version->second.data(), version->second.size()) == "relay-v");

  REQUIRE(got.size() == 2 + 15);
  REQUIRE(got[0].has_node_status());
  CHECK(got[0].node_status().state_change() == relay::NODE_CONNECTED);
  CHECK(std::vector<std::string>(got[0].node_status().node_names().begin(),
                                 got[0].node_status().node_names().end()) ==
        std::vector<std::string>{"node1", "node2", "node3"});
  REQUIRE(got[1].has_node_status());
  CHECK(got[1].node_status().state_change() == relay::NODE_UNAVAILABLE);
  REQUIRE(got[1].node_status().node_names_size() == 1);
  CHECK(got[1].node_status().node_names(0) == "node4");
  int64_t prev = 0;
  std::map<std::string, int> per_node;
  for (size_t i = 2; i < got.size(); ++i) {
    REQUIRE(got[i].has_flow());
    int64_t t = to_unix_ns(got[i].time());
    CHECK(t >= prev);
    prev = t;
    ++per_node[got[i].node_name()];
  }
  CHECK(per_node == std::map<std::string, int>{{"node1", 5}, {"node2", 5}, {"node3", 5}});
  // The last 5 of each node: times 150..290.
  CHECK(to_unix_ns(got[2].time()) == to_unix_ns(flow_at(150, "x")->time()));
}

TEST_CASE("following through the relay: new flows in order, a failing node reported") {
  // A quiet node (node2) holds flows back for the drain timeout; long enough
  // here that both new flows are in the buffer on a loaded machine too.
  auto options = fast();
  options.drain_timeout = 600ms;
  Cluster c(options);
  auto stub = c.stub();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 30s);  // never hang the suite
  observer::GetFlowsRequest req;
  req.set_follow(true);
  auto reader = stub->GetFlows(&ctx, req);
  observer::GetFlowsResponse r;
  REQUIRE(reader->Read(&r));  // connected
  REQUIRE(reader->Read(&r));  // unavailable
  CHECK(r.node_status().state_change() == relay::NODE_UNAVAILABLE);

  auto a = flow_now("node1");
  std::this_thread::sleep_for(5ms);
  auto b = flow_now("node3");
  auto t0 = std::chrono::steady_clock::now();
  c.nodes[2].ring->write(b);  // the newer one is written first
  c.nodes[0].ring->write(a);
  REQUIRE(reader->Read(&r));
  REQUIRE(r.node_name() == "node1");
  REQUIRE(reader->Read(&r));
  CHECK(r.node_name() == "node3");
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);

  c.nodes[1].server->stop(0ms);  // node2 goes away mid-stream
  REQUIRE(reader->Read(&r));
  REQUIRE(r.has_node_status());
  CHECK(r.node_status().state_change() == relay::NODE_ERROR);
  CHECK(r.node_status().node_names(0) == "node2");
  ctx.TryCancel();
  while (reader->Read(&r)) {
  }
  (void)reader->Finish();
}

TEST_CASE("ServerStatus sums the nodes; GetNodes lists them") {
  Cluster c(fast());
  c.nodes[0].ring->write(flow_at(1, "node1"));
  c.nodes[1].ring->write(flow_at(2, "node2"));
  c.nodes[1].ring->write(flow_at(3, "node2"));
  auto stub = c.stub();
  {
    grpc::ClientContext ctx;
    observer::ServerStatusResponse st;
    REQUIRE(stub->ServerStatus(&ctx, {}, &st).ok());
    CHECK(st.num_flows() == 3);
    CHECK(st.seen_flows() == 3);
    CHECK(st.max_flows() == 300);
    CHECK(st.num_connected_nodes().value() == 3);
    CHECK(st.num_unavailable_nodes().value() == 1);
    REQUIRE(st.unavailable_nodes_size() == 1);
    CHECK(st.unavailable_nodes(0) == "node4");
    CHECK(st.version() == "relay-v");
  }
  {
    grpc::ClientContext ctx;
    observer::GetNodesResponse nodes;
    REQUIRE(stub->GetNodes(&ctx, {}, &nodes).ok());
    REQUIRE(nodes.nodes_size() == 4);
    CHECK(nodes.nodes(0).name() == "node1");
    CHECK(nodes.nodes(0).state() == relay::NODE_CONNECTED);
    CHECK(nodes.nodes(0).version() == "agent-v");
    CHECK(nodes.nodes(1).num_flows() == 2);
    CHECK(nodes.nodes(3).name() == "node4");
    CHECK(nodes.nodes(3).state() == relay::NODE_UNAVAILABLE);
    CHECK(nodes.nodes(3).address() == "10.0.0.14:4244");
  }
}

TEST_CASE("no node reachable is an error, not a hang") {
  axon::test::TempDir dir;
  RelayService relay(std::make_shared<StaticUpstreams>(std::vector<Upstream>{
                         {"a", dir.socket("a.sock"), ""}, {"b", "127.0.0.1:1", ""}}),
                     fast());
  auto server = FlowServer::start({&relay}, {dir.socket("relay.sock")});
  REQUIRE(server.ok());
  auto stub = observer::Observer::NewStub(
      grpc::CreateChannel(dir.socket("relay.sock"), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  auto t0 = std::chrono::steady_clock::now();
  auto reader = stub->GetFlows(&ctx, observer::GetFlowsRequest());
  observer::GetFlowsResponse r;
  std::vector<observer::GetFlowsResponse> got;
  while (reader->Read(&r)) got.push_back(r);
  auto st = reader->Finish();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(st.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(st.error_message().find("a, b") != std::string::npos);
  REQUIRE(got.size() == 1);
  CHECK(got[0].node_status().state_change() == relay::NODE_UNAVAILABLE);
}

TEST_CASE("the relay's metrics: requests, flows forwarded, unavailable nodes, peers by state") {
  MetricsRegistry registry;
  auto options = fast();
  options.metrics = &registry;
  Cluster c(options);
  for (int i = 0; i < 6; ++i) c.nodes[i % 3].ring->write(flow_at(i * 10, c.nodes[i % 3].name));
  auto stub = c.stub();
  grpc::ClientContext ctx;
  observer::GetFlowsRequest req;
  req.set_number(10);
  auto reader = stub->GetFlows(&ctx, req);
  observer::GetFlowsResponse r;
  int flows = 0;
  while (reader->Read(&r)) flows += r.has_flow() ? 1 : 0;
  REQUIRE(reader->Finish().ok());
  CHECK(flows == 6);
  c.relay->refresh_metrics();
  const std::string text = registry.render();
  CAPTURE(text);
  CHECK(text.find("hubble_relay_get_flows_requests_total{follow=\"false\"} 1\n") != std::string::npos);
  CHECK(text.find("hubble_relay_flows_forwarded_total 6\n") != std::string::npos);
  CHECK(text.find("hubble_relay_node_errors_total{node=\"node4\",status=\"UNAVAILABLE\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("hubble_relay_pool_peer_connection_status{status=\"CONNECTED\"} 3\n") !=
        std::string::npos);
}
