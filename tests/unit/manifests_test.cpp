// What `axon install --dry-run` renders: a golden file for the seed's values
// (regenerate with UPDATE_GOLDEN=1), and the invariants asserted directly.
#include "axon/client/manifests.h"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "axon/client/values.h"

using namespace axon;
using namespace axon::client;

namespace {

const std::string kSeedValues = std::string(AXON_SEED_DIR) + "/manifests/cilium-values.yaml";

// The seed's values with its one mistake fixed, plus extra --set flags.
InstallValues seed_values(const std::vector<std::string>& sets = {}) {
  ValuesBuilder b;
  REQUIRE(b.add_file(kSeedValues).ok());
  REQUIRE(b.set("gatewayApi=null,gatewayAPI.enabled=true").ok());
  for (const auto& s : sets) REQUIRE(b.set(s).ok());
  auto ds = validate_values(b, ValuesCheck{});
  for (const auto& d : ds) CHECK_MESSAGE(d.severity != Severity::error, d.headline());
  return resolve_values(b.values());
}

std::vector<Json> render(const InstallValues& v) {
  return render_manifests(v, RenderOptions{});
}

const Json* find(const std::vector<Json>& objs, const std::string& kind, const std::string& name) {
  for (const auto& o : objs) {
    if (o["kind"] == kind && o["metadata"]["name"] == name) return &o;
  }
  return nullptr;
}

const Json* container(const Json& pod_spec, const char* list, const std::string& name) {
  if (!pod_spec.contains(list)) return nullptr;
  for (const auto& c : pod_spec[list]) {
    if (c["name"] == name) return &c;
  }
  return nullptr;
}

std::string env(const Json& c, const std::string& name) {
  if (!c.contains("env")) return "";
  for (const auto& e : c["env"]) {
    if (e["name"] == name && e.contains("value")) return e["value"];
  }
  return "";
}

// Kubernetes' structural-schema rule: every node typed, except int-or-string
// and preserve-unknown-fields nodes; junctors (allOf...) not used here.
void check_structural(const Json& s, const std::string& path) {
  CAPTURE(path);
  if (s.value("x-kubernetes-int-or-string", false)) return;
  REQUIRE(s.contains("type"));
  CHECK_FALSE(s.contains("allOf"));
  CHECK_FALSE(s.contains("anyOf"));
  CHECK_FALSE(s.contains("oneOf"));
  if (s.contains("properties")) {
    for (const auto& [k, v] : s["properties"].items()) check_structural(v, path + "." + k);
  }
  if (s.contains("additionalProperties")) check_structural(s["additionalProperties"], path + ".*");
  if (s.contains("items")) check_structural(s["items"], path + "[]");
  if (s["type"] == "array") CHECK(s.contains("items"));
}

}  // namespace

TEST_CASE("the seed's values render to the committed golden manifests") {
  const std::string golden_path = std::string(AXON_GOLDEN_DIR) + "/install/seed-values.yaml";
  const std::string rendered = to_yaml_stream(render(seed_values()));
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::ofstream(golden_path, std::ios::binary) << rendered;
  }
  std::ifstream in(golden_path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing " << golden_path << " (UPDATE_GOLDEN=1 creates it)");
  std::stringstream golden;
  golden << in.rdbuf();
  CHECK_MESSAGE(golden.str() == rendered, "rendered manifests differ from "
                                              << golden_path << "; review, then UPDATE_GOLDEN=1");
}

TEST_CASE(
    "stable order: ServiceAccounts, RBAC, ConfigMap, DaemonSet, Deployments, Services, "
    "GatewayClass, CRDs") {
  auto objs = render(seed_values());
  std::vector<std::string> kinds;
  for (const auto& o : objs) {
    std::string k = o["kind"];
    if (kinds.empty() || kinds.back() != k) kinds.push_back(k);
  }
  CHECK(kinds == std::vector<std::string>{"ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                          "Role", "RoleBinding", "ConfigMap", "DaemonSet", "Deployment", "Service",
                                          "Deployment", "Service", "GatewayClass",
                                          "CustomResourceDefinition"});
  CHECK(to_yaml_stream(objs) == to_yaml_stream(render(seed_values())));  // deterministic
  auto applied = apply_order(objs);
  CHECK(applied.front()["kind"] == "CustomResourceDefinition");
  CHECK(applied.size() == objs.size());
}

TEST_CASE("every object is labelled part-of=axon and round-trips through YAML") {
  auto objs = render(seed_values());
  for (const auto& o : objs) {
    CAPTURE(o["kind"].get<std::string>() + " " + o["metadata"]["name"].get<std::string>());
    CHECK(o["metadata"]["labels"][kPartOfLabel] == kPartOfValue);
  }
  auto parsed = parse_yaml_stream(to_yaml_stream(objs), "rendered");
  REQUIRE(parsed.ok());
  REQUIRE(parsed->size() == objs.size());
  for (size_t i = 0; i < objs.size(); ++i) CHECK((*parsed)[i].value == objs[i]);
}

TEST_CASE("the ConfigMap carries cilium-config's keys, all strings") {
  auto objs = render(seed_values());
  const Json* cm = find(objs, "ConfigMap", "axon-config");
  REQUIRE(cm != nullptr);
  const Json& d = (*cm)["data"];
  CHECK(d["kube-proxy-replacement"] == "true");
  CHECK(d["ipam"] == "kubernetes");
  CHECK(d["enable-hubble"] == "true");
  CHECK(d["hubble-listen-address"] == ":4244");
  CHECK(d["enable-l2-announcements"] == "false");
  CHECK(d["enable-gateway-api"] == "true");
  CHECK(d["cgroup-root"] == "/sys/fs/cgroup");
  for (const auto& [k, v] : d.items()) CHECK_MESSAGE(v.is_string(), k);
  // k8sServiceHost/Port are environment, not configuration (as in Cilium).
  CHECK_FALSE(d.contains("k8s-service-host"));
  auto l2 = render(seed_values({"l2announcements.enabled=true"}));
  const Json& d2 = (*find(l2, "ConfigMap", "axon-config"))["data"];
  CHECK(d2["enable-l2-announcements"] == "true");
  CHECK(d2["l2-announcements-lease-duration"] == "2s");  // axon's default (Cilium's: 15s)
  CHECK(d["cni-uninstall"] == "false");
}

TEST_CASE("cni.binPath and cni.confPath are the agent's host directories; cni.uninstall its key") {
  auto objs = render(seed_values({"cni.confPath=/var/lib/cni/net.d", "cni.binPath=/usr/libexec/cni",
                                  "cni.uninstall=true"}));
  const Json* ds = find(objs, "DaemonSet", "axon-agent");
  REQUIRE(ds != nullptr);
  std::map<std::string, std::string> host;
  for (const auto& vol : (*ds)["spec"]["template"]["spec"]["volumes"]) {
    if (vol.contains("hostPath")) host[vol["name"]] = vol["hostPath"]["path"];
  }
  CHECK(host["etc-cni-netd"] == "/var/lib/cni/net.d");
  CHECK(host["cni-path"] == "/usr/libexec/cni");
  CHECK((*find(objs, "ConfigMap", "axon-config"))["data"]["cni-uninstall"] == "true");
}

TEST_CASE("the agent DaemonSet is privileged only as far as the values say") {
  auto v = seed_values();
  auto objs = render(v);
  const Json* ds = find(objs, "DaemonSet", "axon-agent");
  REQUIRE(ds != nullptr);
  const Json& pod = (*ds)["spec"]["template"]["spec"];
  const Json* agent = container(pod, "containers", "axon-agent");
  REQUIRE(agent != nullptr);
  const Json& sc = (*agent)["securityContext"];
  CHECK_FALSE(sc.contains("privileged"));
  CHECK(sc["capabilities"]["add"] == Json(v.agent_capabilities));
  CHECK(sc["capabilities"]["add"] ==
        Json::array({"CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_ADMIN",
                     "SYS_RESOURCE", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}));
  CHECK(sc["capabilities"]["drop"] == Json::array({"ALL"}));
  // The cleanup init container gets exactly cleanCiliumState.
  const Json* clean = container(pod, "initContainers", "clean-axon-state");
  REQUIRE(clean != nullptr);
  CHECK((*clean)["securityContext"]["capabilities"]["add"] ==
        Json::array({"NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"}));
  // autoMount is off: no cgroup-mounting init container; hostRoot is mounted.
  CHECK(container(pod, "initContainers", "mount-cgroup") == nullptr);
  bool cgroup_volume = false;
  for (const auto& vol : pod["volumes"]) {
    if (vol["name"] == "cgroup") {
      cgroup_volume = true;
      CHECK(vol["hostPath"]["path"] == "/sys/fs/cgroup");
      CHECK(vol["hostPath"]["type"] == "Directory");  // must already exist
    }
  }
  CHECK(cgroup_volume);
  // KubePrism: the API server address reaches every container that talks to it.
  CHECK(env(*agent, "KUBERNETES_SERVICE_HOST") == "localhost");
  CHECK(env(*agent, "KUBERNETES_SERVICE_PORT") == "7445");
  CHECK(env(*clean, "KUBERNETES_SERVICE_HOST") == "localhost");
  const Json* op = find(objs, "Deployment", "axon-operator");
  REQUIRE(op != nullptr);
  const Json* opc = container((*op)["spec"]["template"]["spec"], "containers", "axon-operator");
  CHECK(env(*opc, "KUBERNETES_SERVICE_HOST") == "localhost");
  CHECK(env(*opc, "KUBERNETES_SERVICE_PORT") == "7445");
}

TEST_CASE("Bidirectional mount propagation only in a privileged container (as the API server demands)") {
  for (const auto& sets : std::vector<std::vector<std::string>>{
           {}, {"bpf.autoMount.enabled=false"}, {"cgroup.autoMount.enabled=true"}}) {
    auto objs = render(seed_values(sets));
    const Json& pod = (*find(objs, "DaemonSet", "axon-agent"))["spec"]["template"]["spec"];
    for (const char* list : {"initContainers", "containers"}) {
      for (const auto& c : pod[list]) {
        for (const auto& m : c["volumeMounts"]) {
          if (m.value("mountPropagation", "") != "Bidirectional") continue;
          CHECK_MESSAGE(c["securityContext"].value("privileged", false),
                        c["name"].get<std::string>());
        }
      }
    }
    const Json* agent = container(pod, "containers", "axon-agent");
    REQUIRE(agent != nullptr);
    CHECK((*agent)["volumeMounts"][0]["name"] == "bpf-maps");
    CHECK((*agent)["volumeMounts"][0]["mountPropagation"] == "HostToContainer");
    const bool auto_mount = sets.empty() || sets[0] != "bpf.autoMount.enabled=false";
    CHECK((container(pod, "initContainers", "mount-bpf-fs") != nullptr) == auto_mount);
  }
}

TEST_CASE("Gateway API CRDs carry the approval annotation of a protected group") {
  for (const auto& o : render(seed_values())) {
    if (o["kind"] != "CustomResourceDefinition") continue;
    const std::string group = o["spec"]["group"];
    const bool is_protected = group.ends_with(".k8s.io") || group.ends_with(".kubernetes.io");
    CHECK_MESSAGE(client::member(o["metadata"], "annotations").contains("api-approved.kubernetes.io") ==
                      is_protected,
                  o["metadata"]["name"].get<std::string>());
  }
}

TEST_CASE("autoMount on adds the mount-cgroup init container; privileged replaces capabilities") {
  auto objs =
      render(seed_values({"cgroup.autoMount.enabled=true", "securityContext.privileged=true"}));
  const Json& pod = (*find(objs, "DaemonSet", "axon-agent"))["spec"]["template"]["spec"];
  const Json* mount = container(pod, "initContainers", "mount-cgroup");
  REQUIRE(mount != nullptr);
  CHECK((*mount)["securityContext"]["capabilities"]["add"] ==
        Json::array({"SYS_ADMIN", "SYS_CHROOT", "SYS_PTRACE"}));
  CHECK((*container(pod, "containers", "axon-agent"))["securityContext"] ==
        Json({{"privileged", true}}));
}

TEST_CASE("Hubble relay and UI, their Services, and --set hubble.ui.enabled=false") {
  auto objs = render(seed_values());
  REQUIRE(find(objs, "Deployment", "hubble-relay") != nullptr);
  const Json* ui_svc = find(objs, "Service", "hubble-ui");
  REQUIRE(ui_svc != nullptr);
  CHECK((*ui_svc)["spec"]["ports"][0]["port"] ==
        80);  // kubectl port-forward svc/hubble-ui 12000:80
  CHECK((*ui_svc)["metadata"]["namespace"] == "kube-system");
  CHECK((*find(objs, "Service", "hubble-relay"))["spec"]["ports"][0]["port"] == 80);

  auto no_ui = render(seed_values({"hubble.ui.enabled=false"}));
  for (const auto& o : no_ui) {
    CHECK_MESSAGE(o["metadata"]["name"] != "hubble-ui", o["kind"]);
  }
  CHECK(no_ui.size() == objs.size() - 5);  // SA, ClusterRole, Binding, Deployment, Service
  auto no_relay = render(seed_values({"hubble.ui.enabled=false", "hubble.relay.enabled=false"}));
  CHECK(find(no_relay, "Deployment", "hubble-relay") == nullptr);
}

TEST_CASE("GatewayClass cilium and the Gateway API CRDs only with gatewayAPI") {
  auto objs = render(seed_values());
  const Json* gc = find(objs, "GatewayClass", "cilium");
  REQUIRE(gc != nullptr);
  CHECK((*gc)["apiVersion"] == "gateway.networking.k8s.io/v1");
  CHECK(find(objs, "CustomResourceDefinition", "httproutes.gateway.networking.k8s.io") != nullptr);
  auto off = render(seed_values({"gatewayAPI.enabled=false"}));
  CHECK(find(off, "GatewayClass", "cilium") == nullptr);
  CHECK(find(off, "CustomResourceDefinition", "gateways.gateway.networking.k8s.io") == nullptr);
  CHECK(find(off, "CustomResourceDefinition", "ciliumnetworkpolicies.cilium.io") != nullptr);
}

TEST_CASE("every CRD is well formed with a structural schema") {
  std::set<std::string> kinds;
  for (const auto& crd : custom_resource_definitions(true)) {
    const Json& spec = crd["spec"];
    CAPTURE(crd["metadata"]["name"].get<std::string>());
    CHECK(crd["metadata"]["name"] ==
          spec["names"]["plural"].get<std::string>() + "." + spec["group"].get<std::string>());
    CHECK((spec["scope"] == "Namespaced" || spec["scope"] == "Cluster"));
    int storage = 0;
    for (const auto& v : spec["versions"]) {
      storage += v["storage"].get<bool>() ? 1 : 0;
      check_structural(v["schema"]["openAPIV3Schema"], spec["names"]["kind"].get<std::string>());
    }
    CHECK(storage == 1);
    kinds.insert(spec["names"]["kind"]);
  }
  for (const char* k :
       {"CiliumNetworkPolicy", "CiliumClusterwideNetworkPolicy", "CiliumLoadBalancerIPPool",
        "CiliumL2AnnouncementPolicy", "GatewayClass", "Gateway", "HTTPRoute"}) {
    CHECK_MESSAGE(kinds.count(k) == 1, k);
  }
  // The K8s NetworkPolicy words the seed puts in a CNP are not in its schema.
  auto crds = custom_resource_definitions(false);
  const Json& rule =
      crds[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"];
  const Json& ingress = rule["properties"]["ingress"]["items"]["properties"];
  CHECK(ingress.contains("fromEndpoints"));
  CHECK_FALSE(ingress.contains("from"));
  CHECK_FALSE(ingress.contains("podSelector"));
}

TEST_CASE("the Talos patch is the seed's") {
  auto docs = parse_yaml_stream(talos_patch(), "patch");
  REQUIRE(docs.ok());
  auto seed =
      read_yaml_file(std::string(AXON_SEED_DIR) + "/manifests/talos-machine-config-patch.yaml");
  REQUIRE(seed.ok());
  CHECK(docs->front().value == seed->front().value);
}
