// The relay's forwarder: a TCP listener on loopback whose connections reach
// a flow server's unix socket, byte for byte (gRPC streams included).
#include <doctest/doctest.h>

#include "axon/hubble/forwarder.h"
#include "axon/hubble/observer.h"
#include "cli_runner.h"
#include "flow_fixtures.h"

using namespace axon;
using axon::test::run_axon;

TEST_CASE("a loopback TCP port forwarded to an Observer's unix socket serves GetFlows") {
  test::TempDir dir;
  auto ring = std::make_shared<hubble::FlowRing>(100);
  hubble::ObserverService service(ring, {"node1", ""});
  const std::string path = (dir.path / "relay.sock").string();
  auto server = hubble::FlowServer::start({&service}, {"unix://" + path});
  REQUIRE(server.ok());
  for (const auto& f : test::golden_flows()) ring->write(hubble::make_flow_entry(f));

  auto fwd = hubble::SocketForwarder::start("127.0.0.1:0", path);
  REQUIRE(fwd.ok());
  REQUIRE((*fwd)->port() > 0);
  const std::string target = "127.0.0.1:" + std::to_string((*fwd)->port());
  for (int i = 0; i < 3; ++i) {  // connections come and go
    auto r = run_axon({"observe", "--server", target, "--last", "5", "-o", "jsonpb"});
    CHECK(r.code == 0);
    CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 5);
  }
  (*fwd)->stop();
  auto r = run_axon({"observe", "--server", target, "--timeout", "1s"});
  CHECK(r.code == 1);  // nothing listens any more
  CHECK_FALSE(hubble::other_netns("/proc/self/ns/net"));
  CHECK_FALSE(hubble::other_netns("/nonexistent"));
}

TEST_CASE("a loopback TCP port forwarded to a TCP address (port-forward's mode)") {
  // An Observer on a TCP loopback port stands in for a pod's server; the
  // forwarder connects to it from "its namespace" (here: this one).
  auto ring = std::make_shared<hubble::FlowRing>(100);
  hubble::ObserverService service(ring, {"node1", ""});
  auto server = hubble::FlowServer::start({&service}, {"127.0.0.1:0"});
  REQUIRE(server.ok());
  for (const auto& f : test::golden_flows()) ring->write(hubble::make_flow_entry(f));
  const int port = (*server)->port(0);
  auto fwd = hubble::SocketForwarder::start_tcp("127.0.0.1:0", "127.0.0.1:" + std::to_string(port),
                                                "/proc/self/ns/net");
  REQUIRE(fwd.ok());
  auto r = run_axon({"observe", "--server", "127.0.0.1:" + std::to_string((*fwd)->port()),
                     "--last", "3", "-o", "jsonpb"});
  CHECK(r.code == 0);
  CHECK(std::count(r.out.begin(), r.out.end(), '\n') == 3);
  CHECK_FALSE(hubble::SocketForwarder::start_tcp("127.0.0.1:0", "api:80", "").ok());
}
