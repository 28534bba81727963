// The agent's flow observer (Hubble's): datapath events become
// Hubble flows in a bounded ring, served over the Observer API and counted
// in Prometheus metrics.
//
//   datapath ring buffer --EventReader--> FlowDecoder (+ AgentEnricher: pods
//   from the store, the agent's endpoints, identities and Services)
//   --> FlowRing --> ObserverService on /run/axon/hubble.sock (+ the
//   hubble-listen-address, in the node's network namespace)
//                --> FlowMetrics on :9965/metrics
//
// Kernel-side losses (the datapath's ring buffer was full) go into the ring
// as LostEvent records, so readers see the gap. Runs on its own thread from
// the moment the agent's datapath is ready until stop().
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <thread>

#include "axon/agent/agent.h"
#include "axon/client/informer.h"
#include "axon/datapath/stats.h"
#include "axon/hubble/flow_decoder.h"
#include "axon/hubble/metrics.h"
#include "axon/hubble/observer.h"
#include "axon/hubble/ring.h"

namespace axon::agent {

inline constexpr const char* kMetricsAddress = "0.0.0.0:9965";  // Hubble's metrics port

// The datapath's own counters on the same /metrics, named after Cilium
// agent's (cilium_forward_count_total, cilium_drop_count_total{reason,
// direction} with the reason's text): axon_forward_count_total{direction},
// axon_forward_bytes_total, axon_drop_count_total{reason,direction},
// axon_drop_bytes_total, axon_datapath_host_routed_packets_total,
// axon_datapath_events_lost_total. Read from the kernel before each scrape.
class DatapathMetrics {
 public:
  explicit DatapathMetrics(hubble::MetricsRegistry& registry);
  void set(const datapath::Stats& stats);
  // What the agent asked of the store since it started: lists (one per
  // kind, then relists), watches opened, watch events, failures.
  void set_store(const client::Informer::Stats& stats);

 private:
  hubble::MetricFamily& forward_packets_;
  hubble::MetricFamily& forward_bytes_;
  hubble::MetricFamily& drop_packets_;
  hubble::MetricFamily& drop_bytes_;
  hubble::MetricFamily& host_routed_;
  hubble::MetricFamily& events_lost_;
  hubble::MetricFamily& store_requests_;
  hubble::MetricFamily& store_events_;
  hubble::MetricFamily& store_errors_;
};

class FlowObserver {
 public:
  explicit FlowObserver(Agent& agent);
  ~FlowObserver();
  FlowObserver(const FlowObserver&) = delete;
  FlowObserver& operator=(const FlowObserver&) = delete;

  // Serves the API and starts the event thread; nothing when hubble is off.
  Status start();
  void stop();

  std::string socket() const { return agent_.config().run_dir + "/hubble.sock"; }

 private:
  void run();

  Agent& agent_;
  std::shared_ptr<hubble::FlowRing> ring_;
  std::unique_ptr<hubble::ObserverService> service_;
  std::unique_ptr<hubble::FlowServer> server_;
  hubble::MetricsRegistry registry_;
  std::unique_ptr<hubble::FlowMetrics> metrics_;
  std::unique_ptr<DatapathMetrics> datapath_metrics_;
  std::unique_ptr<hubble::MetricsHttpServer> metrics_server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  // HTTP requests the node's proxy handled, waiting for the event thread
  // (which owns the decoder and its enrichment) to make them flows.
  std::mutex http_mu_;
  std::vector<hubble::HttpEvent> http_events_;
  std::vector<hubble::DnsEvent> dns_events_;  // the DNS proxy's, as http_events_
};

}  // namespace axon::agent
