// LB IPAM: LoadBalancer Services get addresses from CiliumLoadBalancerIPPools,
// as Cilium's operator gives them (../shared/reference/semantics.md §4).
//
//   auto state = lbipam_allocate(pools, services);   // objects as the store has them
//   state.services["default/api"].ips                // -> status.loadBalancer.ingress
//   state.services["default/api"].reason             // -> cilium.io/IPAMRequestSatisfied
//
// A pure function of the objects: the allocations live in the Services'
// status (what the operator last wrote), so a restarted operator reads them
// back and keeps every one that is still valid; Services are taken oldest
// first, so when two claim one address the older keeps it. IPv4 only
// (IPv6 blocks count as empty and are reported in the pool's status).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/client/yaml.h"

namespace axon::client {

// The Service condition LB IPAM writes, and its older name.
inline constexpr const char* kIpamConditionType = "cilium.io/IPAMRequestSatisfied";

struct LbIpamService {
  std::vector<std::string> ips;  // status.loadBalancer.ingress, in order
  bool satisfied = false;
  // satisfied | no_pool | out_of_ips | pool_selector_mismatch | already_allocated |
  // already_allocated_incompatible_service
  std::string reason;
  std::string message;
  // A sharing key whose other Services it could not join, and why ("port
  // 80/TCP is also used by Service x/y"): it got an address of its own.
  std::string not_shared;
};

struct LbIpamPool {
  bool conflict = false;
  std::string conflict_message;  // which block overlaps what
  uint64_t total = 0, used = 0;  // addresses (available = total - used)
  std::vector<std::string> unsupported;  // blocks not served (IPv6, malformed)
};

struct LbIpamState {
  // Every Service LB IPAM is responsible for ("namespace/name"): type
  // LoadBalancer with no loadBalancerClass, or io.cilium/l2-announcer or
  // io.cilium/bgp-control-plane. Others are absent (no IP, no condition).
  std::map<std::string, LbIpamService> services;
  std::map<std::string, LbIpamPool> pools;  // by name
};

LbIpamState lbipam_allocate(const std::vector<Json>& pools,
                            const std::vector<Json>& services);

// LB IPAM kept between runs, as the operator runs it on every change: the
// result of lbipam_allocate, with less work for the common changes. A
// Service is parsed again only when its resourceVersion moved; one created
// after every other is allocated on top of the last result; a status that
// echoes the last result (the operator's own write coming back) changes
// nothing; anything else — a pool, a deletion, a changed request, a status
// someone else wrote — is a full run.
class LbIpam {
 public:
  LbIpam();
  ~LbIpam();
  LbIpam(const LbIpam&) = delete;
  LbIpam& operator=(const LbIpam&) = delete;

  struct Update {
    const LbIpamState* state = nullptr;  // valid until the next update
    std::vector<std::string> changed;    // Services whose status to check (all after a full run)
    bool full = false;
  };
  Update update(const std::vector<Json>& pools, const std::vector<Json>& services);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Does LB IPAM manage this Service (type and loadBalancerClass)?
bool lbipam_manages(const Json& service);

// The status `service` should have after `state`: status.loadBalancer.ingress
// and the cilium.io/IPAMRequestSatisfied condition (lastTransitionTime `now`
// when its status changes), the rest kept; a Service LB IPAM no longer
// manages loses both. nullopt when nothing changes.
std::optional<Json> lbipam_service_status(const Json& service,
                                                  const LbIpamState& state,
                                                  const std::string& now);

// The status a pool should have: cilium.io/PoolConflict (True, cidr_overlap;
// False, resolved) and cilium.io/IPsTotal, IPsAvailable, IPsUsed (Unknown,
// the count as message). nullopt when nothing changes.
std::optional<Json> lbipam_pool_status(const Json& pool, const LbIpamState& state,
                                               const std::string& now);

}  // namespace axon::client
