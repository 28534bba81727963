// The Services this node serves, as Cilium's kube-proxy replacement: every
// frontend of every Service with the backends this node gives it.
//
//   frontend                         backends                      flags
//   clusterIP:port                   ready; iTP Local: this node's  -
//   node address:nodePort (*)        ready; eTP Local: this node's  external, SNAT unless Local
//   LoadBalancer ingress IP:port (*) as nodePort                    as nodePort
//   externalIP:port (*, values)      as nodePort                    as nodePort
//   hostIP|node address:hostPort (*) the pod of this node           external
//   (*) with kubeProxyReplacement only; with eTP Local a second entry
//       (scope internal) gives the cluster's pods every backend
//
// sessionAffinity ClientIP applies to every frontend of the Service.
#include <net/if.h>
#include <netinet/in.h>

#include <algorithm>

#include "axon/agent/agent.h"
#include "axon/base/log.h"
#include "axon/datapath/netdevs.h"
#include "service_backends.h"
#include "service_health.h"

namespace axon::agent {

using client::member;

namespace {

uint8_t protocol_number(const std::string& p) {
  if (p == "UDP") return IPPROTO_UDP;
  if (p == "SCTP") return IPPROTO_SCTP;
  return IPPROTO_TCP;
}

}  // namespace

std::map<std::string, std::map<std::string, std::vector<ReadyBackend>>> ready_backends(
    const std::vector<Json>& slices, const std::string& self) {
  std::map<std::string, std::map<std::string, std::vector<ReadyBackend>>> out;
  for (const auto& s : slices) {
    const Json& meta = member(s, "metadata");
    const std::string svc = meta.value("namespace", "") + "/" +
                            member(meta, "labels").value("kubernetes.io/service-name", "");
    for (const auto& port : s.value("ports", Json::array())) {
      auto& list = out[svc][port.value("name", "")];
      for (const auto& ep : s.value("endpoints", Json::array())) {
        const Json& cond = member(ep, "conditions");
        if (cond.contains("ready") && cond["ready"].is_boolean() && !cond["ready"].get<bool>())
          continue;
        const std::string node = ep.value("nodeName", "");
        for (const auto& a : ep.value("addresses", Json::array())) {
          if (!a.is_string()) continue;
          if (auto ip = datapath::parse_ipv4(a.get<std::string>()))
            list.push_back({{*ip, static_cast<uint16_t>(port.value("port", 0)), node == self}, node});
        }
      }
    }
  }
  return out;
}

namespace {

std::vector<datapath::Backend> pick(const std::vector<ReadyBackend>& all, const std::string* node) {
  std::vector<datapath::Backend> out;
  for (const auto& b : all) {
    if (node == nullptr || b.node == *node) out.push_back(b.backend);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

void Agent::attach_netdev() {
  if (!c_.kube_proxy_replacement || node_ip_.empty()) return;
  auto addr = datapath::parse_ipv4(node_ip_);
  const unsigned ifindex = if_nametoindex(c_.devices.c_str());
  if (!addr || ifindex == 0) {
    note_error("devices", "no network device " + c_.devices + " with the node's address " +
                              node_ip_ + ": NodePort, LoadBalancer and hostPort are not served");
    return;
  }
  if (auto st = dp_->netdevs().attach({ifindex, *addr}); !st) {
    note_error("devices", "attach to " + c_.devices + ": " + st.error().str());
    return;
  }
  note_error("devices", "");
  netdev_attached_ = true;
  log::info("serving external traffic to Services on {} ({})", c_.devices, node_ip_);
}

void Agent::sync_services() {
  const auto svcs = services_watch_->list();
  auto backends = ready_backends(slices_->list(), c_.node);
  const std::string self_ip = node_ip_;  // written by sync_nodes, on this thread
  const bool kpr = c_.kube_proxy_replacement;
  std::map<datapath::ServiceKey, ServiceInfo> want;
  std::map<uint16_t, ServiceHealthServer::Target> health;
  std::vector<std::string> unenforced;  // Services with loadBalancerSourceRanges
  // A Gateway's Service (the operator's cilium-gateway-<name>): every
  // frontend goes to the node proxy's Gateway listener, which routes each
  // request (Cilium's L7 LB); only while the proxy runs, else it stays a
  // Service without backends (refused).
  const bool gateways = c_.gateway_api && http_proxy_ != nullptr;
  std::string gateway;        // the current Service's Gateway, "ns/name"
  uint16_t listener_port = 0;  // and the port being added
  std::vector<proxy::GatewaySnapshot::Frontend> gateway_frontends;
  // Each Gateway's listener ports and their protocol: HTTP, HTTPS, TLS
  // (passthrough) and TCP go to the proxy's listener for them; others (UDP: not served)
  // stay without backends, refused.
  std::map<std::pair<std::string, uint16_t>, uint16_t> gateway_proxy_port;
  if (gateways && gateway_informers_.size() > 1) {
    for (const auto& g : gateway_informers_[1]->list()) {
      const Json& gmeta = member(g, "metadata");
      const std::string key = gmeta.value("namespace", "") + "/" + gmeta.value("name", "");
      for (const auto& l : member(g, "spec").value("listeners", Json::array())) {
        const std::string protocol = l.value("protocol", "");
        const uint16_t proxy_port = protocol == "HTTP"  ? kGatewayProxyPort
                                    : protocol == "TCP" ? kGatewayTcpProxyPort
                                    : protocol == "HTTPS" ? kGatewayTlsProxyPort
                                    : protocol == "TLS" ? kGatewayPassthroughProxyPort
                                                        : 0;
        gateway_proxy_port.emplace(std::pair{key, static_cast<uint16_t>(l.value("port", 0))}, proxy_port);
      }
    }
  }
  auto add = [&](const std::string& name, const std::string& type, const std::string& addr,
                 uint16_t port, uint8_t proto, std::vector<datapath::Backend> list, bool external,
                 bool snat, uint32_t affinity, uint8_t scope = 0, bool two_scopes = false) {
    auto ip = datapath::parse_ipv4(addr);
    if (!ip || port == 0) return;
    ServiceInfo info;
    info.name = name;
    info.type = type;
    info.service.key = {*ip, port, proto, scope};
    info.service.backends = std::move(list);
    info.service.external = external;
    info.service.snat = snat;
    info.service.affinity_timeout_s = affinity;
    info.service.two_scopes = two_scopes;
    if (!gateway.empty()) {
      auto p = gateway_proxy_port.find({gateway, listener_port});
      info.service.l7_proxy_port = p == gateway_proxy_port.end() ? 0 : p->second;
      info.service.backends.clear();
      if (scope == 0) gateway_frontends.push_back({addr, port, gateway, listener_port});
    }
    want[info.service.key] = std::move(info);
  };
  // A frontend outside traffic reaches: with externalTrafficPolicy Local
  // two entries, this node's backends for the outside and all of them for
  // the cluster's pods (kube-proxy's short-circuit of in-cluster traffic).
  auto add_external = [&](const std::string& name, const std::string& type, const std::string& addr,
                          uint16_t port, uint8_t proto, const std::vector<ReadyBackend>& all,
                          bool etp_local, uint32_t affinity) {
    if (!etp_local) {
      add(name, type, addr, port, proto, pick(all, nullptr), true, true, affinity);
      return;
    }
    add(name, type, addr, port, proto, pick(all, &c_.node), true, false, affinity, 0, true);
    add(name, type, addr, port, proto, pick(all, nullptr), false, false, affinity, 1);
  };
  for (const auto& s : svcs) {
    const Json& meta = member(s, "metadata");
    const Json& spec = member(s, "spec");
    const std::string ns = meta.value("namespace", ""), svc_name = meta.value("name", "");
    const std::string name = ns + "/" + svc_name;
    const std::string type = spec.value("type", "ClusterIP");
    if (type == "ExternalName") continue;
    const Json& owner = member(member(meta, "labels"), "io.cilium.gateway/owning-gateway");
    gateway = gateways && owner.is_string() ? ns + "/" + owner.get<std::string>() : "";
    const bool etp_local = spec.value("externalTrafficPolicy", "Cluster") == "Local";
    const bool itp_local = spec.value("internalTrafficPolicy", "Cluster") == "Local";
    uint32_t affinity = 0;
    if (spec.value("sessionAffinity", "None") == "ClientIP") {
      const Json& t = member(member(member(spec, "sessionAffinityConfig"), "clientIP"),
                             "timeoutSeconds");
      affinity = t.is_number_integer() && t.get<int64_t>() > 0
                     ? static_cast<uint32_t>(t.get<int64_t>())
                     : 10800;  // Kubernetes' default, 3 h
    }
    // Frontends besides the clusterIP and node ports, by the type Cilium's
    // service list gives them.
    std::vector<std::pair<std::string, std::string>> external;  // address, type
    for (const auto& ing : member(member(s, "status"), "loadBalancer").value("ingress", Json::array()))
      if (ing.contains("ip") && ing["ip"].is_string()) external.emplace_back(ing["ip"], "LoadBalancer");
    if (c_.external_ips) {
      for (const auto& ip : spec.value("externalIPs", Json::array()))
        if (ip.is_string()) external.emplace_back(ip, "ExternalIPs");
    }
    const bool source_ranges = !spec.value("loadBalancerSourceRanges", Json::array()).empty();
    if (kpr && source_ranges && !external.empty())
      unenforced.push_back(name);
    const std::string cluster_ip = spec.value("clusterIP", "");
    int local_total = 0;
    for (const auto& port : spec.value("ports", Json::array())) {
      const auto& all = backends[name][port.value("name", "")];
      const uint8_t proto = protocol_number(port.value("protocol", "TCP"));
      const auto svc_port = static_cast<uint16_t>(port.value("port", 0));
      listener_port = svc_port;
      local_total += static_cast<int>(pick(all, &c_.node).size());
      if (!cluster_ip.empty() && cluster_ip != "None") {
        add(name, "ClusterIP", cluster_ip, svc_port, proto,
            pick(all, itp_local ? &c_.node : nullptr), false, false, affinity);
      }
      // Without kubeProxyReplacement only pods reach LoadBalancer IPs (as a
      // ClusterIP); with it, the node's device serves them too.
      for (const auto& [ip, kind] : external) {
        // loadBalancerSourceRanges is not enforced yet: fail closed, the
        // LoadBalancer IP is served to the cluster's pods only (status says so).
        if (kpr && !(kind == "LoadBalancer" && source_ranges))
          add_external(name, kind, ip, svc_port, proto, all, etp_local, affinity);
        else
          add(name, kind, ip, svc_port, proto, pick(all, nullptr), false, false, affinity);
      }
      const auto node_port = static_cast<uint16_t>(port.value("nodePort", 0));
      if (kpr && node_port != 0 && (type == "NodePort" || type == "LoadBalancer"))
        add_external(name, "NodePort", self_ip, node_port, proto, all, etp_local, affinity);
    }
    const int hc = spec.value("healthCheckNodePort", 0);
    if (kpr && type == "LoadBalancer" && etp_local && hc > 0 && hc < 65536)
      health[static_cast<uint16_t>(hc)] = {ns, svc_name, local_total};
  }
  gateway.clear();
  gateway_frontends_ = std::move(gateway_frontends);
  // hostPort: the node's address (or the pod's hostIP) and the port reach
  // that pod of this node.
  if (kpr) {
    for (const auto& p : pods_->list()) {
      const Json& spec = member(p, "spec");
      const std::string pod_ip = member(p, "status").value("podIP", "");
      if (spec.value("nodeName", "") != c_.node || pod_ip.empty() ||
          spec.value("hostNetwork", false))
        continue;
      const std::string name = member(p, "metadata").value("namespace", "") + "/" +
                               member(p, "metadata").value("name", "");
      auto ip = datapath::parse_ipv4(pod_ip);
      if (!ip) continue;
      for (const auto& c : spec.value("containers", Json::array())) {
        for (const auto& port : c.value("ports", Json::array())) {
          const int host_port = port.value("hostPort", 0), container_port = port.value("containerPort", 0);
          if (host_port <= 0 || host_port > 65535 || container_port <= 0 || container_port > 65535)
            continue;
          std::string host_ip = port.value("hostIP", "");
          if (host_ip.empty() || host_ip == "0.0.0.0") host_ip = self_ip;
          add(name, "HostPort", host_ip, static_cast<uint16_t>(host_port),
              protocol_number(port.value("protocol", "TCP")),
              {{*ip, static_cast<uint16_t>(container_port), true}}, true, false, 0);
        }
      }
    }
  }
  std::string which;
  for (const auto& n : unenforced) which += (which.empty() ? "" : ", ") + n;
  note_error("loadBalancerSourceRanges",
             which.empty() ? ""
                           : "not enforced yet: the LoadBalancer IPs of " + which +
                                 " are served to the cluster's pods only, not from outside");
  if (!health.empty() && !service_health_) service_health_ = std::make_unique<ServiceHealthServer>();
  if (service_health_) {
    const std::string failed = service_health_->update(health);
    note_error("healthCheckNodePort",
               failed.empty() ? "" : "cannot listen on healthCheckNodePort " + failed);
  }

  std::lock_guard lock(mu_);
  for (const auto& [key, info] : want) {
    auto it = services_.find(key);
    if (it != services_.end() && it->second.service == info.service) continue;
    if (auto st = dp_->services().upsert(info.service); !st) {
      errors_["service " + info.name] = st.error().str();
      continue;
    }
    errors_.erase("service " + info.name);
    services_[key] = info;
  }
  for (auto it = services_.begin(); it != services_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    (void)dp_->services().erase(it->first);
    it = services_.erase(it);
  }
}

}  // namespace axon::agent
