// axon relay: Hubble relay's job (the hubble-relay Deployment axon install
// renders). One Observer API over every node agent's: the nodes come from
// the store, each agent is read over its flow socket, flows are merged in
// time order (axon/hubble/relay.h).
//
// In the lab the relay runs in a pod: AXON_STORE names the lab's etcd, the
// lab's directory is visible at the same path, so it reads each agent at
// <lab>/nodes/<node>/run/axon/hubble.sock and serves <lab>/relay.sock,
// where `axon observe` looks, and (forwarded) 127.0.0.1:4245 of the
// machine's own network namespace, where Hubble clients look. Outside a
// lab, agents are dialled at their node's InternalIP on Hubble's port 4244.
#include <signal.h>

#include <atomic>
#include <mutex>
#include <thread>

#include "axon/base/log.h"
#include "axon/base/strings.h"
#include "axon/client/etcd_store.h"
#include "axon/hubble/forwarder.h"
#include "axon/hubble/relay.h"
#include "axon/lab/paths.h"
#include "axon/lab/process.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using namespace std::chrono_literals;
using cli::CommandBuilder;
using client::Json;

struct RelayParams {
  std::string listen_address = ":4245";
  std::string socket;  // default: the lab's relay.sock
  std::string store;   // default: AXON_STORE
  std::string host_loopback = "127.0.0.1:4245";
  std::string metrics_address = ":9966";  // Hubble relay's metrics port
};

// The machine's network namespace, as the lab knows it: the one its etcd
// runs in (`lab up` starts etcd there; nodes and pods get their own). ""
// when etcd is not running.
std::string lab_machine_netns(const lab::LabPaths& lab) {
  auto pid = lab::read_live_pid(lab.pid_dir() + "/etcd.pid");
  return pid ? "/proc/" + std::to_string(*pid) + "/ns/net" : "";
}

const std::atomic<bool>& g_stop = cli::stop_flag();

// The nodes of the store, refreshed by refresh() (the relay's main loop);
// upstreams() answers from the last list.
class StoreUpstreams final : public hubble::UpstreamDiscovery {
 public:
  StoreUpstreams(std::unique_ptr<client::EtcdStore> store, std::optional<lab::LabPaths> lab)
      : store_(std::move(store)), lab_(std::move(lab)) {}

  std::vector<hubble::Upstream> upstreams() const override {
    std::lock_guard lock(mu_);
    return list_;
  }

  void refresh() {
    auto nodes = store_->list("v1", "Node", "", "");
    if (!nodes) return;
    std::vector<hubble::Upstream> list;
    for (const auto& n : *nodes) {
      hubble::Upstream u;
      u.name = n["metadata"].value("name", "");
      std::string ip;
      for (const auto& a : client::member(client::member(n, "status"), "addresses")) {
        if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
      }
      if (lab_) {
        u.target = "unix://" + lab_->node_hubble_socket(u.name);
        u.address = ip;
      } else if (!ip.empty()) {
        u.target = ip + ":4244";
      } else {
        continue;
      }
      list.push_back(std::move(u));
    }
    std::lock_guard lock(mu_);
    if (list.size() != list_.size()) log::info("relay: {} nodes", list.size());
    list_ = std::move(list);
  }

 private:
  std::unique_ptr<client::EtcdStore> store_;
  std::optional<lab::LabPaths> lab_;
  mutable std::mutex mu_;
  std::vector<hubble::Upstream> list_;
};

int run_relay(cli::Context& ctx, const RelayParams& p) {
  cli::handle_stop_signals();
  log::set_max_level(std::max(log::max_level(), log::Level::info));

  std::string store = p.store.empty() ? ctx.env("AXON_STORE") : p.store;
  std::optional<lab::LabPaths> lab = lab::lab_from_store_target(store);
  if (store.empty()) {
    // On the machine itself: the lab that is up.
    auto found = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
    if (!found) {
      ctx.err << "Error: no store: set AXON_STORE or --store, or bring a lab up ("
              << found.error().message << ")\n";
      return cli::kExitFailed;
    }
    lab = *found;
    store = lab->etcd_target();
  }
  auto etcd = client::EtcdClient::connect(store, 30s);
  if (!etcd) {
    ctx.err << "Error: store " << store << ": " << etcd.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto discovery = std::make_shared<StoreUpstreams>(
      std::make_unique<client::EtcdStore>(std::shared_ptr<client::EtcdClient>(std::move(*etcd))),
      lab);
  discovery->refresh();

  std::vector<std::string> addresses;
  std::string socket = p.socket;
  if (socket.empty() && lab) socket = lab->relay_socket();
  if (!socket.empty()) addresses.push_back("unix://" + socket);
  if (!p.listen_address.empty()) {
    addresses.push_back(p.listen_address.starts_with(":") ? "0.0.0.0" + p.listen_address
                                                          : p.listen_address);
  }
  if (addresses.empty()) throw cli::UsageError("nothing to listen on: give --listen-address or --socket");
  hubble::MetricsRegistry registry;
  hubble::RelayOptions options;
  options.metrics = &registry;
  hubble::RelayService relay(discovery, options);
  auto server = hubble::FlowServer::start({&relay}, addresses);
  if (!server) {
    ctx.err << "Error: " << server.error().str() << "\n";
    return cli::kExitFailed;
  }
  std::unique_ptr<hubble::MetricsHttpServer> metrics;
  if (!p.metrics_address.empty()) {
    const std::string at = p.metrics_address.starts_with(":") ? "0.0.0.0" + p.metrics_address
                                                              : p.metrics_address;
    auto m = hubble::MetricsHttpServer::start(registry, at, [&relay] { relay.refresh_metrics(); });
    if (m) {
      metrics = std::move(*m);
      log::info("relay metrics on http://{}/metrics", at);
    } else {
      log::warn("relay metrics on {}: {}", at, m.error().str());
    }
  }
  log::info("relay serving on {}", join(addresses, ", "));
  // Where Hubble clients on the machine look: its own loopback, while the
  // relay runs in a pod's network namespace.
  std::unique_ptr<hubble::SocketForwarder> forwarder;
  std::string machine_netns = lab ? lab_machine_netns(*lab) : "";
  if (!p.host_loopback.empty() && !socket.empty() && !machine_netns.empty() &&
      hubble::other_netns(machine_netns)) {
    auto f = hubble::SocketForwarder::start(p.host_loopback, socket, machine_netns);
    if (f) {
      forwarder = std::move(*f);
      log::info("relay also on {} of the machine's network namespace", p.host_loopback);
    } else {
      log::warn("relay: not on the machine's {}: {}", p.host_loopback, f.error().str());
    }
  }
  while (!g_stop.load()) {
    for (int i = 0; i < 20 && !g_stop.load(); ++i) std::this_thread::sleep_for(100ms);
    discovery->refresh();
  }
  if (forwarder) forwarder->stop();
  if (metrics) metrics->stop();
  (*server)->stop();
  log::info("relay stopped");
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<RelayParams>();
  b.description(
      "Run the flow relay (Hubble relay's job; started by the hubble-relay Deployment): one "
      "Observer API over every node's agent, flows merged in time order, unreachable nodes "
      "reported. Nodes come from the store (AXON_STORE, or the lab that is up). In a lab it "
      "serves <state-dir>/<lab>/relay.sock, where `axon observe` reads by default.");
  b.option("--listen-address", p.listen_address, "ADDR",
           "TCP address to serve on (\":4245\": every address of the relay's network namespace; "
           "\"\" for none)");
  b.option("--socket", p.socket, "PATH", "Unix socket to serve on (default: the lab's relay.sock)");
  b.option("--store", p.store, "TARGET", "The store's gRPC target (default: AXON_STORE)");
  b.option("--metrics-listen-address", p.metrics_address, "ADDR",
           "Prometheus metrics at ADDR/metrics (\":9966\": every address of the relay's network "
           "namespace; \"\" for none)");
  b.option("--host-loopback", p.host_loopback, "ADDR",
           "In a lab pod, also answer on ADDR of the machine's own network namespace (the lab's "
           "etcd's) by forwarding to the unix socket; \"\" for none");
  b.example("axon relay --listen-address :4245");
  b.action([&ctx = b.ctx(), &p] { return run_relay(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(relay, {"relay", "Run the flow relay (started by the hubble-relay Deployment)",
                              "Daemons", axon::commands::setup})
