// Services, Pods and workloads (Deployment, DaemonSet, ...), ConfigMaps and Secrets.
#include "axon/client/selectors.h"
#include "validation/checker.h"

#include <algorithm>
#include <set>

namespace axon::client::validation {

// ---------------------------------------------------------------------------
// Kinds

const std::vector<std::string> kProtocols = {"TCP", "UDP", "SCTP"};

// A port name as Kubernetes allows it (IANA_SVC_NAME): 1-15 lowercase
// letters, digits and '-', at least one letter, no '--', no '-' at the ends.
bool valid_port_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-' ||
      s.find("--") != std::string::npos)
    return false;
  bool letter = false;
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') return false;
    letter = letter || (c >= 'a' && c <= 'z');
  }
  return letter;
}

void check_target_port(Checker& c, const Json& v, const std::string& path) {
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    bool digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
      return std::isdigit(static_cast<unsigned char>(ch));
    });
    if (digits) {
      c.error(path,
              "the string " + shown(v) +
                  " names a container port; a number must be written "
                  "without quotes",
              "write targetPort: " + s);
    } else if (!valid_port_name(s)) {
      c.error(path, "invalid port name " + shown(v) +
                        ": 1-15 lowercase letters, digits and '-', with at least one letter");
    }
    return;
  }
  c.integer(v, path, 1, 65535);
}

void check_service(Checker& c, const ManifestObject& m) {
  const Json& o = m.object;
  const Json* spec = field(o, "spec");
  if (spec == nullptr) {
    c.error("spec", "missing: a Service needs spec.ports (and usually spec.selector)");
    return;
  }
  if (!c.object(*spec, "spec")) return;
  c.known_keys(*spec, "spec",
               {"ports",
                "selector",
                "clusterIP",
                "clusterIPs",
                "type",
                "externalIPs",
                "sessionAffinity",
                "loadBalancerIP",
                "loadBalancerSourceRanges",
                "externalName",
                "externalTrafficPolicy",
                "healthCheckNodePort",
                "publishNotReadyAddresses",
                "sessionAffinityConfig",
                "ipFamilies",
                "ipFamilyPolicy",
                "allocateLoadBalancerNodePorts",
                "loadBalancerClass",
                "internalTrafficPolicy",
                "trafficDistribution"});
  std::string type = "ClusterIP";
  if (const Json* t = field(*spec, "type")) {
    if (c.one_of(*t, "spec.type", {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}))
      type = t->get<std::string>();
  }
  if (type == "ExternalName") {
    const Json* en = field(*spec, "externalName");
    if (en == nullptr || !en->is_string() || en->get<std::string>().empty())
      c.error("spec.externalName", "required when type is ExternalName",
              "set externalName: to the DNS name the Service stands for");
  }
  if (const Json* r = field(*spec, "loadBalancerSourceRanges");
      r != nullptr && r->is_array() && !r->empty()) {
    c.warning("spec.loadBalancerSourceRanges",
              "not enforced by axon yet: to fail closed, the LoadBalancer IPs of this Service are "
              "served to the cluster's pods only, not from outside (axon status says so)",
              "remove loadBalancerSourceRanges to serve the LoadBalancer IPs from outside, or "
              "filter clients with a CiliumNetworkPolicy (fromCIDR) on the backends");
  }
  bool headless = false;
  if (const Json* ip = field(*spec, "clusterIP");
      ip != nullptr && c.string(*ip, "spec.clusterIP")) {
    const auto s = ip->get<std::string>();
    headless = s == "None";
    if (!s.empty() && !headless && !parse_ip(s))
      c.error("spec.clusterIP", "\"" + s + "\" is not an IP address (or \"None\" for headless)");
  }
  if (const Json* sel = field(*spec, "selector"); sel != nullptr && !sel->is_null())
    c.string_map(*sel, "spec.selector");
  if (const Json* ips = field(*spec, "externalIPs");
      ips != nullptr && c.list(*ips, "spec.externalIPs")) {
    for (size_t i = 0; i < ips->size(); ++i) {
      std::string p = child_path("spec.externalIPs", i);
      if (c.string((*ips)[i], p) && !parse_ip((*ips)[i].get<std::string>()))
        c.error(p, shown((*ips)[i]) + " is not an IP address");
    }
  }
  const Json* ports = field(*spec, "ports");
  if (ports == nullptr || ports->is_null() || (ports->is_array() && ports->empty())) {
    if (type != "ExternalName" && !headless)
      c.error("spec.ports", "required: a Service needs at least one port",
              "add ports: [{port: 80, targetPort: 8080}]");
    return;
  }
  if (!c.list(*ports, "spec.ports")) return;
  std::set<std::string> names, port_protos;
  for (size_t i = 0; i < ports->size(); ++i) {
    const Json& p = (*ports)[i];
    const std::string path = child_path("spec.ports", i);
    if (!c.object(p, path)) continue;
    c.known_keys(p, path, {"name", "protocol", "appProtocol", "port", "targetPort", "nodePort"});
    std::string proto = "TCP";
    if (const Json* pr = field(p, "protocol");
        pr != nullptr && c.one_of(*pr, path + ".protocol", kProtocols))
      proto = pr->get<std::string>();
    if (const Json* port = field(p, "port")) {
      if (c.integer(*port, path + ".port", 1, 65535)) {
        std::string key = std::to_string(port->get<int64_t>()) + "/" + proto;
        if (!port_protos.insert(key).second)
          c.error(path, "duplicate port " + key + ": each port and protocol may appear only once");
      }
    } else {
      c.error(path + ".port", "required: the port the Service listens on", "add port: (1-65535)");
    }
    if (const Json* tp = field(p, "targetPort")) check_target_port(c, *tp, path + ".targetPort");
    if (const Json* np = field(p, "nodePort")) {
      if (c.integer(*np, path + ".nodePort", 1, 65535) && type != "NodePort" &&
          type != "LoadBalancer" && np->get<int64_t>() != 0) {
        c.error(path + ".nodePort", "may not be used when type is " + type,
                "remove nodePort, or set spec.type: NodePort");
      }
    }
    const Json* name = field(p, "name");
    if (name != nullptr && c.string(*name, path + ".name")) {
      const auto n = name->get<std::string>();
      if (auto problem = check_dns1123_label(n); !problem.empty() && !n.empty())
        c.error(path + ".name", "invalid port name \"" + n + "\": " + problem);
      if (!names.insert(n).second) c.error(path + ".name", "duplicate port name \"" + n + "\"");
    } else if (name == nullptr && ports->size() > 1) {
      c.error(path + ".name", "required when a Service has more than one port",
              "give each port a name (http, https, metrics...)");
    }
  }
}

// Containers of a pod spec at `path` ("spec", "spec.template.spec").
void check_pod_spec(Checker& c, const Json* spec, const std::string& path) {
  if (spec == nullptr) {
    c.error(path, "missing: a pod needs " + path + ".containers");
    return;
  }
  if (!c.object(*spec, path)) return;
  const std::string cpath = path + ".containers";
  const Json* containers = field(*spec, "containers");
  if (containers == nullptr || containers->is_null() ||
      (containers->is_array() && containers->empty())) {
    c.error(cpath, "required: at least one container",
            "add containers: [{name: app, image: <image>}] (in the lab, command: [...] works too)");
    return;
  }
  if (!c.list(*containers, cpath)) return;
  std::set<std::string> names;
  for (size_t i = 0; i < containers->size(); ++i) {
    const Json& ct = (*containers)[i];
    const std::string p = child_path(cpath, i);
    if (!c.object(ct, p)) continue;
    const Json* name = field(ct, "name");
    if (name == nullptr || name->is_null()) {
      c.error(p + ".name", "required: every container needs a name", "add name: app");
    } else if (c.string(*name, p + ".name")) {
      const auto n = name->get<std::string>();
      if (auto problem = check_dns1123_label(n); !problem.empty())
        c.error(p + ".name", "invalid container name \"" + n + "\": " + problem,
                "use a name like \"" + suggest_dns_name(n, false) + "\"");
      if (!names.insert(n).second) c.error(p + ".name", "duplicate container name \"" + n + "\"");
    }
    const Json* image = field(ct, "image");
    const Json* command = field(ct, "command");
    if ((image == nullptr || image->is_null()) && (command == nullptr || command->is_null())) {
      c.error(p, "needs an image or a command",
              "set image: (Kubernetes pulls and runs it) or command: [...] (the lab runs it as a "
              "host command)");
    }
    if (image != nullptr && !image->is_null()) c.string(*image, p + ".image");
    for (const char* key : {"command", "args"}) {
      const Json* v = field(ct, key);
      if (v == nullptr || v->is_null()) continue;
      const std::string vp = p + "." + key;
      if (v->is_string()) {
        c.error(vp, "must be a list of words, not one string",
                std::string("write ") + key + ": [\"" + v->get<std::string>() +
                    "\"] split into words, e.g. [\"sleep\", \"3600\"]");
        continue;
      }
      if (!c.list(*v, vp)) continue;
      for (size_t j = 0; j < v->size(); ++j) c.string((*v)[j], child_path(vp, j));
    }
    if (const Json* ports = field(ct, "ports"); ports != nullptr && c.list(*ports, p + ".ports")) {
      for (size_t j = 0; j < ports->size(); ++j) {
        const std::string pp = child_path(p + ".ports", j);
        if (!c.object((*ports)[j], pp)) continue;
        if (const Json* cp = field((*ports)[j], "containerPort")) {
          c.integer(*cp, pp + ".containerPort", 1, 65535);
        } else {
          c.error(pp + ".containerPort", "required", "add containerPort: (1-65535)");
        }
        if (const Json* pr = field((*ports)[j], "protocol"))
          c.one_of(*pr, pp + ".protocol", kProtocols);
      }
    }
    if (const Json* env = field(ct, "env"); env != nullptr && c.list(*env, p + ".env")) {
      for (size_t j = 0; j < env->size(); ++j) {
        const std::string ep = child_path(p + ".env", j);
        if (!c.object((*env)[j], ep)) continue;
        const Json* n = field((*env)[j], "name");
        if (n == nullptr) {
          c.error(ep + ".name", "required");
        } else {
          c.string(*n, ep + ".name");
        }
        if (const Json* v = field((*env)[j], "value"); v != nullptr && !v->is_null())
          c.string(*v, ep + ".value");
      }
    }
  }
}

void check_workload(Checker& c, const ManifestObject& m) {
  const Json& o = m.object;
  const std::string kind = o.value("kind", "");
  const Json* spec = field(o, "spec");
  if (spec == nullptr) {
    c.error("spec", "missing: a " + kind + " needs spec.selector and spec.template");
    return;
  }
  if (!c.object(*spec, "spec")) return;
  if (kind == "Deployment") {
    if (const Json* r = field(*spec, "replicas")) c.integer(*r, "spec.replicas", 0, 1 << 30);
  }
  const Json* tmpl = field(*spec, "template");
  const Json* tmpl_labels = nullptr;
  if (tmpl == nullptr) {
    c.error("spec.template", "required: the pod template (metadata.labels and spec.containers)");
  } else if (c.object(*tmpl, "spec.template")) {
    const Json* tmeta = field(*tmpl, "metadata");
    if (tmeta != nullptr && c.object(*tmeta, "spec.template.metadata")) {
      tmpl_labels = field(*tmeta, "labels");
      if (tmpl_labels != nullptr && !c.string_map(*tmpl_labels, "spec.template.metadata.labels"))
        tmpl_labels = nullptr;
    }
    check_pod_spec(c, field(*tmpl, "spec"), "spec.template.spec");
  }
  const Json* sel = field(*spec, "selector");
  if (sel == nullptr || sel->is_null()) {
    c.error("spec.selector", "required: apps/v1 " + kind + "s need a selector",
            "add selector: {matchLabels: {...}} with the labels of spec.template.metadata.labels");
    return;
  }
  if (!c.object(*sel, "spec.selector")) return;
  c.known_keys(*sel, "spec.selector", {"matchLabels", "matchExpressions"});
  const Json* ml = field(*sel, "matchLabels");
  const Json* me = field(*sel, "matchExpressions");
  if (ml != nullptr && !ml->is_null()) c.string_map(*ml, "spec.selector.matchLabels");
  bool empty = (ml == nullptr || (ml->is_object() && ml->empty())) &&
               (me == nullptr || (me->is_array() && me->empty()));
  if (empty) {
    c.error("spec.selector", "empty selector is invalid for a " + kind,
            "select the pods by their labels: matchLabels: {app: <name>}");
    return;
  }
  if (tmpl != nullptr && tmpl->is_object()) {
    std::string miss = client::label_selector_mismatch(*sel, tmpl_labels ? *tmpl_labels : Json::object());
    if (!miss.empty()) {
      c.error("spec.template.metadata.labels", "selector does not match template labels: " + miss,
              "give spec.template.metadata.labels every label of spec.selector.matchLabels");
    }
  }
}

void check_pod(Checker& c, const ManifestObject& m) {
  check_pod_spec(c, field(m.object, "spec"), "spec");
}

void check_config_data(Checker& c, const ManifestObject& m) {
  for (const char* key : {"data", "binaryData", "stringData"}) {
    const Json* d = field(m.object, key);
    if (d == nullptr || d->is_null()) continue;
    if (!c.string_map(*d, key)) continue;
    for (const auto& [k, _] : d->items()) {
      bool ok = !k.empty() && k.size() <= 253 && std::all_of(k.begin(), k.end(), [](char ch) {
        return is_alnum(ch) || ch == '-' || ch == '_' || ch == '.';
      });
      if (!ok)
        c.error(child_path(key, k),
                "invalid key: keys are made of letters, digits, '-', '_' "
                "and '.'");
    }
  }
}

}  // namespace axon::client::validation
