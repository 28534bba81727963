// Prometheus metrics: a small text-exposition library (counters and gauges
// with labels, # HELP / # TYPE, escaping), the flow metrics Hubble-style
// agents export, and a tiny HTTP server for /metrics.
//
//   hubble::MetricsRegistry registry;
//   hubble::FlowMetrics flows(registry);
//   flows.observe(response);              // every flow the agent decodes
//   flows.set_ring(ring->stats());        // before each scrape, or periodically
//   auto http = hubble::MetricsHttpServer::start(registry, "127.0.0.1:9965");
//
// Thread safety: every method is safe to call from any thread (a mutex per
// metric family).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "axon/base/fd.h"
#include "axon/base/result.h"
#include "axon/hubble/ring.h"
#include "observer/observer.pb.h"

namespace axon::hubble {

// One metric family: a name, its help, its type and label names; a value per
// distinct label value set.
class MetricFamily {
 public:
  enum class Type { counter, gauge };
  MetricFamily(std::string name, std::string help, Type type, std::vector<std::string> labels);

  // Counters: adds `v` (>= 0). Gauges: adds too (use set to overwrite).
  void add(const std::vector<std::string>& label_values, double v = 1);
  void set(const std::vector<std::string>& label_values, double v);
  double value(const std::vector<std::string>& label_values) const;
  // Appends the exposition text: # HELP, # TYPE, one line per series in
  // label order.
  void render(std::string& out) const;
  const std::string& name() const { return name_; }

 private:
  std::string name_, help_;
  Type type_;
  std::vector<std::string> labels_;
  mutable std::mutex mu_;
  std::map<std::vector<std::string>, double> series_;
};

class MetricsRegistry {
 public:
  // Families render in the order they were added. Names must be unique.
  MetricFamily& counter(std::string name, std::string help, std::vector<std::string> labels = {});
  MetricFamily& gauge(std::string name, std::string help, std::vector<std::string> labels = {});
  std::string render() const;

 private:
  MetricFamily& add(std::string name, std::string help, MetricFamily::Type type,
                    std::vector<std::string> labels);
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<MetricFamily>> families_;
};

// "a\\b\"c\n" as Prometheus wants label values; HELP escapes only \ and \n.
std::string escape_label_value(const std::string& v);
std::string escape_help(const std::string& v);
// 1, 0.5, +Inf, NaN as Prometheus writes numbers.
std::string format_metric_value(double v);

// The flow metrics (names follow Hubble's where Hubble has one):
//   hubble_flows_processed_total{type,subtype,verdict}  type Trace|Drop|PolicyVerdict|L7|...,
//                                                        subtype the observation point
//   hubble_drop_total{reason,protocol,direction}       reason = DropReason name
//   hubble_policy_verdicts_total{direction,match,action} one per policy decision: a
//                                                        policy-verdict event, a policy drop
//                                                        (133, 181), or the trace of a
//                                                        connection's first packet (NEW)
//   hubble_lost_events_total{source}                    lost-event records seen
//   hubble_ring_buffer_flows / _capacity / hubble_ring_buffer_seen_flows  the ring's fill
class FlowMetrics {
 public:
  explicit FlowMetrics(MetricsRegistry& registry);
  void observe(const observer::GetFlowsResponse& r);
  void observe(const flow::Flow& f);
  void set_ring(const RingStats& stats);

 private:
  MetricFamily& flows_;
  MetricFamily& drops_;
  MetricFamily& verdicts_;
  MetricFamily& lost_;
  MetricFamily& ring_flows_;
  MetricFamily& ring_capacity_;
  MetricFamily& ring_seen_;
};

struct HttpResponse {
  int status = 200;
  std::string content_type;
  std::string body;
};

// The answer to one request: GET /metrics -> the registry's text
// (text/plain; version=0.0.4); other paths 404; other methods 405.
HttpResponse handle_metrics_request(const std::string& method, const std::string& path,
                                    const MetricsRegistry& registry);
// The bytes of an HTTP/1.1 response (Content-Length, Connection: close).
std::string http_response_bytes(const HttpResponse& r);

// A minimal HTTP/1.1 server for /metrics on "host:port" (port 0 picks a free
// one); one thread, one request per connection. `before_render` runs before
// each scrape (refresh gauges).
class MetricsHttpServer {
 public:
  static Result<std::unique_ptr<MetricsHttpServer>> start(
      const MetricsRegistry& registry, const std::string& address,
      std::function<void()> before_render = nullptr);
  ~MetricsHttpServer();
  int port() const { return port_; }
  void stop();

 private:
  MetricsHttpServer(const MetricsRegistry& registry, std::function<void()> before_render)
      : registry_(registry), before_render_(std::move(before_render)) {}
  void serve();
  void handle(int fd);

  const MetricsRegistry& registry_;
  std::function<void()> before_render_;
  Fd listen_, wake_;  // wake_: eventfd that ends serve()
  int port_ = 0;
  std::thread thread_;
  std::once_flag stopped_;
};

}  // namespace axon::hubble
