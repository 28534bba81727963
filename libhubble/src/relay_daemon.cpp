#include "axon/hubble/relay_daemon.h"

#include <mutex>
#include <thread>

#include "axon/base/log.h"
#include "axon/base/strings.h"
#include "axon/client/connect.h"
#include "axon/client/informer.h"
#include "axon/hubble/forwarder.h"
#include "axon/hubble/metrics.h"
#include "axon/hubble/observer.h"
#include "axon/hubble/relay.h"

namespace axon::hubble {
namespace {

using namespace std::chrono_literals;

// The nodes of the store, kept by watching; refresh() (the relay's main
// loop) turns them into upstreams, which upstreams() answers from.
class StoreUpstreams final : public UpstreamDiscovery {
 public:
  StoreUpstreams(std::unique_ptr<client::ClusterStore> store,
                 std::function<std::string(const std::string&)> node_target)
      : store_(std::move(store)),
        nodes_(*store_, "v1", "Node"),
        node_target_(std::move(node_target)) {
    nodes_.start();
    (void)nodes_.wait_synced(std::chrono::seconds(10));
  }

  std::vector<Upstream> upstreams() const override {
    std::lock_guard lock(mu_);
    return list_;
  }

  // From the watched Nodes: no request to the store.
  void refresh() {
    std::vector<Upstream> list;
    for (const auto& n : nodes_.list()) {
      Upstream u;
      u.name = n["metadata"].value("name", "");
      std::string ip;
      for (const auto& a : client::member(client::member(n, "status"), "addresses")) {
        if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
      }
      if (node_target_) {
        u.target = node_target_(u.name);
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
  std::unique_ptr<client::ClusterStore> store_;
  client::Informer nodes_;
  std::function<std::string(const std::string&)> node_target_;
  mutable std::mutex mu_;
  std::vector<Upstream> list_;
};

}  // namespace

Status run_relay(const RelayDaemonOptions& o, const std::atomic<bool>& stop) {
  auto store = client::connect_store(o.store);
  if (!store) return store.error();
  log::info("relay: nodes from {}", (*store)->describe());
  auto discovery = std::make_shared<StoreUpstreams>(std::move(*store), o.node_target);
  discovery->refresh();

  MetricsRegistry registry;
  RelayOptions options;
  options.metrics = &registry;
  RelayService relay(discovery, options);
  auto server = FlowServer::start({&relay}, o.addresses);
  if (!server) return server.error();
  std::unique_ptr<MetricsHttpServer> metrics;
  if (!o.metrics_address.empty()) {
    auto m = MetricsHttpServer::start(registry, o.metrics_address, [&relay] { relay.refresh_metrics(); });
    if (m) {
      metrics = std::move(*m);
      log::info("relay metrics on http://{}/metrics", o.metrics_address);
    } else {
      log::warn("relay metrics on {}: {}", o.metrics_address, m.error().str());
    }
  }
  log::info("relay serving on {}", join(o.addresses, ", "));
  std::unique_ptr<SocketForwarder> forwarder;
  if (!o.forward_address.empty() && !o.forward_socket.empty() && !o.forward_netns.empty() &&
      other_netns(o.forward_netns)) {
    auto f = SocketForwarder::start(o.forward_address, o.forward_socket, o.forward_netns);
    if (f) {
      forwarder = std::move(*f);
      log::info("relay also on {} of the machine's network namespace", o.forward_address);
    } else {
      log::warn("relay: not on the machine's {}: {}", o.forward_address, f.error().str());
    }
  }
  while (!stop.load()) {
    for (int i = 0; i < 20 && !stop.load(); ++i) std::this_thread::sleep_for(100ms);
    discovery->refresh();
  }
  if (forwarder) forwarder->stop();
  if (metrics) metrics->stop();
  (*server)->stop();
  log::info("relay stopped");
  return {};
}

}  // namespace axon::hubble
