// Services: VIP:port/protocol -> backends, looked up in O(1) by the
// from-container program (Cilium's lb4 layout: axon/abi/lb.h).
// Backends are shared between Services by address; services with the same
// backends share one Maglev table.
#pragma once

#include <compare>
#include <cstdint>
#include <map>
#include <optional>
#include <vector>

#include "axon/base/result.h"
#include "axon/datapath/ip.h"

struct bpf_map;

namespace axon::datapath {

enum class LbAlgorithm : uint8_t { random = 1, maglev = 2 };

struct Backend {
  Ipv4 addr;
  uint16_t port = 0;  // host order
  // A pod of this node: external connections to it keep the client's
  // address (externalTrafficPolicy Cluster SNATs only to other nodes).
  bool local = false;

  auto operator<=>(const Backend&) const = default;
};

struct ServiceKey {
  Ipv4 vip;
  uint16_t port = 0;     // host order
  uint8_t protocol = 6;  // IPPROTO_TCP or IPPROTO_UDP
  // 0: the frontend (for everyone, or for outside traffic when the service
  // has two_scopes); 1: the frontend as the node's pods reach it.
  uint8_t scope = 0;

  auto operator<=>(const ServiceKey&) const = default;
};

struct Service {
  ServiceKey key;
  std::vector<Backend> backends;         // none: new connections drop (158)
  std::optional<LbAlgorithm> algorithm;  // default: the datapath's
  // Reached from outside the node's pods (NodePort, LoadBalancer IP,
  // externalIP, hostPort): the node's network device program serves it.
  bool external = false;
  // External connections to backends on other nodes leave with the node's
  // address (externalTrafficPolicy Cluster); false keeps the client's
  // (Local: give only this node's backends).
  bool snat = false;
  // sessionAffinity ClientIP: seconds a client keeps its backend after its
  // last new connection; 0 = no affinity.
  uint32_t affinity_timeout_s = 0;
  // This (scope 0) entry serves outside traffic only; the node's pods use
  // the scope 1 entry of the same frontend (externalTrafficPolicy Local:
  // outside traffic to this node's backends, pods to all).
  bool two_scopes = false;
  // An L7 load balancer (a Gateway's frontend): connections go to the node
  // proxy's listener on this port, addresses untouched, and the proxy
  // routes each request; `backends` is unused. 0: an L4 Service.
  uint16_t l7_proxy_port = 0;

  bool operator==(const Service&) const = default;
};

struct ServicesConfig {
  uint32_t maglev_table_size = 16381;
  uint64_t maglev_seed = 0;
  LbAlgorithm default_algorithm = LbAlgorithm::maglev;
};

struct ServiceMaps {
  bpf_map* services;
  bpf_map* backends;
  bpf_map* reverse_nat;
  bpf_map* maglev;
  bpf_map* vips;  // VIP -> number of services on it
  bpf_map* affinity_match = nullptr;  // (backend id, service id) of affinity services
};

class Services {
 public:
  Services(ServiceMaps maps, ServicesConfig config) : maps_(maps), config_(config) {}

  // Reads back what the pinned maps hold (after an agent restart).
  Status restore();

  // Creates or changes a Service. Readers see the old or the new backend
  // set: backends and tables are written before the service entry itself.
  Status upsert(const Service& service);
  Status erase(const ServiceKey& key);  // absent is fine

  size_t size() const { return services_.size(); }
  // The service's id (its reverse-NAT index), if it exists.
  std::optional<uint32_t> id(const ServiceKey& key) const;
  // Backend ids in slot order.
  std::optional<std::vector<uint32_t>> backend_ids(const ServiceKey& key) const;

 private:
  struct ServiceState {
    uint32_t id = 0;
    std::vector<uint32_t> backend_ids;  // slot order (1..n)
    std::vector<uint32_t> table_key;    // key into tables_, empty: none
    bool affinity = false;              // its backends are in affinity_match
  };
  struct BackendState {
    uint32_t id = 0;
    uint32_t refs = 0;
  };
  struct Table {
    uint32_t id = 0;
    uint32_t refs = 0;
  };

  Result<uint32_t> acquire_backend(const Backend& b, uint8_t protocol);
  Status release_backend(uint32_t id);
  Result<uint32_t> acquire_table(const std::vector<uint32_t>& sorted_ids);
  Status release_table(const std::vector<uint32_t>& key);
  uint32_t allocate_id(uint32_t& next, std::vector<uint32_t>& free_ids);
  Status add_vip(Ipv4 vip, const std::string& what);
  Status drop_vip(Ipv4 vip, const std::string& what);
  Status set_affinity_match(uint32_t service_id, const std::vector<uint32_t>& backend_ids,
                            bool present);

  ServiceMaps maps_;
  ServicesConfig config_;
  std::map<ServiceKey, ServiceState> services_;
  std::map<std::pair<Backend, uint8_t>, BackendState> backends_;
  std::map<uint32_t, std::pair<Backend, uint8_t>> backend_by_id_;
  std::map<std::vector<uint32_t>, Table> tables_;
  std::map<Ipv4, uint32_t> vip_services_;  // what axon_lb4_vips_v1 holds
  uint32_t next_service_id_ = 1, next_backend_id_ = 1, next_table_id_ = 1;
  std::vector<uint32_t> free_service_ids_, free_backend_ids_, free_table_ids_;
};

}  // namespace axon::datapath
