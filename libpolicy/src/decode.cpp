// Strict decoding of CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy
// and NetworkPolicy documents into the model (../shared/reference/
// semantics.md §1-2). Unknown fields are errors naming their path, with the
// closest valid field; Kubernetes NetworkPolicy words inside a Cilium
// policy are errors showing the Cilium rule that means the same; an empty
// ingress/egress list is an error, because it enables no default deny.
#include <algorithm>
#include <charconv>
#include <regex>

#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "internal.h"

namespace axon::policy {
namespace internal {
namespace {

constexpr size_t kMaxVisits = 200'000;  // nodes one document may make us read (aliases!)
constexpr size_t kMaxPortsPerRule = 40;  // Cilium's limit per toPorts element
constexpr size_t kMaxIcmpFields = 40;
constexpr size_t kMaxRegex = 1024;

struct Field {
  std::string key;
  YAML::Node key_node;
  YAML::Node value;
};

std::string type_name(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map:
      return "a map";
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Scalar:
      return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Null:
      return "empty (null)";
    default:
      return "undefined";
  }
}

bool is_plain(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

// A plain scalar that YAML readers (kubectl's among them) take for a
// number, a boolean or null rather than a string.
bool plain_non_string(const YAML::Node& n) {
  if (!is_plain(n)) return false;
  const std::string& s = n.Scalar();
  const std::string lower = to_lower(s);
  for (const char* w : {"true", "false", "yes", "no", "on", "off", "y", "n", "null", "~"}) {
    if (lower == w) return true;
  }
  double d = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
  return ec == std::errc() && ptr == s.data() + s.size();
}

std::optional<int64_t> parse_int(const std::string& s) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

bool all_digits(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// DNS-1123 label (namespace names): lower-case alphanumerics and '-', at most 63.
bool is_dns_label(const std::string& s) {
  if (s.empty() || s.size() > 63 || s.front() == '-' || s.back() == '-') return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
  });
}

bool is_dns_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  auto alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!alnum(s.front()) || !alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [&](char c) { return alnum(c) || c == '-' || c == '.'; });
}

// Cilium's FQDN syntax: matchName ^([-a-zA-Z0-9_]+[.]?)+$, matchPattern also '*'.
bool is_fqdn(const std::string& s, bool pattern) {
  if (s.empty() || s.size() > 255) return false;
  bool prev_dot = true;
  for (char c : s) {
    bool word = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || (pattern && c == '*');
    if (c == '.') {
      if (prev_dot) return false;
      prev_dot = true;
    } else if (word) {
      prev_dot = false;
    } else {
      return false;
    }
  }
  return true;
}

std::string regex_error(const std::string& re) {
  if (re.size() > kMaxRegex) return "longer than " + std::to_string(kMaxRegex) + " characters";
  int depth = 0;
  for (char c : re) {
    if (c == '(') ++depth;
    if (depth > 32) return "nested more than 32 groups deep";
    if (c == ')') --depth;
  }
  // Counted repetitions expand into copies when compiled: a{1000}{1000}
  // is a million states. Keep their product small.
  uint64_t product = 1;
  for (size_t i = 0; i < re.size(); ++i) {
    if (re[i] != '{') continue;
    uint64_t n = 0;
    for (size_t j = i + 1; j < re.size() && re[j] != '}'; ++j) {
      if (re[j] >= '0' && re[j] <= '9') {
        n = std::min<uint64_t>(n * 10 + static_cast<uint64_t>(re[j] - '0'), 1'000'000);
      } else if (re[j] == ',') {
        n = 0;
      }
    }
    product *= std::max<uint64_t>(n, 1);
    if (product > 10'000) return "counted repetitions ({n}) too large (their product is over 10000)";
  }
  try {
    std::regex compiled(re, std::regex::extended);
    (void)compiled;
  } catch (const std::regex_error& e) {
    return e.what();
  }
  return {};
}

std::string index_path(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string child(const std::string& path, std::string_view key) {
  return path.empty() ? std::string(key) : path + "." + std::string(key);
}

// The counterpart of a field in the other direction: toEndpoints <-> fromEndpoints.
std::string other_direction(const std::string& key) {
  if (key.starts_with("from")) return "to" + key.substr(4);
  if (key.starts_with("to") && key != "toPorts") return "from" + key.substr(2);
  return {};
}

class Decoder {
 public:
  Decoder(const Document& doc, std::vector<FixAction>* fixes) : doc_(doc), fixes_(fixes) {}

  Decoded run() {
    try {
      decode();
    } catch (const std::exception& e) {
      // yaml-cpp throws on some malformed trees; never let it escape.
      report(Severity::error, doc_.node, "", std::string("cannot read this document: ") + e.what());
    }
    if (errors_ > 0) out_.policy.reset();
    return std::move(out_);
  }

 private:
  // ---- reporting -------------------------------------------------------

  int line_of(const YAML::Node& n) const {
    if (!n.IsDefined()) return doc_.line;
    auto m = n.Mark();
    return m.is_null() ? doc_.line : m.line + 1;
  }

  void report(Severity sev, const YAML::Node& at, std::string path, std::string message,
              std::string fix = {}, std::function<void()> apply = {}, std::string note = {}) {
    Diagnostic p;
    p.severity = sev;
    p.location.file = doc_.file;
    p.document = doc_.index;
    p.location.line = line_of(at);
    p.object = object_;
    p.path = std::move(path);
    p.message = std::move(message);
    p.fix = std::move(fix);
    p.fixable = static_cast<bool>(apply);
    if (apply && fixes_ != nullptr) {
      fixes_->push_back(FixAction{std::move(apply), note.empty() ? p.path + ": " + p.fix : note});
    }
    if (sev == Severity::error) ++errors_;
    out_.problems.push_back(std::move(p));
  }
  void error(const YAML::Node& at, std::string path, std::string message, std::string fix = {},
             std::function<void()> apply = {}, std::string note = {}) {
    report(Severity::error, at, std::move(path), std::move(message), std::move(fix),
           std::move(apply), std::move(note));
  }
  void warn(const YAML::Node& at, std::string path, std::string message, std::string fix = {},
            std::function<void()> apply = {}, std::string note = {}) {
    report(Severity::warning, at, std::move(path), std::move(message), std::move(fix),
           std::move(apply), std::move(note));
  }

  bool visit() {
    if (++visits_ <= kMaxVisits) return true;
    if (!too_big_) {
      too_big_ = true;
      error(doc_.node, "",
            "document too large (more than " + std::to_string(kMaxVisits) +
                " nodes, counting aliases); split it");
    }
    return false;
  }

  // ---- generic shapes --------------------------------------------------

  // The fields of a map, reporting duplicate keys and non-scalar keys.
  std::vector<Field> fields(const YAML::Node& map, const std::string& path) {
    std::vector<Field> out;
    if (!visit()) return out;
    for (auto it = map.begin(); it != map.end(); ++it) {
      if (!visit()) return out;
      if (!it->first.IsScalar()) {
        error(it->first, path, "a key is " + type_name(it->first) + "; keys must be names");
        continue;
      }
      Field f{it->first.Scalar(), it->first, it->second};
      bool dup = std::any_of(out.begin(), out.end(), [&](const Field& o) { return o.key == f.key; });
      if (dup) {
        error(f.key_node, child(path, f.key),
              "duplicate key (YAML readers keep only one of them, so part of the rule would be "
              "lost); merge the two");
        continue;
      }
      out.push_back(std::move(f));
    }
    return out;
  }

  static const Field* find(const std::vector<Field>& fs, std::string_view key) {
    for (const auto& f : fs) {
      if (f.key == key) return &f;
    }
    return nullptr;
  }

  // Reports every key not in `known` (skipping `handled`), with the closest
  // known one.
  void check_keys(const std::vector<Field>& fs, const std::string& path,
                  const std::vector<std::string>& known, const std::vector<std::string>& handled,
                  const std::string& what) {
    for (const auto& f : fs) {
      if (std::find(known.begin(), known.end(), f.key) != known.end()) continue;
      if (std::find(handled.begin(), handled.end(), f.key) != handled.end()) continue;
      std::string msg = "unknown field \"" + f.key + "\" in " + what;
      std::string fix;
      std::string other = other_direction(f.key);
      if (!other.empty() && std::find(known.begin(), known.end(), other) != known.end()) {
        fix = "\"" + f.key + "\" belongs to the other direction; here it is \"" + other + "\"";
      } else if (auto m = closest_match(f.key, known)) {
        fix = "did you mean \"" + *m + "\"?";
      } else {
        fix = "valid fields: " + join(known, ", ");
      }
      error(f.key_node, child(path, f.key), msg, fix);
    }
  }

  bool expect_map(const YAML::Node& n, const std::string& path, const std::string& what) {
    if (n.IsMap()) return true;
    error(n, path, what + " must be a map, not " + type_name(n));
    return false;
  }

  bool expect_seq(const YAML::Node& n, const std::string& path, const std::string& what) {
    if (n.IsSequence()) return true;
    error(n, path, what + " must be a list, not " + type_name(n));
    return false;
  }

  // A string field. A plain scalar YAML reads as a number or boolean is
  // accepted with a warning (Kubernetes would reject its type) that the
  // fix repairs by quoting it.
  std::optional<std::string> string_of(const YAML::Node& n, const std::string& path,
                                       bool warn_type = true) {
    if (!n.IsScalar()) {
      error(n, path, "must be a string, not " + type_name(n));
      return std::nullopt;
    }
    if (warn_type && plain_non_string(n)) {
      YAML::Node handle = n;
      warn(n, path,
           n.Scalar() + " is not a string in YAML (Kubernetes rejects it: the field is a string)",
           "quote it: \"" + n.Scalar() + "\"", [handle]() mutable { handle.SetTag("!"); },
           path + ": quoted " + n.Scalar());
    }
    return n.Scalar();
  }

  std::optional<bool> bool_of(const YAML::Node& n, const std::string& path) {
    if (is_plain(n)) {
      const std::string& s = n.Scalar();
      if (s == "true" || s == "True" || s == "TRUE") return true;
      if (s == "false" || s == "False" || s == "FALSE") return false;
    }
    error(n, path, "must be true or false, not " + type_name(n));
    return std::nullopt;
  }

  std::vector<std::string> string_list(const YAML::Node& n, const std::string& path) {
    std::vector<std::string> out;
    if (!expect_seq(n, path, "this field")) return out;
    size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) {
      if (!visit()) break;
      if (auto s = string_of(*it, index_path(path, i))) out.push_back(*s);
    }
    return out;
  }

  // ---- document --------------------------------------------------------

  void decode() {
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
      // Close to a policy kind (a typo, a wrong case): still ours, an error.
      static const std::vector<std::string> kKinds = {
          "CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "NetworkPolicy"};
      std::optional<std::string> near;
      for (const auto& k : kKinds) {
        if (to_lower(k) == to_lower(kind_text)) near = k;
      }
      if (!near && !kind_text.empty()) near = closest_match(kind_text, kKinds);
      bool policy_api = api_text.starts_with("cilium.io/") || api_text == "networking.k8s.io/v1";
      if (near || (kind_text.empty() && policy_api)) {
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
      return;
    }
    out_.is_policy = true;
    kind_ = *parsed_kind;

    // Name the object early, so every problem says which one it is about.
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
    if (has_fqdns_ && !has_dns_) {
      warn(root, "spec",
           "toFQDNs allows only addresses the DNS proxy saw in answers, and no rule of this "
           "policy sends lookups through it",
           "add an egress element to kube-dns with toPorts [{ports: [{port: \"53\", protocol: "
           "ANY}], rules: {dns: [{matchPattern: \"*\"}]}}] (unless another policy does)");
    }
    out_.policy = std::move(policy);
  }

  void decode_metadata(const Field* meta, const YAML::Node& root, Policy& policy) {
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
    const Field* ns = find(fs, "namespace");
    if (kind_ == PolicyKind::cilium_clusterwide_network_policy) {
      if (ns != nullptr) {
        YAML::Node m = meta->value;
        warn(ns->value, "metadata.namespace",
             "a CiliumClusterwideNetworkPolicy is cluster-scoped; its namespace is ignored and "
             "its selectors match pods of every namespace",
             "remove metadata.namespace (or use a CiliumNetworkPolicy to stay in one namespace)",
             [m]() mutable { m.remove("namespace"); });
      }
    } else if (ns == nullptr) {
      policy.ns = "default";
      warn(meta->value, "metadata.namespace",
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

  // ---- selectors -------------------------------------------------------

  enum class Flavor { cilium, k8s };

  // matchLabels + matchExpressions. Cilium keys may carry a source
  // ("k8s:app"); without one the source is `any`. NetworkPolicy keys are
  // Kubernetes label keys (source k8s).
  std::optional<Selector> decode_selector(const YAML::Node& n, const std::string& path,
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
    std::string default_source(flavor == Flavor::cilium ? kSourceAny : kSourceK8s);
    auto split = [&](const std::string& text, const YAML::Node& at, const std::string& p,
                     std::string& source, std::string& key) {
      if (flavor == Flavor::k8s) {
        source = default_source;
        key = text;
      } else {
        split_source(text, default_source, source, key);
      }
      if (flavor == Flavor::k8s && text.find(':') != std::string::npos) {
        error(at, p, "\"" + text + "\": a NetworkPolicy selector takes plain Kubernetes label "
                     "keys, without a source prefix");
        ok = false;
      } else if (flavor == Flavor::cilium && text.find(':') != std::string::npos &&
                 std::find(label_sources().begin(), label_sources().end(),
                           text.substr(0, text.find(':'))) == label_sources().end()) {
        std::string prefix = text.substr(0, text.find(':'));
        std::string hint = "valid sources: " + join(label_sources(), ", ");
        if (auto m = closest_match(prefix, label_sources())) hint = "did you mean \"" + *m + ":\"?";
        error(at, p, "\"" + text + "\": unknown label source \"" + prefix + "\"", hint);
        ok = false;
      } else if (auto e = check_label_key(key); !e.empty() && source != kSourceCidr) {
        error(at, p, e);
        ok = false;
      }
    };
    if (const Field* ml = find(fs, "matchLabels"); ml != nullptr && !ml->value.IsNull()) {
      std::string mpath = child(path, "matchLabels");
      if (expect_map(ml->value, mpath, "matchLabels")) {
        for (const auto& f : fields(ml->value, mpath)) {
          std::string p = child(mpath, f.key);
          std::string source, key;
          split(f.key, f.key_node, p, source, key);
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
          auto r = decode_expression(*it, p, split);
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

  template <typename Split>
  std::optional<Requirement> decode_expression(const YAML::Node& n, const std::string& path,
                                               Split& split) {
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
      split(*k, key->value, child(path, "key"), r.source, r.key);
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
            std::string(operator_name(r.op)) + " takes no values",
            "remove values, or use In/NotIn");
      ok = false;
    }
    if (!ok) return std::nullopt;
    return r;
  }

  // The namespace a peer selector of this policy implies (semantics §1.5):
  // a CiliumNetworkPolicy's own namespace, every namespace (but only pods)
  // for a cluster-wide one; nothing if the selector names a namespace, a
  // namespace label or a reserved label.
  void namespace_peer(Selector& s) const {
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

  // ---- Cilium rules ----------------------------------------------------

  bool decode_rule(const YAML::Node& n, const std::string& path, Rule& rule) {
    const size_t errors_before = errors_;
    auto fs = fields(n, path);
    static const std::vector<std::string> kKnown = {
        "endpointSelector", "nodeSelector", "ingress",     "ingressDeny", "egress",
        "egressDeny",       "labels",       "description", "enableDefaultDeny", "log"};
    check_keys(fs, path, kKnown, {"podSelector", "policyTypes"}, "a rule");

    const Field* es = find(fs, "endpointSelector");
    const Field* nsel = find(fs, "nodeSelector");
    const Field* pod = find(fs, "podSelector");
    const Field* types = find(fs, "policyTypes");
    if (es != nullptr && nsel != nullptr) {
      error(nsel->key_node, child(path, "nodeSelector"),
            "a rule has either endpointSelector (pods) or nodeSelector (nodes), not both",
            "write two rules (specs)");
    } else if (es != nullptr) {
      if (auto s = decode_selector(es->value, child(path, "endpointSelector"), Flavor::cilium,
                                   "endpointSelector")) {
        rule.subject = std::move(*s);
        subject_namespace(rule.subject, es->value, child(path, "endpointSelector"));
      }
      if (pod != nullptr) {
        error(pod->key_node, child(path, "podSelector"),
              "podSelector is a Kubernetes NetworkPolicy field; a Cilium policy selects its "
              "pods with endpointSelector only",
              "remove podSelector");
      }
    } else if (nsel != nullptr) {
      if (kind_ != PolicyKind::cilium_clusterwide_network_policy) {
        error(nsel->key_node, child(path, "nodeSelector"),
              "nodeSelector (a host policy) is only valid in a CiliumClusterwideNetworkPolicy",
              "use endpointSelector to select pods, or move the rule to a "
              "CiliumClusterwideNetworkPolicy");
      }
      if (auto s = decode_selector(nsel->value, child(path, "nodeSelector"), Flavor::cilium,
                                   "nodeSelector")) {
        rule.subject = std::move(*s);
        add_requirement(rule.subject,
                        exists(std::string(kSourceReserved), "host"));
        rule.host = true;
      }
    } else if (pod != nullptr) {
      YAML::Node m = n;
      error(pod->key_node, child(path, "podSelector"),
            "podSelector is a Kubernetes NetworkPolicy field; a Cilium policy selects its pods "
            "with endpointSelector",
            "rename it to endpointSelector (same labels)",
            [m]() mutable {
              YAML::Node renamed(YAML::NodeType::Map);
              for (auto it = m.begin(); it != m.end(); ++it) {
                std::string k = it->first.Scalar();
                renamed[k == "podSelector" ? "endpointSelector" : k] = it->second;
              }
              m = renamed;
            },
            path + ": renamed podSelector to endpointSelector");
    } else {
      error(n, child(path, "endpointSelector"),
            "missing: a rule must select the endpoints it applies to",
            "write endpointSelector: {} for every pod in the namespace, or a selector such as "
            "endpointSelector: {matchLabels: {role: api}}");
    }

    // Sections. Remember the empty ones: they enable nothing.
    struct SectionInfo {
      Section section;
      const char* key;
      const Field* field = nullptr;
      bool empty = false;
    };
    SectionInfo secs[] = {{Section::ingress, "ingress"},
                          {Section::ingress_deny, "ingressDeny"},
                          {Section::egress, "egress"},
                          {Section::egress_deny, "egressDeny"}};
    for (auto& s : secs) {
      s.field = find(fs, s.key);
      if (s.field == nullptr) continue;
      std::string spath = child(path, s.key);
      const YAML::Node& v = s.field->value;
      if (v.IsNull() || (v.IsSequence() && v.size() == 0)) {
        s.empty = true;
        continue;
      }
      if (!expect_seq(v, spath, s.key)) continue;
      auto& list = section_list(rule, s.section);
      size_t i = 0;
      for (auto it = v.begin(); it != v.end(); ++it, ++i) {
        if (!visit()) break;
        auto el = decode_element(v, *it, index_path(spath, i), s.section, rule.host);
        if (el) list.push_back(std::move(*el));
      }
    }

    // enableDefaultDeny
    std::optional<bool> dd_ingress, dd_egress;
    if (const Field* dd = find(fs, "enableDefaultDeny")) {
      std::string dpath = child(path, "enableDefaultDeny");
      if (expect_map(dd->value, dpath, "enableDefaultDeny")) {
        auto dfs = fields(dd->value, dpath);
        check_keys(dfs, dpath, {"ingress", "egress"}, {}, "enableDefaultDeny");
        if (const Field* f = find(dfs, "ingress")) dd_ingress = bool_of(f->value, child(dpath, "ingress"));
        if (const Field* f = find(dfs, "egress")) dd_egress = bool_of(f->value, child(dpath, "egress"));
      }
    }
    auto sec_nonempty = [&](Section s) {
      for (const auto& info : secs) {
        if (info.section == s) return info.field != nullptr && !info.empty;
      }
      return false;
    };
    rule.default_deny_ingress =
        dd_ingress.value_or(sec_nonempty(Section::ingress) || sec_nonempty(Section::ingress_deny));
    rule.default_deny_egress =
        dd_egress.value_or(sec_nonempty(Section::egress) || sec_nonempty(Section::egress_deny));

    // Empty lists: the seed's default-deny. They enable no default deny.
    const bool nothing_else = !sec_nonempty(Section::ingress) && !sec_nonempty(Section::egress) &&
                              !sec_nonempty(Section::ingress_deny) &&
                              !sec_nonempty(Section::egress_deny) && !dd_ingress.value_or(false) &&
                              !dd_egress.value_or(false);
    bool reported_empty = false;
    for (const auto& s : secs) {
      if (!s.empty) continue;
      reported_empty = true;
      std::string spath = child(path, s.key);
      YAML::Node m = n;
      std::string key = s.key;
      Direction d = direction_of(s.section);
      std::string dir(direction_name(d));
      const std::optional<bool>& dd = d == Direction::ingress ? dd_ingress : dd_egress;
      std::string what = s.field->value.IsNull() ? "no value (null)" : "empty list";
      if (is_deny(s.section)) {
        warn(s.field->value, spath, what + " denies nothing and has no effect", "remove it",
             [m, key]() mutable { m.remove(key); }, spath + ": removed (it had no effect)");
      } else if (dd.has_value() ||
                 sec_nonempty(d == Direction::ingress ? Section::ingress_deny
                                                      : Section::egress_deny)) {
        warn(s.field->value, spath,
             what + " has no effect (default deny for " + dir + " comes from " +
                 (dd.has_value() ? "enableDefaultDeny." + dir : std::string(s.key) + "Deny") + ")",
             "remove it", [m, key]() mutable { m.remove(key); },
             spath + ": removed (it had no effect)");
      } else {
        std::string blocks = nothing_else ? "this policy blocks nothing"
                                          : "this rule blocks no " + dir + " traffic";
        error(s.field->value, spath,
              what + " enables no default deny, so " + blocks,
              "write \"" + key + ": [{}]\" to deny all " + dir + " (or set enableDefaultDeny." +
                  dir + ": true)",
              [m, key]() mutable {
                YAML::Node list(YAML::NodeType::Sequence);
                list.push_back(YAML::Node(YAML::NodeType::Map));
                m[key] = list;
              },
              spath + ": " + what + " -> [{}] (deny all " + dir + " except what other rules allow)");
      }
    }
    if (nothing_else && !reported_empty && types == nullptr) {
      error(n, path,
            "the rule has no ingress, ingressDeny, egress or egressDeny: it selects endpoints "
            "but enforces nothing (newer Cilium rejects it)",
            "add rules, e.g. \"ingress: [{}]\" to deny all ingress");
    }

    // A cluster-wide rule selecting every endpoint puts every pod of every
    // namespace into default deny for the directions it has rules for.
    if (kind_ == PolicyKind::cilium_clusterwide_network_policy && !rule.host && es != nullptr &&
        rule.subject.requirements.empty()) {
      for (const auto& s : secs) {
        if (is_deny(s.section) || s.field == nullptr || s.empty) continue;
        Direction d = direction_of(s.section);
        const std::optional<bool>& dd = d == Direction::ingress ? dd_ingress : dd_egress;
        if (dd.has_value()) continue;
        std::string dir(direction_name(d));
        warn(s.field->key_node, child(path, s.key),
             "this cluster-wide rule selects every pod of every namespace (kube-system "
             "included), and its " + dir + " rules put them all into " + dir +
                 " default deny: from now on each pod can " +
                 (d == Direction::egress ? "send" : "receive") + " only what some policy allows",
             "if the rule only adds an exception, set enableDefaultDeny: {" + dir +
                 ": false}; otherwise allow what every namespace needs");
      }
    }

    if (types != nullptr) decode_policy_types_in_cilium(n, *types, path, secs);

    if (const Field* d = find(fs, "description")) {
      if (auto s = string_of(d->value, child(path, "description"), false)) rule.description = *s;
    }
    if (const Field* l = find(fs, "labels")) decode_rule_labels(l->value, child(path, "labels"), rule);
    if (const Field* l = find(fs, "log")) {
      std::string lpath = child(path, "log");
      if (expect_map(l->value, lpath, "log")) {
        auto lfs = fields(l->value, lpath);
        check_keys(lfs, lpath, {"value"}, {}, "log");
        if (const Field* v = find(lfs, "value")) {
          if (auto s = string_of(v->value, child(lpath, "value")); s && s->size() > 32) {
            error(v->value, child(lpath, "value"), "longer than 32 characters");
          }
        }
      }
    }
    return errors_ == errors_before;
  }

  // policyTypes inside a Cilium rule: a NetworkPolicy word. Its meaning
  // (default deny in those directions) is `<dir>: [{}]` when the section is
  // missing or empty.
  template <typename Secs>
  void decode_policy_types_in_cilium(const YAML::Node& n, const Field& types,
                                     const std::string& path, const Secs& secs) {
    std::vector<std::string> dirs;
    if (types.value.IsSequence()) {
      for (auto it = types.value.begin(); it != types.value.end(); ++it) {
        if (it->IsScalar()) dirs.push_back(it->Scalar());
      }
    }
    std::vector<std::string> add;
    for (const auto& d : dirs) {
      std::string key = d == "Ingress" ? "ingress" : d == "Egress" ? "egress" : "";
      if (key.empty()) continue;
      bool present = false;
      for (const auto& s : secs) {
        if (s.key == key && s.field != nullptr && !s.empty) present = true;
      }
      if (!present) add.push_back(key);
    }
    YAML::Node m = n;
    std::string fix = "remove policyTypes";
    if (!add.empty()) fix += " and write " + join(add, ": [{}] and ") + ": [{}] (default deny)";
    error(types.key_node, child(path, "policyTypes"),
          "policyTypes is a Kubernetes NetworkPolicy field; in a Cilium policy a non-empty "
          "ingress/egress section (or enableDefaultDeny) turns on default deny",
          fix,
          [m, add]() mutable {
            m.remove("policyTypes");
            for (const auto& key : add) {
              YAML::Node list(YAML::NodeType::Sequence);
              list.push_back(YAML::Node(YAML::NodeType::Map));
              m[key] = list;
            }
          },
          path + ": " + fix);
  }

  void subject_namespace(Selector& s, const YAML::Node& at, const std::string& path) {
    if (kind_ != PolicyKind::cilium_network_policy) return;
    for (const auto& r : s.requirements) {
      if (r.key != kNamespaceKey || (r.source != kSourceK8s && r.source != kSourceAny)) continue;
      bool same = r.op == Operator::in && r.values.size() == 1 && r.values.front() == ns_;
      if (!same) {
        error(at, path,
              "endpointSelector names namespace (" + to_string(r) +
                  ") but a CiliumNetworkPolicy only selects pods of its own namespace \"" + ns_ +
                  "\"",
              "remove the namespace label, or use a CiliumClusterwideNetworkPolicy");
        return;
      }
    }
    add_requirement(s, equals(std::string(kSourceK8s), std::string(kNamespaceKey), ns_));
  }

  void decode_rule_labels(const YAML::Node& n, const std::string& path, Rule& rule) {
    if (!expect_seq(n, path, "labels")) return;
    size_t i = 0;
    for (auto it = n.begin(); it != n.end(); ++it, ++i) {
      std::string p = index_path(path, i);
      if (it->IsScalar()) {
        auto l = parse_label(it->Scalar(), kSourceUnspecified());
        if (!l) {
          error(*it, p, l.error().message);
        } else {
          rule.labels.add(*l);
        }
        continue;
      }
      if (!expect_map(*it, p, "a label")) continue;
      auto fs = fields(*it, p);
      check_keys(fs, p, {"key", "value", "source"}, {}, "a label");
      Label l;
      l.source = std::string(kSourceUnspecified());
      if (const Field* k = find(fs, "key")) {
        if (auto s = string_of(k->value, child(p, "key"))) l.key = *s;
      } else {
        error(*it, child(p, "key"), "missing");
      }
      if (const Field* v = find(fs, "value")) {
        if (auto s = string_of(v->value, child(p, "value"))) l.value = *s;
      }
      if (const Field* s = find(fs, "source")) {
        if (auto src = string_of(s->value, child(p, "source"))) l.source = *src;
      }
      rule.labels.add(std::move(l));
    }
  }

  static std::string_view kSourceUnspecified() { return "unspec"; }

  static std::vector<PeerRule>& section_list(Rule& r, Section s) {
    switch (s) {
      case Section::ingress:
        return r.ingress;
      case Section::egress:
        return r.egress;
      case Section::ingress_deny:
        return r.ingress_deny;
      case Section::egress_deny:
        return r.egress_deny;
    }
    return r.ingress;
  }

  // ---- one element of a section ----------------------------------------

  std::optional<PeerRule> decode_element(const YAML::Node& seq, const YAML::Node& n,
                                         const std::string& path, Section section, bool host) {
    if (n.IsNull()) {
      error(n, path, "empty element (null)",
            "write {} to mean \"allow nothing\" (with default deny), or give peers and ports");
      return std::nullopt;
    }
    if (!expect_map(n, path, "an element")) return std::nullopt;
    auto fs = fields(n, path);
    const bool ingress = direction_of(section) == Direction::ingress;
    const bool deny = is_deny(section);

    // Kubernetes NetworkPolicy words: translate, explain, offer the fix.
    bool k8s = std::any_of(fs.begin(), fs.end(),
                           [](const Field& f) { return is_k8s_element_word(f.key); });
    if (k8s) {
      k8s_element(seq, n, path, section);
      return std::nullopt;
    }

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

    PeerRule el;
    el.line = line_of(n);
    std::vector<std::string> l3_kinds;
    bool l3_field = false;
    const size_t errors_before = errors_;

    if (const Field* f = find(fs, pfx + "Endpoints")) {
      l3_field = true;
      l3_kinds.push_back(f->key);
      std::string p = child(path, f->key);
      if (expect_seq(f->value, p, f->key)) {
        if (f->value.size() == 0) {
          warn(f->value, p, "empty list selects no peer: this element allows nothing",
               "write [{}] for every pod of the namespace, or remove the element");
        }
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          if (!visit()) break;
          if (auto s = decode_selector(*it, index_path(p, i), Flavor::cilium, "a peer selector")) {
            namespace_peer(*s);
            el.endpoints.push_back(std::move(*s));
          }
        }
      }
    }
    if (const Field* f = find(fs, pfx + "Requires")) {
      l3_field = true;
      std::string p = child(path, f->key);
      warn(f->key_node, p,
           f->key + " is deprecated since Cilium 1.17 and removed in 1.19",
           "express the requirement in the selectors of the rules instead");
      if (expect_seq(f->value, p, f->key)) {
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          if (!visit()) break;
          if (auto s = decode_selector(*it, index_path(p, i), Flavor::cilium, "a requirement")) {
            namespace_peer(*s);
            el.requirements.push_back(std::move(*s));
          }
        }
      }
    }
    bool cidr = false;
    if (const Field* f = find(fs, pfx + "CIDR")) {
      l3_field = cidr = true;
      std::string p = child(path, f->key);
      if (expect_seq(f->value, p, f->key)) {
        if (f->value.size() == 0) warn(f->value, p, "empty list selects no address");
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          if (auto pr = prefix_of(*it, index_path(p, i))) el.cidrs.push_back(CidrRule{*pr, {}});
        }
      }
    }
    if (const Field* f = find(fs, pfx + "CIDRSet")) {
      l3_field = cidr = true;
      std::string p = child(path, f->key);
      if (expect_seq(f->value, p, f->key)) {
        if (f->value.size() == 0) warn(f->value, p, "empty list selects no address");
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          if (auto c = decode_cidr_set(*it, index_path(p, i))) el.cidrs.push_back(std::move(*c));
        }
      }
    }
    if (cidr) l3_kinds.push_back(pfx + "CIDR");
    if (const Field* f = find(fs, pfx + "Entities")) {
      l3_field = true;
      l3_kinds.push_back(f->key);
      std::string p = child(path, f->key);
      if (expect_seq(f->value, p, f->key)) {
        if (f->value.size() == 0) warn(f->value, p, "empty list selects no peer");
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          auto s = string_of(*it, index_path(p, i));
          if (!s) continue;
          if (auto e = parse_entity(*s)) {
            el.entities.push_back(*e);
          } else {
            auto m = closest_match(*s, entity_names());
            error(*it, index_path(p, i), "unknown entity \"" + *s + "\"",
                  (m ? "did you mean \"" + *m + "\"? " : std::string()) +
                      "valid entities: " + join(entity_names(), ", "));
          }
        }
      }
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
        error(f->key_node, child(path, f->key), f->key + ": " + what + " are not supported by axon yet",
              fix);
      }
    }
    if (const Field* f = find(fs, "toServices")) {
      l3_field = true;
      l3_kinds.push_back("toServices");
      std::string p = child(path, "toServices");
      if (expect_seq(f->value, p, "toServices")) {
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          if (auto s = decode_service(*it, index_path(p, i))) el.services.push_back(std::move(*s));
        }
      }
    }
    if (const Field* f = find(fs, "toFQDNs"); f != nullptr && !deny) {
      l3_field = true;
      l3_kinds.push_back("toFQDNs");
      std::string p = child(path, "toFQDNs");
      if (expect_seq(f->value, p, "toFQDNs")) {
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          if (auto s = decode_fqdn(*it, index_path(p, i))) el.fqdns.push_back(std::move(*s));
        }
        has_fqdns_ = true;
      }
    }
    if (l3_kinds.size() > 1) {
      bool fqdn = std::find(l3_kinds.begin(), l3_kinds.end(), "toFQDNs") != l3_kinds.end();
      error(n, path,
            fqdn ? "toFQDNs cannot be combined with " + join(l3_kinds, ", ") + " in one element"
                 : "combining " + join(l3_kinds, " and ") + " in one element is not supported",
            "write one element per kind of peer (they are ORed)");
    }

    const Field* ports = find(fs, "toPorts");
    const Field* icmps = find(fs, "icmps");
    if (ports != nullptr) {
      std::string p = child(path, "toPorts");
      if (expect_seq(ports->value, p, "toPorts")) {
        if (ports->value.size() == 0) {
          warn(ports->value, p, "empty list: this element allows no port");
        }
        size_t i = 0;
        for (auto it = ports->value.begin(); it != ports->value.end(); ++it, ++i) {
          if (auto pr = decode_port_rule(*it, index_path(p, i), section, host)) {
            el.ports.push_back(std::move(*pr));
          }
        }
      }
      if (find(fs, "toServices") != nullptr) {
        error(ports->key_node, p, "toServices cannot be combined with toPorts",
              "the service's own ports apply; remove toPorts");
      }
    }
    if (icmps != nullptr) {
      std::string p = child(path, "icmps");
      if (ports != nullptr) {
        error(icmps->key_node, p, "icmps cannot be combined with toPorts in one element",
              "write two elements with the same peers");
      }
      if (expect_seq(icmps->value, p, "icmps")) {
        size_t i = 0;
        for (auto it = icmps->value.begin(); it != icmps->value.end(); ++it, ++i) {
          decode_icmp_rule(*it, index_path(p, i), el.icmps);
        }
      }
    }
    if (const Field* f = find(fs, "authentication"); f != nullptr && !deny) {
      std::string p = child(path, "authentication");
      if (expect_map(f->value, p, "authentication")) {
        auto afs = fields(f->value, p);
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
    }

    el.any_peer = !l3_field && (ports != nullptr || icmps != nullptr);
    if (errors_ != errors_before) return std::nullopt;
    return el;
  }

  void k8s_element(const YAML::Node& seq, const YAML::Node& n, const std::string& path,
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

  std::optional<Prefix> prefix_of(const YAML::Node& n, const std::string& path) {
    auto s = string_of(n, path);
    if (!s) return std::nullopt;
    auto p = parse_prefix(*s);
    if (!p) {
      error(n, path, p.error().message);
      return std::nullopt;
    }
    if (p->host_bits_set) {
      warn(n, path, "\"" + *s + "\" has host bits set; it means " + to_string(p->prefix),
           "write " + to_string(p->prefix));
    }
    return p->prefix;
  }

  std::optional<CidrRule> decode_cidr_set(const YAML::Node& n, const std::string& path) {
    if (!expect_map(n, path, "a CIDR set")) return std::nullopt;
    auto fs = fields(n, path);
    check_keys(fs, path, {"cidr", "except", "cidrGroupRef", "cidrGroupSelector"}, {},
               "a CIDR set");
    for (const char* g : {"cidrGroupRef", "cidrGroupSelector"}) {
      if (const Field* f = find(fs, g)) {
        error(f->key_node, child(path, g), "CiliumCIDRGroup references are not supported by axon yet",
              "list the prefixes with cidr/except");
      }
    }
    const Field* c = find(fs, "cidr");
    if (c == nullptr) {
      if (find(fs, "cidrGroupRef") == nullptr && find(fs, "cidrGroupSelector") == nullptr) {
        error(n, child(path, "cidr"), "missing", "write cidr: 10.0.0.0/8");
      }
      return std::nullopt;
    }
    auto cidr = prefix_of(c->value, child(path, "cidr"));
    if (!cidr) return std::nullopt;
    CidrRule rule{*cidr, {}};
    if (const Field* e = find(fs, "except")) {
      std::string p = child(path, "except");
      if (expect_seq(e->value, p, "except")) {
        size_t i = 0;
        for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
          auto ex = prefix_of(*it, index_path(p, i));
          if (!ex) continue;
          if (ex->v6 != cidr->v6 || !contains(*cidr, *ex)) {
            error(*it, index_path(p, i),
                  to_string(*ex) + " is not inside " + to_string(*cidr) +
                      " (every exception must be a smaller prefix of the same family inside "
                      "cidr; Cilium rejects the rule otherwise)");
            continue;
          }
          rule.except.push_back(*ex);
        }
      }
    }
    return rule;
  }

  std::optional<ServiceSelector> decode_service(const YAML::Node& n, const std::string& path) {
    if (!expect_map(n, path, "a service")) return std::nullopt;
    auto fs = fields(n, path);
    check_keys(fs, path, {"k8sService", "k8sServiceSelector"}, {}, "toServices");
    const Field* svc = find(fs, "k8sService");
    const Field* sel = find(fs, "k8sServiceSelector");
    if ((svc == nullptr) == (sel == nullptr)) {
      error(n, path, "give exactly one of k8sService and k8sServiceSelector");
      return std::nullopt;
    }
    ServiceSelector out;
    const Field* f = svc != nullptr ? svc : sel;
    std::string p = child(path, f->key);
    if (!expect_map(f->value, p, f->key)) return std::nullopt;
    auto sfs = fields(f->value, p);
    if (svc != nullptr) {
      check_keys(sfs, p, {"serviceName", "namespace"}, {}, "k8sService");
      if (const Field* name = find(sfs, "serviceName")) {
        if (auto s = string_of(name->value, child(p, "serviceName"))) out.name = *s;
      } else {
        error(f->value, child(p, "serviceName"), "missing");
      }
    } else {
      check_keys(sfs, p, {"selector", "namespace"}, {}, "k8sServiceSelector");
      if (const Field* s = find(sfs, "selector")) {
        out.selector = decode_selector(s->value, child(p, "selector"), Flavor::k8s, "selector");
      } else {
        error(f->value, child(p, "selector"), "missing");
      }
    }
    if (const Field* nsf = find(sfs, "namespace")) {
      if (auto s = string_of(nsf->value, child(p, "namespace"))) out.ns = *s;
    } else {
      out.ns = ns_;
    }
    return out;
  }

  std::optional<FqdnSelector> decode_fqdn(const YAML::Node& n, const std::string& path) {
    if (!expect_map(n, path, "an FQDN selector")) return std::nullopt;
    auto fs = fields(n, path);
    check_keys(fs, path, {"matchName", "matchPattern"}, {}, "an FQDN selector");
    const Field* name = find(fs, "matchName");
    const Field* pattern = find(fs, "matchPattern");
    if ((name == nullptr) == (pattern == nullptr)) {
      error(n, path, "give exactly one of matchName and matchPattern");
      return std::nullopt;
    }
    FqdnSelector out;
    if (name != nullptr) {
      auto s = string_of(name->value, child(path, "matchName"));
      if (!s) return std::nullopt;
      if (!is_fqdn(*s, false)) {
        error(name->value, child(path, "matchName"),
              "\"" + *s + "\" is not a DNS name (letters, digits, '-', '_' and single dots)");
        return std::nullopt;
      }
      out.match_name = *s;
    } else {
      auto s = string_of(pattern->value, child(path, "matchPattern"));
      if (!s) return std::nullopt;
      if (!is_fqdn(*s, true)) {
        error(pattern->value, child(path, "matchPattern"),
              "\"" + *s + "\" is not a DNS name pattern (letters, digits, '-', '_', '*' and "
              "single dots)");
        return std::nullopt;
      }
      out.match_pattern = *s;
    }
    return out;
  }

  // ---- ports and L7 ----------------------------------------------------

  std::optional<PortRule> decode_port_rule(const YAML::Node& n, const std::string& path,
                                           Section section, bool host) {
    if (!expect_map(n, path, "a toPorts entry")) return std::nullopt;
    auto fs = fields(n, path);
    check_keys(fs, path,
               {"ports", "rules", "terminatingTLS", "originatingTLS", "serverNames", "listener"},
               {}, "a toPorts entry");
    const size_t errors_before = errors_;
    PortRule rule;
    if (const Field* p = find(fs, "ports")) {
      std::string pp = child(path, "ports");
      if (expect_seq(p->value, pp, "ports")) {
        if (p->value.size() > kMaxPortsPerRule) {
          error(p->value, pp,
                std::to_string(p->value.size()) + " ports; at most " +
                    std::to_string(kMaxPortsPerRule) + " per toPorts entry",
                "split it into several toPorts entries");
        }
        size_t i = 0;
        for (auto it = p->value.begin(); it != p->value.end(); ++it, ++i) {
          if (auto pp2 = decode_port(*it, index_path(pp, i))) rule.ports.push_back(*pp2);
        }
      }
    }
    for (const char* tls : {"terminatingTLS", "originatingTLS", "serverNames", "listener"}) {
      if (const Field* f = find(fs, tls)) {
        error(f->key_node, child(path, tls),
              std::string(tls) + " (TLS interception / Envoy listeners) is not supported by axon",
              "remove it");
      }
    }
    if (const Field* r = find(fs, "rules")) {
      std::string rp = child(path, "rules");
      if (is_deny(section)) {
        error(r->key_node, rp,
              "deny rules cannot have L7 rules: a deny applies to the whole port",
              "move the L7 rules to an allow section, or deny the port without rules");
      } else if (!r->value.IsNull()) {
        decode_l7(r->value, rp, section, host, rule);
      }
    }
    L7Kind k = l7_kind(rule.rules);
    if (k != L7Kind::none) {
      if (rule.ports.empty()) {
        error(n, child(path, "ports"), "L7 rules need explicit ports", "add ports: [{port: \"80\", protocol: TCP}]");
      }
      for (size_t i = 0; i < rule.ports.size(); ++i) {
        const auto& p = rule.ports[i];
        std::string pp = index_path(child(path, "ports"), i);
        if (p.port == 0 && p.name.empty()) {
          error(n, pp, "L7 rules cannot apply to port 0 (all ports)", "name the port");
        }
        if (k == L7Kind::http && p.protocol != Protocol::tcp) {
          error(n, pp,
                "http rules need protocol TCP, not " + std::string(protocol_name(p.protocol)),
                "write protocol: TCP");
        }
        if (k == L7Kind::dns) {
          if (p.protocol == Protocol::sctp) error(n, pp, "dns rules need protocol UDP, TCP or ANY");
          if (p.end_port != 0) error(n, pp, "dns rules cannot apply to a port range (endPort)");
        }
      }
    }
    if (errors_ != errors_before) return std::nullopt;
    return rule;
  }

  std::optional<PortProtocol> decode_port(const YAML::Node& n, const std::string& path) {
    if (!expect_map(n, path, "a port")) return std::nullopt;
    auto fs = fields(n, path);
    check_keys(fs, path, {"port", "endPort", "protocol"}, {}, "a port");
    PortProtocol out;
    bool ok = true;
    if (const Field* f = find(fs, "port")) {
      std::string pp = child(path, "port");
      if (!f->value.IsScalar()) {
        error(f->value, pp, "must be a number or a port name, not " + type_name(f->value));
        ok = false;
      } else {
        const std::string& s = f->value.Scalar();
        if (all_digits(s)) {
          auto v = parse_int(s);
          if (!v || *v > 65535) {
            error(f->value, pp, "port " + s + " is out of range (0-65535)");
            ok = false;
          } else {
            out.port = static_cast<uint16_t>(*v);
          }
          if (is_plain(f->value)) {
            YAML::Node h = f->value;
            warn(f->value, pp,
                 s + " is a number in YAML, but Cilium's port field is a string (kubectl rejects "
                     "the type)",
                 "quote it: port: \"" + s + "\"", [h]() mutable { h.SetTag("!"); },
                 pp + ": quoted " + s);
          }
        } else if (auto e = check_port_name(s); !e.empty()) {
          std::string lower = to_lower(s);
          if (check_port_name(lower).empty()) {
            YAML::Node h = f->value;
            error(f->value, pp, "port names are lower-case", "write \"" + lower + "\"",
                  [h, lower]() mutable { h = lower; }, pp + ": " + s + " -> " + lower);
          } else {
            error(f->value, pp, e);
          }
          ok = false;
        } else {
          out.name = s;
        }
      }
    }
    if (const Field* f = find(fs, "protocol")) {
      std::string pp = child(path, "protocol");
      auto s = string_of(f->value, pp);
      if (!s) {
        ok = false;
      } else if (*s == "TCP" || *s == "UDP" || *s == "SCTP" || *s == "ANY") {
        out.protocol = *parse_protocol(*s);
      } else if (auto p = parse_protocol(*s); p && (*p == Protocol::icmp || *p == Protocol::icmpv6)) {
        error(f->value, pp, "ICMP is not a toPorts protocol",
              "allow ICMP with icmps: [{fields: [{type: 8, family: IPv4}]}] in its own element");
        ok = false;
      } else if (p) {
        YAML::Node h = f->value;
        std::string up = to_upper(*s);
        error(f->value, pp, "protocol names are upper-case", "write " + up,
              [h, up]() mutable { h = up; }, pp + ": " + *s + " -> " + up);
        ok = false;
      } else if (to_upper(*s) == "VRRP" || to_upper(*s) == "IGMP") {
        error(f->value, pp, *s + " rules are not supported by axon");
        ok = false;
      } else {
        error(f->value, pp, "unknown protocol \"" + *s + "\"", "one of TCP, UDP, SCTP, ANY");
        ok = false;
      }
    }
    if (const Field* f = find(fs, "endPort")) {
      std::string pp = child(path, "endPort");
      auto v = f->value.IsScalar() && is_plain(f->value) ? parse_int(f->value.Scalar())
                                                          : std::nullopt;
      if (!v) {
        error(f->value, pp, "must be a number, not " + type_name(f->value));
        ok = false;
      } else if (!out.name.empty()) {
        warn(f->value, pp, "endPort is ignored with a named port");
      } else if (out.port == 0) {
        error(f->value, pp, "endPort needs a start port", "set port to the first port of the range");
        ok = false;
      } else if (*v < out.port || *v > 65535) {
        error(f->value, pp,
              "endPort " + std::to_string(*v) + " must be between port (" +
                  std::to_string(out.port) + ") and 65535");
        ok = false;
      } else if (*v > out.port) {
        out.end_port = static_cast<uint16_t>(*v);
      }
    }
    if (!ok) return std::nullopt;
    return out;
  }

  void decode_l7(const YAML::Node& n, const std::string& path, Section section, bool host,
                 PortRule& rule) {
    if (!expect_map(n, path, "rules")) return;
    auto fs = fields(n, path);
    check_keys(fs, path, {"http", "dns", "kafka", "l7proto", "l7"}, {}, "L7 rules");
    std::vector<std::string> kinds;
    for (const auto& f : fs) {
      if (f.key == "kafka" || f.key == "l7proto" || f.key == "l7") {
        error(f.key_node, child(path, f.key),
              f.key + " rules are not supported by axon (http and dns are)");
        continue;
      }
      if (f.key != "http" && f.key != "dns") continue;
      if (f.value.IsSequence() && f.value.size() > 0) kinds.push_back(f.key);
      if (f.value.IsSequence() && f.value.size() == 0) {
        warn(f.value, child(path, f.key), "empty list: no L7 rule (plain L4 allow)");
      }
    }
    if (kinds.size() > 1) {
      error(n, path, "one port takes one kind of L7 rules, not " + join(kinds, " and "),
            "split them into separate toPorts entries on different ports");
      return;
    }
    if (const Field* f = find(fs, "http")) {
      std::string p = child(path, "http");
      if (host) {
        error(f->key_node, p, "host policies (nodeSelector) cannot have http rules");
      }
      if (expect_seq(f->value, p, "http")) {
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          if (auto h = decode_http(*it, index_path(p, i))) rule.rules.http.push_back(std::move(*h));
        }
      }
    }
    if (const Field* f = find(fs, "dns")) {
      std::string p = child(path, "dns");
      if (direction_of(section) == Direction::ingress) {
        error(f->key_node, p, "dns rules apply to egress only (lookups a pod makes)",
              "move them to an egress element on port 53");
      }
      if (expect_seq(f->value, p, "dns")) {
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          std::string ep = index_path(p, i);
          if (!expect_map(*it, ep, "a dns rule")) continue;
          auto dfs = fields(*it, ep);
          check_keys(dfs, ep, {"matchName", "matchPattern"}, {}, "a dns rule");
          if (auto s = decode_fqdn(*it, ep)) {
            has_dns_ = true;
            rule.rules.dns.push_back(DnsRule{s->match_name, s->match_pattern});
          }
        }
      }
    }
  }

  std::optional<HttpRule> decode_http(const YAML::Node& n, const std::string& path) {
    if (!expect_map(n, path, "an http rule")) return std::nullopt;
    auto fs = fields(n, path);
    check_keys(fs, path, {"method", "path", "host", "headers", "headerMatches"}, {},
               "an http rule");
    HttpRule h;
    bool ok = true;
    auto regex_field = [&](const char* key, std::string& dst) {
      if (const Field* f = find(fs, key)) {
        std::string p = child(path, key);
        auto s = string_of(f->value, p);
        if (!s) {
          ok = false;
          return;
        }
        if (auto e = regex_error(*s); !e.empty()) {
          error(f->value, p, "\"" + *s + "\" is not an extended POSIX regular expression: " + e);
          ok = false;
          return;
        }
        dst = *s;
      }
    };
    regex_field("method", h.method);
    regex_field("path", h.path);
    regex_field("host", h.host);
    if (const Field* f = find(fs, "headers")) {
      h.headers = string_list(f->value, child(path, "headers"));
    }
    if (const Field* f = find(fs, "headerMatches")) {
      std::string p = child(path, "headerMatches");
      if (expect_seq(f->value, p, "headerMatches")) {
        size_t i = 0;
        for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
          std::string hp = index_path(p, i);
          if (!expect_map(*it, hp, "a header match")) {
            ok = false;
            continue;
          }
          auto hfs = fields(*it, hp);
          check_keys(hfs, hp, {"name", "value", "secret", "mismatch"}, {}, "a header match");
          HeaderMatch m;
          if (const Field* name = find(hfs, "name")) {
            if (auto s = string_of(name->value, child(hp, "name"))) m.name = *s;
          } else {
            error(*it, child(hp, "name"), "missing");
            ok = false;
          }
          if (const Field* v = find(hfs, "value")) {
            if (auto s = string_of(v->value, child(hp, "value"))) m.value = *s;
          }
          if (const Field* s = find(hfs, "secret")) {
            std::string sp = child(hp, "secret");
            if (expect_map(s->value, sp, "secret")) {
              auto sfs = fields(s->value, sp);
              check_keys(sfs, sp, {"name", "namespace"}, {}, "a secret reference");
              if (const Field* x = find(sfs, "name")) {
                if (auto v = string_of(x->value, child(sp, "name"))) m.secret_name = *v;
              }
              if (const Field* x = find(sfs, "namespace")) {
                if (auto v = string_of(x->value, child(sp, "namespace"))) m.secret_namespace = *v;
              }
            }
            if (find(hfs, "value") != nullptr) {
              error(s->key_node, sp, "give value or secret, not both");
              ok = false;
            }
          }
          if (const Field* mm = find(hfs, "mismatch")) {
            auto s = string_of(mm->value, child(hp, "mismatch"));
            static const std::vector<std::string> kActions = {"LOG", "ADD", "DELETE", "REPLACE"};
            if (s && std::find(kActions.begin(), kActions.end(), *s) == kActions.end()) {
              error(mm->value, child(hp, "mismatch"), "unknown action \"" + *s + "\"",
                    "one of " + join(kActions, ", "));
              ok = false;
            } else if (s) {
              m.mismatch = *s;
            }
          }
          h.header_matches.push_back(std::move(m));
        }
      }
    }
    if (!ok) return std::nullopt;
    return h;
  }

  void decode_icmp_rule(const YAML::Node& n, const std::string& path,
                        std::vector<IcmpField>& out) {
    if (!expect_map(n, path, "an icmps entry")) return;
    auto fs = fields(n, path);
    check_keys(fs, path, {"fields"}, {}, "an icmps entry");
    const Field* f = find(fs, "fields");
    if (f == nullptr) {
      error(n, child(path, "fields"), "missing", "write fields: [{type: 8, family: IPv4}]");
      return;
    }
    std::string p = child(path, "fields");
    if (!expect_seq(f->value, p, "fields")) return;
    if (f->value.size() > kMaxIcmpFields) {
      error(f->value, p, "more than " + std::to_string(kMaxIcmpFields) + " ICMP fields");
    }
    size_t i = 0;
    for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
      std::string ip = index_path(p, i);
      if (!expect_map(*it, ip, "an ICMP field")) continue;
      auto ifs = fields(*it, ip);
      check_keys(ifs, ip, {"family", "type"}, {}, "an ICMP field");
      IcmpField field;
      if (const Field* fam = find(ifs, "family")) {
        auto s = string_of(fam->value, child(ip, "family"));
        if (s && *s == "IPv6") {
          field.family = 6;
        } else if (s && *s != "IPv4") {
          error(fam->value, child(ip, "family"), "unknown family \"" + *s + "\"",
                "IPv4 or IPv6");
          continue;
        }
      }
      const Field* type = find(ifs, "type");
      if (type == nullptr) {
        error(*it, child(ip, "type"), "missing", "a number (8) or a name (EchoRequest)");
        continue;
      }
      std::string tp = child(ip, "type");
      if (!type->value.IsScalar()) {
        error(type->value, tp, "must be a number or a name, not " + type_name(type->value));
        continue;
      }
      const std::string& s = type->value.Scalar();
      if (all_digits(s)) {
        auto v = parse_int(s);
        if (!v || *v > 255) {
          error(type->value, tp, "ICMP type " + s + " is out of range (0-255)");
          continue;
        }
        field.type = static_cast<uint8_t>(*v);
      } else if (auto t = icmp_type_by_name(field.family, s)) {
        field.type = *t;
      } else {
        auto names = icmp_type_names(field.family);
        auto m = closest_match(s, names);
        error(type->value, tp,
              "unknown ICMPv" + std::to_string(field.family) + " type \"" + s + "\"",
              m ? "did you mean \"" + *m + "\"?" : "valid names: " + join(names, ", "));
        continue;
      }
      if (field.type == 0) {
        warn(type->value, tp,
             "ICMP type 0 cannot be told apart from \"every type\" in axon's policy map, so this "
             "field is not enforced (echo replies to allowed requests pass anyway)",
             "remove it");
        continue;
      }
      out.push_back(field);
    }
  }

  // ---- Kubernetes NetworkPolicy ----------------------------------------

  bool decode_k8s_spec(const YAML::Node& n, Rule& rule) {
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
    check_keys(fs, "spec", known, {"endpointSelector", "ingressDeny", "egressDeny", "enableDefaultDeny"},
               "a NetworkPolicy spec");
    const Field* pod = find(fs, "podSelector");
    if (pod == nullptr) {
      error(n, "spec.podSelector", "missing",
            "write podSelector: {} for every pod in the namespace");
    } else if (auto s = decode_selector(pod->value, "spec.podSelector", Flavor::k8s, "podSelector")) {
      rule.subject = std::move(*s);
      add_requirement(rule.subject, equals(std::string(kSourceK8s), std::string(kNamespaceKey), ns_));
    }
    bool has_egress = find(fs, "egress") != nullptr;
    bool ingress_type = true, egress_type = has_egress;
    if (const Field* t = find(fs, "policyTypes")) {
      ingress_type = egress_type = false;
      auto types = string_list(t->value, "spec.policyTypes");
      for (size_t i = 0; i < types.size(); ++i) {
        if (types[i] == "Ingress") {
          ingress_type = true;
        } else if (types[i] == "Egress") {
          egress_type = true;
        } else {
          error(t->value, index_path("spec.policyTypes", i),
                "unknown policy type \"" + types[i] + "\"", "Ingress or Egress");
        }
      }
    }
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

  std::optional<PeerRule> decode_k8s_element(const YAML::Node& n, const std::string& path,
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
      if (expect_seq(ports->value, p, "ports") && ports->value.size() > 0) {
        PortRule rule;
        size_t i = 0;
        for (auto it = ports->value.begin(); it != ports->value.end(); ++it, ++i) {
          if (auto pp = decode_k8s_port(*it, index_path(p, i))) rule.ports.push_back(*pp);
        }
        el.ports.push_back(std::move(rule));
      }
    }
    if (errors_ != errors_before) return std::nullopt;
    return el;
  }

  void decode_k8s_peer(const YAML::Node& n, const std::string& path, PeerRule& el) {
    if (!expect_map(n, path, "a peer")) return;
    auto fs = fields(n, path);
    check_keys(fs, path, {"podSelector", "namespaceSelector", "ipBlock"}, {}, "a peer");
    const Field* pod = find(fs, "podSelector");
    const Field* nsel = find(fs, "namespaceSelector");
    const Field* ip = find(fs, "ipBlock");
    if (ip != nullptr) {
      if (pod != nullptr || nsel != nullptr) {
        error(ip->key_node, child(path, "ipBlock"),
              "ipBlock cannot be combined with podSelector or namespaceSelector in one peer",
              "write them as separate peers");
        return;
      }
      std::string p = child(path, "ipBlock");
      if (auto c = decode_cidr_set(ip->value, p)) el.cidrs.push_back(std::move(*c));
      return;
    }
    if (pod == nullptr && nsel == nullptr) {
      error(n, path, "a peer needs podSelector, namespaceSelector or ipBlock");
      return;
    }
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

  std::optional<PortProtocol> decode_k8s_port(const YAML::Node& n, const std::string& path) {
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

}  // namespace

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
