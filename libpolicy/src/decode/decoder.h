// The strict decoder of policy documents, shared by the files of src/decode/
// (one per section of a policy, as cilium's pkg/policy/api):
//   decoder.cpp             reporting, field lookup, the generic shapes, value checks
//   document.cpp            apiVersion, kind, metadata, spec/specs; the public entry points
//   rule.cpp                a rule: endpointSelector/nodeSelector, its sections,
//                           enableDefaultDeny, description, labels, log
//   selectors.cpp           label selectors (matchLabels, matchExpressions), peer namespaces
//   peers.cpp               an ingress/egress(Deny) element and its peers: fromEndpoints,
//                           fromRequires, fromEntities, authentication, NetworkPolicy words
//   cidr.cpp                fromCIDR, fromCIDRSet, except
//   services.cpp            toServices
//   fqdn.cpp                toFQDNs, and the DNS names of dns rules
//   ports.cpp               toPorts: ports, port ranges, protocols
//   icmp.cpp                icmps
//   l7.cpp                  toPorts rules: http, dns
//   k8s_network_policy.cpp  a Kubernetes NetworkPolicy, whole
// Unknown fields are errors naming their path, with the closest valid
// field; every problem names the file, the line and the object.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "internal.h"

namespace axon::policy::internal {

struct Field {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

// A section of a Cilium rule as written: the empty ones enable nothing.
struct SectionField {
  Section section;
  const char* key;
  const Field* field = nullptr;
  bool empty = false;  // null or []
};
using SectionFields = std::array<SectionField, 4>;

// enableDefaultDeny, as far as it is written.
struct DefaultDeny {
  std::optional<bool> ingress;
  std::optional<bool> egress;

  const std::optional<bool>& of(Direction d) const {
    return d == Direction::ingress ? ingress : egress;
  }
};

// ---- value checks ------------------------------------------------------

// "a map", "a list", "\"text\"", "empty (null)": what a node is, for messages.
std::string type_name(const YAML::Node& n);
// A scalar written without quotes.
bool is_plain(const YAML::Node& n);
// A plain scalar that YAML readers (kubectl's among them) take for a
// number, a boolean or null rather than a string.
bool plain_non_string(const YAML::Node& n);
std::optional<int64_t> parse_int(const std::string& s);
bool all_digits(const std::string& s);
// DNS-1123 label (namespace names): lower-case alphanumerics and '-', at most 63.
bool is_dns_label(const std::string& s);
bool is_dns_subdomain(const std::string& s);
// Cilium's FQDN syntax: matchName ^([-a-zA-Z0-9_]+[.]?)+$, matchPattern also '*'.
bool is_fqdn(const std::string& s, bool pattern);
// Why `re` is refused as an extended POSIX regular expression; empty if it is not.
std::string regex_error(const std::string& re);

// ---- field paths -------------------------------------------------------

std::string index_path(const std::string& path, size_t i);  // "a.b[2]"
std::string child(const std::string& path, std::string_view key);  // "a.b.key"
// The counterpart of a field in the other direction: toEndpoints <-> fromEndpoints.
std::string other_direction(const std::string& key);

class Decoder {
 public:
  Decoder(const Document& doc, std::vector<FixAction>* fixes) : doc_(doc), fixes_(fixes) {}

  Decoded run();

 private:
  enum class Flavor { cilium, k8s };

  // What a one-of check says, and where (see one_of).
  struct OneOf {
    std::string combined;      // the first key is written with another one
    std::string fix = {};      // for `combined`
    std::string missing = {};  // non-empty: one of the keys is required, none is written
    bool at_map = false;       // report `combined` at the map, not at the first key
  };

  // ---- reporting (decoder.cpp) -------------------------------------------

  int line_of(const YAML::Node& n) const;
  void report(Severity sev, const YAML::Node& at, std::string path, std::string message,
              std::string fix = {}, std::function<void()> apply = {}, std::string note = {});
  void error(const YAML::Node& at, std::string path, std::string message, std::string fix = {},
             std::function<void()> apply = {}, std::string note = {});
  void warn(const YAML::Node& at, std::string path, std::string message, std::string fix = {},
            std::function<void()> apply = {}, std::string note = {});
  // Counts a node read; false (reported once) when the document is too large.
  bool visit();

  // ---- generic shapes (decoder.cpp) --------------------------------------

  // The fields of a map, reporting duplicate keys and non-scalar keys.
  std::vector<Field> fields(const YAML::Node& map, const std::string& path);
  static const Field* find(const std::vector<Field>& fs, std::string_view key);
  // Reports every key not in `known` (skipping `handled`), with the closest
  // known one.
  void check_keys(const std::vector<Field>& fs, const std::string& path,
                  const std::vector<std::string>& known, const std::vector<std::string>& handled,
                  const std::string& what);
  // Keys of one map that exclude each other ("give exactly one of", "cannot
  // be combined with", "not both"), checked in one place: keys[0] cannot be
  // written with any of the other keys (those may go together). Returns
  // false, having reported, when it is, or when `say.missing` is set and no
  // key is written.
  bool one_of(const std::vector<Field>& fs, const YAML::Node& map, const std::string& path,
              std::initializer_list<std::string_view> keys, const OneOf& say);
  // "give exactly one of a and b", at the map.
  bool exactly_one_of(const std::vector<Field>& fs, const YAML::Node& map,
                      const std::string& path, std::string_view a, std::string_view b);
  bool expect_map(const YAML::Node& n, const std::string& path, const std::string& what);
  bool expect_seq(const YAML::Node& n, const std::string& path, const std::string& what);
  // The entries of the list `n`, each read by `entry(node, path)` (an
  // optional: empty when it is invalid) into `out`; false (reported) if `n`
  // is not a list.
  template <typename T, typename Entry>
  bool list_of(const YAML::Node& n, const std::string& path, const std::string& what,
               std::vector<T>& out, Entry entry) {
    if (!expect_seq(n, path, what)) return false;
    size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) {
      if (std::optional<T> v = entry(*it, index_path(path, i))) out.push_back(std::move(*v));
    }
    return true;
  }
  // A string field. A plain scalar YAML reads as a number or boolean is
  // accepted with a warning (Kubernetes would reject its type) that the
  // fix repairs by quoting it.
  std::optional<std::string> string_of(const YAML::Node& n, const std::string& path,
                                       bool warn_type = true);
  std::optional<bool> bool_of(const YAML::Node& n, const std::string& path);
  std::vector<std::string> string_list(const YAML::Node& n, const std::string& path);

  // ---- document (document.cpp) -------------------------------------------

  void decode();
  void unknown_kind(const YAML::Node& root, const Field* kind, const std::string& kind_text,
                    const std::string& api_text);
  void name_object(const Field* meta);
  void check_api_version(const YAML::Node& root, const Field* api, const std::string& api_text);
  void decode_metadata(const Field* meta, const YAML::Node& root, Policy& policy);
  void decode_namespace(const Field* ns, const YAML::Node& meta, Policy& policy);
  void decode_cilium_specs(const YAML::Node& root, const std::vector<Field>& top, Policy& policy);

  // ---- selectors (selectors.cpp) -----------------------------------------

  // matchLabels + matchExpressions. Cilium keys may carry a source
  // ("k8s:app"); without one the source is `any`. NetworkPolicy keys are
  // Kubernetes label keys (source k8s).
  std::optional<Selector> decode_selector(const YAML::Node& n, const std::string& path,
                                          Flavor flavor, const std::string& what);
  std::optional<Requirement> decode_expression(const YAML::Node& n, const std::string& path,
                                               Flavor flavor);
  // A label key of a selector, as source and key; false (reported) if invalid.
  bool split_label_key(const std::string& text, const YAML::Node& at, const std::string& path,
                       Flavor flavor, std::string& source, std::string& key);
  void namespace_peer(Selector& s) const;

  // ---- a rule (rule.cpp) -------------------------------------------------

  bool decode_rule(const YAML::Node& n, const std::string& path, Rule& rule);
  void decode_subject(const YAML::Node& n, const std::vector<Field>& fs, const std::string& path,
                      Rule& rule);
  void subject_namespace(Selector& s, const YAML::Node& at, const std::string& path);
  SectionFields decode_sections(const std::vector<Field>& fs, const std::string& path,
                                Rule& rule);
  DefaultDeny decode_default_deny(const std::vector<Field>& fs, const std::string& path);
  void check_empty_sections(const YAML::Node& n, const std::string& path,
                            const SectionFields& secs, const DefaultDeny& dd, bool policy_types);
  void warn_clusterwide_default_deny(const std::string& path, const Rule& rule,
                                     const SectionFields& secs, const DefaultDeny& dd);
  void decode_policy_types_in_cilium(const YAML::Node& n, const Field& types,
                                     const std::string& path, const SectionFields& secs);
  void decode_rule_labels(const YAML::Node& n, const std::string& path, Rule& rule);
  void decode_rule_log(const Field& log, const std::string& path);

  // ---- an element of a section, its peers (peers.cpp) --------------------

  std::optional<PeerRule> decode_element(const YAML::Node& seq, const YAML::Node& n,
                                         const std::string& path, Section section, bool host);
  void check_element_keys(const std::vector<Field>& fs, const std::string& path,
                          Section section);
  // The L3 fields of an element; false if it has none.
  bool decode_peers(const YAML::Node& n, const std::vector<Field>& fs, const std::string& path,
                    Section section, PeerRule& el);
  bool decode_peer_selectors(const Field& f, const std::string& path, const std::string& what,
                             std::vector<Selector>& out);
  void decode_entities(const Field& f, const std::string& path, PeerRule& el);
  void decode_authentication(const Field& f, const std::string& path);
  void k8s_element(const YAML::Node& seq, const YAML::Node& n, const std::string& path,
                   Section section);

  // ---- CIDR (cidr.cpp) ---------------------------------------------------

  // fromCIDR and fromCIDRSet (or to...); false if neither is written.
  bool decode_cidr_peers(const std::vector<Field>& fs, const std::string& path,
                         const std::string& pfx, PeerRule& el);
  std::optional<Prefix> prefix_of(const YAML::Node& n, const std::string& path);
  std::optional<CidrRule> decode_cidr_set(const YAML::Node& n, const std::string& path);

  // ---- toServices (services.cpp), toFQDNs (fqdn.cpp) ---------------------

  void decode_to_services(const Field& f, const std::string& path, PeerRule& el);
  std::optional<ServiceSelector> decode_service(const YAML::Node& n, const std::string& path);
  void decode_to_fqdns(const Field& f, const std::string& path, PeerRule& el);
  std::optional<FqdnSelector> decode_fqdn(const YAML::Node& n, const std::string& path);
  void warn_fqdns_without_dns(const YAML::Node& root);

  // ---- toPorts (ports.cpp) -----------------------------------------------

  void decode_to_ports(const std::vector<Field>& fs, const YAML::Node& n, const Field& ports,
                       const std::string& path, Section section, bool host, PeerRule& el);
  std::optional<PortRule> decode_port_rule(const YAML::Node& n, const std::string& path,
                                           Section section, bool host);
  void check_l7_ports(const YAML::Node& n, const std::string& path, const PortRule& rule);
  std::optional<PortProtocol> decode_port(const YAML::Node& n, const std::string& path);
  bool decode_port_number(const Field& f, const std::string& path, PortProtocol& out);
  bool decode_protocol(const Field& f, const std::string& path, PortProtocol& out);
  bool decode_end_port(const Field& f, const std::string& path, PortProtocol& out);

  // ---- icmps (icmp.cpp) --------------------------------------------------

  void decode_icmps(const std::vector<Field>& fs, const YAML::Node& n, const Field& icmps,
                    const std::string& path, PeerRule& el);
  void decode_icmp_rule(const YAML::Node& n, const std::string& path,
                        std::vector<IcmpField>& out);
  std::optional<IcmpField> decode_icmp_field(const YAML::Node& n, const std::string& path);

  // ---- L7 rules (l7.cpp) -------------------------------------------------

  void decode_l7(const YAML::Node& n, const std::string& path, Section section, bool host,
                 PortRule& rule);
  void decode_dns_rules(const Field& f, const std::string& path, Section section,
                        PortRule& rule);
  std::optional<HttpRule> decode_http(const YAML::Node& n, const std::string& path);
  std::optional<HeaderMatch> decode_header_match(const YAML::Node& n, const std::string& path);

  // ---- Kubernetes NetworkPolicy (k8s_network_policy.cpp) -----------------

  bool decode_k8s_spec(const YAML::Node& n, Rule& rule);
  void decode_k8s_policy_types(const Field* types, bool& ingress, bool& egress);
  std::optional<PeerRule> decode_k8s_element(const YAML::Node& n, const std::string& path,
                                             bool ingress);
  void decode_k8s_peer(const YAML::Node& n, const std::string& path, PeerRule& el);
  std::optional<PortProtocol> decode_k8s_port(const YAML::Node& n, const std::string& path);

  const Document& doc_;
  std::vector<FixAction>* fixes_;
  Decoded out_;
  std::string object_;
  PolicyKind kind_ = PolicyKind::cilium_network_policy;
  std::string ns_;
  size_t visits_ = 0;
  size_t errors_ = 0;
  bool too_big_ = false;
  bool has_fqdns_ = false;
  bool has_dns_ = false;
};

}  // namespace axon::policy::internal
