#include "netns.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include "axon/datapath/ip.h"

namespace axon::test {

int run_command(const std::vector<std::string>& argv, bool quiet) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    if (quiet) {
      int devnull = open("/dev/null", O_WRONLY);
      if (devnull >= 0) {
        dup2(devnull, 1);
        dup2(devnull, 2);
      }
    }
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) < 0) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void remove_stale_test_netns() {
  FILE* f = popen("ip netns list 2>/dev/null", "r");
  if (f == nullptr) return;
  std::vector<std::string> stale;
  char line[256];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    int pid = 0;
    char rest[200];
    if (std::sscanf(line, "axon-t%d-%199s", &pid, rest) != 2) continue;
    if (pid <= 0 || kill(pid, 0) == 0 || errno != ESRCH) continue;
    std::string name = std::string(line).substr(0, std::string(line).find_first_of(" \n"));
    stale.push_back(name);
  }
  pclose(f);
  for (const auto& n : stale) run_command({"ip", "netns", "del", n});
}

Result<NetNs> NetNs::create(const std::string& suffix) {
  std::string name = "axon-t" + std::to_string(getpid()) + "-" + suffix;
  if (run_command({"ip", "netns", "add", name}, false) != 0) {
    return Error{"ip netns add " + name + " failed"};
  }
  Fd fd(open(("/run/netns/" + name).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    run_command({"ip", "netns", "del", name});
    return sys_error("open /run/netns/" + name);
  }
  return NetNs(name, std::move(fd));
}

NetNs::NetNs(NetNs&& o) noexcept : name_(std::move(o.name_)), fd_(std::move(o.fd_)) {
  o.name_.clear();
}

NetNs::~NetNs() {
  if (!name_.empty()) {
    fd_.reset();
    run_command({"ip", "netns", "del", name_});
  }
}

int NetNs::exec(std::vector<std::string> argv) const {
  argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
  return run_command(argv);
}

InNetns::InNetns(const NetNs& ns)
    : original_(open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) {
  if (setns(ns.fd(), CLONE_NEWNET) != 0) std::perror("setns");
}

InNetns::~InNetns() {
  if (original_.valid() && setns(original_.get(), CLONE_NEWNET) != 0) std::perror("setns back");
}

Fd socket_in(const NetNs& ns, int domain, int type, int protocol) {
  InNetns in(ns);
  return Fd(socket(domain, type | SOCK_CLOEXEC, protocol));
}

namespace {

std::string mac(int host, int index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "02:a%d:00:00:00:%02x", host, index);
  return buf;
}

}  // namespace

Pod& Topology::pod(const std::string& name) {
  for (auto& p : pods_) {
    if (p.name == name) return p;
  }
  std::abort();
}

Result<Topology> Topology::create(const std::vector<std::pair<std::string, std::string>>& pods,
                                  const std::string& tag) {
  static bool cleaned = [] {
    remove_stale_test_netns();
    return true;
  }();
  (void)cleaned;
  auto node = NetNs::create(tag + "node");
  if (!node) return node.error();
  Topology t(std::move(*node));
  const std::string& n = t.node_.name();
  auto ok = [](int rc, const std::string& what) -> Status {
    if (rc != 0) return Error{what + " failed (exit " + std::to_string(rc) + ")"};
    return {};
  };
  std::vector<std::vector<std::string>> node_setup = {
      {"ip", "-n", n, "link", "set", "lo", "up"},
      {"ip", "-n", n, "addr", "add", "10.244.1.1/32", "dev", "lo"},
      {"ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv4.ip_forward=1"},
      {"ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv4.conf.all.rp_filter=0"},
      {"ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv4.conf.default.rp_filter=0"},
      {"ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
      {"ip", "netns", "exec", n, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"},
  };
  for (const auto& cmd : node_setup) {
    if (auto s = ok(run_command(cmd), cmd[3] + " " + cmd[4]); !s) return s.error();
  }
  int index = 0;
  for (const auto& [name, ip] : pods) {
    ++index;
    auto ns = NetNs::create(tag + name);
    if (!ns) return ns.error();
    const std::string p = ns->name();
    const std::string host_if = "lxc" + name.substr(0, 8);
    const std::string host_mac = mac(0, index), pod_mac = mac(1, index);
    std::vector<std::vector<std::string>> cmds = {
        {"ip", "netns", "exec", p, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"},
        {"ip", "netns", "exec", p, "sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"},
        {"ip", "-n", n, "link", "add", host_if, "address", host_mac, "type", "veth", "peer", "name",
         "eth0", "address", pod_mac, "netns", p},
        {"ip", "-n", n, "link", "set", host_if, "up"},
        {"ip", "-n", p, "link", "set", "lo", "up"},
        {"ip", "-n", p, "link", "set", "eth0", "up"},
        {"ip", "-n", p, "addr", "add", ip + "/32", "dev", "eth0"},
        {"ip", "-n", p, "route", "add", "10.244.1.1", "dev", "eth0"},
        {"ip", "-n", p, "route", "add", "default", "via", "10.244.1.1", "dev", "eth0"},
        {"ip", "-n", p, "neigh", "add", "10.244.1.1", "lladdr", host_mac, "dev", "eth0", "nud",
         "permanent"},
        {"ip", "-n", n, "route", "add", ip + "/32", "dev", host_if},
        {"ip", "-n", n, "neigh", "add", ip, "lladdr", pod_mac, "dev", host_if, "nud", "permanent"},
    };
    for (const auto& cmd : cmds) {
      std::ostringstream what;
      for (const auto& a : cmd) what << a << ' ';
      if (auto s = ok(run_command(cmd), what.str()); !s) return s.error();
    }
    uint32_t ifindex = 0;
    {
      InNetns in(t.node_);
      ifindex = if_nametoindex(host_if.c_str());
    }
    if (ifindex == 0) return Error{"no ifindex for " + host_if};
    auto mac_bytes = datapath::parse_mac(pod_mac);
    if (!mac_bytes) return mac_bytes.error();
    t.pods_.push_back(Pod{name, ip, host_if, ifindex, std::move(*ns), *mac_bytes});
  }
  return t;
}

bool connect_within(int fd, const std::string& ip, uint16_t port, std::chrono::milliseconds t) {
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  int flags = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, flags | O_NONBLOCK);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa));
  if (rc != 0 && errno != EINPROGRESS) return false;
  if (rc != 0) {
    pollfd p{fd, POLLOUT, 0};
    if (poll(&p, 1, static_cast<int>(t.count())) != 1) return false;
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) return false;
  }
  fcntl(fd, F_SETFL, flags);
  return true;
}

Status bind_to(int fd, const std::string& ip, uint16_t port) {
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) != 0) {
    return sys_error("bind " + ip + ":" + std::to_string(port));
  }
  return {};
}

bool readable_within(int fd, std::chrono::milliseconds t) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, static_cast<int>(t.count())) == 1;
}

int connect_error(const NetNs& ns, const std::string& ip, uint16_t port,
                  std::chrono::milliseconds t) {
  Fd c = socket_in(ns, AF_INET, SOCK_STREAM);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
  fcntl(c.get(), F_SETFL, fcntl(c.get(), F_GETFL) | O_NONBLOCK);
  if (connect(c.get(), reinterpret_cast<sockaddr*>(&sa), sizeof(sa)) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd pfd{c.get(), POLLOUT, 0};
  if (poll(&pfd, 1, static_cast<int>(t.count())) != 1) return ETIMEDOUT;
  int err = 0;
  socklen_t len = sizeof(err);
  getsockopt(c.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

}  // namespace axon::test
