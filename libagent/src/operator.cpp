// The operator: one replica leads through a lease in the store; the
// leader keeps EndpointSlices of every Service in step with its ready pods,
// hands out node pod CIDRs in cluster-pool IPAM mode and releases
// identities no pod uses any more.
#include "axon/agent/operator.h"

#include <unistd.h>

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "axon/agent/identity_store.h"
#include "axon/base/duration.h"
#include "axon/base/log.h"
#include "axon/client/endpointslices.h"
#include "axon/client/etcd_store.h"
#include "axon/client/informer.h"
#include "config_keys.h"

namespace axon::agent {
namespace {

using client::Json;
using client::ObjectRef;

constexpr const char* kLeaderKey = "/axon/leases/axon-operator";
constexpr int64_t kLeaseSeconds = 15;

// Leadership through an etcd lease: the key exists while its holder renews.
class Leader {
 public:
  Leader(client::EtcdClient& etcd, std::string id) : etcd_(etcd), id_(std::move(id)) {}

  // True while this replica leads; takes the lead when it is free.
  bool check() {
    if (lease_ != 0) {
      if (std::chrono::steady_clock::now() - renewed_ < std::chrono::seconds(kLeaseSeconds / 3))
        return true;
      auto ttl = etcd_.keep_alive(lease_);
      if (ttl && *ttl > 0) {
        renewed_ = std::chrono::steady_clock::now();
        return true;
      }
      log::warn("lost the lead (lease {} expired)", lease_);
      lease_ = 0;
    }
    auto lease = etcd_.grant_lease(kLeaseSeconds);
    if (!lease) return false;
    auto won = etcd_.put_if(kLeaderKey, id_, 0, *lease);
    if (won && *won) {
      lease_ = *lease;
      renewed_ = std::chrono::steady_clock::now();
      log::info("{} leads", id_);
      return true;
    }
    (void)etcd_.revoke_lease(*lease);
    return false;
  }

  void release() {
    if (lease_ != 0) (void)etcd_.revoke_lease(lease_);  // the key goes with it
    lease_ = 0;
  }

 private:
  client::EtcdClient& etcd_;
  std::string id_;
  int64_t lease_ = 0;
  std::chrono::steady_clock::time_point renewed_;
};

// The operator's view of the store, kept by watching (informer.h).
struct Caches {
  Caches(client::ClusterStore& store, std::function<void()> wake)
      : services(store, "v1", "Service"),
        pods(store, "v1", "Pod"),
        slices(store, "discovery.k8s.io/v1", "EndpointSlice"),
        nodes(store, "v1", "Node"),
        cilium_nodes(store, "cilium.io/v2", "CiliumNode") {
    for (auto* i : all()) {
      i->on_change(wake);
      i->start();
    }
  }
  std::vector<client::Informer*> all() { return {&services, &pods, &slices, &nodes, &cilium_nodes}; }
  bool wait_synced(std::chrono::milliseconds timeout) {
    for (auto* i : all()) {
      if (!i->wait_synced(timeout)) return false;
    }
    return true;
  }
  client::Informer services, pods, slices, nodes, cilium_nodes;
};

// The EndpointSlices the operator manages, one per Service with a selector.
Status sync_endpoint_slices(client::EtcdStore& store, Caches& caches) {
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
    Json next = s;
    if (live != nullptr) {
      next["metadata"]["resourceVersion"] = (*live)["metadata"]["resourceVersion"];
      for (const char* f : {"uid", "creationTimestamp"})
        next["metadata"][f] = (*live)["metadata"][f];
    } else {
      next["metadata"]["uid"] = client::new_uid();
      next["metadata"]["creationTimestamp"] = client::now_rfc3339();
    }
    auto r = store.update(next);
    if (!r && r.error().message.find("conflict") == std::string::npos) return r.error();
  }
  for (const auto& [key, s] : live_slices) {
    if (!wanted.count(key)) (void)store.remove(ObjectRef::of(s));
  }
  return {};
}

// cluster-pool IPAM: each node gets the next free /mask from the pool, in
// its CiliumNode's spec.ipam.podCIDRs.
Status sync_pod_cidrs(client::EtcdStore& store, Caches& caches, const std::string& pool,
                      int mask) {
  const auto nodes = caches.nodes.list();
  const auto cns = caches.cilium_nodes.list();
  std::set<std::string> taken;
  std::set<std::string> have;
  for (const auto& cn : cns) {
    have.insert(cn["metadata"].value("name", ""));
    for (const auto& c :
         client::member(client::member(client::member(cn, "spec"), "ipam"), "podCIDRs")) {
      taken.insert(c.get<std::string>());
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

}  // namespace

int run_operator(const OperatorOptions& p, const std::atomic<bool>& stop) {
  log::set_max_level(std::max(log::max_level(), log::Level::info));
  const char* target = std::getenv("AXON_STORE");
  if (target == nullptr) {
    log::error("AXON_STORE is not set: this version of the operator runs in axon's lab");
    return 1;
  }
  auto etcd = client::EtcdClient::connect(target, std::chrono::seconds(30));
  if (!etcd) {
    log::error("{}", etcd.error().str());
    return 1;
  }
  auto shared = std::shared_ptr<client::EtcdClient>(std::move(*etcd));
  client::EtcdStore store(shared);
  char host[256] = {0};
  ::gethostname(host, sizeof host - 1);
  const std::string ipam = read_key(p.config_dir, "ipam", "kubernetes");
  const std::string pool = read_key(p.config_dir, "cluster-pool-ipv4-cidr", "10.0.0.0/8");
  const int mask = std::stoi(read_key(p.config_dir, "cluster-pool-ipv4-mask-size", "24"));
  const std::string cluster = read_key(p.config_dir, "cluster-name", "default");
  // cilium-config's key and default: identities unused for 15 minutes go.
  auto gc_parsed = parse_duration(read_key(p.config_dir, "identity-gc-interval", "15m"));
  const auto gc_grace = std::max(std::chrono::seconds(1),
                                 std::chrono::duration_cast<std::chrono::seconds>(
                                     gc_parsed ? *gc_parsed : std::chrono::minutes(15)));
  IdentityStore identities(shared);
  IdentityGarbageCollector gc(gc_grace);
  auto next_gc = std::chrono::steady_clock::now();
  Leader leader(*shared, host);
  std::mutex wake_mu;
  std::condition_variable wake_cv;
  bool woken = false;
  Caches caches(store, [&] {
    std::lock_guard lock(wake_mu);
    woken = true;
    wake_cv.notify_all();
  });
  while (!stop.load() && !caches.wait_synced(std::chrono::seconds(1))) {
  }
  while (!stop.load()) {
    if (!leader.check()) {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      continue;
    }
    if (auto st = sync_endpoint_slices(store, caches); !st)
      log::warn("endpoint slices: {}", st.error().str());
    if (ipam == "cluster-pool") {
      if (auto st = sync_pod_cidrs(store, caches, pool.substr(0, pool.find(' ')), mask); !st)
        log::warn("pod CIDRs: {}", st.error().str());
    }
    if (std::chrono::steady_clock::now() >= next_gc) {
      auto released = gc.pass(store, identities, cluster, std::chrono::steady_clock::now());
      if (!released) log::warn("identity garbage collection: {}", released.error().str());
      for (uint32_t id : released ? *released : std::vector<uint32_t>{})
        log::info("identity {} released: no pod has had its labels for {}s", id, gc_grace.count());
      next_gc = std::chrono::steady_clock::now() + std::min(gc_grace, std::chrono::seconds(60));
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
  for (auto* i : caches.all()) i->stop();
  leader.release();
  return 0;
}

}  // namespace axon::agent
