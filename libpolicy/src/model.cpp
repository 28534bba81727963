#include "axon/policy/model.h"

#include <cctype>

namespace axon::policy {
namespace {

struct EntityName {
  Entity entity;
  const char* name;
};

constexpr EntityName kEntities[] = {
    {Entity::all, "all"},
    {Entity::world, "world"},
    {Entity::world_ipv4, "world-ipv4"},
    {Entity::world_ipv6, "world-ipv6"},
    {Entity::cluster, "cluster"},
    {Entity::host, "host"},
    {Entity::remote_node, "remote-node"},
    {Entity::kube_apiserver, "kube-apiserver"},
    {Entity::health, "health"},
    {Entity::init, "init"},
    {Entity::unmanaged, "unmanaged"},
    {Entity::ingress, "ingress"},
    {Entity::none, "none"},
};

}  // namespace

std::string_view kind_name(PolicyKind kind) {
  switch (kind) {
    case PolicyKind::cilium_network_policy:
      return "CiliumNetworkPolicy";
    case PolicyKind::cilium_clusterwide_network_policy:
      return "CiliumClusterwideNetworkPolicy";
    case PolicyKind::network_policy:
      return "NetworkPolicy";
  }
  return "?";
}

std::string_view api_version(PolicyKind kind) {
  return kind == PolicyKind::network_policy ? "networking.k8s.io/v1" : "cilium.io/v2";
}

std::optional<PolicyKind> parse_kind(std::string_view kind) {
  for (auto k : {PolicyKind::cilium_network_policy, PolicyKind::cilium_clusterwide_network_policy,
                 PolicyKind::network_policy}) {
    if (kind == kind_name(k)) return k;
  }
  return std::nullopt;
}

std::string_view section_name(Section s) {
  switch (s) {
    case Section::ingress:
      return "ingress";
    case Section::egress:
      return "egress";
    case Section::ingress_deny:
      return "ingressDeny";
    case Section::egress_deny:
      return "egressDeny";
  }
  return "?";
}

Direction direction_of(Section s) {
  return s == Section::ingress || s == Section::ingress_deny ? Direction::ingress
                                                             : Direction::egress;
}

bool is_deny(Section s) { return s == Section::ingress_deny || s == Section::egress_deny; }

std::string_view direction_name(Direction d) {
  return d == Direction::ingress ? "ingress" : "egress";
}

std::string_view entity_name(Entity e) {
  for (const auto& n : kEntities) {
    if (n.entity == e) return n.name;
  }
  return "?";
}

std::optional<Entity> parse_entity(std::string_view name) {
  for (const auto& n : kEntities) {
    if (name == n.name) return n.entity;
  }
  return std::nullopt;
}

const std::vector<std::string>& entity_names() {
  static const std::vector<std::string> kNames = [] {
    std::vector<std::string> v;
    for (const auto& n : kEntities) v.emplace_back(n.name);
    return v;
  }();
  return kNames;
}

std::string_view l7_name(L7Kind k) {
  switch (k) {
    case L7Kind::none:
      return "";
    case L7Kind::http:
      return "http";
    case L7Kind::dns:
      return "dns";
  }
  return "";
}

L7Kind l7_kind(const L7Rules& rules) {
  if (!rules.http.empty()) return L7Kind::http;
  if (!rules.dns.empty()) return L7Kind::dns;
  return L7Kind::none;
}

const std::vector<PeerRule>& section(const Rule& rule, Section s) {
  switch (s) {
    case Section::ingress:
      return rule.ingress;
    case Section::egress:
      return rule.egress;
    case Section::ingress_deny:
      return rule.ingress_deny;
    case Section::egress_deny:
      return rule.egress_deny;
  }
  return rule.ingress;
}

bool default_deny(const Rule& rule, Direction d) {
  return d == Direction::ingress ? rule.default_deny_ingress : rule.default_deny_egress;
}

PolicyKey key_of(const Policy& p) { return PolicyKey{p.kind, p.ns, p.name}; }

std::string describe(PolicyKind kind, std::string_view ns, std::string_view name) {
  std::string out(kind_name(kind));
  out += ' ';
  if (!ns.empty()) {
    out += ns;
    out += '/';
  }
  out += name;
  return out;
}

std::string describe(const Policy& p) { return describe(p.kind, p.ns, p.name); }

std::string field_path(const RuleOrigin& o) {
  std::string out = o.rule_path + "." + std::string(section_name(o.section));
  if (o.element >= 0) out += "[" + std::to_string(o.element) + "]";
  return out;
}

std::string to_string(const RuleOrigin& o) {
  return describe(o.kind, o.ns, o.name) + " " + field_path(o);
}

std::string fqdn_label_key(const FqdnSelector& f) {
  const bool pattern = f.match_name.empty();
  std::string v = pattern ? f.match_pattern : f.match_name;
  for (auto& c : v) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (v.empty() || v.back() != '.') v.push_back('.');
  return (pattern ? "matchPattern:" : "matchName:") + v;
}

}  // namespace axon::policy
