// axon port-forward: `kubectl port-forward` for the lab. Listens on the
// machine's loopback and forwards each connection into a pod's network
// namespace, to the pod's own loopback port, byte for byte — the seed's
// `kubectl -n kube-system port-forward svc/hubble-ui 12000:80`:
//
//   axon port-forward -n kube-system svc/hubble-ui 12000:80
//   Forwarding from 127.0.0.1:12000 -> 8081
//
// A Service's port is resolved to its targetPort (named ports through the
// chosen pod's containers) on one ready pod it selects, as kubectl does.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "axon/base/strings.h"
#include "axon/client/endpointslices.h"
#include "axon/hubble/forwarder.h"
#include "axon/lab/paths.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using namespace std::chrono_literals;
using cli::CommandBuilder;
using client::Json;

struct PortForwardParams {
  std::string ns = "default";
  std::string target;
  std::vector<std::string> ports;
  std::string address = "127.0.0.1";
};

const std::atomic<bool>& g_stop = cli::stop_flag();

bool pod_ready(const Json& pod) {
  if (client::member(client::member(pod, "status"), "podIP").is_null()) return false;
  for (const auto& c : client::member(client::member(pod, "status"), "conditions")) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

// A container port of `pod` named `name`, or 0.
int named_container_port(const Json& pod, const std::string& name) {
  for (const auto& c : client::member(client::member(pod, "spec"), "containers")) {
    for (const auto& port : client::member(c, "ports")) {
      if (port.value("name", "") == name) return port.value("containerPort", 0);
    }
  }
  return 0;
}

struct Mapping {
  int local = 0;
  int remote = 0;     // as given (a Service's port for svc/)
  int pod_port = 0;   // resolved
  std::string text;   // as given
};

Mapping parse_mapping(const std::string& text) {
  Mapping m;
  m.text = text;
  auto colon = text.find(':');
  auto number = [&](const std::string& s, bool zero_ok) {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(s) > 65535 || (!zero_ok && std::stoi(s) == 0)) {
      throw cli::UsageError("port mapping " + text +
                            ": use [LOCAL_PORT:]REMOTE_PORT with ports 1-65535 (LOCAL 0: any free "
                            "port), e.g. 12000:80");
    }
    return std::stoi(s);
  };
  if (colon == std::string::npos) {
    m.remote = number(text, false);
    m.local = m.remote;
  } else {
    m.local = colon == 0 ? 0 : number(text.substr(0, colon), true);
    m.remote = number(text.substr(colon + 1), false);
  }
  return m;
}

int run(cli::Context& ctx, const PortForwardParams& p) {
  std::vector<Mapping> mappings;
  for (const auto& s : p.ports) mappings.push_back(parse_mapping(s));
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
  auto lab = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
  if (!lab) {
    ctx.err << "Error: " << lab.error().str() << "\n";
    return cli::kExitFailed;
  }

  // The pod, and for a Service the port -> targetPort mapping.
  Json pod;
  Json service;
  if (kind == "pod") {
    auto got = (*store)->get(client::ObjectRef{"v1", "Pod", p.ns, name});
    if (!got || !*got) {
      ctx.err << "Error: pod " << p.ns << "/" << name << " not found\n";
      return cli::kExitFailed;
    }
    pod = **got;
    if (!pod_ready(pod)) {
      ctx.err << "Error: pod " << p.ns << "/" << name << " is not running and ready\n";
      return cli::kExitFailed;
    }
  } else {
    Json selector;
    if (kind == "svc") {
      auto got = (*store)->get(client::ObjectRef{"v1", "Service", p.ns, name});
      if (!got || !*got) {
        ctx.err << "Error: service " << p.ns << "/" << name << " not found\n";
        return cli::kExitFailed;
      }
      service = **got;
      selector = client::member(client::member(service, "spec"), "selector");
    } else {
      auto got = (*store)->get(client::ObjectRef{"apps/v1", "Deployment", p.ns, name});
      if (!got || !*got) {
        ctx.err << "Error: deployment " << p.ns << "/" << name << " not found\n";
        return cli::kExitFailed;
      }
      selector = client::member(
          client::member(client::member((**got), "spec"), "selector"), "matchLabels");
    }
    if (!selector.is_object() || selector.empty()) {
      ctx.err << "Error: " << kind << " " << p.ns << "/" << name
              << " has no selector: forward to one of its pods with pod/NAME\n";
      return cli::kExitFailed;
    }
    auto pods = (*store)->list("v1", "Pod", p.ns, "");
    if (!pods) {
      ctx.err << "Error: " << pods.error().str() << "\n";
      return cli::kExitFailed;
    }
    for (const auto& candidate : *pods) {
      if (pod_ready(candidate) &&
          client::map_selector_matches(selector, client::member(candidate["metadata"], "labels"))) {
        pod = candidate;
        break;
      }
    }
    if (pod.is_null()) {
      ctx.err << "Error: " << kind << " " << p.ns << "/" << name
              << " has no running and ready pod to forward to\n";
      return cli::kExitFailed;
    }
  }
  for (auto& m : mappings) {
    m.pod_port = m.remote;
    if (service.is_null()) continue;
    bool found = false;
    for (const auto& sp : client::member(service["spec"], "ports")) {
      if (sp.value("port", 0) != m.remote) continue;
      found = true;
      const auto& tp = client::member(sp, "targetPort");
      if (tp.is_number_integer()) {
        m.pod_port = tp.get<int>();
      } else if (tp.is_string()) {
        m.pod_port = named_container_port(pod, tp.get<std::string>());
        if (m.pod_port == 0) {
          ctx.err << "Error: service " << p.ns << "/" << name << " port " << m.remote
                  << ": targetPort \"" << tp.get<std::string>() << "\" names no port of pod "
                  << pod["metadata"].value("name", "") << "\n";
          return cli::kExitFailed;
        }
      }
    }
    if (!found) {
      ctx.err << "Error: service " << p.ns << "/" << name << " has no port " << m.remote
              << ": see `axon get svc " << name << " -n " << p.ns << "`\n";
      return cli::kExitFailed;
    }
  }

  const std::string netns = "/run/netns/" + lab->pod_netns(pod["metadata"].value("uid", ""));
  std::vector<std::unique_ptr<hubble::SocketForwarder>> forwarders;
  for (const auto& m : mappings) {
    auto f = hubble::SocketForwarder::start_tcp(p.address + ":" + std::to_string(m.local),
                                                "127.0.0.1:" + std::to_string(m.pod_port), netns);
    if (!f) {
      ctx.err << "Error: " << f.error().str() << "\n";
      return cli::kExitFailed;
    }
    ctx.out << "Forwarding from " << p.address << ":" << (*f)->port() << " -> " << m.pod_port
            << "\n";
    forwarders.push_back(std::move(*f));
  }
  ctx.out.flush();

  cli::handle_stop_signals();
  const std::string pod_name = pod["metadata"].value("name", "");
  while (!g_stop.load()) {
    std::this_thread::sleep_for(200ms);
    // The pod went away: so does the forward, as kubectl's does.
    if (::access(netns.c_str(), F_OK) != 0) {
      ctx.err << "Error: pod " << p.ns << "/" << pod_name << " is gone\n";
      return cli::kExitFailed;
    }
  }
  for (auto& f : forwarders) f->stop();
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
