// Prometheus exposition, the flow metrics, and /metrics over real HTTP.
#include "axon/hubble/metrics.h"

#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>

#include "flow_fixtures.h"

using namespace axon::hubble;

namespace {

std::string http_get(int port, const std::string& path, const std::string& method = "GET") {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0);
  std::string req = method + " " + path + " HTTP/1.1\r\nHost: x\r\n\r\n";
  REQUIRE(::send(fd, req.data(), req.size(), 0) == static_cast<ssize_t>(req.size()));
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::recv(fd, buf, sizeof(buf), 0)) > 0;) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

}  // namespace

TEST_CASE("text exposition: HELP, TYPE, labels, escaping, numbers") {
  MetricsRegistry r;
  auto& c = r.counter("x_total", "Things\nseen \\ here", {"kind", "path"});
  c.add({"a", "C:\\dir"}, 2);
  c.add({"b\"q", "line\nbreak"});
  c.add({"a", "C:\\dir"});
  auto& g = r.gauge("y", "A gauge");
  g.set({}, 0.25);
  CHECK(r.render() ==
        "# HELP x_total Things\\nseen \\\\ here\n"
        "# TYPE x_total counter\n"
        "x_total{kind=\"a\",path=\"C:\\\\dir\"} 3\n"
        "x_total{kind=\"b\\\"q\",path=\"line\\nbreak\"} 1\n"
        "# HELP y A gauge\n"
        "# TYPE y gauge\n"
        "y 0.25\n");
  CHECK(format_metric_value(1e20) == "1e+20");
  CHECK(format_metric_value(INFINITY) == "+Inf");
  CHECK(format_metric_value(NAN) == "NaN");
  CHECK(c.value({"a", "C:\\dir"}) == 3);
}

TEST_CASE("flow metrics: by type and verdict, drops by reason and direction, policy verdicts") {
  MetricsRegistry r;
  FlowMetrics m(r);
  for (const auto& f : axon::test::golden_flows()) m.observe(*make_flow_entry(f));
  observer::GetFlowsResponse lost;
  lost.mutable_lost_events()->set_source(flow::HUBBLE_RING_BUFFER);
  lost.mutable_lost_events()->set_num_events_lost(7);
  m.observe(lost);
  FlowRing ring(10);
  ring.write(make_flow_entry(axon::test::golden_flows()[0]));
  m.set_ring(ring.stats());
  std::string text = r.render();
  CHECK(text.find("hubble_flows_processed_total{type=\"Trace\",subtype=\"from-endpoint\","
                  "verdict=\"FORWARDED\"} 3\n") != std::string::npos);
  CHECK(text.find("hubble_flows_processed_total{type=\"Trace\",subtype=\"to-endpoint\","
                  "verdict=\"FORWARDED\"} 1\n") != std::string::npos);
  CHECK(text.find("hubble_flows_processed_total{type=\"Drop\",subtype=\"\",verdict=\"DROPPED\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("hubble_drop_total{reason=\"POLICY_DENIED\",protocol=\"TCP\",direction=\"ingress\"} "
                  "1\n") != std::string::npos);
  // Policy decisions: the denied one and the three NEW connections (the reply is none).
  CHECK(text.find("hubble_policy_verdicts_total{direction=\"ingress\",match=\"none\",action=\"dropped\"} "
                  "1\n") != std::string::npos);
  CHECK(text.find("hubble_policy_verdicts_total{direction=\"egress\",match=\"none\","
                  "action=\"forwarded\"} 3\n") != std::string::npos);
  CHECK(text.find("hubble_lost_events_total{source=\"hubble_ring_buffer\"} 7\n") != std::string::npos);
  CHECK(text.find("hubble_ring_buffer_flows 1\n") != std::string::npos);
  CHECK(text.find("hubble_ring_buffer_capacity 10\n") != std::string::npos);
}

TEST_CASE("the /metrics handler and server") {
  MetricsRegistry r;
  r.counter("a_total", "A").add({}, 5);
  auto ok = handle_metrics_request("GET", "/metrics?x=1", r);
  CHECK(ok.status == 200);
  CHECK(ok.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(ok.body.find("a_total 5\n") != std::string::npos);
  CHECK(handle_metrics_request("GET", "/", r).status == 404);
  CHECK(handle_metrics_request("POST", "/metrics", r).status == 405);
  CHECK(http_response_bytes({200, "text/plain", "hi"}) ==
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\nConnection: "
        "close\r\n\r\nhi");

  int scrapes = 0;
  auto server = MetricsHttpServer::start(r, "127.0.0.1:0", [&] { ++scrapes; });
  REQUIRE(server.ok());
  int port = (*server)->port();
  CHECK(port > 0);
  std::string resp = http_get(port, "/metrics");
  CHECK(resp.starts_with("HTTP/1.1 200 OK\r\n"));
  CHECK(resp.find("\r\n\r\n# HELP a_total A\n# TYPE a_total counter\na_total 5\n") !=
        std::string::npos);
  CHECK(http_get(port, "/nope").starts_with("HTTP/1.1 404"));
  CHECK(scrapes == 2);
  (*server)->stop();
  CHECK_FALSE(MetricsHttpServer::start(r, "nonsense").ok());
}
