#include "axon/lab/lab.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

#include "axon/base/strings.h"
#include "axon/client/kube_store.h"
#include "axon/lab/control_plane.h"
#include "axon/lab/process.h"
#include "axon/lab/topology.h"

namespace axon::lab {
namespace fs = std::filesystem;

namespace {

// Markers in the command lines of the lab's daemons (checked before any
// signal is sent, so a reused pid is never hit).
std::string kubelet_marker(const LabPaths& p, const std::string& node) {
  return "lab kubelet --lab " + p.name + " --node " + node;
}
std::string controller_marker(const LabPaths& p) {
  return "lab controller --lab " + p.name;
}
std::string etcd_marker(const LabPaths& p) {
  return "--name lab-" + p.name;
}

Status start_etcd(const LabPaths& p) {
  std::error_code ec;
  fs::create_directories(p.etcd_dir(), ec);
  // A crashed etcd leaves its sockets behind and would not start.
  fs::remove(p.etcd_dir() + "/etcd.sock:0", ec);
  fs::remove(p.etcd_dir() + "/peer.sock:0", ec);
  DaemonSpec spec;
  spec.argv = {"etcd",
               "--name",
               "lab-" + p.name,
               "--data-dir",
               "data",
               "--listen-client-urls",
               "unix://etcd.sock:0",
               "--advertise-client-urls",
               "unix://etcd.sock:0",
               "--listen-peer-urls",
               "unix://peer.sock:0",
               "--initial-advertise-peer-urls",
               "unix://peer.sock:0",
               "--initial-cluster",
               "lab-" + p.name + "=unix://peer.sock:0",
               "--auto-compaction-retention",
               "1"};
  spec.cwd = p.etcd_dir();  // etcd listens on paths relative to its cwd
  spec.log_file = p.log_dir() + "/etcd.log";
  spec.pid_file = p.pid_dir() + "/etcd.pid";
  auto pid = spawn_daemon(spec);
  if (!pid) return pid.error();
  return {};
}

Json node_object(int i) {
  const std::string name = node_name(i);
  return {{"apiVersion", "v1"},
          {"kind", "Node"},
          {"metadata",
           {{"name", name},
            {"labels",
             {{"kubernetes.io/hostname", name},
              {"kubernetes.io/os", "linux"},
              {"kubernetes.io/arch", "amd64"}}}}},
          {"spec", {{"podCIDR", node_pod_cidr(i)}, {"podCIDRs", Json::array({node_pod_cidr(i)})}}},
          {"status",
           {{"addresses", Json::array({{{"type", "InternalIP"}, {"address", node_ip(i)}},
                                       {{"type", "Hostname"}, {"address", name}}})}}}};
}

}  // namespace

std::vector<Json> bootstrap_objects(int nodes) {
  std::vector<Json> out;
  for (const char* ns : {"default", "kube-system", "kube-public"}) {
    out.push_back(
        {{"apiVersion", "v1"},
         {"kind", "Namespace"},
         {"metadata", {{"name", ns}, {"labels", {{"kubernetes.io/metadata.name", ns}}}}}});
  }
  for (int i = 1; i <= nodes; ++i) out.push_back(node_object(i));
  const Json dns_labels = {{"k8s-app", "kube-dns"}};
  Json dns_container = {
      {"name", "coredns"},
      {"image", "debian/dnsmasq-base"},
      {"command", Json::array({"axon", "workload", "cluster-dns"})},
      {"ports", Json::array({{{"name", "dns"}, {"containerPort", 53}, {"protocol", "UDP"}},
                             {{"name", "dns-tcp"}, {"containerPort", 53}, {"protocol", "TCP"}}})},
      {"readinessProbe", {{"tcpSocket", {{"port", 53}}}, {"periodSeconds", 2}}}};
  out.push_back(
      {{"apiVersion", "apps/v1"},
       {"kind", "Deployment"},
       {"metadata", {{"name", "coredns"}, {"namespace", "kube-system"}, {"labels", dns_labels}}},
       {"spec",
        {{"replicas", 2},
         {"selector", {{"matchLabels", dns_labels}}},
         {"template",
          {{"metadata", {{"labels", dns_labels}}},
           {"spec", {{"containers", Json::array({dns_container})}}}}}}}});
  out.push_back(
      {{"apiVersion", "v1"},
       {"kind", "Service"},
       {"metadata", {{"name", "kube-dns"}, {"namespace", "kube-system"}, {"labels", dns_labels}}},
       {"spec",
        {{"clusterIP", kClusterDnsIp},
         {"clusterIPs", Json::array({kClusterDnsIp})},
         {"selector", dns_labels},
         {"ports",
          Json::array(
              {{{"name", "dns"}, {"port", 53}, {"targetPort", 53}, {"protocol", "UDP"}},
               {{"name", "dns-tcp"}, {"port", 53}, {"targetPort", 53}, {"protocol", "TCP"}}})}}}});
  return out;
}

Result<Json> read_lab_file(const LabPaths& p) {
  std::ifstream in(p.lab_file());
  if (!in) return sys_error("read " + p.lab_file());
  std::stringstream buf;
  buf << in.rdbuf();
  Json j = Json::parse(buf.str(), nullptr, false);
  if (j.is_discarded()) return Error{p.lab_file() + " is not valid JSON"};
  return j;
}

bool is_kubernetes_lab(const LabPaths& p) {
  auto lab = read_lab_file(p);
  return lab && lab->value("kubernetes", false);
}

namespace {

Status start_kubelets(const LabPaths& p, int nodes, bool kubernetes, UpReport& report,
                      const Say& say) {
  for (int i = 1; i <= nodes; ++i) {
    const std::string node = node_name(i);
    if (running_pid(p.pid_dir() + "/kubelet-" + node + ".pid", kubelet_marker(p, node))) continue;
    say("starting the kubelet of " + node);
    DaemonSpec spec;
    spec.argv = {"axon", "--state-dir", p.state_dir, "lab", "kubelet", "--lab", p.name, "--node", node};
    if (kubernetes) {
      spec.argv.push_back("--kubeconfig");
      spec.argv.push_back(p.node_kubeconfig(node));
    }
    spec.netns = p.node_netns(node);
    spec.log_file = p.log_dir() + "/kubelet-" + node + ".log";
    spec.pid_file = p.pid_dir() + "/kubelet-" + node + ".pid";
    if (auto pid = spawn_daemon(spec); !pid) return pid.error();
    report.started.push_back("kubelet " + node);
  }
  return {};
}

void write_lab_file(const LabPaths& p, int nodes, bool kubernetes) {
  Json lab = {{"name", p.name},
              {"nodes", nodes},
              {"stateDir", p.state_dir},
              {"lan", kLanCidr},
              {"serviceCIDR", kServiceCidr},
              {"clusterDNS", kClusterDnsIp}};
  if (kubernetes) {
    lab["kubernetes"] = true;
    lab["kubeconfig"] = p.kubeconfig();
    lab["apiServer"] = std::string("https://") + kControlPlaneIp + ":" + std::to_string(kApiServerPort);
  } else {
    lab["etcd"] = p.etcd_target();
  }
  std::ofstream(p.lab_file(), std::ios::trunc) << lab.dump(2) << "\n";
}

// The Kubernetes lab: control plane, cluster DNS through the API, kubelets.
Result<UpReport> kube_lab_up(const UpOptions& o, const KubeBinaries& bins, const Say& say) {
  const LabPaths& p = o.paths;
  UpReport report;
  say("network: LAN 10.0.0.0/24, control plane 10.0.0.2, " + std::to_string(o.nodes) +
      " nodes, client");
  if (auto st = create_topology(p, o.nodes, true); !st) return st.error();
  if (auto st = start_control_plane(p, bins, report.started, say); !st) return st.error();
  auto store = client::connect_kube(p.kubeconfig(), "");
  if (!store) return store.error();
  say("applying cluster DNS");
  for (const auto& obj : kube_bootstrap_objects()) {
    if (auto r = (*store)->apply(obj); !r) return r.error();
  }
  if (auto st = start_kubelets(p, o.nodes, true, report, say); !st) return st.error();
  write_lab_file(p, o.nodes, true);
  report.already_up = report.started.empty();
  return report;
}

}  // namespace

Result<UpReport> lab_up(const UpOptions& o, const Say& say) {
  const LabPaths& p = o.paths;
  if (::geteuid() != 0)
    return Error{"axon lab needs root: it creates network namespaces and loads BPF programs"};
  if (auto st = check_lab_name(p.name); !st) return st.error();
  if (o.nodes < 1 || o.nodes > kMaxNodes) {
    return Error{"--nodes must be between 1 and " + std::to_string(kMaxNodes)};
  }
  int nodes = o.nodes;
  if (fs::exists(p.lab_file())) {
    auto existing = read_lab_file(p);
    if (existing && existing->value("nodes", 0) != o.nodes) {
      return Error{"lab " + p.name + " is up with " + std::to_string(existing->value("nodes", 0)) +
                   " nodes; to change that, `axon lab down --name " + p.name + "` first"};
    }
    if (existing && existing->value("kubernetes", false) != o.kubernetes) {
      return Error{"lab " + p.name + " is up " +
                   (o.kubernetes ? "on the lab's etcd store" : "on kube-apiserver (--kubernetes)") +
                   "; to change that, `axon lab down --name " + p.name + "` first"};
    }
  }
  // The Kubernetes lab's binaries before anything is made: a missing one
  // leaves nothing behind.
  std::optional<KubeBinaries> bins;
  if (o.kubernetes) {
    auto found = find_kube_binaries(o.kube_binaries);
    if (!found) return found.error();
    bins = *found;
  }
  std::error_code ec;
  for (const auto& d : {p.dir(), p.log_dir(), p.pid_dir(), p.pods_dir()}) fs::create_directories(d, ec);
  if (!o.kubernetes) fs::create_directories(p.etcd_dir(), ec);
  if (ec) return Error{"create " + p.dir() + ": " + ec.message()};
  if (o.kubernetes) return kube_lab_up(o, *bins, say);

  UpReport report;
  say("network: LAN 10.0.0.0/24, " + std::to_string(nodes) + " nodes, client");
  if (auto st = create_topology(p, nodes); !st) return st.error();

  if (!running_pid(p.pid_dir() + "/etcd.pid", etcd_marker(p))) {
    say("starting etcd");
    if (auto st = start_etcd(p); !st) return st.error();
    report.started.push_back("etcd");
  }
  auto etcd = client::EtcdClient::connect(p.etcd_target(), std::chrono::seconds(30));
  if (!etcd) return Error{etcd.error().message + " (log: " + p.log_dir() + "/etcd.log)"};
  client::EtcdStore store(std::shared_ptr<client::EtcdClient>(std::move(*etcd)));
  say("writing the bare cluster: namespaces, nodes, cluster DNS");
  for (const auto& obj : bootstrap_objects(nodes)) {
    if (auto r = store.apply(obj); !r) return r.error();
  }

  const std::string state_flag = p.state_dir;
  if (!running_pid(p.pid_dir() + "/controller.pid", controller_marker(p))) {
    say("starting the controller");
    DaemonSpec spec;
    spec.argv = {"axon", "--state-dir", state_flag, "lab", "controller", "--lab", p.name};
    spec.log_file = p.log_dir() + "/controller.log";
    spec.pid_file = p.pid_dir() + "/controller.pid";
    if (auto pid = spawn_daemon(spec); !pid) return pid.error();
    report.started.push_back("controller");
  }
  if (auto st = start_kubelets(p, nodes, false, report, say); !st) return st.error();
  write_lab_file(p, nodes, false);
  report.already_up = report.started.empty();
  return report;
}

Result<DownReport> lab_down(const LabPaths& p, const Say& say) {
  if (::geteuid() != 0) return Error{"axon lab needs root: it removes network namespaces and pins"};
  if (auto st = check_lab_name(p.name); !st) return st.error();
  DownReport report;
  // Kubelets first (so nothing restarts pods), then the pods, then the rest.
  for (int i = 1; i <= kMaxNodes; ++i) {  // all, in case lab.json is gone
    const std::string node = node_name(i);
    if (auto pid =
            running_pid(p.pid_dir() + "/kubelet-" + node + ".pid", kubelet_marker(p, node))) {
      say("stopping the kubelet of " + node);
      stop_process(*pid, std::chrono::seconds(3));
      ++report.processes;
    }
  }
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(p.pods_dir(), ec)) {
    if (auto pid = read_live_pid(e.path().string() + "/pid")) {
      stop_process(*pid, std::chrono::seconds(3));
      ++report.processes;
    }
  }
  if (auto pid = running_pid(p.pid_dir() + "/controller.pid", controller_marker(p))) {
    say("stopping the controller");
    stop_process(*pid, std::chrono::seconds(3));
    ++report.processes;
  }
  if (auto pid = running_pid(p.pid_dir() + "/etcd.pid", etcd_marker(p))) {
    say("stopping etcd");
    stop_process(*pid, std::chrono::seconds(5));
    ++report.processes;
  }
  report.processes += stop_control_plane(p, say);
  auto namespaces = list_netns(p.netns_prefix());
  if (!namespaces.empty())
    say("deleting " + std::to_string(namespaces.size()) + " network namespaces");
  report.namespaces = static_cast<int>(namespaces.size());
  if (auto st = destroy_topology(p); !st) return st.error();
  if (fs::exists(p.bpffs_dir())) {
    say("removing pins under " + p.bpffs_dir());
    fs::remove_all(p.bpffs_dir(), ec);
    if (ec) return Error{"remove " + p.bpffs_dir() + ": " + ec.message()};
    report.pins = true;
  }
  if (fs::exists(p.dir())) {
    fs::remove_all(p.dir(), ec);
    if (ec) return Error{"remove " + p.dir() + ": " + ec.message()};
    report.state = true;
  }
  return report;
}

LabStatus lab_status(const LabPaths& p) {
  LabStatus s;
  s.name = p.name;
  if (auto lab = read_lab_file(p)) s.nodes = lab->value("nodes", 0);
  auto component = [&](const std::string& name, const std::string& pid_file,
                       const std::string& marker) {
    ComponentStatus c{name};
    if (auto pid = running_pid(pid_file, marker)) {
      c.running = true;
      c.pid = *pid;
    }
    s.components.push_back(c);
  };
  if (is_kubernetes_lab(p)) {
    for (auto& c : control_plane_status(p)) s.components.push_back(c);
  } else {
    component("etcd", p.pid_dir() + "/etcd.pid", etcd_marker(p));
    component("controller", p.pid_dir() + "/controller.pid", controller_marker(p));
  }
  for (int i = 1; i <= s.nodes; ++i) {
    const std::string node = node_name(i);
    component("kubelet " + node, p.pid_dir() + "/kubelet-" + node + ".pid",
              kubelet_marker(p, node));
  }
  s.namespaces = list_netns(p.netns_prefix());
  return s;
}

}  // namespace axon::lab
