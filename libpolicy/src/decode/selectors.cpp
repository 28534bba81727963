// Label selectors (matchLabels, matchExpressions) of Cilium rules and of
// NetworkPolicies, and the namespace a peer selector implies.
#include <algorithm>

#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "decode/decoder.h"

namespace axon::policy::internal {

std::optional<Selector> Decoder::decode_selector(const YAML::Node& n, const std::string& path,
                                                 Flavor flavor, const std::string& what) {
  if (n.IsNull()) {
    error(n, path, what + " has no value", "write {} to select everything");
    return std::nullopt;
  }
  if (!expect_map(n, path, what)) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path, {"matchLabels", "matchExpressions"}, {}, "a label selector");
  Selector sel;
  bool ok = true;
  if (const Field* ml = find(fs, "matchLabels"); ml != nullptr && !ml->value.IsNull()) {
    std::string mpath = child(path, "matchLabels");
    if (expect_map(ml->value, mpath, "matchLabels")) {
      for (const auto& f : fields(ml->value, mpath)) {
        std::string p = child(mpath, f.key);
        std::string source, key;
        if (!split_label_key(f.key, f.key_node, p, flavor, source, key)) ok = false;
        auto v = string_of(f.value, p);
        if (!v) {
          ok = false;
          continue;
        }
        if (auto e = check_label_value(*v); !e.empty()) {
          error(f.value, p, e);
          ok = false;
        }
        add_requirement(sel, equals(source, key, *v));
      }
    } else {
      ok = false;
    }
  }
  if (const Field* me = find(fs, "matchExpressions"); me != nullptr && !me->value.IsNull()) {
    std::string epath = child(path, "matchExpressions");
    if (expect_seq(me->value, epath, "matchExpressions")) {
      size_t i = 0;
      for (auto it = me->value.begin(); it != me->value.end(); ++it, ++i) {
        std::string p = index_path(epath, i);
        if (!expect_map(*it, p, "a match expression")) {
          ok = false;
          continue;
        }
        auto r = decode_expression(*it, p, flavor);
        if (r) {
          add_requirement(sel, std::move(*r));
        } else {
          ok = false;
        }
      }
    } else {
      ok = false;
    }
  }
  if (!ok) return std::nullopt;
  return sel;
}

bool Decoder::split_label_key(const std::string& text, const YAML::Node& at,
                              const std::string& path, Flavor flavor, std::string& source,
                              std::string& key) {
  std::string default_source(flavor == Flavor::cilium ? kSourceAny : kSourceK8s);
  if (flavor == Flavor::k8s) {
    source = default_source;
    key = text;
  } else {
    split_source(text, default_source, source, key);
  }
  if (flavor == Flavor::k8s && text.find(':') != std::string::npos) {
    error(at, path, "\"" + text + "\": a NetworkPolicy selector takes plain Kubernetes label "
                    "keys, without a source prefix");
    return false;
  }
  if (flavor == Flavor::cilium && text.find(':') != std::string::npos &&
      std::find(label_sources().begin(), label_sources().end(),
                text.substr(0, text.find(':'))) == label_sources().end()) {
    std::string prefix = text.substr(0, text.find(':'));
    std::string hint = "valid sources: " + join(label_sources(), ", ");
    if (auto m = closest_match(prefix, label_sources())) hint = "did you mean \"" + *m + ":\"?";
    error(at, path, "\"" + text + "\": unknown label source \"" + prefix + "\"", hint);
    return false;
  }
  if (auto e = check_label_key(key); !e.empty() && source != kSourceCidr) {
    error(at, path, e);
    return false;
  }
  return true;
}

std::optional<Requirement> Decoder::decode_expression(const YAML::Node& n,
                                                      const std::string& path, Flavor flavor) {
  auto fs = fields(n, path);
  check_keys(fs, path, {"key", "operator", "values"}, {}, "a match expression");
  const Field* key = find(fs, "key");
  const Field* op = find(fs, "operator");
  const Field* values = find(fs, "values");
  Requirement r;
  bool ok = true;
  if (key == nullptr) {
    error(n, child(path, "key"), "missing");
    ok = false;
  } else if (auto k = string_of(key->value, child(path, "key"))) {
    if (!split_label_key(*k, key->value, child(path, "key"), flavor, r.source, r.key)) ok = false;
  } else {
    ok = false;
  }
  static const std::vector<std::string> kOps = {"In", "NotIn", "Exists", "DoesNotExist"};
  if (op == nullptr) {
    error(n, child(path, "operator"), "missing", "one of " + join(kOps, ", "));
    return std::nullopt;
  }
  auto o = string_of(op->value, child(path, "operator"));
  if (!o) return std::nullopt;
  if (*o == "In") {
    r.op = Operator::in;
  } else if (*o == "NotIn") {
    r.op = Operator::not_in;
  } else if (*o == "Exists") {
    r.op = Operator::exists;
  } else if (*o == "DoesNotExist") {
    r.op = Operator::does_not_exist;
  } else {
    auto m = closest_match(*o, kOps);
    for (const auto& k : kOps) {
      if (to_lower(k) == to_lower(*o)) m = k;
    }
    error(op->value, child(path, "operator"), "unknown operator \"" + *o + "\"",
          m ? "did you mean \"" + *m + "\"?" : "one of " + join(kOps, ", "));
    return std::nullopt;
  }
  bool needs_values = r.op == Operator::in || r.op == Operator::not_in;
  if (values != nullptr && !values->value.IsNull()) {
    r.values = string_list(values->value, child(path, "values"));
  }
  if (needs_values && r.values.empty()) {
    error(values != nullptr ? values->value : n, child(path, "values"),
          std::string(operator_name(r.op)) + " needs at least one value");
    ok = false;
  }
  if (!needs_values && !r.values.empty()) {
    error(values->value, child(path, "values"),
          std::string(operator_name(r.op)) + " takes no values", "remove values, or use In/NotIn");
    ok = false;
  }
  if (!ok) return std::nullopt;
  return r;
}

// The namespace a peer selector of this policy implies (semantics §1.5):
// a CiliumNetworkPolicy's own namespace, every namespace (but only pods)
// for a cluster-wide one; nothing if the selector names a namespace, a
// namespace label or a reserved label.
void Decoder::namespace_peer(Selector& s) const {
  if (mentions(s, kSourceK8s, kNamespaceKey) || mentions_prefix(s, kNamespaceLabelsPrefix) ||
      mentions_source(s, kSourceReserved)) {
    return;
  }
  if (kind_ == PolicyKind::cilium_clusterwide_network_policy) {
    add_requirement(s, exists(std::string(kSourceK8s), std::string(kNamespaceKey)));
  } else {
    add_requirement(s, equals(std::string(kSourceK8s), std::string(kNamespaceKey), ns_));
  }
}

}  // namespace axon::policy::internal
