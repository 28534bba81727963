// The lab's workloads: small servers its pods run for tests and demos
// (`axon workload ...`), and cluster DNS.
#include "axon/lab/workloads.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>
#include <thread>

#include "axon/base/fd.h"
#include "axon/base/log.h"
#include "axon/client/connect.h"
#include "axon/client/informer.h"
#include "axon/lab/paths.h"
#include "axon/lab/process.h"

namespace axon::lab {
namespace {

using client::Json;

std::string hostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  return buf;
}

Result<Fd> listen_on(int type, int port) {
  Fd s(::socket(AF_INET, type | SOCK_CLOEXEC, 0));
  if (!s.valid()) return sys_error("socket");
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return sys_error("bind port " + std::to_string(port));
  if (type == SOCK_STREAM && ::listen(s.get(), 512) != 0) return sys_error("listen");
  return s;
}

std::string peer(const sockaddr_in& a) {
  char ip[INET_ADDRSTRLEN];
  ::inet_ntop(AF_INET, &a.sin_addr, ip, sizeof ip);
  return std::string(ip) + ":" + std::to_string(ntohs(a.sin_port));
}

// One HTTP/1.1 exchange per connection: the answer names the pod, the
// request line and who asked, so tests can tell which backend answered.
void serve_http(int fd, const std::string& client, const std::string& pod) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  const size_t eol = req.find("\r\n");
  std::string line = req.substr(0, eol);
  std::string body = "pod=" + pod + " request=\"" + line + "\" client=" + client + "\n";
  // The request's headers, one per line ("> name: value"), as the backend
  // saw them (what proxies and Gateways added or removed).
  const size_t end = req.find("\r\n\r\n");
  for (size_t at = eol; at != std::string::npos && at < end;) {
    const size_t next = req.find("\r\n", at + 2);
    body += "> " + req.substr(at + 2, next - at - 2) + "\n";
    at = next;
  }
  // X-Echo-Delay-Ms: N (at most 10 s): the answer waits that long (for
  // timeouts in front of it).
  std::string lower = req.substr(0, end);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (const size_t d = lower.find("\r\nx-echo-delay-ms:"); d != std::string::npos) {
    const long ms = std::strtol(lower.c_str() + d + 19, nullptr, 10);
    if (ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(std::min(ms, 10000L)));
  }
  std::string resp = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Pod-Name: " + pod +
                     "\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\nConnection: close\r\n\r\n" + body;
  (void)!::send(fd, resp.data(), resp.size(), MSG_NOSIGNAL);
  ::close(fd);
}

}  // namespace

int http_echo(int port, const std::atomic<bool>& stop) {
  auto s = listen_on(SOCK_STREAM, port);
  if (!s) {
    log::error("{}", s.error().str());
    return 1;
  }
  const std::string pod = hostname();
  log::write(log::Level::error, "http-echo: " + pod + " listening on :" + std::to_string(port));
  while (!stop.load()) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    int c = ::accept4(s->get(), reinterpret_cast<sockaddr*>(&a), &len, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread(serve_http, c, peer(a), pod).detach();
  }
  return 0;
}

namespace {

// Echoes every line back on the same connection, for as long as the client
// keeps it open (long-lived connection tests).
void serve_lines(int fd, const std::string& pod) {
  std::string pending;
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    pending.append(buf, static_cast<size_t>(n));
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      std::string reply = "pod=" + pod + " echo=" + pending.substr(0, nl) + "\n";
      pending.erase(0, nl + 1);
      if (::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL) < 0) break;
    }
  }
  ::close(fd);
}

}  // namespace

int tcp_echo(int port, const std::atomic<bool>& stop) {
  auto s = listen_on(SOCK_STREAM, port);
  if (!s) {
    log::error("{}", s.error().str());
    return 1;
  }
  const std::string pod = hostname();
  log::write(log::Level::error, "tcp-echo: " + pod + " listening on :" + std::to_string(port));
  while (!stop.load()) {
    int c = ::accept4(s->get(), nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    std::thread(serve_lines, c, pod).detach();
  }
  return 0;
}

int udp_echo(int port, const std::atomic<bool>& stop) {
  auto s = listen_on(SOCK_DGRAM, port);
  if (!s) {
    log::error("{}", s.error().str());
    return 1;
  }
  const std::string pod = hostname();
  log::write(log::Level::error, "udp-echo: " + pod + " listening on :" + std::to_string(port));
  char buf[65536];
  while (!stop.load()) {
    sockaddr_in a{};
    socklen_t len = sizeof a;
    ssize_t n = ::recvfrom(s->get(), buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&a), &len);
    if (n < 0) continue;
    std::string reply = "pod=" + pod + " echo=" + std::string(buf, static_cast<size_t>(n));
    ::sendto(s->get(), reply.data(), reply.size(), 0, reinterpret_cast<sockaddr*>(&a), len);
  }
  return 0;
}

// Cluster DNS: dnsmasq answering for <svc>.<ns>.svc.cluster.local from a
// hosts file kept in sync with the Services in the store (a headless
// Service: an A record per ready address of its EndpointSlices).
int cluster_dns(const std::atomic<bool>& stop) {
  // The lab's etcd (AXON_STORE) or, in the Kubernetes lab, the API server
  // through the pod's service account, as CoreDNS's kubernetes plugin.
  auto store = client::connect_store(client::store_target_from_env());
  if (!store) {
    log::error("cluster-dns: {}", store.error().str());
    return 1;
  }
  client::Informer services(**store, "v1", "Service");
  client::Informer endpoint_slices(**store, "discovery.k8s.io/v1", "EndpointSlice");
  services.start();
  endpoint_slices.start();
  const std::string hosts = "/tmp/axon-cluster-dns.hosts";
  std::string last;
  auto render = [&]() -> std::string {
    if (!services.synced() || !endpoint_slices.synced()) return last;
    const auto svcs = services.list();
    const auto slices = endpoint_slices.list();
    std::set<std::string> lines;
    for (const auto& s : svcs) {
      const std::string name = s["metadata"].value("name", "");
      const std::string ns = s["metadata"].value("namespace", "");
      const std::string fqdn = name + "." + ns + ".svc." + kClusterDomain;
      std::string ip = client::member(s, "spec").value("clusterIP", "");
      if (ip.empty()) continue;
      if (ip != "None") {
        lines.insert(ip + " " + fqdn);
        continue;
      }
      // Headless: one A record per ready endpoint address, as Kubernetes DNS.
      for (const auto& slice : slices) {
        const Json& meta = slice["metadata"];
        if (meta.value("namespace", "") != ns ||
            client::member(client::member(meta, "labels"), "kubernetes.io/service-name") != name ||
            slice.value("addressType", "IPv4") != "IPv4")
          continue;
        for (const auto& ep : client::member(slice, "endpoints")) {
          if (client::member(client::member(ep, "conditions"), "ready") == false) continue;
          for (const auto& a : client::member(ep, "addresses")) {
            if (a.is_string()) lines.insert(a.get<std::string>() + " " + fqdn);
          }
        }
      }
    }
    std::string out;
    for (const auto& l : lines) out += l + "\n";
    return out;
  };
  (void)services.wait_synced(std::chrono::seconds(10));
  (void)endpoint_slices.wait_synced(std::chrono::seconds(10));
  last = render();
  std::ofstream(hosts, std::ios::trunc) << last;
  pid_t dnsmasq = ::fork();
  if (dnsmasq == 0) {
    ::execlp("dnsmasq", "dnsmasq", "--keep-in-foreground", "--no-resolv", "--no-hosts",
             "--no-negcache", ("--addn-hosts=" + hosts).c_str(), "--local=/cluster.local/",
             "--local-ttl=5",  // CoreDNS's kubernetes plugin: 5 s
             "--domain-needed", "--user=root", "--pid-file", "--port=53", "--log-facility=-",
             nullptr);
    std::perror("exec dnsmasq");
    _exit(127);
  }
  log::write(log::Level::error, "cluster-dns: dnsmasq " + std::to_string(dnsmasq) + " serving " +
                                    std::string(kClusterDomain));
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    int st = 0;
    if (::waitpid(dnsmasq, &st, WNOHANG) == dnsmasq) {
      log::error("dnsmasq exited");
      return 1;
    }
    std::string now = render();
    if (now != last) {
      last = now;
      std::ofstream(hosts, std::ios::trunc) << last;
      ::kill(dnsmasq, SIGHUP);  // rereads --addn-hosts, clears its cache
    }
  }
  stop_process(dnsmasq, std::chrono::seconds(2));
  return 0;
}

}  // namespace axon::lab
