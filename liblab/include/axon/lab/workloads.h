// The lab's workloads: what its pods run (`axon workload ...`; images are
// recorded, the process is this binary). Each serves until `stop` is set
// and returns the process's exit code.
#pragma once

#include <atomic>

namespace axon::lab {

// HTTP: the answer names the pod, the request and the client.
int http_echo(int port, const std::atomic<bool>& stop);
// TCP: each line back, prefixed with the pod's name, on a connection kept open.
int tcp_echo(int port, const std::atomic<bool>& stop);
// UDP: each datagram back, prefixed with the pod's name.
int udp_echo(int port, const std::atomic<bool>& stop);
// Cluster DNS: dnsmasq answering <svc>.<ns>.svc.cluster.local from a hosts
// file kept in sync with the store's Services (AXON_STORE; a headless
// Service: an A record per ready address of its EndpointSlices).
int cluster_dns(const std::atomic<bool>& stop);

}  // namespace axon::lab
