// The operator: one replica leads through a Lease (leader_election.h); the
// leader hands out node pod CIDRs in cluster-pool IPAM mode, releases
// identities no pod uses any more and, in the lab, keeps EndpointSlices of
// every Service in step with its ready pods (on Kubernetes the
// kube-controller-manager does).
#include "axon/agent/operator.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "axon/agent/identity_store.h"
#include "axon/base/strings.h"
#include "axon/base/duration.h"
#include "axon/base/log.h"
#include "axon/client/endpointslices.h"
#include "axon/client/lbipam.h"
#include "axon/client/connect.h"
#include "axon/client/etcd_store.h"
#include "axon/client/leader_election.h"
#include "axon/client/informer.h"
#include "axon/client/l2announce.h"
#include "config_keys.h"
#include "gateway_controller.h"

namespace axon::agent {
namespace {

using client::Json;
using client::ObjectRef;

constexpr const char* kLeaseName = "axon-operator-resource-lock";

// The operator's view of the store, kept by watching (informer.h).
struct Caches {
  Caches(client::ClusterStore& store, std::function<void()> wake)
      : services(store, "v1", "Service"),
        pods(store, "v1", "Pod"),
        slices(store, "discovery.k8s.io/v1", "EndpointSlice"),
        nodes(store, "v1", "Node"),
        cilium_nodes(store, "cilium.io/v2", "CiliumNode"),
        namespaces(store, "v1", "Namespace"),
        identities(store, "cilium.io/v2", "CiliumIdentity"),
        endpoints(store, "cilium.io/v2", "CiliumEndpoint"),
        pools(store, "cilium.io/v2", "CiliumLoadBalancerIPPool"),
        l2_policies(store, "cilium.io/v2alpha1", "CiliumL2AnnouncementPolicy") {
    for (auto* i : all()) {
      i->on_change(wake);
      i->start();
    }
  }
  std::vector<client::Informer*> all() {
    return {&services,   &pods,       &slices,    &nodes, &cilium_nodes,
            &namespaces, &identities, &endpoints, &pools, &l2_policies};
  }
  bool wait_synced(std::chrono::milliseconds timeout) {
    for (auto* i : all()) {
      if (!i->wait_synced(timeout)) return false;
    }
    return true;
  }
  client::Informer services, pods, slices, nodes, cilium_nodes, namespaces, identities, endpoints,
      pools, l2_policies;
};

// CiliumEndpoints whose pod is gone, as Cilium's operator collects them: a
// pod deleted while its node's agent was down leaves its endpoint behind
// (on Kubernetes the garbage collector also follows the pod owner
// reference; the lab's etcd has none). An endpoint is deleted when it was
// without its pod (same namespace and name, and uid if it names its owner)
// on two passes in a row, so a pod the cache has not seen yet is safe.
void collect_endpoints(client::ClusterStore& store, Caches& caches, std::set<std::string>& suspects) {
  std::map<std::string, std::string> pods;  // "ns/name" -> uid
  for (const auto& p : caches.pods.list())
    pods[p["metadata"].value("namespace", "") + "/" + p["metadata"].value("name", "")] =
        p["metadata"].value("uid", "");
  std::set<std::string> orphans;
  for (const auto& cep : caches.endpoints.list()) {
    const Json& meta = cep["metadata"];
    const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
    std::string owner_uid;
    for (const auto& o : client::member(meta, "ownerReferences"))
      if (o.value("kind", "") == "Pod") owner_uid = o.value("uid", "");
    auto it = pods.find(key);
    if (it != pods.end() && (owner_uid.empty() || owner_uid == it->second)) continue;
    orphans.insert(key);
    if (!suspects.count(key)) continue;
    auto r = store.remove(client::ObjectRef::of(cep));
    if (!r) log::warn("CiliumEndpoint {}: {}", key, r.error().str());
    else if (*r) log::info("CiliumEndpoint {} deleted: its pod is gone", key);
  }
  suspects = std::move(orphans);
}

// The EndpointSlices the operator manages, one per Service with a selector.
Status sync_endpoint_slices(client::ClusterStore& store, Caches& caches) {
  const auto services = caches.services.list();
  const auto pods = caches.pods.list();
  std::map<std::string, Json> live_slices;  // "ns/name" -> ours
  for (auto& s : caches.slices.list()) {
    const Json& meta = client::member(s, "metadata");
    if (client::member(meta, "labels").value("endpointslice.kubernetes.io/managed-by", "") !=
        "axon-operator")
      continue;
    std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");  // before the move
    live_slices[key] = std::move(s);
  }
  std::set<std::string> wanted;
  for (const auto& s : client::desired_endpoint_slices(services, pods)) {
    const std::string key = s["metadata"]["namespace"].get<std::string>() + "/" +
                            s["metadata"]["name"].get<std::string>();
    wanted.insert(key);
    // Replace, not merge: an endpoint that went away must go from the list.
    auto it = live_slices.find(key);
    const Json* live = it == live_slices.end() ? nullptr : &it->second;
    if (live != nullptr && (*live)["endpoints"] == s["endpoints"] && (*live)["ports"] == s["ports"])
      continue;
    // A conflict (someone changed it since the cache saw it): the watch
    // brings the change and the next pass writes again.
    Json next = s;
    if (live != nullptr) {
      next["metadata"]["resourceVersion"] = (*live)["metadata"]["resourceVersion"];
      for (const char* f : {"uid", "creationTimestamp"})
        next["metadata"][f] = (*live)["metadata"][f];
      if (auto r = store.replace(next); !r) return r.error();
    } else if (auto r = store.create(next); !r) {
      return r.error();
    }
  }
  for (const auto& [key, s] : live_slices) {
    if (!wanted.count(key)) (void)store.remove(ObjectRef::of(s));
  }
  return {};
}

// cluster-pool IPAM: each node gets the next free /mask from the pool, in
// its CiliumNode's spec.ipam.podCIDRs.
// LB IPAM (lbipam.h): every LoadBalancer Service's addresses and condition
// written to its status, every pool's conditions to the pool's.
// False when a write failed (the next pass tries again).
bool sync_lb_ipam(client::ClusterStore& store, Caches& caches, client::LbIpam& ipam, bool check_all) {
  bool ok = true;
  const auto pools = caches.pools.list();
  const auto services = caches.services.list();
  // Incremental (lbipam.h): only the Services whose object or outcome moved
  // are looked at (every one after a full run, or after a failed write).
  const auto update = ipam.update(pools, services);
  const auto& state = *update.state;
  const std::set<std::string> changed(update.changed.begin(), update.changed.end());
  const std::string now = client::now_rfc3339();
  for (auto s : services) {
    const std::string key = s["metadata"].value("namespace", "") + "/" + s["metadata"].value("name", "");
    if (!update.full && !check_all && !changed.count(key)) continue;
    auto status = client::lbipam_service_status(s, state, now);
    if (!status) continue;
    s["status"] = *status;
    if (auto r = store.replace_status(s); !r) {
      ok = false;
      log::warn("LB IPAM: status of Service {}: {}", key, r.error().str());
    } else if (auto it = state.services.find(key); it != state.services.end()) {
      if (it->second.satisfied)
        log::info("LB IPAM: Service {} has {}", key, join(it->second.ips, ","));
      else
        log::info("LB IPAM: Service {} pending: {} ({})", key, it->second.reason, it->second.message);
    }
  }
  for (auto p : pools) {
    auto status = client::lbipam_pool_status(p, state, now);
    if (!status) continue;
    p["status"] = *status;
    if (auto r = store.replace_status(p); !r) {
      ok = false;
      log::warn("LB IPAM: status of pool {}: {}", p["metadata"].value("name", ""), r.error().str());
    }
  }
  return ok;
}

// L2 announcement policies (l2announce.h): bad selectors and interface
// regexes in each one's status, as Cilium's conditions. The agents elect
// the announcing nodes. False when a write failed.
bool sync_l2_policies(client::ClusterStore& store, Caches& caches) {
  bool ok = true;
  const auto policies = caches.l2_policies.list();
  const auto plan = client::l2_plan(policies, {}, {}, {}, {}, false);
  const std::string now = client::now_rfc3339();
  for (auto p : policies) {
    auto status = client::l2_policy_status(p, plan, now);
    if (!status) continue;
    p["status"] = *status;
    if (auto r = store.replace_status(p); !r) {
      ok = false;
      log::warn("L2 announcements: status of policy {}: {}", p["metadata"].value("name", ""),
                r.error().str());
    }
  }
  return ok;
}

Status sync_pod_cidrs(client::ClusterStore& store, Caches& caches, const std::string& pool,
                      int mask) {
  const auto nodes = caches.nodes.list();
  const auto cns = caches.cilium_nodes.list();
  std::set<std::string> taken;
  std::set<std::string> have;  // nodes whose CiliumNode has a pod CIDR (an agent may have
                               // created one without)
  for (const auto& cn : cns) {
    const Json& cidrs =
        client::member(client::member(client::member(cn, "spec"), "ipam"), "podCIDRs");
    if (cidrs.is_array() && !cidrs.empty()) have.insert(cn["metadata"].value("name", ""));
    for (const auto& c : cidrs) {
      if (c.is_string()) taken.insert(c.get<std::string>());
    }
  }
  // Pool "a.b.0.0/16" with mask 24: a.b.0.0/24, a.b.1.0/24, ...
  auto slash = pool.find('/');
  unsigned a, b, c, d;
  if (slash == std::string::npos || std::sscanf(pool.c_str(), "%u.%u.%u.%u", &a, &b, &c, &d) != 4) {
    return Error{"invalid cluster-pool-ipv4-cidr " + pool};
  }
  const int plen = std::stoi(pool.substr(slash + 1));
  const uint32_t base = (a << 24) | (b << 16) | (c << 8) | d;
  const uint32_t count = plen < mask ? 1u << (mask - plen) : 1u;
  for (const auto& n : nodes) {
    const std::string name = n["metadata"].value("name", "");
    if (have.count(name)) continue;
    for (uint32_t i = 0; i < count; ++i) {
      uint32_t net = base + (i << (32 - mask));
      std::string cidr = std::to_string(net >> 24) + "." + std::to_string((net >> 16) & 255) + "." +
                         std::to_string((net >> 8) & 255) + "." + std::to_string(net & 255) + "/" +
                         std::to_string(mask);
      if (taken.count(cidr)) continue;
      Json cn = {{"apiVersion", "cilium.io/v2"},
                 {"kind", "CiliumNode"},
                 {"metadata", {{"name", name}}},
                 {"spec", {{"ipam", {{"podCIDRs", Json::array({cidr})}}}}}};
      if (auto r = store.apply(cn); !r) return r.error();
      log::info("node {}: pod CIDR {}", name, cidr);
      taken.insert(cidr);
      break;
    }
  }
  return {};
}

// The Lease's namespace: POD_NAMESPACE (the Deployment sets it), else the
// service account's namespace, else kube-system.
std::string lease_namespace(const OperatorOptions& p) {
  if (!p.lease_namespace.empty()) return p.lease_namespace;
  if (const char* ns = std::getenv("POD_NAMESPACE"); ns != nullptr && *ns != '\0') return ns;
  std::ifstream in(std::string(client::kServiceAccountDir) + "/namespace");
  std::string ns;
  if (in >> ns && !ns.empty()) return ns;
  return "kube-system";
}

}  // namespace

int run_operator(const OperatorOptions& p, const std::atomic<bool>& stop) {
  log::set_max_level(std::max(log::max_level(), log::Level::info));
  client::StoreTarget target = client::store_target_from_env();
  target.kubeconfig = p.kubeconfig;
  target.context = p.kube_context;
  auto connected = client::connect_store(target);
  if (!connected) {
    log::error("{}", connected.error().str());
    return 1;
  }
  client::ClusterStore& store = **connected;
  // Kubernetes' own endpoint-slice controller keeps the slices there.
  const bool manage_slices = !client::is_kubernetes(store);
  log::info("operator: store {}", store.describe());
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string ipam = read_key(p.config_dir, "ipam", "kubernetes");
  const std::string pool = read_key(p.config_dir, "cluster-pool-ipv4-cidr", "10.0.0.0/8");
  const int mask = std::stoi(read_key(p.config_dir, "cluster-pool-ipv4-mask-size", "24"));
  const std::string cluster = read_key(p.config_dir, "cluster-name", "default");
  // enable-lb-ipam (Cilium's default true): LoadBalancer Services get addresses from pools.
  const bool lb_ipam = read_key(p.config_dir, "enable-lb-ipam", "true") == "true";
  // cilium-config's key and default: identities unused for 15 minutes go.
  auto gc_parsed = parse_duration(read_key(p.config_dir, "identity-gc-interval", "15m"));
  const auto gc_grace = std::max(std::chrono::seconds(1),
                                 std::chrono::duration_cast<std::chrono::seconds>(
                                     gc_parsed ? *gc_parsed : std::chrono::minutes(15)));
  IdentityGarbageCollector gc(gc_grace);
  auto next_gc = std::chrono::steady_clock::now();
  // cilium-config's key and default: endpoints without a pod, every 5 minutes.
  auto cep_parsed = parse_duration(read_key(p.config_dir, "cilium-endpoint-gc-interval", "5m0s"));
  const auto cep_interval = std::max(std::chrono::seconds(1),
                                     std::chrono::duration_cast<std::chrono::seconds>(
                                         cep_parsed ? *cep_parsed : std::chrono::minutes(5)));
  auto next_cep_gc = std::chrono::steady_clock::now() + cep_interval;
  std::set<std::string> cep_suspects;
  // client-go's identity: the host (the pod's name) and a random suffix.
  client::LeaderElector leader(
      store, {lease_namespace(p), kLeaseName, std::string(host) + "_" + client::new_uid()});
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  bool woken = false;
  Caches caches(store, [&] {
    std::lock_guard lock(wake_mu);
    woken = true;
    wake_cv.notify_all();
  });
  IdentityStore identities(store, &caches.identities);
  // Gateway API (enable-gateway-api): its kinds are watched only then (their
  // CRDs are installed only then).
  std::unique_ptr<GatewayController> gateways;
  if (read_key(p.config_dir, "enable-gateway-api", "false") == "true") {
    // The agents' proxies route HTTP, HTTPS, TLS (passthrough) and TCP listeners when the L7 proxy runs and
    // the node's device takes external traffic (kubeProxyReplacement).
    std::set<std::string> served;
    if (read_key(p.config_dir, "enable-l7-proxy", "true") == "true" &&
        read_key(p.config_dir, "kube-proxy-replacement", "false") == "true")
      served = {"HTTP", "HTTPS", "TLS", "TCP"};
    gateways = std::make_unique<GatewayController>(store, caches.services, caches.namespaces, served, [&] {
      std::lock_guard lock(wake_mu);
      woken = true;
      wake_cv.notify_all();
    });
  }
  auto informers = [&] {
    auto all = caches.all();
    if (gateways)
      for (auto* i : gateways->informers()) all.push_back(i);
    return all;
  };
  // Each informer's failures, logged when they change: what the store
  // said, naming the server and the verb; the informers retry with backoff.
  std::map<std::string, std::string> reported;
  std::string leader_error;
  auto report = [&] {
    for (auto* i : informers()) {
      std::string& last = reported[i->kind()];
      if (const std::string e = i->last_error(); e != last) {
        if (!e.empty()) log::warn("watching {}: {} (retrying)", i->kind(), e);
        if (e.empty() && !last.empty()) log::info("watching {}: recovered", i->kind());
        last = e;
      }
    }
  };
  std::pair<uint64_t, uint64_t> lb_done{~uint64_t{0}, ~uint64_t{0}};  // informer generations LB IPAM saw
  client::LbIpam lb_state;  // the allocation between runs
  bool lb_failed = false;  // a status write failed: look at every Service next time
  uint64_t l2_done = ~uint64_t{0};  // the policies' generation their status was written for
  auto synced = [&] {
    for (auto* i : informers())
      if (!i->wait_synced(std::chrono::seconds(1))) return false;
    return true;
  };
  while (!stop.load() && !synced()) report();
  while (!stop.load()) {
    report();
    auto leads = leader.check();
    if (const std::string e = leads ? "" : leads.error().str(); e != leader_error) {
      if (!e.empty()) log::warn("leader election: {} (retrying)", e);  // once, not every 2 s
      leader_error = e;
    }
    if (!leads || !*leads) {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      continue;
    }
    if (manage_slices) {
      if (auto st = sync_endpoint_slices(store, caches); !st)
        log::warn("endpoint slices: {}", st.error().str());
    }
    // LB IPAM only when Services or pools changed (not on every lease tick),
    // or when a status write failed last time.
    const std::pair lb_seen{caches.services.generation(), caches.pools.generation()};
    if (lb_ipam && lb_seen != lb_done) {
      const bool ok = sync_lb_ipam(store, caches, lb_state, lb_failed);
      lb_failed = !ok;
      if (ok) lb_done = lb_seen;
    }
    if (const auto g = caches.l2_policies.generation(); g != l2_done && sync_l2_policies(store, caches))
      l2_done = g;
    // A new Gateway's Service is created here, given its address by LB
    // IPAM on the next pass (the Service changed), and that address goes
    // to the Gateway's status on the pass after.
    if (gateways) gateways->sync();
    if (ipam == "cluster-pool") {
      if (auto st = sync_pod_cidrs(store, caches, pool.substr(0, pool.find(' ')), mask); !st)
        log::warn("pod CIDRs: {}", st.error().str());
    }
    if (std::chrono::steady_clock::now() >= next_gc) {
      auto released = gc.pass(caches.pods.list(), caches.namespaces.list(), identities, cluster,
                              std::chrono::steady_clock::now());
      if (!released) log::warn("identity garbage collection: {}", released.error().str());
      for (uint32_t id : released ? *released : std::vector<uint32_t>{})
        log::info("identity {} released: no pod has had its labels for {}s", id, gc_grace.count());
      next_gc = std::chrono::steady_clock::now() + std::min(gc_grace, std::chrono::seconds(60));
    }
    if (std::chrono::steady_clock::now() >= next_cep_gc) {
      collect_endpoints(store, caches, cep_suspects);
      next_cep_gc = std::chrono::steady_clock::now() + cep_interval;
    }
    // Until a watched kind changes (a burst: once, 20 ms after it began),
    // and at least every second (the lease and the garbage collector).
    std::unique_lock lock(wake_mu);
    if (wake_cv.wait_for(lock, std::chrono::seconds(1), [&] { return woken || stop.load(); })) {
      lock.unlock();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      lock.lock();
    }
    woken = false;
  }
  gateways.reset();
  for (auto* i : caches.all()) i->stop();
  leader.release();
  return 0;
}

}  // namespace axon::agent
