// The datapath of one node: axon's BPF programs and maps, loaded from the
// embedded object with libbpf, maps pinned under the node's pin directory.
//
//   auto dp = Datapath::open({.pin_dir = node_pin_dir("lab", "node-1")});
//   dp->endpoints().attach({.ifindex = 7, .ip = pod_ip, .identity = 1234, .endpoint_id = 1});
//   dp->policy().replace(1, compiled_policy);
//   dp->services().upsert({{vip, 80, IPPROTO_TCP}, {{backend_ip, 8080}}});
//
// Opening again with the same pin directory (an agent restart) reuses the
// pinned maps, so endpoints, policy, services and connections carry on;
// attaching the endpoints again swaps the new programs in without a gap.
// Each part (endpoints, ipcache, policy, services, conntrack, events,
// stats) is its own class; Datapath only loads and owns them.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/datapath/conntrack.h"
#include "axon/datapath/endpoints.h"
#include "axon/datapath/events.h"
#include "axon/datapath/ipcache.h"
#include "axon/datapath/l2.h"
#include "axon/datapath/netdevs.h"
#include "axon/datapath/policy_map.h"
#include "axon/datapath/services.h"
#include "axon/datapath/stats.h"

struct bpf_program;

namespace axon::datapath {

struct CtTimeouts {
  uint32_t tcp_syn_s = 60;
  uint32_t tcp_established_s = 21600;
  uint32_t tcp_close_s = 10;
  uint32_t other_s = 60;  // UDP, ICMP, other protocols
};

struct DatapathConfig {
  std::string pin_dir;                 // under /sys/fs/bpf/axon (node_pin_dir)
  uint32_t maglev_table_size = 16381;  // one of Cilium's primes; fixed for a pin dir
  uint32_t maglev_seed = 0x2a5e1d;
  LbAlgorithm default_algorithm = LbAlgorithm::maglev;
  uint32_t ct_max_entries = 262144;
  uint32_t events_ring_bytes = 4u << 20;  // a power of two, >= the page size
  bool trace_every_packet = false;        // default: Cilium's aggregation "medium"
  // Pod-to-pod packets on the node skip the node's IP stack (BPF host
  // routing, Cilium's default); false routes them through it (Cilium's
  // bpf.hostLegacyRouting). Only endpoints attached with their MAC take part.
  bool host_routing = true;
  // A Service without backends: true answers ICMP port unreachable (Cilium's
  // serviceNoBackendResponse: reject, its default), false drops silently.
  bool no_backend_reject = true;
  // The node's proxy device (axon_host): to-container sends packets for the
  // L7 proxy out of it, to its veth peer running axon_to_proxy
  // (attach_proxy_device). 0: none; such packets are dropped.
  uint32_t proxy_ifindex = 0;
  CtTimeouts ct_timeouts;
};

class Datapath {
 public:
  static Result<Datapath> open(const DatapathConfig& config);

  Datapath(Datapath&&) noexcept;
  Datapath& operator=(Datapath&&) noexcept;
  ~Datapath();

  Endpoints& endpoints();
  Ipcache& ipcache();
  PolicyMaps& policy();
  Services& services();
  Netdevs& netdevs();
  L2Responder& l2();
  Conntrack& conntrack();
  Result<EventReader> open_events() const;
  Result<Stats> stats() const;

  // The loaded programs, for BPF_PROG_TEST_RUN (tests, benchmarks, simulation).
  const bpf_program* from_container() const;
  const bpf_program* to_container() const;
  const bpf_program* from_netdev() const;
  const bpf_program* to_proxy() const;
  const DatapathConfig& config() const;

  // Attaches axon_to_proxy at the TC ingress of the proxy device's peer
  // (axon_net), where packets for the proxy get their socket.
  Status attach_proxy_device(uint32_t peer_ifindex);

  // Removes the pins of a node's datapath by name (lab down, tests). Loaded
  // programs and attached filters keep their maps until they go away.
  static Status remove_pins(const std::string& pin_dir);

 private:
  struct State;
  explicit Datapath(std::unique_ptr<State> s);
  std::unique_ptr<State> s_;
};

}  // namespace axon::datapath
