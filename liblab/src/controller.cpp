#include "axon/lab/controller.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <thread>

#include "axon/base/log.h"
#include "axon/client/apply.h"

namespace axon::lab {
namespace {

using client::EtcdStore;
using client::ObjectRef;

std::string random_suffix() {
  static thread_local std::mt19937 rng{std::random_device{}()};
  const char* alphabet = "bcdfghjklmnpqrstvwxz2456789";  // as Kubernetes: no vowels, no look-alikes
  std::string s;
  for (int i = 0; i < 5; ++i) s += alphabet[rng() % 27];
  return s;
}

bool node_ready(const Json& node) {
  if (!node.contains("status") || !node["status"].contains("conditions")) return false;
  for (const auto& c : node["status"]["conditions"]) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

bool tolerates_not_ready(const Json& pod_spec) {
  for (const auto& t : pod_spec.value("tolerations", Json::array())) {
    std::string key = t.value("key", "");
    if (t.value("operator", "Equal") == "Exists" &&
        (key.empty() || key == "node.kubernetes.io/not-ready"))
      return true;
    if (key == "node.kubernetes.io/not-ready") return true;
  }
  return false;
}

bool selector_fits(const Json& node_selector, const Json& node) {
  const Json labels = node["metadata"].value("labels", Json::object());
  for (const auto& [k, v] : node_selector.items()) {
    if (!labels.contains(k) || labels[k] != v) return false;
  }
  return true;
}

bool owned_by(const Json& pod, const std::string& uid) {
  for (const auto& o : pod["metadata"].value("ownerReferences", Json::array())) {
    if (o.value("uid", "") == uid) return true;
  }
  return false;
}

bool pod_ready(const Json& pod) {
  if (!pod.contains("status")) return false;
  for (const auto& c : pod["status"].value("conditions", Json::array())) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

Json new_pod(const Json& owner, const std::string& name, const std::string& hash,
             const std::string& node) {
  const Json& tmpl = owner["spec"]["template"];
  Json labels =
      tmpl.contains("metadata") ? tmpl["metadata"].value("labels", Json::object()) : Json::object();
  labels["pod-template-hash"] = hash;
  Json pod = {{"apiVersion", "v1"},
              {"kind", "Pod"},
              {"metadata",
               {{"name", name},
                {"namespace", owner["metadata"].value("namespace", "default")},
                {"labels", labels},
                {"ownerReferences", Json::array({{{"apiVersion", owner.value("apiVersion", "")},
                                                  {"kind", owner.value("kind", "")},
                                                  {"name", owner["metadata"].value("name", "")},
                                                  {"uid", owner["metadata"].value("uid", "")},
                                                  {"controller", true}}})}}},
              {"spec", tmpl.value("spec", Json::object())}};
  if (!node.empty()) pod["spec"]["nodeName"] = node;
  return pod;
}

class Reconciler {
 public:
  explicit Reconciler(EtcdStore& store) : store_(store) {}

  Status run() {
    auto nodes = store_.list("v1", "Node", "", "");
    auto pods = store_.list("v1", "Pod", "", "");
    if (!nodes) return nodes.error();
    if (!pods) return pods.error();
    nodes_ = std::move(*nodes);
    pods_ = std::move(*pods);
    if (auto st = deployments(); !st) return st;
    if (auto st = daemonsets(); !st) return st;
    if (auto st = schedule(); !st) return st;
    if (auto st = garbage_collect(); !st) return st;
    if (auto st = services(); !st) return st;
    if (auto st = crds(); !st) return st;
    return namespaces();
  }

 private:
  // Pods per node, counting only those not being replaced.
  std::map<std::string, int> load() const {
    std::map<std::string, int> n;
    for (const auto& node : nodes_) n[node["metadata"].value("name", "")] = 0;
    for (const auto& p : pods_) {
      std::string node = p["spec"].value("nodeName", "");
      if (!node.empty()) ++n[node];
    }
    return n;
  }

  // The least loaded node that may take the pod, or "" when none may.
  // hostPorts (port/protocol/hostIP) a pod spec asks for.
  static std::set<std::string> host_ports(const Json& pod_spec) {
    std::set<std::string> out;
    for (const auto& c : pod_spec.value("containers", Json::array())) {
      for (const auto& p : c.value("ports", Json::array())) {
        if (p.value("hostPort", 0) <= 0) continue;
        std::string ip = p.value("hostIP", "");
        if (ip.empty()) ip = "0.0.0.0";
        out.insert(std::to_string(p.value("hostPort", 0)) + "/" + p.value("protocol", "TCP") +
                   "/" + ip);
      }
    }
    return out;
  }

  // Do two sets of hostPorts clash? (The same port and protocol on the same
  // address, or on any address when either is 0.0.0.0.)
  static bool ports_clash(const std::set<std::string>& a, const std::set<std::string>& b) {
    for (const auto& x : a) {
      const auto xp = x.substr(0, x.rfind('/'));
      for (const auto& y : b) {
        if (xp != y.substr(0, y.rfind('/'))) continue;
        const auto xi = x.substr(x.rfind('/') + 1), yi = y.substr(y.rfind('/') + 1);
        if (xi == yi || xi == "0.0.0.0" || yi == "0.0.0.0") return true;
      }
    }
    return false;
  }

  // The least loaded node that may take the pod, or "" with kube-scheduler's
  // explanation in *why ("0/3 nodes are available: ...").
  std::string pick_node(const Json& pod_spec, std::string* why = nullptr) const {
    std::string best;
    int best_load = 1 << 30;
    auto l = load();
    const auto wanted = host_ports(pod_spec);
    int not_ready = 0, selector = 0, ports = 0;
    for (const auto& node : nodes_) {
      if (!node_ready(node) && !tolerates_not_ready(pod_spec)) {
        ++not_ready;
        continue;
      }
      if (pod_spec.contains("nodeSelector") && !selector_fits(pod_spec["nodeSelector"], node)) {
        ++selector;
        continue;
      }
      std::string name = node["metadata"].value("name", "");
      if (!wanted.empty()) {
        bool clash = false;
        for (const auto& other : pods_) {
          if (other["spec"].value("nodeName", "") == name &&
              ports_clash(wanted, host_ports(other["spec"])))
            clash = true;
        }
        if (clash) {
          ++ports;
          continue;
        }
      }
      if (l[name] < best_load) {
        best = name;
        best_load = l[name];
      }
    }
    if (best.empty() && why != nullptr) {
      std::vector<std::string> parts;
      if (ports) parts.push_back(std::to_string(ports) + " node(s) didn't have free ports for the requested pod ports");
      if (selector) parts.push_back(std::to_string(selector) + " node(s) didn't match Pod's node affinity/selector");
      if (not_ready) parts.push_back(std::to_string(not_ready) + " node(s) had untolerated taint {node.kubernetes.io/not-ready: }");
      std::string msg = "0/" + std::to_string(nodes_.size()) + " nodes are available";
      for (size_t i = 0; i < parts.size(); ++i) msg += (i == 0 ? ": " : ", ") + parts[i];
      *why = msg + ".";
    }
    return best;
  }

  Status create(Json pod) {
    auto r = store_.apply(pod);
    if (!r) return r.error();
    log::info("created pod {}/{}{}", pod["metadata"]["namespace"].get<std::string>(),
              pod["metadata"]["name"].get<std::string>(),
              pod["spec"].contains("nodeName") ? " on " + pod["spec"]["nodeName"].get<std::string>()
                                               : " (unscheduled)");
    pods_.push_back(std::move(pod));
    return {};
  }

  Status remove(const Json& pod) {
    auto r = store_.remove(ObjectRef::of(pod));
    if (!r) return r.error();
    log::info("deleted pod {}/{}", pod["metadata"].value("namespace", ""),
              pod["metadata"].value("name", ""));
    return {};
  }

  // Writes status only when it changed.
  Status set_status(Json owner, const Json& status) {
    if (owner.value("status", Json()) == status) return {};
    owner["status"] = status;
    auto r = store_.update(owner);
    if (!r && r.error().message.find("conflict") == std::string::npos) return r.error();
    return {};
  }

  Status deployments() {
    auto list = store_.list("apps/v1", "Deployment", "", "");
    if (!list) return list.error();
    for (const auto& d : *list) {
      const std::string uid = d["metadata"].value("uid", "");
      const std::string name = d["metadata"].value("name", "");
      const std::string hash = template_hash(d["spec"].value("template", Json::object()));
      const int64_t want = d["spec"].value("replicas", int64_t{1});
      std::vector<Json> current, old;
      for (const auto& p : pods_) {
        if (!owned_by(p, uid)) continue;
        (p["metadata"]["labels"].value("pod-template-hash", "") == hash ? current : old)
            .push_back(p);
      }
      for (const auto& p : old) {
        if (auto st = remove(p); !st) return st;
      }
      for (int64_t i = static_cast<int64_t>(current.size()); i > want; --i) {
        if (auto st = remove(current.back()); !st) return st;
        current.pop_back();
      }
      for (int64_t i = static_cast<int64_t>(current.size()); i < want; ++i) {
        Json pod = new_pod(d, name + "-" + hash.substr(0, 10) + "-" + random_suffix(), hash,
                           pick_node(d["spec"]["template"].value("spec", Json::object())));
        if (auto st = create(pod); !st) return st;
        current.push_back(pod);
      }
      int64_t ready = std::count_if(current.begin(), current.end(), pod_ready);
      Json status = {
          {"observedGeneration", d["metadata"].value("generation", int64_t{1})},
          {"replicas", static_cast<int64_t>(current.size())},
          {"updatedReplicas", static_cast<int64_t>(current.size())},
          {"readyReplicas", ready},
          {"availableReplicas", ready},
          {"conditions",
           Json::array({{{"type", "Available"}, {"status", ready >= want ? "True" : "False"}}})}};
      if (auto st = set_status(d, status); !st) return st;
    }
    return {};
  }

  Status daemonsets() {
    auto list = store_.list("apps/v1", "DaemonSet", "", "");
    if (!list) return list.error();
    for (const auto& ds : *list) {
      const std::string uid = ds["metadata"].value("uid", "");
      const std::string name = ds["metadata"].value("name", "");
      const Json& spec = ds["spec"]["template"].value("spec", Json::object());
      const std::string hash = template_hash(ds["spec"].value("template", Json::object()));
      std::set<std::string> eligible;
      for (const auto& node : nodes_) {
        if (spec.contains("nodeSelector") && !selector_fits(spec["nodeSelector"], node)) continue;
        if (!node_ready(node) && !tolerates_not_ready(spec)) continue;
        eligible.insert(node["metadata"].value("name", ""));
      }
      std::map<std::string, Json> on_node;
      for (const auto& p : pods_) {
        if (!owned_by(p, uid)) continue;
        std::string node = p["spec"].value("nodeName", "");
        bool keep = eligible.count(node) &&
                    p["metadata"]["labels"].value("pod-template-hash", "") == hash &&
                    !on_node.count(node);
        if (keep) {
          on_node[node] = p;
        } else if (auto st = remove(p); !st) {
          return st;
        }
      }
      for (const auto& node : eligible) {
        if (on_node.count(node)) continue;
        Json pod = new_pod(ds, name + "-" + random_suffix(), hash, node);
        if (auto st = create(pod); !st) return st;
        on_node[node] = pod;
      }
      int64_t ready = 0;
      for (const auto& [n, p] : on_node) ready += pod_ready(p) ? 1 : 0;
      const auto desired = static_cast<int64_t>(eligible.size());
      Json status = {{"observedGeneration", ds["metadata"].value("generation", int64_t{1})},
                     {"desiredNumberScheduled", desired},
                     {"currentNumberScheduled", static_cast<int64_t>(on_node.size())},
                     {"updatedNumberScheduled", static_cast<int64_t>(on_node.size())},
                     {"numberReady", ready},
                     {"numberAvailable", ready},
                     {"numberUnavailable", desired - ready}};
      if (auto st = set_status(ds, status); !st) return st;
    }
    return {};
  }

  // Binds unscheduled pods to a node that may take them; explains when none may.
  Status schedule() {
    for (auto& p : pods_) {
      if (!p["spec"].value("nodeName", "").empty()) continue;
      auto live = store_.get(ObjectRef::of(p));
      if (!live || !*live) continue;
      Json pod = **live;
      std::string why;
      std::string node = pick_node(pod["spec"], &why);
      if (node.empty()) {
        Json status = {{"phase", "Pending"},
                       {"conditions", Json::array({{{"type", "PodScheduled"},
                                                    {"status", "False"},
                                                    {"reason", "Unschedulable"},
                                                    {"message", why}}})}};
        if (pod.value("status", Json()) != status) {
          pod["status"] = status;
          (void)store_.update(pod);
        }
        continue;
      }
      pod["spec"]["nodeName"] = node;
      pod.erase("status");
      if (store_.update(pod)) {
        p["spec"]["nodeName"] = node;
        log::info("scheduled pod {}/{} on {}", pod["metadata"].value("namespace", ""),
                  pod["metadata"].value("name", ""), node);
      }
    }
    return {};
  }

  Status garbage_collect() {
    std::set<std::string> owners;
    for (const char* kind : {"Deployment", "DaemonSet"}) {
      auto list = store_.list("apps/v1", kind, "", "");
      if (!list) return list.error();
      for (const auto& o : *list) owners.insert(o["metadata"].value("uid", ""));
    }
    for (const auto& p : pods_) {
      for (const auto& o : p["metadata"].value("ownerReferences", Json::array())) {
        if (o.value("controller", false) && !owners.count(o.value("uid", ""))) {
          if (auto st = remove(p); !st) return st;
          break;
        }
      }
    }
    return {};
  }

  // The API server's part for Services: a clusterIP for each, NodePorts from
  // the cluster's range for NodePort and LoadBalancer Services (none for a
  // LoadBalancer with allocateLoadBalancerNodePorts: false), and a
  // healthCheckNodePort for a LoadBalancer with externalTrafficPolicy Local.
  Status services() {
    auto list = store_.list("v1", "Service", "", "");
    if (!list) return list.error();
    auto range = client::cluster_node_port_range(store_);
    if (!range) return range.error();
    std::vector<std::string> ips;
    std::vector<int> ports;
    for (const auto& s : *list) {
      ips.push_back(s["spec"].value("clusterIP", ""));
      for (const auto& p : s["spec"].value("ports", Json::array()))
        ports.push_back(p.value("nodePort", 0));
      ports.push_back(s["spec"].value("healthCheckNodePort", 0));
    }
    for (auto s : *list) {
      bool changed = false;
      Json& spec = s["spec"];
      const std::string type = spec.value("type", "ClusterIP");
      if (spec.value("clusterIP", "").empty()) {
        std::string ip = allocate_cluster_ip(ips);
        ips.push_back(ip);
        spec["clusterIP"] = ip;
        spec["clusterIPs"] = Json::array({ip});
        changed = true;
      }
      const bool lb = type == "LoadBalancer";
      if (type == "NodePort" || (lb && spec.value("allocateLoadBalancerNodePorts", true))) {
        for (auto& p : spec["ports"]) {
          if (p.value("nodePort", 0) == 0) {
            int port = allocate_node_port(ports, range->first, range->second);
            ports.push_back(port);
            p["nodePort"] = port;
            changed = true;
          }
        }
      }
      if (lb && spec.value("externalTrafficPolicy", "Cluster") == "Local" &&
          spec.value("healthCheckNodePort", 0) == 0) {
        int port = allocate_node_port(ports, range->first, range->second);
        ports.push_back(port);
        spec["healthCheckNodePort"] = port;
        changed = true;
      }
      if (changed) {
        auto r = store_.update(s);
        if (r)
          log::info("service {}/{}: clusterIP {}", s["metadata"].value("namespace", ""),
                    s["metadata"].value("name", ""), spec["clusterIP"].get<std::string>());
      }
    }
    return {};
  }

  // The API server's part: a CustomResourceDefinition is accepted and
  // established at once (the lab serves every kind from the same store).
  Status crds() {
    auto list = store_.list("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", "");
    if (!list) return list.error();
    const Json status = {
        {"conditions", Json::array({{{"type", "NamesAccepted"}, {"status", "True"}},
                                    {{"type", "Established"}, {"status", "True"}}})},
        {"acceptedNames", Json::object()}};
    for (const auto& crd : *list) {
      Json s = status;
      s["acceptedNames"] = crd["spec"].value("names", Json::object());
      if (auto st = set_status(crd, s); !st) return st;
    }
    return {};
  }

  Status namespaces() {
    auto list = store_.list("v1", "Namespace", "", "");
    if (!list) return list.error();
    for (const auto& ns : *list) {
      if (auto st = set_status(ns, Json{{"phase", "Active"}}); !st) return st;
    }
    return {};
  }

  EtcdStore& store_;
  std::vector<Json> nodes_, pods_;
};

}  // namespace

std::string allocate_cluster_ip(const std::vector<std::string>& taken) {
  std::set<std::string> used(taken.begin(), taken.end());
  // 10.96.0.1 (the API server's in Kubernetes) and 10.96.0.10 (cluster DNS) are reserved.
  for (int b = 0; b < 16 * 256; ++b) {
    for (int c = (b == 0 ? 11 : 1); c < 255; ++c) {
      std::string ip = "10." + std::to_string(96 + b / 256) + "." + std::to_string(b % 256) + "." +
                       std::to_string(c);
      if (!used.count(ip)) return ip;
    }
  }
  return "";
}

int allocate_node_port(const std::vector<int>& taken, int first, int last) {
  std::set<int> used(taken.begin(), taken.end());
  for (int p = first; p <= last; ++p) {
    if (!used.count(p)) return p;
  }
  return 0;
}

std::string template_hash(const Json& pod_template) {
  // FNV-1a of the canonical JSON: any change to the template changes it.
  uint64_t h = 1469598103934665603ULL;
  for (char c : pod_template.dump()) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  const char* digits = "bcdfghjklmnpqrstvwxz2456789";
  std::string s;
  for (int i = 0; i < 10; ++i) {
    s += digits[h % 27];
    h /= 27;
  }
  return s;
}

Status reconcile_cluster(client::EtcdStore& store) {
  return Reconciler(store).run();
}

int run_controller(const LabPaths& paths, const std::atomic<bool>& stop) {
  auto etcd = client::EtcdClient::connect(paths.etcd_target(), std::chrono::seconds(30));
  if (!etcd) {
    log::error("cannot reach the lab store: {}", etcd.error().str());
    return 1;
  }
  auto shared = std::shared_ptr<client::EtcdClient>(std::move(*etcd));
  client::EtcdStore store(shared);
  log::info("controller of lab {} started", paths.name);
  std::unique_ptr<client::EtcdWatch> watch;
  while (!stop.load()) {
    if (!watch) {
      auto w = shared->watch(client::kRegistryPrefix, 0);
      if (w) watch = std::move(*w);
    }
    if (auto st = reconcile_cluster(store); !st) log::warn("reconcile: {}", st.error().str());
    if (watch) {
      auto b = watch->next(std::chrono::seconds(1));
      if (b && b->canceled) watch.reset();
      // Let a burst of changes settle before the next pass.
      while (watch && watch->next(std::chrono::milliseconds(50))) {
      }
    } else {
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
  }
  return 0;
}

}  // namespace axon::lab
