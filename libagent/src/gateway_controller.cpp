#include "gateway_controller.h"

#include <map>
#include <set>

#include "axon/base/log.h"
#include "axon/client/etcd_store.h"
#include "axon/client/yaml.h"
#include "axon/gateway/status.h"

namespace axon::agent {

namespace {

using client::Json;
namespace gw = axon::gateway;

constexpr const char* kOwnerLabel = "io.cilium.gateway/owning-gateway";

// The Service a Gateway gets: type LoadBalancer, one port per listener
// port, no selector (the node proxies serve it), owned by the Gateway.
Json gateway_service(const Json& gateway, const std::vector<int>& ports) {
  const Json& meta = gateway["metadata"];
  const std::string name = meta.value("name", "");
  Json svc_ports = Json::array();
  for (int p : ports)
    svc_ports.push_back({{"name", "port-" + std::to_string(p)}, {"port", p}, {"protocol", "TCP"}});
  Json owner = {{"apiVersion", "gateway.networking.k8s.io/v1"},
                {"kind", "Gateway"},
                {"name", name},
                {"uid", meta.value("uid", "")},
                {"controller", true}};
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", std::string(gw::kServicePrefix) + name},
            {"namespace", meta.value("namespace", "default")},
            {"labels", {{kOwnerLabel, name}, {"gateway.networking.k8s.io/gateway-name", name}}},
            {"ownerReferences", Json::array({owner})}}},
          {"spec", {{"type", "LoadBalancer"}, {"ports", svc_ports}}}};
}

std::string key_of(const Json& o) {
  const Json& m = client::member(o, "metadata");
  return m.value("namespace", "") + "/" + m.value("name", "");
}

Json parent_ref_json(const gw::ParentRef& r) {
  Json j = {{"group", r.group}, {"kind", r.kind}, {"namespace", r.ns}, {"name", r.name}};
  if (!r.section.empty()) j["sectionName"] = r.section;
  if (r.port) j["port"] = *r.port;
  return j;
}

// Writes `status` when it differs from the object's; false on a failed write.
bool write_status(client::ClusterStore& store, Json object, Json status, const char* what) {
  if (client::member(object, "status") == status) return true;
  object["status"] = std::move(status);
  auto r = store.replace_status(object);
  if (!r) {
    log::warn("Gateway API: status of {} {}: {}", what, key_of(object), r.error().str());
    return false;
  }
  return true;  // a conflict (nullopt): the watch brings the change, the next pass writes
}

}  // namespace

struct GatewayController::Impl {
  Impl(client::ClusterStore& s, client::Informer& svc, client::Informer& ns)
      : store(s),
        services(svc),
        namespaces(ns),
        classes(s, "gateway.networking.k8s.io/v1", "GatewayClass"),
        gateways(s, "gateway.networking.k8s.io/v1", "Gateway"),
        http(s, "gateway.networking.k8s.io/v1", "HTTPRoute"),
        grpc(s, "gateway.networking.k8s.io/v1", "GRPCRoute"),
        tcp(s, "gateway.networking.k8s.io/v1alpha2", "TCPRoute"),
        tls(s, "gateway.networking.k8s.io/v1alpha2", "TLSRoute"),
        grants(s, "gateway.networking.k8s.io/v1beta1", "ReferenceGrant"),
        secrets(s, "v1", "Secret") {}

  std::vector<client::Informer*> own() { return {&classes, &gateways, &http, &grpc, &tcp, &tls, &grants, &secrets}; }
  uint64_t seen() {
    uint64_t g = services.generation() * 31 + namespaces.generation();
    for (auto* i : own()) g = g * 31 + i->generation();
    return g;
  }
  bool sync_services(const gw::GatewayState& state, const std::vector<Json>& gateways_list,
                     const std::vector<Json>& services_list);

  client::ClusterStore& store;
  client::Informer& services;
  client::Informer& namespaces;
  client::Informer classes, gateways, http, grpc, tcp, tls, grants, secrets;
  uint64_t done = ~uint64_t{0};
  std::set<std::string> served;
};

bool GatewayController::Impl::sync_services(const gw::GatewayState& state,
                                            const std::vector<Json>& gateways_list,
                                            const std::vector<Json>& services_list) {
  bool ok = true;
  std::map<std::string, const Json*> live;  // ours, by "ns/name"
  for (const auto& s : services_list)
    if (client::member(client::member(client::member(s, "metadata"), "labels"), kOwnerLabel).is_string()) live[key_of(s)] = &s;
  std::map<std::string, const Json*> by_key;
  for (const auto& g : gateways_list) by_key[key_of(g)] = &g;
  std::set<std::string> wanted;  // the Services' "ns/name"
  for (const auto& [gw_key, ports] : state.services) {
    const std::string ns = gw_key.substr(0, gw_key.find('/'));
    const std::string svc_key = ns + "/" + gw::kServicePrefix + gw_key.substr(gw_key.find('/') + 1);
    wanted.insert(svc_key);
    auto g = by_key.find(gw_key);
    if (g == by_key.end()) continue;
    auto it = live.find(svc_key);
    if (ports.empty()) {
      // No listener to serve: a Service needs a port (the API server refuses
      // one without), so there is none; the Gateway's status says why.
      if (it != live.end()) {
        if (auto r = store.remove(client::ObjectRef::of(*it->second)); !r) {
          log::warn("Gateway API: Service {}: {}", svc_key, r.error().str());
          ok = false;
        } else if (*r) {
          log::info("Gateway API: Service {} deleted: its Gateway has no listener to serve", svc_key);
        }
      }
      continue;
    }
    Json want = gateway_service(*g->second, ports);
    if (it == live.end()) {
      auto r = store.create(want);
      if (!r) {
        log::warn("Gateway API: Service {}: {}", svc_key, r.error().str());
        ok = false;
      } else {
        log::info("Gateway API: Service {} created (ports {})", svc_key, want["spec"]["ports"].size());
      }
      continue;
    }
    const Json& cur = *it->second;
    if (client::member(client::member(cur, "spec"), "ports").size() == ports.size()) {
      bool same = true;
      for (size_t i = 0; i < ports.size(); ++i)
        same = same && client::member(client::member(cur, "spec"), "ports")[i].value("port", 0) == ports[i];
      if (same && client::member(client::member(cur, "spec"), "type") == "LoadBalancer") continue;
    }
    Json next = cur;
    next["spec"]["type"] = "LoadBalancer";
    // Node ports the API server gave stay with their port.
    Json merged = Json::array();
    for (const auto& p : want["spec"]["ports"]) {
      Json q = p;
      for (const auto& old : client::member(client::member(cur, "spec"), "ports"))
        if (old.value("port", 0) == p.value("port", 0) && old.contains("nodePort")) q["nodePort"] = old["nodePort"];
      merged.push_back(q);
    }
    next["spec"]["ports"] = merged;
    if (auto r = store.replace(next); !r) {
      log::warn("Gateway API: Service {}: {}", svc_key, r.error().str());
      ok = false;
    }
  }
  for (const auto& [svc_key, s] : live) {
    if (wanted.count(svc_key)) continue;
    auto r = store.remove(client::ObjectRef::of(*s));
    if (!r) {
      log::warn("Gateway API: Service {}: {}", svc_key, r.error().str());
      ok = false;
    } else if (*r) {
      log::info("Gateway API: Service {} deleted: its Gateway is gone", svc_key);
    }
  }
  return ok;
}

GatewayController::GatewayController(client::ClusterStore& store, client::Informer& services,
                                     client::Informer& namespaces, std::set<std::string> served,
                                     std::function<void()> wake)
    : impl_(std::make_unique<Impl>(store, services, namespaces)) {
  impl_->served = std::move(served);
  for (auto* i : impl_->own()) {
    i->on_change(wake);
    i->start();
  }
}

GatewayController::~GatewayController() {
  for (auto* i : impl_->own()) i->stop();
}

std::vector<client::Informer*> GatewayController::informers() { return impl_->own(); }

bool GatewayController::sync() {
  Impl& m = *impl_;
  const uint64_t seen = m.seen();
  if (seen == m.done) return true;
  gw::GatewayInputs in;
  in.classes = m.classes.list();
  in.gateways = m.gateways.list();
  for (auto* i : {&m.http, &m.grpc, &m.tcp, &m.tls})
    for (auto& r : i->list()) in.routes.push_back(std::move(r));
  in.grants = m.grants.list();
  in.services = m.services.list();
  in.namespaces = m.namespaces.list();
  in.secrets = m.secrets.list();
  // What the node proxies route (HTTP, with the L7 proxy and the external
  // datapath); a listener of another protocol says it is not served
  // (Programmed=False, Pending) rather than claim it is.
  in.served_protocols = m.served;
  const gw::GatewayState state = gw::gateway_compute(in);
  const std::string now = client::now_rfc3339();
  bool ok = m.sync_services(state, in.gateways, in.services);
  for (const auto& w : state.warnings) log::debug("Gateway API: {}", w.str());

  for (const auto& c : in.classes) {
    auto it = state.classes.find(client::member(c, "metadata").value("name", ""));
    if (it == state.classes.end()) continue;
    // member(): an empty object when there is no status yet.
    Json status = client::member(c, "status");
    status["conditions"] = gw::conditions_json(it->second.conditions, it->second.generation,
                                               client::member(status, "conditions"), now);
    ok = write_status(m.store, c, status, "GatewayClass") && ok;
  }
  for (const auto& g : in.gateways) {
    auto it = state.gateways.find(key_of(g));
    if (it == state.gateways.end()) continue;
    const gw::GatewayStatus& gs = it->second;
    const Json& prev = client::member(g, "status");
    Json status = Json::object();
    status["addresses"] = Json::array();
    for (const auto& a : gs.addresses) status["addresses"].push_back({{"type", "IPAddress"}, {"value", a}});
    status["conditions"] = gw::conditions_json(gs.conditions, gs.generation, client::member(prev, "conditions"), now);
    status["listeners"] = Json::array();
    for (const auto& l : gs.listeners) {
      Json prev_l;
      for (const auto& p : client::member(prev, "listeners"))
        if (p.value("name", "") == l.name) prev_l = client::member(p, "conditions");
      Json kinds = Json::array();
      for (const auto& k : l.supported_kinds) kinds.push_back({{"group", k.group}, {"kind", k.kind}});
      status["listeners"].push_back({{"name", l.name},
                                     {"supportedKinds", kinds},
                                     {"attachedRoutes", l.attached_routes},
                                     {"conditions", gw::conditions_json(l.conditions, gs.generation, prev_l, now)}});
    }
    ok = write_status(m.store, g, status, "Gateway") && ok;
  }
  for (const auto& r : in.routes) {
    const std::string kind = r.value("kind", "");
    auto it = state.routes.find(kind + " " + key_of(r));
    if (it == state.routes.end()) continue;
    const Json& prev = client::member(r, "status");
    // Other controllers' entries stay; ours are replaced.
    Json parents = Json::array();
    for (const auto& p : client::member(prev, "parents"))
      if (p.value("controllerName", "") != gw::kControllerName) parents.push_back(p);
    for (const auto& ps : it->second.parents) {
      Json pref = parent_ref_json(ps.ref);
      Json prev_c;
      for (const auto& p : client::member(prev, "parents"))
        if (p.value("controllerName", "") == gw::kControllerName &&
            client::member(p, "parentRef").value("name", "") == ps.ref.name &&
            client::member(p, "parentRef").value("namespace", "") == ps.ref.ns &&
            client::member(p, "parentRef").value("sectionName", "") == ps.ref.section)
          prev_c = client::member(p, "conditions");
      parents.push_back({{"parentRef", pref},
                         {"controllerName", gw::kControllerName},
                         {"conditions", gw::conditions_json(ps.conditions, it->second.generation, prev_c, now)}});
    }
    Json status = prev;
    status["parents"] = parents;
    ok = write_status(m.store, r, status, kind.c_str()) && ok;
  }
  if (ok) m.done = seen;
  return ok;
}

}  // namespace axon::agent
