// A policy document: apiVersion, kind, metadata, spec and specs; and the
// public entry points (decode.h) that run the decoder on each document.
#include <algorithm>

#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "decode/decoder.h"

namespace axon::policy {
namespace internal {

void Decoder::decode() {
  const YAML::Node& root = doc_.node;
  if (!root.IsMap()) {
    out_.is_policy = false;
    error(root, "", "a manifest must be a map with apiVersion, kind, metadata and spec, not " +
                        type_name(root));
    return;
  }
  auto top = fields(root, "");
  const Field* api = find(top, "apiVersion");
  const Field* kind = find(top, "kind");
  const Field* meta = find(top, "metadata");

  std::string kind_text = kind != nullptr && kind->value.IsScalar() ? kind->value.Scalar() : "";
  std::string api_text = api != nullptr && api->value.IsScalar() ? api->value.Scalar() : "";
  auto parsed_kind = parse_kind(kind_text);
  if (!parsed_kind) {
    unknown_kind(root, kind, kind_text, api_text);
    return;
  }
  out_.is_policy = true;
  kind_ = *parsed_kind;
  name_object(meta);
  check_api_version(root, api, api_text);

  std::vector<std::string> known = {"apiVersion", "kind", "metadata", "spec", "status"};
  if (kind_ != PolicyKind::network_policy) known.push_back("specs");
  check_keys(top, "", known, {}, std::string(kind_name(kind_)));

  Policy policy;
  policy.kind = kind_;
  policy.source = SourceRef{doc_.file, doc_.index, doc_.line};
  decode_metadata(meta, root, policy);
  ns_ = policy.ns;

  if (kind_ == PolicyKind::network_policy) {
    const Field* spec = find(top, "spec");
    if (spec == nullptr) {
      error(root, "spec", "missing; a NetworkPolicy needs a spec with a podSelector");
    } else if (expect_map(spec->value, "spec", "spec")) {
      Rule r;
      if (decode_k8s_spec(spec->value, r)) policy.rules.push_back(std::move(r));
    }
  } else {
    decode_cilium_specs(root, top, policy);
  }
  warn_fqdns_without_dns(root);
  out_.policy = std::move(policy);
}

// Not a policy kind. Close to one (a typo, a wrong case): still ours, an error.
void Decoder::unknown_kind(const YAML::Node& root, const Field* kind, const std::string& kind_text,
                           const std::string& api_text) {
  static const std::vector<std::string> kKinds = {
      "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy"};
  std::optional<std::string> near;
  for (const auto& k : kKinds) {
    if (to_lower(k) == to_lower(kind_text)) near = k;
  }
  if (!near && !kind_text.empty()) near = closest_match(kind_text, kKinds);
  bool policy_api = api_text.starts_with("cilium.io/") || api_text == "networking.k8s.io/v1";
  if (!near && !(kind_text.empty() && policy_api)) return;
  out_.is_policy = true;
  object_ = kind_text.empty() ? "" : kind_text;
  if (kind == nullptr) {
    error(root, "kind", "missing; a policy document needs kind: CiliumNetworkPolicy, "
                        "CiliumClusterwideNetworkPolicy or NetworkPolicy");
  } else {
    error(kind->value, "kind", "unknown kind \"" + kind_text + "\"",
          "did you mean \"" + near.value_or("CiliumNetworkPolicy") + "\"?");
  }
}

// Names the object early, so every problem says which one it is about.
void Decoder::name_object(const Field* meta) {
  std::string name, ns;
  if (meta != nullptr && meta->value.IsMap()) {
    for (auto it = meta->value.begin(); it != meta->value.end(); ++it) {
      if (!it->first.IsScalar() || !it->second.IsScalar()) continue;
      if (it->first.Scalar() == "name") name = it->second.Scalar();
      if (it->first.Scalar() == "namespace") ns = it->second.Scalar();
    }
  }
  bool namespaced = kind_ != PolicyKind::cilium_clusterwide_network_policy;
  object_ = describe(kind_, namespaced ? (ns.empty() ? "default" : ns) : "", name);
  out_.object = object_;
}

void Decoder::check_api_version(const YAML::Node& root, const Field* api,
                                const std::string& api_text) {
  std::string want_api(api_version(kind_));
  if (api == nullptr) {
    YAML::Node r = root;
    error(root, "apiVersion", "missing", "write apiVersion: " + want_api,
          [r, want_api]() mutable { r["apiVersion"] = want_api; });
  } else if (api_text != want_api) {
    YAML::Node r = root;
    error(api->value, "apiVersion",
          "\"" + api_text + "\" does not serve " + std::string(kind_name(kind_)),
          "write apiVersion: " + want_api,
          [r, want_api]() mutable { r["apiVersion"] = want_api; });
  }
}

void Decoder::decode_metadata(const Field* meta, const YAML::Node& root, Policy& policy) {
  if (meta == nullptr) {
    error(root, "metadata", "missing; a policy needs metadata.name");
    return;
  }
  if (!expect_map(meta->value, "metadata", "metadata")) return;
  auto fs = fields(meta->value, "metadata");
  static const std::vector<std::string> kKnown = {
      "name",         "namespace",       "labels",           "annotations",
      "uid",          "resourceVersion", "generation",       "creationTimestamp",
      "generateName", "managedFields",   "ownerReferences",  "finalizers",
      "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"};
  check_keys(fs, "metadata", kKnown, {}, "metadata");
  const Field* name = find(fs, "name");
  if (name == nullptr) {
    error(meta->value, "metadata.name", "missing; every policy needs a name");
  } else if (auto s = string_of(name->value, "metadata.name")) {
    if (!is_dns_subdomain(*s)) {
      error(name->value, "metadata.name",
            "\"" + *s + "\" is not a valid name (lower-case letters, digits, '-' and '.', "
            "starting and ending with a letter or digit, at most 253 characters)");
    }
    policy.name = *s;
  }
  decode_namespace(find(fs, "namespace"), meta->value, policy);
  if (const Field* labels = find(fs, "labels")) {
    if (!labels->value.IsNull() && expect_map(labels->value, "metadata.labels", "labels")) {
      for (const auto& f : fields(labels->value, "metadata.labels")) {
        std::string path = child("metadata.labels", f.key);
        auto v = string_of(f.value, path);
        if (!v) continue;
        if (auto e = check_label_key(f.key); !e.empty()) error(f.key_node, path, e);
        if (auto e = check_label_value(*v); !e.empty()) error(f.value, path, e);
        policy.labels.add(Label{std::string(kSourceK8s), f.key, *v});
      }
    }
  }
  if (const Field* ann = find(fs, "annotations")) {
    if (!ann->value.IsNull() && expect_map(ann->value, "metadata.annotations", "annotations")) {
      for (const auto& f : fields(ann->value, "metadata.annotations")) {
        string_of(f.value, child("metadata.annotations", f.key));
      }
    }
  }
}

void Decoder::decode_namespace(const Field* ns, const YAML::Node& meta, Policy& policy) {
  if (kind_ == PolicyKind::cilium_clusterwide_network_policy) {
    if (ns != nullptr) {
      YAML::Node m = meta;
      warn(ns->value, "metadata.namespace",
           "a CiliumClusterwideNetworkPolicy is cluster-scoped; its namespace is ignored and "
           "its selectors match pods of every namespace",
           "remove metadata.namespace (or use a CiliumNetworkPolicy to stay in one namespace)",
           [m]() mutable { m.remove("namespace"); });
    }
  } else if (ns == nullptr) {
    policy.ns = "default";
    warn(meta, "metadata.namespace",
         "missing: kubectl puts the policy in the namespace of your context (usually "
         "\"default\") and axon assumes \"default\"",
         "set metadata.namespace to the namespace whose pods it is for");
  } else if (auto s = string_of(ns->value, "metadata.namespace")) {
    if (!is_dns_label(*s)) {
      error(ns->value, "metadata.namespace",
            "\"" + *s + "\" is not a valid namespace name (lower-case letters, digits and '-', "
            "at most 63 characters)");
    }
    policy.ns = *s;
  }
}

// The rules of a Cilium policy: `spec`, the elements of `specs`, or both.
void Decoder::decode_cilium_specs(const YAML::Node& root, const std::vector<Field>& top,
                                  Policy& policy) {
  const Field* spec = find(top, "spec");
  const Field* specs = find(top, "specs");
  if (spec == nullptr && specs == nullptr) {
    error(root, "spec",
          "empty policy: neither spec nor specs; Cilium marks it invalid and enforces nothing",
          "add a spec with an endpointSelector and ingress/egress rules");
  }
  if (spec != nullptr) {
    if (spec->value.IsNull()) {
      error(spec->value, "spec", "has no value; write the rule under it");
    } else if (expect_map(spec->value, "spec", "spec")) {
      Rule r;
      r.path = "spec";
      if (decode_rule(spec->value, "spec", r)) policy.rules.push_back(std::move(r));
    }
  }
  if (specs != nullptr && expect_seq(specs->value, "specs", "specs")) {
    if (specs->value.size() == 0 && spec == nullptr) {
      error(specs->value, "specs", "empty list: the policy has no rule");
    }
    size_t i = 0;
    for (auto it = specs->value.begin(); it != specs->value.end(); ++it, ++i) {
      std::string path = index_path("specs", i);
      if (!expect_map(*it, path, "a rule")) continue;
      Rule r;
      r.path = path;
      if (decode_rule(*it, path, r)) policy.rules.push_back(std::move(r));
    }
  }
}

Decoded decode_document(const Document& doc, std::vector<FixAction>* fixes) {
  Decoder d(doc, fixes);
  return d.run();
}

}  // namespace internal

Decoded decode_policy(const Document& doc) { return internal::decode_document(doc, nullptr); }

DecodedFile decode_policies(std::string_view text, const std::string& file,
                            bool skip_others_silently) {
  DecodedFile out;
  auto loaded = load_documents(text, file);
  out.problems = loaded.problems;
  for (const auto& doc : loaded.documents) {
    ++out.documents;
    auto d = decode_policy(doc);
    if (!d.is_policy) {
      if (!skip_others_silently) {
        Diagnostic p;
        p.severity = Severity::warning;
        p.location.file = file;
        p.document = doc.index;
        p.location.line = doc.line;
        std::string kind, api;
        if (doc.node.IsMap()) {
          for (auto it = doc.node.begin(); it != doc.node.end(); ++it) {
            if (!it->first.IsScalar() || !it->second.IsScalar()) continue;
            if (it->first.Scalar() == "kind") kind = it->second.Scalar();
            if (it->first.Scalar() == "apiVersion") api = it->second.Scalar();
          }
        }
        p.message = "skipped: not a policy (kind \"" + kind + "\", apiVersion \"" + api + "\")";
        out.problems.push_back(std::move(p));
      }
      continue;
    }
    if (!d.policy) ++out.invalid;
    for (auto& p : d.problems) out.problems.push_back(std::move(p));
    if (d.policy) out.policies.push_back(std::move(*d.policy));
  }
  return out;
}

}  // namespace axon::policy
