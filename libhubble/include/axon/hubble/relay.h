// The relay: one Observer API over every agent's. GetFlows opens one stream
// per node with the client's request (so --last N means N per node, as
// with Hubble's relay), merges them in time order through a bounded sort
// buffer, and says which nodes it could not reach instead of waiting for
// them. ServerStatus sums the nodes'; GetNodes lists them.
//
//   hubble::RelayService relay(std::make_shared<MyDiscovery>(store), {});
//   auto server = hubble::FlowServer::start({&relay},
//       {"unix:///run/axon/lab/relay.sock", "127.0.0.1:4245"});
//
// Merge order: each node's stream is in time order; a buffered flow is sent
// once every connected node has sent something at least as new (so no node
// can still send an older one), when the buffer is full (the oldest goes),
// or when it is older than the drain timeout (a quiet node holds nothing up
// for longer). When every stream has ended, the rest goes in order.
//
// Node status events (relay.NodeStatusEvent in the stream): NODE_CONNECTED
// with the nodes streaming, NODE_UNAVAILABLE with those that did not answer
// within the dial timeout (both first), NODE_ERROR when a node's stream
// fails later. No node reachable at all is an UNAVAILABLE error.
//
// Thread safety: gRPC calls the service from many threads; each call has its
// own threads and buffers; the channel cache is locked.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "axon/hubble/metrics.h"
#include "axon/hubble/observer.h"
#include "observer/observer.grpc.pb.h"

namespace axon::hubble {

struct Upstream {
  std::string name;     // node name, shown in node status events and GetNodes
  std::string target;   // gRPC target of the node's Observer: "unix:///...", "10.0.0.11:4244"
  std::string address;  // GetNodes' address; "" = target
};

// Where the agents are. The lead's implementation reads the store (Nodes and
// their agents' addresses); upstreams() is called once per request, from
// gRPC threads: it must be thread-safe and quick.
class UpstreamDiscovery {
 public:
  virtual ~UpstreamDiscovery() = default;
  virtual std::vector<Upstream> upstreams() const = 0;
};

// A fixed list (tests, `axon relay --peer` style wiring).
class StaticUpstreams final : public UpstreamDiscovery {
 public:
  explicit StaticUpstreams(std::vector<Upstream> list) : list_(std::move(list)) {}
  std::vector<Upstream> upstreams() const override { return list_; }

 private:
  std::vector<Upstream> list_;
};

struct RelayOptions {
  std::string version;  // ServerStatus.version and hubble-relay-version; "" = axon's
  std::string name = "relay";  // node_name of the relay's own status events
  std::chrono::milliseconds dial_timeout{2000};  // a node not connected by then is unavailable
  std::chrono::milliseconds call_timeout{3000};  // per-node ServerStatus/GetNodes/GetNamespaces
  size_t sort_buffer = 100;                     // Hubble's sort buffer
  std::chrono::milliseconds drain_timeout{1000};  // Hubble's drain timeout
  // Where the relay's metrics go (null: none). The relay's own names:
  //   hubble_relay_pool_peer_connection_status{status}  peers by gRPC channel state
  //                                                     (CONNECTED, CONNECTING, IDLE,
  //                                                     TRANSIENT_FAILURE), as Hubble's relay
  //   hubble_relay_get_flows_requests_total{follow}
  //   hubble_relay_flows_forwarded_total                 flows written to clients
  //   hubble_relay_node_errors_total{node,status}        UNAVAILABLE / ERROR reports
  MetricsRegistry* metrics = nullptr;
};

class RelayService final : public observer::Observer::Service {
 public:
  RelayService(std::shared_ptr<const UpstreamDiscovery> discovery, RelayOptions options);

  grpc::Status GetFlows(grpc::ServerContext* ctx, const observer::GetFlowsRequest* req,
                        grpc::ServerWriter<observer::GetFlowsResponse>* writer) override;
  grpc::Status ServerStatus(grpc::ServerContext* ctx, const observer::ServerStatusRequest* req,
                            observer::ServerStatusResponse* resp) override;
  grpc::Status GetNodes(grpc::ServerContext* ctx, const observer::GetNodesRequest* req,
                        observer::GetNodesResponse* resp) override;
  grpc::Status GetNamespaces(grpc::ServerContext* ctx, const observer::GetNamespacesRequest* req,
                             observer::GetNamespacesResponse* resp) override;
  // As Hubble's relay: not relayed.
  grpc::Status GetAgentEvents(grpc::ServerContext* ctx,
                              const observer::GetAgentEventsRequest* req,
                              grpc::ServerWriter<observer::GetAgentEventsResponse>* w) override;
  grpc::Status GetDebugEvents(grpc::ServerContext* ctx,
                              const observer::GetDebugEventsRequest* req,
                              grpc::ServerWriter<observer::GetDebugEventsResponse>* w) override;

  // Refreshes the peer connection gauge (before each scrape).
  void refresh_metrics();

 private:
  struct Metrics {
    MetricFamily& peers;
    MetricFamily& requests;
    MetricFamily& forwarded;
    MetricFamily& node_errors;
  };
  void count_node_errors(const std::vector<std::string>& nodes, const char* status);

  std::shared_ptr<grpc::Channel> channel(const std::string& target);
  // Each upstream's channel once connected within the dial timeout, else null.
  std::vector<std::shared_ptr<grpc::Channel>> connect_all(const std::vector<Upstream>& ups);
  // ServerStatus of every upstream (null = unavailable), in parallel.
  std::vector<std::unique_ptr<observer::ServerStatusResponse>> statuses(
      const std::vector<Upstream>& ups);

  std::shared_ptr<const UpstreamDiscovery> discovery_;
  RelayOptions options_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> channels_;  // by target
  std::unique_ptr<Metrics> metrics_;
};

}  // namespace axon::hubble
