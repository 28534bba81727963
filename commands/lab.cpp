// axon lab: a whole cluster inside this machine, out of network namespaces.
#include "axon/lab/lab.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include "axon/base/log.h"
#include "axon/client/etcd_store.h"
#include "axon/lab/control_plane.h"
#include "axon/lab/controller.h"
#include "axon/lab/kubelet.h"
#include "axon/lab/exec.h"
#include "axon/lab/process.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/stop_signals.h"
#include "cli/output.h"
#include "cli/progress.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
namespace fs = std::filesystem;

using cli::handle_stop_signals;
const std::atomic<bool>& g_stop = cli::stop_flag();  // set by SIGTERM/SIGINT in the lab's daemons

struct LabParams {
  std::string name;
  int nodes = 3;
  std::string node;
  std::string ns = "default";
  std::vector<std::string> command;
  std::string component;
  bool follow = false;
  bool kubernetes = false;
  std::string kube_binaries;
  std::string kubeconfig;  // the kubelet's, in a Kubernetes lab
  int port = 0;            // the API server proxy's
};

lab::LabPaths paths_for(cli::Context& ctx, const std::string& name) {
  return lab::LabPaths{ctx.global.state_dir,
                       name.empty() ? (ctx.global.lab.empty() ? "lab" : ctx.global.lab) : name};
}

// The lab a command refers to: --name, else --lab/AXON_LAB, else the only one.
Result<lab::LabPaths> existing_lab(cli::Context& ctx, const std::string& name) {
  return lab::find_lab(ctx.global.state_dir, name.empty() ? ctx.global.lab : name);
}

int up(cli::Context& ctx, const LabParams& p) {
  cli::Progress progress(ctx);
  lab::UpOptions o{paths_for(ctx, p.name), p.nodes, false, ""};
  o.kubernetes = p.kubernetes;
  o.kube_binaries = p.kube_binaries.empty() ? ctx.env("AXON_KUBE_TOOLS") : p.kube_binaries;
  auto r = lab::lab_up(o, [&](const std::string& s) { progress.status(s); });
  if (!r) return progress.fail(r.error());
  progress.clear();
  if (r->already_up) {
    ctx.err << "lab " << o.paths.name << " is already up; nothing changed\n";
    return cli::kExitOk;
  }
  ctx.out << "lab " << o.paths.name << " is up: " << p.nodes << " nodes on 10.0.0.0/24 (";
  for (int i = 1; i <= p.nodes; ++i)
    ctx.out << (i > 1 ? ", " : "") << lab::node_name(i) << " " << lab::node_ip(i);
  ctx.out << "), client " << lab::kClientIp << ", services 10.96.0.0/12, cluster DNS "
          << lab::kClusterDnsIp << "\n";
  if (p.kubernetes) {
    ctx.out << "Kubernetes 1.26 control plane on " << lab::kControlPlaneIp << ":"
            << lab::kApiServerPort << "; kubeconfig (used by axon for this lab; kubectl too): "
            << o.paths.kubeconfig() << "\n";
  }
  ctx.out
          << "like Talos with `cni: none`, pods wait for a network: next, axon install -f "
             "values.yaml\n";
  return cli::kExitOk;
}

int down(cli::Context& ctx, const LabParams& p) {
  cli::Progress progress(ctx);
  auto paths = paths_for(ctx, p.name);
  auto r = lab::lab_down(paths, [&](const std::string& s) { progress.status(s); });
  if (!r) return progress.fail(r.error());
  progress.clear();
  if (r->processes == 0 && r->namespaces == 0 && !r->pins && !r->state) {
    ctx.err << "lab " << paths.name << " is not up; nothing to remove\n";
    return cli::kExitOk;
  }
  ctx.out << "lab " << paths.name << " is down: " << r->processes << " processes stopped, "
          << r->namespaces << " network namespaces deleted" << (r->pins ? ", pins removed" : "")
          << (r->state ? ", state removed" : "") << "\n";
  return cli::kExitOk;
}

int status(cli::Context& ctx, const LabParams& p) {
  auto paths = existing_lab(ctx, p.name);
  if (!paths) {
    ctx.err << "Error: " << paths.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto s = lab::lab_status(*paths);
  bool all_running = true;
  for (const auto& c : s.components) all_running = all_running && c.running;
  if (cli::parse_format(ctx.global.output) != cli::Format::table) {
    nlohmann::ordered_json doc = {{"name", s.name},
                                  {"nodes", s.nodes},
                                  {"healthy", all_running},
                                  {"components", nlohmann::ordered_json::array()},
                                  {"networkNamespaces", s.namespaces}};
    for (const auto& c : s.components)
      doc["components"].push_back({{"name", c.name}, {"running", c.running}, {"pid", c.pid}});
    cli::print_document(ctx.out, cli::parse_format(ctx.global.output), doc);
    return all_running ? cli::kExitOk : cli::kExitFailed;
  }
  cli::Style style(ctx.color());
  ctx.out << "lab " << s.name << ": " << s.nodes << " nodes, state in " << paths->dir() << "\n";
  cli::Table t({"COMPONENT", "STATUS", "PID", "LOG"});
  for (const auto& c : s.components) {
    std::string log = paths->log_dir() + "/" +
                      (c.name.starts_with("kubelet ") ? "kubelet-" + c.name.substr(8) : c.name) +
                      ".log";
    t.row({c.name, c.running ? style.green("running") : style.red("stopped"),
           c.running ? std::to_string(c.pid) : "-", log});
  }
  t.print(ctx.out);
  ctx.out << s.namespaces.size() << " network namespaces (" << paths->netns_prefix() << "*)\n";
  if (!all_running) ctx.err << "some components are stopped: `axon lab up` starts them again\n";
  return all_running ? cli::kExitOk : cli::kExitFailed;
}

// Runs a command in a pod's network, mount and UTS namespaces and root, as
// `kubectl exec` would; the exit code passes through.
int exec(cli::Context& ctx, const LabParams& p, const std::string& pod_name) {
  if (p.command.empty())
    throw cli::UsageError("give the command after --: axon lab exec POD -- CMD...");
  auto store = cli::connect_lab(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto paths = existing_lab(ctx, "");
  auto pod = (*store)->get(client::ObjectRef{"v1", "Pod", p.ns, pod_name});
  if (!pod || !*pod) {
    ctx.err << "Error: pod " << p.ns << "/" << pod_name << " not found\n";
    return cli::kExitFailed;
  }
  const std::string uid = (**pod)["metadata"].value("uid", "");
  ctx.out.flush();
  auto r = lab::exec_in_pod(*paths, uid, p.command, false);
  if (!r) {
    ctx.err << "Error: pod " << p.ns << "/" << pod_name << ": " << r.error().str() << "\n";
    return cli::kExitFailed;
  }
  return r->code;
}

int logs(cli::Context& ctx, const LabParams& p) {
  auto paths = existing_lab(ctx, p.name);
  if (!paths) {
    ctx.err << "Error: " << paths.error().str() << "\n";
    return cli::kExitFailed;
  }
  std::string file;
  const std::string& c = p.component;
  // Components (etcd, controller, kubelet-nodeN; in a Kubernetes lab
  // kube-apiserver, kube-controller-manager, kube-scheduler, kube-etcd,
  // apiserver-proxy): whatever has a log of that name.
  if (c.find('/') == std::string::npos && fs::exists(paths->log_dir() + "/" + c + ".log")) {
    file = paths->log_dir() + "/" + c + ".log";
  } else if (c.find('/') != std::string::npos || !c.empty()) {
    std::string ns = c.find('/') == std::string::npos ? p.ns : c.substr(0, c.find('/'));
    std::string name = c.substr(c.find('/') + 1);
    auto store = cli::connect_lab(ctx);
    if (!store) {
      ctx.err << "Error: " << store.error().str() << "\n";
      return cli::kExitFailed;
    }
    auto pod = (*store)->get(client::ObjectRef{"v1", "Pod", ns, name});
    if (!pod || !*pod) {
      ctx.err << "Error: no component or pod \"" << c
              << "\": components are etcd, controller, kubelet-nodeN (a Kubernetes lab: "
                 "kube-apiserver, kube-controller-manager, kube-scheduler, kube-etcd, "
                 "apiserver-proxy); pods are NAMESPACE/NAME\n";
      return cli::kExitUsage;
    }
    file = paths->pods_dir() + "/" + (**pod)["metadata"].value("uid", "") + "/log";
  }
  std::ifstream in(file);
  if (!in) {
    ctx.err << "Error: no log at " << file << "\n";
    return cli::kExitFailed;
  }
  std::string line;
  for (;;) {
    while (std::getline(in, line)) ctx.out << line << "\n";
    if (!p.follow || g_stop.load()) break;
    ctx.out.flush();
    in.clear();
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return cli::kExitOk;
}

void setup_up(CommandBuilder& b) {
  auto& p = b.params<LabParams>();
  b.description(
      "Build a cluster out of network namespaces on this machine: a LAN (10.0.0.0/24) with a "
      "bridge, NODES node namespaces on it (10.0.0.11...), a client namespace (10.0.0.100), etcd "
      "as the cluster store, a controller and one kubelet per node that run pods as network "
      "namespace + process and call the CNI plugin as a container runtime does.\n"
      "\n"
      "Like Talos with `cni: none`, the new cluster has no pod network: its pods (cluster DNS "
      "among them) wait until `axon install` starts the agents. Running it again is harmless: "
      "it starts only what is missing. Needs root.");
  b.option("--name", p.name, "NAME", "Lab name (a-z, 0-9; default: lab, or --lab)");
  b.option("--nodes", p.nodes, "N", "Number of nodes (1-9)");
  b.flag("--kubernetes", p.kubernetes,
         "Run the real Kubernetes control plane (kube-apiserver, kube-controller-manager, "
         "kube-scheduler 1.26 and their etcd) on a control-plane host 10.0.0.2 instead of the lab's "
         "etcd store and controller; the kubelets register Nodes and report pods through the API");
  b.option("--kube-binaries", p.kube_binaries, "DIR",
           "Where kube-apiserver, kube-controller-manager and kube-scheduler are (plain or .xz; "
           "default: AXON_KUBE_TOOLS)");
  b.example("axon lab up --nodes 3");
  b.example("axon lab up --kubernetes --kube-binaries ../shared/tools/kubernetes");
  b.action([&ctx = b.ctx(), &p] { return up(ctx, p); });
}

void setup_down(CommandBuilder& b) {
  auto& p = b.params<LabParams>();
  b.description(
      "Remove the lab: stop every process it started (pods, kubelets, controller, etcd, or the "
      "Kubernetes lab's control plane), delete "
      "every network namespace named axon-<lab>-*, the pins under /sys/fs/bpf/axon/<lab> and "
      "its state directory. Works after a crash too; touches nothing the lab did not create.");
  b.option("--name", p.name, "NAME", "Lab name (default: lab, or --lab)");
  b.example("axon lab down");
  b.action([&ctx = b.ctx(), &p] { return down(ctx, p); });
}

void setup_status(CommandBuilder& b) {
  auto& p = b.params<LabParams>();
  b.description(
      "Show the lab's processes (etcd, controller, kubelets; in a Kubernetes lab the control plane "
      "and the API server proxy instead of etcd and controller) and network namespaces. Exit 1 "
      "when one is stopped.");
  b.option("--name", p.name, "NAME", "Lab name (default: --lab, or the only lab up)");
  b.action([&ctx = b.ctx(), &p] { return status(ctx, p); });
}

void setup_exec(CommandBuilder& b) {
  auto& p = b.params<LabParams>();
  auto& pod = b.params<std::string>();
  b.description(
      "Run a command inside a pod: its network namespace, its filesystem (with its "
      "/etc/resolv.conf) and hostname, as `kubectl exec` does. The command's exit code is "
      "axon's. Host commands are available (dig, curl, ip...).");
  b.option("-n,--namespace", p.ns, "NAMESPACE", "The pod's namespace");
  b.app().add_option("pod", pod, "The pod")->required();
  b.app().add_option("command", p.command, "The command, after --")->required();
  b.example("axon lab exec -n production frontend-7c9f6-x2k4j -- curl -s api:8080");
  b.action([&ctx = b.ctx(), &p, &pod] { return exec(ctx, p, pod); });
}

void setup_logs(CommandBuilder& b) {
  auto& p = b.params<LabParams>();
  b.description(
      "Print the log of a lab component (etcd, controller, kubelet-node1...; in a Kubernetes lab "
      "kube-apiserver, kube-controller-manager, kube-scheduler, kube-etcd, apiserver-proxy) or of "
      "a pod (NAMESPACE/NAME).");
  b.option("-n,--namespace", p.ns, "NAMESPACE", "Namespace of a pod given without one");
  b.flag("-f,--follow", p.follow, "Keep printing as the log grows");
  b.app()
      .add_option("component", p.component, "etcd, controller, kubelet-nodeN, or a pod")
      ->required();
  b.action([&ctx = b.ctx(), &p] {
    handle_stop_signals();
    return logs(ctx, p);
  });
}

void setup_kubelet(CommandBuilder& b) {
  auto& p = b.params<LabParams>();
  b.option("--node", p.node, "NODE", "Node name")->required();
  b.option("--kubeconfig", p.kubeconfig, "FILE", "The node's credentials (Kubernetes lab)");
  b.action([&ctx = b.ctx(), &p] {
    handle_stop_signals();
    log::set_max_level(log::Level::info);
    lab::KubeletOptions o{lab::LabPaths{ctx.global.state_dir, ctx.global.lab}, p.node, p.kubeconfig};
    return lab::run_kubelet(o, g_stop);
  });
}

void setup_apiserver_proxy(CommandBuilder& b) {
  auto& p = b.params<LabParams>();
  b.option("--port", p.port, "PORT", "Port on the machine's loopback")->required();
  b.action([&ctx = b.ctx(), &p] {
    handle_stop_signals();
    log::set_max_level(log::Level::info);
    return lab::run_apiserver_proxy(lab::LabPaths{ctx.global.state_dir, ctx.global.lab}, p.port,
                                    g_stop);
  });
}

void setup_controller(CommandBuilder& b) {
  b.action([&ctx = b.ctx()] {
    handle_stop_signals();
    log::set_max_level(log::Level::info);
    return lab::run_controller(lab::LabPaths{ctx.global.state_dir, ctx.global.lab}, g_stop);
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(lab, {"lab", "Run a whole cluster on this machine (network namespaces)",
                            "Lab", nullptr})
AXON_REGISTER_COMMAND(lab_up, {"lab up", "Create the lab, or start what is missing", "Commands",
                               axon::commands::setup_up})
AXON_REGISTER_COMMAND(lab_down, {"lab down", "Remove the lab and everything it created", "Commands",
                                 axon::commands::setup_down})
AXON_REGISTER_COMMAND(lab_status, {"lab status", "Show the lab's processes", "Commands",
                                   axon::commands::setup_status})
AXON_REGISTER_COMMAND(lab_exec, {"lab exec", "Run a command inside a pod", "Commands",
                                 axon::commands::setup_exec})
AXON_REGISTER_COMMAND(lab_logs, {"lab logs", "Print a component's or a pod's log", "Commands",
                                 axon::commands::setup_logs})
// The lab's daemons: started by `lab up`, hidden from help.
AXON_REGISTER_COMMAND(lab_kubelet, {"lab kubelet", "The per-node runtime (started by lab up)", "",
                                    axon::commands::setup_kubelet})
AXON_REGISTER_COMMAND(lab_apiserver_proxy,
                      {"lab apiserver-proxy",
                       "The machine's way to the Kubernetes lab's API server (started by lab up)", "",
                       axon::commands::setup_apiserver_proxy})
AXON_REGISTER_COMMAND(lab_controller,
                      {"lab controller", "The cluster controllers (started by lab up)", "",
                       axon::commands::setup_controller})
