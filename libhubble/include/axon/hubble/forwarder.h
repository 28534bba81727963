// A TCP listener that forwards every connection, byte for byte, to a unix
// socket or to a TCP address in another network namespace. The relay uses
// it to answer on 127.0.0.1:4245 of the machine's own network namespace
// (where Hubble clients look by default) while it runs in a pod's: the
// listening socket is created in the namespace named by `netns_path`
// ("/proc/1/ns/net": the machine's) and stays there. `axon port-forward`
// uses it the other way round: it listens where the user is and connects
// inside a pod's namespace, as kubectl port-forward does.
//
//   auto fwd = hubble::SocketForwarder::start("127.0.0.1:4245",
//                                             "/run/axon/lab/relay.sock", "/proc/1/ns/net");
//   auto pf = hubble::SocketForwarder::start_tcp("127.0.0.1:12000", "127.0.0.1:8081",
//                                                "/proc/4242/ns/net");
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "axon/base/fd.h"
#include "axon/base/result.h"

namespace axon::hubble {

class SocketForwarder {
 public:
  // `listen` is "127.0.0.1:PORT" (PORT 0: a free one); `netns_path` "" = the
  // current network namespace.
  static Result<std::unique_ptr<SocketForwarder>> start(const std::string& listen,
                                                        std::string unix_path,
                                                        const std::string& netns_path = "");
  // Forwards to `target` ("IP:PORT"), connected from inside the network
  // namespace `target_netns` ("" = this one); listens in this one.
  static Result<std::unique_ptr<SocketForwarder>> start_tcp(const std::string& listen,
                                                            std::string target,
                                                            std::string target_netns);
  ~SocketForwarder();
  SocketForwarder(const SocketForwarder&) = delete;
  SocketForwarder& operator=(const SocketForwarder&) = delete;

  int port() const { return port_; }
  // Stops accepting and ends every forwarded connection. Idempotent.
  void stop();

 private:
  SocketForwarder() = default;
  // Takes the listening socket and starts accepting.
  Status run(std::pair<Fd, int> listening);
  void accept_loop();
  void pump(Fd client);
  Result<Fd> dial() const;

  std::string unix_path_;
  std::string tcp_target_, tcp_netns_;  // start_tcp's
  Fd listen_, wake_;  // wake_: eventfd that ends the loops
  int port_ = 0;
  std::thread acceptor_;
  std::mutex mu_;
  struct Pump {
    std::thread thread;
    std::shared_ptr<std::atomic<bool>> done;
  };
  std::vector<Pump> pumps_;  // one per connection
  std::once_flag stopped_;
};

// Whether `netns_path` is another network namespace than this thread's.
bool other_netns(const std::string& netns_path);

}  // namespace axon::hubble
