// One element of ingress, egress, ingressDeny or egressDeny (cilium's
// IngressRule/EgressRule): which keys it may have, its peers (L3:
// fromEndpoints, fromRequires, fromEntities, and the kinds in cidr.cpp,
// services.cpp and fqdn.cpp), its ports (ports.cpp, icmp.cpp) and
// authentication. An element written with Kubernetes NetworkPolicy words
// is an error that shows the Cilium element meaning the same.
#include <algorithm>

#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "decode/decoder.h"

namespace axon::policy::internal {

std::optional<PeerRule> Decoder::decode_element(const YAML::Node& seq, const YAML::Node& n,
                                                const std::string& path, Section section,
                                                bool host) {
  if (n.IsNull()) {
    error(n, path, "empty element (null)",
          "write {} to mean \"allow nothing\" (with default deny), or give peers and ports");
    return std::nullopt;
  }
  if (!expect_map(n, path, "an element")) return std::nullopt;
  auto fs = fields(n, path);
  const bool deny = is_deny(section);

  // Kubernetes NetworkPolicy words: translate, explain, offer the fix.
  bool k8s = std::any_of(fs.begin(), fs.end(),
                         [](const Field& f) { return is_k8s_element_word(f.key); });
  if (k8s) {
    k8s_element(seq, n, path, section);
    return std::nullopt;
  }
  check_element_keys(fs, path, section);

  PeerRule el;
  el.line = line_of(n);
  const size_t errors_before = errors_;
  const bool l3_field = decode_peers(n, fs, path, section, el);
  const Field* ports = find(fs, "toPorts");
  const Field* icmps = find(fs, "icmps");
  if (ports != nullptr) decode_to_ports(fs, n, *ports, path, section, host, el);
  if (icmps != nullptr) decode_icmps(fs, n, *icmps, path, el);
  if (const Field* f = find(fs, "authentication"); f != nullptr && !deny) {
    decode_authentication(*f, path);
  }

  el.any_peer = !l3_field && (ports != nullptr || icmps != nullptr);
  if (errors_ != errors_before) return std::nullopt;
  return el;
}

// The keys an element of this section may have; toFQDNs in egressDeny is
// an error of its own.
void Decoder::check_element_keys(const std::vector<Field>& fs, const std::string& path,
                                 Section section) {
  const bool ingress = direction_of(section) == Direction::ingress;
  const bool deny = is_deny(section);
  const std::string pfx = ingress ? "from" : "to";
  std::vector<std::string> known = {pfx + "Endpoints", pfx + "Requires", pfx + "CIDR",
                                    pfx + "CIDRSet",   pfx + "Entities", pfx + "Nodes",
                                    pfx + "Groups",    "toPorts",        "icmps"};
  if (!ingress) known.push_back("toServices");
  if (!ingress && !deny) known.push_back("toFQDNs");
  if (!deny) known.push_back("authentication");
  std::vector<std::string> handled;
  if (deny && !ingress) handled.push_back("toFQDNs");
  check_keys(fs, path, known, handled, std::string(section_name(section)) + " element");
  if (const Field* f = find(fs, "toFQDNs"); f != nullptr && deny) {
    error(f->key_node, child(path, "toFQDNs"),
          "toFQDNs is not allowed in egressDeny (deny rules are L3/L4 only)",
          "deny the addresses with toCIDR, or allow only what is needed with toFQDNs in egress");
  }
}

bool Decoder::decode_peers(const YAML::Node& n, const std::vector<Field>& fs,
                           const std::string& path, Section section, PeerRule& el) {
  const std::string pfx = direction_of(section) == Direction::ingress ? "from" : "to";
  std::vector<std::string> l3_kinds;
  bool l3_field = false;
  if (const Field* f = find(fs, pfx + "Endpoints")) {
    l3_field = true;
    l3_kinds.push_back(f->key);
    std::string p = child(path, f->key);
    if (decode_peer_selectors(*f, p, "a peer selector", el.endpoints) && f->value.size() == 0) {
      warn(f->value, p, "empty list selects no peer: this element allows nothing",
           "write [{}] for every pod of the namespace, or remove the element");
    }
  }
  if (const Field* f = find(fs, pfx + "Requires")) {
    l3_field = true;
    std::string p = child(path, f->key);
    warn(f->key_node, p, f->key + " is deprecated since Cilium 1.17 and removed in 1.19",
         "express the requirement in the selectors of the rules instead");
    decode_peer_selectors(*f, p, "a requirement", el.requirements);
  }
  if (decode_cidr_peers(fs, path, pfx, el)) {
    l3_field = true;
    l3_kinds.push_back(pfx + "CIDR");
  }
  if (const Field* f = find(fs, pfx + "Entities")) {
    l3_field = true;
    l3_kinds.push_back(f->key);
    decode_entities(*f, child(path, f->key), el);
  }
  for (const char* unsupported : {"Nodes", "Groups"}) {
    if (const Field* f = find(fs, pfx + unsupported)) {
      l3_field = true;
      std::string what = std::string(unsupported) == "Nodes"
                             ? "node selectors (needs per-node identities)"
                             : "cloud provider groups";
      std::string fix = std::string(unsupported) == "Nodes"
                            ? "use " + pfx + "Entities: [host, remote-node]"
                            : "use " + pfx + "CIDR with the group's addresses";
      error(f->key_node, child(path, f->key),
            f->key + ": " + what + " are not supported by axon yet", fix);
    }
  }
  if (const Field* f = find(fs, "toServices")) {
    l3_field = true;
    l3_kinds.push_back("toServices");
    decode_to_services(*f, path, el);
  }
  if (const Field* f = find(fs, "toFQDNs"); f != nullptr && !is_deny(section)) {
    l3_field = true;
    l3_kinds.push_back("toFQDNs");
    decode_to_fqdns(*f, path, el);
  }
  // Not a key check: CIDR and CIDRSet are one kind, and the message names
  // every kind written.
  if (l3_kinds.size() > 1) {
    bool fqdn = std::find(l3_kinds.begin(), l3_kinds.end(), "toFQDNs") != l3_kinds.end();
    error(n, path,
          fqdn ? "toFQDNs cannot be combined with " + join(l3_kinds, ", ") + " in one element"
               : "combining " + join(l3_kinds, " and ") + " in one element is not supported",
          "write one element per kind of peer (they are ORed)");
  }
  return l3_field;
}

// fromEndpoints/fromRequires: selectors with the namespace the policy
// implies. False if the field is not a list.
bool Decoder::decode_peer_selectors(const Field& f, const std::string& path,
                                    const std::string& what, std::vector<Selector>& out) {
  if (!expect_seq(f.value, path, f.key)) return false;
  size_t i = 0;
  for (auto it = f.value.begin(); it != f.value.end(); ++it, ++i) {
    if (!visit()) break;
    if (auto s = decode_selector(*it, index_path(path, i), Flavor::cilium, what)) {
      namespace_peer(*s);
      out.push_back(std::move(*s));
    }
  }
  return true;
}

void Decoder::decode_entities(const Field& f, const std::string& path, PeerRule& el) {
  if (!expect_seq(f.value, path, f.key)) return;
  if (f.value.size() == 0) warn(f.value, path, "empty list selects no peer");
  size_t i = 0;
  for (auto it = f.value.begin(); it != f.value.end(); ++it, ++i) {
    auto s = string_of(*it, index_path(path, i));
    if (!s) continue;
    if (auto e = parse_entity(*s)) {
      el.entities.push_back(*e);
    } else {
      auto m = closest_match(*s, entity_names());
      error(*it, index_path(path, i), "unknown entity \"" + *s + "\"",
            (m ? "did you mean \"" + *m + "\"? " : std::string()) +
                "valid entities: " + join(entity_names(), ", "));
    }
  }
}

void Decoder::decode_authentication(const Field& f, const std::string& path) {
  std::string p = child(path, "authentication");
  if (!expect_map(f.value, p, "authentication")) return;
  auto afs = fields(f.value, p);
  check_keys(afs, p, {"mode"}, {}, "authentication");
  if (const Field* m = find(afs, "mode")) {
    auto s = string_of(m->value, child(p, "mode"));
    if (s && *s != "disabled") {
      error(m->value, child(p, "mode"),
            "mutual authentication (mode " + *s + ") is not supported by axon",
            "remove authentication (mode: disabled is accepted)");
    }
  }
}

// An element with NetworkPolicy words (k8s_words.cpp translates them):
// the error shows the Cilium element(s), and the fix replaces it in `seq`.
void Decoder::k8s_element(const YAML::Node& seq, const YAML::Node& n, const std::string& path,
                          Section section) {
  auto t = translate_k8s_element(n, section, kind_, ns_);
  std::string words;
  for (size_t i = 0; i < t.words.size(); ++i) {
    if (i > 0) words += i + 1 == t.words.size() ? " and " : ", ";
    words += "\"" + t.words[i] + "\"";
  }
  std::string kind(kind_name(kind_));
  std::string msg = words + (t.words.size() == 1 ? " is a Kubernetes NetworkPolicy field"
                                                 : " are Kubernetes NetworkPolicy fields") +
                    ", not " + kind + " ones (kubectl rejects unknown fields; with validation "
                    "off Kubernetes prunes them, leaving {}, which allows nothing)";
  if (!t.error.empty()) {
    error(n, path, msg, "cannot translate it automatically: " + t.error +
                            "; rewrite it with " + (direction_of(section) == Direction::ingress
                                                        ? "fromEndpoints/fromCIDRSet"
                                                        : "toEndpoints/toCIDRSet") +
                            " and toPorts");
    return;
  }
  std::vector<std::string> shown;
  for (const auto& e : t.elements) shown.push_back(emit_flow(e));
  std::string fix = "the " + kind + " rule is " + join(shown, " plus ");
  if (!t.notes.empty()) fix += " (" + join(t.notes, "; ") + ")";
  YAML::Node s = seq;
  YAML::Node original = n;
  std::vector<YAML::Node> replacement = t.elements;
  error(n, path, msg, fix,
        [s, original, replacement]() mutable {
          YAML::Node rebuilt(YAML::NodeType::Sequence);
          for (auto it = s.begin(); it != s.end(); ++it) {
            if (it->is(original)) {
              for (const auto& r : replacement) rebuilt.push_back(r);
            } else {
              rebuilt.push_back(*it);
            }
          }
          s = rebuilt;
        },
        path + ": " + join(shown, " plus ") +
            (t.notes.empty() ? "" : "\n    " + join(t.notes, "\n    ")));
}

}  // namespace axon::policy::internal
