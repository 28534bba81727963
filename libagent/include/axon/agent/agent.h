// The node agent: one per node (the DaemonSet axon install renders). It
// owns the node's eBPF datapath and keeps it in step with the cluster:
//
//   CNI plugin --gRPC (/run/axon/agent.sock)--> IPAM, endpoints (attach the
//                                              programs to the pod's veth)
//   store --watch--> identities of every pod -> ipcache
//   (the lab's etcd or      other nodes' pod CIDRs -> routes over the LAN
//    a Kubernetes API)      Services + EndpointSlices -> service maps
//                           policies -> each endpoint's policy map
//                           CiliumIdentities (it creates those of new
//                           label sets, identity_store.h)
//   local endpoints --> CiliumEndpoint objects
//
// Everything it must remember across a restart is in files under
// /run/axon (the node's) and in pinned maps, so traffic and policy keep
// flowing while it restarts.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/connect.h"
#include "axon/client/informer.h"
#include "axon/agent/identity_store.h"
#include "axon/agent/ipam.h"
#include "axon/agent/proxy_process.h"
#include "axon/datapath/datapath.h"
#include "axon/policy/engine.h"
#include "axon/proxy/dns_proxy.h"
#include "axon/proxy/gateway_routes.h"
#include "axon/proxy/http_proxy.h"

namespace axon::agent {

using client::Json;

// The policy kinds the agent enforces, in the order of its policy informers.
inline constexpr policy::PolicyKind kPolicyKinds[] = {
    policy::PolicyKind::cilium_network_policy,
    policy::PolicyKind::cilium_clusterwide_network_policy,
    policy::PolicyKind::network_policy,
};

class ServiceHealthServer;  // services' healthCheckNodePorts (src/service_health.h)
class L2Announcer;          // L2 announcements (src/l2_announcer.h)

struct AgentConfig {
  std::string node;                 // NODE_NAME
  client::StoreTarget store;        // AXON_STORE, KUBECONFIG or in-cluster
  std::string cluster = "default";  // cluster-name
  std::string ipam_mode = "kubernetes";
  bool kube_proxy_replacement = false;
  std::string policy_mode = "default";  // enable-policy: default | always | never
  bool masquerade = true;                // enable-ipv4-masquerade
  std::string lb_algorithm = "random";
  uint32_t maglev_table_size = 16381;
  bool host_routing = true;  // false: enable-host-legacy-routing
  bool no_backend_reject = true;  // service-no-backend-response: reject (else drop)
  bool external_ips = false;      // enable-external-ips: serve Services' spec.externalIPs
  // devices: the node's network device that external traffic (NodePort,
  // LoadBalancer IPs, externalIPs, hostPort) arrives on.
  std::string devices = "eth0";
  // L2 announcements (enable-l2-announcements, l2-announcements-*): this
  // node's lease, renewed every retry period; the kernel answers ARP until
  // the renew deadline after a renewal; another node ends the lease after
  // the lease duration without one.
  bool l2_announcements = false;
  // enable-l7-proxy: the node's L7 proxy enforces http rules (ingress). Off:
  // nothing listens, traffic of ports with L7 rules is dropped.
  bool l7_proxy = true;
  // enable-gateway-api: the node proxy serves the Gateways' HTTP listeners
  // (gateway_routes.cpp); their frontends go to it (AXON_LB_F_L7).
  bool gateway_api = false;
  uint32_t dns_min_ttl = 3600;  // tofqdns-min-ttl: seconds a learned address stays at least
  std::chrono::milliseconds l2_lease_duration{2000}, l2_renew_deadline{1500}, l2_retry_period{500};
  std::string k8s_namespace = "kube-system";  // AXON_K8S_NAMESPACE: where the Leases live
  std::string run_dir = "/run/axon";
  std::string cni_conf_dir = "/host/etc/cni/net.d";
  std::string cni_bin_dir = "/host/opt/cni/bin";
  bool cni_uninstall = false;  // cni-uninstall: remove the CNI files when stopping
  int health_port = 9879;
  // Hubble (observer.h): enable-hubble, hubble-listen-address,
  // hubble-event-buffer-capacity, hubble-metrics.
  bool hubble = false;
  std::string hubble_listen_address;
  size_t hubble_buffer_capacity = 4095;
  std::string hubble_metrics;

  std::string socket() const { return run_dir + "/agent.sock"; }
  // Reads cilium-config-style keys (files in a ConfigMap volume).
  static Result<AgentConfig> load(const std::string& config_dir);
};

struct EndpointInfo {
  uint32_t id = 0;
  std::string container_id, pod_ns, pod_name, ip, ifname, netns;
  std::string mac;  // the pod's interface (host routing delivers to it)
  uint32_t ifindex = 0;
  uint32_t identity = 0;
  std::map<std::string, std::string> labels;  // identity labels
  bool ingress_enforced = false, egress_enforced = false;

  Json to_json() const;
  static EndpointInfo from_json(const Json& j);
};

struct ServiceInfo {
  std::string name;  // ns/name
  std::string type;
  datapath::Service service;
};

// One name and address of the toFQDNs cache (`axon fqdn cache list`).
struct FqdnCacheEntry {
  std::string name;  // trailing dot
  std::string ip;
  std::chrono::system_clock::time_point expires;
  uint32_t identity = 0;
  std::vector<std::string> selectors;  // fqdn label keys
  std::string source;
};

class Agent {
 public:
  explicit Agent(AgentConfig config);
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Starts everything and runs until `stop`. Returns the exit code.
  int run(const std::atomic<bool>& stop);

  // For the CNI plugin.
  Result<std::string> ipam_allocate(const std::string& container_id);
  void ipam_release(const std::string& container_id);
  Result<EndpointInfo> endpoint_create(EndpointInfo ep);
  Status endpoint_delete(const std::string& container_id);  // NotFound: Error with sys_errno ENOENT

  // For status and commands.
  std::vector<EndpointInfo> endpoints() const;
  std::vector<ServiceInfo> services() const;
  std::map<uint32_t, std::map<std::string, std::string>> identities() const;
  const AgentConfig& config() const { return c_; }
  std::string pod_cidr() const;
  bool ready() const { return ready_.load(); }
  // The node's datapath once ready (null before): for the flow observer.
  const datapath::Datapath* datapath() const { return ready() ? &*dp_ : nullptr; }
  std::vector<std::string> errors() const;
  // The node's L7 proxy, for status (see StatusResponse.l7_proxy).
  std::string l7_proxy_status() const;
  size_t policy_count() const;
  // The cluster's pods as the agent's watch holds them (empty before start).
  std::vector<Json> pods() const { return pods_ ? pods_->list() : std::vector<Json>{}; }
  // What the agent's watches cost the store: lists, watches, events.
  client::Informer::Stats watch_stats() const;
  struct EndpointPolicyView {
    EndpointInfo endpoint;
    datapath::EndpointPolicy policy;             // as written to the map
    std::vector<std::vector<std::string>> origins;  // per entry
  };
  std::vector<EndpointPolicyView> policy_view() const;
  std::vector<std::string> policy_names() const;
  // Where the node's L7 proxy reports each request (the flow observer's
  // L7 flows); set before the agent runs.
  void set_l7_sink(std::function<void(const proxy::RequestRecord&)> sink) {
    l7_sink_ = std::move(sink);
  }
  // toFQDNs (fqdn.cpp): what the DNS proxy learned, and when it expires.
  void fqdn_learn(const proxy::ConnectionInfo& c, const proxy::DnsMessage& answer);
  void fqdn_gc();
  std::vector<FqdnCacheEntry> fqdn_cache() const;
  void set_dns_sink(std::function<void(const proxy::DnsExchange&)> sink) { dns_sink_ = std::move(sink); }

 private:
  Status start();
  Result<std::string> pod_cidr_from_store();
  void setup_proxy_routing();
  uint32_t ensure_proxy_device();
  // The node's L7 proxy (l7_proxy.cpp): started once the datapath is; what
  // each redirected connection may do, from the policy.
  void start_l7_proxy();
  proxy::Decision decide_l7(const proxy::ConnectionInfo& c);
  struct MatchedL7 {
    bool allow_all = false;
    policy::L7Rules rules;
  };
  Result<MatchedL7> matched_l7_locked(const EndpointInfo& ep, uint32_t peer_id, bool ingress,
                                      policy::Protocol proto, uint16_t port, policy::L7Kind want) const;
  proxy::DnsDecision decide_dns(const proxy::ConnectionInfo& c, bool udp);
  Result<std::shared_ptr<const proxy::HttpRuleSet>> http_rules_locked(const EndpointInfo& ep,
                                                                      uint32_t peer_id, bool ingress,
                                                                      uint16_t port) const;
  void sync();
  Result<uint32_t> identity_of(const Json& pod, const std::map<std::string, Json>& namespaces,
                               std::map<std::string, std::string>* labels_out);
  void sync_nodes(const std::vector<Json>& nodes);
  void sync_masquerade(const std::set<std::string>& other_cidrs);
  void sync_ipcache(const std::vector<Json>& pods, const std::map<std::string, Json>& namespaces);
  // Services (services.cpp): every frontend of every Service as this node
  // serves it (traffic policies, affinity, NodePort, hostPort), and the
  // healthCheckNodePorts.
  void sync_services();
  // Gateway API (gateway_routes.cpp): the routes attached to the Gateways'
  // HTTP listeners, with their backends' ready endpoints, pushed to the node
  // proxy when they change.
  void sync_gateway();
  void attach_netdev();  // from-netdev on `devices`, once the node's address is known
  // Policy (policy.cpp): the cluster's policies and identities into the
  // engine, each local endpoint's compiled policy into its policy map.
  void sync_policy(const std::vector<Json>& pods);
  void policy_upsert_identities_locked();
  void policy_write_locked();
  void policy_sync_cidrs_locked();
  void install_cni();
  void uninstall_cni();  // cni-uninstall
  // The local endpoints as CiliumEndpoint objects (cilium_endpoints.cpp).
  void sync_cilium_endpoints(const std::vector<Json>& pods, const std::vector<Json>& nodes);
  static Json cilium_endpoint(const EndpointInfo& ep, const Json* pod, const std::string& node_ip);
  void persist(const EndpointInfo& ep) const;
  static datapath::Endpoint datapath_endpoint(const EndpointInfo& ep, datapath::Ipv4 ip);
  void restore_endpoints();
  void note_error(const std::string& what, const std::string& message);

  // Waits until an informer reports a change (or `timeout`); true when one did.
  bool wait_for_change(std::chrono::milliseconds timeout, const std::atomic<bool>& stop);
  // Every informer of the agent (the six kinds, then the policy kinds).
  std::vector<client::Informer*> informers() const;

  AgentConfig c_;
  std::unique_ptr<client::ClusterStore> store_;
  // The kinds sync() reads, kept in step by watching (one list each at
  // start, then watch events): no list per sync.
  std::unique_ptr<client::Informer> nodes_, pods_, namespaces_, services_watch_, slices_,
      identities_watch_;
  std::unique_ptr<client::Informer> cilium_nodes_;  // cluster-pool only: the nodes' pod CIDRs
  std::vector<std::unique_ptr<client::Informer>> policy_informers_;  // kPolicyKinds' order
  // enable-gateway-api: GatewayClass, Gateway, HTTPRoute, ReferenceGrant,
  // TCPRoute.
  std::vector<std::unique_ptr<client::Informer>> gateway_informers_;
  // The Gateways' frontends sync_services gave the proxy (sync thread), and
  // the snapshot last pushed.
  std::vector<proxy::GatewaySnapshot::Frontend> gateway_frontends_;
  std::string gateway_line_;
  uint64_t gateway_seen_ = ~uint64_t{0};  // the inputs' generations at the last sync_gateway
  std::mutex wake_mu_;
  std::condition_variable wake_cv_;
  bool woken_ = false;
  std::unique_ptr<agent::IdentityStore> identity_store_;
  std::unique_ptr<agent::NodeIpam> ipam_;
  std::optional<datapath::Datapath> dp_;

  mutable std::mutex mu_;                          // everything below, and the datapath
  std::map<std::string, EndpointInfo> endpoints_;  // by container id
  std::map<datapath::ServiceKey, ServiceInfo> services_;
  std::string node_ip_;  // this node's InternalIP
  std::unique_ptr<agent::ServiceHealthServer> service_health_;
  std::unique_ptr<agent::L2Announcer> l2_;
  // The node's HTTP proxy, its own process (proxy_process.h): one listener
  // per direction (the port says whose policy applies), ingress and egress.
  std::unique_ptr<agent::ProxyProcess> http_proxy_;
  std::function<void(const proxy::RequestRecord&)> l7_sink_;
  // decide_l7's answers by (proxy port, pod, peer identity, port); cleared
  // whenever the policy is written (guarded by mu_).
  std::map<std::tuple<uint16_t, std::string, uint32_t, uint16_t>, proxy::Decision> l7_decisions_;
  // The node's DNS proxy (dns rules) and decide_dns's answers by (udp, pod,
  // server identity, port), cleared as l7_decisions_.
  std::unique_ptr<proxy::DnsProxy> dns_proxy_;
  std::function<void(const proxy::DnsExchange&)> dns_sink_;
  std::map<std::tuple<uint16_t, std::string, uint32_t, uint16_t>, proxy::DnsDecision> dns_decisions_;
  // Addresses DNS answers gave, by address (guarded by mu_).
  struct FqdnAddress {
    std::map<std::string, std::chrono::system_clock::time_point> names;  // name -> expiry
    std::set<std::string> keys;  // fqdn labels: the selectors its names match
    uint32_t identity = 0;       // 0: no selector wants it
    std::string source;          // the pod whose query taught it last
  };
  std::map<std::string, FqdnAddress> fqdn_cache_;
  // The policies' toFQDNs selectors by fqdn label key, compiled for the
  // policies in fqdn_selectors_of_.
  std::map<std::string, proxy::DnsMatcher> fqdn_selectors_;
  std::vector<std::shared_ptr<const policy::Policy>> fqdn_selectors_of_;
  bool fqdn_refresh_selectors_locked();
  bool fqdn_update_identities_locked(const std::set<std::string>* only);
  std::set<uint32_t> fqdn_live_destinations_locked();
  std::atomic<bool> netdev_attached_{false};
  std::map<uint32_t, std::map<std::string, std::string>> identities_;
  std::set<std::string> ipcache_;   // pod prefixes we wrote
  std::set<std::string> node_ips_;  // node addresses we wrote (host, remote-node)
  std::set<std::string> routes_;    // pod CIDRs of other nodes we route
  std::set<std::string> masq_cidrs_;  // the pod CIDRs the masquerade rule excludes
  std::map<std::string, std::string> errors_;
  size_t policies_ = 0;
  // The policy engine and what it was last given (guarded by mu_).
  policy::InMemoryIdentityAllocator cidr_identities_;  // node-local CIDR identities
  std::unique_ptr<policy::PolicyEngine> engine_;
  std::map<policy::PolicyKey, std::string> policy_versions_;  // resourceVersion in the engine
  std::set<uint32_t> engine_identities_;
  std::map<uint32_t, policy::NamedPorts> named_ports_;   // by identity
  std::map<uint32_t, uint32_t> engine_endpoints_;        // endpoint id -> identity
  std::map<uint32_t, datapath::EndpointPolicy> written_;  // endpoint id -> its policy map
  std::map<datapath::Cidr, uint32_t> cidr_ipcache_;      // prefixes policies name -> identity
  std::atomic<bool> ready_{false};
  std::map<std::string, Json> ceps_;  // "ns/pod" -> the CiliumEndpoint last written (sync thread)
};

}  // namespace axon::agent
