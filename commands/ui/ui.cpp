// axon ui: Hubble UI's job (the hubble-ui Deployment axon install renders).
// A web page with the live service map and flow table of a namespace,
// served over HTTP; the flows come from the relay (one follow stream,
// reconnected when it breaks) into a bounded cache (axon/hubble/ui.h) the
// page polls through a small JSON API:
//
//   GET /                      the page (commands/ui/, compiled in)
//   GET /api/namespaces        ["default", "production", ...]
//   GET /api/flows?namespace=NS&after=SEQ&limit=N&verdict=V
//   GET /api/map?namespace=NS  {"nodes": [...], "edges": [...]}
//   GET /api/status            relay connection, flows seen/lost/cached
//   GET /healthz               "ok" (liveness)
//
// In the lab the UI runs in a pod and reaches the relay the way the
// Deployment says, through cluster DNS and the relay's Service; the user
// reaches the UI with `axon port-forward -n kube-system svc/hubble-ui
// 12000:80`, as the seed does with kubectl.
#include <signal.h>

#include <httplib.h>

#include <atomic>
#include <mutex>
#include <span>
#include <thread>

#include "axon/base/embedded.h"
#include "axon/base/log.h"
#include "axon/client/etcd_store.h"
#include "axon/hubble/client.h"
#include "axon/hubble/ui.h"
#include "axon/lab/paths.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

std::span<const axon::EmbeddedFile> axon_ui_assets();  // generated: cmake/EmbedFiles.cmake

namespace axon::commands {
namespace {

using namespace std::chrono_literals;
using cli::CommandBuilder;

struct UiParams {
  std::string listen_address = ":8081";
  std::string relay;  // default: the lab's relay socket, else localhost:4245
  std::string store;  // default: AXON_STORE (for the namespace list)
  size_t buffer = 10000;
};

const std::atomic<bool>& g_stop = cli::stop_flag();

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
void follow_relay(const std::string& target, size_t backfill, hubble::ui::FlowCache& cache,
                  RelayState& state) {
  while (!g_stop.load()) {
    auto source = hubble::grpc_flow_source(target, {5000ms, 12000ms});
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
        [] { return g_stop.load(); });
    if (g_stop.load()) break;
    state.set(st ? "stream ended, reconnecting" : st.error().str());
    for (int i = 0; i < 10 && !g_stop.load(); ++i) std::this_thread::sleep_for(100ms);
  }
}

// The store's namespaces, so the picker lists quiet ones too.
void watch_namespaces(const std::string& store, hubble::ui::FlowCache& cache) {
  std::unique_ptr<client::EtcdStore> es;
  while (!g_stop.load()) {
    if (!es) {
      if (auto etcd = client::EtcdClient::connect(store, 5s)) {
        es = std::make_unique<client::EtcdStore>(std::shared_ptr<client::EtcdClient>(std::move(*etcd)));
      }
    }
    if (es) {
      if (auto list = es->list("v1", "Namespace", "", "")) {
        std::set<std::string> names;
        for (const auto& n : *list) names.insert(n["metadata"].value("name", ""));
        cache.set_known_namespaces(std::move(names));
      }
    }
    for (int i = 0; i < 50 && !g_stop.load(); ++i) std::this_thread::sleep_for(100ms);
  }
}

size_t query_number(const httplib::Request& req, const char* name, size_t fallback, size_t max) {
  if (!req.has_param(name)) return fallback;
  const std::string v = req.get_param_value(name);
  if (v.empty() || v.size() > 18 || v.find_first_not_of("0123456789") != std::string::npos)
    return fallback;
  return std::min<size_t>(std::stoull(v), max);
}

void reply_json(httplib::Response& res, const hubble::ui::Json& doc) {
  res.set_header("Cache-Control", "no-store");
  res.set_content(doc.dump(), "application/json");
}

void routes(httplib::Server& svr, hubble::ui::FlowCache& cache, const RelayState& relay) {
  for (const auto& asset : axon_ui_assets()) {
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

int run_ui(cli::Context& ctx, const UiParams& p) {
  cli::handle_stop_signals();
  log::set_max_level(std::max(log::max_level(), log::Level::info));

  auto colon = p.listen_address.rfind(':');
  if (colon == std::string::npos) {
    throw cli::UsageError("--listen-address " + p.listen_address + ": use HOST:PORT or :PORT");
  }
  std::string host = p.listen_address.substr(0, colon);
  if (host.empty()) host = "0.0.0.0";
  int port = 0;
  try {
    port = std::stoi(p.listen_address.substr(colon + 1));
  } catch (...) {
    throw cli::UsageError("--listen-address " + p.listen_address + ": bad port");
  }
  if (p.buffer == 0) throw cli::UsageError("--buffer must be at least 1");

  std::string store = p.store.empty() ? ctx.env("AXON_STORE") : p.store;
  std::string relay = p.relay;
  if (relay.empty()) {
    if (auto lab = lab::lab_from_store_target(store)) {
      relay = "unix://" + lab->relay_socket();
    } else if (auto found = lab::find_lab(ctx.global.state_dir, ctx.global.lab)) {
      relay = "unix://" + found->relay_socket();
      if (store.empty()) store = found->etcd_target();
    } else {
      relay = "localhost:4245";
    }
  }

  hubble::ui::FlowCache cache(p.buffer);
  RelayState relay_state;
  httplib::Server svr;
  routes(svr, cache, relay_state);
  if (!svr.bind_to_port(host, port)) {
    ctx.err << "Error: cannot listen on " << p.listen_address << " (in use, or not an address here)\n";
    return cli::kExitFailed;
  }
  std::thread http([&] { svr.listen_after_bind(); });
  std::thread flows([&] { follow_relay(relay, p.buffer, cache, relay_state); });
  std::thread namespaces;
  if (!store.empty()) namespaces = std::thread([&] { watch_namespaces(store, cache); });
  log::info("ui serving on http://{}:{}/, flows from {}", host, port, relay);
  while (!g_stop.load()) std::this_thread::sleep_for(100ms);
  svr.stop();
  http.join();
  flows.join();
  if (namespaces.joinable()) namespaces.join();
  log::info("ui stopped");
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<UiParams>();
  b.description(
      "Run the web UI (Hubble UI's job; started by the hubble-ui Deployment): a page with the "
      "live service map and flow table of the namespace you pick, read from the relay. Reach it "
      "in a lab with `axon port-forward -n kube-system svc/hubble-ui 12000:80` and open "
      "http://localhost:12000.");
  b.option("--listen-address", p.listen_address, "ADDR",
           "HTTP address to serve on (\":8081\": every address of the UI's network namespace)");
  b.option("--relay", p.relay, "TARGET",
           "The relay's gRPC target (default: the lab's relay socket, else localhost:4245)");
  b.option("--store", p.store, "TARGET",
           "The store's gRPC target, for the namespace list (default: AXON_STORE)");
  b.option("--buffer", p.buffer, "N", "Flows kept for the page (the newest)");
  b.example("axon ui --listen-address 127.0.0.1:12000");
  b.action([&ctx = b.ctx(), &p] { return run_ui(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(ui, {"ui", "Run the web UI (started by the hubble-ui Deployment)", "Daemons",
                           axon::commands::setup})
