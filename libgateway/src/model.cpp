#include "axon/gateway/model.h"

#include <re2/re2.h>

#include "axon/base/duration.h"
#include "axon/base/strings.h"
#include "json_util.h"

namespace axon::gateway {

namespace {

using detail::integer;
using detail::list;
using detail::object;
using detail::text;

std::string at(const std::string& path, size_t i) { return path + "[" + std::to_string(i) + "]"; }

// The parts of an object every kind has.
struct Meta {
  std::string ns, name, created;
  int64_t generation = 0;
};

Meta meta(const Json& o) {
  const Json& m = object(o, "metadata");
  Meta out{text(m, "namespace", "default"), text(m, "name"), text(m, "creationTimestamp"), 0};
  if (auto it = m.find("generation"); it != m.end() && it->is_number_integer())
    out.generation = it->get<int64_t>();
  return out;
}

ObjectRef object_ref(const Json& o, const std::string& default_ns, const char* default_group,
                     const char* default_kind) {
  return {text(o, "group", default_group), text(o, "kind", default_kind),
          text(o, "namespace", default_ns), text(o, "name")};
}

void check_regex(const std::string& value, const std::string& path,
                 std::vector<std::string>& invalid) {
  re2::RE2 re(value, re2::RE2::Quiet);
  if (!re.ok()) invalid.push_back(path + ": not a regular expression (RE2): " + re.error());
}

std::vector<ValueMatch> value_matches(const Json& items, const std::string& path, bool lower,
                                      std::vector<std::string>& invalid) {
  std::vector<ValueMatch> out;
  for (size_t i = 0; i < items.size(); ++i) {
    const Json& h = items[i];
    if (!h.is_object()) continue;
    ValueMatch v{text(h, "name"), text(h, "value"), text(h, "type", "Exact") == "RegularExpression"};
    if (lower) v.name = to_lower(v.name);
    const std::string type = text(h, "type", "Exact");
    if (type != "Exact" && type != "RegularExpression")
      invalid.push_back(at(path, i) + ".type: \"" + type + "\" is not Exact or RegularExpression");
    if (v.regex) check_regex(v.value, at(path, i) + ".value", invalid);
    // "Only the first entry with an equivalent name MUST be considered."
    bool seen = false;
    for (const auto& o : out) seen = seen || o.name == v.name;
    if (!seen) out.push_back(std::move(v));
  }
  return out;
}

HeaderModifier header_modifier(const Json& m) {
  HeaderModifier out;
  for (const auto& h : list(m, "set"))
    if (h.is_object()) out.set.emplace_back(text(h, "name"), text(h, "value"));
  for (const auto& h : list(m, "add"))
    if (h.is_object()) out.add.emplace_back(text(h, "name"), text(h, "value"));
  for (const auto& h : list(m, "remove"))
    if (h.is_string()) out.remove.push_back(h.get<std::string>());
  return out;
}

std::optional<PathModifier> path_modifier(const Json& p, const std::string& path,
                                          std::vector<std::string>& invalid) {
  if (!p.is_object() || p.empty()) return std::nullopt;
  const std::string type = text(p, "type");
  if (type == "ReplaceFullPath") return PathModifier{false, text(p, "replaceFullPath")};
  if (type == "ReplacePrefixMatch") return PathModifier{true, text(p, "replacePrefixMatch")};
  invalid.push_back(path + ".type: \"" + type + "\" is not ReplaceFullPath or ReplacePrefixMatch");
  return std::nullopt;
}

Filters filters(const Json& items, const std::string& path, const std::string& ns,
                std::vector<std::string>& invalid) {
  Filters out;
  for (size_t i = 0; i < items.size(); ++i) {
    const Json& f = items[i];
    if (!f.is_object()) continue;
    const std::string p = at(path, i);
    const std::string type = text(f, "type");
    if (type == "RequestHeaderModifier") {
      out.request_headers = header_modifier(object(f, "requestHeaderModifier"));
    } else if (type == "ResponseHeaderModifier") {
      out.response_headers = header_modifier(object(f, "responseHeaderModifier"));
    } else if (type == "RequestRedirect") {
      const Json& r = object(f, "requestRedirect");
      Redirect d;
      d.scheme = text(r, "scheme");
      d.hostname = to_lower(text(r, "hostname"));
      d.path = path_modifier(object(r, "path"), p + ".requestRedirect.path", invalid);
      d.port = integer(r, "port");
      d.status = integer(r, "statusCode").value_or(302);
      if (d.status != 301 && d.status != 302 && d.status != 303 && d.status != 307 &&
          d.status != 308)
        invalid.push_back(p + ".requestRedirect.statusCode: " + std::to_string(d.status) +
                          " is not 301, 302, 303, 307 or 308");
      if (!d.scheme.empty() && d.scheme != "http" && d.scheme != "https")
        invalid.push_back(p + ".requestRedirect.scheme: \"" + d.scheme + "\" is not http or https");
      out.redirect = std::move(d);
    } else if (type == "URLRewrite") {
      const Json& r = object(f, "urlRewrite");
      out.rewrite = Rewrite{to_lower(text(r, "hostname")),
                            path_modifier(object(r, "path"), p + ".urlRewrite.path", invalid)};
    } else if (type == "RequestMirror") {
      const Json& r = object(f, "requestMirror");
      Mirror m;
      const Json& b = object(r, "backendRef");
      m.backend = object_ref(b, ns, "", "Service");
      m.port = integer(b, "port");
      if (auto pct = integer(r, "percent")) m.numerator = *pct;
      const Json& frac = object(r, "fraction");
      if (auto num = integer(frac, "numerator")) {
        m.numerator = *num;
        m.denominator = integer(frac, "denominator").value_or(100);
        if (m.denominator <= 0) m.numerator = 0;
      }
      out.mirrors.push_back(std::move(m));
    } else {
      invalid.push_back(p + ".type: \"" + type + "\" is not supported (axon serves " +
                        "RequestHeaderModifier, ResponseHeaderModifier, RequestRedirect, " +
                        "URLRewrite and RequestMirror)");
    }
  }
  if (out.redirect && out.rewrite)
    invalid.push_back(path + ": RequestRedirect and URLRewrite cannot be in one rule");
  return out;
}

std::vector<BackendRef> backend_refs(const Json& items, const std::string& path,
                                     const std::string& ns, std::vector<std::string>& invalid) {
  std::vector<BackendRef> out;
  for (size_t i = 0; i < items.size(); ++i) {
    const Json& b = items[i];
    if (!b.is_object()) continue;
    BackendRef r;
    r.ref = object_ref(b, ns, "", "Service");
    r.port = integer(b, "port");
    r.weight = integer(b, "weight").value_or(1);
    r.filters = filters(list(b, "filters"), at(path, i) + ".filters", ns, invalid);
    // Fail closed: a route the proxies would serve without its mirror is
    // not accepted (UnsupportedValue), rather than served as if mirrored.
    if (!r.filters.mirrors.empty())
      invalid.push_back(at(path, i) + ".filters: RequestMirror in a backendRef is not served yet "
                        "(requests would not be mirrored; put it in the rule's filters)");
    out.push_back(std::move(r));
  }
  return out;
}

std::chrono::milliseconds timeout(const Json& t, const char* key, const std::string& path,
                                  std::vector<std::string>& invalid) {
  const std::string v = text(t, key);
  if (v.empty()) return std::chrono::milliseconds(0);
  auto d = parse_duration(v);
  if (!d) {
    invalid.push_back(path + "." + key + ": " + d.error().str());
    return std::chrono::milliseconds(0);
  }
  return std::chrono::duration_cast<std::chrono::milliseconds>(*d);
}

Match http_match(const Json& m, const std::string& path, std::vector<std::string>& invalid) {
  Match out;
  const Json& p = object(m, "path");
  if (!p.empty()) {
    const std::string type = text(p, "type", "PathPrefix");
    out.path.value = text(p, "value", "/");
    if (type == "Exact") {
      out.path.type = PathType::Exact;
    } else if (type == "RegularExpression") {
      out.path.type = PathType::RegularExpression;
      check_regex(out.path.value, path + ".path.value", invalid);
    } else if (type != "PathPrefix") {
      invalid.push_back(path + ".path.type: \"" + type + "\" is not Exact, PathPrefix or " +
                        "RegularExpression");
    }
    if (out.path.type != PathType::RegularExpression && !out.path.value.starts_with("/"))
      invalid.push_back(path + ".path.value: must start with \"/\"");
  }
  out.method = text(m, "method");
  out.headers = value_matches(list(m, "headers"), path + ".headers", true, invalid);
  out.query = value_matches(list(m, "queryParams"), path + ".queryParams", false, invalid);
  return out;
}

// gRPC is HTTP/2 POST /<service>/<method>: a GRPCRoute match as an HTTP one.
Match grpc_match(const Json& m, const std::string& path, std::vector<std::string>& invalid) {
  Match out;
  out.method = "POST";
  const Json& g = object(m, "method");
  const std::string service = text(g, "service"), method = text(g, "method");
  if (text(g, "type", "Exact") == "RegularExpression") {
    out.path = {PathType::RegularExpression,
                "/" + (service.empty() ? "[^/]+" : service) + "/" + (method.empty() ? "[^/]+" : method)};
    check_regex(out.path.value, path + ".method", invalid);
  } else if (!service.empty() && !method.empty()) {
    out.path = {PathType::Exact, "/" + service + "/" + method};
  } else if (!service.empty()) {
    out.path = {PathType::PathPrefix, "/" + service};
  } else if (!method.empty()) {
    out.path = {PathType::RegularExpression, "/[^/]+/" + RE2::QuoteMeta(method)};
  }
  out.headers = value_matches(list(m, "headers"), path + ".headers", true, invalid);
  return out;
}

}  // namespace

const char* route_kind_name(RouteKind k) {
  switch (k) {
    case RouteKind::HTTP: return "HTTPRoute";
    case RouteKind::GRPC: return "GRPCRoute";
    case RouteKind::TCP: return "TCPRoute";
    case RouteKind::TLS: return "TLSRoute";
  }
  return "";
}

Route parse_route(const Json& o) {
  Route r;
  const std::string kind = text(o, "kind", "HTTPRoute");
  r.kind = kind == "GRPCRoute"  ? RouteKind::GRPC
           : kind == "TCPRoute" ? RouteKind::TCP
           : kind == "TLSRoute" ? RouteKind::TLS
                                : RouteKind::HTTP;
  if (kind != "HTTPRoute" && r.kind == RouteKind::HTTP)
    r.invalid.push_back("kind: \"" + kind + "\" is not HTTPRoute, GRPCRoute, TCPRoute or TLSRoute");
  Meta m = meta(o);
  r.ns = m.ns;
  r.name = m.name;
  r.created = m.created;
  r.generation = m.generation;
  const Json& spec = object(o, "spec");
  for (const auto& p : list(spec, "parentRefs")) {
    if (!p.is_object()) continue;
    ParentRef ref;
    ref.group = text(p, "group", kGroup);
    ref.kind = text(p, "kind", "Gateway");
    ref.ns = text(p, "namespace", r.ns);
    ref.name = text(p, "name");
    ref.section = text(p, "sectionName");
    ref.port = integer(p, "port");
    r.parents.push_back(std::move(ref));
  }
  for (const auto& h : list(spec, "hostnames"))
    if (h.is_string()) r.hostnames.push_back(to_lower(h.get<std::string>()));
  const Json& rules = list(spec, "rules");
  for (size_t i = 0; i < rules.size(); ++i) {
    const Json& rj = rules[i];
    if (!rj.is_object()) continue;
    const std::string rp = at("spec.rules", i);
    Rule rule;
    rule.name = text(rj, "name");
    const Json& matches = list(rj, "matches");
    for (size_t j = 0; j < matches.size(); ++j) {
      if (!matches[j].is_object()) continue;
      const std::string mp = at(rp + ".matches", j);
      rule.matches.push_back(r.kind == RouteKind::GRPC ? grpc_match(matches[j], mp, r.invalid)
                                                       : http_match(matches[j], mp, r.invalid));
    }
    rule.filters = filters(list(rj, "filters"), rp + ".filters", r.ns, r.invalid);
    if (rule.filters.rewrite && rule.filters.rewrite->path &&
        rule.filters.rewrite->path->replace_prefix) {
      for (const auto& mt : rule.matches)
        if (mt.path.type != PathType::PathPrefix)
          r.invalid.push_back(rp + ".filters: URLRewrite's ReplacePrefixMatch needs PathPrefix " +
                              "matches");
    }
    rule.backends = backend_refs(list(rj, "backendRefs"), rp + ".backendRefs", r.ns, r.invalid);
    const Json& t = object(rj, "timeouts");
    rule.request_timeout = timeout(t, "request", rp + ".timeouts", r.invalid);
    rule.backend_timeout = timeout(t, "backendRequest", rp + ".timeouts", r.invalid);
    if (rule.request_timeout.count() > 0 && rule.backend_timeout > rule.request_timeout)
      r.invalid.push_back(rp + ".timeouts.backendRequest: longer than timeouts.request (it must not be)");
    r.rules.push_back(std::move(rule));
  }
  return r;
}

Gateway parse_gateway(const Json& o) {
  Gateway g;
  Meta m = meta(o);
  g.ns = m.ns;
  g.name = m.name;
  g.created = m.created;
  g.generation = m.generation;
  const Json& spec = object(o, "spec");
  g.class_name = text(spec, "gatewayClassName");
  for (const auto& a : list(spec, "addresses"))
    if (a.is_object()) g.addresses.push_back(text(a, "value"));
  for (const auto& lj : list(spec, "listeners")) {
    if (!lj.is_object()) continue;
    Listener l;
    l.name = text(lj, "name");
    l.hostname = to_lower(text(lj, "hostname"));
    l.protocol = text(lj, "protocol");
    l.port = integer(lj, "port").value_or(0);
    const Json& tls = object(lj, "tls");
    if (!tls.empty()) {
      l.tls_mode = text(tls, "mode", "Terminate");
      for (const auto& c : list(tls, "certificateRefs"))
        if (c.is_object()) l.certificates.push_back(object_ref(c, g.ns, "", "Secret"));
    }
    const Json& allowed = object(lj, "allowedRoutes");
    const Json& namespaces = object(allowed, "namespaces");
    l.from = text(namespaces, "from", "Same");
    if (auto it = namespaces.find("selector"); it != namespaces.end()) l.selector = *it;
    for (const auto& k : list(allowed, "kinds"))
      if (k.is_object()) l.kinds.push_back({text(k, "group", kGroup), text(k, "kind")});
    g.listeners.push_back(std::move(l));
  }
  return g;
}

GatewayClass parse_gateway_class(const Json& o) {
  Meta m = meta(o);
  return {m.name, text(object(o, "spec"), "controllerName"), m.generation};
}

ReferenceGrant parse_reference_grant(const Json& o) {
  ReferenceGrant g;
  g.ns = meta(o).ns;
  const Json& spec = object(o, "spec");
  for (const auto& f : list(spec, "from"))
    if (f.is_object()) g.from.push_back({text(f, "group"), text(f, "kind"), text(f, "namespace")});
  for (const auto& t : list(spec, "to"))
    if (t.is_object()) g.to.push_back({text(t, "group"), text(t, "kind"), text(t, "name")});
  return g;
}

bool reference_permitted(const std::vector<ReferenceGrant>& grants, const std::string& from_group,
                         const std::string& from_kind, const std::string& from_ns,
                         const ObjectRef& to) {
  if (to.ns == from_ns) return true;
  for (const auto& g : grants) {
    if (g.ns != to.ns) continue;
    bool from = false, dest = false;
    for (const auto& f : g.from)
      from = from || (f.group == from_group && f.kind == from_kind && f.ns == from_ns);
    for (const auto& t : g.to)
      dest = dest || (t.group == to.group && t.kind == to.kind && (t.name.empty() || t.name == to.name));
    if (from && dest) return true;
  }
  return false;
}

}  // namespace axon::gateway
