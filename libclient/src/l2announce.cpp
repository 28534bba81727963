#include "axon/client/l2announce.h"

#include <algorithm>
#include <regex>
#include <set>

#include "axon/client/conditions.h"
#include "axon/client/selectors.h"

namespace axon::client {
namespace {

constexpr const char* kBadServiceSelector = "io.cilium/bad-service-selector";
constexpr const char* kBadNodeSelector = "io.cilium/bad-node-selector";
constexpr const char* kBadInterfaceRegex = "io.cilium/bad-interface-regex";

struct Policy {
  std::string name;
  Json service_selector, node_selector;  // null: everything
  std::vector<std::regex> interfaces;    // empty: every device
  bool lb_ips = false, external_ips = false;
  bool bad = false;
};

Policy parse_policy(const Json& p, std::vector<L2Condition>& conditions) {
  Policy out;
  out.name = member(p, "metadata").value("name", "");
  const Json& spec = member(p, "spec");
  out.service_selector = member(spec, "serviceSelector");
  out.node_selector = member(spec, "nodeSelector");
  for (auto [sel, type] : {std::pair{&out.service_selector, kBadServiceSelector},
                           std::pair{&out.node_selector, kBadNodeSelector}}) {
    if (auto problem = label_selector_problem(*sel); !problem.empty()) {
      conditions.push_back({type, problem});
      out.bad = true;
    }
  }
  const Json& ifs = member(spec, "interfaces");
  for (const auto& r : ifs.is_array() ? ifs : Json::array()) {
    const std::string re = r.is_string() ? r.get<std::string>() : r.dump();
    if (auto problem = interface_regex_problem(re); !problem.empty()) {
      conditions.push_back({kBadInterfaceRegex, "\"" + re + "\": " + problem});
      out.bad = true;
      continue;
    }
    out.interfaces.emplace_back(re, std::regex::ECMAScript);
  }
  out.lb_ips = member(spec, "loadBalancerIPs").is_boolean() && member(spec, "loadBalancerIPs").get<bool>();
  out.external_ips = member(spec, "externalIPs").is_boolean() && member(spec, "externalIPs").get<bool>();
  return out;
}

// A Service's labels with Cilium's virtual ones for its name and namespace.
Json service_labels(const Json& svc) {
  const Json& meta = member(svc, "metadata");
  Json labels = member(meta, "labels").is_object() ? member(meta, "labels") : Json::object();
  labels["io.kubernetes.service.name"] = meta.value("name", "");
  labels["io.kubernetes.service.namespace"] = meta.value("namespace", "");
  return labels;
}

std::vector<std::string> strings(const Json& a) {
  std::vector<std::string> out;
  for (const auto& v : a.is_array() ? a : Json::array())
    if (v.is_string() && !v.get<std::string>().empty()) out.push_back(v.get<std::string>());
  return out;
}

// Nodes with a ready endpoint of the Service, from its EndpointSlices.
std::map<std::string, std::set<std::string>> ready_nodes(const std::vector<Json>& slices) {
  std::map<std::string, std::set<std::string>> out;  // "ns/svc" -> nodes
  for (const auto& s : slices) {
    const Json& meta = member(s, "metadata");
    const std::string svc = member(meta, "labels").value("kubernetes.io/service-name", "");
    if (svc.empty()) continue;
    auto& nodes = out[meta.value("namespace", "") + "/" + svc];
    for (const auto& ep : member(s, "endpoints").is_array() ? member(s, "endpoints") : Json::array()) {
      const Json& cond = member(ep, "conditions");
      if (member(cond, "ready").is_boolean() && !member(cond, "ready").get<bool>()) continue;
      if (const std::string n = ep.value("nodeName", ""); !n.empty()) nodes.insert(n);
    }
  }
  return out;
}

}  // namespace

std::string label_selector_problem(const Json& selector) {
  if (selector.is_null()) return "";
  if (!selector.is_object()) return "a selector is an object with matchLabels and matchExpressions";
  for (const auto& [k, v] : selector.items()) {
    if (k != "matchLabels" && k != "matchExpressions") return "unknown field " + k;
  }
  // (member() gives an empty object for an absent key.)
  const Json ml = selector.contains("matchLabels") ? selector["matchLabels"] : Json();
  if (!ml.is_null() && !ml.is_object()) return "matchLabels must be a map of label to value";
  if (ml.is_object()) {
    for (const auto& [k, v] : ml.items())
      if (!v.is_string()) return "matchLabels." + k + " must be a string";
  }
  const Json me = selector.contains("matchExpressions") ? selector["matchExpressions"] : Json();
  if (!me.is_null() && !me.is_array()) return "matchExpressions must be a list";
  for (const auto& e : me.is_array() ? me : Json::array()) {
    const std::string key = e.value("key", ""), op = e.value("operator", "");
    if (key.empty()) return "a matchExpression needs a key";
    const auto values = strings(member(e, "values"));
    if (op == "In" || op == "NotIn") {
      if (values.empty()) return "operator " + op + " of " + key + " needs values";
    } else if (op == "Exists" || op == "DoesNotExist") {
      if (!values.empty()) return "operator " + op + " of " + key + " takes no values";
    } else {
      return "\"" + op + "\" is not an operator (In, NotIn, Exists, DoesNotExist)";
    }
  }
  return "";
}

std::string interface_regex_problem(const std::string& regex) {
  if (regex.empty()) return "empty";
  // ECMAScript reads nearly all of RE2; the constructs RE2 lacks are refused
  // so a regex means the same here as in Cilium.
  for (const char* not_re2 : {"(?=", "(?!", "(?<=", "(?<!"}) {
    if (regex.find(not_re2) != std::string::npos) return "lookaround is not RE2 syntax";
  }
  try {
    std::regex r(regex, std::regex::ECMAScript);
  } catch (const std::regex_error& e) {
    return std::string("not a regular expression: ") + e.what();
  }
  return "";
}

std::string l2_lease_name(const std::string& ns, const std::string& name) {
  return std::string(kL2LeasePrefix) + ns + "-" + name;
}

L2Plan l2_plan(const std::vector<Json>& policies, const std::vector<Json>& services,
               const std::vector<Json>& slices, const std::vector<Json>& nodes,
               const std::vector<std::string>& devices, bool external_ips) {
  L2Plan plan;
  std::vector<Policy> ps;
  for (const auto& p : policies) {
    auto& conditions = plan.policies[member(p, "metadata").value("name", "")];
    Policy parsed = parse_policy(p, conditions);
    if (!parsed.bad) ps.push_back(std::move(parsed));
  }
  const auto ready = ready_nodes(slices);
  for (const auto& svc : services) {
    const Json& meta = member(svc, "metadata");
    const Json& spec = member(svc, "spec");
    const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
    // Cilium announces Services of no loadBalancerClass or its own.
    const Json& cls = member(spec, "loadBalancerClass");
    if (cls.is_string() && !cls.get<std::string>().empty() && cls.get<std::string>() != kL2AnnouncerClass)
      continue;
    std::vector<std::string> lb_ips;
    if (spec.value("type", "") == "LoadBalancer") {
      const Json& ingress = member(member(member(svc, "status"), "loadBalancer"), "ingress");
      for (const auto& i : ingress.is_array() ? ingress : Json::array())
        if (const std::string ip = i.value("ip", ""); !ip.empty()) lb_ips.push_back(ip);
    }
    const auto ext_ips = external_ips ? strings(member(spec, "externalIPs")) : std::vector<std::string>{};
    const Json labels = service_labels(svc);
    const bool local = spec.value("externalTrafficPolicy", "") == "Local";
    L2Service out;
    out.local = local;
    std::set<std::string> ips;
    for (const auto& p : ps) {
      if (!p.lb_ips && !p.external_ips) continue;
      if (!label_selector_matches(p.service_selector, labels)) continue;
      // Selected, and it has addresses of the kinds this policy announces.
      if (!(p.lb_ips && !lb_ips.empty()) && !(p.external_ips && !ext_ips.empty())) continue;
      if (p.lb_ips) ips.insert(lb_ips.begin(), lb_ips.end());
      if (p.external_ips) ips.insert(ext_ips.begin(), ext_ips.end());
      out.policies.push_back(p.name);
      for (const auto& n : nodes) {
        const Json& nmeta = member(n, "metadata");
        const std::string node = nmeta.value("name", "");
        if (!label_selector_matches(p.node_selector, member(nmeta, "labels"))) continue;
        if (local) {
          auto it = ready.find(key);
          if (it == ready.end() || !it->second.count(node)) continue;
        }
        std::vector<std::string> ifs;
        for (const auto& d : devices) {
          const bool any = p.interfaces.empty() ||
                           std::any_of(p.interfaces.begin(), p.interfaces.end(),
                                       [&](const std::regex& r) { return std::regex_search(d, r); });
          if (any) ifs.push_back(d);
        }
        if (ifs.empty()) continue;
        auto& mine = out.candidates[node];
        for (auto& d : ifs)
          if (std::find(mine.begin(), mine.end(), d) == mine.end()) mine.push_back(d);
      }
    }
    if (ips.empty()) continue;
    out.ips.assign(ips.begin(), ips.end());
    plan.services[key] = std::move(out);
  }
  return plan;
}

std::optional<Json> l2_policy_status(const Json& policy, const L2Plan& plan, const std::string& now) {
  const std::string name = member(policy, "metadata").value("name", "");
  auto it = plan.policies.find(name);
  if (it == plan.policies.end()) return std::nullopt;
  const Json old = member(policy, "status").is_object() ? member(policy, "status") : Json::object();
  Json next = old;
  Json conditions = old.contains("conditions") ? old["conditions"] : Json::array();
  for (const char* type : {kBadServiceSelector, kBadNodeSelector, kBadInterfaceRegex}) {
    std::string message;
    for (const auto& c : it->second)
      if (c.type == type) message += (message.empty() ? "" : "; ") + c.message;
    const bool had = std::any_of(conditions.begin(), conditions.end(),
                                 [&](const Json& c) { return c.value("type", "") == type; });
    if (message.empty() && !had) continue;  // never bad: no condition, as Cilium
    conditions = with_condition(conditions,
                                {{"type", type},
                                 {"status", message.empty() ? "False" : "True"},
                                 {"reason", message.empty() ? "resolved" : "error"},
                                 {"message", message}},
                                now);
  }
  if (!conditions.empty() || old.contains("conditions")) next["conditions"] = conditions;
  if (next == old) return std::nullopt;
  return next;
}

}  // namespace axon::client
