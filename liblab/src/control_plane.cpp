#include "axon/lab/control_plane.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "axon/base/fd.h"
#include "axon/base/log.h"
#include "axon/base/process.h"
#include "axon/client/kube_store.h"
#include "axon/hubble/forwarder.h"
#include "axon/lab/process.h"

namespace axon::lab {
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr int kEtcdPort = 2379, kEtcdPeerPort = 2380;
constexpr int kControllerManagerPort = 10257, kSchedulerPort = 10259;

struct Component {
  const char* name;      // "kube-apiserver"
  const char* pid_file;  // in the pid directory
};
// In start order; stopped in reverse.
constexpr Component kComponents[] = {{"kube-etcd", "kube-etcd.pid"},
                                     {"kube-apiserver", "kube-apiserver.pid"},
                                     {"apiserver-proxy", "apiserver-proxy.pid"},
                                     {"kube-controller-manager", "kube-controller-manager.pid"},
                                     {"kube-scheduler", "kube-scheduler.pid"}};

// Every control-plane process has the lab's kube directory on its command
// line (the proxy: its "--lab NAME"), so a reused pid is never taken for one.
std::string marker(const LabPaths& p, const std::string& component) {
  return component == "apiserver-proxy" ? "lab apiserver-proxy --lab " + p.name : p.kube_dir();
}

std::string pid_path(const LabPaths& p, const Component& c) { return p.pid_dir() + "/" + c.pid_file; }

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

Status write_private(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Error{"write " + path};
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  return {};
}

std::string random_token() {
  std::ifstream r("/dev/urandom", std::ios::binary);
  unsigned char b[24];
  r.read(reinterpret_cast<char*>(b), sizeof b);
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : b) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

std::string kubeconfig_text(const std::string& server, const std::string& ca_file,
                            const std::string& user, const std::string& token) {
  return "apiVersion: v1\nkind: Config\nclusters:\n- name: axon-lab\n  cluster:\n    server: " +
         server + "\n    certificate-authority: " + ca_file + "\nusers:\n- name: " + user +
         "\n  user:\n    token: " + token + "\ncontexts:\n- name: axon-lab\n  context:\n    cluster: axon-lab\n    user: " +
         user + "\ncurrent-context: axon-lab\n";
}

// A free TCP port on the machine's loopback (the forwarder's; kept across `lab up`s).
Result<int> free_loopback_port() {
  Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return sys_error("bind");
  socklen_t len = sizeof a;
  ::getsockname(s.get(), reinterpret_cast<sockaddr*>(&a), &len);
  return static_cast<int>(ntohs(a.sin_port));
}

// Keys, the serving certificate, tokens and kubeconfigs: made once per lab.
Status make_credentials(const LabPaths& p) {
  const std::string d = p.kube_dir();
  if (fs::exists(d + "/admin.token") && fs::exists(p.kubeconfig())) return {};
  std::error_code ec;
  fs::create_directories(d, ec);
  fs::permissions(d, fs::perms::owner_all, fs::perm_options::replace, ec);
  const std::string san = std::string("subjectAltName=IP:") + kControlPlaneIp +
                          ",IP:127.0.0.1,IP:10.96.0.1,DNS:localhost,DNS:kubernetes,"
                          "DNS:kubernetes.default,DNS:kubernetes.default.svc,"
                          "DNS:kubernetes.default.svc." + kClusterDomain;
  for (const auto& argv : std::vector<std::vector<std::string>>{
           {"openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-nodes", "-sha256", "-days", "365", "-subj", "/CN=kube-apiserver", "-addext", san,
            "-keyout", d + "/serving.key", "-out", d + "/ca.crt"},
           {"openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
            "-out", d + "/sa.key"},
           {"openssl", "pkey", "-in", d + "/sa.key", "-pubout", "-out", d + "/sa.pub"}}) {
    if (auto r = proc::run(argv); !r) {
      return Error{"make the lab's API server credentials: " + r.error().message +
                   " (is openssl installed? apt-get install openssl)"};
    }
  }
  // Static tokens: cluster-admin, and one per possible node.
  const std::string admin = random_token();
  std::string csv = admin + ",axon-lab-admin,axon-lab-admin,system:masters\n";
  const std::string api = "https://" + std::string(kControlPlaneIp) + ":" + std::to_string(kApiServerPort);
  for (int i = 1; i <= kMaxNodes; ++i) {
    const std::string node = node_name(i), token = random_token();
    csv += token + ",system:node:" + node + ",system:node:" + node + ",system:nodes\n";
    if (auto st = write_private(p.node_kubeconfig(node),
                                kubeconfig_text(api, d + "/ca.crt", "system:node:" + node, token));
        !st)
      return st;
  }
  if (auto st = write_private(d + "/tokens.csv", csv); !st) return st;
  // The controllers, inside the control plane's namespace.
  if (auto st = write_private(
          d + "/controllers.kubeconfig",
          kubeconfig_text("https://127.0.0.1:" + std::to_string(kApiServerPort), d + "/ca.crt",
                          "axon-lab-admin", admin));
      !st)
    return st;
  auto port = free_loopback_port();
  if (!port) return port.error();
  if (auto st = write_private(d + "/proxy.port", std::to_string(*port) + "\n"); !st) return st;
  if (auto st = write_private(p.kubeconfig(),
                              kubeconfig_text("https://127.0.0.1:" + std::to_string(*port),
                                              d + "/ca.crt", "axon-lab-admin", admin));
      !st)
    return st;
  return write_private(d + "/admin.token", admin + "\n");
}

Result<std::unique_ptr<client::KubeClient>> admin_client(const LabPaths& p) {
  auto config = client::load_kubeconfig(p.kubeconfig(), "");
  if (!config) return config.error();
  return client::KubeClient::create(*config);
}

// Polls until `ready` or `timeout`; the error names the component's log.
Status wait_until(const std::string& what, const std::string& log_file, std::chrono::seconds timeout,
                  const std::function<bool()>& ready, const std::function<bool()>& alive) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!ready()) {
    if (!alive()) return Error{what + " exited; see " + log_file};
    if (std::chrono::steady_clock::now() > deadline)
      return Error{what + " not ready after " + std::to_string(timeout.count()) + " s; see " + log_file};
    std::this_thread::sleep_for(300ms);
  }
  return {};
}

}  // namespace

Result<KubeBinaries> find_kube_binaries(const std::string& dir) {
  if (dir.empty()) {
    return Error{
        "axon lab up --kubernetes runs the real kube-apiserver, kube-controller-manager and "
        "kube-scheduler (1.26): give their directory with --kube-binaries DIR or AXON_KUBE_TOOLS "
        "(plain or .xz, as ../shared/tools/kubernetes holds them)"};
  }
  const char* cache_env = std::getenv("AXON_KUBE_BIN_DIR");
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const std::string cache = cache_env ? cache_env
                            : xdg     ? std::string(xdg) + "/axon-kubernetes-1.26"
                                      : std::string(home ? home : "/root") + "/.cache/axon-kubernetes-1.26";
  auto find = [&](const std::string& name) -> Result<std::string> {
    const std::string plain = dir + "/" + name, xz = plain + ".xz", cached = cache + "/" + name;
    if (fs::exists(plain) && ::access(plain.c_str(), X_OK) == 0) return plain;
    if (!fs::exists(xz)) return Error{"no " + name + " (or " + name + ".xz) in " + dir};
    std::error_code ec;
    if (fs::exists(cached) && fs::last_write_time(cached, ec) >= fs::last_write_time(xz, ec))
      return cached;
    fs::create_directories(cache, ec);
    auto data = proc::run({"xz", "-dc", xz});
    if (!data) return Error{"unpack " + xz + ": " + data.error().message};
    std::ofstream(cached + ".tmp", std::ios::binary | std::ios::trunc) << *data;
    fs::permissions(cached + ".tmp", fs::perms::owner_all | fs::perms::group_read |
                                         fs::perms::group_exec | fs::perms::others_read |
                                         fs::perms::others_exec,
                    fs::perm_options::replace, ec);
    fs::rename(cached + ".tmp", cached, ec);
    if (ec) return Error{"unpack " + xz + " into " + cache + ": " + ec.message()};
    return cached;
  };
  KubeBinaries b;
  auto a = find("kube-apiserver");
  if (!a) return a.error();
  auto c = find("kube-controller-manager");
  if (!c) return c.error();
  auto s = find("kube-scheduler");
  if (!s) return s.error();
  b.apiserver = *a;
  b.controller_manager = *c;
  b.scheduler = *s;
  return b;
}

Status start_control_plane(const LabPaths& p, const KubeBinaries& bins,
                           std::vector<std::string>& started, const Say& say) {
  if (auto st = make_credentials(p); !st) return st;
  const std::string d = p.kube_dir();
  const std::string cp = p.control_plane_netns();
  const std::string port = read_file(d + "/proxy.port").substr(0, read_file(d + "/proxy.port").find('\n'));
  auto spec_for = [&](const Component& c, std::vector<std::string> argv, const std::string& netns) {
    DaemonSpec s;
    s.argv = std::move(argv);
    s.netns = netns;
    s.log_file = p.log_dir() + "/" + c.name + ".log";
    s.pid_file = pid_path(p, c);
    return s;
  };
  auto running = [&](const Component& c) { return running_pid(pid_path(p, c), marker(p, c.name)); };
  auto start = [&](const Component& c, DaemonSpec spec) -> Status {
    if (running(c)) return {};
    say(std::string("starting ") + c.name);
    auto pid = spawn_daemon(spec);
    if (!pid) return pid.error();
    started.push_back(c.name);
    return {};
  };
  const std::string local = "127.0.0.1:";
  if (auto st = start(kComponents[0],
                      spec_for(kComponents[0],
                               {"etcd", "--name", "kube", "--data-dir", d + "/etcd",
                                "--listen-client-urls", "http://" + local + std::to_string(kEtcdPort),
                                "--advertise-client-urls", "http://" + local + std::to_string(kEtcdPort),
                                "--listen-peer-urls", "http://" + local + std::to_string(kEtcdPeerPort),
                                "--initial-advertise-peer-urls", "http://" + local + std::to_string(kEtcdPeerPort),
                                "--initial-cluster", "kube=http://" + local + std::to_string(kEtcdPeerPort),
                                "--auto-compaction-retention", "1"},
                               cp));
      !st)
    return st;
  if (auto st = start(
          kComponents[1],
          spec_for(kComponents[1],
                   {bins.apiserver, "--etcd-servers=http://" + local + std::to_string(kEtcdPort),
                    "--secure-port=" + std::to_string(kApiServerPort), "--bind-address=0.0.0.0",
                    std::string("--advertise-address=") + kControlPlaneIp,
                    std::string("--service-cluster-ip-range=") + kServiceCidr,
                    "--service-account-issuer=https://kubernetes.default.svc." + std::string(kClusterDomain),
                    "--service-account-key-file=" + d + "/sa.pub",
                    "--service-account-signing-key-file=" + d + "/sa.key",
                    "--tls-cert-file=" + d + "/ca.crt", "--tls-private-key-file=" + d + "/serving.key",
                    "--cert-dir=" + d + "/apiserver-certs", "--token-auth-file=" + d + "/tokens.csv",
                    "--authorization-mode=Node,RBAC", "--enable-admission-plugins=NodeRestriction",
                    "--allow-privileged=true"},
                   cp));
      !st)
    return st;
  if (auto st = start(kComponents[2],
                      spec_for(kComponents[2],
                               {"axon", "--state-dir", p.state_dir, "lab", "apiserver-proxy", "--lab",
                                p.name, "--port", port},
                               ""));
      !st)
    return st;
  auto client = admin_client(p);
  if (!client) return client.error();
  auto alive = [&](const Component& c) { return [&, c] { return running(c).has_value(); }; };
  say("waiting for kube-apiserver");
  if (auto st = wait_until(
          "kube-apiserver", p.log_dir() + "/kube-apiserver.log", 180s,
          [&] {
            auto r = (*client)->call("GET", "/readyz");
            return r && r->code == 200;
          },
          [&] { return alive(kComponents[1])() && alive(kComponents[0])() && alive(kComponents[2])(); });
      !st)
    return st;
  const std::string kc = "--kubeconfig=" + d + "/controllers.kubeconfig";
  if (auto st = start(kComponents[3],
                      spec_for(kComponents[3],
                               {bins.controller_manager, kc, "--service-account-private-key-file=" + d + "/sa.key",
                                "--root-ca-file=" + d + "/ca.crt", "--use-service-account-credentials=false",
                                // service-ca-cert-publisher stays on: this build's
                                // ServiceAccount admission (from OpenShift's tree) adds
                                // ConfigMap openshift-service-ca.crt to every pod's
                                // kube-api-access volume, and a kubelet cannot start a
                                // pod whose ConfigMap is missing.
                                "--controllers=*,-nodeipam,-cloud-node-lifecycle,-service,-route",
                                "--leader-elect=false", "--bind-address=127.0.0.1",
                                "--secure-port=" + std::to_string(kControllerManagerPort),
                                "--cert-dir=" + d + "/kcm-certs", "--flex-volume-plugin-dir=" + d + "/flexvolume"},
                               cp));
      !st)
    return st;
  if (auto st = start(kComponents[4],
                      spec_for(kComponents[4],
                               {bins.scheduler, kc, "--leader-elect=false", "--bind-address=127.0.0.1",
                                "--secure-port=" + std::to_string(kSchedulerPort),
                                "--cert-dir=" + d + "/scheduler-certs"},
                               cp));
      !st)
    return st;
  say("waiting for the controllers (ServiceAccount default/default)");
  return wait_until(
      "kube-controller-manager", p.log_dir() + "/kube-controller-manager.log", 120s,
      [&] {
        auto r = (*client)->call("GET", "/api/v1/namespaces/default/serviceaccounts/default");
        return r && r->code == 200;
      },
      [&] { return alive(kComponents[3])() && alive(kComponents[4])() && alive(kComponents[1])(); });
}

int stop_control_plane(const LabPaths& p, const Say& say) {
  int stopped = 0;
  for (int i = static_cast<int>(std::size(kComponents)) - 1; i >= 0; --i) {
    const Component& c = kComponents[i];
    if (auto pid = running_pid(pid_path(p, c), marker(p, c.name))) {
      say(std::string("stopping ") + c.name);
      stop_process(*pid, 5s);
      ++stopped;
    }
  }
  std::error_code ec;
  fs::remove_all(p.kube_dir(), ec);
  return stopped;
}

std::vector<ComponentStatus> control_plane_status(const LabPaths& p) {
  std::vector<ComponentStatus> out;
  for (const auto& c : kComponents) {
    ComponentStatus s{c.name};
    if (auto pid = running_pid(pid_path(p, c), marker(p, c.name))) {
      s.running = true;
      s.pid = *pid;
    }
    out.push_back(s);
  }
  return out;
}

int run_apiserver_proxy(const LabPaths& p, int port, const std::atomic<bool>& stop) {
  auto fwd = hubble::SocketForwarder::start_tcp(
      "127.0.0.1:" + std::to_string(port),
      std::string(kControlPlaneIp) + ":" + std::to_string(kApiServerPort),
      "/run/netns/" + p.control_plane_netns());
  if (!fwd) {
    log::error("apiserver-proxy: {}", fwd.error().str());
    return 1;
  }
  log::info("apiserver-proxy: 127.0.0.1:{} -> {}:{} in {}", (*fwd)->port(), kControlPlaneIp,
            kApiServerPort, p.control_plane_netns());
  while (!stop.load()) std::this_thread::sleep_for(200ms);
  (*fwd)->stop();
  return 0;
}

std::vector<Json> kube_bootstrap_objects() {
  std::vector<Json> out;
  out.push_back({{"apiVersion", "v1"},
                 {"kind", "ServiceAccount"},
                 {"metadata", {{"name", "coredns"}, {"namespace", "kube-system"}}}});
  out.push_back(
      {{"apiVersion", "rbac.authorization.k8s.io/v1"},
       {"kind", "ClusterRole"},
       {"metadata", {{"name", "system:coredns"}}},
       {"rules", Json::array({{{"apiGroups", Json::array({""})},
                               {"resources", Json::array({"services", "namespaces"})},
                               {"verbs", Json::array({"list", "watch", "get"})}},
                              {{"apiGroups", Json::array({"discovery.k8s.io"})},
                               {"resources", Json::array({"endpointslices"})},
                               {"verbs", Json::array({"list", "watch", "get"})}}})}});
  out.push_back({{"apiVersion", "rbac.authorization.k8s.io/v1"},
                 {"kind", "ClusterRoleBinding"},
                 {"metadata", {{"name", "system:coredns"}}},
                 {"roleRef",
                  {{"apiGroup", "rbac.authorization.k8s.io"},
                   {"kind", "ClusterRole"},
                   {"name", "system:coredns"}}},
                 {"subjects", Json::array({{{"kind", "ServiceAccount"},
                                            {"name", "coredns"},
                                            {"namespace", "kube-system"}}})}});
  for (Json o : bootstrap_objects(0)) {
    const std::string kind = o.value("kind", "");
    if (kind == "Namespace") continue;  // the API server makes them
    if (kind == "Deployment")
      o["spec"]["template"]["spec"]["serviceAccountName"] = "coredns";
    out.push_back(std::move(o));
  }
  return out;
}

}  // namespace axon::lab
