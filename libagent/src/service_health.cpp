#include "service_health.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vector>

#include "axon/base/log.h"

namespace axon::agent {

std::string service_health_response(const ServiceHealthServer::Target& t) {
  const std::string body = "{\"service\":{\"namespace\":\"" + t.ns + "\",\"name\":\"" + t.name +
                           "\"},\"localEndpoints\":" + std::to_string(t.local_endpoints) + "}\n";
  const std::string status =
      t.local_endpoints > 0 ? "200 OK" : "503 Service Unavailable";
  return "HTTP/1.1 " + status +
         "\r\nContent-Type: application/json\r\nX-Content-Type-Options: nosniff\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
}

ServiceHealthServer::ServiceHealthServer() {
  int fds[2] = {-1, -1};
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) == 0) {
    wake_[0] = Fd(fds[0]);
    wake_[1] = Fd(fds[1]);
  }
  thread_ = std::thread([this] { serve(); });
}

ServiceHealthServer::~ServiceHealthServer() {
  stop_ = true;
  if (wake_[1].valid()) (void)!write(wake_[1].get(), "x", 1);
  if (thread_.joinable()) thread_.join();
}

std::string ServiceHealthServer::update(const std::map<uint16_t, Target>& want) {
  std::string failed;
  {
    std::lock_guard lock(mu_);
    if (want == targets_) return "";
    for (auto it = listeners_.begin(); it != listeners_.end();) {
      it = want.count(it->first) ? std::next(it) : listeners_.erase(it);
    }
    for (const auto& [port, t] : want) {
      if (listeners_.count(port)) continue;
      Fd fd(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
      int one = 1;
      setsockopt(fd.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      if (!fd.valid() || bind(fd.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0 ||
          listen(fd.get(), 64) != 0) {
        failed += (failed.empty() ? "" : ", ") + std::to_string(port);
        continue;
      }
      log::info("serving healthCheckNodePort {} for {}/{}", port, t.ns, t.name);
      listeners_.emplace(port, std::move(fd));
    }
    targets_ = want;
  }
  if (wake_[1].valid()) (void)!write(wake_[1].get(), "x", 1);
  return failed;
}

void ServiceHealthServer::serve() {
  while (!stop_) {
    std::vector<pollfd> fds;
    std::vector<uint16_t> ports;
    {
      std::lock_guard lock(mu_);
      for (const auto& [port, fd] : listeners_) {
        fds.push_back({fd.get(), POLLIN, 0});
        ports.push_back(port);
      }
    }
    fds.push_back({wake_[0].get(), POLLIN, 0});
    if (poll(fds.data(), fds.size(), 1000) <= 0) continue;
    if (fds.back().revents & POLLIN) {
      char buf[64];
      while (read(wake_[0].get(), buf, sizeof(buf)) > 0) {
      }
    }
    for (size_t i = 0; i + 1 < fds.size(); ++i) {
      if (!(fds[i].revents & POLLIN)) continue;
      std::string response;
      Fd conn;
      {
        std::lock_guard lock(mu_);
        auto l = listeners_.find(ports[i]);
        auto t = targets_.find(ports[i]);
        if (l == listeners_.end() || t == targets_.end()) continue;
        conn = Fd(accept4(l->second.get(), nullptr, nullptr, SOCK_CLOEXEC));
        response = service_health_response(t->second);
      }
      if (!conn.valid()) continue;
      // The request itself does not matter (any path, as kube-proxy's): read
      // what is there within a moment, answer, close.
      pollfd p{conn.get(), POLLIN, 0};
      if (poll(&p, 1, 200) == 1) {
        char req[2048];
        (void)!recv(conn.get(), req, sizeof(req), MSG_DONTWAIT);
      }
      (void)!send(conn.get(), response.data(), response.size(), MSG_NOSIGNAL);
    }
  }
}

}  // namespace axon::agent
