// The web UI's model: flows as table rows, the service map built from them,
// the bounded cache the page polls by sequence number; and the UI server
// itself answering its JSON API over HTTP.
#include <doctest/doctest.h>

#include "axon/hubble/ui.h"
#include "flow_fixtures.h"

using namespace axon;
namespace ui = axon::hubble::ui;

namespace {

const ui::Json* node_by_id(const ui::Json& map, const std::string& id) {
  for (const auto& n : map["nodes"])
    if (n["id"] == id) return &n;
  return nullptr;
}

const ui::Json* edge(const ui::Json& map, const std::string& src, const std::string& dst) {
  for (const auto& e : map["edges"])
    if (e["source"] == src && e["destination"] == dst) return &e;
  return nullptr;
}

}  // namespace

TEST_CASE("map nodes are workloads, app labels, pods, reserved entities or addresses") {
  flow::Endpoint ep;
  ep.set_namespace_("production");
  ep.set_pod_name("api-5c6d8f7b9-abcde");
  ep.add_labels("k8s:app=api-label");
  auto n = ui::map_node(ep, "10.244.2.7");
  CHECK(n.id == "production/api-label");  // no workload: the app label
  CHECK(n.kind == "workload");
  auto* w = ep.add_workloads();
  w->set_name("api");
  w->set_kind("Deployment");
  CHECK(ui::map_node(ep, "10.244.2.7").id == "production/api");
  flow::Endpoint bare;
  bare.set_namespace_("default");
  bare.set_pod_name("lonely");
  CHECK(ui::map_node(bare, "10.244.1.3").id == "default/lonely");
  CHECK(ui::map_node(bare, "10.244.1.3").kind == "pod");
  flow::Endpoint world;
  world.add_labels("cidr:1.1.1.0/24");
  world.add_labels("reserved:world");
  CHECK(ui::map_node(world, "1.1.1.1").id == "reserved:world");
  CHECK(ui::map_node(world, "1.1.1.1").name == "world");
  CHECK(ui::map_node(flow::Endpoint(), "192.0.2.1").id == "ip:192.0.2.1");
}

TEST_CASE("a flow row carries what the table shows") {
  auto flows = test::golden_flows();
  auto row = ui::flow_row(flows[2], 7);  // frontend -> api, policy denied
  CHECK(row["seq"] == 7);
  CHECK(row["verdict"] == "DROPPED");
  CHECK(row["reason"] == "Policy denied");
  CHECK(row["source"]["pod"] == "frontend-7d9c-q2w3e");
  CHECK(row["source"]["node"] == "production/frontend");
  CHECK(row["destination"]["namespace"] == "production");
  CHECK(row["destination"]["port"] == 8080);
  CHECK(row["protocol"] == "TCP");
  CHECK(row["flags"] == "SYN");
  CHECK(row["direction"] == "ingress");
  CHECK(row["time"] == "2023-12-01T12:00:01.001Z");
  auto reply = ui::flow_row(flows[1], 2);
  CHECK(reply["isReply"] == true);
  CHECK(reply["flags"] == "SYN, ACK");
  CHECK(reply["reason"] == "");
}

TEST_CASE("the service map: one edge per source, destination and port; replies make none") {
  ui::FlowCache cache(100);
  for (const auto& f : test::golden_flows()) cache.add(f);
  // The denied connection's SYN again, and as it left the frontend's node
  // (forwarded there, dropped at the api's): still one dropped connection.
  cache.add(test::golden_flows()[2]);
  auto left = test::golden_flows()[2];
  left.set_verdict(flow::FORWARDED);
  left.clear_drop_reason_desc();
  cache.add(left);

  auto map = cache.service_map("production");
  REQUIRE(node_by_id(map, "production/frontend") != nullptr);
  REQUIRE(node_by_id(map, "production/api") != nullptr);
  REQUIRE(node_by_id(map, "default/client") != nullptr);
  CHECK((*node_by_id(map, "default/client"))["inNamespace"] == false);
  CHECK((*node_by_id(map, "production/api"))["inNamespace"] == true);
  // UDP to the world does not touch production.
  CHECK(node_by_id(map, "reserved:world") == nullptr);

  auto* denied = edge(map, "production/frontend", "production/api");
  REQUIRE(denied != nullptr);
  CHECK((*denied)["dropped"] == 1);
  CHECK((*denied)["forwarded"] == 0);
  CHECK((*denied)["verdict"] == "dropped");
  CHECK((*denied)["reasons"] == ui::Json::array({"Policy denied"}));
  CHECK((*denied)["port"] == 8080);
  // client -> api: the Service connection (TCP/80 before DNAT) and the ping.
  int client_edges = 0;
  for (const auto& e : map["edges"]) {
    CHECK_FALSE((e["source"] == "production/api" && e["destination"] == "default/client"));
    if (e["source"] == "default/client") ++client_edges;
  }
  CHECK(client_edges == 2);

  // Another connection on the same edge that got through: mixed.
  auto other = left;
  other.mutable_l4()->mutable_tcp()->set_source_port(51001);
  cache.add(other);
  auto again = cache.service_map("production");
  denied = edge(again, "production/frontend", "production/api");
  REQUIRE(denied != nullptr);
  CHECK((*denied)["dropped"] == 1);
  CHECK((*denied)["forwarded"] == 1);
  CHECK((*denied)["verdict"] == "mixed");

  auto all = cache.service_map("");
  REQUIRE(node_by_id(all, "reserved:world") != nullptr);
  CHECK(edge(all, "default/client", "reserved:world") != nullptr);
}

TEST_CASE("the cache: bounded, polled by sequence, filtered by namespace and verdict") {
  ui::FlowCache cache(4);
  auto flows = test::golden_flows();
  for (const auto& f : flows) cache.add(f);  // 5 into 4: the oldest goes
  auto stats = cache.stats();
  CHECK(stats["seen"] == 5);
  CHECK(stats["cached"] == 4);

  auto page = cache.flows("", 0, 100, "");
  CHECK(page["last"] == 5);
  REQUIRE(page["flows"].size() == 4);
  CHECK(page["flows"][0]["seq"] == 2);  // oldest first
  CHECK(page["flows"][3]["seq"] == 5);

  CHECK(cache.flows("", 5, 100, "")["flows"].empty());  // nothing new
  cache.add(flows[2]);
  auto next = cache.flows("", 5, 100, "");
  REQUIRE(next["flows"].size() == 1);
  CHECK(next["flows"][0]["seq"] == 6);

  auto dropped = cache.flows("production", 0, 100, "DROPPED");
  REQUIRE(dropped["flows"].size() == 2);
  for (const auto& r : dropped["flows"]) CHECK(r["verdict"] == "DROPPED");
  CHECK(cache.flows("kube-system", 0, 100, "")["flows"].empty());
  auto limited = cache.flows("", 0, 2, "");
  REQUIRE(limited["flows"].size() == 2);
  CHECK(limited["flows"][1]["seq"] == 6);  // the newest are kept

  cache.set_known_namespaces({"kube-system", "production"});
  CHECK(cache.namespaces() == ui::Json::array({"default", "kube-system", "production"}));
  cache.add_lost(3);
  CHECK(cache.stats()["lost"] == 3);
}
