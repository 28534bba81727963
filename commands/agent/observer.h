// The agent's flow observer (Hubble's, issue 7): datapath events become
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
#include <thread>

#include "agent.h"
#include "axon/hubble/metrics.h"
#include "axon/hubble/observer.h"
#include "axon/hubble/ring.h"

namespace axon::agent {

inline constexpr const char* kMetricsAddress = "0.0.0.0:9965";  // Hubble's metrics port

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
  std::unique_ptr<hubble::MetricsHttpServer> metrics_server_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace axon::agent
