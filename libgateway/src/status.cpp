#include "axon/gateway/status.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "axon/base/base64.h"
#include "axon/base/strings.h"
#include "axon/gateway/certificate.h"
#include "axon/gateway/routing.h"
#include "json_util.h"

namespace axon::gateway {
namespace {

using detail::list;
using detail::member;
std::string str(const Json& o, const char* key) { return detail::text(o, key); }

Condition cond(const char* type, bool ok, std::string reason, std::string message = "") {
  return {type, ok ? "True" : "False", std::move(reason), std::move(message)};
}

// matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist) as
// Kubernetes reads them. libclient has the same with explanations, but
// libgateway depends on libbase only. A missing selector selects nothing,
// an empty one everything.
bool selector_matches(const Json& selector, const Json& labels) {
  if (!selector.is_object()) return false;
  auto label = [&](const std::string& key) -> const Json* {
    const Json& v = member(labels, key.c_str());
    return v.is_string() ? &v : nullptr;
  };
  const Json& match = member(selector, "matchLabels");
  if (match.is_object()) {
    for (const auto& [key, want] : match.items()) {
      const Json* have = label(key);
      if (have == nullptr || *have != want) return false;
    }
  }
  for (const auto& e : list(selector, "matchExpressions")) {
    const Json* have = label(str(e, "key"));
    const Json& values = member(e, "values");
    const bool in = have != nullptr && values.is_array() &&
                    std::find(values.begin(), values.end(), *have) != values.end();
    const std::string op = str(e, "operator");
    // NotIn holds for a missing label, as in Kubernetes.
    const bool ok = op == "In"             ? in
                    : op == "NotIn"        ? !in
                    : op == "Exists"       ? have != nullptr
                    : op == "DoesNotExist" ? have == nullptr
                                           : false;
    if (!ok) return false;
  }
  return true;
}

// A Service as the status needs it: ports for backendRefs, the LB address
// for the Gateway it fronts.
struct Svc {
  std::string name;
  std::vector<std::pair<int, std::string>> ports;  // port, protocol
  std::vector<std::string> ips;                    // status.loadBalancer.ingress
};

// The other objects, indexed.
struct Index {
  std::map<std::string, std::map<std::string, Svc>> services;  // by namespace, then name
  std::map<std::string, Json> namespace_labels;
  std::map<std::string, const Json*> secrets;  // namespace/name
  std::vector<ReferenceGrant> grants;

  explicit Index(const GatewayInputs& in) {
    for (const auto& o : in.services) {
      const Json& meta = member(o, "metadata");
      Svc s{str(meta, "name"), {}, {}};
      for (const auto& p : list(member(o, "spec"), "ports")) {
        const Json& port = member(p, "port");
        const std::string proto = str(p, "protocol");
        if (port.is_number_integer())
          s.ports.emplace_back(port.get<int>(), proto.empty() ? "TCP" : proto);
      }
      for (const auto& i : list(member(member(o, "status"), "loadBalancer"), "ingress"))
        if (!str(i, "ip").empty()) s.ips.push_back(str(i, "ip"));
      services[str(meta, "namespace")][s.name] = std::move(s);
    }
    for (const auto& o : in.namespaces) {
      const Json& meta = member(o, "metadata");
      Json labels = member(meta, "labels").is_object() ? member(meta, "labels") : Json::object();
      // The API server sets this label on every namespace; selectors use it.
      labels["kubernetes.io/metadata.name"] = str(meta, "name");
      namespace_labels[str(meta, "name")] = std::move(labels);
    }
    for (const auto& o : in.secrets) {
      const Json& meta = member(o, "metadata");
      secrets[str(meta, "namespace") + "/" + str(meta, "name")] = &o;
    }
    for (const auto& o : in.grants) grants.push_back(parse_reference_grant(o));
  }

  const Svc* service(const std::string& ns, const std::string& name) const {
    auto n = services.find(ns);
    if (n == services.end()) return nullptr;
    auto s = n->second.find(name);
    return s == n->second.end() ? nullptr : &s->second;
  }

  // "api (80/TCP), web (80/TCP, 443/TCP)": what a wrong backendRef could
  // have meant. Empty when the namespace has none.
  std::string listing(const std::string& ns) const {
    std::vector<std::string> out;
    auto n = services.find(ns);
    if (n == services.end()) return "";
    for (const auto& [name, s] : n->second) {
      std::vector<std::string> ports;
      for (const auto& [port, proto] : s.ports) ports.push_back(std::to_string(port) + "/" + proto);
      out.push_back(name + " (" + join(ports, ", ") + ")");
    }
    return join(out, ", ");
  }
};

// Route kinds a listener protocol can carry (all in the Gateway API group).
// HTTP/HTTPS leave GRPCRoute out: it needs HTTP/2.
std::vector<std::string> protocol_kinds(const std::string& protocol) {
  if (protocol == "HTTP" || protocol == "HTTPS") return {"HTTPRoute"};
  if (protocol == "TLS") return {"TLSRoute"};
  if (protocol == "TCP") return {"TCPRoute"};
  return {};
}

const char* kGrpcNeedsHttp2 = "GRPCRoute needs HTTP/2, which axon's proxy does not speak yet";

struct ListenerState {
  Listener spec;
  std::vector<AllowedKind> kinds;  // supported
  Condition accepted, resolved, conflicted;
  int attached = 0;
  bool servable = false;  // accepted, refs resolved, no conflict, Gateway accepted
};

struct GatewayInfo {
  Gateway spec;
  std::vector<ListenerState> listeners;
  std::vector<std::string> addresses;
  Condition accepted;
};

std::string kinds_text(const std::vector<AllowedKind>& kinds) {
  std::vector<std::string> names;
  for (const auto& k : kinds) names.push_back(k.kind);
  return names.empty() ? "no routes" : join(names, ", ");
}

// ResolvedRefs of a listener: its allowedRoutes.kinds, then its certificates.
Condition listener_refs(const Gateway& g, const Listener& l,
                        const std::vector<std::string>& proto_kinds, const Index& idx) {
  for (const auto& k : l.kinds) {
    const bool ok = k.group == kGroup && std::count(proto_kinds.begin(), proto_kinds.end(), k.kind);
    if (ok) continue;
    if (k.kind == "GRPCRoute" && k.group == kGroup)
      return cond("ResolvedRefs", false, "InvalidRouteKinds", kGrpcNeedsHttp2);
    return cond("ResolvedRefs", false, "InvalidRouteKinds",
                "kind " + (k.group == kGroup ? "" : k.group + "/") + k.kind +
                    " is not supported on a " + l.protocol + " listener (it takes " +
                    (proto_kinds.empty() ? std::string("no routes") : join(proto_kinds, ", ")) +
                    ")");
  }
  const bool terminates =
      l.protocol == "HTTPS" || (l.protocol == "TLS" && l.tls_mode == "Terminate");
  if (!terminates) return cond("ResolvedRefs", true, "ResolvedRefs");
  if (l.certificates.empty())
    return cond("ResolvedRefs", false, "InvalidCertificateRef",
                l.protocol + " listeners need tls.certificateRefs (a kubernetes.io/tls Secret)");
  std::vector<int> key_types;
  for (const auto& c : l.certificates) {
    const std::string key = c.ns + "/" + c.name;
    if (!c.group.empty() || c.kind != "Secret")
      return cond("ResolvedRefs", false, "InvalidCertificateRef",
                  "certificateRef " + key + " is a " + c.kind + ", not a core Secret");
    if (!reference_permitted(idx.grants, kGroup, "Gateway", g.ns, c))
      return cond("ResolvedRefs", false, "RefNotPermitted",
                  "Secret " + key + " is in another namespace: a ReferenceGrant in " + c.ns +
                      " must allow Gateways from " + g.ns);
    auto it = idx.secrets.find(key);
    if (it == idx.secrets.end())
      return cond("ResolvedRefs", false, "InvalidCertificateRef", "Secret " + key + " not found");
    const Json& s = *it->second;
    const Json& data = member(s, "data");
    if (str(s, "type") != "kubernetes.io/tls")
      return cond(
          "ResolvedRefs", false, "InvalidCertificateRef",
          "Secret " + key + " is of type \"" + str(s, "type") + "\", not kubernetes.io/tls");
    if (!member(data, "tls.crt").is_string() || !member(data, "tls.key").is_string())
      return cond("ResolvedRefs", false, "InvalidCertificateRef",
                  "Secret " + key + " lacks tls.crt or tls.key");
    // The certificate as the proxies load it: a listener whose certificate
    // they would not serve is not reported as resolved.
    const auto crt = base64_decode(member(data, "tls.crt").get<std::string>());
    const auto tls_key = base64_decode(member(data, "tls.key").get<std::string>());
    if (!crt || !tls_key)
      return cond("ResolvedRefs", false, "InvalidCertificateRef",
                  "Secret " + key + ": tls." + (crt ? "key" : "crt") + " is not base64");
    auto loaded = load_certificate(*crt, *tls_key);
    if (!loaded)
      return cond("ResolvedRefs", false, "InvalidCertificateRef",
                  "Secret " + key + ": " + loaded.error().message);
    if (std::count(key_types.begin(), key_types.end(), loaded->key_type))
      return cond("ResolvedRefs", false, "InvalidCertificateRef",
                  "Secret " + key + " holds a second " + loaded->key_type_name() +
                      " certificate for the listener: one certificate per key type is served (e.g. an "
                      "RSA and an ECDSA one); remove one of the refs");
    key_types.push_back(loaded->key_type);
  }
  return cond("ResolvedRefs", true, "ResolvedRefs");
}

Condition listener_accepted(const Listener& l) {
  if (l.protocol == "UDP")
    return cond("Accepted", false, "UnsupportedProtocol",
                "UDP listeners are not served: axon's gateway proxy relays TCP only");
  if (l.protocol == "TLS" && l.tls_mode != "Passthrough")
    return cond("Accepted", false, "UnsupportedProtocol",
                "TLS listeners are served with tls.mode Passthrough (TLSRoute); to terminate "
                "TLS use protocol HTTPS");
  if (protocol_kinds(l.protocol).empty())
    return cond("Accepted", false, "UnsupportedProtocol",
                "protocol \"" + l.protocol + "\" is not HTTP, HTTPS, TLS, TCP or UDP");
  if (l.port < 1 || l.port > 65535)
    return cond("Accepted", false, "PortUnavailable",
                "port " + std::to_string(l.port) + " is not in 1-65535");
  return cond("Accepted", true, "Accepted");
}

// Listeners sharing a port: one protocol per port (TCP and UDP aside: they
// are different ports to the kernel), one listener per hostname.
Condition listener_conflict(const Gateway& g, size_t i) {
  const Listener& l = g.listeners[i];
  std::string hostname_clash;
  for (size_t j = 0; j < g.listeners.size(); ++j) {
    const Listener& o = g.listeners[j];
    if (j == i || o.port != l.port) continue;
    const bool l4 = (l.protocol == "TCP" && o.protocol == "UDP") ||
                    (l.protocol == "UDP" && o.protocol == "TCP");
    if (o.protocol != l.protocol && !l4)
      return cond(
          "Conflicted", true, "ProtocolConflict",
          "listener " + o.name + " uses port " + std::to_string(l.port) + " with " + o.protocol);
    if (o.protocol == l.protocol && o.hostname == l.hostname && hostname_clash.empty())
      hostname_clash = o.name;
  }
  if (!hostname_clash.empty())
    return cond("Conflicted", true, "HostnameConflict",
                "listener " + hostname_clash + " has the same port, protocol and hostname" +
                    (l.hostname.empty() ? " (none)" : " " + l.hostname));
  return cond("Conflicted", false, "NoConflicts");
}

GatewayInfo gateway_info(Gateway g, const Index& idx) {
  GatewayInfo info;
  info.spec = std::move(g);
  const Gateway& gw = info.spec;
  if (const Svc* s = idx.service(gw.ns, kServicePrefix + gw.name)) info.addresses = s->ips;
  bool any = false;
  for (size_t i = 0; i < gw.listeners.size(); ++i) {
    const Listener& l = gw.listeners[i];
    ListenerState st;
    st.spec = l;
    const auto proto_kinds = protocol_kinds(l.protocol);
    for (const auto& k : l.kinds)
      if (k.group == kGroup && std::count(proto_kinds.begin(), proto_kinds.end(), k.kind) &&
          !std::count_if(st.kinds.begin(), st.kinds.end(),
                         [&](auto& s) { return s.kind == k.kind; }))
        st.kinds.push_back(k);
    if (l.kinds.empty())
      for (const auto& k : proto_kinds) st.kinds.push_back({kGroup, k});
    st.accepted = listener_accepted(l);
    st.resolved = listener_refs(gw, l, proto_kinds, idx);
    st.conflicted = listener_conflict(gw, i);
    any = any || st.accepted.status == "True";
    info.listeners.push_back(std::move(st));
  }
  // axon's address comes from LB IPAM for the Gateway's Service; a Gateway
  // asking for its own cannot get it.
  if (!gw.addresses.empty())
    info.accepted = cond("Accepted", false, "UnsupportedAddress",
                         "spec.addresses is not supported: LB IPAM gives the address to Service " +
                             gw.ns + "/" + kServicePrefix + gw.name);
  else if (!any)
    info.accepted = cond("Accepted", false, "ListenersNotValid", "no listener is accepted");
  else
    info.accepted = cond("Accepted", true, "Accepted");
  for (auto& st : info.listeners)
    st.servable = info.accepted.status == "True" && st.accepted.status == "True" &&
                  st.resolved.status == "True" && st.conflicted.status == "False";
  return info;
}

GatewayStatus gateway_status(const GatewayInfo& info, const std::set<std::string>& served) {
  GatewayStatus out;
  out.generation = info.spec.generation;
  out.addresses = info.addresses;
  const bool addressed = !info.addresses.empty();
  bool any = false, in_service = false;  // a listener could be / is served
  for (const auto& st : info.listeners) {
    ListenerStatus l;
    l.name = st.spec.name;
    l.attached_routes = st.attached;
    l.supported_kinds = st.kinds;
    // Programmed=False says which of the others is not as it should be.
    Condition programmed = cond("Programmed", true, "Programmed");
    if (st.accepted.status != "True")
      programmed = cond("Programmed", false, "Invalid", "the listener is not accepted");
    else if (st.resolved.status != "True")
      programmed = cond("Programmed", false, "Invalid", "the listener's references do not resolve");
    else if (st.conflicted.status != "False")
      programmed = cond("Programmed", false, "Invalid", "the listener conflicts with another");
    else if (info.accepted.status != "True")
      programmed = cond("Programmed", false, "Invalid", "the Gateway is not accepted");
    else if (!served.count(st.spec.protocol))
      programmed = cond("Programmed", false, "Pending",
                        "axon's node proxies do not route " + st.spec.protocol + " listeners yet");
    else if (!addressed)
      programmed = cond("Programmed", false, "Pending", "waiting for the Gateway's address");
    const bool serving = st.servable && served.count(st.spec.protocol);
    any = any || st.servable;
    in_service = in_service || serving;
    l.conditions = {st.accepted, programmed, st.resolved, st.conflicted};
    out.listeners.push_back(std::move(l));
  }
  const std::string svc = info.spec.ns + "/" + kServicePrefix + info.spec.name;
  Condition programmed = cond("Programmed", true, "Programmed");
  if (!any)
    programmed = cond("Programmed", false, "Invalid", "no listener can be programmed");
  else if (!addressed)
    programmed = cond("Programmed", false, "AddressNotAssigned",
                      "waiting for LB IPAM to give Service " + svc + " an address");
  else if (!in_service)
    programmed = cond("Programmed", false, "Pending",
                      "axon's node proxies do not route this Gateway's listeners yet");
  out.conditions = {info.accepted, programmed};
  return out;
}

// Why listener `st` does not take route `r` ("" when it does).
std::string not_allowed(const Route& r, const ListenerState& st, const GatewayInfo& gw,
                        const Index& idx) {
  const Listener& l = st.spec;
  const std::string name = "listener " + l.name;
  if (st.accepted.status != "True") return name + " is not accepted";
  const std::string kind = route_kind_name(r.kind);
  if (std::none_of(st.kinds.begin(), st.kinds.end(), [&](auto& k) { return k.kind == kind; }))
    return name + " takes " + kinds_text(st.kinds) + ", not " + kind;
  if (l.from == "All") return "";
  if (l.from == "Same")
    return r.ns == gw.spec.ns ? ""
                              : name + " takes routes from " + gw.spec.ns +
                                    " only (allowedRoutes.namespaces.from: Same)";
  if (l.from == "Selector") {
    static const Json no_labels = Json::object();
    auto it = idx.namespace_labels.find(r.ns);
    const Json& labels = it == idx.namespace_labels.end() ? no_labels : it->second;
    return selector_matches(l.selector, labels)
               ? ""
               : name + " takes routes from namespaces its selector matches; " + r.ns +
                     "'s labels do not match";
  }
  return name + ": allowedRoutes.namespaces.from \"" + l.from + "\" is not Same, All or Selector";
}

// Why a backend does not resolve: {reason, condition message}; reason empty
// when it does. BackendNotFound also leaves a warning for apply/validate.
std::pair<std::string, std::string> check_backend(const Route& r, const ObjectRef& ref,
                                                  std::optional<int> port, const std::string& path,
                                                  const Index& idx,
                                                  std::vector<GatewayState::Warning>& warnings) {
  const std::string kind = route_kind_name(r.kind);
  const std::string key = ref.ns + "/" + ref.name;
  if (!ref.group.empty() || ref.kind != "Service")
    return {"InvalidKind", "backendRef " + (ref.group.empty() ? "" : ref.group + "/") + ref.kind +
                               " " + key + ": only core Services are backends"};
  if (!reference_permitted(idx.grants, kGroup, kind, r.ns, ref))
    return {"RefNotPermitted", "Service " + key + " is in another namespace: a ReferenceGrant in " +
                                   ref.ns + " must allow " + kind + "s from " + r.ns};
  const Svc* s = idx.service(ref.ns, ref.name);
  const bool has_port =
      s != nullptr && port &&
      std::any_of(s->ports.begin(), s->ports.end(), [&](auto& p) { return p.first == *port; });
  if (has_port) return {};
  const std::string there = idx.listing(ref.ns);
  const std::string port_text = port ? std::to_string(*port) : "(none)";
  warnings.push_back({kind + " " + r.key(), path, "Service \"" + ref.name + "\" port " +
                     port_text + " not found in " + ref.ns + "; " +
                     (there.empty() ? "no Services there" : "Services there: " + there)});
  const std::string known =
      there.empty() ? "no Services in " + ref.ns : "Services in " + ref.ns + ": " + there;
  if (s == nullptr) return {"BackendNotFound", "Service " + key + " not found; " + known};
  if (!port) return {"BackendNotFound", "backendRef to Service " + key + " has no port; " + known};
  return {"BackendNotFound", "Service " + key + " has no port " + port_text + "; " + known};
}

// The index in a rule's raw filters of its k-th RequestMirror (Filters keeps
// mirrors apart from the others), for the warning's path.
std::string mirror_path(const Json& raw_filters, size_t k, const std::string& base) {
  size_t seen = 0;
  for (size_t i = 0; raw_filters.is_array() && i < raw_filters.size(); ++i)
    if (str(raw_filters[i], "type") == "RequestMirror" && seen++ == k)
      return base + ".filters[" + std::to_string(i) + "].requestMirror.backendRef";
  return base + ".filters";
}

// Resolves every backend of `r` (setting `resolved`) and mirror: the
// route's ResolvedRefs, the first failure's reason.
Condition resolve_backends(Route& r, const Json& raw, const Index& idx,
                           std::vector<GatewayState::Warning>& warnings) {
  std::string reason, message;
  int failures = 0;
  auto note = [&](const std::pair<std::string, std::string>& f) {
    if (f.first.empty()) return true;
    if (failures++ == 0) std::tie(reason, message) = f;
    return false;
  };
  static const Json none;
  const Json& raw_rules = member(member(raw, "spec"), "rules");
  for (size_t i = 0; i < r.rules.size(); ++i) {
    Rule& rule = r.rules[i];
    const std::string rp = "spec.rules[" + std::to_string(i) + "]";
    const Json& raw_rule = raw_rules.is_array() && i < raw_rules.size() ? raw_rules[i] : none;
    for (size_t k = 0; k < rule.filters.mirrors.size(); ++k) {
      Mirror& m = rule.filters.mirrors[k];
      m.resolved = note(check_backend(r, m.backend, m.port,
                                      mirror_path(member(raw_rule, "filters"), k, rp), idx, warnings));
    }
    const Json& raw_backends = member(raw_rule, "backendRefs");
    for (size_t j = 0; j < rule.backends.size(); ++j) {
      BackendRef& b = rule.backends[j];
      const std::string bp = rp + ".backendRefs[" + std::to_string(j) + "]";
      b.resolved = note(check_backend(r, b.ref, b.port, bp, idx, warnings));
      const Json& raw_backend =
          raw_backends.is_array() && j < raw_backends.size() ? raw_backends[j] : none;
      for (size_t k = 0; k < b.filters.mirrors.size(); ++k) {
        const Mirror& m = b.filters.mirrors[k];
        note(check_backend(r, m.backend, m.port, mirror_path(member(raw_backend, "filters"), k, bp),
                           idx, warnings));
      }
    }
  }
  if (failures == 0) return cond("ResolvedRefs", true, "ResolvedRefs");
  if (failures > 1)
    message += " (and " + std::to_string(failures - 1) + " more unresolved backendRefs)";
  return cond("ResolvedRefs", false, reason, message);
}

// A listener the route attaches to, with its effective hostnames.
struct Attached {
  ListenerState* listener;
  std::vector<std::string> hostnames;
};

// The route's Accepted condition on one of our Gateways, and where it attaches.
Condition route_accepted(const Route& r, const ParentRef& ref, GatewayInfo& gw, const Index& idx,
                         std::vector<Attached>& attached) {
  std::vector<ListenerState*> candidates;
  for (auto& st : gw.listeners)
    if ((ref.section.empty() || st.spec.name == ref.section) &&
        (!ref.port || st.spec.port == *ref.port))
      candidates.push_back(&st);
  if (candidates.empty())
    return cond("Accepted", false, "NoMatchingParent",
                "Gateway " + gw.spec.key() + " has no listener" +
                    (ref.section.empty() ? "" : " named " + ref.section) +
                    (ref.port ? " on port " + std::to_string(*ref.port) : ""));
  std::vector<std::string> why;
  std::vector<ListenerState*> allowed;
  for (auto* st : candidates) {
    std::string no = not_allowed(r, *st, gw, idx);
    if (no.empty())
      allowed.push_back(st);
    else
      why.push_back(std::move(no));
  }
  // No listener takes GRPCRoute: say why rather than list the kinds.
  if (r.kind == RouteKind::GRPC)
    return cond("Accepted", false, "NotAllowedByListeners", kGrpcNeedsHttp2);
  if (allowed.empty()) return cond("Accepted", false, "NotAllowedByListeners", join(why, "; "));
  std::vector<Attached> matched;
  for (auto* st : allowed) {
    // TCP carries no hostname: a TCPRoute takes every connection.
    if (r.kind == RouteKind::TCP) {
      matched.push_back({st, {}});
    } else if (auto hosts = intersect_hostnames(st->spec.hostname, r.hostnames)) {
      matched.push_back({st, std::move(*hosts)});
    }
  }
  if (matched.empty())
    return cond(
        "Accepted", false, "NoMatchingListenerHostname",
        "no hostname of the route (" + join(r.hostnames, ", ") + ") matches a listener's hostname");
  if (!r.invalid.empty()) return cond("Accepted", false, "UnsupportedValue", join(r.invalid, "; "));
  attached = std::move(matched);
  return cond("Accepted", true, "Accepted");
}

}  // namespace

GatewayState gateway_compute(const GatewayInputs& in) {
  GatewayState out;
  const Index idx(in);

  std::set<std::string> accepted_classes;
  for (const auto& o : in.classes) {
    GatewayClass c = parse_gateway_class(o);
    if (c.controller != kControllerName) continue;
    ClassStatus st;
    st.generation = c.generation;
    const Json& params = member(member(o, "spec"), "parametersRef");
    if (!params.is_null() && str(params, "kind") != "CiliumGatewayClassConfig") {
      st.conditions.push_back(cond("Accepted", false, "InvalidParameters",
                                   "parametersRef to a " + str(params, "kind") +
                                       " is not supported (only CiliumGatewayClassConfig)"));
    } else {
      st.conditions.push_back(cond("Accepted", true, "Accepted", "Valid GatewayClass"));
      accepted_classes.insert(c.name);
    }
    st.conditions.push_back(cond("SupportedVersion", true, "SupportedVersion"));
    out.classes[c.name] = std::move(st);
  }

  // Oldest first, so that every order of the inputs gives the same state.
  std::vector<Gateway> gws;
  for (const auto& o : in.gateways) {
    Gateway g = parse_gateway(o);
    if (accepted_classes.count(g.class_name)) gws.push_back(std::move(g));
  }
  std::sort(gws.begin(), gws.end(), [](const Gateway& a, const Gateway& b) {
    return std::pair(a.created, a.key()) < std::pair(b.created, b.key());
  });
  std::map<std::string, GatewayInfo> infos;
  for (auto& g : gws) {
    const std::string key = g.key();
    infos.emplace(key, gateway_info(std::move(g), idx));
  }

  std::vector<std::pair<Route, const Json*>> routes;
  for (const auto& o : in.routes) {
    // parse_route reads any other kind as an HTTPRoute: UDPRoute is not one.
    const std::string kind = str(o, "kind");
    if (kind.empty() || kind == "HTTPRoute" || kind == "GRPCRoute" || kind == "TCPRoute" ||
        kind == "TLSRoute")
      routes.emplace_back(parse_route(o), &o);
  }
  std::sort(routes.begin(), routes.end(), [](const auto& a, const auto& b) {
    return std::tuple(a.first.created, a.first.key(), a.first.kind) <
           std::tuple(b.first.created, b.first.key(), b.first.kind);
  });
  for (const auto& [r, raw] : routes) {
    RouteStatus rs;
    rs.kind = r.kind;
    rs.generation = r.generation;
    std::vector<std::pair<GatewayInfo*, Attached>> attachments;
    for (const auto& ref : r.parents) {
      if (ref.group != kGroup || ref.kind != "Gateway") continue;
      auto it = infos.find(ref.ns + "/" + ref.name);
      if (it == infos.end()) continue;  // not ours (or not there: its class unknown)
      std::vector<Attached> attached;
      RouteParentStatus ps;
      ps.ref = ref;
      ps.conditions.push_back(route_accepted(r, ref, it->second, idx, attached));
      for (auto& a : attached) attachments.emplace_back(&it->second, std::move(a));
      rs.parents.push_back(std::move(ps));
    }
    if (rs.parents.empty()) continue;
    // Backends do not depend on the parent: resolved once, one copy shared
    // by every listener the route attaches to.
    auto resolved = std::make_shared<Route>(r);
    const Condition refs = resolve_backends(*resolved, *raw, idx, out.warnings);
    for (auto& p : rs.parents) p.conditions.push_back(refs);
    // Two parentRefs may select one listener: the route attaches once.
    std::set<const ListenerState*> seen;
    for (auto& [gw, a] : attachments) {
      if (!seen.insert(a.listener).second) continue;
      ++a.listener->attached;
      // Proxies serve only what can be served; attachedRoutes counts all.
      if (!a.listener->servable) continue;
      const Listener& l = a.listener->spec;
      out.attachments.push_back(
          {gw->spec.key(), l.name, l.protocol, l.port, resolved, a.hostnames});
    }
    out.routes[std::string(route_kind_name(r.kind)) + " " + r.key()] = std::move(rs);
  }

  for (const auto& [key, info] : infos) {
    out.gateways[key] = gateway_status(info, in.served_protocols);
    // The Service opens the accepted listeners' ports; a Gateway that is
    // not accepted serves nothing.
    std::set<int> ports;
    if (info.accepted.status == "True")
      for (const auto& st : info.listeners)
        if (st.accepted.status == "True") ports.insert(st.spec.port);
    for (const auto& st : info.listeners)
      if (st.servable && st.spec.protocol == "HTTPS" && in.served_protocols.count("HTTPS"))
        for (const auto& ref : st.spec.certificates)
          out.certificates.push_back({info.spec.key(), st.spec.port, st.spec.hostname, ref.ns + "/" + ref.name});
    out.services[info.spec.key()] = {ports.begin(),
                                                                          ports.end()};
  }
  return out;
}

Json conditions_json(const std::vector<Condition>& conditions, int64_t generation,
                     const Json& previous, const std::string& now) {
  static const Json none = Json::array();
  Json out = Json::array();
  for (const auto& c : conditions) {
    std::string since = now;
    for (const auto& p : previous.is_array() ? previous : none)
      if (str(p, "type") == c.type && str(p, "status") == c.status &&
          !str(p, "lastTransitionTime").empty())
        since = str(p, "lastTransitionTime");
    out.push_back({{"type", c.type},
                   {"status", c.status},
                   {"reason", c.reason},
                   {"message", c.message},
                   {"observedGeneration", generation},
                   {"lastTransitionTime", since}});
  }
  return out;
}

}  // namespace axon::gateway
