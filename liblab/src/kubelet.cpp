#include "axon/lab/kubelet.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "axon/base/fd.h"
#include "axon/base/log.h"
#include "axon/base/process.h"
#include "axon/base/strings.h"
#include "axon/client/etcd_store.h"
#include "axon/client/informer.h"
#include "axon/client/leader_election.h"
#include "axon/client/kube_store.h"
#include "axon/hubble/forwarder.h"
#include "axon/lab/process.h"
#include "axon/lab/rootfs.h"

namespace axon::lab {
namespace fs = std::filesystem;
using client::ClusterStore;
using client::EtcdStore;
using client::ObjectRef;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kCniConfDir = "/etc/cni/net.d";
constexpr const char* kCniBinDir = "/opt/cni/bin";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string pod_key(const Json& pod) {
  return pod["metadata"].value("namespace", "") + "/" + pod["metadata"].value("name", "");
}

// A child that enters another mount namespace (the machine's) and runs argv.
Result<std::string> run_in_mount_ns(int mnt_fd, const std::vector<std::string>& argv) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return sys_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    if (::setns(mnt_fd, CLONE_NEWNS) != 0) _exit(126);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    _exit(127);
  }
  ::close(out[1]);
  std::string output;
  char buf[1024];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    while (!output.empty() && output.back() == '\n') output.pop_back();
    return Error{join(argv, " ") + " failed: " + output};
  }
  return output;
}

// Runs a CNI plugin: environment + config on stdin, result on stdout.
Result<Json> exec_cni(const std::string& plugin, const std::map<std::string, std::string>& env,
                      const Json& netconf) {
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0 || ::pipe2(out, O_CLOEXEC) != 0) return sys_error("pipe");
  pid_t pid = ::fork();
  if (pid < 0) return sys_error("fork");
  if (pid == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    ::execl(plugin.c_str(), plugin.c_str(), nullptr);
    std::printf("{\"cniVersion\":\"1.0.0\",\"code\":999,\"msg\":\"cannot execute %s\"}",
                plugin.c_str());
    _exit(1);
  }
  ::close(in[0]);
  ::close(out[1]);
  const std::string conf = netconf.dump();
  (void)!::write(in[1], conf.data(), conf.size());
  ::close(in[1]);
  std::string output;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(out[0], buf, sizeof buf)) > 0) output.append(buf, static_cast<size_t>(n));
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  Json result = output.empty() ? Json::object() : Json::parse(output, nullptr, false);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    std::string msg = result.is_object() ? result.value("msg", output) : output;
    std::string details = result.is_object() ? result.value("details", "") : "";
    return Error{"CNI plugin " + fs::path(plugin).filename().string() + " " +
                 env.at("CNI_COMMAND") + " failed: " + msg +
                 (details.empty() ? "" : " (" + details + ")")};
  }
  if (result.is_discarded()) return Error{"CNI plugin returned invalid JSON: " + output};
  return result;
}

// A readiness check from the kubelet's network namespace (the node's), or
// from inside a pod's for a probe of its loopback: TCP connect, or an HTTP
// GET whose status is 2xx/3xx.
bool probe(const std::string& netns, const std::string& host, int port,
           const std::string& http_path) {
  pid_t pid = ::fork();
  if (pid < 0) return false;
  if (pid == 0) {
    if (!netns.empty() && !proc::enter_netns(netns)) _exit(1);
    Fd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    timeval tv{1, 0};
    ::setsockopt(s.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    if (::inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1) _exit(1);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) _exit(1);
    if (http_path.empty()) _exit(0);
    std::string req =
        "GET " + http_path + " HTTP/1.0\r\nHost: " + host + "\r\nUser-Agent: axon-kubelet\r\n\r\n";
    if (::send(s.get(), req.data(), req.size(), 0) < 0) _exit(1);
    char buf[64] = {0};
    ssize_t n = ::recv(s.get(), buf, sizeof buf - 1, 0);
    if (n < 12) _exit(1);
    _exit(buf[9] == '2' || buf[9] == '3' ? 0 : 1);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

struct Container {
  std::string name;
  Json spec;
};

// What the kubelet knows of a pod it runs.
struct PodRuntime {
  std::string uid, key, netns;
  std::string ip;
  Json cni_result;
  pid_t pid = 0;
  int restarts = 0;
  bool init_done = false;
  bool ready = false;
  std::string waiting_reason, waiting_message;
  std::string started_at;
  Clock::time_point next_start{};
  Clock::time_point next_probe{};
  Json last_status;
  int last_exit = -1;
  int probe_failures = 0;
  Clock::time_point token_refresh = Clock::time_point::max();  // projected tokens
  bool deleting = false;  // deletionTimestamp seen: stopped, deletion confirmed
  std::string status_error;  // the last failed status write's
};

// The node's address on the LAN: nodeN is 10.0.0.(10+N).
std::string address_of(const std::string& node) {
  return node.starts_with("node") ? node_ip(std::atoi(node.c_str() + 4)) : "";
}

class Kubelet {
 public:
  // `store` for requests, `watch_store` for the pod informer's thread;
  // `kube` is `store` when it is the Kubernetes API (else null).
  Kubelet(const KubeletOptions& o, int host_mnt, std::unique_ptr<ClusterStore> store,
          std::unique_ptr<ClusterStore> watch_store)
      : o_(o),
        host_mnt_(host_mnt),
        store_(std::move(store)),
        watch_store_(std::move(watch_store)),
        kube_(dynamic_cast<client::KubeStore*>(store_.get())),
        address_(address_of(o.node)) {}

  int run(const std::atomic<bool>& stop) {
    log::info("kubelet of {} started ({})", o_.node, store_->describe());
    std::unique_ptr<hubble::SocketForwarder> kubeprism;
    if (kube_) {
      // KubePrism, as on Talos: the API server on every node's loopback, for
      // host-network pods that start before any Service works (the agents).
      auto f = hubble::SocketForwarder::start_tcp(
          "127.0.0.1:" + std::to_string(kKubePrismPort),
          std::string(kControlPlaneIp) + ":" + std::to_string(kApiServerPort), "");
      if (!f) log::warn("KubePrism on 127.0.0.1:{}: {}", kKubePrismPort, f.error().str());
      else kubeprism = std::move(*f);
    }
    client::Informer pods(*watch_store_, "v1", "Pod");
    pods.on_change([this] {
      std::lock_guard lock(wake_mu_);
      woken_ = true;
      wake_cv_.notify_one();
    });
    pods.start();
    auto last_heartbeat = Clock::time_point{};
    while (!stop.load()) {
      if (Clock::now() - last_heartbeat > std::chrono::seconds(3)) {
        heartbeat();
        last_heartbeat = Clock::now();
      }
      reap();
      if (pods.synced()) reconcile(pods.list());
      // Woken by any pod change, or every half second.
      std::unique_lock lock(wake_mu_);
      wake_cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return woken_; });
      woken_ = false;
    }
    log::info("kubelet of {} stopping; pods keep running", o_.node);
    return 0;
  }

 private:
  std::string pod_dir(const std::string& uid) const { return o_.paths.pods_dir() + "/" + uid; }

  Json node_status(bool cni) const {
    auto cond = [](const char* type, bool ok, const char* reason, const std::string& message) {
      return Json{{"type", type},
                  {"status", ok ? "True" : "False"},
                  {"reason", reason},
                  {"message", message},
                  {"lastHeartbeatTime", client::now_rfc3339()},
                  {"lastTransitionTime", client::now_rfc3339()}};
    };
    const Json resources = {
        {"cpu", "2"}, {"memory", "8Gi"}, {"pods", "110"}, {"ephemeral-storage", "20Gi"}};
    return {
        {"conditions",
         Json::array(
             {cond("MemoryPressure", false, "KubeletHasSufficientMemory",
                   "kubelet has sufficient memory available"),
              cond("DiskPressure", false, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
              cond("PIDPressure", false, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
              cond("Ready", cni, cni ? "KubeletReady" : "KubeletNotReady",
                   cni ? "kubelet is posting ready status"
                       : "container runtime network not ready: NetworkReady=false "
                         "reason:NetworkPluginNotReady message:no CNI configuration in "
                         "/etc/cni/net.d")})},
        {"addresses", Json::array({{{"type", "InternalIP"}, {"address", address_}},
                                   {{"type", "Hostname"}, {"address", o_.node}}})},
        {"capacity", resources},
        {"allocatable", resources},
        {"daemonEndpoints", {{"kubeletEndpoint", {{"Port", 10250}}}}},
        {"nodeInfo",
         {{"kubeletVersion", "v1.26.4-axon-lab"},
          {"kubeProxyVersion", "v1.26.4-axon-lab"},
          {"containerRuntimeVersion", "axon-lab://1"},
          {"operatingSystem", "linux"},
          {"architecture", "amd64"},
          {"osImage", "axon lab"},
          {"kernelVersion", ""},
          {"machineID", ""},
          {"systemUUID", ""},
          {"bootID", ""}}}};
  }

  // Kubernetes: the Node this kubelet registers (as kubelet --register-node).
  Json node_object(bool cni) const {
    const int i = std::atoi(o_.node.c_str() + 4);
    return {{"apiVersion", "v1"},
            {"kind", "Node"},
            {"metadata",
             {{"name", o_.node},
              {"labels",
               {{"kubernetes.io/hostname", o_.node},
                {"kubernetes.io/os", "linux"},
                {"kubernetes.io/arch", "amd64"}}}}},
            {"spec", {{"podCIDR", node_pod_cidr(i)}, {"podCIDRs", Json::array({node_pod_cidr(i)})}}},
            {"status", node_status(cni)}};
  }

  // Node status when it changes (and every minute), the node's Lease every 10 s.
  void heartbeat() {
    const bool cni = !find_cni_config(kCniConfDir).empty();
    auto node = store_->get(ObjectRef{"v1", "Node", "", o_.node});
    if (!node) {
      log::warn("get node {}: {}", o_.node, node.error().str());
    } else if (!*node) {
      if (!kube_) return;  // the lab's etcd: `lab up` writes the Nodes
      auto c = store_->create(node_object(cni));
      if (!c) log::warn("register node {}: {}", o_.node, c.error().str());
      else log::info("registered node {}", o_.node);
      return;
    } else if (cni != last_ready_ || Clock::now() - last_node_status_ > std::chrono::seconds(60)) {
      Json n = **node;
      n["status"].update(node_status(cni));
      auto u = store_->replace_status(n);
      if (!u) {
        log::warn("node {} status: {}", o_.node, u.error().str());
      } else if (*u) {
        if (cni != last_ready_ || last_node_status_ == Clock::time_point{})
          log::info("node {} is {}", o_.node, cni ? "Ready" : "NotReady (no CNI configuration)");
        last_ready_ = cni;
        last_node_status_ = Clock::now();
      }
    }
    if (Clock::now() - last_lease_ > std::chrono::seconds(10)) renew_lease();
  }

  // coordination.k8s.io Lease kube-node-lease/<node>: the node lifecycle
  // controller's heartbeat (40 s without one: the node is NotReady).
  void renew_lease() {
    const ObjectRef ref{"coordination.k8s.io/v1", "Lease", "kube-node-lease", o_.node};
    const std::string now = client::LeaderElector::micro_time_now();
    auto live = store_->get(ref);
    if (!live) return;
    Result<std::optional<Json>> w = std::optional<Json>();
    if (!*live) {
      w = store_->create({{"apiVersion", ref.api_version},
                          {"kind", "Lease"},
                          {"metadata", {{"name", o_.node}, {"namespace", ref.namespace_}}},
                          {"spec",
                           {{"holderIdentity", o_.node},
                            {"leaseDurationSeconds", 40},
                            {"renewTime", now}}}});
    } else {
      Json l = **live;
      l["spec"]["holderIdentity"] = o_.node;
      l["spec"]["leaseDurationSeconds"] = 40;
      l["spec"]["renewTime"] = now;
      w = store_->replace(l);
    }
    if (!w) log::warn("node lease: {}", w.error().str());
    else if (*w) last_lease_ = Clock::now();
  }

  void reap() {
    for (auto [pid, status] : reap_children()) {
      for (auto& [uid, rt] : pods_) {
        if (rt.pid != pid) continue;
        rt.pid = 0;
        rt.ready = false;
        rt.last_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        log::info("pod {}: process {} exited ({})", rt.key, pid, rt.last_exit);
        std::error_code ec;
        fs::remove(pod_dir(uid) + "/pid", ec);
      }
    }
  }

  void reconcile(const std::vector<Json>& pods) {
    std::map<std::string, const Json*> mine;
    for (const auto& p : pods) {
      if (client::member(p["spec"], "nodeName") == o_.node) mine[p["metadata"].value("uid", "")] = &p;
    }
    // Pods gone from the store: tear down.
    for (auto it = pods_.begin(); it != pods_.end();) {
      if (mine.count(it->first)) {
        ++it;
        continue;
      }
      if (!it->second.deleting) teardown(it->second);
      it = pods_.erase(it);
    }
    for (auto& [uid, pod] : mine) {
      auto& rt = pods_[uid];
      if (rt.uid.empty()) adopt(rt, *pod);
      if (pod->at("metadata").contains("deletionTimestamp")) {
        // Kubernetes: the pod is being deleted; stop it, then confirm.
        if (!rt.deleting) {
          teardown(rt);
          rt.deleting = true;
        }
        if (kube_) {
          auto r = kube_->remove_now(ObjectRef::of(*pod), uid);
          if (!r) log::warn("pod {}: confirm deletion: {}", rt.key, r.error().str());
        }
        continue;
      }
      realise(rt, *pod);
      write_status(rt, *pod);
      refresh_tokens(rt, *pod);
    }
  }

  // After a kubelet restart: take over a pod whose process still runs.
  void adopt(PodRuntime& rt, const Json& pod) {
    rt.uid = pod["metadata"].value("uid", "");
    rt.key = pod_key(pod);
    const bool host_net = pod["spec"].value("hostNetwork", false);
    rt.netns = host_net ? "" : o_.paths.pod_netns(rt.uid);
    std::string dir = pod_dir(rt.uid);
    if (auto pid = running_pid(dir + "/pid", "")) {
      rt.pid = *pid;
      rt.init_done = true;
      rt.started_at = pod["status"].value("startTime", client::now_rfc3339());
      rt.restarts =
          pod["status"].contains("containerStatuses") && !pod["status"]["containerStatuses"].empty()
              ? pod["status"]["containerStatuses"][0].value("restartCount", 0)
              : 0;
      log::info("pod {}: adopted running process {}", rt.key, rt.pid);
    }
    if (fs::exists(dir + "/cni-result.json")) {
      rt.cni_result = Json::parse(read_file(dir + "/cni-result.json"), nullptr, false);
      if (rt.cni_result.is_discarded()) rt.cni_result = Json();
      rt.ip = ip_of(rt.cni_result);
    }
    if (host_net) rt.ip = address_;
  }

  static std::string ip_of(const Json& cni_result) {
    if (!cni_result.is_object() || !cni_result.contains("ips") || cni_result["ips"].empty())
      return "";
    std::string a = cni_result["ips"][0].value("address", "");
    return a.substr(0, a.find('/'));
  }

  void waiting(PodRuntime& rt, const std::string& reason, const std::string& message) {
    if (rt.waiting_reason != reason || rt.waiting_message != message) {
      log::info("pod {}: {}: {}", rt.key, reason, message);
    }
    rt.waiting_reason = reason;
    rt.waiting_message = message;
  }

  Status setup_network(PodRuntime& rt, const Json& pod) {
    Json conf = find_cni_config(kCniConfDir);
    if (conf.empty()) {
      return Error{
          "network is not ready: no CNI configuration in /etc/cni/net.d (axon install starts the "
          "agents that provide one)"};
    }
    if (!fs::exists("/run/netns/" + rt.netns)) {
      if (auto r = run_in_mount_ns(host_mnt_, {"ip", "netns", "add", rt.netns}); !r)
        return r.error();
      if (auto r = run_in_mount_ns(host_mnt_, {"ip", "-n", rt.netns, "link", "set", "lo", "up"});
          !r)
        return r.error();
    }
    auto result = cni(rt, pod, conf, "ADD");
    if (!result) return result.error();
    rt.cni_result = *result;
    rt.ip = ip_of(*result);
    if (rt.ip.empty()) return Error{"CNI result has no IP address: " + result->dump()};
    std::ofstream(pod_dir(rt.uid) + "/cni-result.json") << result->dump();
    log::info("pod {}: network ready, IP {}", rt.key, rt.ip);
    return {};
  }

  Result<Json> cni(const PodRuntime& rt, const Json& pod, const Json& conf,
                   const std::string& command) {
    std::map<std::string, std::string> env = {
        {"CNI_COMMAND", command},
        {"CNI_CONTAINERID", rt.uid},
        {"CNI_NETNS", "/run/netns/" + rt.netns},
        {"CNI_IFNAME", "eth0"},
        {"CNI_PATH", kCniBinDir},
        {"CNI_ARGS", "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + pod["metadata"].value("namespace", "") +
                         ";K8S_POD_NAME=" + pod["metadata"].value("name", "") +
                         ";K8S_POD_INFRA_CONTAINER_ID=" + rt.uid + ";K8S_POD_UID=" + rt.uid}};
    Json prev;
    const auto& plugins = conf["plugins"];
    // ADD runs the chain in order; DEL in reverse (CNI spec).
    std::vector<size_t> order;
    for (size_t i = 0; i < plugins.size(); ++i) order.push_back(i);
    if (command == "DEL") std::reverse(order.begin(), order.end());
    for (size_t i : order) {
      Json netconf = plugins[i];
      netconf["name"] = conf.value("name", "axon");
      netconf["cniVersion"] = conf.value("cniVersion", "1.0.0");
      if (command == "ADD" && !prev.is_null()) netconf["prevResult"] = prev;
      if (command == "DEL" && rt.cni_result.is_object() && !rt.cni_result.empty())
        netconf["prevResult"] = rt.cni_result;
      std::string type = netconf.value("type", "");
      auto r = exec_cni(std::string(kCniBinDir) + "/" + type, env, netconf);
      if (!r) return r.error();
      if (command == "ADD") prev = *r;
    }
    return prev;
  }

  // Writes `content` to dir/path (path may have directories), replacing
  // the file atomically so a reader never sees half of it (a rotated token).
  static void write_volume_file(const std::string& dir, const std::string& path,
                                const std::string& content) {
    std::error_code ec;
    const fs::path target = fs::path(dir) / path;
    fs::create_directories(target.parent_path(), ec);
    const std::string tmp = target.string() + ".tmp";
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << content;
    fs::rename(tmp, target, ec);
  }

  // The keys of a ConfigMap's or Secret's data (Secret values are base64)
  // into `dir`: all keys, or the `items` (key -> path). An error when the
  // object or an item's key is missing and the source is not optional.
  Status write_keys(const std::string& dir, const Json& source, const std::string& kind,
                    const std::string& ns, const std::string& name) {
    auto obj = store_->get(ObjectRef{"v1", kind, ns, name});
    if (!obj) return obj.error();
    const bool optional = source.value("optional", false);
    if (!*obj) {
      if (optional) return {};
      return Error{kind + " " + ns + "/" + name + " not found"};
    }
    std::map<std::string, std::string> data;
    for (const auto& [k, v] : client::member(**obj, "data").items()) {
      std::string value = v.is_string() ? v.get<std::string>() : v.dump();
      if (kind == "Secret") {
        auto decoded = client::base64_decode(value);
        if (!decoded) return Error{"Secret " + ns + "/" + name + " key " + k + ": not base64"};
        value = *decoded;
      }
      data[k] = value;
    }
    const Json& items = client::member(source, "items");
    if (items.is_array() && !items.empty()) {
      for (const auto& item : items) {
        auto it = data.find(item.value("key", ""));
        if (it == data.end()) {
          if (optional) continue;
          return Error{kind + " " + ns + "/" + name + " has no key " + item.value("key", "")};
        }
        write_volume_file(dir, item.value("path", it->first), it->second);
      }
    } else {
      for (const auto& [k, v] : data) write_volume_file(dir, k, v);
    }
    return {};
  }

  // A downward API field of the pod, as its file holds it.
  std::string pod_field(const PodRuntime& rt, const Json& pod, const std::string& path) const {
    const Json& meta = pod["metadata"];
    if (path == "metadata.name") return meta.value("name", "");
    if (path == "metadata.namespace") return meta.value("namespace", "");
    if (path == "metadata.uid") return rt.uid;
    if (path == "spec.nodeName") return o_.node;
    if (path == "spec.serviceAccountName") return pod["spec"].value("serviceAccountName", "default");
    if (path == "status.podIP") return rt.ip;
    if (path == "status.hostIP") return address_;
    for (const char* map : {"labels", "annotations"}) {
      const std::string prefix = std::string("metadata.") + map;
      if (path == prefix) {
        std::string out;
        for (const auto& [k, v] : client::member(meta, map).items())
          out += k + "=\"" + (v.is_string() ? v.get<std::string>() : v.dump()) + "\"\n";
        return out;
      }
      if (path.starts_with(prefix + "['") && path.ends_with("']")) {
        const std::string key = path.substr(prefix.size() + 2, path.size() - prefix.size() - 4);
        const Json& v = client::member(client::member(meta, map), key);
        return v.is_string() ? v.get<std::string>() : "";
      }
    }
    return "";
  }

  // A projected service-account token (the kubelet's TokenRequest for the
  // pod); schedules its refresh at 80% of its lifetime, as the kubelet does.
  Status write_token(PodRuntime& rt, const Json& pod, const std::string& dir, const Json& source) {
    if (!kube_) return Error{"service-account tokens need the Kubernetes lab (axon lab up --kubernetes)"};
    const int64_t seconds = source.value("expirationSeconds", int64_t{3607});
    auto status = kube_->request_token(pod["metadata"].value("namespace", ""),
                                       pod["spec"].value("serviceAccountName", "default"),
                                       source.value("audience", ""), seconds,
                                       pod["metadata"].value("name", ""), rt.uid);
    if (!status) return status.error();
    write_volume_file(dir, source.value("path", "token"), status->value("token", ""));
    rt.token_refresh = std::min(rt.token_refresh, Clock::now() + std::chrono::seconds(seconds * 8 / 10));
    return {};
  }

  // Rewrites the projected tokens of a running pod when they are due.
  void refresh_tokens(PodRuntime& rt, const Json& pod) {
    if (!kube_ || rt.pid == 0 || Clock::now() < rt.token_refresh) return;
    rt.token_refresh = Clock::time_point::max();
    for (const auto& v : pod["spec"].value("volumes", Json::array())) {
      for (const auto& src : client::member(client::member(v, "projected"), "sources")) {
        if (!src.contains("serviceAccountToken")) continue;
        const std::string dir = pod_dir(rt.uid) + "/volumes/" + v.value("name", "");
        if (auto st = write_token(rt, pod, dir, src["serviceAccountToken"]); !st) {
          log::warn("pod {}: token refresh: {}", rt.key, st.error().str());
          rt.token_refresh = Clock::now() + std::chrono::seconds(10);
        } else {
          log::info("pod {}: service-account token refreshed", rt.key);
        }
      }
    }
  }

  // One volume source (configMap, secret, downwardAPI, serviceAccountToken)
  // into `dir`; a secret names its Secret by `secret_name` ("secretName" in
  // a volume, "name" in a projected source). Other kinds write nothing.
  Status write_source(PodRuntime& rt, const Json& pod, const std::string& dir, const Json& src,
                      const char* secret_name) {
    const std::string ns = pod["metadata"].value("namespace", "");
    if (src.contains("serviceAccountToken")) return write_token(rt, pod, dir, src["serviceAccountToken"]);
    if (src.contains("configMap"))
      return write_keys(dir, src["configMap"], "ConfigMap", ns, src["configMap"].value("name", ""));
    if (src.contains("secret"))
      return write_keys(dir, src["secret"], "Secret", ns, src["secret"].value(secret_name, ""));
    if (src.contains("downwardAPI")) {
      for (const auto& item : client::member(src["downwardAPI"], "items"))
        write_volume_file(dir, item.value("path", ""),
                          pod_field(rt, pod, client::member(item, "fieldRef").value("fieldPath", "")));
    }
    return {};
  }

  std::vector<VolumeMount> volumes(PodRuntime& rt, const Json& pod, const Json& container,
                                   std::string& error) {
    std::map<std::string, std::string> sources;
    std::error_code ec;
    const std::string ns = pod["metadata"].value("namespace", "");
    for (const auto& v : pod["spec"].value("volumes", Json::array())) {
      std::string name = v.value("name", "");
      const std::string dir = pod_dir(rt.uid) + "/volumes/" + name;
      Status st;
      if (v.contains("hostPath")) {
        std::string path = v["hostPath"].value("path", "");
        std::string type = v["hostPath"].value("type", "");
        if (type == "DirectoryOrCreate") fs::create_directories(path, ec);
        if ((type == "Directory" || type.empty()) && !fs::exists(path)) {
          error = "hostPath " + path + " of volume " + name + " does not exist on " + o_.node;
          return {};
        }
        sources[name] = path;
        continue;
      }
      fs::create_directories(dir, ec);
      sources[name] = dir;
      if (v.contains("projected")) {
        // What the ServiceAccount admission plugin adds (kube-api-access-*):
        // a bound token, the cluster's CA (ConfigMap kube-root-ca.crt), the namespace.
        for (const auto& src : client::member(v["projected"], "sources")) {
          st = write_source(rt, pod, dir, src, "name");
          if (!st) break;
        }
      } else {
        st = write_source(rt, pod, dir, v, "secretName");
      }  // emptyDir and anything else: a fresh directory
      if (!st) {
        error = "volume " + name + ": " + st.error().message;
        return {};
      }
    }
    std::vector<VolumeMount> mounts;
    for (const auto& m : container.value("volumeMounts", Json::array())) {
      auto it = sources.find(m.value("name", ""));
      if (it == sources.end()) {
        error = "volumeMount " + m.value("name", "") + " names no volume";
        return {};
      }
      mounts.push_back({it->second, m.value("mountPath", ""), m.value("readOnly", false)});
    }
    return mounts;
  }

  std::map<std::string, std::string> environment(const PodRuntime& rt, const Json& pod,
                                                 const Json& container) {
    // The lab's directory, where the relay finds the agents' sockets.
    std::map<std::string, std::string> env = {{"AXON_LAB", o_.paths.name},
                                              {"AXON_STATE_DIR", o_.paths.state_dir}};
    if (kube_) {
      // As every kubelet: the `kubernetes` Service (the API server).
      env["KUBERNETES_SERVICE_HOST"] = "10.96.0.1";
      env["KUBERNETES_SERVICE_PORT"] = "443";
      env["KUBERNETES_SERVICE_PORT_HTTPS"] = "443";
      env["KUBERNETES_PORT"] = "tcp://10.96.0.1:443";
      env["KUBERNETES_PORT_443_TCP"] = "tcp://10.96.0.1:443";
      env["KUBERNETES_PORT_443_TCP_PROTO"] = "tcp";
      env["KUBERNETES_PORT_443_TCP_PORT"] = "443";
      env["KUBERNETES_PORT_443_TCP_ADDR"] = "10.96.0.1";
    } else {
      env["AXON_STORE"] = o_.paths.etcd_target();  // the lab's store, in place of the API server
    }
    for (const auto& e : container.value("env", Json::array())) {
      std::string name = e.value("name", "");
      if (e.contains("value")) {
        env[name] = e["value"].is_string() ? e["value"].get<std::string>() : e["value"].dump();
      } else if (e.contains("valueFrom") && e["valueFrom"].contains("fieldRef")) {
        env[name] = pod_field(rt, pod, e["valueFrom"]["fieldRef"].value("fieldPath", ""));
      } else if (e.contains("valueFrom") && e["valueFrom"].contains("configMapKeyRef")) {
        const auto& ref = e["valueFrom"]["configMapKeyRef"];
        auto cm = store_->get(ObjectRef{"v1", "ConfigMap", pod["metadata"].value("namespace", ""),
                                        ref.value("name", "")});
        if (cm && *cm && (**cm).contains("data") && (**cm)["data"].contains(ref.value("key", ""))) {
          env[name] = (**cm)["data"][ref.value("key", "")].get<std::string>();
        }
      }
    }
    return env;
  }

  Result<PodLaunch> launch_for(PodRuntime& rt, const Json& pod, const Json& container,
                               bool init) {
    PodLaunch l;
    l.pod_dir = pod_dir(rt.uid);
    l.netns = rt.netns;
    l.hostname = pod["metadata"].value("name", "");
    l.shared_paths = {o_.paths.dir()};
    std::string error;
    l.mounts = volumes(rt, pod, container, error);
    if (!error.empty()) return Error{error};
    if (!pod["spec"].value("hostNetwork", false)) {
      const std::string ns = pod["metadata"].value("namespace", "default");
      l.resolv_conf = "search " + ns + ".svc." + kClusterDomain + " svc." + kClusterDomain + " " +
                      kClusterDomain + "\nnameserver " + kClusterDnsIp + "\noptions ndots:5\n";
    }
    for (const auto& c : container.value("command", Json::array()))
      l.argv.push_back(c.get<std::string>());
    for (const auto& a : container.value("args", Json::array()))
      l.argv.push_back(a.get<std::string>());
    if (l.argv.empty()) {
      return Error{"container " + container.value("name", "") +
                   " has no command: the lab runs host commands, "
                   "not images (set command:, e.g. [axon, workload, http-echo])"};
    }
    l.env = environment(rt, pod, container);
    l.working_dir = container.value("workingDir", "");
    l.log_file =
        pod_dir(rt.uid) + (init ? "/init-" + container.value("name", "") + ".log" : "/log");
    return l;
  }

  // Runs the pod's init containers in order, each to completion.
  Status run_init(PodRuntime& rt, const Json& pod) {
    for (const auto& c : pod["spec"].value("initContainers", Json::array())) {
      auto l = launch_for(rt, pod, c, true);
      if (!l) return l.error();
      auto pid = start_pod_process(*l);
      if (!pid) return pid.error();
      int status = 0;
      ::waitpid(*pid, &status, 0);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        return Error{
            "init container " + c.value("name", "") + " failed (exit " +
            std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status)) +
            "); log: " + l->log_file};
      }
    }
    return {};
  }

  void realise(PodRuntime& rt, const Json& pod) {
    const bool host_net = pod["spec"].value("hostNetwork", false);
    rt.netns = host_net ? "" : o_.paths.pod_netns(rt.uid);
    std::error_code ec;
    fs::create_directories(pod_dir(rt.uid), ec);
    const auto& containers = pod["spec"].value("containers", Json::array());
    if (containers.empty()) {
      waiting(rt, "InvalidSpec", "the pod has no containers");
      return;
    }
    if (containers.size() > 1) {
      waiting(
          rt, "InvalidSpec",
          "the lab runs one container per pod; this pod has " + std::to_string(containers.size()));
      return;
    }
    if (rt.pid != 0) {  // running: only its readiness can change
      check_readiness(rt, pod, containers[0]);
      return;
    }
    if (Clock::now() < rt.next_start) return;
    if (host_net && rt.ip.empty()) rt.ip = address_;
    if (!host_net && rt.ip.empty()) {
      if (auto st = setup_network(rt, pod); !st) {
        waiting(rt, "ContainerCreating", st.error().str());
        rt.next_start = Clock::now() + std::chrono::seconds(2);
        return;
      }
    }
    if (!rt.init_done) {
      if (auto st = run_init(rt, pod); !st) {
        waiting(rt, "Init:Error", st.error().str());
        rt.next_start = Clock::now() + backoff(rt);
        ++rt.restarts;
        return;
      }
      rt.init_done = true;
    }
    if (rt.pid == 0) {
      std::string policy = pod["spec"].value("restartPolicy", "Always");
      if (rt.last_exit >= 0 && (policy == "Never" || (policy == "OnFailure" && rt.last_exit == 0)))
        return;
      if (rt.last_exit >= 0) ++rt.restarts;
      auto l = launch_for(rt, pod, containers[0], false);
      if (!l) {
        waiting(rt, "CreateContainerConfigError", l.error().str());
        rt.next_start = Clock::now() + std::chrono::seconds(2);
        return;
      }
      auto pid = start_pod_process(*l);
      if (!pid) {
        waiting(rt, "RunContainerError", pid.error().str());
        rt.next_start = Clock::now() + backoff(rt);
        return;
      }
      rt.pid = *pid;
      write_pid_file(pod_dir(rt.uid) + "/pid", rt.pid);
      rt.started_at = client::now_rfc3339();
      rt.waiting_reason.clear();
      rt.waiting_message.clear();
      rt.ready = false;
      rt.next_probe = Clock::now();
      rt.next_start = Clock::now() + backoff(rt);  // the earliest restart, should it crash
      log::info("pod {}: started {} (pid {})", rt.key, join(l->argv, " "), rt.pid);
    }
    check_readiness(rt, pod, containers[0]);
  }

  static std::chrono::milliseconds backoff(const PodRuntime& rt) {
    // 1s, 2s, 4s ... capped at 30s, as a CrashLoopBackOff would.
    int shift = std::min(rt.restarts, 5);
    return std::chrono::milliseconds(std::min(1000 << shift, 30000));
  }

  void check_readiness(PodRuntime& rt, const Json& pod, const Json& container) {
    if (rt.pid == 0) return;
    if (!container.contains("readinessProbe")) {
      rt.ready = true;
      return;
    }
    if (Clock::now() < rt.next_probe) return;
    const Json& p = container["readinessProbe"];
    int period = p.value("periodSeconds", 10);
    rt.next_probe = Clock::now() + std::chrono::seconds(std::max(1, std::min(period, 2)));
    std::string host = rt.ip;
    int port = 0;
    std::string path;
    auto port_of = [&](const Json& v) {
      if (v.is_number()) return v.get<int>();
      for (const auto& cp : container.value("ports", Json::array())) {
        if (cp.value("name", "") == v.get<std::string>()) return cp.value("containerPort", 0);
      }
      return 0;
    };
    if (p.contains("httpGet")) {
      host = p["httpGet"].value("host", host);
      port = port_of(p["httpGet"]["port"]);
      path = p["httpGet"].value("path", "/");
    } else if (p.contains("tcpSocket")) {
      host = p["tcpSocket"].value("host", host);
      port = port_of(p["tcpSocket"]["port"]);
    } else {
      rt.ready = true;  // exec probes: treat a running process as ready
      return;
    }
    // From the node, as a real kubelet probes: the packets cross the pod's
    // veth and its policy (the host identity, which agents admit).
    const bool host_net = pod["spec"].value("hostNetwork", false);
    bool ok = probe(host_net || host != "127.0.0.1" ? "" : rt.netns, host, port, path);
    // As Kubernetes: ready on one success, not ready after failureThreshold failures in a row.
    rt.probe_failures = ok ? 0 : rt.probe_failures + 1;
    bool ready = ok || (rt.ready && rt.probe_failures < p.value("failureThreshold", 3));
    if (ready != rt.ready) log::info("pod {}: readiness {}", rt.key, ready ? "passed" : "failing");
    rt.ready = ready;
  }

  void write_status(PodRuntime& rt, const Json& pod) {
    Json cs = {
        {"name",
         pod["spec"]["containers"].empty() ? "" : pod["spec"]["containers"][0].value("name", "")},
        {"ready", rt.ready},
        {"restartCount", rt.restarts},
        {"started", rt.pid != 0},
        {"image",
         pod["spec"]["containers"].empty() ? "" : pod["spec"]["containers"][0].value("image", "")}};
    std::string phase = "Pending";
    if (rt.pid != 0) {
      phase = "Running";
      cs["state"] = {{"running", {{"startedAt", rt.started_at}}}};
      cs["containerID"] = "axon-lab://" + std::to_string(rt.pid);
    } else if (!rt.waiting_reason.empty()) {
      cs["state"] = {{"waiting", {{"reason", rt.waiting_reason}, {"message", rt.waiting_message}}}};
    } else if (rt.last_exit >= 0) {
      cs["state"] = {{"terminated", {{"exitCode", rt.last_exit}}}};
      std::string policy = pod["spec"].value("restartPolicy", "Always");
      if (policy != "Always") phase = rt.last_exit == 0 ? "Succeeded" : "Failed";
    } else {
      cs["state"] = {{"waiting", {{"reason", "ContainerCreating"}}}};
    }
    auto cond = [](const char* type, bool v, const std::string& reason = "") {
      Json c = {{"type", type}, {"status", v ? "True" : "False"}};
      if (!reason.empty()) c["reason"] = reason;
      return c;
    };
    Json status = {
        {"phase", phase},
        {"conditions",
         Json::array({cond("PodScheduled", true), cond("Initialized", rt.init_done),
                      cond("ContainersReady", rt.ready, rt.ready ? "" : "ContainersNotReady"),
                      cond("Ready", rt.ready, rt.ready ? "" : "ContainersNotReady")})},
        {"hostIP", address_},
        {"containerStatuses", Json::array({cs})}};
    if (!rt.ip.empty()) {
      status["podIP"] = rt.ip;
      status["podIPs"] = Json::array({{{"ip", rt.ip}}});
    }
    if (!rt.started_at.empty()) status["startTime"] = rt.started_at;
    if (status == rt.last_status) return;
    // Fields others own stay: the API server's QoS class, the scheduler's nomination.
    for (const char* keep : {"qosClass", "nominatedNodeName"}) {
      const Json& v = client::member(client::member(pod, "status"), keep);
      if (v.is_string()) status[keep] = v;
    }
    if (client::member(pod, "status") == status) {
      rt.last_status = status;
      return;
    }
    // Against the version this pass saw; a conflict is tried again on the
    // next pass, from the informer's newer copy.
    Json next = pod;
    next["status"] = status;
    auto u = store_->replace_status(next);
    if (!u) {  // said once, not on every pass
      if (u.error().message != rt.status_error) log::warn("pod {}: status: {}", rt.key, u.error().str());
      rt.status_error = u.error().message;
    } else if (*u) {
      rt.last_status = status;
      rt.status_error.clear();
    }
  }

  void teardown(PodRuntime& rt) {
    log::info("pod {}: deleted; stopping", rt.key);
    if (rt.pid != 0) stop_process(rt.pid, std::chrono::seconds(5));
    if (!rt.netns.empty() && fs::exists("/run/netns/" + rt.netns)) {
      Json conf = find_cni_config(kCniConfDir);
      if (!conf.empty()) {
        Json pod = {{"metadata",
                     {{"namespace", rt.key.substr(0, rt.key.find('/'))},
                      {"name", rt.key.substr(rt.key.find('/') + 1)}}}};
        if (auto r = cni(rt, pod, conf, "DEL"); !r)
          log::warn("pod {}: {}", rt.key, r.error().str());
      }
      if (auto r = run_in_mount_ns(host_mnt_, {"ip", "netns", "delete", rt.netns}); !r) {
        log::warn("pod {}: {}", rt.key, r.error().str());
      }
    }
    std::error_code ec;
    fs::remove_all(pod_dir(rt.uid), ec);
  }

  const KubeletOptions& o_;
  int host_mnt_;
  std::unique_ptr<ClusterStore> store_, watch_store_;
  client::KubeStore* kube_;  // store_ on Kubernetes
  const std::string address_;
  std::map<std::string, PodRuntime> pods_;
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;
  bool last_ready_ = false;
  Clock::time_point last_node_status_{}, last_lease_{};
};

}  // namespace

Json find_cni_config(const std::string& dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto ext = e.path().extension().string();
    if (ext == ".conflist" || ext == ".conf" || ext == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    Json c = Json::parse(read_file(f.string()), nullptr, false);
    if (c.is_discarded() || !c.is_object()) continue;
    if (c.contains("plugins") && c["plugins"].is_array() && !c["plugins"].empty()) return c;
    if (c.contains("type")) {  // a single-plugin .conf
      return Json{{"cniVersion", c.value("cniVersion", "1.0.0")},
                  {"name", c.value("name", "")},
                  {"plugins", Json::array({c})}};
    }
  }
  return Json();
}

int run_kubelet(const KubeletOptions& options, const std::atomic<bool>& stop) {
  // The machine's mount namespace, kept for creating pod network namespaces
  // where `ip netns` and `axon lab down` see them.
  Fd host_mnt(::open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC));
  if (!host_mnt.valid()) {
    log::error("{}", sys_error("open /proc/self/ns/mnt").str());
    return 1;
  }
  // The store: the node's kubeconfig is read before entering the node's
  // view (it lives beside the lab directory, which pods see; this does not).
  std::optional<client::KubeConfig> kube_config;
  if (!options.kubeconfig.empty()) {
    auto c = client::load_kubeconfig(options.kubeconfig, "");
    if (!c) {
      log::error("{}", c.error().str());
      return 1;
    }
    kube_config = *c;
  }
  if (auto st = enter_node_view(options.paths, options.node); !st) {
    log::error("cannot enter the filesystem view of {}: {}", options.node, st.error().str());
    return 1;
  }
  auto connect = [&]() -> Result<std::unique_ptr<ClusterStore>> {
    if (kube_config) {
      auto c = client::KubeClient::create(*kube_config);
      if (!c) return c.error();
      return std::unique_ptr<ClusterStore>(std::make_unique<client::KubeStore>(std::move(*c)));
    }
    auto etcd = client::EtcdClient::connect(options.paths.etcd_target(), std::chrono::seconds(30));
    if (!etcd) return Error{"cannot reach the lab store: " + etcd.error().str()};
    return std::unique_ptr<ClusterStore>(
        std::make_unique<EtcdStore>(std::shared_ptr<client::EtcdClient>(std::move(*etcd))));
  };
  auto store = connect();
  if (!store) {
    log::error("{}", store.error().str());
    return 1;
  }
  auto watch_store = connect();
  if (!watch_store) {
    log::error("{}", watch_store.error().str());
    return 1;
  }
  Kubelet k(options, host_mnt.get(), std::move(*store), std::move(*watch_store));
  return k.run(stop);
}

}  // namespace axon::lab
