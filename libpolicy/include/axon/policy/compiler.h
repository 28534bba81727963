// The policy compiler: (policies, an endpoint's identity, every known
// identity) -> the endpoint's policy map entries for both directions
// (datapath::EndpointPolicy), each entry remembering the rules that
// produced it.
//
// Entries have unique keys (direction, identity, protocol, port range).
// Where several rules produce the same key, deny beats redirect beats allow
// (semantics §1.4, and the datapath's lookup, policy_map.h); the entry keeps
// the origins of the winning action (a redirect also those of the L4-only
// allows on its key, which let every request through the proxy). Peers a
// rule selects become one entry per identity, or identity 0 when it allows
// any peer. Ports with protocol ANY become TCP, UDP and SCTP entries; port 0
// with ANY is protocol 0 (all).
//
// The compiler that keeps every local endpoint's entries up to date is
// PolicyEngine (engine.h); compile() below is its one-shot form.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <vector>

#include "axon/abi/policy_entry.h"
#include "axon/policy/evaluate.h"
#include "axon/policy/identity.h"
#include "axon/policy/model.h"

namespace axon::policy {

struct CompileOptions {
  // Where redirect entries send traffic: the node's L7 proxy listeners, one
  // per direction for HTTP (the proxy knows from the port which end's
  // policy a connection is held to, also when both pods are on the node).
  uint16_t http_proxy_port = 15001;         // ingress http rules
  uint16_t http_egress_proxy_port = 15002;  // egress http rules
  uint16_t dns_proxy_port = 15053;
  uint16_t proxy_port(L7Kind kind, Direction direction) const {
    if (kind == L7Kind::dns) return dns_proxy_port;
    return direction == Direction::egress ? http_egress_proxy_port : http_proxy_port;
  }
};

struct CompiledPolicy {
  datapath::EndpointPolicy policy;  // entries sorted by key
  // Per entry, an index into origin_sets; each set lists indices into
  // origins: the rules that produced the entry.
  std::vector<uint32_t> provenance;
  std::vector<std::vector<uint32_t>> origin_sets;
  std::vector<RuleOrigin> origins;
  std::vector<uint32_t> ingress_default_deny_by;  // indices into origins
  std::vector<uint32_t> egress_default_deny_by;

  bool operator==(const CompiledPolicy&) const = default;
};

// The rules behind entry `i`.
std::vector<RuleOrigin> origins_of(const CompiledPolicy& c, size_t i);

// What the policy map answers for one packet, as the datapath's lookup does
// (policy_map.h): any matching deny -> denied; else any redirect ->
// redirected (smallest proxy port); else any allow -> allowed; else allowed
// only if the direction is not enforced.
struct Lookup {
  bool allowed = false;
  bool redirected = false;
  uint16_t proxy_port = 0;
  std::optional<size_t> entry;  // the deciding entry, if any
};
Lookup lookup(const datapath::EndpointPolicy& p, Direction d, uint32_t peer_identity,
              const Flow& flow);

// Cilium's allow-localhost (its default): an endpoint whose ingress is in
// default deny still lets the node itself in (the kubelet's probes): an
// ingress allow of reserved:host on every protocol and port, unless an entry
// of that key is there already (an explicit deny wins). What the agent writes
// on top of the compiled entries; `evaluate(..., allow_localhost)` says the same.
void add_allow_localhost(datapath::EndpointPolicy& p);

// One-shot compile of one endpoint (tests, `policy trace`, the analysis).
CompiledPolicy compile(const std::vector<Policy>& policies, const Identity& subject,
                       const NamedPorts& subject_ports, const std::vector<Identity>& identities,
                       const CompileOptions& options = {});

}  // namespace axon::policy
