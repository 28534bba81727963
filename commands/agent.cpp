// axon agent: the node agent (run by the DaemonSet axon install renders),
// and its init steps (clean-state, mount-cgroup). The agent is libagent's
// (axon/agent/run.h).
#include "axon/agent/run.h"
#include "axon/proxy/agent_link.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct AgentParams {
  agent::AgentRunOptions run;
  std::string host_root;
};

void setup_agent(CommandBuilder& b) {
  auto& p = b.params<AgentParams>();
  b.description(
      "Run the node agent: the eBPF datapath of this node, IPAM and endpoints for the CNI "
      "plugin, identities, routes to other nodes, Services and policy. Started by the DaemonSet "
      "`axon install` renders; in the lab, the kubelet runs it in each node's namespace. Its store: "
      "the lab's etcd (AXON_STORE), else the Kubernetes API of --kubeconfig, else the pod's "
      "service account (KUBERNETES_SERVICE_HOST/PORT).");
  b.option("--config-dir", p.run.config_dir, "DIR",
           "The agent's configuration (the axon-config ConfigMap)");
  b.option("--cni-conf-dir", p.run.cni_conf_dir, "DIR", "Where to install the CNI configuration");
  b.option("--cni-bin-dir", p.run.cni_bin_dir, "DIR", "Where to install the CNI plugin");
  b.action([&p, &ctx = b.ctx()] {
    cli::handle_stop_signals();
    p.run.kubeconfig = ctx.global.kubeconfig;  // --kubeconfig / KUBECONFIG
    p.run.kube_context = ctx.global.kube_context;
    return agent::run_agent(p.run, cli::stop_flag());
  });
}

void setup_clean_state(CommandBuilder& b) {
  b.description(
      "Init step of the agent's pod: remove this node's pins and agent state when "
      "CLEAN_AXON_STATE=true.");
  b.action([] { return agent::clean_state(); });
}

void setup_mount_bpf_fs(CommandBuilder& b) {
  b.description(
      "Init step of the agent's pod (privileged): make sure /sys/fs/bpf is a bpffs, so the "
      "datapath's pinned maps outlive the agent's container.");
  b.action([] { return agent::mount_bpf_fs(); });
}

void setup_mount_cgroup(CommandBuilder& b) {
  auto& p = b.params<AgentParams>();
  b.description("Init step of the agent's pod: make sure cgroup2 is mounted at --host-root.");
  b.option("--host-root", p.host_root, "DIR", "Where cgroup2 must be mounted")->required();
  b.action([&p] { return agent::mount_cgroup(p.host_root); });
}

struct ProxyParams {
  proxy::ProxyProcessOptions run;
  std::vector<std::string> fds;
  uint64_t mark = 0;
};

void setup_proxy(CommandBuilder& b) {
  auto& p = b.params<ProxyParams>();
  b.description(
      "Run the node's HTTP proxy (http rules; Cilium's per-node Envoy). Started, and restarted when "
      "it dies, by the agent, which hands it the listening sockets and answers on --agent-socket what "
      "each connection may do; every request is denied while the agent does not answer.");
  b.option("--agent-socket", p.run.agent_socket, "PATH", "The agent's proxy socket")->required();
  b.list("--listen-fd", p.fds, "FD", "An inherited listening socket (repeatable)")->required();
  b.option("--gateway-fd", p.run.gateway_fd, "FD",
           "An inherited listening socket for Gateway HTTP listeners (requests routed, no policy)");
  b.option("--gateway-tls-fd", p.run.gateway_tls_fd, "FD",
           "An inherited listening socket for Gateway HTTPS listeners (TLS terminated, then routed)");
  b.option("--gateway-passthrough-fd", p.run.gateway_passthrough_fd, "FD",
           "An inherited listening socket for Gateway TLS passthrough listeners (TLSRoute by SNI)");
  b.option("--gateway-tcp-fd", p.run.gateway_tcp_fd, "FD",
           "An inherited listening socket for Gateway TCP listeners (TCPRoute: connections relayed)");
  b.option("--socket-mark", p.mark, "MARK", "SO_MARK of the upstream sockets");
  b.action([&p] {
    cli::handle_stop_signals();
    p.run.socket_mark = static_cast<uint32_t>(p.mark);
    for (const auto& fd : p.fds) {
      try {
        p.run.listen_fds.push_back(std::stoi(fd));
      } catch (const std::exception&) {
        throw cli::UsageError("--listen-fd " + fd + ": not a file descriptor number");
      }
    }
    return proxy::run_proxy_process(p.run, cli::stop_flag());
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(agent, {"agent", "Run the node agent (started by the DaemonSet)", "Daemons",
                              axon::commands::setup_agent})
AXON_REGISTER_COMMAND(agent_proxy, {"agent proxy", "Run the node's HTTP proxy (started by the agent)",
                                    "Daemons", axon::commands::setup_proxy})
AXON_REGISTER_COMMAND(agent_clean_state,
                      {"agent clean-state", "Init step: clean this node's agent state", "Commands",
                       axon::commands::setup_clean_state})
AXON_REGISTER_COMMAND(agent_mount_bpf_fs,
                      {"agent mount-bpf-fs", "Init step: make sure bpffs is mounted", "Commands",
                       axon::commands::setup_mount_bpf_fs})
AXON_REGISTER_COMMAND(agent_mount_cgroup,
                      {"agent mount-cgroup", "Init step: make sure cgroup2 is mounted", "Commands",
                       axon::commands::setup_mount_cgroup})
