// The agent's datapath counters on /metrics: Cilium's names and labels (the
// drop reason's text), values as the kernel's counters give them.
#include <doctest/doctest.h>

#include "axon/abi/datapath.h"
#include "axon/agent/observer.h"

using axon::agent::DatapathMetrics;

TEST_CASE("datapath metrics: forward and drop counts per direction and reason, host routing") {
  axon::hubble::MetricsRegistry registry;
  DatapathMetrics metrics(registry);
  axon::datapath::Stats st;
  st.packets[{AXON_DIR_EGRESS, 0}] = {12, 1200};
  st.packets[{AXON_DIR_INGRESS, 0}] = {10, 1000};
  st.packets[{AXON_DIR_INGRESS, AXON_DROP_POLICY_DENIED}] = {3, 180};
  st.host_routed = 7;
  st.events_lost = 2;
  metrics.set(st);
  const std::string text = registry.render();
  CHECK(text.find("axon_forward_count_total{direction=\"EGRESS\"} 12\n") != std::string::npos);
  CHECK(text.find("axon_forward_bytes_total{direction=\"INGRESS\"} 1000\n") != std::string::npos);
  CHECK(text.find("axon_drop_count_total{reason=\"Policy denied\",direction=\"INGRESS\"} 3\n") !=
        std::string::npos);
  CHECK(text.find("axon_drop_bytes_total{reason=\"Policy denied\",direction=\"INGRESS\"} 180\n") !=
        std::string::npos);
  CHECK(text.find("axon_datapath_host_routed_packets_total 7\n") != std::string::npos);
  CHECK(text.find("axon_datapath_events_lost_total 2\n") != std::string::npos);
  CHECK(text.find("# TYPE axon_drop_count_total counter") != std::string::npos);
  // The kernel's counters are totals: a second read replaces, not adds.
  st.host_routed = 9;
  metrics.set(st);
  CHECK(registry.render().find("axon_datapath_host_routed_packets_total 9\n") != std::string::npos);
}
