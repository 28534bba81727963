#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "axon/agent/agent.h"

#include "axon/base/build_info.h"
#include "axon/base/duration.h"
#include "axon/base/log.h"
#include "axon/base/process.h"
#include "axon/abi/policy.h"
#include "axon/datapath/bpffs.h"
#include "axon/policy/identity.h"
#include "config_keys.h"
#include "l2_announcer.h"
#include "service_health.h"


namespace axon::agent {
namespace fs = std::filesystem;
using client::ObjectRef;

namespace {

}  // namespace

Agent::Agent(AgentConfig config) : c_(std::move(config)) {}
Agent::~Agent() = default;

Result<AgentConfig> AgentConfig::load(const std::string& dir) {
  AgentConfig c;
  c.cluster = read_key(dir, "cluster-name", c.cluster);
  c.ipam_mode = read_key(dir, "ipam", c.ipam_mode);
  c.kube_proxy_replacement = read_key(dir, "kube-proxy-replacement", "false") == "true";
  c.policy_mode = read_key(dir, "enable-policy", c.policy_mode);
  c.masquerade = read_key(dir, "enable-ipv4-masquerade", "true") == "true";
  c.lb_algorithm = read_key(dir, "bpf-lb-algorithm", c.lb_algorithm);
  c.maglev_table_size =
      static_cast<uint32_t>(std::stoul(read_key(dir, "bpf-lb-maglev-table-size", "16381")));
  c.host_routing = read_key(dir, "enable-host-legacy-routing", "false") != "true";
  c.no_backend_reject = read_key(dir, "service-no-backend-response", "reject") != "drop";
  c.external_ips = read_key(dir, "enable-external-ips", "false") == "true";
  c.devices = read_key(dir, "devices", c.devices);
  c.cni_uninstall = read_key(dir, "cni-uninstall", "false") == "true";
  c.l2_announcements = read_key(dir, "enable-l2-announcements", "false") == "true";
  c.l7_proxy = read_key(dir, "enable-l7-proxy", "true") == "true";
  c.gateway_api = read_key(dir, "enable-gateway-api", "false") == "true";
  try {
    c.dns_min_ttl = static_cast<uint32_t>(std::stoul(read_key(dir, "tofqdns-min-ttl", "3600")));
  } catch (const std::exception&) {
    log::warn("tofqdns-min-ttl is not a number of seconds: 3600");
  }
  for (auto [key, out] : {std::pair{"l2-announcements-lease-duration", &c.l2_lease_duration},
                          std::pair{"l2-announcements-renew-deadline", &c.l2_renew_deadline},
                          std::pair{"l2-announcements-retry-period", &c.l2_retry_period}}) {
    const std::string text = read_key(dir, key, "");
    if (text.empty()) continue;
    auto d = parse_duration(text);
    if (!d) return Error{key + std::string(": ") + d.error().message};
    *out = std::chrono::duration_cast<std::chrono::milliseconds>(*d);
  }
  if (!(c.l2_retry_period < c.l2_renew_deadline && c.l2_renew_deadline < c.l2_lease_duration))
    return Error{"L2 announcements need retry period < renew deadline < lease duration"};
  if (const char* ns = std::getenv("AXON_K8S_NAMESPACE"); ns != nullptr && *ns != '\0')
    c.k8s_namespace = ns;
  c.hubble = read_key(dir, "enable-hubble", "false") == "true";
  c.hubble_listen_address = read_key(dir, "hubble-listen-address", "");
  c.hubble_buffer_capacity = std::stoul(read_key(dir, "hubble-event-buffer-capacity", "4095"));
  c.hubble_metrics = read_key(dir, "hubble-metrics", "");
  const char* node = std::getenv("NODE_NAME");
  if (node == nullptr || *node == '\0')
    return Error{"NODE_NAME is not set (the DaemonSet sets it from spec.nodeName)"};
  c.node = node;
  // The lab's etcd (AXON_STORE), a kubeconfig (KUBECONFIG), or the pod's
  // service account (connect.h).
  c.store = client::store_target_from_env();
  return c;
}

Json EndpointInfo::to_json() const {
  Json l = Json::object();
  for (const auto& [k, v] : labels) l[k] = v;
  return {{"id", id},
          {"containerID", container_id},
          {"namespace", pod_ns},
          {"pod", pod_name},
          {"ip", ip},
          {"ifname", ifname},
          {"ifindex", ifindex},
          {"mac", mac},
          {"netns", netns},
          {"identity", identity},
          {"labels", l}};
}

EndpointInfo EndpointInfo::from_json(const Json& j) {
  EndpointInfo e;
  e.id = j.value("id", 0u);
  e.container_id = j.value("containerID", "");
  e.pod_ns = j.value("namespace", "");
  e.pod_name = j.value("pod", "");
  e.ip = j.value("ip", "");
  e.ifname = j.value("ifname", "");
  e.ifindex = j.value("ifindex", 0u);
  e.mac = j.value("mac", "");
  e.netns = j.value("netns", "");
  e.identity = j.value("identity", 0u);
  for (const auto& [k, v] : client::member(j, "labels").items()) e.labels[k] = v.get<std::string>();
  return e;
}

void Agent::note_error(const std::string& what, const std::string& message) {
  std::lock_guard lock(mu_);
  if (message.empty()) {
    errors_.erase(what);
    return;
  }
  if (errors_[what] != message) log::warn("{}: {}", what, message);
  errors_[what] = message;
}

std::vector<std::string> Agent::errors() const {
  std::vector<std::string> out;
  {
    std::lock_guard lock(mu_);
    for (const auto& [k, v] : errors_) out.push_back(k + ": " + v);
  }
  // L2 announcements: a node whose lease is not renewed answers no ARP.
  if (l2_ && l2_->view().failing)
    out.push_back("l2-announcements: this node's L2 lease is not renewed (the store?): it announces nothing");
  return out;
}

std::string Agent::pod_cidr() const {
  return ipam_ ? ipam_->cidr() : "";
}

size_t Agent::policy_count() const {
  std::lock_guard lock(mu_);
  return policies_;
}

constexpr const char* kProxyHost = "axon_host";  // as Cilium's cilium_host/cilium_net
constexpr const char* kProxyPeer = "axon_net";

Status Agent::start() {
  auto store = client::connect_store(c_.store);
  if (!store) return store.error();
  store_ = std::move(*store);
  log::info("agent of {}: store {}", c_.node, store_->describe());
  auto wake = [this] {
    std::lock_guard lock(wake_mu_);
    woken_ = true;
    wake_cv_.notify_all();
  };
  auto watch = [&](const std::string& api_version, const std::string& kind) {
    auto inf = std::make_unique<client::Informer>(*store_, api_version, kind);
    inf->on_change(wake);
    inf->start();
    return inf;
  };
  nodes_ = watch("v1", "Node");
  pods_ = watch("v1", "Pod");
  namespaces_ = watch("v1", "Namespace");
  services_watch_ = watch("v1", "Service");
  slices_ = watch("discovery.k8s.io/v1", "EndpointSlice");
  identities_watch_ = watch("cilium.io/v2", "CiliumIdentity");
  // cluster-pool: the other nodes' pod CIDRs are in their CiliumNodes.
  if (c_.ipam_mode == "cluster-pool") cilium_nodes_ = watch("cilium.io/v2", "CiliumNode");
  identity_store_ = std::make_unique<agent::IdentityStore>(*store_, identities_watch_.get());
  for (auto kind : kPolicyKinds) {
    policy_informers_.push_back(
        watch(std::string(policy::api_version(kind)), std::string(policy::kind_name(kind))));
  }
  if (c_.gateway_api) {
    for (auto [version, kind] : {std::pair{"gateway.networking.k8s.io/v1", "GatewayClass"},
                                 std::pair{"gateway.networking.k8s.io/v1", "Gateway"},
                                 std::pair{"gateway.networking.k8s.io/v1", "HTTPRoute"},
                                 std::pair{"gateway.networking.k8s.io/v1beta1", "ReferenceGrant"},
                                 std::pair{"gateway.networking.k8s.io/v1alpha2", "TCPRoute"},
                                 // HTTPS listeners' certificates
                                 std::pair{"v1", "Secret"},
                                 std::pair{"gateway.networking.k8s.io/v1alpha2", "TLSRoute"}})
      gateway_informers_.push_back(watch(version, kind));
  }

  // The node's pod CIDR: ipam kubernetes — the Node's spec.podCIDR;
  // cluster-pool — its CiliumNode's spec.ipam.podCIDRs, which the operator
  // fills (the agent creates the CiliumNode when there is none, as Cilium's).
  auto cidr = pod_cidr_from_store();
  if (!cidr) return cidr.error();
  for (auto* inf : informers()) {
    if (!inf->wait_synced(std::chrono::seconds(30)))
      return Error{"cannot list " + inf->kind() + " objects: " + inf->last_error()};
  }
  auto ipam = agent::NodeIpam::create(*cidr, c_.run_dir + "/ipam");
  if (!ipam) return ipam.error();
  ipam_ = std::move(*ipam);

  if (auto st = datapath::ensure_bpffs(); !st) return st;
  datapath::DatapathConfig dc;
  dc.pin_dir = datapath::node_pin_dir(c_.cluster, c_.node);
  dc.maglev_table_size = c_.maglev_table_size;
  dc.host_routing = c_.host_routing;
  dc.no_backend_reject = c_.no_backend_reject;
  dc.proxy_ifindex = ensure_proxy_device();
  dc.default_algorithm =
      c_.lb_algorithm == "maglev" ? datapath::LbAlgorithm::maglev : datapath::LbAlgorithm::random;
  auto dp = datapath::Datapath::open(dc);
  if (!dp) return dp.error();
  dp_.emplace(std::move(*dp));
  if (dc.proxy_ifindex != 0) {
    if (auto st = dp_->attach_proxy_device(if_nametoindex(kProxyPeer)); !st)
      note_error("proxy device", st.error().str());
  }
  setup_proxy_routing();
  start_l7_proxy();
  engine_ = std::make_unique<policy::PolicyEngine>(policy::CompileOptions{}, &cidr_identities_);
  if (auto st = dp_->services().restore(); !st)
    log::warn("restoring services: {}", st.error().str());
  restore_endpoints();
  log::info("agent of {}: pod CIDR {}, pins in {}, {} endpoints restored", c_.node, *cidr,
            dc.pin_dir, endpoints_.size());
  if (c_.l2_announcements) {
    if (!c_.kube_proxy_replacement) {
      note_error("l2-announcements", "need kube-proxy-replacement (the ARP responder is part of it): "
                                     "nothing is announced");
    } else {
      L2AnnouncerConfig lc{c_.node, c_.k8s_namespace, c_.l2_lease_duration, c_.l2_renew_deadline,
                           c_.l2_retry_period, {c_.devices}, c_.external_ips};
      l2_ = std::make_unique<L2Announcer>(lc, *store_, *services_watch_, *slices_, *nodes_, dp_->l2());
      l2_->start([this] { return netdev_attached_.load(); });
    }
  }
  return {};
}

constexpr int kProxyRouteTable = 2004;  // Cilium's

// The node's proxy device: a veth pair in the node's namespace. to-container
// sends packets for the proxy out of axon_host; axon_to_proxy on axon_net
// hands them to the proxy's socket (lib/proxy.h). They come from other
// addresses, the node's own among them: no reverse-path filter, local
// sources accepted. Returns axon_host's ifindex, 0 when it cannot be made
// (the datapath then drops those packets; status says why).
uint32_t Agent::ensure_proxy_device() {
  if (if_nametoindex(kProxyHost) == 0) {
    auto r = proc::ip({"link", "add", kProxyHost, "type", "veth", "peer", "name", kProxyPeer});
    if (!r) {
      note_error("proxy device", r.error().message);
      return 0;
    }
  }
  for (const char* dev : {kProxyHost, kProxyPeer}) {
    if (auto r = proc::ip({"link", "set", dev, "up"}); !r) {
      note_error("proxy device", r.error().message);
      return 0;
    }
  }
  // Early demux would attach the proxy's transparent socket (it holds the
  // connection's own addresses) to packets arriving from other nodes before
  // routing, and the stack then drops them instead of forwarding them on to
  // to-container, which sends them to the proxy: off, as with any TPROXY.
  const std::string conf = std::string("/proc/sys/net/ipv4/conf/") + kProxyPeer + "/";
  for (auto [path, value] :
       {std::pair{conf + "rp_filter", "0"}, {conf + "accept_local", "1"},
        {std::string("/proc/sys/net/ipv4/tcp_early_demux"), "0"},
        {std::string("/proc/sys/net/ipv4/udp_early_demux"), "0"}}) {
    std::ofstream f(path);
    f << value;
    if (!f) note_error("proxy device", "cannot write " + path);
  }
  return if_nametoindex(kProxyHost);
}

// Packets the datapath hands to the node's proxy (lib/proxy.h: marked
// AXON_MARK_PROXY, the proxy's socket assigned) are delivered locally, as
// Cilium's proxy routing rule (fwmark 0x200/0xf00 lookup 2004): a local
// default route in a table of their own. Without it the stack would try to
// forward them and drop them (a packet with a socket is never forwarded),
// so a failure here fails closed; it shows in status.
void Agent::setup_proxy_routing() {
  const std::string mark = fmt::format("{:#x}/{:#x}", AXON_MARK_PROXY, AXON_MARK_PROXY_MASK);
  const std::string table = std::to_string(kProxyRouteTable);
  auto route = proc::ip({"route", "replace", "local", "0.0.0.0/0", "dev", "lo", "table", table});
  if (!route) return note_error("proxy routing", route.error().message);
  auto rules = proc::ip({"rule", "show", "table", table});
  if (rules && rules->find("fwmark") != std::string::npos) return;
  auto rule = proc::ip({"rule", "add", "fwmark", mark, "lookup", table, "pref", "9"});
  if (!rule) note_error("proxy routing", rule.error().message);
}

Result<std::string> Agent::pod_cidr_from_store() {
  const bool pool = c_.ipam_mode == "cluster-pool";
  if (pool) {
    Json cn = {{"apiVersion", "cilium.io/v2"},
               {"kind", "CiliumNode"},
               {"metadata", {{"name", c_.node}, {"labels", {{"app.kubernetes.io/managed-by", "axon"}}}}},
               {"spec", Json::object()}};
    if (auto r = store_->create(cn); !r) return r.error();  // nullopt: it exists already
  }
  for (int i = 0; i < 300; ++i) {
    auto obj = pool ? store_->get(ObjectRef{"cilium.io/v2", "CiliumNode", "", c_.node})
                    : store_->get(ObjectRef{"v1", "Node", "", c_.node});
    if (obj && *obj) {
      const Json& spec = client::member(**obj, "spec");
      if (!pool && !spec.value("podCIDR", "").empty()) return spec.value("podCIDR", "");
      const Json& cidrs = client::member(client::member(spec, "ipam"), "podCIDRs");
      if (pool && cidrs.is_array() && !cidrs.empty() && cidrs[0].is_string())
        return cidrs[0].get<std::string>();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return Error{pool ? "CiliumNode " + c_.node +
                          " has no spec.ipam.podCIDRs after 60 s (ipam cluster-pool: the operator "
                          "hands them out; is it running?)"
                    : "node " + c_.node + " has no spec.podCIDR (ipam mode " + c_.ipam_mode + ")"};
}

datapath::Endpoint Agent::datapath_endpoint(const EndpointInfo& ep, datapath::Ipv4 ip) {
  datapath::Endpoint d{ep.ifindex, ip, ep.identity, ep.id};
  // Without a MAC (an endpoint an older agent recorded) packets for the pod
  // go through the node's stack.
  if (auto mac = datapath::parse_mac(ep.mac)) d.mac = *mac;
  return d;
}

void Agent::restore_endpoints() {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(c_.run_dir + "/endpoints", ec)) {
    std::ifstream in(e.path());
    Json j = Json::parse(in, nullptr, false);
    if (j.is_discarded()) continue;
    EndpointInfo ep = EndpointInfo::from_json(j);
    // Re-attaching swaps this agent's programs in; the pinned maps kept
    // working meanwhile. A veth that is gone means the pod is gone.
    auto link = proc::ip({"-j", "link", "show", "dev", ep.ifname});
    if (!link) {
      fs::remove(e.path(), ec);
      ipam_->release(ep.container_id);
      continue;
    }
    Json l = Json::parse(*link, nullptr, false);
    if (l.is_array() && !l.empty()) ep.ifindex = l[0].value("ifindex", ep.ifindex);
    auto parsed = datapath::parse_ipv4(ep.ip);
    if (!parsed) continue;
    if (auto st = dp_->endpoints().attach(datapath_endpoint(ep, *parsed)); !st) {
      log::warn("re-attaching {}/{}: {}", ep.pod_ns, ep.pod_name, st.error().str());
      continue;
    }
    endpoints_[ep.container_id] = ep;
  }
}

void Agent::persist(const EndpointInfo& ep) const {
  std::error_code ec;
  fs::create_directories(c_.run_dir + "/endpoints", ec);
  std::ofstream(c_.run_dir + "/endpoints/" + ep.container_id + ".json", std::ios::trunc)
      << ep.to_json().dump();
}

void Agent::install_cni() {
  std::error_code ec;
  fs::create_directories(c_.cni_bin_dir, ec);
  fs::create_directories(c_.cni_conf_dir, ec);
  const std::string plugin = c_.cni_bin_dir + "/axon-cni";
  fs::remove(plugin, ec);
  fs::create_symlink(proc::self_exe(), plugin, ec);
  if (ec) {
    note_error("cni", "cannot install " + plugin + ": " + ec.message());
    return;
  }
  Json conf = {{"cniVersion", "1.0.0"},
               {"name", "axon"},
               {"plugins", Json::array({{{"type", "axon-cni"}, {"socket", c_.socket()}}})}};
  const std::string file = c_.cni_conf_dir + "/05-axon.conflist";
  std::ofstream(file + ".tmp", std::ios::trunc) << conf.dump(2) << "\n";
  fs::rename(file + ".tmp", file, ec);
  if (ec) note_error("cni", "cannot write " + file + ": " + ec.message());
}

void Agent::uninstall_cni() {
  // As Cilium's cni.uninstall: the node has no CNI until an agent writes
  // the files again (the container runtime stops creating pods on it).
  std::error_code ec;
  for (const std::string& f : {c_.cni_conf_dir + "/05-axon.conflist", c_.cni_bin_dir + "/axon-cni"}) {
    if (fs::remove(f, ec)) log::info("cni-uninstall: removed {}", f);
  }
}

Result<std::string> Agent::ipam_allocate(const std::string& container_id) {
  return ipam_->allocate(container_id);
}

void Agent::ipam_release(const std::string& container_id) {
  ipam_->release(container_id);
}

Result<uint32_t> Agent::identity_of(const Json& pod, const std::map<std::string, Json>& namespaces,
                                    std::map<std::string, std::string>* labels_out) {
  // The identity labels as the policy engine computes them (semantics
  // §1.9), so `policy trace` and the datapath agree.
  const std::string ns = pod["metadata"].value("namespace", "default");
  auto it = namespaces.find(ns);
  auto labels = agent::IdentityStore::pod_labels(pod, it == namespaces.end() ? nullptr : &it->second,
                                                  c_.cluster);
  if (labels_out != nullptr) *labels_out = labels;
  return identity_store_->allocate(labels);
}

Result<EndpointInfo> Agent::endpoint_create(EndpointInfo ep) {
  if (!ready()) return Error{"the agent of " + c_.node + " is still starting; retry"};
  auto pod = store_->get(ObjectRef{"v1", "Pod", ep.pod_ns, ep.pod_name});
  if (!pod) return pod.error();
  if (!*pod) return Error{"pod " + ep.pod_ns + "/" + ep.pod_name + " not found"};
  std::map<std::string, Json> namespaces;
  if (auto ns = store_->get(ObjectRef{"v1", "Namespace", "", ep.pod_ns}); ns && *ns)
    namespaces[ep.pod_ns] = **ns;
  auto id = identity_of(**pod, namespaces, &ep.labels);
  if (!id) return id.error();
  ep.identity = *id;
  auto ip = datapath::parse_ipv4(ep.ip);
  if (!ip) return ip.error();
  std::lock_guard lock(mu_);
  // An endpoint keeps its id; a new one gets the lowest id not in use (ids
  // are the keys of the policy maps).
  if (auto it = endpoints_.find(ep.container_id); it != endpoints_.end()) {
    ep.id = it->second.id;
  } else {
    std::set<uint32_t> used;
    for (const auto& [c, e] : endpoints_) used.insert(e.id);
    ep.id = 1;
    while (used.count(ep.id)) ++ep.id;
  }
  if (auto st = dp_->ipcache().upsert({*ip, 32}, ep.identity); !st) return st.error();
  ipcache_.insert(ep.ip + "/32");
  // Its policy first, then its programs: no packet passes unchecked.
  endpoints_[ep.container_id] = ep;
  identities_[ep.identity] = ep.labels;
  policy_upsert_identities_locked();
  policy_write_locked();
  ep = endpoints_[ep.container_id];
  if (auto st = dp_->endpoints().attach(datapath_endpoint(ep, *ip)); !st) {
    endpoints_.erase(ep.container_id);
    return st.error();
  }
  persist(ep);
  log::info("endpoint {} for {}/{}: {} identity {} on {}", ep.id, ep.pod_ns, ep.pod_name, ep.ip,
            ep.identity, ep.ifname);
  return ep;
}

Status Agent::endpoint_delete(const std::string& container_id) {
  std::lock_guard lock(mu_);
  auto it = endpoints_.find(container_id);
  if (it == endpoints_.end()) return Error{"no endpoint for container " + container_id, ENOENT};
  const EndpointInfo ep = it->second;
  (void)dp_->endpoints().detach(ep.ifindex);
  (void)dp_->policy().erase(ep.id);
  engine_->remove_endpoint(ep.id);
  engine_endpoints_.erase(ep.id);
  written_.erase(ep.id);
  if (auto ip = datapath::parse_ipv4(ep.ip)) (void)dp_->ipcache().erase({*ip, 32});
  ipcache_.erase(ep.ip + "/32");
  endpoints_.erase(it);
  std::error_code ec;
  fs::remove(c_.run_dir + "/endpoints/" + container_id + ".json", ec);
  log::info("endpoint {} for {}/{} removed", ep.id, ep.pod_ns, ep.pod_name);
  return {};
}

std::vector<EndpointInfo> Agent::endpoints() const {
  std::lock_guard lock(mu_);
  std::vector<EndpointInfo> out;
  for (const auto& [c, e] : endpoints_) out.push_back(e);
  return out;
}

std::vector<ServiceInfo> Agent::services() const {
  std::lock_guard lock(mu_);
  std::vector<ServiceInfo> out;
  for (const auto& [k, s] : services_) out.push_back(s);
  return out;
}

std::map<uint32_t, std::map<std::string, std::string>> Agent::identities() const {
  std::lock_guard lock(mu_);
  return identities_;
}

void Agent::sync_nodes(const std::vector<Json>& nodes) {
  std::set<std::string> want;
  for (const auto& n : nodes) {
    const std::string name = n["metadata"].value("name", "");
    std::string ip;
    for (const auto& a : n.value("status", Json::object()).value("addresses", Json::array())) {
      if (a.value("type", "") == "InternalIP") ip = a.value("address", "");
    }
    if (ip.empty()) continue;
    // Node addresses: this node is host (1), the others remote-node (6).
    if (auto parsed = datapath::parse_ipv4(ip)) {
      {
        std::lock_guard lock(mu_);
        (void)dp_->ipcache().upsert({*parsed, 32}, name == c_.node ? 1u : 6u);
        node_ips_.insert(ip + "/32");
      }
      if (name == c_.node && node_ip_ != ip) {
        node_ip_ = ip;
        attach_netdev();  // takes mu_ itself (note_error)
      }
    }
    std::string cidr = n["spec"].value("podCIDR", "");
    if (cilium_nodes_) {  // cluster-pool: the operator's CIDR, not the Node's
      cidr.clear();
      if (auto cn = cilium_nodes_->get("", name)) {
        const Json& cidrs = client::member(client::member((*cn)["spec"], "ipam"), "podCIDRs");
        if (cidrs.is_array() && !cidrs.empty() && cidrs[0].is_string()) cidr = cidrs[0].get<std::string>();
      }
    }
    if (name == c_.node || cidr.empty()) continue;
    want.insert(cidr);
    if (!routes_.count(cidr)) {
      auto r = proc::ip({"route", "replace", cidr, "via", ip, "dev", "eth0"});
      if (r) {
        routes_.insert(cidr);
        log::info("route {} via {} ({})", cidr, ip, name);
      } else {
        note_error("route " + cidr, r.error().message);
      }
    }
  }
  sync_masquerade(want);
  for (auto it = routes_.begin(); it != routes_.end();) {
    if (want.count(*it)) {
      ++it;
      continue;
    }
    (void)proc::ip({"route", "del", *it});
    it = routes_.erase(it);
  }
}

// As Cilium's enable-ipv4-masquerade (iptables mode): pod traffic to
// addresses outside every node's pod CIDR leaves the node with the node's
// address, so hosts outside the cluster (the lab's LAN host) can answer.
// Policy was enforced on the pod's veth before; the reply is translated
// back by conntrack and classified by its real source (world).
void Agent::sync_masquerade(const std::set<std::string>& other_cidrs) {
  if (!c_.masquerade || !ipam_) return;
  std::set<std::string> all = other_cidrs;
  all.insert(ipam_->cidr());
  if (all == masq_cidrs_) return;
  std::string set;
  for (const auto& c : all) set += (set.empty() ? "" : ", ") + c;
  const std::string rules = "add table ip axon_masq\ndelete table ip axon_masq\n"
                            "table ip axon_masq {\n"
                            "  chain postrouting {\n"
                            "    type nat hook postrouting priority srcnat; policy accept;\n"
                            "    ip saddr " + ipam_->cidr() + " ip daddr != { " + set +
                            " } oifname \"eth0\" masquerade\n"
                            "  }\n"
                            "}\n";
  auto r = proc::run({"nft", "-f", "-"}, rules);
  if (!r) {
    note_error("masquerade", r.error().str());
    return;
  }
  note_error("masquerade", "");
  masq_cidrs_ = all;
  log::info("masquerading {} to outside the pod CIDRs ({})", ipam_->cidr(), set);
}

void Agent::sync_ipcache(const std::vector<Json>& pods,
                         const std::map<std::string, Json>& namespaces) {
  std::set<std::string> want;
  for (const auto& p : pods) {
    if (p["spec"].value("hostNetwork", false)) continue;
    const std::string ip = p.value("status", Json::object()).value("podIP", "");
    if (ip.empty()) continue;
    std::map<std::string, std::string> labels;
    auto id = identity_of(p, namespaces, &labels);
    if (!id) {
      note_error("identity", id.error().str());
      continue;
    }
    auto parsed = datapath::parse_ipv4(ip);
    if (!parsed) continue;
    std::lock_guard lock(mu_);
    identities_[*id] = labels;
    want.insert(ip + "/32");
    (void)dp_->ipcache().upsert({*parsed, 32}, *id);
    ipcache_.insert(ip + "/32");
    // A local pod whose labels changed gets its new identity.
    for (auto& [c, ep] : endpoints_) {
      if (ep.ip == ip && ep.identity != *id) {
        ep.identity = *id;
        ep.labels = labels;
        (void)dp_->endpoints().attach(datapath_endpoint(ep, *parsed));
        persist(ep);
      }
    }
  }
  // The API server's addresses (the `kubernetes` Service's endpoints) carry
  // the reserved identity kube-apiserver (7), as in Cilium: flows name it and
  // `toEntities: [kube-apiserver]` selects it. A node's address stays the node's.
  for (const auto& s : slices_->list()) {
    const Json& meta = s["metadata"];
    if (meta.value("namespace", "") != "default" ||
        client::member(meta, "labels").value("kubernetes.io/service-name", "") != "kubernetes")
      continue;
    for (const auto& ep : s.value("endpoints", Json::array())) {
      for (const auto& a : ep.value("addresses", Json::array())) {
        if (!a.is_string()) continue;
        const std::string ip = a.get<std::string>();
        auto parsed = datapath::parse_ipv4(ip);
        std::lock_guard lock(mu_);
        if (!parsed || node_ips_.count(ip + "/32")) continue;
        want.insert(ip + "/32");
        (void)dp_->ipcache().upsert({*parsed, 32}, policy::reserved::kube_apiserver);
        ipcache_.insert(ip + "/32");
      }
    }
  }
  std::lock_guard lock(mu_);
  for (const auto& [c, ep] : endpoints_) want.insert(ep.ip + "/32");
  for (auto it = ipcache_.begin(); it != ipcache_.end();) {
    // Node addresses are kept by sync_nodes; pods that are gone are removed.
    if (want.count(*it) || node_ips_.count(*it)) {
      ++it;
      continue;
    }
    if (auto c = datapath::parse_cidr(*it)) (void)dp_->ipcache().erase(*c);
    it = ipcache_.erase(it);
  }
}

void Agent::sync() {
  std::string watch_errors;
  for (const auto* inf : informers()) {
    if (auto e = inf->last_error(); !e.empty()) watch_errors += inf->kind() + ": " + e + "; ";
  }
  // The caches keep their last state while the store is away: the datapath
  // keeps enforcing what it was given.
  note_error("store", watch_errors.empty() ? "" : "watching the store: " + watch_errors);
  const auto nodes = nodes_->list();
  const auto pods = pods_->list();
  std::map<std::string, Json> namespaces;
  for (auto& n : namespaces_->list()) {
    std::string name = n["metadata"].value("name", "");  // before the move (Json's = takes a value)
    namespaces[name] = std::move(n);
  }
  sync_nodes(nodes);
  sync_ipcache(pods, namespaces);
  sync_services();
  sync_gateway();
  sync_policy(pods);
  sync_cilium_endpoints(pods, nodes);
}

std::vector<client::Informer*> Agent::informers() const {
  std::vector<client::Informer*> all;
  for (const auto* p : {&nodes_, &pods_, &namespaces_, &services_watch_, &slices_, &identities_watch_,
                        &cilium_nodes_}) {
    if (*p) all.push_back(p->get());
  }
  for (const auto& p : policy_informers_) all.push_back(p.get());
  for (const auto& p : gateway_informers_) all.push_back(p.get());
  return all;
}

client::Informer::Stats Agent::watch_stats() const {
  client::Informer::Stats total;
  for (const auto* inf : informers()) {
    auto st = inf->stats();
    total.lists += st.lists;
    total.watches += st.watches;
    total.events += st.events;
    total.gone += st.gone;
    total.errors += st.errors;
  }
  return total;
}

bool Agent::wait_for_change(std::chrono::milliseconds timeout, const std::atomic<bool>& stop) {
  std::unique_lock lock(wake_mu_);
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!woken_ && !stop.load() && std::chrono::steady_clock::now() < until) {
    wake_cv_.wait_for(lock, std::chrono::milliseconds(100));
  }
  const bool woken = woken_;
  woken_ = false;
  return woken;
}

int Agent::run(const std::atomic<bool>& stop) {
  if (auto st = start(); !st) {
    log::error("agent of {} cannot start: {}", c_.node, st.error().str());
    return 1;
  }
  bool cni_installed = false;
  while (!stop.load()) {
    sync();
    if (!cni_installed) {
      install_cni();
      cni_installed = true;
      ready_.store(true);
      log::info("agent of {} ready; CNI configuration installed", c_.node);
    }
    // Sync again when a watched kind changed (a burst of changes: once,
    // 20 ms after it began), and every 10 s from the caches regardless (no
    // request to the store: routes and rules someone removed come back).
    // Addresses learned from DNS answers (toFQDNs) expire on the second.
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    bool woken = false;
    while (!woken && !stop.load() && std::chrono::steady_clock::now() < until) {
      woken = wait_for_change(std::chrono::seconds(1), stop);
      fqdn_gc();
    }
    if (woken) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      std::lock_guard lock(wake_mu_);
      woken_ = false;
    }
  }
  if (l2_) l2_->stop();  // others take the addresses over at once
  if (http_proxy_) http_proxy_->stop();  // its ports' traffic is dropped from now on
  if (dns_proxy_) dns_proxy_->stop();
  for (auto* inf : informers()) inf->stop();
  if (c_.cni_uninstall) uninstall_cni();
  log::info("agent of {} stopping; the datapath keeps running from its pinned maps", c_.node);
  return 0;
}

}  // namespace axon::agent
