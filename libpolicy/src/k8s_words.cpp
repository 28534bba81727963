// Kubernetes NetworkPolicy words inside a Cilium policy, translated
// (semantics §1.5, §1.6, §2):
//   from/to: [peer...]          -> fromEndpoints/toEndpoints, fromCIDRSet/toCIDRSet
//   peer.podSelector            -> the same labels (a Cilium policy adds its namespace)
//   peer.namespaceSelector {}   -> k8s:io.kubernetes.pod.namespace Exists (every namespace)
//   namespaceSelector label kubernetes.io/metadata.name: X
//                               -> k8s:io.kubernetes.pod.namespace: X
//   other namespace label K: V  -> k8s:io.cilium.k8s.namespace.labels.K: V
//   peer.ipBlock {cidr, except} -> fromCIDRSet/toCIDRSet entry
//   ports: [{protocol, port, endPort}] -> toPorts: [{ports: [...]}] (protocol TCP by default)
//   no peers (from missing or [])      -> any peer: toPorts alone, or fromEntities/toEntities [all]
#include <algorithm>

#include "axon/base/strings.h"
#include "internal.h"

namespace axon::policy::internal {
namespace {

const std::string kNsKey = "k8s:" + std::string(kNamespaceKey);

bool is_map(const YAML::Node& n) { return n.IsDefined() && n.IsMap(); }

// The value under `key`, or an undefined node (a default-constructed
// YAML::Node is a defined null).
YAML::Node lookup(const YAML::Node& map, const std::string& key) {
  if (!is_map(map)) return YAML::Node(YAML::NodeType::Undefined);
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) return it->second;
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

bool has(const YAML::Node& map, const std::string& key) { return lookup(map, key).IsDefined(); }

// The namespace-side key a namespaceSelector label key stands for.
std::string namespace_key(const std::string& key) {
  if (key == kMetadataNameKey) return kNsKey;
  return "k8s:" + std::string(kNamespaceLabelsPrefix) + key;
}

struct SelectorOut {
  YAML::Node node;
  std::string error;
};

// podSelector AND namespaceSelector as one Cilium endpoint selector.
SelectorOut translate_peer(const YAML::Node& peer, PolicyKind kind, const std::string& ns,
                           std::vector<std::string>& notes) {
  SelectorOut out;
  YAML::Node pod = lookup(peer, "podSelector");
  YAML::Node nsel = lookup(peer, "namespaceSelector");
  YAML::Node match_labels(YAML::NodeType::Map);
  YAML::Node exprs(YAML::NodeType::Sequence);

  auto copy_selector = [&](const YAML::Node& sel, bool namespace_side, bool& positive) -> bool {
    if (!sel.IsDefined() || sel.IsNull()) return true;
    if (!sel.IsMap()) return false;
    for (auto it = sel.begin(); it != sel.end(); ++it) {
      const std::string key = it->first.Scalar();
      if (key == "matchLabels") {
        if (it->second.IsNull()) continue;
        if (!it->second.IsMap()) return false;
        for (auto l = it->second.begin(); l != it->second.end(); ++l) {
          std::string k = l->first.Scalar();
          if (namespace_side) {
            k = namespace_key(k);
            positive = true;
          }
          match_labels[k] = l->second;
        }
      } else if (key == "matchExpressions") {
        if (it->second.IsNull()) continue;
        if (!it->second.IsSequence()) return false;
        for (auto e = it->second.begin(); e != it->second.end(); ++e) {
          if (!e->IsMap()) return false;
          YAML::Node expr(YAML::NodeType::Map);
          for (auto f = e->begin(); f != e->end(); ++f) {
            const std::string fk = f->first.Scalar();
            if (fk == "key" && namespace_side) {
              expr["key"] = namespace_key(f->second.Scalar());
            } else {
              expr[fk] = f->second;
            }
            if (fk == "operator" && namespace_side &&
                (f->second.Scalar() == "In" || f->second.Scalar() == "Exists")) {
              positive = true;
            }
          }
          exprs.push_back(expr);
        }
      } else {
        return false;
      }
    }
    return true;
  };

  bool unused = false;
  bool positive_ns = false;
  // The namespace side first: it reads as "in namespace X, pods with ...".
  if (nsel.IsDefined() && !copy_selector(nsel, true, positive_ns)) {
    out.error = "namespaceSelector is not a label selector (matchLabels, matchExpressions)";
    return out;
  }
  if (!copy_selector(pod, false, unused)) {
    out.error = "podSelector is not a label selector (matchLabels, matchExpressions)";
    return out;
  }
  if (nsel.IsDefined()) {
    bool by_name = lookup(lookup(nsel, "matchLabels"), std::string(kMetadataNameKey)).IsDefined();
    if (by_name) {
      notes.push_back("namespaceSelector matchLabels kubernetes.io/metadata.name: " +
                      lookup(lookup(nsel, "matchLabels"), std::string(kMetadataNameKey)).Scalar() +
                      " becomes k8s:io.kubernetes.pod.namespace: " +
                      lookup(lookup(nsel, "matchLabels"), std::string(kMetadataNameKey)).Scalar() +
                      " (every namespace carries its own name in that label)");
    }
    if (!positive_ns) {
      YAML::Node expr(YAML::NodeType::Map);
      expr["key"] = kNsKey;
      expr["operator"] = "Exists";
      exprs.push_back(expr);
      notes.push_back(
          "namespaceSelector " + emit_flow(nsel) +
          " means pods of every namespace: k8s:io.kubernetes.pod.namespace Exists");
    } else if (!by_name) {
      notes.push_back("namespace labels are matched as k8s:io.cilium.k8s.namespace.labels.<key>");
    }
  } else if (kind == PolicyKind::cilium_network_policy) {
    notes.push_back("podSelector alone means pods of namespace " + ns +
                    ", the policy's own, as in a CiliumNetworkPolicy selector without a namespace");
  } else {
    notes.push_back(
        "a selector without a namespace in a CiliumClusterwideNetworkPolicy matches pods of every "
        "namespace; add k8s:io.kubernetes.pod.namespace to narrow it");
  }
  out.node = YAML::Node(YAML::NodeType::Map);
  if (match_labels.size() > 0) out.node["matchLabels"] = match_labels;
  if (exprs.size() > 0) out.node["matchExpressions"] = exprs;
  return out;
}

// K8s `ports` as a Cilium toPorts list.
bool translate_ports(const YAML::Node& ports, YAML::Node& to_ports, std::vector<std::string>& notes,
                     std::string& error) {
  if (ports.IsNull()) return true;
  if (!ports.IsSequence()) {
    error = "ports is not a list";
    return false;
  }
  YAML::Node list(YAML::NodeType::Sequence);
  bool defaulted = false;
  for (auto it = ports.begin(); it != ports.end(); ++it) {
    if (!it->IsMap()) {
      error = "an entry of ports is not a map";
      return false;
    }
    YAML::Node p(YAML::NodeType::Map);
    YAML::Node port = lookup(*it, "port");
    YAML::Node proto = lookup(*it, "protocol");
    YAML::Node end = lookup(*it, "endPort");
    for (auto f = it->begin(); f != it->end(); ++f) {
      const std::string k = f->first.Scalar();
      if (k != "port" && k != "protocol" && k != "endPort") {
        error = "unknown field \"" + k + "\" in ports";
        return false;
      }
    }
    if (!port.IsDefined() || port.IsNull()) {
      p["port"] = quoted("0");
    } else if (!port.IsScalar()) {
      error = "port is not a number or a name";
      return false;
    } else {
      p["port"] = quoted(port.Scalar());
    }
    if (end.IsDefined() && !end.IsNull()) p["endPort"] = YAML::Node(end.Scalar());
    if (proto.IsDefined() && !proto.IsNull()) {
      p["protocol"] = to_upper(proto.Scalar());
    } else {
      p["protocol"] = "TCP";
      defaulted = true;
    }
    list.push_back(p);
  }
  if (defaulted) notes.push_back("a NetworkPolicy port without protocol means TCP");
  YAML::Node rule(YAML::NodeType::Map);
  rule["ports"] = list;
  to_ports = YAML::Node(YAML::NodeType::Sequence);
  to_ports.push_back(rule);
  return true;
}

}  // namespace

bool is_k8s_element_word(const std::string& key) {
  return key == "from" || key == "to" || key == "ports" || key == "podSelector" ||
         key == "namespaceSelector" || key == "ipBlock";
}

K8sTranslation translate_k8s_element(const YAML::Node& element, Section section, PolicyKind kind,
                                     const std::string& ns) {
  K8sTranslation t;
  const bool ingress = direction_of(section) == Direction::ingress;
  const std::string pfx = ingress ? "from" : "to";

  // The peers: from/to, or peer words written directly in the element.
  std::vector<YAML::Node> peers;
  bool peers_given = false;
  YAML::Node others(YAML::NodeType::Map);  // Cilium fields already there, kept as they are
  YAML::Node k8s_ports(YAML::NodeType::Undefined);
  for (auto it = element.begin(); it != element.end(); ++it) {
    const std::string key = it->first.Scalar();
    if (!is_k8s_element_word(key)) {
      others[key] = it->second;
      continue;
    }
    t.words.push_back(key);
    if (key == "from" || key == "to") {
      peers_given = true;
      if (it->second.IsNull()) continue;
      if (!it->second.IsSequence()) {
        t.error = "\"" + key + "\" is not a list of peers";
        return t;
      }
      for (auto p = it->second.begin(); p != it->second.end(); ++p) {
        peers.push_back(*p);
        if (p->IsMap()) {
          for (auto f = p->begin(); f != p->end(); ++f) {
            const std::string w = f->first.Scalar();
            if (std::find(t.words.begin(), t.words.end(), w) == t.words.end()) {
              t.words.push_back(w);
            }
          }
        }
      }
    } else if (key == "ports") {
      k8s_ports = it->second;
    }
  }
  if (!peers_given && (has(element, "podSelector") || has(element, "namespaceSelector") ||
                       has(element, "ipBlock"))) {
    YAML::Node peer(YAML::NodeType::Map);
    for (const char* w : {"podSelector", "namespaceSelector", "ipBlock"}) {
      if (has(element, w)) peer[w] = lookup(element, w);
    }
    peers.push_back(peer);
    peers_given = true;
  }

  YAML::Node endpoints(YAML::NodeType::Sequence);
  YAML::Node cidr_sets(YAML::NodeType::Sequence);
  for (const auto& peer : peers) {
    if (!peer.IsMap()) {
      t.error = "a peer of \"" + pfx + "\" is not a map";
      return t;
    }
    for (auto f = peer.begin(); f != peer.end(); ++f) {
      const std::string w = f->first.Scalar();
      if (w != "podSelector" && w != "namespaceSelector" && w != "ipBlock") {
        t.error = "unknown peer field \"" + w + "\" (a NetworkPolicy peer has podSelector, "
                  "namespaceSelector or ipBlock)";
        return t;
      }
    }
    YAML::Node ip = lookup(peer, "ipBlock");
    if (ip.IsDefined()) {
      if (has(peer, "podSelector") || has(peer, "namespaceSelector")) {
        t.error = "a peer cannot combine ipBlock with podSelector or namespaceSelector";
        return t;
      }
      if (!ip.IsMap() || !lookup(ip, "cidr").IsDefined()) {
        t.error = "ipBlock needs a cidr";
        return t;
      }
      YAML::Node set(YAML::NodeType::Map);
      for (auto f = ip.begin(); f != ip.end(); ++f) {
        const std::string k = f->first.Scalar();
        if (k != "cidr" && k != "except") {
          t.error = "unknown ipBlock field \"" + k + "\"";
          return t;
        }
        set[k] = f->second;
      }
      cidr_sets.push_back(set);
      continue;
    }
    if (!has(peer, "podSelector") && !has(peer, "namespaceSelector")) {
      t.error = "an empty peer ({}) selects nothing in a NetworkPolicy either";
      return t;
    }
    auto sel = translate_peer(peer, kind, ns, t.notes);
    if (!sel.error.empty()) {
      t.error = sel.error;
      return t;
    }
    endpoints.push_back(sel.node);
  }
  if (cidr_sets.size() > 0) {
    t.notes.push_back("ipBlock becomes " + pfx + "CIDRSet (it matches addresses outside the "
                      "cluster, not pods)");
  }

  YAML::Node to_ports(YAML::NodeType::Undefined);
  if (k8s_ports.IsDefined()) {
    if (!translate_ports(k8s_ports, to_ports, t.notes, t.error)) return t;
    if (has(others, "toPorts")) {
      t.error = "the element has both ports and toPorts";
      return t;
    }
  }

  auto make = [&](const char* field, const YAML::Node& value) {
    YAML::Node el(YAML::NodeType::Map);
    if (field != nullptr) el[pfx + field] = value;
    for (auto it = others.begin(); it != others.end(); ++it) el[it->first] = it->second;
    if (to_ports.IsDefined()) el["toPorts"] = to_ports;
    return el;
  };
  if (endpoints.size() > 0) t.elements.push_back(make("Endpoints", endpoints));
  if (cidr_sets.size() > 0) t.elements.push_back(make("CIDRSet", cidr_sets));
  if (t.elements.empty()) {
    // No peer given: a NetworkPolicy means every source (or destination).
    if (to_ports.IsDefined() || others.size() > 0) {
      t.elements.push_back(make(nullptr, YAML::Node(YAML::NodeType::Undefined)));
      if (to_ports.IsDefined()) {
        t.notes.push_back(std::string("without \"") + pfx + "\" a NetworkPolicy element allows "
                          "every peer on its ports, as toPorts alone does");
      }
    } else {
      YAML::Node all(YAML::NodeType::Sequence);
      all.push_back("all");
      t.elements.push_back(make("Entities", all));
      t.notes.push_back(std::string("without \"") + pfx + "\" peers a NetworkPolicy element "
                        "allows everything: " + pfx + "Entities: [all]");
    }
  }
  return t;
}

}  // namespace axon::policy::internal
