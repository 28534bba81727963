// healthCheckNodePort (externalTrafficPolicy Local LoadBalancer Services):
// each node answers HTTP on the port, 200 while it has a local backend of the
// Service and 503 when it has none, so that an external load balancer sends
// traffic only to nodes that keep it (kube-proxy's and Cilium's format:
// {"service":{"namespace":..,"name":..},"localEndpoints":N}).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "axon/base/fd.h"

namespace axon::agent {

class ServiceHealthServer {
 public:
  struct Target {
    std::string ns, name;
    int local_endpoints = 0;
    bool operator==(const Target&) const = default;
  };

  ServiceHealthServer();
  ~ServiceHealthServer();
  ServiceHealthServer(const ServiceHealthServer&) = delete;
  ServiceHealthServer& operator=(const ServiceHealthServer&) = delete;

  // The ports to serve and what each answers; listeners open and close to
  // match. Returns ports that could not be opened ("" when all could).
  std::string update(const std::map<uint16_t, Target>& want);

 private:
  void serve();

  std::mutex mu_;
  std::map<uint16_t, Target> targets_;
  std::map<uint16_t, Fd> listeners_;
  Fd wake_[2];
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The HTTP response a health check port gives (exposed for tests).
std::string service_health_response(const ServiceHealthServer::Target& t);

}  // namespace axon::agent
