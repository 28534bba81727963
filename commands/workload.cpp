// axon workload ...: small servers the lab's pods run for tests and demos
// (liblab's workloads.h).
#include "axon/lab/workloads.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct WorkloadParams {
  int port = 8080;
};

void setup_http(CommandBuilder& b) {
  auto& p = b.params<WorkloadParams>();
  b.description(
      "An HTTP server whose answer names the pod, the request and the client, and lists the "
      "request's headers; a request with X-Echo-Delay-Ms: N waits N ms (at most 10 s) before its "
      "answer (for tests and demos).");
  b.option("--port", p.port, "PORT", "TCP port to listen on");
  b.action([&p] {
    cli::handle_stop_signals();
    return lab::http_echo(p.port, cli::stop_flag());
  });
}

void setup_udp(CommandBuilder& b) {
  auto& p = b.params<WorkloadParams>();
  p.port = 9000;
  b.description("A UDP server that sends each datagram back, prefixed with the pod's name.");
  b.option("--port", p.port, "PORT", "UDP port to listen on");
  b.action([&p] {
    cli::handle_stop_signals();
    return lab::udp_echo(p.port, cli::stop_flag());
  });
}

void setup_tcp(CommandBuilder& b) {
  auto& p = b.params<WorkloadParams>();
  p.port = 9100;
  b.description(
      "A TCP server that echoes each line back, prefixed with the pod's name, on a connection kept "
      "open.");
  b.option("--port", p.port, "PORT", "TCP port to listen on");
  b.action([&p] {
    cli::handle_stop_signals();
    return lab::tcp_echo(p.port, cli::stop_flag());
  });
}

void setup_dns(CommandBuilder& b) {
  b.description(
      "Cluster DNS for the lab: dnsmasq answering <service>.<namespace>.svc.cluster.local over UDP "
      "and TCP.");
  b.action([] {
    cli::handle_stop_signals();
    return lab::cluster_dns(cli::stop_flag());
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(workload,
                      {"workload", "Small servers for pods in the lab (echo, DNS)", "Lab", nullptr})
AXON_REGISTER_COMMAND(workload_http,
                      {"workload http-echo", "HTTP server that names the answering pod", "Commands",
                       axon::commands::setup_http})
AXON_REGISTER_COMMAND(workload_udp, {"workload udp-echo", "UDP echo server", "Commands",
                                     axon::commands::setup_udp})
AXON_REGISTER_COMMAND(workload_tcp,
                      {"workload tcp-echo", "TCP line echo server (long-lived connections)",
                       "Commands", axon::commands::setup_tcp})
AXON_REGISTER_COMMAND(workload_dns,
                      {"workload cluster-dns", "Cluster DNS (dnsmasq) fed from the lab's Services",
                       "Commands", axon::commands::setup_dns})
