// From validated values to what install renders (resolve_values), and
// `axon values fix` (keys in the wrong letter case renamed in place).
#include "values/schema.h"

#include "axon/base/strings.h"

namespace axon::client {

using namespace values;

InstallValues resolve_values(const Json& user) {
  auto get = [&](const std::string& path) -> Json {
    if (const Json* v = lookup(user, path)) return *v;
    const ValueSpec* spec = find_value_spec(path);
    return spec != nullptr ? spec->default_value : Json();
  };
  auto str = [&](const std::string& path) {
    Json v = get(path);
    return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
  };
  auto boolean = [&](const std::string& path) {
    Json v = get(path);
    return v.is_boolean() ? v.get<bool>() : false;
  };
  auto integer = [&](const std::string& path) -> int64_t {
    Json v = get(path);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_string()) {
      try {
        return std::stoll(v.get<std::string>());
      } catch (const std::exception&) {
        return 0;
      }
    }
    return 0;
  };
  auto list = [&](const std::string& path) {
    std::vector<std::string> out;
    for (const auto& item : get(path)) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
    return out;
  };
  InstallValues v;
  v.ipam_mode = str("ipam.mode");
  v.cluster_pool_cidrs = list("ipam.operator.clusterPoolIPv4PodCIDRList");
  v.cluster_pool_mask_size = integer("ipam.operator.clusterPoolIPv4MaskSize");
  v.kube_proxy_replacement = boolean("kubeProxyReplacement");
  v.k8s_service_host = str("k8sServiceHost");
  v.k8s_service_port = integer("k8sServicePort");
  v.cni_bin_path = str("cni.binPath");
  v.cni_conf_path = str("cni.confPath");
  v.cni_uninstall = boolean("cni.uninstall");
  v.bpf_auto_mount = boolean("bpf.autoMount.enabled");
  v.cgroup_auto_mount = boolean("cgroup.autoMount.enabled");
  v.cgroup_host_root = str("cgroup.hostRoot");
  v.privileged = boolean("securityContext.privileged");
  v.agent_capabilities = list("securityContext.capabilities.ciliumAgent");
  v.mount_cgroup_capabilities = list("securityContext.capabilities.mountCgroup");
  v.clean_state_capabilities = list("securityContext.capabilities.cleanCiliumState");
  v.gateway_api = boolean("gatewayAPI.enabled");
  v.hubble = boolean("hubble.enabled");
  v.hubble_buffer_capacity = integer("hubble.eventBufferCapacity");
  v.hubble_listen_address = str("hubble.listenAddress");
  v.hubble_metrics = list("hubble.metrics.enabled");
  v.hubble_relay = boolean("hubble.relay.enabled");
  v.hubble_relay_replicas = integer("hubble.relay.replicas");
  v.hubble_ui = boolean("hubble.ui.enabled");
  v.hubble_ui_replicas = integer("hubble.ui.replicas");
  v.l2_announcements = boolean("l2announcements.enabled");
  v.l2_lease_duration = str("l2announcements.leaseDuration");
  v.l2_lease_renew_deadline = str("l2announcements.leaseRenewDeadline");
  v.l2_lease_retry_period = str("l2announcements.leaseRetryPeriod");
  v.lb_algorithm = str("loadBalancer.algorithm");
  v.host_legacy_routing = boolean("bpf.hostLegacyRouting");
  v.maglev_table_size = integer("maglev.tableSize");
  v.maglev_hash_seed = str("maglev.hashSeed");
  v.policy_enforcement_mode = str("policyEnforcementMode");
  v.l7_proxy = boolean("l7Proxy");
  v.dns_min_ttl = integer("dnsProxy.minTtl");
  v.debug = boolean("debug.enabled");
  v.cluster_name = str("cluster.name");
  v.cluster_id = integer("cluster.id");
  v.image_repository = str("image.repository");
  v.image_tag = str("image.tag");
  v.image_pull_policy = str("image.pullPolicy");
  v.operator_image_repository = str("operator.image.repository");
  v.operator_image_tag = str("operator.image.tag");
  v.operator_replicas = integer("operator.replicas");
  v.endpoint_gc_interval = str("operator.endpointGCInterval");
  v.service_no_backend_response = str("serviceNoBackendResponse");
  v.node_port_range = str("nodePort.range");
  v.external_ips = boolean("externalIPs.enabled");
  return v;
}


Result<std::pair<int, int>> parse_node_port_range(const std::string& text) {
  const auto sep = text.find_first_of(",-");
  auto number = [](const std::string& s) -> int {
    if (s.empty() || s.size() > 5 || s.find_first_not_of("0123456789") != std::string::npos)
      return -1;
    return std::stoi(s);
  };
  if (sep == std::string::npos)
    return Error{"\"" + text + "\" is not a port range: expected first,last"};
  const int first = number(text.substr(0, sep)), last = number(text.substr(sep + 1));
  if (first < 1 || last < 1 || first > 65535 || last > 65535)
    return Error{"\"" + text + "\" is not a port range: ports are numbers from 1 to 65535"};
  if (first > last)
    return Error{"\"" + text + "\": the first port " + std::to_string(first) +
                 " comes after the last " + std::to_string(last)};
  return std::pair{first, last};
}

Result<ValuesFix> fix_values_text(std::string_view text, const std::string& name) {
  ValuesBuilder b;
  if (auto st = b.add_yaml(text, name); !st) return st.error();
  // Find keys that differ from a chart key only in letter case.
  struct Rename {
    int line;
    std::string from, to;
  };
  std::vector<Rename> renames;
  std::function<void(const Json&, const std::string&, const SchemaNode&)> walk =
      [&](const Json& node, const std::string& path, const SchemaNode& schema) {
        for (const auto& [key, value] : node.items()) {
          const std::string p = child_path(path, key);
          auto it = schema.children.find(key);
          if (it != schema.children.end()) {
            if (value.is_object() && it->second.spec == nullptr) walk(value, p, it->second);
            continue;
          }
          for (const auto& [k, child] : schema.children) {
            if (to_lower(k) == to_lower(key)) {
              renames.push_back({b.where(p).line, key, k});
              if (value.is_object() && child.spec == nullptr)
                walk(value, p, child);  // p: as written
            }
          }
        }
      };
  walk(b.values(), "", schema_tree());

  std::vector<std::string> lines;
  {
    std::string cur;
    for (char c : text) {
      if (c == '\n') {
        lines.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) lines.push_back(cur);
  }
  ValuesFix fix;
  for (const auto& r : renames) {
    if (r.line <= 0 || static_cast<size_t>(r.line) > lines.size()) continue;
    std::string& line = lines[static_cast<size_t>(r.line) - 1];
    // The key sits at the start of the line's content: "  gatewayApi:" or "- gatewayApi:".
    auto pos = line.find(r.from);
    if (pos == std::string::npos) continue;
    line.replace(pos, r.from.size(), r.to);
    fix.changes.push_back("line " + std::to_string(r.line) + ": " + r.from + " -> " + r.to);
  }
  for (const auto& l : lines) fix.text += l + "\n";
  if (!text.empty() && text.back() != '\n' && !fix.text.empty()) fix.text.pop_back();
  return fix;
}

}  // namespace axon::client
