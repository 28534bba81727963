// The Observer service on a real gRPC server on a unix socket: what a
// Hubble client sees.
#include "axon/hubble/observer.h"

#include <doctest/doctest.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <thread>

#include "axon/client/health.h"
#include "flow_fixtures.h"
#include "observer/observer.grpc.pb.h"

using namespace axon::hubble;
using namespace std::chrono_literals;

namespace {

struct Server {
  axon::test::TempDir dir;
  std::shared_ptr<FlowRing> ring = std::make_shared<FlowRing>(64);
  ObserverService service{ring, {"node1", "1.2.3-test"}};
  std::unique_ptr<FlowServer> server;
  std::string target;

  Server() {
    target = dir.socket("hubble.sock");
    auto s = FlowServer::start({&service}, {target});
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? "" : s.error().message));
    server = std::move(*s);
  }

  std::unique_ptr<observer::Observer::Stub> stub() {
    return observer::Observer::NewStub(
        grpc::CreateChannel(target, grpc::InsecureChannelCredentials()));
  }
};

void fill(FlowRing& ring) {
  for (auto& f : axon::test::golden_flows()) ring.write(make_flow_entry(f));
}

std::vector<observer::GetFlowsResponse> get_flows(observer::Observer::Stub& stub,
                                                  const observer::GetFlowsRequest& req,
                                                  grpc::Status* status = nullptr,
                                                  std::string* version = nullptr) {
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + 5s);
  auto reader = stub.GetFlows(&ctx, req);
  std::vector<observer::GetFlowsResponse> out;
  observer::GetFlowsResponse r;
  while (reader->Read(&r)) out.push_back(r);
  auto st = reader->Finish();
  if (status) *status = st;
  if (version) {
    auto it = ctx.GetServerInitialMetadata().find(kServerVersionHeader);
    if (it != ctx.GetServerInitialMetadata().end())
      *version = std::string(it->second.data(), it->second.size());
  }
  return out;
}

}  // namespace

TEST_CASE("GetFlows: last N, first N, filters, the version header") {
  Server s;
  fill(*s.ring);
  auto stub = s.stub();

  observer::GetFlowsRequest last2;
  last2.set_number(2);
  std::string version;
  grpc::Status st;
  auto got = get_flows(*stub, last2, &st, &version);
  CHECK(st.ok());
  CHECK(version == "1.2.3-test");
  REQUIRE(got.size() == 2);
  CHECK(got[0].flow().l4().has_udp());
  CHECK(got[1].flow().l4().has_icmpv4());
  CHECK(got[0].node_name() == "node1");
  CHECK(got[0].time().seconds() == got[0].flow().time().seconds());

  observer::GetFlowsRequest first1;
  first1.set_number(1);
  first1.set_first(true);
  got = get_flows(*stub, first1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].flow().destination_service().name() == "api");

  observer::GetFlowsRequest dropped;
  dropped.add_whitelist()->add_verdict(flow::DROPPED);
  got = get_flows(*stub, dropped);
  REQUIRE(got.size() == 1);
  CHECK(got[0].flow().drop_reason_desc() == flow::POLICY_DENIED);

  observer::GetFlowsRequest bad;
  bad.set_first(true);
  bad.set_follow(true);
  get_flows(*stub, bad, &st);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(st.error_message() == "first cannot be specified with follow");

  observer::GetFlowsRequest bad_filter;
  bad_filter.add_whitelist()->add_protocol("quic");
  get_flows(*stub, bad_filter, &st);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
}

TEST_CASE("GetFlows with follow delivers a new flow within a second") {
  Server s;
  fill(*s.ring);
  auto stub = s.stub();
  grpc::ClientContext ctx;
  observer::GetFlowsRequest req;
  req.set_follow(true);
  auto reader = stub->GetFlows(&ctx, req);
  std::this_thread::sleep_for(100ms);  // the follower is waiting at the end of the ring
  auto flows = axon::test::golden_flows();
  auto t0 = std::chrono::steady_clock::now();
  s.ring->write(make_flow_entry(flows[2]));
  observer::GetFlowsResponse r;
  REQUIRE(reader->Read(&r));
  CHECK(std::chrono::steady_clock::now() - t0 < 1s);
  CHECK(r.flow().uuid() == flows[2].uuid());  // the new one, not the old ones
  ctx.TryCancel();
  while (reader->Read(&r)) {
  }
  CHECK(reader->Finish().error_code() == grpc::StatusCode::CANCELLED);
}

TEST_CASE("a stopping server ends its followers") {
  Server s;
  auto stub = s.stub();
  grpc::ClientContext ctx;
  observer::GetFlowsRequest req;
  req.set_follow(true);
  auto reader = stub->GetFlows(&ctx, req);
  std::this_thread::sleep_for(100ms);
  auto t0 = std::chrono::steady_clock::now();
  s.server->stop();
  observer::GetFlowsResponse r;
  while (reader->Read(&r)) {
  }
  (void)reader->Finish();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
}

TEST_CASE("ServerStatus, GetNamespaces, health, unimplemented calls") {
  Server s;
  fill(*s.ring);
  auto stub = s.stub();
  {
    grpc::ClientContext ctx;
    observer::ServerStatusResponse st;
    REQUIRE(stub->ServerStatus(&ctx, {}, &st).ok());
    CHECK(st.num_flows() == 5);
    CHECK(st.max_flows() == 64);
    CHECK(st.seen_flows() == 5);
    CHECK(st.uptime_ns() > 0);
    CHECK(st.version() == "1.2.3-test");
    CHECK_FALSE(st.has_num_connected_nodes());  // a single agent: null
  }
  {
    // The golden flows are from 2023: none in the last hour.
    grpc::ClientContext ctx;
    observer::GetNamespacesResponse ns;
    REQUIRE(stub->GetNamespaces(&ctx, {}, &ns).ok());
    CHECK(ns.namespaces_size() == 0);
  }
  {
    auto f = axon::test::golden_flows()[0];
    axon::hubble::set_unix_ns(f.mutable_time(),
                              std::chrono::duration_cast<std::chrono::nanoseconds>(
                                  std::chrono::system_clock::now().time_since_epoch())
                                  .count());
    s.ring->write(make_flow_entry(f));
    grpc::ClientContext ctx;
    observer::GetNamespacesResponse ns;
    REQUIRE(stub->GetNamespaces(&ctx, {}, &ns).ok());
    REQUIRE(ns.namespaces_size() == 2);
    CHECK(ns.namespaces(0).namespace_() == "default");
    CHECK(ns.namespaces(1).namespace_() == "production");
  }
  {
    grpc::ClientContext ctx;
    observer::GetNodesResponse nodes;
    CHECK(stub->GetNodes(&ctx, {}, &nodes).error_code() == grpc::StatusCode::UNIMPLEMENTED);
  }
  auto health = axon::client::check_health(s.target, kObserverHealthService, 2s);
  REQUIRE(health.ok());
  CHECK(*health == axon::client::ServingStatus::serving);
  CHECK(*axon::client::check_health(s.target, "", 2s) == axon::client::ServingStatus::serving);
  CHECK(*axon::client::check_health(s.target, "no.such.Service", 2s) ==
        axon::client::ServingStatus::service_unknown);
}

TEST_CASE("the server replaces a stale socket and refuses a live one") {
  Server s;
  auto again = FlowServer::start({&s.service}, {s.target});
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().message.find("another server") != std::string::npos);
  s.server->stop();
  // stop() removed the socket; a leftover file (a crashed server) is replaced.
  std::ofstream(s.target.substr(7)).flush();
  CHECK_FALSE(FlowServer::start({&s.service}, {s.target}).ok());  // a regular file: refused
  std::filesystem::remove(s.target.substr(7));
  auto tcp = FlowServer::start({&s.service}, {"127.0.0.1:0"});
  REQUIRE(tcp.ok());
  CHECK((*tcp)->port(0) > 0);
}

namespace {
// Whether a process running as nobody (uid/gid 65534) can connect to the
// unix socket at `path`; -1 when this test cannot say (not root).
int nobody_connects(const std::string& path) {
  if (::geteuid() != 0) return -1;
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(3);
    const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::memcpy(a.sun_path, path.c_str(), std::min(path.size(), sizeof(a.sun_path) - 1));
    ::_exit(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) <= 1 ? WEXITSTATUS(status) == 0 : -1;
}
}  // namespace

TEST_CASE("the server's unix socket is root's, mode 0660: a user outside its group cannot connect") {
  Server s;
  const std::string path = s.target.substr(7);
  struct stat st{};
  REQUIRE(::stat(path.c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0660);
  if (::geteuid() != 0) return;
  CHECK(st.st_uid == 0);
  // The directory open to all, so only the socket's mode decides.
  std::filesystem::permissions(s.dir.path, std::filesystem::perms::all);
  CHECK(nobody_connects(path) == 0);
  ::chmod(path.c_str(), 0666);  // the control: open, nobody gets in
  CHECK(nobody_connects(path) == 1);
}

TEST_CASE("server addresses in Hubble's forms") {
  CHECK(*grpc_target("unix:///run/axon/relay.sock") == "unix:///run/axon/relay.sock");
  CHECK(*grpc_target("localhost:4245") == "localhost:4245");
  CHECK_FALSE(grpc_target("tls://relay:443").ok());
  CHECK_FALSE(grpc_target("localhost").ok());
  CHECK_FALSE(grpc_target("http://x:1").ok());
}
