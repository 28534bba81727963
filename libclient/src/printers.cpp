#include "axon/client/printers.h"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <map>

#include "axon/base/strings.h"

namespace axon::client {
namespace {

using std::chrono::duration_cast;
using std::chrono::seconds;

constexpr const char* kNone = "<none>";

// The value at a path of keys, or nullptr.
const Json* at(const Json& j, std::initializer_list<const char*> path) {
  const Json* cur = &j;
  for (const char* k : path) {
    if (!cur->is_object() || !cur->contains(k)) return nullptr;
    cur = &(*cur)[k];
  }
  return cur;
}

std::string str(const Json& j, std::initializer_list<const char*> path, std::string dflt = "") {
  const Json* v = at(j, path);
  if (v == nullptr || v->is_null()) return dflt;
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

int64_t num(const Json& j, std::initializer_list<const char*> path, int64_t dflt = 0) {
  const Json* v = at(j, path);
  return v != nullptr && v->is_number() ? v->get<int64_t>() : dflt;
}

const Json& arr(const Json& j, std::initializer_list<const char*> path) {
  static const Json empty = Json::array();
  const Json* v = at(j, path);
  return v != nullptr && v->is_array() ? *v : empty;
}

// "a=b,c=d" of a string map (labels, selectors), "" when empty.
std::string pairs(const Json* m) {
  if (m == nullptr || !m->is_object()) return "";
  std::vector<std::string> out;
  for (const auto& [k, v] : m->items())
    out.push_back(k + "=" + (v.is_string() ? v.get<std::string>() : v.dump()));
  return join(out, ",");
}

std::string or_none(const std::string& s) {
  return s.empty() ? kNone : s;
}

// The status of the condition of `type` in status.conditions, "" if absent.
std::string condition(const Json& o, const std::string& type, const char* field = "status") {
  for (const auto& c : arr(o, {"status", "conditions"})) {
    if (c.is_object() && c.value("type", "") == type) return str(c, {field});
  }
  return "";
}

std::string ago(SystemTime then, SystemTime now) {
  return human_duration(duration_cast<seconds>(now - then));
}

// Containers, images of a pod template (wide columns of workloads).
std::pair<std::string, std::string> containers_images(const Json& pod_spec) {
  std::vector<std::string> names, images;
  for (const auto& c : arr(pod_spec, {"containers"})) {
    names.push_back(str(c, {"name"}));
    images.push_back(str(c, {"image"}));
  }
  return {join(names, ","), join(images, ",")};
}

std::string selector_text(const Json& o) {
  const Json* sel = at(o, {"spec", "selector"});
  if (sel == nullptr) return kNone;
  std::vector<std::string> parts;
  if (const Json* ml = at(*sel, {"matchLabels"})) {
    std::string p = pairs(ml);
    if (!p.empty()) parts.push_back(p);
  }
  for (const auto& e : arr(*sel, {"matchExpressions"})) {
    std::string key = str(e, {"key"}), op = str(e, {"operator"});
    std::vector<std::string> values;
    for (const auto& v : arr(e, {"values"}))
      values.push_back(v.is_string() ? v.get<std::string>() : v.dump());
    if (op == "In") parts.push_back(key + " in (" + join(values, ",") + ")");
    if (op == "NotIn") parts.push_back(key + " notin (" + join(values, ",") + ")");
    if (op == "Exists") parts.push_back(key);
    if (op == "DoesNotExist") parts.push_back("!" + key);
  }
  return parts.empty() ? kNone : join(parts, ",");
}

// One kind's columns: header, wide extras, and the cells of one object.
struct Printer {
  std::vector<std::string> columns;       // after NAME
  std::vector<std::string> wide_columns;  // appended with -o wide
  std::function<std::vector<std::string>(const Json&, SystemTime, bool wide)> cells;
};

std::vector<std::string> pod_cells(const Json& o, SystemTime now, bool wide) {
  const size_t total = arr(o, {"spec", "containers"}).size();
  size_t ready = 0;
  int64_t restarts = 0;
  std::optional<SystemTime> last_restart;
  auto note_restart = [&](const Json& cs) {
    restarts += num(cs, {"restartCount"});
    if (auto t = parse_rfc3339(str(cs, {"lastState", "terminated", "finishedAt"}))) {
      if (!last_restart || *t > *last_restart) last_restart = t;
    }
  };
  std::string reason = str(o, {"status", "phase"}, "Pending");
  if (!str(o, {"status", "reason"}).empty()) reason = str(o, {"status", "reason"});

  bool initializing = false;
  const auto& inits = arr(o, {"status", "initContainerStatuses"});
  const size_t init_total = arr(o, {"spec", "initContainers"}).size();
  for (size_t i = 0; i < inits.size(); ++i) {
    const Json& cs = inits[i];
    note_restart(cs);
    const Json* term = at(cs, {"state", "terminated"});
    const Json* wait = at(cs, {"state", "waiting"});
    if (term != nullptr && num(*term, {"exitCode"}) == 0) continue;
    if (term != nullptr) {
      std::string r = str(*term, {"reason"});
      if (r.empty()) {
        r = num(*term, {"signal"}) != 0 ? "Signal:" + std::to_string(num(*term, {"signal"}))
                                        : "ExitCode:" + std::to_string(num(*term, {"exitCode"}));
      }
      reason = "Init:" + r;
    } else if (wait != nullptr && !str(*wait, {"reason"}).empty() &&
               str(*wait, {"reason"}) != "PodInitializing") {
      reason = "Init:" + str(*wait, {"reason"});
    } else {
      reason = "Init:" + std::to_string(i) + "/" + std::to_string(init_total);
    }
    initializing = true;
    break;
  }
  if (!initializing) {
    restarts = 0;
    last_restart.reset();
    bool running = false;
    const auto& statuses = arr(o, {"status", "containerStatuses"});
    for (auto it = statuses.rbegin(); it != statuses.rend(); ++it) {
      const Json& cs = *it;
      note_restart(cs);
      const Json* term = at(cs, {"state", "terminated"});
      const Json* wait = at(cs, {"state", "waiting"});
      if (wait != nullptr && !str(*wait, {"reason"}).empty()) {
        reason = str(*wait, {"reason"});
      } else if (term != nullptr && !str(*term, {"reason"}).empty()) {
        reason = str(*term, {"reason"});
      } else if (term != nullptr) {
        reason = num(*term, {"signal"}) != 0
                     ? "Signal:" + std::to_string(num(*term, {"signal"}))
                     : "ExitCode:" + std::to_string(num(*term, {"exitCode"}));
      } else if (cs.value("ready", false) && at(cs, {"state", "running"}) != nullptr) {
        running = true;
        ++ready;
      }
    }
    if (reason == "Completed" && running) {
      reason = condition(o, "Ready") == "True" ? "Running" : "NotReady";
    }
  }
  if (at(o, {"metadata", "deletionTimestamp"}) != nullptr) {
    reason = str(o, {"status", "reason"}) == "NodeLost" ? "Unknown" : "Terminating";
  }
  std::string restart_text = std::to_string(restarts);
  if (restarts > 0 && last_restart) restart_text += " (" + ago(*last_restart, now) + " ago)";
  std::vector<std::string> cells = {std::to_string(ready) + "/" + std::to_string(total), reason,
                                    restart_text, object_age(o, now)};
  if (wide) {
    const auto& gates = arr(o, {"spec", "readinessGates"});
    std::string gates_text = kNone;
    if (!gates.empty()) {
      size_t true_gates = 0;
      for (const auto& g : gates) {
        if (condition(o, str(g, {"conditionType"})) == "True") ++true_gates;
      }
      gates_text = std::to_string(true_gates) + "/" + std::to_string(gates.size());
    }
    cells.push_back(or_none(str(o, {"status", "podIP"})));
    cells.push_back(or_none(str(o, {"spec", "nodeName"})));
    cells.push_back(or_none(str(o, {"status", "nominatedNodeName"})));
    cells.push_back(gates_text);
  }
  return cells;
}

std::string service_external_ip(const Json& o) {
  const std::string type = str(o, {"spec", "type"}, "ClusterIP");
  std::vector<std::string> ips;
  for (const auto& ip : arr(o, {"spec", "externalIPs"})) ips.push_back(ip.get<std::string>());
  if (type == "ExternalName") return str(o, {"spec", "externalName"});
  if (type == "LoadBalancer") {
    std::vector<std::string> lb;
    for (const auto& ing : arr(o, {"status", "loadBalancer", "ingress"})) {
      if (!str(ing, {"ip"}).empty())
        lb.push_back(str(ing, {"ip"}));
      else if (!str(ing, {"hostname"}).empty())
        lb.push_back(str(ing, {"hostname"}));
    }
    lb.insert(lb.end(), ips.begin(), ips.end());
    return lb.empty() ? "<pending>" : join(lb, ",");
  }
  return ips.empty() ? kNone : join(ips, ",");
}

std::string service_ports(const Json& o) {
  std::vector<std::string> out;
  for (const auto& p : arr(o, {"spec", "ports"})) {
    std::string proto = str(p, {"protocol"}, "TCP");
    int64_t node_port = num(p, {"nodePort"});
    std::string s = std::to_string(num(p, {"port"}));
    if (node_port != 0) s += ":" + std::to_string(node_port);
    out.push_back(s + "/" + proto);
  }
  return out.empty() ? kNone : join(out, ",");
}

// "10.0.0.1,10.0.0.2,10.0.0.3 + 2 more..." as kubectl shortens lists.
std::string first_three(const std::vector<std::string>& items, const std::string& empty) {
  if (items.empty()) return empty;
  std::vector<std::string> shown(items.begin(), items.begin() + std::min<size_t>(3, items.size()));
  std::string s = join(shown, ",");
  if (items.size() > 3) s += " + " + std::to_string(items.size() - 3) + " more...";
  return s;
}

// kubectl shows an array column of a CRD as JSON: ["api.example.com"].
std::string json_list(const Json* v) {
  if (v == nullptr || v->is_null()) return "";
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

const std::map<std::string, Printer>& printers() {
  static const std::map<std::string, Printer> p = {
      {"Pod",
       {{"READY", "STATUS", "RESTARTS", "AGE"},
        {"IP", "NODE", "NOMINATED NODE", "READINESS GATES"},
        pod_cells}},
      {"Service",
       {{"TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"},
        {"SELECTOR"},
        [](const Json& o, SystemTime now, bool wide) {
          std::vector<std::string> c = {
              str(o, {"spec", "type"}, "ClusterIP"), or_none(str(o, {"spec", "clusterIP"})),
              service_external_ip(o), service_ports(o), object_age(o, now)};
          if (wide) c.push_back(or_none(pairs(at(o, {"spec", "selector"}))));
          return c;
        }}},
      {"Deployment",
       {{"READY", "UP-TO-DATE", "AVAILABLE", "AGE"},
        {"CONTAINERS", "IMAGES", "SELECTOR"},
        [](const Json& o, SystemTime now, bool wide) {
          int64_t want = num(o, {"spec", "replicas"}, 1);
          std::vector<std::string> c = {
              std::to_string(num(o, {"status", "readyReplicas"})) + "/" + std::to_string(want),
              std::to_string(num(o, {"status", "updatedReplicas"})),
              std::to_string(num(o, {"status", "availableReplicas"})), object_age(o, now)};
          if (wide) {
            auto [names, images] = containers_images(at(o, {"spec", "template", "spec"}) != nullptr
                                                         ? o["spec"]["template"]["spec"]
                                                         : Json::object());
            c.insert(c.end(), {names, images, selector_text(o)});
          }
          return c;
        }}},
      {"DaemonSet",
       {{"DESIRED", "CURRENT", "READY", "UP-TO-DATE", "AVAILABLE", "NODE SELECTOR", "AGE"},
        {"CONTAINERS", "IMAGES", "SELECTOR"},
        [](const Json& o, SystemTime now, bool wide) {
          auto n = [&](const char* f) { return std::to_string(num(o, {"status", f})); };
          std::vector<std::string> c = {
              n("desiredNumberScheduled"),
              n("currentNumberScheduled"),
              n("numberReady"),
              n("updatedNumberScheduled"),
              n("numberAvailable"),
              or_none(pairs(at(o, {"spec", "template", "spec", "nodeSelector"}))),
              object_age(o, now)};
          if (wide) {
            auto [names, images] = containers_images(at(o, {"spec", "template", "spec"}) != nullptr
                                                         ? o["spec"]["template"]["spec"]
                                                         : Json::object());
            c.insert(c.end(), {names, images, selector_text(o)});
          }
          return c;
        }}},
      {"Node",
       {{"STATUS", "ROLES", "AGE", "VERSION"},
        {"INTERNAL-IP", "EXTERNAL-IP", "OS-IMAGE", "KERNEL-VERSION", "CONTAINER-RUNTIME"},
        [](const Json& o, SystemTime now, bool wide) {
          std::string ready = condition(o, "Ready");
          std::string status = ready == "True" ? "Ready" : ready.empty() ? "Unknown" : "NotReady";
          if (at(o, {"spec", "unschedulable"}) != nullptr && o["spec"]["unschedulable"] == true)
            status += ",SchedulingDisabled";
          std::vector<std::string> roles;
          if (const Json* labels = at(o, {"metadata", "labels"}); labels && labels->is_object()) {
            for (const auto& [k, v] : labels->items()) {
              const std::string prefix = "node-role.kubernetes.io/";
              if (k.starts_with(prefix) && k.size() > prefix.size())
                roles.push_back(k.substr(prefix.size()));
              if (k == "kubernetes.io/role" && v.is_string()) roles.push_back(v.get<std::string>());
            }
          }
          std::sort(roles.begin(), roles.end());
          std::vector<std::string> c = {status, roles.empty() ? kNone : join(roles, ","),
                                        object_age(o, now),
                                        str(o, {"status", "nodeInfo", "kubeletVersion"})};
          if (wide) {
            std::string internal, external;
            for (const auto& a : arr(o, {"status", "addresses"})) {
              if (str(a, {"type"}) == "InternalIP" && internal.empty())
                internal = str(a, {"address"});
              if (str(a, {"type"}) == "ExternalIP" && external.empty())
                external = str(a, {"address"});
            }
            c.insert(c.end(), {or_none(internal), or_none(external),
                               or_none(str(o, {"status", "nodeInfo", "osImage"})),
                               or_none(str(o, {"status", "nodeInfo", "kernelVersion"})),
                               or_none(str(o, {"status", "nodeInfo", "containerRuntimeVersion"}))});
          }
          return c;
        }}},
      {"Namespace",
       {{"STATUS", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{str(o, {"status", "phase"}, "Active"),
                                          object_age(o, now)};
        }}},
      {"ConfigMap",
       {{"DATA", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          size_t n = 0;
          for (const char* f : {"data", "binaryData"}) {
            if (const Json* d = at(o, {f}); d && d->is_object()) n += d->size();
          }
          return std::vector<std::string>{std::to_string(n), object_age(o, now)};
        }}},
      {"Secret",
       {{"TYPE", "DATA", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          size_t n = 0;
          if (const Json* d = at(o, {"data"}); d && d->is_object()) n = d->size();
          return std::vector<std::string>{str(o, {"type"}, "Opaque"), std::to_string(n),
                                          object_age(o, now)};
        }}},
      {"ServiceAccount",
       {{"SECRETS", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{std::to_string(arr(o, {"secrets"}).size()),
                                          object_age(o, now)};
        }}},
      {"Endpoints",
       {{"ENDPOINTS", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          std::vector<std::string> eps;
          for (const auto& s : arr(o, {"subsets"})) {
            for (const auto& a : arr(s, {"addresses"})) {
              const auto& ports = arr(s, {"ports"});
              if (ports.empty()) eps.push_back(str(a, {"ip"}));
              for (const auto& p : ports)
                eps.push_back(str(a, {"ip"}) + ":" + std::to_string(num(p, {"port"})));
            }
          }
          return std::vector<std::string>{first_three(eps, kNone), object_age(o, now)};
        }}},
      {"EndpointSlice",
       {{"ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          std::vector<std::string> ports, addrs;
          for (const auto& p : arr(o, {"ports"})) {
            ports.push_back(at(p, {"port"}) != nullptr && p["port"].is_number()
                                ? std::to_string(num(p, {"port"}))
                                : "<unset>");
          }
          for (const auto& e : arr(o, {"endpoints"})) {
            for (const auto& a : arr(e, {"addresses"})) addrs.push_back(a.get<std::string>());
          }
          return std::vector<std::string>{str(o, {"addressType"}),
                                          ports.empty() ? "<unset>" : join(ports, ","),
                                          first_three(addrs, "<unset>"), object_age(o, now)};
        }}},
      {"NetworkPolicy",
       {{"POD-SELECTOR", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{
              or_none(pairs(at(o, {"spec", "podSelector", "matchLabels"}))), object_age(o, now)};
        }}},
      {"Lease",
       {{"HOLDER", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{str(o, {"spec", "holderIdentity"}), object_age(o, now)};
        }}},
      {"CustomResourceDefinition",
       {{"CREATED AT"},
        {},
        [](const Json& o, SystemTime, bool) {
          return std::vector<std::string>{str(o, {"metadata", "creationTimestamp"})};
        }}},
      {"ClusterRole",
       {{"CREATED AT"},
        {},
        [](const Json& o, SystemTime, bool) {
          return std::vector<std::string>{str(o, {"metadata", "creationTimestamp"})};
        }}},
      {"Role",
       {{"CREATED AT"},
        {},
        [](const Json& o, SystemTime, bool) {
          return std::vector<std::string>{str(o, {"metadata", "creationTimestamp"})};
        }}},
      {"ClusterRoleBinding",
       {{"ROLE", "AGE"},
        {"USERS", "GROUPS", "SERVICEACCOUNTS"},
        [](const Json& o, SystemTime now, bool wide) {
          std::vector<std::string> c = {
              str(o, {"roleRef", "kind"}) + "/" + str(o, {"roleRef", "name"}), object_age(o, now)};
          if (wide) {
            std::vector<std::string> users, groups, sas;
            for (const auto& s : arr(o, {"subjects"})) {
              std::string k = str(s, {"kind"});
              if (k == "User") users.push_back(str(s, {"name"}));
              if (k == "Group") groups.push_back(str(s, {"name"}));
              if (k == "ServiceAccount")
                sas.push_back(str(s, {"namespace"}) + "/" + str(s, {"name"}));
            }
            c.insert(c.end(), {join(users, ", "), join(groups, ", "), join(sas, ", ")});
          }
          return c;
        }}},
      {"RoleBinding",
       {{"ROLE", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{
              str(o, {"roleRef", "kind"}) + "/" + str(o, {"roleRef", "name"}), object_age(o, now)};
        }}},
      // Cilium's CRDs: their additionalPrinterColumns.
      {"CiliumNetworkPolicy",
       {{"AGE", "VALID"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{object_age(o, now), condition(o, "Valid")};
        }}},
      {"CiliumClusterwideNetworkPolicy",
       {{"AGE", "VALID"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{object_age(o, now), condition(o, "Valid")};
        }}},
      {"CiliumLoadBalancerIPPool",
       {{"DISABLED", "CONFLICTING", "IPS AVAILABLE", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          const Json* d = at(o, {"spec", "disabled"});
          return std::vector<std::string>{d != nullptr && d->is_boolean() ? d->dump() : "false",
                                          condition(o, "cilium.io/PoolConflict"),
                                          condition(o, "cilium.io/IPsAvailable", "message"),
                                          object_age(o, now)};
        }}},
      {"CiliumIdentity",
       {{"NAMESPACE", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          std::string ns;
          if (const Json* l = at(o, {"metadata", "labels"});
              l && l->is_object() && l->contains("io.kubernetes.pod.namespace"))
            ns = (*l)["io.kubernetes.pod.namespace"].get<std::string>();
          return std::vector<std::string>{ns, object_age(o, now)};
        }}},
      {"CiliumEndpoint",
       {{"SECURITY IDENTITY", "ENDPOINT STATE", "IPV4", "IPV6"},
        {},
        [](const Json& o, SystemTime, bool) {
          const auto& addrs = arr(o, {"status", "networking", "addressing"});
          std::string v4 = addrs.empty() ? "" : str(addrs[0], {"ipv4"});
          std::string v6 = addrs.empty() ? "" : str(addrs[0], {"ipv6"});
          const Json* id = at(o, {"status", "identity", "id"});
          return std::vector<std::string>{
              id != nullptr && !id->is_null()
                  ? (id->is_string() ? id->get<std::string>() : id->dump())
                  : "",
              str(o, {"status", "state"}), v4, v6};
        }}},
      {"CiliumNode",
       {{"CILIUMINTERNALIP", "INTERNALIP", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          std::string cilium_ip, internal;
          for (const auto& a : arr(o, {"spec", "addresses"})) {
            if (str(a, {"type"}) == "CiliumInternalIP" && cilium_ip.empty())
              cilium_ip = str(a, {"ip"});
            if (str(a, {"type"}) == "InternalIP" && internal.empty()) internal = str(a, {"ip"});
          }
          return std::vector<std::string>{cilium_ip, internal, object_age(o, now)};
        }}},
      // Gateway API's CRDs.
      {"GatewayClass",
       {{"CONTROLLER", "ACCEPTED", "AGE"},
        {"DESCRIPTION"},
        [](const Json& o, SystemTime now, bool wide) {
          std::vector<std::string> c = {str(o, {"spec", "controllerName"}),
                                        condition(o, "Accepted"), object_age(o, now)};
          if (wide) c.push_back(str(o, {"spec", "description"}));
          return c;
        }}},
      {"Gateway",
       {{"CLASS", "ADDRESS", "PROGRAMMED", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          std::vector<std::string> addrs;
          for (const auto& a : arr(o, {"status", "addresses"})) addrs.push_back(str(a, {"value"}));
          return std::vector<std::string>{str(o, {"spec", "gatewayClassName"}), join(addrs, ","),
                                          condition(o, "Programmed"), object_age(o, now)};
        }}},
      {"HTTPRoute",
       {{"HOSTNAMES", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{json_list(at(o, {"spec", "hostnames"})),
                                          object_age(o, now)};
        }}},
      {"GRPCRoute",
       {{"HOSTNAMES", "AGE"},
        {},
        [](const Json& o, SystemTime now, bool) {
          return std::vector<std::string>{json_list(at(o, {"spec", "hostnames"})),
                                          object_age(o, now)};
        }}},
  };
  return p;
}

const Printer& default_printer() {
  static const Printer p{{"AGE"}, {}, [](const Json& o, SystemTime now, bool) {
                           return std::vector<std::string>{object_age(o, now)};
                         }};
  return p;
}

}  // namespace

std::string human_duration(std::chrono::seconds d) {
  const int64_t s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 60 * 2) return std::to_string(s) + "s";
  const int64_t minutes = s / 60;
  if (minutes < 10) {
    const int64_t rest = s % 60;
    return std::to_string(minutes) + "m" + (rest == 0 ? "" : std::to_string(rest) + "s");
  }
  if (minutes < 60 * 3) return std::to_string(minutes) + "m";
  const int64_t hours = s / 3600;
  if (hours < 8) {
    const int64_t rest = minutes % 60;
    return std::to_string(hours) + "h" + (rest == 0 ? "" : std::to_string(rest) + "m");
  }
  if (hours < 48) return std::to_string(hours) + "h";
  if (hours < 24 * 8) {
    const int64_t rest = hours % 24;
    return std::to_string(hours / 24) + "d" + (rest == 0 ? "" : std::to_string(rest) + "h");
  }
  if (hours < 24 * 365 * 2) return std::to_string(hours / 24) + "d";
  if (hours < 24 * 365 * 8) {
    const int64_t days = (hours / 24) % 365;
    return std::to_string(hours / 24 / 365) + "y" + (days == 0 ? "" : std::to_string(days) + "d");
  }
  return std::to_string(hours / 24 / 365) + "y";
}

std::optional<SystemTime> parse_rfc3339(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::string rest = text.substr(static_cast<size_t>(consumed));
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    while (i < rest.size() && std::isdigit(static_cast<unsigned char>(rest[i]))) ++i;
    rest = rest.substr(i);
  }
  int64_t offset = 0;
  if (rest == "Z" || rest == "z") {
    offset = 0;
  } else if (rest.size() == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':') {
    int h = 0, m = 0;
    if (std::sscanf(rest.c_str() + 1, "%2d:%2d", &h, &m) != 2) return std::nullopt;
    offset = (rest[0] == '+' ? 1 : -1) * (h * 3600 + m * 60);
  } else {
    return std::nullopt;
  }
  const time_t t = timegm(&tm);
  return std::chrono::system_clock::from_time_t(t) - std::chrono::seconds(offset);
}

std::string object_age(const Json& object, SystemTime now) {
  auto t = parse_rfc3339(str(object, {"metadata", "creationTimestamp"}));
  if (!t) return "<unknown>";
  return ago(*t, now);
}

TableData object_table(const ResourceInfo& resource, const std::vector<Json>& objects,
                       const TableOptions& options) {
  auto it = printers().find(resource.kind);
  const Printer& p = it == printers().end() ? default_printer() : it->second;
  TableData t;
  if (options.namespace_column) t.header.push_back("NAMESPACE");
  t.header.push_back("NAME");
  t.header.insert(t.header.end(), p.columns.begin(), p.columns.end());
  if (options.wide) t.header.insert(t.header.end(), p.wide_columns.begin(), p.wide_columns.end());
  if (options.show_labels) t.header.push_back("LABELS");
  for (const auto& o : objects) {
    std::vector<std::string> row;
    if (options.namespace_column) row.push_back(str(o, {"metadata", "namespace"}));
    std::string name = str(o, {"metadata", "name"});
    row.push_back(options.kind_prefix ? resource.qualified_singular() + "/" + name : name);
    auto cells = p.cells(o, options.now, options.wide);
    row.insert(row.end(), cells.begin(), cells.end());
    if (options.show_labels) row.push_back(or_none(pairs(at(o, {"metadata", "labels"}))));
    t.rows.push_back(std::move(row));
  }
  return t;
}

Json list_document(const std::vector<Json>& items) {
  Json list = Json::object();
  list["apiVersion"] = "v1";
  list["items"] = Json::array();
  for (const auto& i : items) list["items"].push_back(i);
  list["kind"] = "List";
  list["metadata"] = {{"resourceVersion", ""}};
  return list;
}

std::string no_resources_message(const ResourceInfo& resource, const std::string& ns,
                                 bool all_namespaces) {
  if (!resource.namespaced || all_namespaces) return "No resources found";
  return "No resources found in " + ns + " namespace.";
}

}  // namespace axon::client
