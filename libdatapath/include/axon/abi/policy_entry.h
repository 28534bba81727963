// The meeting point of the policy language (libpolicy) and the datapath
// (libdatapath): what libpolicy's compiler produces for one endpoint and
// what the datapath's map writer (policy_map.h) encodes into that
// endpoint's policy map. Data only, C++ (the one ABI header that is not
// shared with BPF C: the map's own layout is axon/abi/policy.h); the
// namespace is the datapath's, whose entries these are.
//
// Semantics (../shared/reference/semantics.md):
// - Traffic passes only if the source's egress and the destination's ingress
//   both allow it; each endpoint's map answers for its own side.
// - In a direction that is not enforced, everything is allowed (no policy
//   selects the endpoint in that direction).
// - In an enforced direction, a packet is allowed when an allow (or
//   redirect) entry matches and no deny entry matches: deny beats allow.
// - identity 0 matches any peer identity; protocol 0 matches any protocol;
//   port_lo = port_hi = 0 matches any port.
#pragma once

#include <cstdint>
#include <vector>

namespace axon::datapath {

enum class Direction : uint8_t { ingress = 0, egress = 1 };

enum class PolicyAction : uint8_t {
  allow = 0,
  deny = 1,
  redirect = 2,  // allow, and send to the L7 proxy at proxy_port
};

struct PolicyEntry {
  Direction direction = Direction::ingress;
  uint32_t identity = 0;  // peer security identity; 0 = any
  uint8_t protocol = 0;   // IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, IPPROTO_ICMP; 0 = any
  uint16_t port_lo = 0;   // destination port range, host byte order, inclusive;
  uint16_t port_hi = 0;   //   0/0 = any; for ICMP the range holds ICMP types
  PolicyAction action = PolicyAction::allow;
  uint16_t proxy_port = 0;  // redirect only

  bool operator==(const PolicyEntry&) const = default;
};

struct EndpointPolicy {
  bool ingress_enforced = false;  // default deny on ingress
  bool egress_enforced = false;   // default deny on egress
  std::vector<PolicyEntry> entries;

  bool operator==(const EndpointPolicy&) const = default;
};

}  // namespace axon::datapath
