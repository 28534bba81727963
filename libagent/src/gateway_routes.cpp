// What the node proxy serves on the Gateways' listeners (Cilium's agent
// turns the operator's CiliumEnvoyConfig into Envoy listeners, routes and
// endpoints): the agent runs the operator's own status computation
// (libgateway's gateway_compute, a pure function of the same objects), so
// the routes it serves are the ones whose status says Accepted, with the
// backends it resolved; each backend Service's ready endpoints come from
// its EndpointSlices. The snapshot goes to the proxy process when it
// differs from the last one (and to every proxy started later).
#include "axon/agent/agent.h"
#include "axon/base/log.h"
#include "axon/base/base64.h"
#include "axon/gateway/status.h"
#include "service_backends.h"

namespace axon::agent {

using client::member;
namespace gw = axon::gateway;

void Agent::sync_gateway() {
  if (!c_.gateway_api || !http_proxy_ || gateway_informers_.size() != 7) return;
  // Computed again only when an input changed (sync runs on every wake).
  uint64_t seen = std::hash<std::string>{}(node_ip_);
  for (const client::Informer* i : {services_watch_.get(), slices_.get(), namespaces_.get()})
    seen = seen * 31 + i->generation();
  for (const auto& i : gateway_informers_) seen = seen * 31 + i->generation();
  if (seen == gateway_seen_) return;
  gateway_seen_ = seen;
  gw::GatewayInputs in;
  in.classes = gateway_informers_[0]->list();
  in.gateways = gateway_informers_[1]->list();
  in.routes = gateway_informers_[2]->list();
  for (auto& r : gateway_informers_[4]->list()) in.routes.push_back(std::move(r));
  for (auto& r : gateway_informers_[6]->list()) in.routes.push_back(std::move(r));
  in.grants = gateway_informers_[3]->list();
  in.services = services_watch_->list();
  in.namespaces = namespaces_->list();
  in.secrets = gateway_informers_[5]->list();
  in.served_protocols = {"HTTP", "HTTPS", "TLS", "TCP"};
  const gw::GatewayState state = gw::gateway_compute(in);

  std::map<std::string, const Json*> objects;  // routes by "kind namespace/name"
  for (const auto& r : in.routes)
    objects[r.value("kind", "") + " " + member(r, "metadata").value("namespace", "") + "/" +
            member(r, "metadata").value("name", "")] = &r;
  // Ports of each Service by number -> port name (EndpointSlices name them).
  std::map<std::string, std::map<int, std::string>> port_names;
  for (const auto& s : in.services) {
    const Json& meta = member(s, "metadata");
    auto& names = port_names[meta.value("namespace", "") + "/" + meta.value("name", "")];
    for (const auto& p : member(s, "spec").value("ports", Json::array()))
      names[p.value("port", 0)] = p.value("name", "");
  }
  std::optional<std::map<std::string, std::map<std::string, std::vector<ReadyBackend>>>> ready;

  proxy::GatewaySnapshot snap;
  snap.frontends = gateway_frontends_;
  // A resolved backend's (or mirror's) ready endpoints, once per Service port.
  auto add_endpoints = [&](const gw::ObjectRef& ref, int port) {
    const std::string svc = ref.ns + "/" + ref.name;
    const std::string key = svc + ":" + std::to_string(port);
    if (snap.endpoints.count(key)) return;
    if (!ready) ready = ready_backends(slices_->list(), c_.node);
    auto& list = snap.endpoints[key];
    auto names = port_names.find(svc);
    if (names == port_names.end()) return;
    auto name = names->second.find(port);
    if (name == names->second.end()) return;
    for (const auto& rb : (*ready)[svc][name->second])
      list.push_back(rb.backend.addr.str() + ":" + std::to_string(rb.backend.port));
    std::sort(list.begin(), list.end());
    list.erase(std::unique(list.begin(), list.end()), list.end());
  };
  std::map<std::pair<std::string, int>, size_t> listener_at;
  for (const auto& a : state.attachments) {
    if (a.route == nullptr) continue;
    if (!((a.protocol == "HTTP" || a.protocol == "HTTPS") && a.route->kind == gw::RouteKind::HTTP) &&
        !(a.protocol == "TCP" && a.route->kind == gw::RouteKind::TCP) &&
        !(a.protocol == "TLS" && a.route->kind == gw::RouteKind::TLS))
      continue;
    auto obj = objects.find(std::string(gw::route_kind_name(a.route->kind)) + " " + a.route->key());
    if (obj == objects.end()) continue;
    auto [it, added] = listener_at.emplace(std::pair{a.gateway, a.port}, snap.listeners.size());
    if (added) snap.listeners.push_back({a.gateway, static_cast<uint16_t>(a.port), a.protocol, {}});
    proxy::GatewaySnapshot::AttachedRoute ar;
    ar.object = nlohmann::json(*obj->second);
    ar.object.erase("status");
    if (ar.object.contains("metadata")) ar.object["metadata"].erase("managedFields");
    ar.hostnames = a.hostnames;
    for (const auto& rule : a.route->rules) {
      auto& flags = ar.resolved.emplace_back();
      for (const auto& b : rule.backends) {
        flags.push_back(b.resolved);
        if (b.resolved && b.port) add_endpoints(b.ref, *b.port);
      }
      auto& mirrored = ar.mirrors.emplace_back();
      for (const auto& m : rule.filters.mirrors) {
        mirrored.push_back(m.resolved);
        if (m.resolved && m.port) add_endpoints(m.backend, *m.port);
      }
    }
    snap.listeners[it->second].routes.push_back(std::move(ar));
  }
  // HTTPS listeners' certificates, from the Secrets the status found valid
  // (base64 in the store; PEM to the proxy).
  std::map<std::string, const Json*> secrets;
  for (const auto& s : in.secrets)
    secrets[member(s, "metadata").value("namespace", "") + "/" + member(s, "metadata").value("name", "")] = &s;
  for (const auto& c : state.certificates) {
    auto s = secrets.find(c.secret);
    if (s == secrets.end()) continue;
    const Json& data = member(*s->second, "data");
    auto cert = base64_decode(data.value("tls.crt", ""));
    auto key = base64_decode(data.value("tls.key", ""));
    if (!cert || !key) {
      log::warn("Gateway {} port {}: Secret {}: tls.crt or tls.key is not base64", c.gateway, c.port, c.secret);
      continue;
    }
    snap.certificates.push_back(
        {c.gateway, static_cast<uint16_t>(c.port), c.hostname, std::move(*cert), std::move(*key)});
  }
  std::string line = proxy::wire::gateway_line(snap);
  if (line == gateway_line_) return;
  log::info("Gateway API: {} listener(s), {} frontend(s) to the node proxy", snap.listeners.size(),
            snap.frontends.size());
  gateway_line_ = line;
  http_proxy_->set_gateway(std::move(line));
}

}  // namespace axon::agent
