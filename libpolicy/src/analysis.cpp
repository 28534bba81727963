// Problems across a set of policies. The main one: an allow that the other
// end's default deny makes unreachable. Traffic passes only if the source's
// egress and the destination's ingress both allow it; with the seed's
// default-deny in both directions, allow-frontend-to-api opens api's
// ingress but nothing opens frontend's egress.
//
// Method: for each allow element that names peers by selector, build
// witness endpoints (label sets that satisfy the rule's endpoint selector
// and the peer selector; for "any namespace", one per namespace the set
// mentions), then trace the element's ports between them. If the
// element's own side allows and the other side denies every probe, warn,
// naming the rule that put the other side in default deny and the rule to
// add.
#include <algorithm>
#include <map>
#include <set>

#include "axon/base/strings.h"
#include "axon/policy/decode.h"
#include "axon/policy/evaluate.h"
#include "internal.h"

namespace axon::policy {
namespace {

constexpr size_t kMaxWitnesses = 8;

// Namespaces the policies speak of.
std::set<std::string> known_namespaces(const std::vector<Policy>& policies) {
  std::set<std::string> out;
  auto from_selector = [&](const Selector& s) {
    for (const auto& r : s.requirements) {
      if (r.key == kNamespaceKey && r.op == Operator::in) out.insert(r.values.begin(), r.values.end());
    }
  };
  for (const auto& p : policies) {
    if (!p.ns.empty()) out.insert(p.ns);
    for (const auto& r : p.rules) {
      from_selector(r.subject);
      for (Section s : {Section::ingress, Section::egress, Section::ingress_deny,
                        Section::egress_deny}) {
        for (const auto& el : section(r, s)) {
          for (const auto& sel : el.endpoints) from_selector(sel);
        }
      }
    }
  }
  return out;
}

// Label sets that satisfy a selector; a missing namespace is filled with
// each known one (pods always have one).
std::vector<LabelSet> witnesses(const Selector& s, const std::set<std::string>& namespaces) {
  std::vector<LabelSet> out(1);
  bool has_ns = false;
  for (const auto& r : s.requirements) {
    std::string source = r.source == kSourceAny ? std::string(kSourceK8s) : r.source;
    std::vector<std::string> values;
    if (r.op == Operator::in) {
      values = r.values;
    } else if (r.op == Operator::exists) {
      if (r.key == kNamespaceKey) {
        values.assign(namespaces.begin(), namespaces.end());
      } else {
        values = {"x"};
      }
    } else {
      continue;  // NotIn, DoesNotExist: hold by leaving the label out
    }
    if (r.key == kNamespaceKey) has_ns = true;
    if (values.empty()) return {};
    std::vector<LabelSet> next;
    for (const auto& w : out) {
      for (const auto& v : values) {
        if (next.size() >= kMaxWitnesses) break;
        LabelSet l = w;
        l.add(Label{source, r.key, v});
        next.push_back(std::move(l));
      }
    }
    out = std::move(next);
  }
  if (!has_ns && !mentions_source(s, kSourceReserved)) {
    std::vector<LabelSet> next;
    for (const auto& w : out) {
      for (const auto& ns : namespaces) {
        if (next.size() >= kMaxWitnesses) break;
        LabelSet l = w;
        l.add(Label{std::string(kSourceK8s), std::string(kNamespaceKey), ns});
        next.push_back(std::move(l));
      }
    }
    out = std::move(next);
  }
  std::vector<LabelSet> valid;
  for (auto& w : out) {
    w = with_namespace_name_label(std::move(w));
    if (matches(s, w)) valid.push_back(std::move(w));
  }
  return valid;
}

// A selector as the YAML a user would write in a fix suggestion; the
// namespace requirement is left out when it is `ns` (implied), or always
// for an endpointSelector (the policy's namespace says it).
YAML::Node selector_yaml(const Selector& s, const std::string& implied_ns, bool drop_namespace) {
  YAML::Node labels(YAML::NodeType::Map);
  YAML::Node exprs(YAML::NodeType::Sequence);
  for (const auto& r : s.requirements) {
    std::string key = r.source == kSourceAny ? r.key : r.source + ":" + r.key;
    if (r.key == kNamespaceKey &&
        (drop_namespace || (r.op == Operator::in && r.values.size() == 1 &&
                            r.values.front() == implied_ns))) {
      continue;
    }
    if (r.op == Operator::in && r.values.size() == 1) {
      labels[key] = r.values.front();
      continue;
    }
    YAML::Node e(YAML::NodeType::Map);
    e["key"] = key;
    e["operator"] = std::string(operator_name(r.op));
    if (!r.values.empty()) {
      YAML::Node vals(YAML::NodeType::Sequence);
      for (const auto& v : r.values) vals.push_back(v);
      e["values"] = vals;
    }
    exprs.push_back(e);
  }
  YAML::Node out(YAML::NodeType::Map);
  if (labels.size() > 0) out["matchLabels"] = labels;
  if (exprs.size() > 0) out["matchExpressions"] = exprs;
  return out;
}

std::string short_labels(const LabelSet& l) {
  std::vector<std::string> parts;
  std::string ns;
  for (const auto& x : l.labels()) {
    if (x.key == kNamespaceKey) {
      ns = x.value;
      continue;
    }
    if (x.key.starts_with(kNamespaceLabelsPrefix)) continue;
    parts.push_back(x.key + "=" + x.value);
  }
  std::string out = parts.empty() ? "pods" : "pods with " + join(parts, ",");
  if (!ns.empty()) out += " in namespace " + ns;
  return out;
}

std::string ns_of(const LabelSet& l) {
  const Label* x = l.first(kSourceAny, kNamespaceKey);
  return x == nullptr ? std::string() : x->value;
}

// Ports to probe for an element: its own, or (any port) every port the
// set mentions plus 80/TCP.
std::vector<Flow> probes(const PeerRule& el, const std::vector<Policy>& policies) {
  std::vector<Flow> out;
  auto add = [&](Flow f) {
    if (std::find(out.begin(), out.end(), f) == out.end()) out.push_back(f);
  };
  auto from_element = [&](const PeerRule& e) {
    for (const auto& pr : e.ports) {
      for (const auto& p : pr.ports) {
        if (!p.name.empty()) continue;
        uint16_t port = p.port == 0 ? 80 : p.port;
        if (p.protocol == Protocol::any) {
          add(Flow{Protocol::tcp, port});
          add(Flow{Protocol::udp, port});
        } else {
          add(Flow{p.protocol, port});
        }
      }
    }
    for (const auto& f : e.icmps) add(Flow{f.family == 6 ? Protocol::icmpv6 : Protocol::icmp, f.type});
  };
  from_element(el);
  if (!out.empty() || !el.ports.empty() || !el.icmps.empty()) return out;
  for (const auto& p : policies) {
    for (const auto& r : p.rules) {
      for (Section s : {Section::ingress, Section::egress}) {
        for (const auto& e : section(r, s)) from_element(e);
      }
    }
  }
  add(Flow{Protocol::tcp, 80});
  return out;
}

Diagnostic problem_at(const Policy& p, const std::string& path, int line = 0) {
  Diagnostic pr;
  pr.severity = Severity::warning;
  pr.location.file = p.source.file;
  pr.document = p.source.document;
  pr.location.line = line > 0 ? line : p.source.line;
  pr.object = describe(p);
  pr.path = path;
  return pr;
}

}  // namespace

std::vector<Diagnostic> check_policy_set(const std::vector<Policy>& policies) {
  std::vector<Diagnostic> out;

  std::map<PolicyKey, const Policy*> seen;
  for (const auto& p : policies) {
    auto [it, fresh] = seen.emplace(key_of(p), &p);
    if (fresh) continue;
    Diagnostic pr = problem_at(p, "metadata.name");
    pr.message = "same kind, namespace and name as " + it->second->source.file + " document " +
                 std::to_string(it->second->source.document) +
                 ": applying both keeps only the last one";
    pr.fix = "rename one of them";
    out.push_back(std::move(pr));
  }

  const auto namespaces = known_namespaces(policies);
  InMemoryIdentityAllocator ids;
  auto peer_of = [&](const LabelSet& labels) {
    auto id = ids.allocate(labels);
    return Peer{id ? *id : Identity{0, labels}, {}};
  };

  for (const auto& p : policies) {
    for (const auto& rule : p.rules) {
      if (rule.host) continue;
      const auto subjects = witnesses(rule.subject, namespaces);
      for (Section sec : {Section::ingress, Section::egress}) {
        const bool ingress = sec == Section::ingress;
        const auto& list = section(rule, sec);
        for (size_t i = 0; i < list.size(); ++i) {
          const PeerRule& el = list[i];
          if (el.endpoints.empty()) continue;
          const auto flows = probes(el, policies);
          bool warned = false;
          for (const auto& sel : el.endpoints) {
            if (warned) break;
            for (const auto& peer_labels : witnesses(sel, namespaces)) {
              if (warned) break;
              for (const auto& subject_labels : subjects) {
                Peer subject = peer_of(subject_labels);
                Peer peer = peer_of(peer_labels);
                const Peer& src = ingress ? peer : subject;
                const Peer& dst = ingress ? subject : peer;
                bool any_passes = false, own_allows = false;
                const DirectionVerdict* blocking = nullptr;
                TraceResult last;
                for (const auto& f : flows) {
                  last = trace(policies, src, dst, f);
                  const auto& own = ingress ? last.ingress : last.egress;
                  const auto& other = ingress ? last.egress : last.ingress;
                  if (own.allowed) own_allows = true;
                  if (own.allowed && other.allowed) any_passes = true;
                }
                if (any_passes || !own_allows) continue;
                blocking = ingress ? &last.egress : &last.ingress;
                if (!blocking->decided_by.empty()) {
                  // Denied by an explicit deny rule on the other side.
                  Diagnostic pr = problem_at(p, field_path(RuleOrigin{p.kind, p.ns, p.name, rule.path, sec,
                                                                   static_cast<int>(i)}), el.line);
                  pr.message = "allows " + short_labels(src.identity.labels) + " to reach " +
                               short_labels(dst.identity.labels) + ", but " +
                               to_string(blocking->decided_by.front()) +
                               " denies it on the " + (ingress ? "egress" : "ingress") +
                               " side, and deny wins";
                  out.push_back(std::move(pr));
                  warned = true;
                  break;
                }
                if (!blocking->enforced) continue;
                std::vector<std::string> by;
                for (const auto& o : blocking->default_deny_by) by.push_back(to_string(o));
                // The rule that is missing, on the other end.
                const LabelSet& other_labels = ingress ? src.identity.labels : dst.identity.labels;
                // The other end is the peer; it must name this rule's endpoints.
                std::string other_ns = ns_of(other_labels);
                YAML::Node suggestion(YAML::NodeType::Map);
                suggestion["endpointSelector"] = selector_yaml(sel, other_ns, true);
                YAML::Node elem(YAML::NodeType::Map);
                YAML::Node peers(YAML::NodeType::Sequence);
                peers.push_back(selector_yaml(rule.subject, other_ns, false));
                elem[ingress ? "toEndpoints" : "fromEndpoints"] = peers;
                if (!el.ports.empty()) {
                  YAML::Node ports(YAML::NodeType::Sequence);
                  for (const auto& pr : el.ports) {
                    YAML::Node pr_node(YAML::NodeType::Map);
                    YAML::Node list_node(YAML::NodeType::Sequence);
                    for (const auto& pp : pr.ports) {
                      YAML::Node x(YAML::NodeType::Map);
                      x["port"] = quoted(pp.name.empty() ? std::to_string(pp.port) : pp.name);
                      if (pp.end_port != 0) x["endPort"] = std::to_string(pp.end_port);
                      x["protocol"] = std::string(protocol_name(pp.protocol));
                      list_node.push_back(x);
                    }
                    pr_node["ports"] = list_node;
                    ports.push_back(pr_node);
                  }
                  elem["toPorts"] = ports;
                }
                YAML::Node sect(YAML::NodeType::Sequence);
                sect.push_back(elem);
                suggestion[ingress ? "egress" : "ingress"] = sect;

                Diagnostic pr = problem_at(
                    p, field_path(RuleOrigin{p.kind, p.ns, p.name, rule.path, sec, static_cast<int>(i)}),
                    el.line);
                std::string other_dir = ingress ? "egress" : "ingress";
                pr.message = "allows " + short_labels(src.identity.labels) + " to reach " +
                             short_labels(dst.identity.labels) + ", but the " +
                             (ingress ? "sources'" : "destinations'") + " " + other_dir +
                             " is default-deny (" + join(by, ", ") + ") and no " + other_dir +
                             " rule allows this traffic, so it is still dropped";
                pr.fix = "add an " + other_dir + " rule to the " +
                         (ingress ? "sources" : "destinations") + ", e.g. a CiliumNetworkPolicy" +
                         (other_ns.empty() ? "" : " in namespace " + other_ns) + " with " +
                         emit_flow(suggestion);
                out.push_back(std::move(pr));
                warned = true;
                break;
              }
            }
          }
        }
      }
    }
  }
  return out;
}

}  // namespace axon::policy
