#include "axon/hubble/observer.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "axon/base/build_info.h"
#include "axon/base/fd.h"
#include "axon/base/files.h"
#include "batched_writer.h"

namespace axon::hubble {
namespace {

using namespace std::chrono_literals;
namespace health = grpc::health::v1;

// How long a follower sleeps between checks that its client is still there.
constexpr auto kPollSlice = 100ms;

std::string unix_path(const std::string& address) {
  if (address.starts_with("unix://")) return address.substr(7);
  if (address.starts_with("unix:")) return address.substr(5);
  return "";
}

// True when something accepts connections on the unix socket `path`.
bool socket_alive(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  Fd guard(fd);
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof(sa.sun_path)) return false;
  std::copy(path.begin(), path.end(), sa.sun_path);
  return ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0;
}

}  // namespace

ObserverService::ObserverService(std::shared_ptr<const FlowRing> ring, ObserverOptions options)
    : ring_(std::move(ring)), options_(std::move(options)), started_(std::chrono::steady_clock::now()) {
  if (options_.version.empty()) options_.version = build_info::version;
}

grpc::Status ObserverService::GetFlows(grpc::ServerContext* ctx,
                                       const observer::GetFlowsRequest* req,
                                       grpc::ServerWriter<observer::GetFlowsResponse>* writer) {
  auto reader = FlowRingReader::open(*ring_, *req, options_.node_name);
  if (!reader) return {grpc::StatusCode::INVALID_ARGUMENT, reader.error().message};
  ctx->AddInitialMetadata(kServerVersionHeader, options_.version);
  writer->SendInitialMetadata();
  BatchedWriter<FlowEntry> out(writer);  // bursts, flushed when the ring is quiet
  FlowEntry e;
  for (;;) {
    if (ctx->IsCancelled()) return grpc::Status::CANCELLED;
    const auto now = std::chrono::steady_clock::now();
    switch (reader->next(&e, out.holding() ? now : now + kPollSlice)) {
      case FlowRingReader::Next::entry:
        if (!out.push(std::move(e))) return grpc::Status::CANCELLED;  // the client went away
        break;
      case FlowRingReader::Next::end:
        return out.flush() ? grpc::Status::OK : grpc::Status::CANCELLED;
      case FlowRingReader::Next::timeout:
        if (!out.flush()) return grpc::Status::CANCELLED;
        break;
    }
  }
}

observer::ServerStatusResponse ObserverService::status() const {
  observer::ServerStatusResponse r;
  auto s = ring_->stats();
  r.set_num_flows(s.size);
  r.set_max_flows(s.capacity);
  r.set_seen_flows(s.seen_flows);
  r.set_uptime_ns(std::chrono::duration_cast<std::chrono::nanoseconds>(
                      std::chrono::steady_clock::now() - started_)
                      .count());
  r.set_version(options_.version);
  // Flows per second over the last minute, counted in the ring (Hubble's way).
  int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  int64_t from_ns = now_ns - 60'000'000'000;
  std::vector<FlowEntry> entries;
  ring_->read(ring_->oldest(), ring_->capacity(), entries);
  uint64_t recent = 0;
  for (const auto& e : entries) {
    if (e->has_flow() && to_unix_ns(e->time()) >= from_ns) ++recent;
  }
  r.set_flows_rate(static_cast<double>(recent) / 60.0);
  return r;
}

grpc::Status ObserverService::ServerStatus(grpc::ServerContext* ctx,
                                           const observer::ServerStatusRequest*,
                                           observer::ServerStatusResponse* resp) {
  ctx->AddInitialMetadata(kServerVersionHeader, options_.version);
  *resp = status();
  return grpc::Status::OK;
}

grpc::Status ObserverService::GetNamespaces(grpc::ServerContext* ctx,
                                            const observer::GetNamespacesRequest*,
                                            observer::GetNamespacesResponse* resp) {
  ctx->AddInitialMetadata(kServerVersionHeader, options_.version);
  int64_t from_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                        (std::chrono::system_clock::now() - std::chrono::hours(1)).time_since_epoch())
                        .count();
  std::vector<FlowEntry> entries;
  ring_->read(ring_->oldest(), ring_->capacity(), entries);
  std::set<std::pair<std::string, std::string>> seen;  // (cluster, namespace), sorted
  for (const auto& e : entries) {
    if (!e->has_flow() || to_unix_ns(e->time()) < from_ns) continue;
    for (const auto* ep : {&e->flow().source(), &e->flow().destination()}) {
      if (!ep->namespace_().empty()) seen.emplace(ep->cluster_name(), ep->namespace_());
    }
  }
  for (const auto& [cluster, ns] : seen) {
    auto* n = resp->add_namespaces();
    n->set_cluster(cluster);
    n->set_namespace_(ns);
  }
  return grpc::Status::OK;
}

grpc::Status ObserverService::GetNodes(grpc::ServerContext*, const observer::GetNodesRequest*,
                                       observer::GetNodesResponse*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "GetNodes is answered by the relay, not by an agent"};
}

grpc::Status ObserverService::GetAgentEvents(grpc::ServerContext*,
                                             const observer::GetAgentEventsRequest*,
                                             grpc::ServerWriter<observer::GetAgentEventsResponse>*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "axon's agents record no agent events"};
}

grpc::Status ObserverService::GetDebugEvents(grpc::ServerContext*,
                                             const observer::GetDebugEventsRequest*,
                                             grpc::ServerWriter<observer::GetDebugEventsResponse>*) {
  return {grpc::StatusCode::UNIMPLEMENTED, "axon's datapath emits no debug events"};
}

// ---------------------------------------------------------------------------

HealthService::HealthService(std::vector<std::string> services) : services_(std::move(services)) {}

grpc::Status HealthService::Check(grpc::ServerContext*, const health::HealthCheckRequest* req,
                                  health::HealthCheckResponse* resp) {
  if (!req->service().empty() &&
      std::find(services_.begin(), services_.end(), req->service()) == services_.end()) {
    return {grpc::StatusCode::NOT_FOUND, "unknown service " + req->service()};
  }
  resp->set_status(serving_ ? health::HealthCheckResponse::SERVING
                            : health::HealthCheckResponse::NOT_SERVING);
  return grpc::Status::OK;
}

grpc::Status HealthService::Watch(grpc::ServerContext* ctx, const health::HealthCheckRequest* req,
                                  grpc::ServerWriter<health::HealthCheckResponse>* writer) {
  bool known = req->service().empty() ||
               std::find(services_.begin(), services_.end(), req->service()) != services_.end();
  int last = -1;
  while (!ctx->IsCancelled()) {
    int now = !known ? health::HealthCheckResponse::SERVICE_UNKNOWN
              : serving_ ? health::HealthCheckResponse::SERVING
                         : health::HealthCheckResponse::NOT_SERVING;
    if (now != last) {
      health::HealthCheckResponse r;
      r.set_status(static_cast<health::HealthCheckResponse::ServingStatus>(now));
      if (!writer->Write(r)) return grpc::Status::CANCELLED;
      last = now;
    }
    std::this_thread::sleep_for(kPollSlice);
  }
  return grpc::Status::CANCELLED;
}

// ---------------------------------------------------------------------------

Result<std::string> grpc_target(const std::string& address) {
  if (address.empty()) return Error{"empty server address"};
  if (address.starts_with("tls://")) {
    return Error{"server address " + address +
                 ": TLS is not supported; axon's flow servers speak plaintext on unix sockets "
                 "and loopback"};
  }
  if (address.starts_with("unix:")) return address;
  if (address.find("://") != std::string::npos && !address.starts_with("dns://")) {
    return Error{"server address " + address + ": use unix:///path or host:port"};
  }
  if (address.find(':') == std::string::npos) {
    return Error{"server address " + address + ": no port; use host:port (e.g. localhost:4245)"};
  }
  return address;
}

Result<std::unique_ptr<FlowServer>> FlowServer::start(const std::vector<grpc::Service*>& services,
                                                      const std::vector<std::string>& addresses) {
  std::unique_ptr<FlowServer> s(new FlowServer());
  grpc::ServerBuilder builder;
  // Followers (the UI, the relay's streams, `observe -f`) ping every 10 s to
  // notice a connection that went dead (a policy dropping it, a node gone);
  // without this, gRPC answers such pings with GOAWAY "too_many_pings".
  builder.AddChannelArgument(GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS, 5000);
  builder.AddChannelArgument(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  s->ports_.assign(addresses.size(), 0);
  for (size_t i = 0; i < addresses.size(); ++i) {
    std::string path = unix_path(addresses[i]);
    if (!path.empty()) {
      struct stat st{};
      if (::stat(path.c_str(), &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) return Error{path + " exists and is not a socket"};
        if (socket_alive(path)) return Error{"another server is listening on " + path};
        ::unlink(path.c_str());  // stale: left by a process that died
      }
      std::error_code ec;
      std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
      s->unix_paths_.push_back(path);
      builder.AddListeningPort(addresses[i], grpc::InsecureServerCredentials());
    } else {
      builder.AddListeningPort(addresses[i], grpc::InsecureServerCredentials(), &s->ports_[i]);
    }
  }
  for (auto* svc : services) builder.RegisterService(svc);
  builder.RegisterService(&s->health_);
  s->server_ = builder.BuildAndStart();
  if (!s->server_) {
    std::string all;
    for (const auto& a : addresses) all += (all.empty() ? "" : ", ") + a;
    return Error{"cannot serve the flow API on " + all + " (address in use or not writable)"};
  }
  // The sockets' access as Cilium's: root (and group axon) only.
  for (const auto& path : s->unix_paths_) {
    if (auto st = restrict_socket(path); !st) {
      s->stop();
      return st.error();
    }
  }
  for (size_t i = 0; i < addresses.size(); ++i) {
    if (unix_path(addresses[i]).empty() && s->ports_[i] == 0) {
      s->stop();
      return Error{"cannot listen on " + addresses[i]};
    }
  }
  return s;
}

void FlowServer::stop(std::chrono::milliseconds grace) {
  std::call_once(stopped_, [&] {
    if (!server_) return;
    health_.set_serving(false);
    server_->Shutdown(std::chrono::system_clock::now() + grace);
    server_->Wait();
    for (const auto& p : unix_paths_) ::unlink(p.c_str());
  });
}

FlowServer::~FlowServer() {
  stop();
}

}  // namespace axon::hubble
