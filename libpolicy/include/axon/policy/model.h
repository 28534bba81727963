// The typed policy model: one shape for CiliumNetworkPolicy,
// CiliumClusterwideNetworkPolicy and Kubernetes NetworkPolicy.
//
// Decoding (decode.h) validates a document and normalizes it into this
// model with the meaning Cilium gives it (../shared/reference/semantics.md
// §1-2): selectors carry the namespace the policy implies, a NetworkPolicy's
// words become peer rules, and each rule says whether it puts the endpoints
// it selects into default deny. Everything downstream (evaluation, the
// compiler, the analysis) reads only this model.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "axon/abi/policy_entry.h"
#include "axon/policy/labels.h"
#include "axon/policy/net.h"
#include "axon/policy/selector.h"

namespace axon::policy {

using datapath::Direction;

enum class PolicyKind : uint8_t {
  cilium_network_policy,              // cilium.io/v2, namespaced
  cilium_clusterwide_network_policy,  // cilium.io/v2, cluster-scoped
  network_policy,                     // networking.k8s.io/v1, namespaced
};

std::string_view kind_name(PolicyKind kind);    // "CiliumNetworkPolicy"
std::string_view api_version(PolicyKind kind);  // "cilium.io/v2"
std::optional<PolicyKind> parse_kind(std::string_view kind);

enum class Section : uint8_t { ingress, egress, ingress_deny, egress_deny };

std::string_view section_name(Section s);  // "ingress", "egress", "ingressDeny", "egressDeny"
Direction direction_of(Section s);
bool is_deny(Section s);
std::string_view direction_name(Direction d);  // "ingress", "egress"

// fromEntities/toEntities (semantics §1.2).
enum class Entity : uint8_t {
  all,
  world,
  world_ipv4,
  world_ipv6,
  cluster,
  host,
  remote_node,
  kube_apiserver,
  health,
  init,
  unmanaged,
  ingress,
  none,
};

std::string_view entity_name(Entity e);  // "remote-node"
std::optional<Entity> parse_entity(std::string_view name);
const std::vector<std::string>& entity_names();

// fromCIDR / fromCIDRSet: the prefix minus the exceptions.
struct CidrRule {
  Prefix cidr;
  std::vector<Prefix> except;

  bool operator==(const CidrRule&) const = default;
};

struct PortProtocol {
  uint16_t port = 0;      // 0: every port (unless `name` is set)
  uint16_t end_port = 0;  // inclusive upper bound of a range; 0: just `port`
  std::string name;       // named port, resolved through the destination pod's ports
  Protocol protocol = Protocol::any;  // any: TCP, UDP and SCTP

  bool operator==(const PortProtocol&) const = default;
};

struct HeaderMatch {
  std::string name;
  std::string value;
  std::string secret_namespace;  // value from a Secret instead
  std::string secret_name;
  std::string mismatch;  // "", LOG, ADD, DELETE, REPLACE

  bool operator==(const HeaderMatch&) const = default;
};

// One HTTP rule; method, path and host are extended POSIX regexes matched
// against the whole value; empty means any. Enforced by the node's proxy
// (libproxy), ingress and egress.
struct HttpRule {
  std::string method;
  std::string path;
  std::string host;
  std::vector<std::string> headers;  // "Name" or "Name: value"
  std::vector<HeaderMatch> header_matches;

  bool operator==(const HttpRule&) const = default;
};

struct DnsRule {
  std::string match_name;     // exact name, case-insensitive, trailing dot optional
  std::string match_pattern;  // '*' = any characters except '.'; "*" alone = every name

  bool operator==(const DnsRule&) const = default;
};

enum class L7Kind : uint8_t { none, http, dns };
std::string_view l7_name(L7Kind k);  // "", "http", "dns"

struct L7Rules {
  std::vector<HttpRule> http;
  std::vector<DnsRule> dns;

  bool operator==(const L7Rules&) const = default;
};

L7Kind l7_kind(const L7Rules& rules);

struct PortRule {
  std::vector<PortProtocol> ports;  // empty: every port and protocol
  L7Rules rules;

  bool operator==(const PortRule&) const = default;
};

struct IcmpField {
  int family = 4;  // 4 or 6
  uint8_t type = 0;

  bool operator==(const IcmpField&) const = default;
};

struct FqdnSelector {
  std::string match_name;
  std::string match_pattern;

  bool operator==(const FqdnSelector&) const = default;
};

// The label (source "fqdn") the node puts on the identity of an address its
// DNS proxy saw in an answer for a name this selector matches:
// "matchName:cilium.io." or "matchPattern:*.cilium.io." (lower case,
// trailing dot). toFQDNs selects the identities carrying its label.
std::string fqdn_label_key(const FqdnSelector& f);

struct ServiceSelector {
  std::string name;  // k8sService.serviceName
  std::string ns;
  std::optional<Selector> selector;  // k8sServiceSelector.selector

  bool operator==(const ServiceSelector&) const = default;
};

// One element of ingress, egress, ingressDeny or egressDeny: which peers
// (L3) on which ports (L4). The L3 lists are ORed. With none of them the
// element matches every peer when `any_peer` is set (a Cilium element with
// toPorts or icmps and no L3 field; a NetworkPolicy element without
// `from`/`to`), and no peer otherwise (the `{}` of "ingress: [{}]").
// `requirements` (fromRequires/toRequires) never grant anything: every peer
// allowed to an endpoint must match the requirements of all the rules that
// select it.
struct PeerRule {
  int line = 0;  // where it is written, 1-based (0: unknown)
  bool any_peer = false;
  std::vector<Selector> endpoints;  // with the namespace the policy implies
  std::vector<Selector> requirements;  // fromRequires / toRequires
  std::vector<CidrRule> cidrs;
  std::vector<Entity> entities;
  std::vector<FqdnSelector> fqdns;        // egress; needs the DNS proxy (not built yet)
  std::vector<ServiceSelector> services;  // egress; to be resolved from the store (not yet)
  std::vector<PortRule> ports;  // toPorts; with `icmps` also empty: all traffic
  std::vector<IcmpField> icmps;

  bool operator==(const PeerRule&) const = default;
};

// One rule: `spec`, an element of `specs`, or a NetworkPolicy's spec.
struct Rule {
  std::string path;  // "spec", "specs[1]": where it sits in its document
  Selector subject;  // endpointSelector (with the policy's namespace) or nodeSelector
  bool host = false;  // nodeSelector: selects nodes (the host endpoint)
  std::vector<PeerRule> ingress;
  std::vector<PeerRule> egress;
  std::vector<PeerRule> ingress_deny;
  std::vector<PeerRule> egress_deny;
  // Does this rule put the endpoints it selects into default deny in that
  // direction (semantics §1.3)? enableDefaultDeny if set, else a non-empty
  // allow or deny section; for a NetworkPolicy, its policyTypes.
  bool default_deny_ingress = false;
  bool default_deny_egress = false;
  std::string description;
  LabelSet labels;

  bool operator==(const Rule&) const = default;
};

const std::vector<PeerRule>& section(const Rule& rule, Section s);
bool default_deny(const Rule& rule, Direction d);

// Where a policy was read from.
struct SourceRef {
  std::string file;
  int document = 0;  // 1-based
  int line = 0;      // 1-based; 0: unknown

  bool operator==(const SourceRef&) const = default;
};

struct PolicyKey {
  PolicyKind kind = PolicyKind::cilium_network_policy;
  std::string ns;  // empty for cluster-wide policies
  std::string name;

  auto operator<=>(const PolicyKey&) const = default;
};

struct Policy {
  PolicyKind kind = PolicyKind::cilium_network_policy;
  std::string ns;  // empty for cluster-wide policies
  std::string name;
  LabelSet labels;  // metadata.labels
  std::vector<Rule> rules;
  SourceRef source;

  bool operator==(const Policy&) const = default;
};

PolicyKey key_of(const Policy& p);
// "CiliumNetworkPolicy production/default-deny", "CiliumClusterwideNetworkPolicy allow-dns".
std::string describe(PolicyKind kind, std::string_view ns, std::string_view name);
std::string describe(const Policy& p);

// Which rule produced a compiled entry or decided a verdict: the policy,
// the rule, the section and the element. Provenance for `policy trace` and
// for the flow log's "allowed by" (names survive, so it can be printed
// after the policy changed).
struct RuleOrigin {
  PolicyKind kind = PolicyKind::cilium_network_policy;
  std::string ns;
  std::string name;
  std::string rule_path;  // "spec", "specs[1]"
  Section section = Section::ingress;
  int element = -1;  // index in the section; -1: the section as a whole

  bool operator==(const RuleOrigin&) const = default;
  auto operator<=>(const RuleOrigin&) const = default;
};

// "CiliumNetworkPolicy production/allow-frontend-to-api spec.ingress[0]".
std::string to_string(const RuleOrigin& o);

// "spec.ingress[0]"
std::string field_path(const RuleOrigin& o);

}  // namespace axon::policy
