// Direct evaluation of rules on one flow: does the model allow traffic
// from a source to a destination on a port? This is what `policy trace`
// prints, what `policy validate` reasons with, and the oracle the
// compiler's entries are tested against.
//
// Traffic passes only if the source's egress and the destination's ingress
// both allow it. In one direction, for the endpoint whose side it is
// (semantics §1.3-1.4):
//   - no rule selects it: allowed;
//   - a deny element matches: denied (deny beats every allow);
//   - not in default deny in that direction: allowed;
//   - an allow element matches (peer, port, and the peer meets every
//     fromRequires/toRequires of the rules selecting the endpoint):
//     allowed; through the L7 proxy when a matching element has L7 rules
//     for the port (as the datapath orders it, redirect before allow); an
//     L4-only allow of the same flow then lets every request through the
//     proxy (l7_allow_all);
//   - ingress from the node itself (reserved:host) with allow_localhost
//     (Cilium's allow-localhost, as the agent enforces it): allowed;
//   - otherwise denied (default deny).
#pragma once

#include <string>
#include <vector>

#include "axon/policy/identity.h"
#include "axon/policy/model.h"

namespace axon::policy {

// The L4 part of a flow. For ICMP, `port` is the ICMP type.
struct Flow {
  Protocol protocol = Protocol::tcp;
  uint16_t port = 0;

  bool operator==(const Flow&) const = default;
};

// "8080/TCP", "8/ICMP"
std::string to_string(const Flow& f);
// "8080/TCP", "53/udp", "8080" (TCP), "8/ICMP"; the message says what is wrong.
Result<Flow> parse_flow(std::string_view text);

// One endpoint of a flow as policy sees it.
struct Peer {
  Identity identity;
  NamedPorts named_ports;  // container ports by name (named ports in rules)
};

// ---- matching primitives (shared with the compiler) ----------------------

bool entity_matches(Entity e, const Identity& id);
bool cidr_matches(const CidrRule& c, const Identity& id);
// An address the DNS proxy learned for a name the selector matches (its
// identity carries fqdn_label_key(f)).
bool fqdn_matches(const FqdnSelector& f, const Identity& id);
// Does the element's L3 part select this peer (requirements not applied)?
bool l3_matches(const PeerRule& el, const Identity& peer);
// Does the element's L4 part match the flow? `dst_ports` resolves named
// ports (the destination's). `l7` is set to the L7 kind of the rules on the
// matching port (none for an L4-only port).
bool l4_matches(const PeerRule& el, const Flow& flow, const NamedPorts& dst_ports, L7Kind* l7);
// Does a rule select this endpoint? An endpointSelector selects pods only
// (not the world, CIDR or other reserved identities); a nodeSelector the host.
bool selects(const Rule& rule, const Identity& subject);

// ---- evaluation ----------------------------------------------------------

struct ElementTrace {
  RuleOrigin origin;
  bool deny = false;
  bool peer_matches = false;
  bool port_matches = false;
  bool requirements_met = true;  // allow elements: the peer meets every requirement
  bool matched = false;          // the element applies to this flow
  L7Kind l7 = L7Kind::none;      // when matched: the L7 rules the flow is held to
  std::string peers;  // "toEndpoints [k8s:io.kubernetes.pod.namespace=kube-system, ...]"
  std::string ports;  // "53/UDP, 53/TCP", "any port"
};

struct RuleTrace {
  RuleOrigin origin;  // element -1; section = the direction's allow section
  std::string subject;  // the endpoint selector, normalized
  bool selected = false;
  bool default_deny = false;  // this rule puts the endpoint into default deny here
  std::vector<ElementTrace> elements;  // only for selected rules
};

struct DirectionVerdict {
  Direction direction = Direction::ingress;
  bool selected = false;  // some rule selects the endpoint
  bool enforced = false;  // default deny in this direction
  bool allowed = false;
  bool redirected = false;  // allowed through the L7 proxy
  L7Kind l7 = L7Kind::none;
  bool l7_allow_all = false;  // an L4-only allow lets every request through the proxy
  bool localhost = false;     // allowed only because the node may always reach its pods
  std::vector<RuleOrigin> default_deny_by;  // rules that enabled default deny
  std::vector<RuleOrigin> decided_by;       // deny or allow elements that decided
  std::vector<RuleTrace> rules;             // every rule considered
  std::vector<std::string> requirements;    // fromRequires/toRequires in force
};

// Evaluates one direction at `subject` (the destination for ingress, the
// source for egress) for traffic with `peer`. `allow_localhost`: the node
// (reserved:host) may reach pods under ingress default deny unless a deny
// rule matches, as the agent writes it into every such policy map (Cilium's
// allow-localhost, default); false gives the rules' verdict alone (what the
// compiled entries say before the agent adds that entry).
DirectionVerdict evaluate(const std::vector<Policy>& policies, Direction direction,
                          const Peer& subject, const Peer& peer, const Flow& flow,
                          bool allow_localhost = true);

struct TraceResult {
  DirectionVerdict egress;   // at the source
  DirectionVerdict ingress;  // at the destination
  bool allowed = false;      // both allow
};

TraceResult trace(const std::vector<Policy>& policies, const Peer& src, const Peer& dst,
                  const Flow& flow, bool allow_localhost = true);

// Human descriptions of an element's parts, as the trace prints them.
std::string describe_peers(const PeerRule& el, Section section);
std::string describe_ports(const PeerRule& el);

}  // namespace axon::policy
