// L2 announcements: which nodes may answer ARP for which LoadBalancer and
// external IPs, as CiliumL2AnnouncementPolicies select them
// (../shared/reference/semantics.md §5). A pure function of the objects:
// every agent computes the same plan, and the agents elect one holder per
// Service from it (libagent's L2Announcer); the operator writes the
// policies' status conditions from it.
//
//   auto plan = l2_plan(policies, services, slices, nodes, {"eth0"}, external_ips);
//   plan.services["default/api"].candidates   // node -> its devices to announce on
//   plan.policies["homelab-announce"]         // bad selectors and regexes
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "axon/client/yaml.h"

namespace axon::client {

// The loadBalancerClass that asks for L2 announcements only.
inline constexpr const char* kL2AnnouncerClass = "io.cilium/l2-announcer";

struct L2Service {
  std::vector<std::string> ips;  // what to announce: LB ingress IPs, external IPs (sorted)
  bool local = false;            // externalTrafficPolicy Local
  // Nodes that may announce it, each with its devices the policies' interface
  // regexes select. For Local only nodes with a ready backend of their own
  // (the node that announces is the node that serves: the client's address
  // is kept and nothing is dropped for want of a local backend).
  std::map<std::string, std::vector<std::string>> candidates;
  std::vector<std::string> policies;  // the policies that select it
};

// A policy's status condition (Cilium's types): type, status, reason, message.
struct L2Condition {
  std::string type;  // io.cilium/bad-service-selector, -node-selector, -interface-regex
  std::string message;
};

struct L2Plan {
  std::map<std::string, L2Service> services;  // "namespace/name"
  std::map<std::string, std::vector<L2Condition>> policies;  // every policy, by name
};

// `devices`: the node's devices (the agents' `devices` config, the same on
// every node); `external_ips`: enable-external-ips. A policy with a bad
// selector or regex selects nothing and says so in its conditions.
L2Plan l2_plan(const std::vector<Json>& policies, const std::vector<Json>& services,
               const std::vector<Json>& slices, const std::vector<Json>& nodes,
               const std::vector<std::string>& devices, bool external_ips);

// What is wrong with a label selector (an unknown operator, In without
// values), or "".
std::string label_selector_problem(const Json& selector);
// What is wrong with an interface regex (Go's RE2 syntax, matched anywhere
// in the name as Go's MatchString does), or "".
std::string interface_regex_problem(const std::string& regex);

// The coordination Lease of a Service's announcement (Cilium's name), in the
// agents' namespace; holderIdentity is the announcing node.
std::string l2_lease_name(const std::string& ns, const std::string& name);
inline constexpr const char* kL2LeasePrefix = "cilium-l2announce-";
// The per-node lease that fences a node's announcements (axon's): renewed by
// the node's agent every retry period; the Service Leases it holds are
// valid while it runs.
inline constexpr const char* kL2NodeLeasePrefix = "axon-l2-node-";
// On a Service Lease: the node lease term it was taken under, and the Service.
inline constexpr const char* kL2TermAnnotation = "l2.axon.io/term";
inline constexpr const char* kL2ServiceAnnotation = "l2.axon.io/service";

// The status a policy should have: its conditions as `plan` says (each
// io.cilium/bad-* type True with the message, or False when resolved),
// lastTransitionTime `now` on change; nullopt when nothing changes.
std::optional<Json> l2_policy_status(const Json& policy, const L2Plan& plan,
                                     const std::string& now);

}  // namespace axon::client
