#include "axon/proxy/gateway_routes.h"

#include <algorithm>
#include <random>
#include <tuple>
#include <unordered_map>

#include <openssl/ssl.h>

#include "axon/gateway/certificate.h"
#include "axon/gateway/model.h"
#include "axon/gateway/routing.h"

namespace axon::proxy {

using nlohmann::json;

namespace wire {

json to_json(const GatewaySnapshot& s) {
  json frontends = json::array(), listeners = json::array(), endpoints = json::object();
  for (const auto& f : s.frontends)
    frontends.push_back({{"ip", f.ip}, {"port", f.port}, {"gateway", f.gateway}, {"listener_port", f.listener_port}});
  for (const auto& l : s.listeners) {
    json routes = json::array();
    for (const auto& r : l.routes)
      routes.push_back(
          {{"object", r.object}, {"hostnames", r.hostnames}, {"resolved", r.resolved}, {"mirrors", r.mirrors}});
    listeners.push_back({{"gateway", l.gateway}, {"port", l.port}, {"protocol", l.protocol}, {"routes", routes}});
  }
  for (const auto& [k, v] : s.endpoints) endpoints[k] = v;
  json certificates = json::array();
  for (const auto& c : s.certificates)
    certificates.push_back(
        {{"gateway", c.gateway}, {"port", c.port}, {"hostname", c.hostname}, {"cert", c.cert}, {"key", c.key}});
  return {{"frontends", frontends},
          {"listeners", listeners},
          {"endpoints", endpoints},
          {"certificates", certificates}};
}

std::string gateway_line(const GatewaySnapshot& s) {
  return json{{"gateway", to_json(s)}}.dump() + "\n";
}

}  // namespace wire

namespace {

struct Endpoint {
  std::string ip;
  uint16_t port = 0;
};

struct L4Route {
  std::shared_ptr<const gateway::Route> route;
  std::vector<std::string> hostnames;  // TLS: effective on the listener; empty: any
};

struct ListenerTable {
  gateway::RouteTable table;  // HTTP
  int port = 0;
  bool tcp = false;          // TCP or TLS passthrough: connections relayed
  bool passthrough = false;  // TLS: routed by the ClientHello's server name
  const char* scheme = "http";  // the requests' (redirects keep it)
  std::vector<L4Route> routes;  // TCP, TLS: oldest first
};

// A TLS listener's route for `name` (SNI): an exact hostname, then the
// longest wildcard, then a route for any host; the oldest of equals.
const gateway::Route* passthrough_route(const ListenerTable& t, const std::string& name) {
  const gateway::Route* best = nullptr;
  size_t best_rank = 0;
  for (const auto& r : t.routes) {
    size_t rank = 0;
    if (r.hostnames.empty()) rank = 1;
    for (const auto& h : r.hostnames) {
      if (name.empty() || !gateway::hostname_matches(h, name)) continue;
      rank = std::max(rank, h.rfind("*.", 0) == 0 ? 1 + h.size() : size_t(1) << 20);
    }
    if (rank > best_rank) {
      best = r.route.get();
      best_rank = rank;
    }
  }
  return best;
}

void add_modifier(const gateway::HeaderModifier& m, RouteAnswer& a, bool response) {
  auto& set = response ? a.response_set : a.set_headers;
  auto& add = response ? a.response_add : a.add_headers;
  auto& remove = response ? a.response_remove : a.remove_headers;
  set.insert(set.end(), m.set.begin(), m.set.end());
  add.insert(add.end(), m.add.begin(), m.add.end());
  remove.insert(remove.end(), m.remove.begin(), m.remove.end());
}

// A listener's server context: the certificates of its certificateRefs,
// one per key type (RSA, ECDSA, ...: OpenSSL offers the one the client's
// signature algorithms allow, as Envoy does).
struct ListenerCertificate {
  std::string hostname;
  std::shared_ptr<ssl_ctx_st> ctx;
  std::vector<int> key_types;  // loaded so far (EVP_PKEY_base_id)
};

// Adds the PEM certificate (and the chain after it) and its key to the
// listener's context (made at the first); false and `error` when they do not
// load (as the status says: gateway::load_certificate), or a certificate of
// that key type is there already (it stays).
bool add_certificate(ListenerCertificate& l, const std::string& cert, const std::string& key, std::string& error) {
  auto c = gateway::load_certificate(cert, key);
  if (!c) {
    error = c.error().message;
    return false;
  }
  if (std::find(l.key_types.begin(), l.key_types.end(), c->key_type) != l.key_types.end()) {
    error = "a second " + c->key_type_name() + " certificate for the listener (one per key type is served: the first)";
    return false;
  }
  if (!l.ctx) {
    l.ctx.reset(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
    if (!l.ctx) {
      error = gateway::openssl_error();
      return false;
    }
    SSL_CTX_set_min_proto_version(l.ctx.get(), TLS1_2_VERSION);
  }
  // The chain goes with its certificate (SSL_CTX_add0_chain_cert: the
  // current one's, taking it).
  if (SSL_CTX_use_certificate(l.ctx.get(), c->leaf.get()) != 1 || SSL_CTX_use_PrivateKey(l.ctx.get(), c->key.get()) != 1) {
    error = "tls.crt: " + gateway::openssl_error();
    return false;
  }
  for (auto& more : c->chain)
    if (SSL_CTX_add0_chain_cert(l.ctx.get(), more.get()) == 1) (void)more.release();
  l.key_types.push_back(c->key_type);
  return true;
}

}  // namespace

struct GatewayRoutes::Impl {
  std::vector<std::unique_ptr<ListenerTable>> tables;
  std::map<std::pair<std::string, uint16_t>, const ListenerTable*> frontends;
  std::unordered_map<std::string, std::vector<Endpoint>> endpoints;
  // By frontend (ip, port): the HTTPS listeners' certificates on its port.
  std::map<std::pair<std::string, uint16_t>, std::shared_ptr<std::vector<ListenerCertificate>>> certificates;
  std::vector<std::string> problems;
};

GatewayRoutes::GatewayRoutes() : impl_(std::make_unique<Impl>()) {}
GatewayRoutes::~GatewayRoutes() = default;

size_t GatewayRoutes::listeners() const { return impl_->tables.size(); }

Result<std::shared_ptr<const GatewayRoutes>> GatewayRoutes::from_json(const json& j) {
  if (!j.is_object()) return Error{"gateway routes: not an object"};
  auto out = std::shared_ptr<GatewayRoutes>(new GatewayRoutes());
  auto& s = *out->impl_;
  std::map<std::pair<std::string, uint16_t>, const ListenerTable*> by_listener;
  try {
    for (const auto& l : j.value("listeners", json::array())) {
      auto t = std::make_unique<ListenerTable>();
      t->port = l.at("port").get<int>();
      const std::string protocol = l.value("protocol", "HTTP");
      t->tcp = protocol == "TCP" || protocol == "TLS";
      t->passthrough = protocol == "TLS";
      if (protocol == "HTTPS") t->scheme = "https";
      for (const auto& r : l.value("routes", json::array())) {
        gateway::Route route = gateway::parse_route(gateway::Json(r.at("object")));
        const auto resolved = r.value("resolved", std::vector<std::vector<bool>>{});
        for (size_t i = 0; i < route.rules.size() && i < resolved.size(); ++i)
          for (size_t k = 0; k < route.rules[i].backends.size() && k < resolved[i].size(); ++k)
            route.rules[i].backends[k].resolved = resolved[i][k];
        const auto mirrors = r.value("mirrors", std::vector<std::vector<bool>>{});
        for (size_t i = 0; i < route.rules.size() && i < mirrors.size(); ++i)
          for (size_t k = 0; k < route.rules[i].filters.mirrors.size() && k < mirrors[i].size(); ++k)
            route.rules[i].filters.mirrors[k].resolved = mirrors[i][k];
        auto shared = std::make_shared<const gateway::Route>(std::move(route));
        auto hostnames = r.value("hostnames", std::vector<std::string>{});
        if (t->tcp)
          t->routes.push_back({shared, std::move(hostnames)});
        else
          t->table.add(shared, std::move(hostnames));
      }
      t->table.build();
      // A TCP listener serves one route: the oldest (then by name), as the
      // spec breaks ties between routes; a TLS listener the best by
      // hostname, then the oldest.
      std::sort(t->routes.begin(), t->routes.end(), [](const L4Route& a, const L4Route& b) {
        return std::tie(a.route->created, a.route->ns, a.route->name) <
               std::tie(b.route->created, b.route->ns, b.route->name);
      });
      by_listener[{l.at("gateway").get<std::string>(), static_cast<uint16_t>(t->port)}] = t.get();
      s.tables.push_back(std::move(t));
    }
    // Every listener's certificates into one context (a listener is a
    // Gateway, a port and a hostname: its entries are its certificateRefs).
    std::map<std::pair<std::string, uint16_t>, std::shared_ptr<std::vector<ListenerCertificate>>> certs;
    for (const auto& c : j.value("certificates", json::array())) {
      const std::string gw = c.at("gateway").get<std::string>();
      const auto port = c.at("port").get<uint16_t>();
      const std::string hostname = c.value("hostname", "");
      auto& list = certs[{gw, port}];
      if (!list) list = std::make_shared<std::vector<ListenerCertificate>>();
      auto l = std::find_if(list->begin(), list->end(), [&](const ListenerCertificate& x) { return x.hostname == hostname; });
      if (l == list->end()) l = list->insert(list->end(), ListenerCertificate{hostname, nullptr, {}});
      std::string error;
      if (!add_certificate(*l, c.at("cert").get<std::string>(), c.at("key").get<std::string>(), error))
        s.problems.push_back("Gateway " + gw + " port " + std::to_string(port) +
                             (hostname.empty() ? "" : " (" + hostname + ")") + ": " + error);
    }
    // A listener none of whose certificates loaded has none: its
    // handshakes fail.
    for (auto& [listener, list] : certs)
      list->erase(std::remove_if(list->begin(), list->end(), [](const ListenerCertificate& x) { return !x.ctx; }),
                  list->end());
    for (const auto& f : j.value("frontends", json::array())) {
      const std::pair<std::string, uint16_t> listener{f.at("gateway").get<std::string>(),
                                                      f.at("listener_port").get<uint16_t>()};
      const std::pair<std::string, uint16_t> frontend{f.at("ip").get<std::string>(), f.at("port").get<uint16_t>()};
      if (auto c = certs.find(listener); c != certs.end()) s.certificates[frontend] = c->second;
      auto it = by_listener.find(listener);
      if (it == by_listener.end()) continue;  // a port no listener serves: 404
      s.frontends[frontend] = it->second;
    }
    const json endpoints = j.value("endpoints", json::object());
    for (const auto& [key, list] : endpoints.items()) {
      auto& eps = s.endpoints[key];
      for (const auto& e : list) {
        const std::string text = e.get<std::string>();
        const auto colon = text.rfind(':');
        if (colon == std::string::npos) return Error{"gateway routes: endpoint " + text + ": no port"};
        eps.push_back({text.substr(0, colon), static_cast<uint16_t>(std::stoi(text.substr(colon + 1)))});
      }
    }
  } catch (const std::exception& e) {
    return Error{std::string("gateway routes: ") + e.what()};
  }
  return std::shared_ptr<const GatewayRoutes>(std::move(out));
}

bool GatewayRoutes::pick_endpoint(const gateway::BackendRef& b, RouteAnswer& a) const {
  const std::string key = b.ref.ns + "/" + b.ref.name + ":" + std::to_string(b.port.value_or(0));
  auto eps = impl_->endpoints.find(key);
  if (eps == impl_->endpoints.end() || eps->second.empty()) return false;
  thread_local std::minstd_rand rng(std::random_device{}());
  const auto& e = eps->second[std::uniform_int_distribution<size_t>(0, eps->second.size() - 1)(rng)];
  a.upstream_ip = e.ip;
  a.upstream_port = e.port;
  return true;
}

RouteAnswer GatewayRoutes::route_tcp(const ConnectionInfo& c) const {
  RouteAnswer a;
  auto it = impl_->frontends.find({c.dst_ip, c.dst_port});
  const gateway::Route* route = nullptr;
  if (it != impl_->frontends.end() && it->second->tcp && !it->second->routes.empty())
    route = it->second->passthrough ? passthrough_route(*it->second, c.server_name)
                                    : it->second->routes.front().route.get();
  if (route == nullptr || route->rules.empty()) {
    a.status = 404;
    return a;
  }
  const gateway::Route& r = *route;
  a.route = std::string(gateway::route_kind_name(r.kind)) + " " + r.key();
  const gateway::BackendRef* b = gateway::pick_backend(r.rules.front().backends);
  if (b == nullptr) {
    a.status = 500;
    return a;
  }
  if (!pick_endpoint(*b, a)) a.status = 503;
  return a;
}

RouteAnswer GatewayRoutes::route(const ConnectionInfo& c, const HttpRequestView& request) const {
  RouteAnswer a;
  auto it = impl_->frontends.find({c.dst_ip, c.dst_port});
  if (it == impl_->frontends.end() || it->second->tcp) {
    a.status = 404;
    return a;
  }
  const ListenerTable& t = *it->second;
  const gateway::RouteResult r =
      t.table.route({request.method, request.target, request.host, &request.headers}, t.scheme, t.port);
  if (r.route != nullptr) a.route = std::string(gateway::route_kind_name(r.route->kind)) + " " + r.route->key();
  switch (r.action) {
    case gateway::RouteResult::Action::NotFound:
    case gateway::RouteResult::Action::Error:
      a.status = static_cast<unsigned>(r.status);
      return a;
    case gateway::RouteResult::Action::Redirect:
      a.status = static_cast<unsigned>(r.status);
      a.location = r.location;
      return a;
    case gateway::RouteResult::Action::Forward:
      break;
  }
  const gateway::BackendRef& b = *r.backend;
  if (!pick_endpoint(b, a)) {
    a.status = 503;  // no ready endpoint (Envoy: no healthy upstream)
    return a;
  }
  a.target = r.target;
  a.host = r.host;
  const auto whole = r.rule->request_timeout, backend = r.rule->backend_timeout;
  a.timeout = whole.count() == 0 ? backend : backend.count() == 0 ? whole : std::min(whole, backend);
  // RequestMirror: a copy to one endpoint of each resolved mirror, for its
  // share of requests (percent or fraction, exactly).
  for (const auto& m : r.rule->filters.mirrors) {
    if (!m.resolved || m.numerator <= 0) continue;
    thread_local std::mt19937_64 mirror_rng(std::random_device{}());
    if (m.numerator < m.denominator &&
        std::uniform_int_distribution<int64_t>(0, m.denominator - 1)(mirror_rng) >= m.numerator)
      continue;
    gateway::BackendRef ref;
    ref.ref = m.backend;
    ref.port = m.port;
    RouteAnswer to;
    if (pick_endpoint(ref, to)) a.mirrors.emplace_back(std::move(to.upstream_ip), to.upstream_port);
  }
  add_modifier(r.rule->filters.request_headers, a, false);
  add_modifier(b.filters.request_headers, a, false);
  add_modifier(r.rule->filters.response_headers, a, true);
  add_modifier(b.filters.response_headers, a, true);
  return a;
}

std::shared_ptr<ssl_ctx_st> GatewayRoutes::certificate(const ConnectionInfo& c,
                                                       const std::string& server_name) const {
  auto it = impl_->certificates.find({c.dst_ip, c.dst_port});
  if (it == impl_->certificates.end()) return nullptr;
  std::string name = server_name;
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::tolower(ch); });
  const ListenerCertificate* best = nullptr;
  const ListenerCertificate* any = nullptr;
  for (const auto& lc : *it->second) {
    if (lc.hostname.empty()) {
      if (any == nullptr) any = &lc;
      continue;
    }
    if (name.empty() || !gateway::hostname_matches(lc.hostname, name)) continue;
    // Exact beats any wildcard; a longer wildcard beats a shorter one.
    const auto rank = [](const std::string& h) {
      return h.rfind("*.", 0) == 0 ? h.size() : size_t(1) << 20;
    };
    if (best == nullptr || rank(lc.hostname) > rank(best->hostname)) best = &lc;
  }
  if (best == nullptr) best = any;
  return best ? best->ctx : nullptr;
}

const std::vector<std::string>& GatewayRoutes::problems() const { return impl_->problems; }

}  // namespace axon::proxy
