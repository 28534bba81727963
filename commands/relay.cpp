// axon relay: Hubble relay's job (the hubble-relay Deployment axon install
// renders), run by libhubble (axon/hubble/relay_daemon.h).
//
// In the lab the relay runs in a pod: AXON_STORE names the lab's etcd, the
// lab's directory is visible at the same path, so it reads each agent at
// <lab>/nodes/<node>/run/axon/hubble.sock and serves <lab>/relay.sock,
// where `axon observe` looks, and (forwarded) 127.0.0.1:4245 of the
// machine's own network namespace, where Hubble clients look. Outside a
// lab, agents are dialled at their node's InternalIP on Hubble's port 4244.
#include "axon/base/log.h"
#include "axon/hubble/relay_daemon.h"
#include "axon/lab/paths.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct RelayParams {
  std::string listen_address = ":4245";
  std::string socket;  // default: the lab's relay.sock
  std::string store;   // default: AXON_STORE
  std::string host_loopback = "127.0.0.1:4245";
  std::string metrics_address = ":9966";  // Hubble relay's metrics port
};

std::string any_address(const std::string& a) { return a.starts_with(":") ? "0.0.0.0" + a : a; }

int run_relay(cli::Context& ctx, const RelayParams& p) {
  cli::handle_stop_signals();
  log::set_max_level(std::max(log::max_level(), log::Level::info));

  hubble::RelayDaemonOptions o;
  o.store.etcd = p.store.empty() ? ctx.env("AXON_STORE") : p.store;
  o.store.kubeconfig = ctx.global.kubeconfig;
  o.store.context = ctx.global.kube_context;
  std::optional<lab::LabPaths> lab = lab::lab_from_store_target(o.store.etcd);
  // A pod of the Kubernetes lab: the store is the API server, the lab's
  // sockets are where they are in the etcd lab.
  if (!lab && o.store.etcd.empty()) lab = lab::lab_of_pod(ctx.env("AXON_STATE_DIR"), ctx.env("AXON_LAB"));
  // On Kubernetes: --kubeconfig, or the pod's service account.
  const bool kubernetes = o.store.etcd.empty() && (!o.store.kubeconfig.empty() ||
                                                   !ctx.env("KUBERNETES_SERVICE_HOST").empty());
  if (o.store.etcd.empty() && !kubernetes) {
    // On the machine itself: the lab that is up.
    auto found = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
    if (!found) {
      ctx.err << "Error: no store: set AXON_STORE or --store, or bring a lab up ("
              << found.error().message << ")\n";
      return cli::kExitFailed;
    }
    lab = *found;
    o.store.etcd = lab->etcd_target();
  }
  std::string socket = p.socket;
  if (lab) {
    o.node_target = [paths = *lab](const std::string& node) {
      return "unix://" + paths.node_hubble_socket(node);
    };
    if (socket.empty()) socket = lab->relay_socket();
    if (!p.host_loopback.empty()) {
      o.forward_address = p.host_loopback;
      o.forward_socket = socket;
      o.forward_netns = lab::machine_netns(*lab);
    }
  }
  if (!socket.empty()) o.addresses.push_back("unix://" + socket);
  if (!p.listen_address.empty()) o.addresses.push_back(any_address(p.listen_address));
  if (o.addresses.empty()) throw cli::UsageError("nothing to listen on: give --listen-address or --socket");
  if (!p.metrics_address.empty()) o.metrics_address = any_address(p.metrics_address);
  if (auto st = hubble::run_relay(o, cli::stop_flag()); !st) {
    ctx.err << "Error: " << st.error().str() << "\n";
    return cli::kExitFailed;
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<RelayParams>();
  b.description(
      "Run the flow relay (Hubble relay's job; started by the hubble-relay Deployment): one "
      "Observer API over every node's agent, flows merged in time order, unreachable nodes "
      "reported. Nodes come from the store: the lab's etcd (--store, AXON_STORE), the Kubernetes API "
      "(--kubeconfig, or the pod's service account), else the lab that is up. In a lab it "
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
