// axon ui: Hubble UI's job (the hubble-ui Deployment axon install renders),
// served by libhubble (axon/hubble/ui_server.h). In the lab the UI runs in a
// pod and reaches the relay the way the Deployment says, through cluster DNS
// and the relay's Service; the user reaches the UI with `axon port-forward
// -n kube-system svc/hubble-ui 12000:80`, as the seed does with kubectl.
#include "axon/base/log.h"
#include "axon/hubble/ui_server.h"
#include "axon/lab/paths.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct UiParams {
  std::string listen_address = ":8081";
  std::string relay;  // default: the lab's relay socket, else localhost:4245
  std::string store;  // default: AXON_STORE (for the namespace list)
  size_t buffer = 10000;
};

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

  // The namespaces' store: the lab's etcd, else the Kubernetes API
  // (--kubeconfig or the pod's service account), else none.
  std::optional<client::StoreTarget> target;
  if (!store.empty() || !ctx.global.kubeconfig.empty() ||
      !ctx.env("KUBERNETES_SERVICE_HOST").empty()) {
    target.emplace();
    target->etcd = store;
    target->kubeconfig = ctx.global.kubeconfig;
    target->context = ctx.global.kube_context;
  }
  if (auto st = hubble::ui::serve({host, port, relay, target, p.buffer}, cli::stop_flag()); !st) {
    ctx.err << "Error: " << st.error().str() << "\n";
    return cli::kExitFailed;
  }
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
