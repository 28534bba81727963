// The agent as a process: its API on the node's socket (for the CNI
// plugin, status, endpoint and policy commands), the readiness endpoint,
// Hubble's observer, and the init steps of its pod.
#include "axon/agent/run.h"

#include "axon/agent/agent.h"
#include "axon/agent/observer.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/statfs.h>

#include <atomic>
#include <filesystem>
#include <thread>

#include "axon/agent/v1/agent.grpc.pb.h"
#include "axon/base/build_info.h"
#include "axon/base/fd.h"
#include "axon/base/files.h"
#include "axon/base/log.h"
#include "axon/datapath/bpffs.h"

namespace axon::agent {
namespace {

namespace pb = axon::agent::v1;
namespace fs = std::filesystem;

class AgentService final : public pb::Agent::Service {
 public:
  explicit AgentService(Agent& a) : a_(a) {}

  grpc::Status Health(grpc::ServerContext*, const pb::Empty*, pb::HealthResponse* r) override {
    r->set_node(a_.config().node);
    r->set_version(build_info::version);
    auto errors = a_.errors();
    r->set_state(!a_.ready() ? "Failure" : errors.empty() ? "Ok" : "Warning");
    r->set_message(!a_.ready() ? "starting" : errors.empty() ? "" : errors.front());
    return grpc::Status::OK;
  }

  grpc::Status Status(grpc::ServerContext*, const pb::Empty*, pb::StatusResponse* r) override {
    r->set_node(a_.config().node);
    r->set_version(build_info::version);
    auto errors = a_.errors();
    r->set_state(!a_.ready() ? "Failure" : errors.empty() ? "Ok" : "Warning");
    for (const auto& e : errors) r->add_errors(e);
    r->set_endpoints(static_cast<uint32_t>(a_.endpoints().size()));
    r->set_identities(static_cast<uint32_t>(a_.identities().size()));
    r->set_policies(static_cast<uint32_t>(a_.policy_count()));
    r->set_services(static_cast<uint32_t>(a_.services().size()));
    r->set_pod_cidr(a_.pod_cidr());
    r->set_l7_proxy(a_.l7_proxy_status());
    return grpc::Status::OK;
  }

  grpc::Status ListEndpoints(grpc::ServerContext*, const pb::Empty*, pb::EndpointList* r) override {
    for (const auto& e : a_.endpoints()) {
      auto* out = r->add_endpoints();
      out->set_id(e.id);
      out->set_pod_namespace(e.pod_ns);
      out->set_pod_name(e.pod_name);
      out->set_ip(e.ip);
      out->set_identity(e.identity);
      for (const auto& [k, v] : e.labels) out->add_labels(k + "=" + v);
      out->set_ingress_enforced(e.ingress_enforced);
      out->set_egress_enforced(e.egress_enforced);
      out->set_state("ready");
      out->set_host_ifname(e.ifname);
      out->set_host_ifindex(e.ifindex);
      out->set_container_id(e.container_id);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListIdentities(grpc::ServerContext*, const pb::Empty*,
                              pb::IdentityList* r) override {
    for (const auto& [id, labels] : a_.identities()) {
      auto* out = r->add_identities();
      out->set_id(id);
      for (const auto& [k, v] : labels) out->add_labels(k + "=" + v);
    }
    return grpc::Status::OK;
  }

  grpc::Status ListServices(grpc::ServerContext*, const pb::Empty*, pb::ServiceList* r) override {
    for (const auto& s : a_.services()) {
      auto* out = r->add_services();
      const auto& k = s.service.key;
      out->set_frontend(k.vip.str() + ":" + std::to_string(k.port) +
                        (k.protocol == IPPROTO_UDP ? "/UDP" : "/TCP"));
      out->set_type(s.type);
      out->set_name(s.name);
      for (const auto& b : s.service.backends) {
        auto* be = out->add_backends();
        be->set_address(b.addr.str() + ":" + std::to_string(b.port));
        be->set_state("active");
      }
    }
    return grpc::Status::OK;
  }

  grpc::Status ListFqdnCache(grpc::ServerContext*, const pb::Empty*, pb::FqdnCache* r) override {
    for (const auto& e : a_.fqdn_cache()) {
      auto* out = r->add_entries();
      out->set_name(e.name);
      out->set_ip(e.ip);
      out->set_expires_unix(std::chrono::duration_cast<std::chrono::seconds>(e.expires.time_since_epoch()).count());
      out->set_identity(e.identity);
      for (const auto& s : e.selectors) out->add_selectors(s);
      out->set_source(e.source);
    }
    return grpc::Status::OK;
  }

  grpc::Status GetPolicy(grpc::ServerContext*, const pb::Empty*, pb::PolicyResponse* r) override {
    const auto ids = a_.identities();
    for (const auto& v : a_.policy_view()) {
      auto* out = r->add_endpoints();
      out->set_endpoint_id(v.endpoint.id);
      out->set_pod_namespace(v.endpoint.pod_ns);
      out->set_pod_name(v.endpoint.pod_name);
      out->set_identity(v.endpoint.identity);
      out->set_ip(v.endpoint.ip);
      out->set_ingress_enforced(v.policy.ingress_enforced);
      out->set_egress_enforced(v.policy.egress_enforced);
      for (const auto& [k, val] : v.endpoint.labels) out->add_labels(k + "=" + val);
      for (size_t i = 0; i < v.policy.entries.size(); ++i) {
        const auto& e = v.policy.entries[i];
        auto* pe = out->add_entries();
        pe->set_direction(e.direction == datapath::Direction::ingress ? "ingress" : "egress");
        pe->set_identity(e.identity);
        pe->set_protocol(e.protocol);
        pe->set_port_lo(e.port_lo);
        pe->set_port_hi(e.port_hi);
        pe->set_action(e.action == datapath::PolicyAction::deny       ? "deny"
                       : e.action == datapath::PolicyAction::redirect ? "redirect"
                                                                      : "allow");
        pe->set_proxy_port(e.proxy_port);
        for (const auto& o : v.origins[i]) pe->add_origins(o);
        if (auto it = ids.find(e.identity); it != ids.end()) {
          for (const auto& [k, val] : it->second) pe->add_peer_labels(k + "=" + val);
        } else if (auto name = policy::reserved_name(e.identity); !name.empty()) {
          pe->add_peer_labels("reserved:" + std::string(name));
        }
      }
    }
    for (const auto& n : a_.policy_names()) r->add_policies(n);
    return grpc::Status::OK;
  }

  grpc::Status IpamAllocate(grpc::ServerContext*, const pb::IpamRequest* req,
                            pb::IpamResponse* r) override {
    auto ip = a_.ipam_allocate(req->container_id());
    if (!ip) return grpc::Status(grpc::StatusCode::RESOURCE_EXHAUSTED, ip.error().str());
    r->set_ip(*ip);
    r->set_prefix_length(32);
    r->set_gateway("169.254.1.1");  // answered by the host-side veth (proxy ARP)
    r->set_pod_cidr(a_.pod_cidr());
    return grpc::Status::OK;
  }

  grpc::Status IpamRelease(grpc::ServerContext*, const pb::ContainerRequest* req,
                           pb::Empty*) override {
    a_.ipam_release(req->container_id());
    return grpc::Status::OK;
  }

  grpc::Status EndpointCreate(grpc::ServerContext*, const pb::EndpointRequest* req,
                              pb::EndpointResponse* r) override {
    EndpointInfo ep;
    ep.container_id = req->container_id();
    ep.pod_ns = req->pod_namespace();
    ep.pod_name = req->pod_name();
    ep.ifname = req->host_ifname();
    ep.ifindex = req->host_ifindex();
    ep.ip = req->ip();
    ep.netns = req->netns();
    ep.mac = req->mac();
    auto created = a_.endpoint_create(ep);
    if (!created) return grpc::Status(grpc::StatusCode::INTERNAL, created.error().str());
    r->set_endpoint_id(created->id);
    r->set_identity(created->identity);
    return grpc::Status::OK;
  }

  grpc::Status EndpointDelete(grpc::ServerContext*, const pb::ContainerRequest* req,
                              pb::Empty*) override {
    auto st = a_.endpoint_delete(req->container_id());
    if (!st) {
      auto code =
          st.error().sys_errno == ENOENT ? grpc::StatusCode::NOT_FOUND : grpc::StatusCode::INTERNAL;
      return grpc::Status(code, st.error().str());
    }
    return grpc::Status::OK;
  }

 private:
  Agent& a_;
};

// GET /healthz on 127.0.0.1:<port>: 200 once the agent is ready (the
// DaemonSet's readiness probe), 503 before.
void serve_health(Agent& a, int port, const std::atomic<bool>& stop) {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(s.get(), 16) != 0) {
    log::error("health endpoint on 127.0.0.1:{}: {}", port, std::strerror(errno));
    return;
  }
  timeval tv{1, 0};
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  while (!stop.load()) {
    int c = ::accept4(s.get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    char buf[512];
    (void)!::recv(c, buf, sizeof buf, 0);
    const bool ok = a.ready();
    std::string body = ok ? "ok\n" : "starting\n";
    std::string resp = std::string(ok ? "HTTP/1.0 200 OK" : "HTTP/1.0 503 Service Unavailable") +
                       "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
    (void)!::send(c, resp.data(), resp.size(), MSG_NOSIGNAL);
    ::close(c);
  }
}

}  // namespace

int run_agent(const AgentRunOptions& p, std::atomic<bool>& stop) {
  log::set_max_level(std::max(log::max_level(), log::Level::info));
  auto config = AgentConfig::load(p.config_dir);
  if (!config) {
    log::error("{}", config.error().str());
    return 1;
  }
  config->cni_conf_dir = p.cni_conf_dir;
  config->cni_bin_dir = p.cni_bin_dir;
  config->store.kubeconfig = p.kubeconfig;
  config->store.context = p.kube_context;
  Agent agent(*config);
  std::error_code ec;
  fs::create_directories(config->run_dir, ec);
  fs::remove(config->socket(), ec);
  AgentService service(agent);
  grpc::ServerBuilder builder;
  builder.AddListeningPort("unix:" + config->socket(), grpc::InsecureServerCredentials());
  builder.RegisterService(&service);
  auto server = builder.BuildAndStart();
  if (!server) {
    log::error("cannot serve the agent API on {}", config->socket());
    return 1;
  }
  // Root (and group axon) only, as Cilium's: whoever may connect may
  // change policy.
  if (auto st = restrict_socket(config->socket()); !st) {
    log::error("agent API: {}", st.error().str());
    server->Shutdown();
    return 1;
  }
  std::thread health(serve_health, std::ref(agent), config->health_port, std::cref(stop));
  FlowObserver flows(agent);  // Hubble's observer (observer.h)
  if (auto st = flows.start(); !st) log::error("flow observer: {}", st.error().str());
  int rc = 1;
  try {
    rc = agent.run(stop);
  } catch (const std::exception& e) {
    // A bug, not the cluster's doing: say what, stop in order (the kubelet restarts us).
    log::error("agent of {} failed: {}", config->node, e.what());
  }
  stop.store(true);  // the health thread too
  flows.stop();
  server->Shutdown();
  health.join();
  return rc;
}

// Init container: with CLEAN_AXON_STATE=true (the ConfigMap's
// clean-axon-state key), remove this node's pins and agent state.
int clean_state() {
  const char* flag = std::getenv("CLEAN_AXON_STATE");
  if (flag == nullptr || std::string(flag) != "true") {
    log::write(log::Level::error,
               "clean-axon-state: nothing to clean (clean-axon-state is not true)");
    return 0;
  }
  const char* node = std::getenv("NODE_NAME");
  std::error_code ec;
  for (const char* d : {"/run/axon/endpoints", "/run/axon/ipam"}) fs::remove_all(d, ec);
  if (node != nullptr) {
    for (const auto& e : fs::directory_iterator(datapath::kAxonPinRoot, ec)) {
      fs::remove_all(e.path() / node, ec);
    }
  }
  log::write(log::Level::error, "clean-axon-state: removed the node's pins and agent state");
  return 0;
}

int mount_bpf_fs() {
  if (auto st = datapath::ensure_bpffs(); !st) {
    log::error("mount-bpf-fs: {}", st.error().str());
    return 1;
  }
  log::write(log::Level::error, "mount-bpf-fs: bpffs is mounted at " +
                                    std::string(datapath::kBpffsRoot));
  return 0;
}

// Init container: make sure cgroup2 is mounted at the host root the values name.
int mount_cgroup(const std::string& root) {
  constexpr long kCgroup2Magic = 0x63677270;
  struct statfs s {};
  if (::statfs(root.c_str(), &s) == 0 && static_cast<long>(s.f_type) == kCgroup2Magic) {
    log::write(log::Level::error, "mount-cgroup: cgroup2 is mounted at " + root);
    return 0;
  }
  std::error_code ec;
  fs::create_directories(root, ec);
  if (::mount("none", root.c_str(), "cgroup2", 0, nullptr) != 0) {
    log::error("mount-cgroup: cannot mount cgroup2 at {}: {}", root, std::strerror(errno));
    return 1;
  }
  log::write(log::Level::error, "mount-cgroup: mounted cgroup2 at " + root);
  return 0;
}

}  // namespace axon::agent
