#include "axon/client/endpointslices.h"

#include <map>

namespace axon::client {
namespace {

bool ready(const Json& pod) {
  for (const auto& c : member(member(pod, "status"), "conditions")) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// The port a Service port's targetPort means on this pod (a number, or a
// container port's name); 0 when the pod has no such named port.
int target_port(const Json& svc_port, const Json& pod) {
  if (!svc_port.contains("targetPort")) return svc_port.value("port", 0);
  const Json& t = svc_port["targetPort"];
  if (t.is_number()) return t.get<int>();
  if (!t.is_string()) return svc_port.value("port", 0);
  const std::string name = t.get<std::string>();
  if (name.find_first_not_of("0123456789") == std::string::npos && !name.empty())
    return std::stoi(name);
  for (const auto& c : member(member(pod, "spec"), "containers")) {
    for (const auto& p : member(c, "ports")) {
      if (p.value("name", "") == name) return p.value("containerPort", 0);
    }
  }
  return 0;
}

}  // namespace

bool map_selector_matches(const Json& selector, const Json& labels) {
  if (!selector.is_object() || selector.empty()) return false;
  for (const auto& [k, v] : selector.items()) {
    const Json& l = member(labels, k);
    if (!l.is_string() || l != v) return false;
  }
  return true;
}

std::vector<Json> desired_endpoint_slices(const std::vector<Json>& services,
                                          const std::vector<Json>& pods) {
  std::vector<Json> out;
  for (const auto& svc : services) {
    const Json& meta = member(svc, "metadata");
    const std::string ns = meta.value("namespace", "default");
    const std::string name = meta.value("name", "");
    const Json& selector = member(member(svc, "spec"), "selector");
    if (!selector.is_object() || selector.empty()) continue;  // endpoints are someone else's
    Json ports = Json::array();
    for (const auto& p : member(member(svc, "spec"), "ports")) {
      ports.push_back(
          {{"name", p.value("name", "")}, {"protocol", p.value("protocol", "TCP")}, {"port", 0}});
    }
    Json endpoints = Json::array();
    for (const auto& pod : pods) {
      const Json& pm = member(pod, "metadata");
      if (pm.value("namespace", "") != ns) continue;
      if (!map_selector_matches(selector, member(pm, "labels"))) continue;
      const std::string ip = member(pod, "status").value("podIP", "");
      if (ip.empty()) continue;
      bool is_ready = ready(pod);
      endpoints.push_back(
          {{"addresses", Json::array({ip})},
           {"conditions", {{"ready", is_ready}, {"serving", is_ready}, {"terminating", false}}},
           {"nodeName", member(pod, "spec").value("nodeName", "")},
           {"targetRef", {{"kind", "Pod"}, {"namespace", ns}, {"name", pm.value("name", "")}}}});
      // Ports: Kubernetes writes one port list per slice; with named
      // targetPorts pods may differ, which we resolve from the first pod.
      size_t i = 0;
      for (const auto& p : member(member(svc, "spec"), "ports")) {
        if (ports[i]["port"] == 0) ports[i]["port"] = target_port(p, pod);
        ++i;
      }
    }
    for (auto& p : ports) {
      if (p["port"] == 0) p.erase("port");
    }
    out.push_back({{"apiVersion", "discovery.k8s.io/v1"},
                   {"kind", "EndpointSlice"},
                   {"metadata",
                    {{"name", name + "-axon"},
                     {"namespace", ns},
                     {"labels",
                      {{"kubernetes.io/service-name", name},
                       {"endpointslice.kubernetes.io/managed-by", "axon-operator"}}}}},
                   {"addressType", "IPv4"},
                   {"endpoints", endpoints},
                   {"ports", ports}});
  }
  return out;
}

}  // namespace axon::client
