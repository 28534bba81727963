// Gateway API: Gateway, HTTPRoute, GatewayClass.
#include "validation/checker.h"

#include <set>

namespace axon::client::validation {

void check_gateway(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec")) {
    if (spec == nullptr) c.error("spec", "missing: a Gateway needs gatewayClassName and listeners");
    return;
  }
  const Json* cls = field(*spec, "gatewayClassName");
  if (cls == nullptr) {
    c.error("spec.gatewayClassName", "required", "add gatewayClassName: cilium");
  } else {
    c.string(*cls, "spec.gatewayClassName");
  }
  const Json* listeners = field(*spec, "listeners");
  if (listeners == nullptr || (listeners->is_array() && listeners->empty())) {
    c.error("spec.listeners", "required: at least one listener",
            "add listeners: [{name: http, port: 80, protocol: HTTP}]");
    return;
  }
  if (!c.list(*listeners, "spec.listeners")) return;
  std::set<std::string> names;
  for (size_t i = 0; i < listeners->size(); ++i) {
    const Json& l = (*listeners)[i];
    const std::string p = child_path("spec.listeners", i);
    if (!c.object(l, p)) continue;
    if (const Json* n = field(l, "name"); n == nullptr) {
      c.error(p + ".name", "required");
    } else if (c.string(*n, p + ".name") && !names.insert(n->get<std::string>()).second) {
      c.error(p + ".name", "duplicate listener name \"" + n->get<std::string>() + "\"");
    }
    if (const Json* port = field(l, "port")) {
      c.integer(*port, p + ".port", 1, 65535);
    } else {
      c.error(p + ".port", "required");
    }
    if (const Json* proto = field(l, "protocol")) {
      if (c.string(*proto, p + ".protocol") &&
          proto->get<std::string>().find('/') == std::string::npos)
        c.one_of(*proto, p + ".protocol", {"HTTP", "HTTPS", "TLS", "TCP", "UDP"});
    } else {
      c.error(p + ".protocol", "required: HTTP, HTTPS, TLS, TCP or UDP");
    }
  }
}

void check_http_route(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec")) {
    if (spec == nullptr) c.error("spec", "missing: an HTTPRoute needs parentRefs and rules");
    return;
  }
  if (const Json* refs = field(*spec, "parentRefs");
      refs != nullptr && c.list(*refs, "spec.parentRefs")) {
    for (size_t i = 0; i < refs->size(); ++i) {
      const std::string p = child_path("spec.parentRefs", i);
      if (!c.object((*refs)[i], p)) continue;
      if (field((*refs)[i], "name") == nullptr)
        c.error(p + ".name", "required: the Gateway's name");
      if (const Json* port = field((*refs)[i], "port")) c.integer(*port, p + ".port", 1, 65535);
    }
  }
  if (const Json* hosts = field(*spec, "hostnames");
      hosts != nullptr && c.list(*hosts, "spec.hostnames")) {
    for (size_t i = 0; i < hosts->size(); ++i)
      c.string((*hosts)[i], child_path("spec.hostnames", i));
  }
  const Json* rules = field(*spec, "rules");
  if (rules == nullptr || !c.list(*rules, "spec.rules")) return;
  for (size_t i = 0; i < rules->size(); ++i) {
    const Json& rule = (*rules)[i];
    const std::string rp = child_path("spec.rules", i);
    if (!c.object(rule, rp)) continue;
    if (const Json* matches = field(rule, "matches");
        matches != nullptr && c.list(*matches, rp + ".matches")) {
      for (size_t j = 0; j < matches->size(); ++j) {
        const std::string mp = child_path(rp + ".matches", j);
        const Json* path = field((*matches)[j], "path");
        if (path == nullptr || !c.object(*path, mp + ".path")) continue;
        if (const Json* t = field(*path, "type"))
          c.one_of(*t, mp + ".path.type", {"Exact", "PathPrefix", "RegularExpression"});
        if (const Json* v = field(*path, "value");
            v != nullptr && c.string(*v, mp + ".path.value")) {
          if (!v->get<std::string>().starts_with("/"))
            c.error(mp + ".path.value", "must start with \"/\"",
                    "write value: /" + v->get<std::string>());
        }
      }
    }
    if (const Json* backends = field(rule, "backendRefs");
        backends != nullptr && c.list(*backends, rp + ".backendRefs")) {
      for (size_t j = 0; j < backends->size(); ++j) {
        const std::string bp = child_path(rp + ".backendRefs", j);
        if (!c.object((*backends)[j], bp)) continue;
        if (field((*backends)[j], "name") == nullptr)
          c.error(bp + ".name", "required: the Service");
        const Json* kind = field((*backends)[j], "kind");
        bool service =
            kind == nullptr || (kind->is_string() && kind->get<std::string>() == "Service");
        if (const Json* port = field((*backends)[j], "port")) {
          c.integer(*port, bp + ".port", 1, 65535);
        } else if (service) {
          c.error(bp + ".port", "required when the backend is a Service",
                  "add port: (the Service's port)");
        }
      }
    }
  }
}

void check_gateway_class(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec") || field(*spec, "controllerName") == nullptr) {
    c.error("spec.controllerName", "required", "add controllerName: io.cilium/gateway-controller");
  }
}

}  // namespace axon::client::validation
