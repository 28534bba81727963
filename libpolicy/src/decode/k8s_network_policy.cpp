// A Kubernetes NetworkPolicy (networking.k8s.io/v1) as a rule of the model,
// the way cilium's pkg/k8s/network_policy.go converts it: podSelector in
// the policy's namespace, policyTypes as default deny, from/to peers
// (podSelector AND namespaceSelector, or ipBlock) and ports (TCP by
// default). Cilium words in a NetworkPolicy are errors.
#include "decode/decoder.h"

namespace axon::policy::internal {

bool Decoder::decode_k8s_spec(const YAML::Node& n, Rule& rule) {
  const size_t errors_before = errors_;
  rule.path = "spec";
  auto fs = fields(n, "spec");
  std::vector<std::string> known = {"podSelector", "policyTypes", "ingress", "egress"};
  for (const auto& f : fs) {
    if (f.key == "endpointSelector" || f.key == "ingressDeny" || f.key == "egressDeny" ||
        f.key == "enableDefaultDeny") {
      error(f.key_node, child("spec", f.key),
            f.key + " is a CiliumNetworkPolicy field, not a NetworkPolicy one",
            f.key == "endpointSelector"
                ? std::string("write podSelector")
                : "write the rule as a CiliumNetworkPolicy (apiVersion: cilium.io/v2)");
    }
  }
  check_keys(fs, "spec", known,
             {"endpointSelector", "ingressDeny", "egressDeny", "enableDefaultDeny"},
             "a NetworkPolicy spec");
  const Field* pod = find(fs, "podSelector");
  if (pod == nullptr) {
    error(n, "spec.podSelector", "missing", "write podSelector: {} for every pod in the namespace");
  } else if (auto s =
                 decode_selector(pod->value, "spec.podSelector", Flavor::k8s, "podSelector")) {
    rule.subject = std::move(*s);
    add_requirement(rule.subject,
                    equals(std::string(kSourceK8s), std::string(kNamespaceKey), ns_));
  }
  bool ingress_type = true, egress_type = find(fs, "egress") != nullptr;
  decode_k8s_policy_types(find(fs, "policyTypes"), ingress_type, egress_type);
  rule.default_deny_ingress = ingress_type;
  rule.default_deny_egress = egress_type;
  for (const char* key : {"ingress", "egress"}) {
    const Field* f = find(fs, key);
    if (f == nullptr || f->value.IsNull()) continue;
    std::string p = child("spec", key);
    if (!expect_seq(f->value, p, key)) continue;
    bool ingress = std::string(key) == "ingress";
    if ((ingress && !ingress_type) || (!ingress && !egress_type)) {
      warn(f->key_node, p,
           std::string("policyTypes does not list ") + (ingress ? "Ingress" : "Egress") +
               ", so these rules are ignored");
      continue;
    }
    size_t i = 0;
    for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
      if (auto el = decode_k8s_element(*it, index_path(p, i), ingress)) {
        (ingress ? rule.ingress : rule.egress).push_back(std::move(*el));
      }
    }
  }
  return errors_ == errors_before;
}

// policyTypes, when written, replaces the defaults (Ingress always, Egress
// when there are egress rules).
void Decoder::decode_k8s_policy_types(const Field* types, bool& ingress, bool& egress) {
  if (types == nullptr) return;
  ingress = egress = false;
  auto names = string_list(types->value, "spec.policyTypes");
  for (size_t i = 0; i < names.size(); ++i) {
    if (names[i] == "Ingress") {
      ingress = true;
    } else if (names[i] == "Egress") {
      egress = true;
    } else {
      error(types->value, index_path("spec.policyTypes", i),
            "unknown policy type \"" + names[i] + "\"", "Ingress or Egress");
    }
  }
}

std::optional<PeerRule> Decoder::decode_k8s_element(const YAML::Node& n, const std::string& path,
                                                    bool ingress) {
  if (n.IsNull()) {
    // `- ` alone: an empty rule, which in a NetworkPolicy allows everything.
    PeerRule el;
    el.any_peer = true;
    return el;
  }
  if (!expect_map(n, path, "a rule")) return std::nullopt;
  auto fs = fields(n, path);
  const std::string peers_key = ingress ? "from" : "to";
  for (const auto& f : fs) {
    if (f.key.starts_with("from") || f.key.starts_with("to")) {
      if (f.key != peers_key && f.key != "toPorts" && !other_direction(f.key).empty() &&
          f.key.size() > 4) {
        error(f.key_node, child(path, f.key),
              f.key + " is a CiliumNetworkPolicy field, not a NetworkPolicy one",
              "write " + peers_key + ": [{podSelector: ...}] or use a CiliumNetworkPolicy");
      }
    }
  }
  std::vector<std::string> handled;
  for (const auto& f : fs) {
    if (f.key != peers_key && f.key.size() > 4 &&
        (f.key.starts_with("from") || f.key.starts_with("to"))) {
      handled.push_back(f.key);
    }
  }
  if (find(fs, "toPorts") != nullptr) {
    error(find(fs, "toPorts")->key_node, child(path, "toPorts"),
          "toPorts is a CiliumNetworkPolicy field", "write ports: [{port: 80, protocol: TCP}]");
  }
  check_keys(fs, path, {peers_key, "ports"}, handled, "a NetworkPolicy rule");
  const size_t errors_before = errors_;
  PeerRule el;
  el.line = line_of(n);
  const Field* peers = find(fs, peers_key);
  if (peers == nullptr || peers->value.IsNull() ||
      (peers->value.IsSequence() && peers->value.size() == 0)) {
    el.any_peer = true;  // no peers: every source (or destination), the world included
  } else if (expect_seq(peers->value, child(path, peers_key), peers_key)) {
    size_t i = 0;
    for (auto it = peers->value.begin(); it != peers->value.end(); ++it, ++i) {
      decode_k8s_peer(*it, index_path(child(path, peers_key), i), el);
    }
  }
  if (const Field* ports = find(fs, "ports"); ports != nullptr && !ports->value.IsNull()) {
    std::string p = child(path, "ports");
    auto entry = [&](const YAML::Node& e, const std::string& ep) { return decode_k8s_port(e, ep); };
    PortRule rule;
    if (list_of(ports->value, p, "ports", rule.ports, entry) && ports->value.size() > 0) {
      el.ports.push_back(std::move(rule));
    }
  }
  if (errors_ != errors_before) return std::nullopt;
  return el;
}

// podSelector AND namespaceSelector as one endpoint selector, or ipBlock.
void Decoder::decode_k8s_peer(const YAML::Node& n, const std::string& path, PeerRule& el) {
  if (!expect_map(n, path, "a peer")) return;
  auto fs = fields(n, path);
  check_keys(fs, path, {"podSelector", "namespaceSelector", "ipBlock"}, {}, "a peer");
  if (!one_of(fs, n, path, {"ipBlock", "podSelector", "namespaceSelector"},
              {.combined =
                   "ipBlock cannot be combined with podSelector or namespaceSelector in one peer",
               .fix = "write them as separate peers",
               .missing = "a peer needs podSelector, namespaceSelector or ipBlock"})) {
    return;
  }
  if (const Field* ip = find(fs, "ipBlock")) {
    if (auto c = decode_cidr_set(ip->value, child(path, "ipBlock"))) {
      el.cidrs.push_back(std::move(*c));
    }
    return;
  }
  const Field* pod = find(fs, "podSelector");
  const Field* nsel = find(fs, "namespaceSelector");
  Selector sel;
  if (pod != nullptr) {
    auto s = decode_selector(pod->value, child(path, "podSelector"), Flavor::k8s, "podSelector");
    if (!s) return;
    sel = std::move(*s);
  }
  if (nsel != nullptr) {
    auto s = decode_selector(nsel->value, child(path, "namespaceSelector"), Flavor::k8s,
                             "namespaceSelector");
    if (!s) return;
    for (auto r : s->requirements) {
      r.key = std::string(kNamespaceLabelsPrefix) + r.key;
      add_requirement(sel, std::move(r));
    }
    // A namespaceSelector only ever selects pods.
    add_requirement(sel, exists(std::string(kSourceK8s), std::string(kNamespaceKey)));
  } else {
    add_requirement(sel, equals(std::string(kSourceK8s), std::string(kNamespaceKey), ns_));
  }
  el.endpoints.push_back(std::move(sel));
}

std::optional<PortProtocol> Decoder::decode_k8s_port(const YAML::Node& n,
                                                     const std::string& path) {
  if (!expect_map(n, path, "a port")) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path, {"protocol", "port", "endPort"}, {}, "a NetworkPolicy port");
  PortProtocol out;
  out.protocol = Protocol::tcp;
  bool ok = true;
  if (const Field* f = find(fs, "protocol")) {
    auto s = string_of(f->value, child(path, "protocol"));
    if (s && (*s == "TCP" || *s == "UDP" || *s == "SCTP")) {
      out.protocol = *parse_protocol(*s);
    } else if (s) {
      error(f->value, child(path, "protocol"), "unknown protocol \"" + *s + "\"",
            "one of TCP, UDP, SCTP");
      ok = false;
    }
  }
  if (const Field* f = find(fs, "port")) {
    std::string pp = child(path, "port");
    if (!f->value.IsScalar()) {
      error(f->value, pp, "must be a number or a port name");
      ok = false;
    } else if (all_digits(f->value.Scalar())) {
      auto v = parse_int(f->value.Scalar());
      if (!v || *v < 1 || *v > 65535) {
        error(f->value, pp, "port must be 1-65535");
        ok = false;
      } else {
        out.port = static_cast<uint16_t>(*v);
      }
    } else if (auto e = check_port_name(f->value.Scalar()); !e.empty()) {
      error(f->value, pp, e);
      ok = false;
    } else {
      out.name = f->value.Scalar();
    }
  }
  if (const Field* f = find(fs, "endPort")) {
    std::string pp = child(path, "endPort");
    auto v = f->value.IsScalar() && is_plain(f->value) ? parse_int(f->value.Scalar())
                                                        : std::nullopt;
    if (!v) {
      error(f->value, pp, "must be a number");
      ok = false;
    } else if (out.port == 0) {
      error(f->value, pp, "endPort needs a numeric port");
      ok = false;
    } else if (*v < out.port || *v > 65535) {
      error(f->value, pp, "endPort must be between port and 65535");
      ok = false;
    } else if (*v > out.port) {
      out.end_port = static_cast<uint16_t>(*v);
    }
  }
  if (!ok) return std::nullopt;
  return out;
}

}  // namespace axon::policy::internal
