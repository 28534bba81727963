#include "axon/client/manifests.h"

#include <algorithm>

#include "axon/base/strings.h"
#include "axon/gateway/model.h"

namespace axon::client {
namespace {

constexpr const char* kAgentName = "axon-agent";
constexpr const char* kOperatorName = "axon-operator";
constexpr const char* kRelayName = "hubble-relay";
constexpr const char* kUiName = "hubble-ui";
constexpr const char* kConfigName = "axon-config";
constexpr int kRelayPort = 4245;
constexpr int kUiPort = 8081;
constexpr int kAgentHealthPort = 9879;

std::string b(bool v) {
  return v ? "true" : "false";
}

Json labels(const std::string& name, const std::string& component) {
  return {{"app.kubernetes.io/name", name},
          {"app.kubernetes.io/component", component},
          {kPartOfLabel, kPartOfValue}};
}

Json metadata(const std::string& name, const std::string& ns, const Json& labels) {
  Json m = {{"name", name}};
  if (!ns.empty()) m["namespace"] = ns;
  m["labels"] = labels;
  return m;
}

Json service_account(const std::string& name, const std::string& ns, const std::string& component) {
  return {{"apiVersion", "v1"},
          {"kind", "ServiceAccount"},
          {"metadata", metadata(name, ns, labels(name, component))}};
}

Json rule(std::vector<std::string> groups, std::vector<std::string> resources,
          std::vector<std::string> verbs) {
  return {{"apiGroups", groups}, {"resources", resources}, {"verbs", verbs}};
}


Json cluster_role(const std::string& name, const std::string& component, std::vector<Json> rules) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "ClusterRole"},
          {"metadata", metadata(name, "", labels(name, component))},
          {"rules", rules}};
}

Json cluster_role_binding(const std::string& name, const std::string& ns,
                          const std::string& component) {
  return {
      {"apiVersion", "rbac.authorization.k8s.io/v1"},
      {"kind", "ClusterRoleBinding"},
      {"metadata", metadata(name, "", labels(name, component))},
      {"roleRef",
       {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "ClusterRole"}, {"name", name}}},
      {"subjects", Json::array({{{"kind", "ServiceAccount"}, {"name", name}, {"namespace", ns}}})}};
}

Json role(const std::string& name, const std::string& ns, const std::string& component,
          std::vector<Json> rules) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "Role"},
          {"metadata", metadata(name, ns, labels(name, component))},
          {"rules", rules}};
}

Json role_binding(const std::string& name, const std::string& ns, const std::string& component) {
  return {{"apiVersion", "rbac.authorization.k8s.io/v1"},
          {"kind", "RoleBinding"},
          {"metadata", metadata(name, ns, labels(name, component))},
          {"roleRef", {{"apiGroup", "rbac.authorization.k8s.io"}, {"kind", "Role"}, {"name", name}}},
          {"subjects",
           Json::array({{{"kind", "ServiceAccount"}, {"name", name}, {"namespace", ns}}})}};
}

// KUBERNETES_SERVICE_HOST/PORT when k8sServiceHost/Port are set: with
// kube-proxy gone, the in-cluster default (the kubernetes Service) is unreachable.
Json api_server_env(const InstallValues& v) {
  Json env = Json::array();
  if (!v.k8s_service_host.empty()) {
    env.push_back({{"name", "KUBERNETES_SERVICE_HOST"}, {"value", v.k8s_service_host}});
  }
  if (v.k8s_service_port != 0) {
    env.push_back(
        {{"name", "KUBERNETES_SERVICE_PORT"}, {"value", std::to_string(v.k8s_service_port)}});
  }
  return env;
}

Json capabilities(const std::vector<std::string>& add) {
  return {{"capabilities", {{"add", add}, {"drop", Json::array({"ALL"})}}}};
}

Json host_path(const std::string& name, const std::string& path, const std::string& type) {
  return {{"name", name}, {"hostPath", {{"path", path}, {"type", type}}}};
}

Json mount(const std::string& name, const std::string& path, bool read_only = false) {
  Json m = {{"name", name}, {"mountPath", path}};
  if (read_only) m["readOnly"] = true;
  return m;
}

std::string image(const std::string& repo, const std::string& tag) {
  return repo + ":" + tag;
}

Json config_volume() {
  return {{"name", "axon-config"}, {"configMap", {{"name", kConfigName}}}};
}

Json agent_daemonset(const InstallValues& v, const std::string& ns) {
  const Json sel = {{"app.kubernetes.io/name", kAgentName}};
  const std::string img = image(v.image_repository, v.image_tag);
  const std::string cgroup_mount = "/run/axon/cgroupv2";
  Json env = Json::array(
      {{{"name", "NODE_NAME"}, {"valueFrom", {{"fieldRef", {{"fieldPath", "spec.nodeName"}}}}}},
       {{"name", "AXON_K8S_NAMESPACE"},
        {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}}});
  for (const auto& e : api_server_env(v)) env.push_back(e);

  Json init = Json::array();
  if (v.bpf_auto_mount) {
    // As Cilium's chart: only this privileged init container mounts with
    // Bidirectional propagation (the API server allows it to privileged
    // containers only), so the bpffs it mounts shows on the host; the agent
    // sees it through HostToContainer.
    Json bpf = mount("bpf-maps", "/sys/fs/bpf");
    bpf["mountPropagation"] = "Bidirectional";
    init.push_back({{"name", "mount-bpf-fs"},
                    {"image", img},
                    {"imagePullPolicy", v.image_pull_policy},
                    {"command", Json::array({"axon", "agent", "mount-bpf-fs"})},
                    {"securityContext", {{"privileged", true}}},
                    {"volumeMounts", Json::array({bpf})}});
  }
  if (v.cgroup_auto_mount) {
    init.push_back({{"name", "mount-cgroup"},
                    {"image", img},
                    {"imagePullPolicy", v.image_pull_policy},
                    {"command", Json::array({"axon", "agent", "mount-cgroup", "--host-root",
                                             v.cgroup_host_root})},
                    {"securityContext", capabilities(v.mount_cgroup_capabilities)},
                    {"volumeMounts", Json::array({mount("cgroup", cgroup_mount)})}});
  }
  Json clean_env = Json::array(
      {{{"name", "CLEAN_AXON_STATE"},
        {"valueFrom",
         {{"configMapKeyRef",
           {{"name", kConfigName}, {"key", "clean-axon-state"}, {"optional", true}}}}}}});
  for (const auto& e : api_server_env(v)) clean_env.push_back(e);
  init.push_back({{"name", "clean-axon-state"},
                  {"image", img},
                  {"imagePullPolicy", v.image_pull_policy},
                  {"command", Json::array({"axon", "agent", "clean-state"})},
                  {"env", clean_env},
                  {"securityContext", capabilities(v.clean_state_capabilities)},
                  {"volumeMounts",
                   Json::array({mount("bpf-maps", "/sys/fs/bpf"), mount("axon-run", "/run/axon"),
                                mount("cgroup", cgroup_mount)})}});

  Json agent_security =
      v.privileged ? Json{{"privileged", true}} : capabilities(v.agent_capabilities);
  Json ports = Json::array({{{"name", "health"},
                             {"containerPort", kAgentHealthPort},
                             {"hostPort", kAgentHealthPort},
                             {"protocol", "TCP"}}});
  if (v.hubble) {
    ports.push_back(
        {{"name", "hubble"}, {"containerPort", 4244}, {"hostPort", 4244}, {"protocol", "TCP"}});
  }
  Json agent = {
      {"name", "axon-agent"},
      {"image", img},
      {"imagePullPolicy", v.image_pull_policy},
      {"command", Json::array({"axon", "agent"})},
      {"args", Json::array({"--config-dir", "/etc/axon/config"})},
      {"env", env},
      {"ports", ports},
      {"readinessProbe",
       {{"httpGet", {{"host", "127.0.0.1"}, {"path", "/healthz"}, {"port", kAgentHealthPort}}},
        {"periodSeconds", 5},
        {"failureThreshold", 3}}},
      {"securityContext", agent_security},
      {"volumeMounts",
       Json::array({mount("bpf-maps", "/sys/fs/bpf"), mount("axon-run", "/run/axon"),
                    mount("cgroup", cgroup_mount), mount("cni-path", "/host/opt/cni/bin"),
                    mount("etc-cni-netd", "/host/etc/cni/net.d"),
                    mount("axon-config", "/etc/axon/config", true)})},
  };
  agent["volumeMounts"][0]["mountPropagation"] = "HostToContainer";
  Json volumes = Json::array({host_path("bpf-maps", "/sys/fs/bpf", "DirectoryOrCreate"),
                              host_path("axon-run", "/run/axon", "DirectoryOrCreate"),
                              host_path("cgroup", v.cgroup_host_root,
                                        v.cgroup_auto_mount ? "DirectoryOrCreate" : "Directory"),
                              host_path("cni-path", v.cni_bin_path, "DirectoryOrCreate"),
                              host_path("etc-cni-netd", v.cni_conf_path, "DirectoryOrCreate"),
                              config_volume()});
  Json lbl = labels(kAgentName, "agent");
  return {
      {"apiVersion", "apps/v1"},
      {"kind", "DaemonSet"},
      {"metadata", metadata(kAgentName, ns, lbl)},
      {"spec",
       {{"selector", {{"matchLabels", sel}}},
        {"updateStrategy", {{"type", "RollingUpdate"}, {"rollingUpdate", {{"maxUnavailable", 2}}}}},
        {"template",
         {{"metadata", {{"labels", lbl}}},
          {"spec",
           {{"serviceAccountName", kAgentName},
            {"hostNetwork", true},
            {"priorityClassName", "system-node-critical"},
            {"tolerations", Json::array({{{"operator", "Exists"}}})},
            {"initContainers", init},
            {"containers", Json::array({agent})},
            {"volumes", volumes}}}}}}},
  };
}

Json deployment(const std::string& name, const std::string& ns, const std::string& component,
                int64_t replicas, const std::string& img, const std::string& pull, Json command,
                Json args, Json env, Json ports, bool host_network, Json volumes, Json mounts) {
  Json lbl = labels(name, component);
  Json container = {{"name", name},
                    {"image", img},
                    {"imagePullPolicy", pull},
                    {"command", command},
                    {"args", args}};
  if (!env.empty()) container["env"] = env;
  if (!ports.empty()) container["ports"] = ports;
  if (!mounts.empty()) container["volumeMounts"] = mounts;
  Json pod = {{"serviceAccountName", name}};
  if (host_network) pod["hostNetwork"] = true;
  pod["containers"] = Json::array({container});
  if (!volumes.empty()) pod["volumes"] = volumes;
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", metadata(name, ns, lbl)},
          {"spec",
           {{"replicas", replicas},
            {"selector", {{"matchLabels", {{"app.kubernetes.io/name", name}}}}},
            {"template", {{"metadata", {{"labels", lbl}}}, {"spec", pod}}}}}};
}

Json service(const std::string& name, const std::string& ns, const std::string& component, int port,
             int target) {
  return {
      {"apiVersion", "v1"},
      {"kind", "Service"},
      {"metadata", metadata(name, ns, labels(name, component))},
      {"spec",
       {{"type", "ClusterIP"},
        {"selector", {{"app.kubernetes.io/name", name}}},
        {"ports",
         Json::array(
             {{{"name", "http"}, {"port", port}, {"targetPort", target}, {"protocol", "TCP"}}})}}}};
}

}  // namespace

Json agent_config(const InstallValues& v) {
  Json c = Json::object();
  c["cluster-name"] = v.cluster_name;
  c["cluster-id"] = std::to_string(v.cluster_id);
  c["ipam"] = v.ipam_mode;
  if (v.ipam_mode == "cluster-pool") {
    c["cluster-pool-ipv4-cidr"] = join(v.cluster_pool_cidrs, " ");
    c["cluster-pool-ipv4-mask-size"] = std::to_string(v.cluster_pool_mask_size);
  }
  c["kube-proxy-replacement"] = b(v.kube_proxy_replacement);
  c["enable-policy"] = v.policy_enforcement_mode;
  c["enable-l7-proxy"] = b(v.l7_proxy);
  c["tofqdns-min-ttl"] = std::to_string(v.dns_min_ttl);
  c["enable-lb-ipam"] = "true";
  c["cilium-endpoint-gc-interval"] = v.endpoint_gc_interval;
  c["service-no-backend-response"] = v.service_no_backend_response;
  c["node-port-range"] = v.node_port_range;
  c["enable-external-ips"] = b(v.external_ips);
  c["bpf-lb-algorithm"] = v.lb_algorithm;
  c["bpf-lb-maglev-table-size"] = std::to_string(v.maglev_table_size);
  c["enable-host-legacy-routing"] = b(v.host_legacy_routing);
  if (!v.maglev_hash_seed.empty()) c["bpf-lb-maglev-hash-seed"] = v.maglev_hash_seed;
  c["cgroup-root"] = v.cgroup_host_root;
  c["cni-uninstall"] = b(v.cni_uninstall);
  c["enable-hubble"] = b(v.hubble);
  if (v.hubble) {
    c["hubble-listen-address"] = v.hubble_listen_address;
    c["hubble-socket-path"] = "/run/axon/hubble.sock";
    c["hubble-event-buffer-capacity"] = std::to_string(v.hubble_buffer_capacity);
    if (!v.hubble_metrics.empty()) c["hubble-metrics"] = join(v.hubble_metrics, " ");
  }
  c["enable-l2-announcements"] = b(v.l2_announcements);
  if (v.l2_announcements) {
    c["l2-announcements-lease-duration"] = v.l2_lease_duration;
    c["l2-announcements-renew-deadline"] = v.l2_lease_renew_deadline;
    c["l2-announcements-retry-period"] = v.l2_lease_retry_period;
  }
  c["enable-gateway-api"] = b(v.gateway_api);
  c["debug"] = b(v.debug);
  return c;
}

std::vector<Json> render_manifests(const InstallValues& v, const RenderOptions& options) {
  const std::string& ns = options.namespace_;
  std::vector<Json> out;

  // ServiceAccounts
  out.push_back(service_account(kAgentName, ns, "agent"));
  out.push_back(service_account(kOperatorName, ns, "operator"));
  if (v.hubble_relay) out.push_back(service_account(kRelayName, ns, "relay"));
  if (v.hubble_ui) out.push_back(service_account(kUiName, ns, "ui"));

  // RBAC, least privilege: each rule is a request the daemon makes, and no
  // more (tests/cli/agent_kube_test.sh and daemons_kube_test.sh run them
  // with bound tokens of these accounts and fail on any 403).
  const std::vector<std::string> kWatch = {"list", "watch"};  // an informer
  std::vector<Json> agent_rules = {
      // Informers, plus a GET of the node (its pod CIDR) and of a pod and its
      // namespace when its endpoint is created.
      rule({""}, {"pods", "namespaces", "nodes"}, {"get", "list", "watch"}),
      rule({""}, {"services"}, kWatch),
      rule({"discovery.k8s.io"}, {"endpointslices"}, kWatch),
      rule({"networking.k8s.io"}, {"networkpolicies"}, kWatch),
      rule({"cilium.io"}, {"ciliumnetworkpolicies", "ciliumclusterwidenetworkpolicies"}, kWatch),
      // Identities: watched, created for new label sets, listed by label.
      rule({"cilium.io"}, {"ciliumidentities"}, {"list", "watch", "create"}),
      // The node's endpoints: server-side apply (GET, then PATCH, which
      // needs create too when it creates), deleted with the pod's network.
      rule({"cilium.io"}, {"ciliumendpoints"}, {"get", "create", "patch", "delete"}),
      // cluster-pool IPAM: its CiliumNode, created when missing, read for its
      // pod CIDR; all of them watched for the routes to the other nodes' pods.
      rule({"cilium.io"}, {"ciliumnodes"}, {"get", "list", "watch", "create"}),
  };
  if (v.l2_announcements) {
    // L2 announcements: the policies, and the Leases (watched across
    // namespaces: an informer lists a kind cluster-wide; written only in the
    // agents' namespace, by the Role below).
    agent_rules.push_back(rule({"cilium.io"}, {"ciliuml2announcementpolicies"}, kWatch));
    agent_rules.push_back(rule({"coordination.k8s.io"}, {"leases"}, kWatch));
  }
  if (v.gateway_api) {
    // Gateway API: the node proxy serves the Gateways' listeners from the
    // same objects the operator reads, and terminates HTTPS with the
    // certificates in their Secrets.
    agent_rules.push_back(rule({"gateway.networking.k8s.io"},
                               {"gatewayclasses", "gateways", "httproutes", "tcproutes", "tlsroutes",
                                "referencegrants"},
                               kWatch));
    agent_rules.push_back(rule({""}, {"secrets"}, kWatch));
  }
  std::vector<Json> operator_rules = {
      rule({""}, {"pods", "namespaces", "nodes", "services"}, kWatch),
      rule({"discovery.k8s.io"}, {"endpointslices"}, kWatch),
      // LB IPAM: pools watched, addresses and conditions written to the
      // Services' and the pools' status.
      rule({""}, {"services/status"}, {"update"}),
      rule({"cilium.io"}, {"ciliumloadbalancerippools"}, kWatch),
      rule({"cilium.io"}, {"ciliumloadbalancerippools/status"}, {"update"}),
      // L2 announcement policies: bad selectors and regexes in their status.
      rule({"cilium.io"}, {"ciliuml2announcementpolicies"}, kWatch),
      rule({"cilium.io"}, {"ciliuml2announcementpolicies/status"}, {"update"}),
      // Garbage collection of identities no pod has.
      rule({"cilium.io"}, {"ciliumidentities"}, {"list", "watch", "delete"}),
      // Garbage collection of endpoints whose pod is gone.
      rule({"cilium.io"}, {"ciliumendpoints"}, {"list", "watch", "delete"}),
      // cluster-pool IPAM: each node's CiliumNode with its pod CIDR (server-side apply).
      rule({"cilium.io"}, {"ciliumnodes"}, {"get", "list", "watch", "create", "patch"}),
  };
  if (v.gateway_api) {
    // Gateway API: the kinds watched, their statuses written, and each
    // Gateway's LoadBalancer Service made, kept and removed; Secrets read
    // for listeners' certificates.
    operator_rules.push_back(rule({"gateway.networking.k8s.io"},
                                  {"gatewayclasses", "gateways", "httproutes", "grpcroutes",
                                   "tcproutes", "tlsroutes", "referencegrants"},
                                  kWatch));
    operator_rules.push_back(rule({"gateway.networking.k8s.io"},
                                  {"gatewayclasses/status", "gateways/status", "httproutes/status",
                                   "grpcroutes/status", "tcproutes/status", "tlsroutes/status"},
                                  {"update"}));
    operator_rules.push_back(rule({""}, {"services"}, {"create", "update", "delete"}));
    operator_rules.push_back(rule({""}, {"secrets"}, kWatch));
  }
  out.push_back(cluster_role(kAgentName, "agent", agent_rules));
  out.push_back(cluster_role(kOperatorName, "operator", operator_rules));
  // The relay finds each node's Hubble server through the Node objects.
  if (v.hubble_relay) out.push_back(cluster_role(kRelayName, "relay", {rule({""}, {"nodes"}, kWatch)}));
  if (v.hubble_ui) out.push_back(cluster_role(kUiName, "ui", {rule({""}, {"namespaces"}, kWatch)}));
  out.push_back(cluster_role_binding(kAgentName, ns, "agent"));
  out.push_back(cluster_role_binding(kOperatorName, ns, "operator"));
  if (v.hubble_relay) out.push_back(cluster_role_binding(kRelayName, ns, "relay"));
  if (v.hubble_ui) out.push_back(cluster_role_binding(kUiName, ns, "ui"));
  // The operator's leader election: its Lease, in its own namespace only.
  out.push_back(role(kOperatorName, ns, "operator",
                     {rule({"coordination.k8s.io"}, {"leases"}, {"get", "create", "update"})}));
  out.push_back(role_binding(kOperatorName, ns, "operator"));
  if (v.l2_announcements) {
    // The agents' L2 Leases: each node's own, and one per announced Service.
    out.push_back(role(kAgentName, ns, "agent",
                       {rule({"coordination.k8s.io"}, {"leases"}, {"get", "create", "update", "delete"})}));
    out.push_back(role_binding(kAgentName, ns, "agent"));
  }

  // Configuration
  out.push_back({{"apiVersion", "v1"},
                 {"kind", "ConfigMap"},
                 {"metadata", metadata(kConfigName, ns, labels(kConfigName, "config"))},
                 {"data", agent_config(v)}});

  out.push_back(agent_daemonset(v, ns));

  Json operator_env =
      Json::array({{{"name", "AXON_K8S_NAMESPACE"},
                    {"valueFrom", {{"fieldRef", {{"fieldPath", "metadata.namespace"}}}}}}});
  for (const auto& e : api_server_env(v)) operator_env.push_back(e);
  out.push_back(deployment(kOperatorName, ns, "operator", v.operator_replicas,
                           image(v.operator_image_repository, v.operator_image_tag),
                           v.image_pull_policy, Json::array({"axon", "operator"}),
                           Json::array({"--config-dir", "/etc/axon/config"}), operator_env,
                           Json::array(), true, Json::array({config_volume()}),
                           Json::array({mount("axon-config", "/etc/axon/config", true)})));

  if (v.hubble_relay) {
    out.push_back(deployment(
        kRelayName, ns, "relay", v.hubble_relay_replicas, image(v.image_repository, v.image_tag),
        v.image_pull_policy, Json::array({"axon", "relay"}),
        Json::array({"--listen-address", ":" + std::to_string(kRelayPort)}), Json::array(),
        Json::array({{{"name", "grpc"}, {"containerPort", kRelayPort}, {"protocol", "TCP"}}}),
        false, Json::array(), Json::array()));
    out.push_back(service(kRelayName, ns, "relay", 80, kRelayPort));
  }
  if (v.hubble_ui) {
    out.push_back(deployment(
        kUiName, ns, "ui", v.hubble_ui_replicas, image(v.image_repository, v.image_tag),
        v.image_pull_policy, Json::array({"axon", "ui"}),
        Json::array({"--listen-address", ":" + std::to_string(kUiPort), "--relay",
                     std::string(kRelayName) + "." + ns + ".svc:80"}),
        Json::array(),
        Json::array({{{"name", "http"}, {"containerPort", kUiPort}, {"protocol", "TCP"}}}), false,
        Json::array(), Json::array()));
    out.push_back(service(kUiName, ns, "ui", 80, kUiPort));
  }

  if (v.gateway_api) {
    // Named cilium, with Cilium's controller name, so Gateways written for
    // Cilium (the seed's among them) work as pasted.
    out.push_back({{"apiVersion", "gateway.networking.k8s.io/v1"},
                   {"kind", "GatewayClass"},
                   {"metadata", metadata("cilium", "", labels("cilium", "gateway"))},
                   {"spec",
                    {{"controllerName", gateway::kControllerName},
                     {"description", "Gateway API served by axon"}}}});
  }

  for (auto& crd : custom_resource_definitions(v.gateway_api)) out.push_back(std::move(crd));
  return out;
}

std::vector<Json> apply_order(std::vector<Json> objects) {
  std::stable_partition(objects.begin(), objects.end(), [](const Json& o) {
    return o.value("kind", "") == "CustomResourceDefinition";
  });
  return objects;
}

std::string talos_patch() {
  return "# Talos machine-config patch for axon: no bundled CNI (Flannel) and no kube-proxy,\n"
         "# so axon's agents provide pod networking and serve Services in eBPF.\n"
         "# Apply to every node:\n"
         "#   talosctl patch machineconfig --nodes <node-ips> --patch @axon-talos-patch.yaml\n"
         "# and install with kubeProxyReplacement: true, k8sServiceHost: localhost,\n"
         "# k8sServicePort: 7445 (KubePrism).\n"
         "cluster:\n"
         "  network:\n"
         "    cni:\n"
         "      name: none\n"
         "  proxy:\n"
         "    disabled: true\n";
}

}  // namespace axon::client
