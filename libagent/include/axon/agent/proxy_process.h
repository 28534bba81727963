// The agent's side of the node's HTTP proxy process (libproxy's
// agent_link.h): it makes the transparent listening sockets (one per
// direction), starts `axon agent proxy` with them, restarts it when it dies
// (connections wait in the listeners' backlog meanwhile; the datapath hands
// redirected traffic to nothing else, so nothing passes unfiltered), answers
// its questions from the policy on the proxy socket, pushes a new revision
// when the policy changes, and passes its request records on (L7 flows).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <sys/types.h>
#include <thread>
#include <vector>

#include "axon/base/result.h"
#include "axon/proxy/http_proxy.h"

namespace axon::agent {

struct ProxyProcessConfig {
  std::string exe = "/proc/self/exe";  // the axon binary; empty: none started (tests run their own)
  std::string socket;                  // the agent's end (unix)
  std::vector<uint16_t> ports;         // one listener each
  uint16_t gateway_port = 0;           // the Gateway HTTP listeners' (0: none)
  uint16_t gateway_tcp_port = 0;       // the Gateway TCP listeners' (0: none)
  uint16_t gateway_tls_port = 0;       // the Gateway HTTPS listeners' (0: none)
  uint16_t gateway_passthrough_port = 0;  // the Gateway TLS passthrough listeners' (0: none)
  uint32_t socket_mark = 0;
};

class ProxyProcess {
 public:
  using Decide = std::function<proxy::Decision(const proxy::ConnectionInfo&)>;
  using Record = std::function<void(const proxy::RequestRecord&)>;

  ProxyProcess(ProxyProcessConfig c, Decide decide, Record record);
  ~ProxyProcess();  // stops
  ProxyProcess(const ProxyProcess&) = delete;
  ProxyProcess& operator=(const ProxyProcess&) = delete;

  // Listens (every port, or an error and nothing), then starts the process.
  Status start();
  // Stops the process (SIGTERM, then SIGKILL) and closes the listeners.
  void stop();
  // The policy changed: the proxy forgets its answers.
  void policy_changed();
  // The Gateway listeners' routes changed: `line` ({"gateway": ...},
  // gateway_routes.h) goes to the proxy now and to every one started later.
  void set_gateway(std::string line);

  struct State {
    pid_t pid = 0;  // 0: not running
    unsigned restarts = 0;
    std::chrono::steady_clock::time_point since;  // the current process's start
    bool connected = false;                       // it is connected to the agent
    std::string last_exit;                        // how the last one ended
    uint64_t requests = 0, denied = 0;
  };
  State state() const;
  const std::vector<uint16_t>& ports() const { return c_.ports; }

 private:
  void supervise();  // its thread: start, wait, restart
  void serve();      // its thread: the proxy socket
  bool serve_line(const std::string& line, std::string& out);

  ProxyProcessConfig c_;
  Decide decide_;
  Record record_;
  std::vector<int> listeners_;
  int server_ = -1;
  int wake_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> rev_{1};
  std::atomic<uint64_t> gateway_gen_{0};
  std::string gateway_line_;  // guarded by mu_
  std::thread supervisor_, server_thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  State state_;
};

}  // namespace axon::agent
