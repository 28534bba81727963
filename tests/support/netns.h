// Network namespaces for tests and benchmarks: a node namespace with pod
// namespaces behind veth pairs, as the lab (and a CNI plugin) builds them.
// Every namespace is named axon-t<pid>-<name> and deleted when its owner goes
// (or, after a crash, by the next run, which removes only axon-t<pid>-*
// namespaces whose process is gone). Nothing here touches the root namespace
// beyond creating and deleting these namespaces.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "axon/base/fd.h"
#include "axon/base/result.h"

namespace axon::test {

// Runs a command (no shell); returns its exit status, or -1.
int run_command(const std::vector<std::string>& argv, bool quiet = true);

// Deletes axon-t<pid>-* namespaces of processes that no longer exist.
void remove_stale_test_netns();

class NetNs {
 public:
  // Creates axon-t<pid>-<suffix>.
  static Result<NetNs> create(const std::string& suffix);
  NetNs(NetNs&&) noexcept;
  NetNs& operator=(NetNs&&) = delete;
  ~NetNs();

  const std::string& name() const { return name_; }
  int fd() const { return fd_.get(); }
  // Runs `argv` inside the namespace (ip netns exec).
  int exec(std::vector<std::string> argv) const;

 private:
  NetNs(std::string name, Fd fd) : name_(std::move(name)), fd_(std::move(fd)) {}
  std::string name_;
  Fd fd_;
};

// Moves the calling thread into a namespace for its lifetime.
class InNetns {
 public:
  explicit InNetns(const NetNs& ns);
  ~InNetns();
  InNetns(const InNetns&) = delete;
  InNetns& operator=(const InNetns&) = delete;

 private:
  Fd original_;
};

// A socket created inside `ns` (it stays in that namespace).
Fd socket_in(const NetNs& ns, int domain, int type, int protocol = 0);

struct Pod {
  std::string name;
  std::string ip;       // e.g. 10.244.1.10
  std::string host_if;  // host-side veth in the node namespace
  uint32_t host_ifindex = 0;
  NetNs ns;
  std::array<uint8_t, 6> mac{};  // the pod's eth0
};

// A node namespace (10.244.1.1 on lo, forwarding on) with pods behind veths.
class Topology {
 public:
  static Result<Topology> create(const std::vector<std::pair<std::string, std::string>>& pods,
                                 const std::string& tag = "");
  const NetNs& node() const { return node_; }
  Pod& pod(const std::string& name);

 private:
  explicit Topology(NetNs node) : node_(std::move(node)) {}
  NetNs node_;
  std::vector<Pod> pods_;
};

// Socket helpers with timeouts (drops are silent: a blocked connect times out).
// Connects `fd` to ip:port; true when the handshake completed in time.
bool connect_within(int fd, const std::string& ip, uint16_t port, std::chrono::milliseconds t);
Status bind_to(int fd, const std::string& ip, uint16_t port);
bool readable_within(int fd, std::chrono::milliseconds t);
// The error a non-blocking connect from `ns` to ip:port ends with: 0,
// ECONNREFUSED (an RST or ICMP port unreachable), or ETIMEDOUT when nothing
// came back within `t`.
int connect_error(const NetNs& ns, const std::string& ip, uint16_t port,
                  std::chrono::milliseconds t);

}  // namespace axon::test
