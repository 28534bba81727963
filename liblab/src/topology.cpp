#include "axon/lab/topology.h"

#include <sys/mount.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "axon/base/process.h"
#include "axon/lab/process.h"

namespace axon::lab {
namespace {

constexpr long kBpfFsMagic = 0xcafe4a11;

bool link_exists(const std::string& netns, const std::string& dev) {
  return proc::ip({"-n", netns, "link", "show", dev}).ok();
}

Status ensure_netns(const std::string& name) {
  if (netns_exists(name)) return {};
  if (auto r = proc::ip({"netns", "add", name}); !r) return r.error();
  if (auto r = proc::ip({"-n", name, "link", "set", "lo", "up"}); !r) return r.error();
  return {};
}

// A veth from the LAN bridge (port `port`) to eth0 in `netns` with `addr`.
Status attach_to_lan(const LabPaths& p, const std::string& port, const std::string& netns,
                     const std::string& addr) {
  const std::string lan = p.lan_netns();
  if (!link_exists(lan, port)) {
    if (auto r = proc::ip({"-n", lan, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                     "netns", netns});
        !r) {
      return r.error();
    }
  }
  for (const auto& args :
       std::vector<std::vector<std::string>>{{"-n", lan, "link", "set", port, "master", "br0"},
                                             {"-n", lan, "link", "set", port, "up"},
                                             {"-n", netns, "addr", "replace", addr, "dev", "eth0"},
                                             {"-n", netns, "link", "set", "eth0", "up"}}) {
    if (auto r = proc::ip(args); !r) return r.error();
  }
  return {};
}

}  // namespace

std::vector<std::string> list_netns(const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator("/run/netns", ec)) {
    std::string n = e.path().filename().string();
    if (n.starts_with(prefix)) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool netns_exists(const std::string& name) {
  return std::filesystem::exists("/run/netns/" + name);
}

Status ensure_bpffs() {
  struct statfs s {};
  if (::statfs("/sys/fs/bpf", &s) == 0 && static_cast<long>(s.f_type) == kBpfFsMagic) return {};
  std::filesystem::create_directories("/sys/fs/bpf");
  if (::mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") != 0)
    return sys_error("mount bpffs on /sys/fs/bpf");
  return {};
}

Status netns_sysctl(const std::string& netns, const std::string& key, const std::string& value) {
  std::string path = "/proc/sys/" + key;
  std::replace(path.begin() + 10, path.end(), '.', '/');
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    if (!proc::enter_netns(netns)) _exit(1);
    std::ofstream f(path);
    f << value;
    f.close();
    _exit(f ? 0 : 2);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return Error{"set " + key + "=" + value + " in " + netns + " failed"};
  }
  return {};
}

Status create_topology(const LabPaths& p, int nodes, bool control_plane) {
  if (auto st = ensure_bpffs(); !st) return st;
  const std::string lan = p.lan_netns();
  if (auto st = ensure_netns(lan); !st) return st;
  if (!link_exists(lan, "br0")) {
    if (auto r = proc::ip({"-n", lan, "link", "add", "br0", "type", "bridge"}); !r) return r.error();
  }
  if (auto r = proc::ip({"-n", lan, "link", "set", "br0", "up"}); !r) return r.error();
  for (int i = 1; i <= nodes; ++i) {
    const std::string ns = p.node_netns(node_name(i));
    if (auto st = ensure_netns(ns); !st) return st;
    if (auto st = attach_to_lan(p, "n" + std::to_string(i), ns, node_ip(i) + "/24"); !st) return st;
    if (auto st = netns_sysctl(ns, "net.ipv4.ip_forward", "1"); !st) return st;
    // Pods' host-side veths answer ARP for the pod's gateway (see the agent).
    if (auto st = netns_sysctl(ns, "net.ipv4.conf.all.rp_filter", "0"); !st) return st;
  }
  const std::string client = p.client_netns();
  if (auto st = ensure_netns(client); !st) return st;
  if (auto st = attach_to_lan(p, "client", client, std::string(kClientIp) + "/24"); !st) return st;
  if (control_plane) {
    const std::string cp = p.control_plane_netns();
    if (auto st = ensure_netns(cp); !st) return st;
    if (auto st = attach_to_lan(p, "cp", cp, std::string(kControlPlaneIp) + "/24"); !st) return st;
  }
  return {};
}

Status destroy_topology(const LabPaths& p) {
  std::string errors;
  for (const auto& ns : list_netns(p.netns_prefix())) {
    if (auto r = proc::ip({"netns", "delete", ns}); !r)
      errors += (errors.empty() ? "" : "; ") + r.error().message;
  }
  if (!errors.empty()) return Error{errors};
  return {};
}

}  // namespace axon::lab
