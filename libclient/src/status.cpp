#include "axon/client/status.h"

#include <grpcpp/grpcpp.h>

#include <map>
#include <set>

#include "axon/agent/v1/agent.grpc.pb.h"
#include "axon/client/l2announce.h"
#include "axon/client/lbipam.h"
#include "axon/gateway/model.h"
#include "axon/policy/decode.h"
#include "axon/policy/yaml.h"

namespace axon::client {
namespace {

int64_t num(const Json& o, const char* key) {
  const Json& v = member(o, key);
  return v.is_number() ? v.get<int64_t>() : 0;
}

bool pod_ready(const Json& pod) {
  for (const auto& c : member(member(pod, "status"), "conditions")) {
    if (c.value("type", "") == "Ready") return c.value("status", "") == "True";
  }
  return false;
}

std::optional<AgentStatus> ask_agent(const std::string& socket) {
  auto stub = axon::agent::v1::Agent::NewStub(
      grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  axon::agent::v1::StatusResponse r;
  if (!stub->Status(&ctx, axon::agent::v1::Empty(), &r).ok()) return std::nullopt;
  AgentStatus a;
  a.reachable = true;
  a.state = r.state();
  a.endpoints = r.endpoints();
  a.identities = r.identities();
  a.policies = r.policies();
  a.services = r.services();
  a.pod_cidr = r.pod_cidr();
  a.l7_proxy = r.l7_proxy();
  for (const auto& e : r.errors()) a.errors.push_back(e);
  return a;
}

}  // namespace

std::string to_string(Health h) {
  switch (h) {
    case Health::ok:
      return "OK";
    case Health::warning:
      return "warning";
    case Health::error:
      return "error";
    case Health::disabled:
      return "disabled";
  }
  return "?";
}

Json StatusReport::to_json() const {
  Json j = {{"ready", errors.empty()}, {"errors", errors},
            {"warnings", warnings},    {"workloads", Json::array()},
            {"agents", Json::array()}, {"pods", {{"total", pods}, {"managed", managed_pods}}},
            {"lbIPAM",
             {{"pools", lb_ipam.pools},
              {"conflictingPools", lb_ipam.conflicting},
              {"ipsUsed", lb_ipam.ips_used},
              {"ipsTotal", lb_ipam.ips_total},
              {"loadBalancerServices", lb_ipam.services},
              {"pending", lb_ipam.pending}}}};
  j["gateways"] = {{"total", gateways.total},
                   {"programmed", gateways.programmed},
                   {"notProgrammed", gateways.not_programmed}};
  j["l2Announcements"] = Json::array();
  for (const auto& a : l2)
    j["l2Announcements"].push_back({{"ip", a.ip}, {"services", a.services}, {"node", a.node}});
  for (const auto& w : workloads) {
    j["workloads"].push_back({{"component", w.label},
                              {"kind", w.kind},
                              {"name", w.name},
                              {"state", to_string(w.health)},
                              {"desired", w.desired},
                              {"ready", w.ready},
                              {"available", w.available},
                              {"images", w.images}});
  }
  for (const auto& a : agents) {
    j["agents"].push_back({{"node", a.node},
                           {"pod", a.pod},
                           {"reachable", a.reachable},
                           {"state", a.state},
                           {"endpoints", a.endpoints},
                           {"identities", a.identities},
                           {"policies", a.policies},
                           {"services", a.services},
                           {"podCIDR", a.pod_cidr},
                           {"l7Proxy", a.l7_proxy},
                           {"errors", a.errors}});
  }
  return j;
}

namespace {

// Gateway API: every Gateway of a class axon's controller serves, counted by
// its Programmed condition (no Gateway kind: nothing to count).
void collect_gateways(ClusterStore& store, StatusReport& report) {
  auto classes = store.list("gateway.networking.k8s.io/v1", "GatewayClass", "", "");
  auto gateways = store.list("gateway.networking.k8s.io/v1", "Gateway", "", "");
  if (!classes || !gateways) return;
  std::set<std::string> ours;
  for (const auto& c : *classes)
    if (member(c, "spec").value("controllerName", "") == gateway::kControllerName)
      ours.insert(member(c, "metadata").value("name", ""));
  for (const auto& g : *gateways) {
    if (!ours.count(member(g, "spec").value("gatewayClassName", ""))) continue;
    ++report.gateways.total;
    const Json& meta = member(g, "metadata");
    std::string why = "no status yet";
    bool programmed = false;
    for (const auto& c : member(member(g, "status"), "conditions")) {
      if (c.value("type", "") != "Programmed") continue;
      programmed = c.value("status", "") == "True";
      why = c.value("reason", "") + ": " + c.value("message", "");
    }
    if (programmed)
      ++report.gateways.programmed;
    else
      report.gateways.not_programmed.push_back(meta.value("namespace", "") + "/" + meta.value("name", "") +
                                               ": " + why);
  }
}

// L2 announcements: what the policies select (l2announce.h) and who holds
// each Service's Lease. Off (enable-l2-announcements false) with policies
// in the store: a warning that they have no effect.
void collect_l2(ClusterStore& store, const std::string& ns, const std::vector<Json>& services,
                StatusReport& report) {
  auto policies = store.list("cilium.io/v2alpha1", "CiliumL2AnnouncementPolicy", "", "");
  if (!policies || policies->empty()) return;
  auto config = store.get(ObjectRef{"v1", "ConfigMap", ns, "axon-config"});
  const Json data = config && *config ? member(**config, "data") : Json::object();
  if (data.value("enable-l2-announcements", "false") != "true") {
    report.warnings.push_back("CiliumL2AnnouncementPolicy " +
                              member(policies->front(), "metadata").value("name", "") +
                              (policies->size() > 1 ? " (and " + std::to_string(policies->size() - 1) + " more)" : "") +
                              ": L2 announcements are off (l2announcements.enabled: false), nothing is announced");
    return;
  }
  auto nodes = store.list("v1", "Node", "", "");
  auto slices = store.list("discovery.k8s.io/v1", "EndpointSlice", "", "");
  auto leases = store.list("coordination.k8s.io/v1", "Lease", ns, "");
  if (!nodes || !slices || !leases) return;
  const auto plan = l2_plan(*policies, services, *slices, *nodes, {data.value("devices", "eth0")},
                            data.value("enable-external-ips", "false") == "true");
  for (const auto& [name, conds] : plan.policies) {
    for (const auto& c : conds)
      report.warnings.push_back("CiliumL2AnnouncementPolicy " + name + ": " + c.type + ": " + c.message);
  }
  std::map<std::string, std::string> holders;  // Service -> node
  for (const auto& l : *leases) {
    const std::string name = member(l, "metadata").value("name", "");
    if (!name.starts_with(kL2LeasePrefix)) continue;
    holders[member(member(l, "metadata"), "annotations").value(kL2ServiceAnnotation, "")] =
        member(l, "spec").value("holderIdentity", "");
  }
  std::map<std::string, L2Announced> by_ip;
  for (const auto& [key, s] : plan.services) {
    for (const auto& ip : s.ips) {
      auto& a = by_ip[ip];
      a.ip = ip;
      a.services.push_back(key);
      auto h = holders.find(key);
      const std::string node = h == holders.end() ? "" : h->second;
      // Sharing Services move together; while they do, they may disagree.
      a.node = a.services.size() == 1 || a.node == node ? node : "";
    }
  }
  for (auto& [ip, a] : by_ip) report.l2.push_back(std::move(a));
}

}  // namespace

Result<StatusReport> collect_status(ClusterStore& store, const std::string& ns,
                                    const AgentSocketFinder& agents) {
  StatusReport report;
  auto pods = store.list("v1", "Pod", "", "");
  if (!pods) return pods.error();
  struct Component {
    const char* kind;
    const char* name;
    const char* label;
    bool required;
  };
  const std::vector<Component> components = {{"DaemonSet", "axon-agent", "Axon", true},
                                             {"Deployment", "axon-operator", "Operator", true},
                                             {"Deployment", "hubble-relay", "Hubble Relay", false},
                                             {"Deployment", "hubble-ui", "Hubble UI", false}};
  for (const auto& c : components) {
    WorkloadStatus w;
    w.kind = c.kind;
    w.name = c.name;
    w.label = c.label;
    auto obj = store.get(ObjectRef{"apps/v1", c.kind, ns, c.name});
    if (!obj) return obj.error();
    if (!*obj) {
      if (c.required) {
        w.health = Health::error;
        report.errors.push_back(std::string(c.kind) + " " + ns + "/" + c.name +
                                " not found: axon is not installed (axon install -f values.yaml)");
      }
      report.workloads.push_back(w);
      continue;
    }
    const Json& st = member(**obj, "status");
    if (w.kind == "DaemonSet") {
      w.desired = num(st, "desiredNumberScheduled");
      w.ready = num(st, "numberReady");
      w.available = num(st, "numberAvailable");
    } else {
      w.desired = member(**obj, "spec").value("replicas", int64_t{1});
      w.ready = num(st, "readyReplicas");
      w.available = num(st, "availableReplicas");
    }
    // Images of the running pods, and which of the workload's pods are not ready.
    std::map<std::string, int> images;
    std::vector<std::string> not_ready;
    for (const auto& p : *pods) {
      const Json& pm = member(p, "metadata");
      if (pm.value("namespace", "") != ns ||
          !pm.value("name", "").starts_with(std::string(c.name) + "-"))
        continue;
      for (const auto& ctr : member(member(p, "spec"), "containers"))
        ++images[ctr.value("image", "")];
      if (!pod_ready(p)) {
        std::string where = member(p, "spec").value("nodeName", "");
        std::string reason;
        for (const auto& cs : member(member(p, "status"), "containerStatuses")) {
          const Json& waiting = member(member(cs, "state"), "waiting");
          if (!waiting.empty()) reason = waiting.value("reason", "");
          if (cs.value("restartCount", 0) > 0)
            reason += (reason.empty() ? "" : ", ") + std::to_string(cs.value("restartCount", 0)) +
                      " restarts";
        }
        not_ready.push_back(pm.value("name", "") +
                            (where.empty() ? " (unscheduled)" : " on " + where) +
                            (reason.empty() ? "" : " (" + reason + ")"));
      }
    }
    for (const auto& [img, n] : images) w.images.push_back(img + ": " + std::to_string(n));
    if (w.desired > 0 && w.ready >= w.desired) {
      w.health = Health::ok;
    } else {
      std::string what = std::string(c.label) + " (" + c.kind + " " + ns + "/" + c.name +
                         "): " + std::to_string(w.ready) + "/" + std::to_string(w.desired) +
                         " ready";
      for (size_t i = 0; i < not_ready.size(); ++i)
        what += (i == 0 ? "; not ready: " : ", ") + not_ready[i];
      // An operator or relay with some replicas up still works.
      if (w.ready > 0 && w.kind == "Deployment") {
        w.health = Health::warning;
        report.warnings.push_back(what);
      } else {
        w.health = Health::error;
        report.errors.push_back(what);
      }
    }
    report.workloads.push_back(w);
  }
  // Each agent's own view, where it can be reached.
  for (const auto& p : *pods) {
    const Json& pm = member(p, "metadata");
    if (pm.value("namespace", "") == ns && pm.value("name", "").starts_with("axon-agent-")) {
      AgentStatus a;
      a.node = member(p, "spec").value("nodeName", "");
      a.pod = pm.value("name", "");
      std::string socket = agents ? agents(a.node) : "";
      if (!pod_ready(p)) {
        // The pod's own condition, not the DaemonSet's count: that one lags
        // the kubelet, and a stopped agent must not pass for ready meanwhile.
        report.errors.push_back("agent on " + a.node + " (" + a.pod + ") is not ready");
      } else if (!socket.empty()) {
        if (auto asked = ask_agent(socket)) {
          asked->node = a.node;
          asked->pod = a.pod;
          a = *asked;
          for (const auto& e : a.errors) report.errors.push_back("agent on " + a.node + ": " + e);
        } else {
          report.errors.push_back("agent on " + a.node + " (" + a.pod +
                                  ") does not answer on its API socket " + socket);
        }
      }
      report.agents.push_back(a);
    }
    if (!member(p, "spec").value("hostNetwork", false)) {
      ++report.pods;
      if (!member(p, "status").value("podIP", "").empty()) ++report.managed_pods;
    }
  }
  // LB IPAM: counts from the pools' conditions and the Services' status.
  if (auto pools = store.list("cilium.io/v2", "CiliumLoadBalancerIPPool", "", ""); pools) {
    for (const auto& pool : *pools) {
      ++report.lb_ipam.pools;
      for (const auto& c : member(member(pool, "status"), "conditions")) {
        const std::string type = c.value("type", ""), msg = c.value("message", "");
        auto count = [&] {
          return !msg.empty() && msg.find_first_not_of("0123456789") == std::string::npos &&
                         msg.size() < 18
                     ? std::stoll(msg)
                     : int64_t{0};
        };
        if (type == "cilium.io/PoolConflict" && c.value("status", "") == "True")
          ++report.lb_ipam.conflicting;
        if (type == "cilium.io/IPsUsed") report.lb_ipam.ips_used += count();
        if (type == "cilium.io/IPsTotal") report.lb_ipam.ips_total += count();
      }
    }
  }  // no pool kind (no CRDs): nothing to count
  auto services = store.list("v1", "Service", "", "");
  if (!services) return services.error();
  for (const auto& svc : *services) {
    if (!lbipam_manages(svc)) continue;
    ++report.lb_ipam.services;
    if (member(member(member(svc, "status"), "loadBalancer"), "ingress").empty())
      ++report.lb_ipam.pending;
  }
  collect_l2(store, ns, *services, report);
  collect_gateways(store, report);
  return report;
}

namespace {

// Asks the agent of every node of the store (or of `only_node`), 3 s each:
// (node, its answer or nothing).
template <typename R, typename Call>
Result<std::vector<std::pair<std::string, std::optional<R>>>> ask_each_agent(
    ClusterStore& store, const AgentSocketFinder& agents, const std::string& only_node, Call call) {
  namespace pb = axon::agent::v1;
  auto nodes = store.list("v1", "Node", "", "");
  if (!nodes) return nodes.error();
  std::vector<std::pair<std::string, std::optional<R>>> out;
  for (const auto& n : *nodes) {
    const std::string name = member(n, "metadata").value("name", "");
    if (!only_node.empty() && name != only_node) continue;
    auto stub = pb::Agent::NewStub(
        grpc::CreateChannel("unix:" + agents(name), grpc::InsecureChannelCredentials()));
    grpc::ClientContext c;
    c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(3));
    R r;
    std::optional<R> got;
    if (call(*stub, c, r).ok()) got = std::move(r);
    out.emplace_back(name, std::move(got));
  }
  return out;
}

}  // namespace

Result<std::vector<NodePolicy>> agent_policies(ClusterStore& store, const AgentSocketFinder& agents,
                                               const std::string& only_node) {
  namespace pb = axon::agent::v1;
  auto got = ask_each_agent<pb::PolicyResponse>(
      store, agents, only_node,
      [](pb::Agent::Stub& s, grpc::ClientContext& c, pb::PolicyResponse& r) { return s.GetPolicy(&c, pb::Empty(), &r); });
  if (!got) return got.error();
  std::vector<NodePolicy> out;
  for (auto& [node, r] : *got) out.push_back({node, std::move(r)});
  return out;
}

Result<std::vector<NodeFqdnCache>> agent_fqdn_caches(ClusterStore& store, const AgentSocketFinder& agents,
                                                     const std::string& only_node) {
  namespace pb = axon::agent::v1;
  auto got = ask_each_agent<pb::FqdnCache>(
      store, agents, only_node,
      [](pb::Agent::Stub& s, grpc::ClientContext& c, pb::FqdnCache& r) { return s.ListFqdnCache(&c, pb::Empty(), &r); });
  if (!got) return got.error();
  std::vector<NodeFqdnCache> out;
  for (auto& [node, r] : *got) out.push_back({node, std::move(r)});
  return out;
}

}  // namespace axon::client
