// A rule of a Cilium policy (`spec` or an element of `specs`): the
// endpoints it selects (endpointSelector, or nodeSelector for a host
// policy), which sections it has and whether they put those endpoints into
// default deny (enableDefaultDeny; an empty list enables nothing), its
// description, labels and log.
#include "axon/base/strings.h"
#include "decode/decoder.h"

namespace axon::policy::internal {
namespace {

std::string_view kSourceUnspecified() { return "unspec"; }

// A section with at least one element.
bool written(const SectionFields& secs, Section s) {
  for (const auto& info : secs) {
    if (info.section == s) return info.field != nullptr && !info.empty;
  }
  return false;
}

}  // namespace

bool Decoder::decode_rule(const YAML::Node& n, const std::string& path, Rule& rule) {
  const size_t errors_before = errors_;
  auto fs = fields(n, path);
  static const std::vector<std::string> kKnown = {
      "endpointSelector", "nodeSelector", "ingress",     "ingressDeny", "egress",
      "egressDeny",       "labels",       "description", "enableDefaultDeny", "log"};
  check_keys(fs, path, kKnown, {"podSelector", "policyTypes"}, "a rule");
  decode_subject(n, fs, path, rule);

  SectionFields secs = decode_sections(fs, path, rule);
  DefaultDeny dd = decode_default_deny(fs, path);
  rule.default_deny_ingress =
      dd.ingress.value_or(written(secs, Section::ingress) || written(secs, Section::ingress_deny));
  rule.default_deny_egress =
      dd.egress.value_or(written(secs, Section::egress) || written(secs, Section::egress_deny));
  const Field* types = find(fs, "policyTypes");
  check_empty_sections(n, path, secs, dd, types != nullptr);
  if (find(fs, "endpointSelector") != nullptr) warn_clusterwide_default_deny(path, rule, secs, dd);
  if (types != nullptr) decode_policy_types_in_cilium(n, *types, path, secs);

  if (const Field* d = find(fs, "description")) {
    if (auto s = string_of(d->value, child(path, "description"), false)) rule.description = *s;
  }
  if (const Field* l = find(fs, "labels")) {
    decode_rule_labels(l->value, child(path, "labels"), rule);
  }
  if (const Field* l = find(fs, "log")) decode_rule_log(*l, path);
  return errors_ == errors_before;
}

// endpointSelector (pods) or nodeSelector (nodes); podSelector, the
// NetworkPolicy word, is an error the fix renames.
void Decoder::decode_subject(const YAML::Node& n, const std::vector<Field>& fs,
                             const std::string& path, Rule& rule) {
  const Field* es = find(fs, "endpointSelector");
  const Field* nsel = find(fs, "nodeSelector");
  const Field* pod = find(fs, "podSelector");
  if (!one_of(fs, n, path, {"nodeSelector", "endpointSelector"},
              {.combined =
                   "a rule has either endpointSelector (pods) or nodeSelector (nodes), not both",
               .fix = "write two rules (specs)"})) {
    return;
  }
  if (es != nullptr) {
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
      add_requirement(rule.subject, exists(std::string(kSourceReserved), "host"));
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
}

void Decoder::subject_namespace(Selector& s, const YAML::Node& at, const std::string& path) {
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

// ingress, ingressDeny, egress, egressDeny: their elements into the rule.
// The empty ones are remembered: they enable nothing.
SectionFields Decoder::decode_sections(const std::vector<Field>& fs,
                                                const std::string& path, Rule& rule) {
  SectionFields secs = {{{Section::ingress, "ingress"},
                         {Section::ingress_deny, "ingressDeny"},
                         {Section::egress, "egress"},
                         {Section::egress_deny, "egressDeny"}}};
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
    // The model's section(), of the rule being built.
    auto& list = const_cast<std::vector<PeerRule>&>(section(rule, s.section));
    size_t i = 0;
    for (auto it = v.begin(); it != v.end(); ++it, ++i) {
      if (!visit()) break;
      auto el = decode_element(v, *it, index_path(spath, i), s.section, rule.host);
      if (el) list.push_back(std::move(*el));
    }
  }
  return secs;
}

DefaultDeny Decoder::decode_default_deny(const std::vector<Field>& fs,
                                                  const std::string& path) {
  DefaultDeny dd;
  const Field* f = find(fs, "enableDefaultDeny");
  if (f == nullptr) return dd;
  std::string dpath = child(path, "enableDefaultDeny");
  if (!expect_map(f->value, dpath, "enableDefaultDeny")) return dd;
  auto dfs = fields(f->value, dpath);
  check_keys(dfs, dpath, {"ingress", "egress"}, {}, "enableDefaultDeny");
  if (const Field* d = find(dfs, "ingress")) {
    dd.ingress = bool_of(d->value, child(dpath, "ingress"));
  }
  if (const Field* d = find(dfs, "egress")) {
    dd.egress = bool_of(d->value, child(dpath, "egress"));
  }
  return dd;
}

// Empty lists (the seed's default-deny) enable no default deny: an error
// when nothing else does, a warning that they have no effect otherwise.
void Decoder::check_empty_sections(const YAML::Node& n, const std::string& path,
                                   const SectionFields& secs, const DefaultDeny& dd,
                                   bool policy_types) {
  const bool nothing_else = !written(secs, Section::ingress) && !written(secs, Section::egress) &&
                            !written(secs, Section::ingress_deny) &&
                            !written(secs, Section::egress_deny) && !dd.ingress.value_or(false) &&
                            !dd.egress.value_or(false);
  bool reported_empty = false;
  for (const auto& s : secs) {
    if (!s.empty) continue;
    reported_empty = true;
    std::string spath = child(path, s.key);
    YAML::Node m = n;
    std::string key = s.key;
    Direction d = direction_of(s.section);
    std::string dir(direction_name(d));
    const std::optional<bool>& deny = dd.of(d);
    std::string what = s.field->value.IsNull() ? "no value (null)" : "empty list";
    if (is_deny(s.section)) {
      warn(s.field->value, spath, what + " denies nothing and has no effect", "remove it",
           [m, key]() mutable { m.remove(key); }, spath + ": removed (it had no effect)");
    } else if (deny.has_value() ||
               written(secs, d == Direction::ingress ? Section::ingress_deny
                                                     : Section::egress_deny)) {
      warn(s.field->value, spath,
           what + " has no effect (default deny for " + dir + " comes from " +
               (deny.has_value() ? "enableDefaultDeny." + dir : std::string(s.key) + "Deny") + ")",
           "remove it", [m, key]() mutable { m.remove(key); },
           spath + ": removed (it had no effect)");
    } else {
      std::string blocks = nothing_else ? "this policy blocks nothing"
                                        : "this rule blocks no " + dir + " traffic";
      // As upstream: beside a section that makes the rule meaningful the
      // empty one is accepted (it only enables no default deny): a warning
      // with the same fix; as the rule's only section, an error.
      auto report = [&](auto&&... args) {
        if (nothing_else) error(std::forward<decltype(args)>(args)...);
        else warn(std::forward<decltype(args)>(args)...);
      };
      report(s.field->value, spath, what + " enables no default deny, so " + blocks,
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
  if (nothing_else && !reported_empty && !policy_types) {
    error(n, path,
          "the rule has no ingress, ingressDeny, egress or egressDeny: it selects endpoints "
          "but enforces nothing (newer Cilium rejects it)",
          "add rules, e.g. \"ingress: [{}]\" to deny all ingress");
  }
}

// A cluster-wide rule selecting every endpoint puts every pod of every
// namespace into default deny for the directions it has rules for.
void Decoder::warn_clusterwide_default_deny(const std::string& path, const Rule& rule,
                                            const SectionFields& secs, const DefaultDeny& dd) {
  if (kind_ != PolicyKind::cilium_clusterwide_network_policy || rule.host ||
      !rule.subject.requirements.empty()) {
    return;
  }
  for (const auto& s : secs) {
    if (is_deny(s.section) || s.field == nullptr || s.empty) continue;
    Direction d = direction_of(s.section);
    if (dd.of(d).has_value()) continue;
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

// policyTypes inside a Cilium rule: a NetworkPolicy word. Its meaning
// (default deny in those directions) is `<dir>: [{}]` when the section is
// missing or empty.
void Decoder::decode_policy_types_in_cilium(const YAML::Node& n, const Field& types,
                                            const std::string& path, const SectionFields& secs) {
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

void Decoder::decode_rule_labels(const YAML::Node& n, const std::string& path, Rule& rule) {
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

void Decoder::decode_rule_log(const Field& log, const std::string& path) {
  std::string lpath = child(path, "log");
  if (!expect_map(log.value, lpath, "log")) return;
  auto lfs = fields(log.value, lpath);
  check_keys(lfs, lpath, {"value"}, {}, "log");
  if (const Field* v = find(lfs, "value")) {
    if (auto s = string_of(v->value, child(lpath, "value")); s && s->size() > 32) {
      error(v->value, child(lpath, "value"), "longer than 32 characters");
    }
  }
}

}  // namespace axon::policy::internal
