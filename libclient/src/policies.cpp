#include "axon/client/policies.h"

#include "axon/policy/decode.h"
#include "axon/policy/identity.h"

namespace axon::client {

Result<std::vector<StoredPolicy>> store_policies(ClusterStore& store,
                                                 const std::string& ns) {
  std::vector<StoredPolicy> out;
  for (auto kind : {policy::PolicyKind::cilium_network_policy,
                    policy::PolicyKind::cilium_clusterwide_network_policy,
                    policy::PolicyKind::network_policy}) {
    bool namespaced = kind != policy::PolicyKind::cilium_clusterwide_network_policy;
    auto objects = store.list(std::string(policy::api_version(kind)),
                              std::string(policy::kind_name(kind)), namespaced ? ns : "", "");
    if (!objects) return objects.error();
    for (const auto& o : *objects) {
      StoredPolicy sp;
      sp.kind = kind;
      if (o.contains("metadata") && o["metadata"].is_object()) {
        sp.ns = o["metadata"].value("namespace", "");
        sp.name = o["metadata"].value("name", "");
      }
      // Objects of the store are named by kind and name, not by file.
      auto doc = policy::document_from_json(o, "", 0);
      if (!doc) return doc.error();
      auto d = policy::decode_policy(*doc);
      sp.problems = std::move(d.problems);
      sp.policy = std::move(d.policy);
      out.push_back(std::move(sp));
    }
  }
  return out;
}

std::optional<std::pair<std::string, std::string>> split_namespaced(const std::string& ns_name) {
  auto slash = ns_name.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == ns_name.size()) return std::nullopt;
  return std::make_pair(ns_name.substr(0, slash), ns_name.substr(slash + 1));
}

Result<StoredPod> store_pod(ClusterStore& store, const std::string& ns, const std::string& name) {
  auto pod = store.get(ObjectRef{"v1", "Pod", ns, name});
  if (!pod) return pod.error();
  if (!*pod) return Error{"no pod " + ns + "/" + name + " in " + store.describe()};
  auto nso = store.get(ObjectRef{"v1", "Namespace", "", ns});
  if (!nso) return nso.error();
  auto strings = [](const Json& j) {
    std::map<std::string, std::string> m;
    if (!j.is_object()) return m;
    for (const auto& [k, v] : j.items()) {
      if (v.is_string()) m[k] = v.get<std::string>();
    }
    return m;
  };
  policy::PodLabels pl;
  pl.ns = ns;
  const Json& meta = (**pod)["metadata"];
  if (meta.contains("labels")) pl.labels = strings(meta["labels"]);
  if (*nso && (**nso)["metadata"].contains("labels")) {
    pl.namespace_labels = strings((**nso)["metadata"]["labels"]);
  }
  StoredPod out;
  const Json spec = (**pod).value("spec", Json::object());
  pl.service_account = spec.value("serviceAccountName", "default");
  out.labels = policy::identity_labels(pl);
  for (const auto& c : spec.value("containers", Json::array())) {
    for (const auto& port : c.value("ports", Json::array())) {
      std::string pname = port.value("name", "");
      if (pname.empty() || !port.contains("containerPort") || !port["containerPort"].is_number()) {
        continue;
      }
      auto proto = policy::parse_protocol(port.value("protocol", "TCP"));
      out.named_ports[pname] = policy::NamedPort{proto.value_or(policy::Protocol::tcp),
                                                 port["containerPort"].get<uint16_t>()};
    }
  }
  return out;
}

}  // namespace axon::client
