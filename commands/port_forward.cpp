// axon port-forward: `kubectl port-forward` for the lab (liblab's
// port_forward.h). Listens on the machine's loopback and forwards each
// connection into a pod's network namespace, to the pod's own loopback port,
// byte for byte — the seed's
// `kubectl -n kube-system port-forward svc/hubble-ui 12000:80`:
//
//   axon port-forward -n kube-system svc/hubble-ui 12000:80
//   Forwarding from 127.0.0.1:12000 -> 8081
//
// A Service's port is resolved to its targetPort (named ports through the
// chosen pod's containers) on one ready pod it selects, as kubectl does.
#include "axon/base/strings.h"
#include "axon/lab/port_forward.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct PortForwardParams {
  std::string ns = "default";
  std::string target;
  std::vector<std::string> ports;
  std::string address = "127.0.0.1";
};

int run(cli::Context& ctx, const PortForwardParams& p) {
  std::vector<lab::PortMapping> mappings;
  for (const auto& s : p.ports) {
    auto m = lab::parse_port_mapping(s);
    if (!m) {
      throw cli::UsageError("port mapping " + s +
                            ": use [LOCAL_PORT:]REMOTE_PORT with ports 1-65535 (LOCAL 0: any free "
                            "port), e.g. 12000:80");
    }
    mappings.push_back(*m);
  }
  std::string kind = "pod", name = p.target;
  if (auto slash = p.target.find('/'); slash != std::string::npos) {
    kind = to_lower(p.target.substr(0, slash));
    name = p.target.substr(slash + 1);
  }
  if (kind == "po" || kind == "pods") kind = "pod";
  if (kind == "service" || kind == "services") kind = "svc";
  if (kind == "deployment" || kind == "deployments" || kind == "deployments.apps") kind = "deploy";
  if ((kind != "pod" && kind != "svc" && kind != "deploy") || name.empty()) {
    throw cli::UsageError("target " + p.target +
                          ": use POD, pod/NAME, svc/NAME or deploy/NAME (e.g. svc/hubble-ui)");
  }

  auto store = cli::connect_lab(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto paths = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
  if (!paths) {
    ctx.err << "Error: " << paths.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto target = lab::resolve_forward(**store, *paths, p.ns, kind, name, std::move(mappings));
  if (!target) {
    ctx.err << "Error: " << target.error().str() << "\n";
    return cli::kExitFailed;
  }
  cli::handle_stop_signals();
  auto st = lab::port_forward(
      *target, p.address,
      [&](int local, int pod_port) {
        ctx.out << "Forwarding from " << p.address << ":" << local << " -> " << pod_port << "\n";
        ctx.out.flush();
      },
      cli::stop_flag());
  if (!st) {
    ctx.err << "Error: " << st.error().str() << "\n";
    return cli::kExitFailed;
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<PortForwardParams>();
  b.description(
      "Forward local ports to a pod of the lab, as `kubectl port-forward` does: each connection "
      "to ADDRESS:LOCAL_PORT is carried into the pod's network namespace to its port. For a "
      "Service, the port is the Service's and goes to the targetPort of one ready pod it "
      "selects. Runs until Ctrl-C.");
  b.option("-n,--namespace", p.ns, "NAMESPACE", "The target's namespace");
  b.option("--address", p.address, "IP", "Local address to listen on");
  b.app().add_option("target", p.target, "POD, pod/NAME, svc/NAME or deploy/NAME")->required();
  b.app().add_option("ports", p.ports, "[LOCAL_PORT:]REMOTE_PORT...")->required();
  b.example("axon port-forward -n kube-system svc/hubble-ui 12000:80");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(port_forward, {"port-forward", "Forward local ports to a pod of the lab",
                                     "Commands", axon::commands::setup})
