// The web UI's server (`axon ui`, Hubble UI's job): the page (libhubble/ui/,
// compiled in), the JSON API it polls, one follow stream from the relay into
// the FlowCache (ui.h), and the store's namespaces for the picker.
#include "axon/hubble/ui_server.h"

#include <httplib.h>

#include <mutex>
#include <set>
#include <span>
#include <thread>

#include "axon/base/embedded.h"
#include "axon/base/log.h"
#include "axon/client/connect.h"
#include "axon/client/informer.h"
#include "axon/hubble/client.h"

std::span<const axon::EmbeddedFile> axon_ui_assets();  // generated: cmake/EmbedFiles.cmake

namespace axon::hubble::ui {
namespace {

using namespace std::chrono_literals;

std::span<const EmbeddedFile> ui_assets() { return axon_ui_assets(); }

// The relay connection's state, for /api/status.
class RelayState {
 public:
  void set(std::string s) {
    std::lock_guard lock(mu_);
    if (s != text_) log::info("ui: relay {}", s);
    text_ = std::move(s);
  }
  std::string get() const {
    std::lock_guard lock(mu_);
    return text_;
  }

 private:
  mutable std::mutex mu_;
  std::string text_ = "connecting";
};

// Follows the relay into the cache until stopped; reconnects after errors.
void follow_relay(const std::string& target, size_t backfill, FlowCache& cache,
                  RelayState& state, const std::atomic<bool>& stop) {
  while (!stop.load()) {
    auto source = grpc_flow_source(target, {5000ms, 12000ms});
    observer::GetFlowsRequest req;
    req.set_follow(true);
    req.set_number(backfill);
    // After a reconnect: what came since the newest flow the cache has.
    if (int64_t newest = cache.newest_time_ns(); newest > 0) {
      newest += 1;
      req.mutable_since()->set_seconds(newest / 1'000'000'000);
      req.mutable_since()->set_nanos(static_cast<int32_t>(newest % 1'000'000'000));
    }
    bool connected = false;
    auto st = source->get_flows(
        req,
        [&](const observer::GetFlowsResponse& r) -> Status {
          if (!connected) {
            connected = true;
            state.set("connected");
          }
          if (r.has_flow()) cache.add(r.flow());
          if (r.has_lost_events()) cache.add_lost(r.lost_events().num_events_lost());
          return {};
        },
        [&stop] { return stop.load(); });
    if (stop.load()) break;
    state.set(st ? "stream ended, reconnecting" : st.error().str());
    for (int i = 0; i < 10 && !stop.load(); ++i) std::this_thread::sleep_for(100ms);
  }
}

// The store's namespaces, so the picker lists quiet ones too: watched, so
// a new namespace shows at once and nothing is listed again.
void watch_namespaces(const client::StoreTarget& store, FlowCache& cache,
                      const std::atomic<bool>& stop) {
  std::unique_ptr<client::ClusterStore> es;
  while (!stop.load() && !es) {
    if (auto connected = client::connect_store(store, 5s)) {
      es = std::move(*connected);
    } else {
      for (int i = 0; i < 50 && !stop.load(); ++i) std::this_thread::sleep_for(100ms);
    }
  }
  if (!es) return;
  client::Informer namespaces(*es, "v1", "Namespace");
  std::atomic<bool> changed{true};
  namespaces.on_change([&] { changed.store(true); });
  namespaces.start();
  while (!stop.load()) {
    if (changed.exchange(false)) {
      std::set<std::string> names;
      for (const auto& n : namespaces.list()) names.insert(n["metadata"].value("name", ""));
      cache.set_known_namespaces(std::move(names));
    }
    std::this_thread::sleep_for(100ms);
  }
  namespaces.stop();
}

size_t query_number(const httplib::Request& req, const char* name, size_t fallback, size_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
    return fallback;
  return std::min<size_t>(std::stoull(v), max);
}

void reply_json(httplib::Response& res, const Json& doc) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(doc.dump(), "application/json");
}

void routes(httplib::Server& svr, FlowCache& cache, const RelayState& relay) {
  for (const auto& asset : ui_assets()) {
    auto serve = [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(asset.bytes), std::string(asset.content_type).c_str());
    };
    svr.Get("/" + std::string(asset.path), serve);
    if (asset.path == "index.html") svr.Get("/", serve);
  }
  svr.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok\n", "text/plain");
  });
  svr.Get("/api/namespaces", [&cache](const httplib::Request&, httplib::Response& res) {
    reply_json(res, cache.namespaces());
  });
  svr.Get("/api/flows", [&cache](const httplib::Request& req, httplib::Response& res) {
    reply_json(res, cache.flows(req.get_param_value("namespace"), query_number(req, "after", 0, UINT64_MAX),
                                query_number(req, "limit", 500, 5000),
                                req.get_param_value("verdict")));
  });
  svr.Get("/api/map", [&cache](const httplib::Request& req, httplib::Response& res) {
    reply_json(res, cache.service_map(req.get_param_value("namespace")));
  });
  svr.Get("/api/status", [&cache, &relay](const httplib::Request&, httplib::Response& res) {
    reply_json(res, {{"relay", relay.get()}, {"flows", cache.stats()}});
  });
}

}  // namespace

Status serve(const ServerOptions& o, const std::atomic<bool>& stop) {
  FlowCache cache(o.buffer);
  RelayState relay_state;
  httplib::Server svr;
  routes(svr, cache, relay_state);
  if (!svr.bind_to_port(o.host, o.port)) {
    return Error{"cannot listen on " + o.host + ":" + std::to_string(o.port) +
                 " (in use, or not an address here)"};
  }
  std::thread http([&] { svr.listen_after_bind(); });
  std::thread flows([&] { follow_relay(o.relay, o.buffer, cache, relay_state, stop); });
  std::thread namespaces;
  if (o.store) namespaces = std::thread([&] { watch_namespaces(*o.store, cache, stop); });
  log::info("ui serving on http://{}:{}/, flows from {}", o.host, o.port, o.relay);
  while (!stop.load()) std::this_thread::sleep_for(100ms);
  svr.stop();
  http.join();
  flows.join();
  if (namespaces.joinable()) namespaces.join();
  log::info("ui stopped");
  return {};
}

}  // namespace axon::hubble::ui
