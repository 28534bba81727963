// The node's endpoints as CiliumEndpoint objects (`axon get cep`, as
// `kubectl get cep` shows Cilium's): one per local pod, named as the pod, in
// its namespace, owned by it (Kubernetes' garbage collector removes it with
// the pod), with the endpoint id, identity, address and node in status.
// Written from the sync loop, never under the CNI call: a pod's network
// does not wait for the store.
#include "axon/agent/agent.h"
#include "axon/base/log.h"

namespace axon::agent {

using client::member;
using client::ObjectRef;

namespace {

std::string internal_ip(const Json& node) {
  for (const auto& a : member(member(node, "status"), "addresses")) {
    if (a.value("type", "") == "InternalIP") return a.value("address", "");
  }
  return "";
}

}  // namespace

Json Agent::cilium_endpoint(const EndpointInfo& ep, const Json* pod, const std::string& node_ip) {
  Json labels = Json::array();
  for (const auto& [k, v] : ep.labels) labels.push_back(k + "=" + v);
  Json meta = {{"name", ep.pod_name},
               {"namespace", ep.pod_ns},
               {"labels", {{"app.kubernetes.io/managed-by", "axon"}}}};
  if (pod != nullptr) {
    const std::string uid = member(*pod, "metadata").value("uid", "");
    if (!uid.empty()) {
      meta["ownerReferences"] = Json::array({{{"apiVersion", "v1"},
                                              {"kind", "Pod"},
                                              {"name", ep.pod_name},
                                              {"uid", uid},
                                              {"blockOwnerDeletion", true}}});
    }
  }
  Json networking = {{"addressing", Json::array({{{"ipv4", ep.ip}}})}};
  if (!node_ip.empty()) networking["node"] = node_ip;
  return {{"apiVersion", "cilium.io/v2"},
          {"kind", "CiliumEndpoint"},
          {"metadata", meta},
          {"status",
           {{"id", ep.id},
            {"identity", {{"id", ep.identity}, {"labels", labels}}},
            {"networking", networking},
            {"state", "ready"},
            {"external-identifiers",
             {{"container-id", ep.container_id},
              {"k8s-namespace", ep.pod_ns},
              {"k8s-pod-name", ep.pod_name},
              {"pod-name", ep.pod_ns + "/" + ep.pod_name}}}}}};
}

void Agent::sync_cilium_endpoints(const std::vector<Json>& pods, const std::vector<Json>& nodes) {
  std::string node_ip;
  for (const auto& n : nodes) {
    if (member(n, "metadata").value("name", "") == c_.node) node_ip = internal_ip(n);
  }
  std::map<std::string, const Json*> pod_of;
  for (const auto& p : pods) {
    const Json& m = member(p, "metadata");
    pod_of[m.value("namespace", "") + "/" + m.value("name", "")] = &p;
  }
  std::map<std::string, Json> want;
  for (const auto& ep : endpoints()) {
    const std::string key = ep.pod_ns + "/" + ep.pod_name;
    auto it = pod_of.find(key);
    want[key] = cilium_endpoint(ep, it == pod_of.end() ? nullptr : it->second, node_ip);
  }
  std::string failed;
  for (const auto& [key, cep] : want) {
    auto w = ceps_.find(key);
    if (w != ceps_.end() && w->second == cep) continue;
    if (auto r = store_->apply(cep); !r) {
      failed = key + ": " + r.error().str();
      continue;
    }
    ceps_[key] = cep;
  }
  for (auto it = ceps_.begin(); it != ceps_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    if (auto r = store_->remove(ObjectRef::of(it->second)); !r) {
      failed = it->first + ": " + r.error().str();
      ++it;
      continue;
    }
    it = ceps_.erase(it);
  }
  note_error("ciliumendpoints", failed.empty() ? "" : "writing CiliumEndpoint " + failed);
}

}  // namespace axon::agent
