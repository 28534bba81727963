// The flow service of an agent: Hubble's observer.Observer over the agent's
// FlowRing, the standard health service, and the gRPC server that carries
// them (unix socket, loopback TCP).
//
//   auto ring = std::make_shared<hubble::FlowRing>(capacity);
//   hubble::ObserverService observer(ring, {.node_name = "node1"});
//   auto server = hubble::FlowServer::start({&observer},
//                                           {"unix:///run/axon/hubble.sock"});
//   // event thread: ring->write(hubble::make_flow_entry(decoder.decode(event)));
//   ...
//   (*server)->stop();
//
// Thread safety: ObserverService and HealthService are called by gRPC's
// threads concurrently; they only read the ring (thread-safe) and their own
// immutable options.
#pragma once

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/hubble/ring.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "observer/observer.grpc.pb.h"

namespace axon::hubble {

// The health service name Hubble's clients check before anything else.
inline constexpr const char* kObserverHealthService = "hubble.server.Observer";
// Response header carrying the server's version (agent; the relay sends
// kRelayVersionHeader).
inline constexpr const char* kServerVersionHeader = "hubble-server-version";
inline constexpr const char* kRelayVersionHeader = "hubble-relay-version";

struct ObserverOptions {
  std::string node_name;  // on lost-event records this server makes
  std::string version;    // ServerStatus.version and the version header; "" = axon's
};

class ObserverService final : public observer::Observer::Service {
 public:
  ObserverService(std::shared_ptr<const FlowRing> ring, ObserverOptions options);

  grpc::Status GetFlows(grpc::ServerContext* ctx, const observer::GetFlowsRequest* req,
                        grpc::ServerWriter<observer::GetFlowsResponse>* writer) override;
  grpc::Status ServerStatus(grpc::ServerContext* ctx, const observer::ServerStatusRequest* req,
                            observer::ServerStatusResponse* resp) override;
  grpc::Status GetNamespaces(grpc::ServerContext* ctx, const observer::GetNamespacesRequest* req,
                             observer::GetNamespacesResponse* resp) override;
  // Answered by the relay; an agent says UNIMPLEMENTED, as Hubble's does.
  grpc::Status GetNodes(grpc::ServerContext* ctx, const observer::GetNodesRequest* req,
                        observer::GetNodesResponse* resp) override;
  // axon records no agent or debug events: UNIMPLEMENTED, never an empty
  // success.
  grpc::Status GetAgentEvents(grpc::ServerContext* ctx,
                              const observer::GetAgentEventsRequest* req,
                              grpc::ServerWriter<observer::GetAgentEventsResponse>* w) override;
  grpc::Status GetDebugEvents(grpc::ServerContext* ctx,
                              const observer::GetDebugEventsRequest* req,
                              grpc::ServerWriter<observer::GetDebugEventsResponse>* w) override;

  // What ServerStatus answers (also for metrics and `axon status`).
  observer::ServerStatusResponse status() const;

 private:
  std::shared_ptr<const FlowRing> ring_;
  ObserverOptions options_;
  std::chrono::steady_clock::time_point started_;
};

// grpc.health.v1.Health without gRPC's process-wide default service: SERVING
// for the whole server ("") and for every name in `services`.
class HealthService final : public grpc::health::v1::Health::Service {
 public:
  explicit HealthService(std::vector<std::string> services = {kObserverHealthService});

  void set_serving(bool serving) { serving_ = serving; }

  grpc::Status Check(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::health::v1::HealthCheckResponse* resp) override;
  // Sends the current status, then again whenever it changes, until the
  // client goes away.
  grpc::Status Watch(grpc::ServerContext* ctx, const grpc::health::v1::HealthCheckRequest* req,
                     grpc::ServerWriter<grpc::health::v1::HealthCheckResponse>* writer) override;

 private:
  std::vector<std::string> services_;
  std::atomic<bool> serving_{true};
};

// A gRPC server for flow services on one or more addresses:
// "unix:///path/hubble.sock", "127.0.0.1:4245", "127.0.0.1:0" (a free port).
// A stale unix socket file (nothing accepting) is replaced; a live one is an
// error. Health answers for kObserverHealthService.
class FlowServer {
 public:
  static Result<std::unique_ptr<FlowServer>> start(const std::vector<grpc::Service*>& services,
                                                   const std::vector<std::string>& addresses);
  ~FlowServer();

  // The port bound for addresses[i] (TCP; 0 for unix sockets).
  int port(size_t i) const { return i < ports_.size() ? ports_[i] : 0; }
  HealthService& health() { return health_; }
  // Stops accepting, gives calls `grace` to finish, then cancels them (ends
  // follow streams). Idempotent.
  void stop(std::chrono::milliseconds grace = std::chrono::milliseconds(200));

 private:
  FlowServer() = default;
  HealthService health_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<int> ports_;
  std::vector<std::string> unix_paths_;
  std::once_flag stopped_;
};

// Hubble's server address forms to gRPC targets: "unix:///p" stays,
// "host:port" stays, "tls://..." is refused (axon speaks plaintext).
Result<std::string> grpc_target(const std::string& address);

}  // namespace axon::hubble
