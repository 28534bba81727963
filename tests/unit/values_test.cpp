// Install values: merging with Helm's precedence, validation with file,
// line, field path and fix, and the seed's own mistakes.
#include "axon/client/values.h"
#include "axon/client/manifests.h"

#include <doctest/doctest.h>

#include <algorithm>

using namespace axon;
using namespace axon::client;

namespace {

const std::string kSeedValues = std::string(AXON_SEED_DIR) + "/manifests/cilium-values.yaml";

const Diagnostic* find_diag(const std::vector<Diagnostic>& ds, const std::string& path) {
  auto it = std::find_if(ds.begin(), ds.end(), [&](const auto& d) { return d.path == path; });
  return it == ds.end() ? nullptr : &*it;
}

std::vector<Diagnostic> check(const std::string& yaml, bool strict = false) {
  ValuesBuilder b;
  auto st = b.add_yaml(yaml, "values.yaml");
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().str()));
  return validate_values(b, ValuesCheck{strict, {"values.yaml"}});
}

}  // namespace

TEST_CASE("the seed's values as pasted: gatewayApi is an error naming gatewayAPI and the fix") {
  ValuesBuilder b;
  REQUIRE(b.add_file(kSeedValues).ok());
  auto ds = validate_values(b, ValuesCheck{false, {kSeedValues}});
  REQUIRE(has_errors(ds));
  const Diagnostic* d = find_diag(ds, "gatewayApi");
  REQUIRE(d != nullptr);
  CHECK(d->severity == Severity::error);
  CHECK(d->location.file == kSeedValues);
  CHECK(d->location.line == 29);
  CHECK(d->message.find("\"gatewayAPI\"") != std::string::npos);
  CHECK(d->message.find("Gateway API would silently stay off") != std::string::npos);
  CHECK(d->fix == "rename gatewayApi to gatewayAPI");
  CHECK(d->command == "axon values fix -f " + kSeedValues + " -w");
  // It is the only problem in the seed's values.
  CHECK(std::count_if(ds.begin(), ds.end(),
                      [](const auto& x) { return x.severity == Severity::error; }) == 1);
}

TEST_CASE("the seed's values with the key fixed are valid and resolve as the seed means") {
  ValuesBuilder b;
  REQUIRE(b.add_file(kSeedValues).ok());
  REQUIRE(b.set("gatewayApi=null,gatewayAPI.enabled=true").ok());
  auto ds = validate_values(b, ValuesCheck{});
  CHECK_FALSE(has_errors(ds));
  auto v = resolve_values(b.values());
  CHECK(v.ipam_mode == "kubernetes");
  CHECK(v.kube_proxy_replacement);
  CHECK(v.k8s_service_host == "localhost");
  CHECK(v.k8s_service_port == 7445);
  CHECK_FALSE(v.cgroup_auto_mount);
  CHECK(v.cgroup_host_root == "/sys/fs/cgroup");
  CHECK(v.agent_capabilities.size() == 11);
  CHECK(std::find(v.agent_capabilities.begin(), v.agent_capabilities.end(), "SYS_MODULE") ==
        v.agent_capabilities.end());
  CHECK(v.clean_state_capabilities ==
        std::vector<std::string>{"NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"});
  CHECK(v.gateway_api);
  CHECK(v.hubble);
  CHECK(v.hubble_relay);
  CHECK(v.hubble_ui);
  CHECK_FALSE(v.l2_announcements);
}

TEST_CASE("fix_values_text renames case-only keys in place, keeping comments and layout") {
  std::string text =
      "# my values\nhubble:\n  enabled: true   # keep me\ngatewayApi:\n  enabled: true\nHubble2: "
      "x\n";
  auto fix = fix_values_text(text, "v.yaml");
  REQUIRE(fix.ok());
  CHECK(fix->text ==
        "# my values\nhubble:\n  enabled: true   # keep me\ngatewayAPI:\n  enabled: true\nHubble2: "
        "x\n");
  CHECK(fix->changes == std::vector<std::string>{"line 4: gatewayApi -> gatewayAPI"});
  // Nested keys too.
  auto nested = fix_values_text("hubble:\n  Relay:\n    Enabled: true\n", "v.yaml");
  REQUIRE(nested.ok());
  CHECK(nested->text == "hubble:\n  relay:\n    enabled: true\n");
}

TEST_CASE("unknown keys warn with a suggestion, and are errors under --strict") {
  auto ds = check("hubble:\n  relay:\n    enabeld: true\n");
  const Diagnostic* d = find_diag(ds, "hubble.relay.enabeld");
  REQUIRE(d != nullptr);
  CHECK(d->severity == Severity::warning);
  CHECK(d->message.find("did you mean \"hubble.relay.enabled\"?") != std::string::npos);
  CHECK(d->location.line == 3);
  CHECK_FALSE(has_errors(ds));
  auto strict = check("hubble:\n  relay:\n    enabeld: true\n", true);
  CHECK(has_errors(strict));
  // A real Cilium key axon does not model: a warning without a bogus suggestion.
  auto other = check("bpf:\n  masquerade: true\n");
  REQUIRE(find_diag(other, "bpf.masquerade") != nullptr);
  CHECK(find_diag(other, "bpf.masquerade")->severity == Severity::warning);
  CHECK(find_diag(other, "bpf.masquerade")->message.find("did you mean") == std::string::npos);
}

TEST_CASE("kubeProxyReplacement without k8sServiceHost fails with the KubePrism hint") {
  auto ds = check("kubeProxyReplacement: true\n");
  const Diagnostic* d = find_diag(ds, "kubeProxyReplacement");
  REQUIRE(d != nullptr);
  CHECK(d->severity == Severity::error);
  CHECK(d->location.line == 1);
  CHECK(d->message.find("k8sServiceHost and k8sServicePort are not set") != std::string::npos);
  CHECK(d->fix.find("KubePrism: k8sServiceHost: localhost, k8sServicePort: 7445") !=
        std::string::npos);
  auto only_port = check("kubeProxyReplacement: true\nk8sServiceHost: localhost\n");
  REQUIRE(find_diag(only_port, "kubeProxyReplacement") != nullptr);
  CHECK(find_diag(only_port, "kubeProxyReplacement")->message.find("k8sServicePort is not set") !=
        std::string::npos);
  CHECK_FALSE(has_errors(
      check("kubeProxyReplacement: true\nk8sServiceHost: localhost\nk8sServicePort: \"7445\"\n")));
}

TEST_CASE("types and enums are checked with the exact path") {
  auto ds = check(
      "hubble:\n  enabled: \"false\"\nipam:\n  mode: Kubernetes\nimage:\n  tag: 1.10\n"
      "l2announcements:\n  leaseDuration: 15\n");
  REQUIRE(find_diag(ds, "hubble.enabled") != nullptr);
  CHECK(find_diag(ds, "hubble.enabled")->message.find("quoted string \"false\"") !=
        std::string::npos);
  REQUIRE(find_diag(ds, "ipam.mode") != nullptr);
  CHECK(find_diag(ds, "ipam.mode")->fix == "write kubernetes");
  CHECK(find_diag(ds, "ipam.mode")->location.line == 4);
  REQUIRE(find_diag(ds, "image.tag") != nullptr);
  CHECK(find_diag(ds, "image.tag")->fix.find("quote it") != std::string::npos);
  REQUIRE(find_diag(ds, "l2announcements.leaseDuration") != nullptr);
  auto legacy = check("kubeProxyReplacement: strict\nk8sServiceHost: h\nk8sServicePort: 6443\n");
  REQUIRE(find_diag(legacy, "kubeProxyReplacement") != nullptr);
  CHECK(find_diag(legacy, "kubeProxyReplacement")->fix == "write kubeProxyReplacement: true");
  auto bad_range = check("k8sServicePort: 70000\n");
  REQUIRE(find_diag(bad_range, "k8sServicePort") != nullptr);
  auto maglev = check("maglev:\n  tableSize: 1000\n");
  REQUIRE(find_diag(maglev, "maglev.tableSize") != nullptr);
  CHECK(find_diag(maglev, "maglev.tableSize")->message.find("prime") != std::string::npos);
}

TEST_CASE("capability names must be real Linux capabilities") {
  auto ds = check(
      "securityContext:\n  capabilities:\n    ciliumAgent: [NET_ADMIN, SYS_ADMIN, NET_ADMN, "
      "CAP_KILL]\n");
  const Diagnostic* typo = find_diag(ds, "securityContext.capabilities.ciliumAgent[2]");
  REQUIRE(typo != nullptr);
  CHECK(typo->message == "\"NET_ADMN\" is not a Linux capability");
  CHECK(typo->fix == "write NET_ADMIN");
  const Diagnostic* prefixed = find_diag(ds, "securityContext.capabilities.ciliumAgent[3]");
  REQUIRE(prefixed != nullptr);
  CHECK(prefixed->fix == "write KILL");
  auto missing = check("securityContext:\n  capabilities:\n    ciliumAgent: [CHOWN]\n");
  CHECK(has_errors(missing));
  REQUIRE(find_diag(missing, "securityContext.capabilities.ciliumAgent") != nullptr);
}

TEST_CASE("rules between keys") {
  auto relay = check("hubble:\n  enabled: false\n  relay:\n    enabled: true\n");
  REQUIRE(find_diag(relay, "hubble.relay.enabled") != nullptr);
  CHECK(find_diag(relay, "hubble.relay.enabled")->severity == Severity::error);
  CHECK(has_errors(check("hubble:\n  enabled: false\n  ui:\n    enabled: true\n")));
  CHECK(has_errors(check("l2announcements:\n  enabled: true\n")));
  CHECK(has_errors(check("gatewayAPI:\n  enabled: true\n")));
  auto cgroup = check("cgroup:\n  autoMount:\n    enabled: false\n");
  REQUIRE(find_diag(cgroup, "cgroup.autoMount.enabled") != nullptr);
  CHECK(find_diag(cgroup, "cgroup.autoMount.enabled")->fix.find("/sys/fs/cgroup") !=
        std::string::npos);
  CHECK_FALSE(
      has_errors(check("cgroup:\n  autoMount:\n    enabled: false\n  hostRoot: /sys/fs/cgroup\n")));
  // Host directories are absolute paths.
  auto cni = check("cni:\n  binPath: opt/cni/bin\n  confPath: /etc/cni/net.d\n");
  REQUIRE(find_diag(cni, "cni.binPath") != nullptr);
  CHECK(find_diag(cni, "cni.binPath")->fix.find("/opt/cni/bin") != std::string::npos);
  CHECK(find_diag(cni, "cni.confPath") == nullptr);
  CHECK_FALSE(has_errors(check("cni:\n  confPath: /var/lib/cni/net.d\n  uninstall: true\n")));
  auto lease = check(
      "kubeProxyReplacement: true\nk8sServiceHost: h\nk8sServicePort: 1\n"
      "l2announcements:\n  enabled: true\n  leaseDuration: 5s\n  leaseRenewDeadline: 10s\n");
  REQUIRE(find_diag(lease, "l2announcements.leaseRenewDeadline") != nullptr);
}

TEST_CASE("--set follows Helm: typed values, lists, indexes, escapes, null removes, later wins") {
  ValuesBuilder b;
  REQUIRE(b.add_yaml("hubble:\n  relay:\n    enabled: true\n  ui:\n    enabled: true\n", "a.yaml")
              .ok());
  REQUIRE(b.add_yaml("hubble:\n  ui:\n    enabled: false\n", "b.yaml").ok());
  CHECK(b.values()["hubble"]["relay"]["enabled"] == true);  // maps merge
  CHECK(b.values()["hubble"]["ui"]["enabled"] == false);    // later file wins
  CHECK(b.where("hubble.ui.enabled").str() == "b.yaml:3");
  REQUIRE(b.set("hubble.ui.enabled=true,k8sServicePort=7445,k8sServiceHost=007").ok());
  CHECK(b.values()["hubble"]["ui"]["enabled"] == true);
  CHECK(b.values()["k8sServicePort"] == 7445);
  CHECK(b.values()["k8sServiceHost"] == "007");  // leading zero: a string, as Helm does
  CHECK(b.where("hubble.ui.enabled").str() == "--set hubble.ui.enabled=true");
  REQUIRE(b.set_string("image.tag=1.10").ok());
  CHECK(b.values()["image"]["tag"] == "1.10");
  REQUIRE(b.set("hubble.metrics.enabled={dns,drop}").ok());
  CHECK(b.values()["hubble"]["metrics"]["enabled"] == Json::array({"dns", "drop"}));
  REQUIRE(b.set("securityContext.capabilities.ciliumAgent[1]=KILL").ok());
  CHECK(b.values()["securityContext"]["capabilities"]["ciliumAgent"] ==
        Json::array({nullptr, "KILL"}));
  REQUIRE(b.set("cluster.name=a\\,b").ok());
  CHECK(b.values()["cluster"]["name"] == "a,b");
  REQUIRE(b.set("hubble.relay=null").ok());
  CHECK_FALSE(b.values()["hubble"].contains("relay"));
  CHECK_FALSE(b.set("novalue").ok());
  CHECK_FALSE(b.set("a[x]=1").ok());
}

TEST_CASE("bad values files are errors that name the file") {
  ValuesBuilder b;
  auto st = b.add_yaml("hubble: [unclosed\n", "bad.yaml");
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message.find("bad.yaml") == 0);
  auto list = b.add_yaml("- a\n- b\n", "list.yaml");
  REQUIRE_FALSE(list.ok());
  CHECK(list.error().message.find("values must be a mapping") != std::string::npos);
  auto dup = b.add_yaml("a: 1\na: 2\n", "dup.yaml");
  REQUIRE_FALSE(dup.ok());
  CHECK(dup.error().message == "dup.yaml:2: a: duplicate key");
  auto missing = b.add_file("/nonexistent/values.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().str().find("No such file") != std::string::npos);
}

TEST_CASE("every schema default is valid against its own schema") {
  ValuesBuilder b;
  Json all = Json::object();
  for (const auto& spec : values_schema()) {
    Json* cur = &all;
    std::string path = spec.path;
    size_t pos;
    while ((pos = path.find('.')) != std::string::npos) {
      cur = &(*cur)[path.substr(0, pos)];
      path = path.substr(pos + 1);
    }
    (*cur)[path] = spec.default_value;
  }
  REQUIRE(b.add_yaml(all.dump(), "defaults.json").ok());
  auto ds = validate_values(b, ValuesCheck{true, {}});
  for (const auto& d : ds) CHECK_MESSAGE(d.severity != Severity::error, d.headline());
}

TEST_CASE("nodePort.range: first,last; externalIPs.enabled; both reach the agents' configuration") {
  CHECK_FALSE(has_errors(check("nodePort:\n  range: \"30000,32767\"\n")));
  CHECK_FALSE(has_errors(check("nodePort:\n  range: 20000-20999\n")));
  for (const char* bad : {"\"32767,30000\"", "\"30000\"", "\"0,100\"", "\"a,b\"", "\"30000,70000\""}) {
    CAPTURE(bad);
    auto d = check(std::string("nodePort:\n  range: ") + bad + "\n");
    REQUIRE(find_diag(d, "nodePort.range") != nullptr);
    CHECK(find_diag(d, "nodePort.range")->severity == Severity::error);
    CHECK(find_diag(d, "nodePort.range")->fix.find("30000,32767") != std::string::npos);
  }
  CHECK(parse_node_port_range("30000,32767").value() == std::pair{30000, 32767});
  CHECK(parse_node_port_range("100-200").value() == std::pair{100, 200});
  CHECK(parse_node_port_range("200,100").error().message.find("comes after") != std::string::npos);

  ValuesBuilder b;
  REQUIRE(b.add_yaml("nodePort:\n  range: \"31000,31999\"\nexternalIPs:\n  enabled: true\n", "v")
              .ok());
  const InstallValues v = resolve_values(b.values());
  CHECK(v.node_port_range == "31000,31999");
  CHECK(v.external_ips);
  const Json c = agent_config(v);
  CHECK(c["node-port-range"] == "31000,31999");
  CHECK(c["enable-external-ips"] == "true");
  CHECK(agent_config(InstallValues{})["node-port-range"] == "30000,32767");
}
