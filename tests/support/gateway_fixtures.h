// Gateway listener tests on loopback: a backend (httplib) and the node
// proxy as a Gateway listener fed with snapshots, as the agent feeds it.
//
//   Served backend([](httplib::Server& s) { s.Get(".*", ...); });
//   GatewayListener gw;                      // HTTP; GatewayListener gw(true): HTTPS
//   gw.set(snapshot_json);                   // routes (and certificates) from now on
//   KeepAlive conn(gw.port()); ...
//   r.object = http_route("api", R"({"rules": [...]})");
#pragma once

#include <doctest/doctest.h>
#include <httplib.h>

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "axon/proxy/gateway_routes.h"
#include "axon/proxy/http_proxy.h"

namespace axon::test {

// An httplib server on loopback, `setup` giving its handlers; serving
// until destroyed.
struct Served {
  httplib::Server server;
  int port = 0;
  std::thread thread;
  template <class Setup>
  explicit Served(Setup setup) {
    setup(server);
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    while (!server.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ~Served() {
    server.stop();
    thread.join();
  }
  Served(const Served&) = delete;
  Served& operator=(const Served&) = delete;
};

// An HTTPRoute in prod (created 2026-01-01) with this spec (JSON text), as
// a snapshot's route object.
inline nlohmann::json http_route(const std::string& name, const std::string& spec) {
  return {{"apiVersion", "gateway.networking.k8s.io/v1"},
          {"kind", "HTTPRoute"},
          {"metadata", {{"name", name}, {"namespace", "prod"}, {"creationTimestamp", "2026-01-01T00:00:00Z"}}},
          {"spec", nlohmann::json::parse(spec)}};
}

// The node proxy as a Gateway listener on a loopback port of its own (an
// HTTPS one with `tls`: certificates by SNI from the same snapshot), routing
// by the last snapshot `set`; none yet: 503, as the node before the agent's
// first snapshot.
class GatewayListener {
 public:
  explicit GatewayListener(bool tls = false) {
    proxy::ProxyOptions o;
    o.port = 0;
    o.address = "127.0.0.1";
    o.transparent = false;
    proxy_ = std::make_unique<proxy::HttpProxy>(o, proxy::HttpProxy::Decide{});
    proxy_->set_router([this](const proxy::ConnectionInfo& c, const proxy::HttpRequestView& v) {
      auto r = routes();
      if (r) return r->route(c, v);
      proxy::RouteAnswer none;
      none.status = 503;
      return none;
    });
    if (tls) {
      proxy_->set_tls([this](const proxy::ConnectionInfo& c, const std::string& name) {
        auto r = routes();
        return r ? r->certificate(c, name) : nullptr;
      });
    }
    REQUIRE(proxy_->start().ok());
  }
  // One HTTP listener gw/web :80 on this port, serving one route.
  GatewayListener(proxy::GatewaySnapshot::AttachedRoute r,
                  std::map<std::string, std::vector<std::string>> endpoints)
      : GatewayListener() {
    proxy::GatewaySnapshot s;
    s.frontends.push_back({"127.0.0.1", port(), "gw/web", 80});
    s.listeners.push_back({"gw/web", 80, "HTTP", {std::move(r)}});
    s.endpoints = std::move(endpoints);
    set(proxy::wire::to_json(s));
  }
  ~GatewayListener() { proxy_->stop(); }
  GatewayListener(const GatewayListener&) = delete;
  GatewayListener& operator=(const GatewayListener&) = delete;

  // Routes by this snapshot from now on (it must build).
  void set(const nlohmann::json& snapshot) {
    auto built = proxy::GatewayRoutes::from_json(snapshot);
    REQUIRE_MESSAGE(built.ok(), (built.ok() ? "" : built.error().str()));
    std::lock_guard l(mu_);
    routes_ = *built;
  }
  std::shared_ptr<const proxy::GatewayRoutes> routes() const {
    std::lock_guard l(mu_);
    return routes_;
  }
  uint16_t port() const { return proxy_->port(); }
  proxy::HttpProxy& proxy() { return *proxy_; }

 private:
  std::unique_ptr<proxy::HttpProxy> proxy_;
  mutable std::mutex mu_;
  std::shared_ptr<const proxy::GatewayRoutes> routes_;
};

}  // namespace axon::test
