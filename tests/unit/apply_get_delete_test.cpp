// `axon apply`, `axon get` and `axon delete` as a user runs them, in-process,
// against a real etcd found the way commands find a lab (--state-dir).
// Every assertion on the cluster reads the store itself.
#include <doctest/doctest.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "test_lab.h"

using axon::client::Json;
using axon::client::ObjectRef;
using axon::test::CliRun;
using axon::test::TestLab;

namespace {

const std::string kSeed = std::string(AXON_SEED_DIR) + "/manifests/";

// One etcd for every test here (starting one takes a second); each test
// starts from an empty store.
TestLab& lab() {
  static TestLab shared;
  REQUIRE(shared.ready());
  shared.clear();
  return shared;
}

bool exists(TestLab& l, const std::string& api_version, const std::string& kind,
            const std::string& ns, const std::string& name) {
  auto got = l.store().get(ObjectRef{api_version, kind, ns, name});
  REQUIRE(got.ok());
  return got->has_value();
}

size_t count(TestLab& l, const std::string& api_version, const std::string& kind) {
  auto all = l.store().list(api_version, kind, "", "");
  REQUIRE(all.ok());
  return all->size();
}

std::string ns_doc(const std::string& name) {
  return "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: " + name + "\n";
}

// A file in a temporary directory, removed with it.
struct TempFile {
  std::filesystem::path dir;
  std::string path;
  explicit TempFile(const std::string& content, const std::string& name = "app.yaml") {
    std::string tmpl = (std::filesystem::temp_directory_path() / "axon-apply-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    path = (dir / name).string();
    std::ofstream(path) << content;
  }
  ~TempFile() { std::filesystem::remove_all(dir); }
};

std::string rfc3339_ago(std::chrono::seconds ago) {
  std::time_t t = std::time(nullptr) - ago.count();
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// Writes an object as the lab's runtime would (status included) and makes
// it `age` old.
void put(TestLab& l, Json object, std::chrono::seconds age) {
  REQUIRE(l.store().apply(object).ok());
  auto live = l.store().get(ObjectRef::of(object));
  REQUIRE(live.ok());
  REQUIRE(live->has_value());
  Json o = **live;
  o["metadata"]["creationTimestamp"] = rfc3339_ago(age);
  REQUIRE(l.store().update(o).ok());
}

Json pod(const std::string& ns, const std::string& name, const std::string& role,
         const std::string& phase, bool ready, const std::string& ip, const std::string& node) {
  Json status = {{"phase", phase},
                 {"podIP", ip},
                 {"conditions", {{{"type", "Ready"}, {"status", ready ? "True" : "False"}}}},
                 {"containerStatuses",
                  {{{"name", "app"},
                    {"ready", ready},
                    {"restartCount", 0},
                    {"state", ready ? Json{{"running", Json::object()}}
                                    : Json{{"waiting", {{"reason", "ContainerCreating"}}}}}}}}};
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"role", role}}}}},
          {"spec", {{"nodeName", node}, {"containers", {{{"name", "app"}, {"image", "busybox"}}}}}},
          {"status", status}};
}

}  // namespace

TEST_CASE("apply: the seed's manifests as pasted, into a lab with their namespaces") {
  TestLab& l = lab();
  auto ns =
      l.axon({"apply", "-f", "-"}, ns_doc("production") + "---\n" + ns_doc("gateway-api-system"));
  CHECK(ns.code == 0);
  CHECK(ns.out == "namespace/production created\nnamespace/gateway-api-system created\n");

  auto fixed = l.axon({"apply", "-f", kSeed + "service-fixed-ip.yaml"});
  CHECK(fixed.code == 0);
  // Applied before any pool: warned that it stays pending, and why.
  CHECK(fixed.err.find("service-fixed-ip.yaml:6: document 1 (Service production/api): "
                       "metadata.annotations: LB IPAM will leave it pending (no_pool): requested "
                       "IP 10.0.0.241 is in no pool (there is no pool yet)") != std::string::npos);
  CHECK(fixed.out == "service/api created\n");
  auto sharing = l.axon({"apply", "-f", kSeed + "services-sharing-key.yaml"});
  CHECK(sharing.code == 0);
  CHECK(sharing.out == "service/api configured\nservice/admin created\n");
  auto pool =
      l.axon({"apply", "-f", kSeed + "lb-ip-pool.yaml", "-f", kSeed + "l2-announcement-policy.yaml",
              "-f", kSeed + "gateway-and-route.yaml"});
  CHECK(pool.code == 0);
  CHECK_MESSAGE(pool.err.empty(), pool.err);
  CHECK(pool.out ==
        "ciliumloadbalancerippool.cilium.io/homelab-pool created\n"
        "ciliuml2announcementpolicy.cilium.io/homelab-announce created\n"
        "gateway.gateway.networking.k8s.io/shared-gateway created\n"
        "httproute.gateway.networking.k8s.io/api-route created\n");
  // The seed's policies protect nothing as written: refused with the fix,
  // and nothing of them applied.
  auto pasted = l.axon(
      {"apply", "-f", kSeed + "policy-default-deny.yaml", "-f", kSeed + "policy-allow-dns.yaml"});
  CHECK(pasted.code == 2);
  CHECK(pasted.out.empty());
  CHECK(pasted.err.find("spec.ingress: empty list enables no default deny") != std::string::npos);
  CHECK(pasted.err.find("run: axon policy fix -f " + kSeed + "policy-default-deny.yaml -w") !=
        std::string::npos);
  CHECK_FALSE(exists(l, "cilium.io/v2", "CiliumNetworkPolicy", "production", "default-deny"));
  // As `axon policy fix` repairs them, they apply.
  auto fixed_deny = l.axon({"policy", "fix", "-f", kSeed + "policy-default-deny.yaml"});
  auto fixed_dns = l.axon({"policy", "fix", "-f", kSeed + "policy-allow-dns.yaml"});
  REQUIRE(fixed_deny.code == 0);
  REQUIRE(fixed_dns.code == 0);
  auto policies = l.axon({"apply", "-f", "-"}, fixed_deny.out + "---\n" + fixed_dns.out);
  CHECK(policies.code == 0);
  CHECK(policies.out ==
        "ciliumnetworkpolicy.cilium.io/default-deny created\n"
        "ciliumclusterwidenetworkpolicy.cilium.io/allow-dns created\n");

  // In the store, as written.
  auto svc = l.store().get(ObjectRef{"v1", "Service", "production", "api"});
  REQUIRE(svc.ok());
  REQUIRE(svc->has_value());
  CHECK((**svc)["metadata"]["annotations"]["lbipam.cilium.io/sharing-key"] == "shared-1");
  CHECK((**svc)["spec"]["ports"][0]["port"] == 80);
  CHECK(exists(l, "cilium.io/v2", "CiliumLoadBalancerIPPool", "", "homelab-pool"));
  CHECK(exists(l, "gateway.networking.k8s.io/v1", "HTTPRoute", "production", "api-route"));
  CHECK(exists(l, "cilium.io/v2", "CiliumClusterwideNetworkPolicy", "", "allow-dns"));

  // Again: nothing changes.
  auto again = l.axon({"apply", "-f", kSeed + "gateway-and-route.yaml"});
  CHECK(again.out ==
        "gateway.gateway.networking.k8s.io/shared-gateway unchanged\n"
        "httproute.gateway.networking.k8s.io/api-route unchanged\n");
}

TEST_CASE("apply: one invalid document and nothing is written; every problem is located") {
  TestLab& l = lab();
  TempFile f(ns_doc("demo") +                                 // 1-4
             "---\n"                                          // 5
             "apiVersion: v1\n"                               // 6
             "kind: ConfigMap\n"                              // 7
             "metadata: {name: settings, namespace: demo}\n"  // 8
             "data: {mode: fast}\n"                           // 9
             "---\n"                                          // 10
             "apiVersion: v1\n"                               // 11
             "kind: Service\n"                                // 12
             "metadata:\n"                                    // 13
             "  name: web\n"                                  // 14
             "  namespace: demo\n"                            // 15
             "spec:\n"                                        // 16
             "  ports:\n"                                     // 17
             "    - port: 70000\n"                            // 18
             "      protocol: tcp\n");                        // 19
  auto r = l.axon({"apply", "-f", f.path});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err ==
        "error: " + f.path +
            ":18: document 3 (Service demo/web): spec.ports[0].port: 70000 is out of range: must "
            "be 1-65535\n"
            "error: " +
            f.path +
            ":19: document 3 (Service demo/web): spec.ports[0].protocol: unsupported value "
            "\"tcp\": must be one of TCP, UDP, SCTP\n"
            "  fix: write TCP (the letter case matters)\n"
            "Error: the manifests have 2 errors; nothing was applied\n");
  CHECK_FALSE(exists(l, "v1", "Namespace", "", "demo"));
  CHECK(count(l, "v1", "ConfigMap") == 0);
  // --dry-run checks the same way.
  CHECK(l.axon({"apply", "-f", f.path, "--dry-run"}).code == 2);
  // Unreadable input is refused the same way, before any write.
  auto missing = l.axon({"apply", "-f", f.path, "-f", "/nonexistent/x.yaml"});
  CHECK(missing.code == 2);
  CHECK(missing.err.find("/nonexistent/x.yaml: the path \"/nonexistent/x.yaml\" does not exist") !=
        std::string::npos);
  CHECK_FALSE(exists(l, "v1", "Namespace", "", "demo"));
  auto broken = l.axon({"apply", "-f", "-"}, "kind: Namespace\nmetadata: {name: [x\n");
  CHECK(broken.code == 2);
  CHECK(broken.err.starts_with(
      "error: -:3: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence started at line 2\n"));
  CHECK(l.axon({"apply"}).code == 2);
}

TEST_CASE("apply: created, configured, unchanged; dependency order; dry run writes nothing") {
  TestLab& l = lab();
  const std::string cm_v1 =
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: shop}\n"
      "data: {mode: fast}\n";
  const std::string svc =
      "apiVersion: v1\nkind: Service\nmetadata: {name: cart, namespace: shop}\n"
      "spec: {selector: {app: cart}, ports: [{port: 80, targetPort: 8080}]}\n";
  // The Namespace comes last in the file but is applied first.
  auto first = l.axon({"apply", "-f", "-"}, svc + "---\n" + cm_v1 + "---\n" + ns_doc("shop"));
  CHECK(first.code == 0);
  CHECK(first.out == "namespace/shop created\nconfigmap/settings created\nservice/cart created\n");

  const std::string cm_v2 = cm_v1.substr(0, cm_v1.find("fast")) + "safe}\n";
  auto dry = l.axon({"apply", "-f", "-", "--dry-run"},
                    ns_doc("shop") + "---\n" + cm_v2 + "---\n" + svc + "---\n" + ns_doc("new-one"));
  CHECK(dry.code == 0);
  CHECK(dry.out ==
        "namespace/shop unchanged (dry run)\nnamespace/new-one created (dry run)\n"
        "configmap/settings configured (dry run)\nservice/cart unchanged (dry run)\n");
  CHECK_FALSE(exists(l, "v1", "Namespace", "", "new-one"));
  auto live = l.store().get(ObjectRef{"v1", "ConfigMap", "shop", "settings"});
  CHECK((**live)["data"]["mode"] == "fast");

  auto second = l.axon({"apply", "-f", "-"}, ns_doc("shop") + "---\n" + cm_v2 + "---\n" + svc);
  CHECK(second.code == 0);
  CHECK(second.out ==
        "namespace/shop unchanged\nconfigmap/settings configured\nservice/cart unchanged\n");
  live = l.store().get(ObjectRef{"v1", "ConfigMap", "shop", "settings"});
  CHECK((**live)["data"]["mode"] == "safe");

  // -o prints the applied objects (with what the store added), -o name their names.
  auto json = l.axon({"apply", "-f", "-", "-o", "json"}, cm_v2);
  CHECK(json.code == 0);
  auto doc = nlohmann::json::parse(json.out);
  CHECK(doc["kind"] == "ConfigMap");
  CHECK_FALSE(doc["metadata"]["uid"].get<std::string>().empty());
  auto list =
      nlohmann::json::parse(l.axon({"apply", "-f", "-", "-o", "json"}, cm_v2 + "---\n" + svc).out);
  CHECK(list["kind"] == "List");
  CHECK(list["items"].size() == 2);
  CHECK(l.axon({"apply", "-f", "-", "-o", "name"}, svc).out == "service/cart\n");
}

TEST_CASE("apply: namespaces must exist or be created alongside; -n fills in and must agree") {
  TestLab& l = lab();
  const std::string cm = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {}\n";
  auto r = l.axon({"apply", "-f", "-"},
                  "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: nowhere}\n");
  CHECK(r.code == 1);
  CHECK(r.out.empty());
  CHECK(r.err.find("-:3: document 1 (ConfigMap nowhere/a): metadata.namespace: namespaces "
                   "\"nowhere\" not found") != std::string::npos);
  CHECK(r.err.find("  run: echo '{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": "
                   "{\"name\": \"nowhere\"}}' | axon apply -f -") != std::string::npos);
  CHECK(r.err.find("nothing was applied") != std::string::npos);

  // Without a namespace an object goes to "default", which must exist too.
  auto no_default = l.axon({"apply", "-f", "-"}, cm);
  CHECK(no_default.code == 1);
  CHECK(no_default.err.find("namespaces \"default\" not found") != std::string::npos);
  REQUIRE(l.axon({"apply", "-f", "-"}, ns_doc("default") + "---\n" + ns_doc("dev")).code == 0);
  CHECK(l.axon({"apply", "-f", "-"}, cm).out == "configmap/c created\n");
  CHECK(exists(l, "v1", "ConfigMap", "default", "c"));
  CHECK(l.axon({"apply", "-f", "-", "-n", "dev"}, cm).out == "configmap/c created\n");
  CHECK(exists(l, "v1", "ConfigMap", "dev", "c"));

  // An object in another namespace than an explicit -n: kubectl's error, nothing applied.
  auto clash = l.axon({"apply", "-f", "-", "-n", "dev"},
                      cm + "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x, namespace: "
                           "default}\n");
  CHECK(clash.code == 2);
  CHECK(clash.err.find("metadata.namespace: the namespace from the provided object \"default\" "
                       "does not match the namespace \"dev\" given with -n") != std::string::npos);
  CHECK_FALSE(exists(l, "v1", "ConfigMap", "default", "x"));
  // A cluster-scoped object with a namespace is invalid.
  auto scoped = l.axon({"apply", "-f", kSeed + "lb-ip-pool.yaml", "-n", "dev"});
  CHECK(scoped.code == 0);  // -n does not apply to cluster-scoped kinds
  CHECK(scoped.out == "ciliumloadbalancerippool.cilium.io/homelab-pool created\n");
}

TEST_CASE("delete: by file, by kind and name, by selector; missing objects fail after the rest") {
  TestLab& l = lab();
  REQUIRE(l.axon({"apply", "-f", "-"}, ns_doc("production")).code == 0);
  REQUIRE(l.axon({"apply", "-f", kSeed + "services-sharing-key.yaml"}).code == 0);

  auto by_file = l.axon({"delete", "-f", kSeed + "services-sharing-key.yaml"});
  CHECK(by_file.code == 0);
  CHECK(by_file.out == "service \"api\" deleted\nservice \"admin\" deleted\n");
  CHECK(count(l, "v1", "Service") == 0);
  auto again = l.axon({"delete", "-f", kSeed + "services-sharing-key.yaml"});
  CHECK(again.code == 1);
  CHECK(again.err.find("Error from server (NotFound): error when deleting \"" + kSeed +
                       "services-sharing-key.yaml\": services \"api\" not found") !=
        std::string::npos);
  CHECK(l.axon({"delete", "-f", kSeed + "services-sharing-key.yaml", "--ignore-not-found"}).code ==
        0);

  REQUIRE(l.axon({"apply", "-f", kSeed + "services-sharing-key.yaml"}).code == 0);
  auto by_name = l.axon({"delete", "svc", "api", "nope", "admin", "-n", "production"});
  CHECK(by_name.code == 1);
  CHECK(by_name.out == "service \"api\" deleted\nservice \"admin\" deleted\n");
  CHECK(by_name.err == "Error from server (NotFound): services \"nope\" not found\n");
  CHECK(count(l, "v1", "Service") == 0);

  REQUIRE(l.axon({"apply", "-f", kSeed + "services-sharing-key.yaml"}).code == 0);
  auto slash = l.axon({"delete", "service/api", "-n", "production", "--dry-run"});
  CHECK(slash.out == "service \"api\" deleted (dry run)\n");
  CHECK(exists(l, "v1", "Service", "production", "api"));
  auto by_label = l.axon({"delete", "services", "-l", "x!=y", "-A"});
  CHECK(by_label.code == 0);
  CHECK(by_label.out == "service \"admin\" deleted\nservice \"api\" deleted\n");
  CHECK(l.axon({"delete", "services", "--all", "-n", "production"}).err == "No resources found\n");

  // Deleting a namespace deletes what is in it.
  REQUIRE(l.axon({"apply", "-f", kSeed + "services-sharing-key.yaml"}).code == 0);
  auto ns = l.axon({"delete", "ns", "production"});
  CHECK(ns.out == "namespace \"production\" deleted\n");
  CHECK(count(l, "v1", "Service") == 0);

  CHECK(l.axon({"delete", "svc"}).code == 2);
  CHECK(l.axon({"delete"}).code == 2);
  auto typo = l.axon({"delete", "servcies", "x"});
  CHECK(typo.code == 2);
  CHECK(typo.err.find("did you mean \"services\"?") != std::string::npos);
}

TEST_CASE("get: kubectl's tables, -A, -l, -o wide/name, missing and empty results") {
  TestLab& l = lab();
  REQUIRE(
      l.axon({"apply", "-f", "-"}, ns_doc("production") + "---\n" + ns_doc("kube-system")).code ==
      0);
  using std::chrono::hours;
  put(l, pod("production", "api-7d4f9", "api", "Running", true, "10.244.1.5", "node1"),
      hours(24 * 30));
  put(l, pod("production", "frontend-x2", "frontend", "Pending", false, "", "node2"),
      hours(24 * 30));
  put(l, pod("kube-system", "coredns-1", "dns", "Running", true, "10.244.2.2", "node2"),
      hours(24 * 30));

  auto r = l.axon({"get", "pods", "-n", "production"});
  CHECK(r.code == 0);
  CHECK(r.err.empty());
  CHECK(r.out ==
        "NAME          READY   STATUS              RESTARTS   AGE\n"
        "api-7d4f9     1/1     Running             0          30d\n"
        "frontend-x2   0/1     ContainerCreating   0          30d\n");
  // Every spelling kubectl accepts gives the same.
  for (const char* kind : {"po", "pod", "Pod", "pods.v1"}) {
    CAPTURE(kind);
    CHECK(l.axon({"get", kind, "-n", "production"}).out == r.out);
  }

  auto wide = l.axon({"get", "pods", "-A", "-o", "wide"});
  CHECK(
      wide.out ==
      "NAMESPACE     NAME          READY   STATUS              RESTARTS   AGE   IP           NODE"
      "    NOMINATED NODE   READINESS GATES\n"
      "kube-system   coredns-1     1/1     Running             0          30d   10.244.2.2   node2"
      "   <none>           <none>\n"
      "production    api-7d4f9     1/1     Running             0          30d   10.244.1.5   node1"
      "   <none>           <none>\n"
      "production    frontend-x2   0/1     ContainerCreating   0          30d   <none>       node2"
      "   <none>           <none>\n");

  CHECK(l.axon({"get", "pods", "-A", "-l", "role in (api,dns)", "-o", "name"}).out ==
        "pod/coredns-1\npod/api-7d4f9\n");
  CHECK(l.axon({"get", "pods", "-A", "-l", "role=api", "--no-headers"}).out ==
        "production   api-7d4f9   1/1   Running   0   30d\n");
  CHECK(l.axon({"get", "pod/api-7d4f9", "-n", "production", "--show-labels"}).out ==
        "NAME        READY   STATUS    RESTARTS   AGE   LABELS\n"
        "api-7d4f9   1/1     Running   0          30d   role=api\n");

  auto missing = l.axon({"get", "pods", "nope", "-n", "production"});
  CHECK(missing.code == 1);
  CHECK(missing.out.empty());
  CHECK(missing.err == "Error from server (NotFound): pods \"nope\" not found\n");
  auto some = l.axon({"get", "pods", "api-7d4f9", "nope", "-n", "production"});
  CHECK(some.code == 1);
  CHECK(some.out.find("api-7d4f9") != std::string::npos);

  auto empty = l.axon({"get", "pods"});
  CHECK(empty.code == 0);
  CHECK(empty.out.empty());
  CHECK(empty.err == "No resources found in default namespace.\n");
  CHECK(l.axon({"get", "nodes"}).err == "No resources found\n");
  CHECK(l.axon({"get", "cnp", "-A"}).err == "No resources found\n");

  // Several kinds: one table each, names prefixed by their kind.
  REQUIRE(l.axon({"apply", "-f", kSeed + "service-fixed-ip.yaml"}).code == 0);
  auto both = l.axon({"get", "svc,deploy,po", "-n", "production"});
  CHECK(both.code == 0);
  CHECK(
      both.out.starts_with("NAME          TYPE           CLUSTER-IP   EXTERNAL-IP   PORT(S)   AGE\n"
                           "service/api   LoadBalancer   <none>       <pending>     80/TCP    "));
  CHECK(both.out.find("\n\nNAME              READY   STATUS") != std::string::npos);
  CHECK(both.out.find("pod/api-7d4f9") != std::string::npos);
  CHECK(l.axon({"get", "all", "-n", "production", "-o", "name"}).out ==
        "pod/api-7d4f9\npod/frontend-x2\nservice/api\n");

  auto ns = l.axon({"get", "ns"});
  CHECK(ns.out.starts_with("NAME          STATUS   AGE\nkube-system   Active   "));

  auto unknown = l.axon({"get", "pdos"});
  CHECK(unknown.code == 2);
  CHECK(unknown.err.starts_with(
      "Error: the server doesn't have a resource type \"pdos\" (did you mean \"pods\"?)"));
  CHECK(l.axon({"get"}).code == 2);
  CHECK(l.axon({"get", "pods", "x", "-A"}).code == 2);
  CHECK(l.axon({"get", "pods", "x", "-l", "a=b"}).code == 2);
}

TEST_CASE("get -o json/yaml: kubectl's List for lists, the object for one name") {
  TestLab& l = lab();
  REQUIRE(l.axon({"apply", "-f", "-"}, ns_doc("production")).code == 0);
  put(l, pod("production", "api-1", "api", "Running", true, "10.244.1.5", "node1"),
      std::chrono::seconds(60));
  put(l, pod("production", "web-1", "web", "Pending", false, "", "node2"),
      std::chrono::seconds(60));

  auto r = l.axon({"get", "pods", "-n", "production", "-o", "json"});
  CHECK(r.code == 0);
  auto list = nlohmann::json::parse(r.out);
  CHECK(list["apiVersion"] == "v1");
  CHECK(list["kind"] == "List");
  CHECK(list["metadata"] == nlohmann::json{{"resourceVersion", ""}});
  REQUIRE(list["items"].size() == 2);
  // What scripts written for kubectl read.
  CHECK(list["items"][0]["status"]["phase"] == "Running");
  CHECK(list["items"][1]["status"]["phase"] == "Pending");
  CHECK(list["items"][0]["status"]["conditions"][0] ==
        nlohmann::json{{"type", "Ready"}, {"status", "True"}});
  CHECK(list["items"][0]["metadata"]["name"] == "api-1");
  CHECK_FALSE(list["items"][0]["metadata"]["resourceVersion"].get<std::string>().empty());
  CHECK(
      r.out.starts_with("{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n"));  // kubectl's indent

  auto one =
      nlohmann::json::parse(l.axon({"get", "pod", "api-1", "-n", "production", "-o", "json"}).out);
  CHECK(one["kind"] == "Pod");
  CHECK(one["metadata"]["name"] == "api-1");

  auto yaml = l.axon({"get", "pods", "-n", "production", "-o", "yaml"});
  CHECK(yaml.out.starts_with("apiVersion: v1\nitems:\n"));
  CHECK(yaml.out.find("\nkind: List\nmetadata:\n  resourceVersion: \"\"\n") != std::string::npos);

  auto empty = l.axon({"get", "svc", "-o", "json", "-n", "production"});
  CHECK(empty.code == 0);
  CHECK(nlohmann::json::parse(empty.out)["items"].empty());
  auto none = l.axon({"get", "svc", "nope", "-o", "json", "-n", "production"});
  CHECK(none.code == 1);
  CHECK(none.out.empty());
}

TEST_CASE("apply/get/delete without a lab say how to get one") {
  auto r = axon::test::run_axon({"--state-dir", "/nonexistent-axon-state", "get", "pods"});
  CHECK(r.code == 1);
  CHECK(r.err.find("no lab is up") != std::string::npos);
  // Invalid input is refused before any cluster is looked for.
  auto bad = axon::test::run_axon({"--state-dir", "/nonexistent-axon-state", "apply", "-f", "-"},
                                  {}, "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n");
  CHECK(bad.code == 2);
  CHECK(bad.err.find("spec: missing") != std::string::npos);
}

TEST_CASE("apply is kubectl's three-way apply: dropped fields go, other writers' fields stay") {
  TestLab& l = lab();
  REQUIRE(l.axon({"apply", "-f", "-"}, ns_doc("shop")).code == 0);
  const std::string svc_v1 =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: cart\n  namespace: shop\n"
      "  labels: {app: cart, tier: web}\n"
      "spec:\n  selector: {app: cart}\n  ports: [{port: 80, targetPort: 8080}]\n";
  CHECK(l.axon({"apply", "-f", "-"}, svc_v1).out == "service/cart created\n");

  // Another writer (the operator) allocates a cluster IP and sets the status.
  auto live = l.store().get(ObjectRef{"v1", "Service", "shop", "cart"});
  REQUIRE(live.ok());
  Json o = **live;
  o["spec"]["clusterIP"] = "10.96.0.20";
  o["status"]["loadBalancer"]["ingress"] = {{{"ip", "10.0.0.241"}}};
  REQUIRE(l.store().update(o).ok());
  CHECK(l.axon({"apply", "-f", "-"}, svc_v1).out == "service/cart unchanged\n");

  // The manifest drops a label and changes the port.
  const std::string svc_v2 =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: cart\n  namespace: shop\n"
      "  labels: {app: cart}\n"
      "spec:\n  selector: {app: cart}\n  ports: [{port: 8080}]\n";
  CHECK(l.axon({"apply", "-f", "-", "--dry-run"}, svc_v2).out ==
        "service/cart configured (dry run)\n");
  CHECK(l.axon({"apply", "-f", "-"}, svc_v2).out == "service/cart configured\n");
  live = l.store().get(ObjectRef{"v1", "Service", "shop", "cart"});
  const Json& after = **live;
  CHECK(after["metadata"]["labels"] == Json{{"app", "cart"}});
  CHECK(after["spec"]["ports"] == Json::parse(R"([{"port": 8080}])"));
  CHECK(after["spec"]["clusterIP"] == "10.96.0.20");  // not the manifest's: kept
  CHECK(after["status"]["loadBalancer"]["ingress"][0]["ip"] == "10.0.0.241");
  CHECK(after["metadata"]["generation"] == 2);
  CHECK(l.axon({"apply", "-f", "-"}, svc_v2).out == "service/cart unchanged\n");

  // Only dropping a field is a change too.
  const std::string svc_v3 =
      svc_v2.substr(0, svc_v2.find("  labels")) + svc_v2.substr(svc_v2.find("spec:"));
  CHECK(l.axon({"apply", "-f", "-"}, svc_v3).out == "service/cart configured\n");
  live = l.store().get(ObjectRef{"v1", "Service", "shop", "cart"});
  CHECK_FALSE((**live)["metadata"].contains("labels"));

  // A field dropped inside a list item (a port's targetPort; a policy
  // rule's http rules): the list is the manifest's again.
  const std::string svc_v4 =
      "apiVersion: v1\nkind: Service\nmetadata:\n  name: cart\n  namespace: shop\n"
      "spec:\n  selector: {app: cart}\n  ports: [{port: 8080, targetPort: 9090}]\n";
  CHECK(l.axon({"apply", "-f", "-"}, svc_v4).out == "service/cart configured\n");
  CHECK(l.axon({"apply", "-f", "-"}, svc_v3).out == "service/cart configured\n");
  live = l.store().get(ObjectRef{"v1", "Service", "shop", "cart"});
  CHECK((**live)["spec"]["ports"] == Json::parse(R"([{"port": 8080}])"));
  CHECK(l.axon({"apply", "-f", "-"}, svc_v3).out == "service/cart unchanged\n");

  // What `kubectl create --dry-run=client -o yaml` writes: null means not set.
  const std::string generated =
      "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  creationTimestamp: null\n  name: gen\n"
      "  namespace: shop\ndata: {a: b}\n";
  CHECK(l.axon({"apply", "-f", "-"}, generated).out == "configmap/gen created\n");
  CHECK(l.axon({"apply", "-f", "-"}, generated).out == "configmap/gen unchanged\n");
  live = l.store().get(ObjectRef{"v1", "ConfigMap", "shop", "gen"});
  CHECK((**live)["metadata"]["creationTimestamp"].is_string());
}

TEST_CASE("apply: a nodePort outside the cluster's range or taken is refused; hostPort warned") {
  TestLab& l = lab();
  REQUIRE(l.axon({"apply", "-f", "-"}, ns_doc("default") + "---\n" + ns_doc("kube-system")).code == 0);
  auto svc = [](const std::string& name, int node_port) {
    return "apiVersion: v1\nkind: Service\nmetadata: {name: " + name +
           "}\nspec:\n  type: NodePort\n  selector: {app: x}\n  ports:\n  - port: 80\n    "
           "nodePort: " +
           std::to_string(node_port) + "\n";
  };
  // Kubernetes' default range without a configuration.
  auto out_of_range = l.axon({"apply", "-f", "-"}, svc("low", 8080));
  CHECK(out_of_range.code == 2);
  CHECK(out_of_range.err.find("-:9: document 1 (Service default/low): spec.ports[0].nodePort: nodePort "
                              "8080 is outside the cluster's NodePort range 30000-32767") !=
        std::string::npos);
  CHECK(out_of_range.err.find("nothing was applied") != std::string::npos);
  CHECK_FALSE(exists(l, "v1", "Service", "default", "low"));

  REQUIRE(l.axon({"apply", "-f", "-"}, svc("first", 30080)).code == 0);
  CHECK(l.axon({"apply", "-f", "-"}, svc("first", 30080)).code == 0);  // its own port
  auto taken = l.axon({"apply", "-f", "-"}, svc("second", 30080));
  CHECK(taken.code == 2);
  CHECK(taken.err.find("nodePort 30080/TCP is already allocated to Service default/first") !=
        std::string::npos);
  auto twice = l.axon({"apply", "-f", "-"}, svc("a", 30090) + "---\n" + svc("b", 30090));
  CHECK(twice.code == 2);
  CHECK(twice.err.find("nodePort 30090/TCP is also asked for by Service default/a") !=
        std::string::npos);
  CHECK_FALSE(exists(l, "v1", "Service", "default", "a"));

  // The installed configuration's range (node-port-range) rules.
  REQUIRE(l.axon({"apply", "-f", "-"},
                 "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: axon-config, namespace: "
                 "kube-system}\ndata: {node-port-range: \"20000,20100\"}\n")
              .code == 0);
  auto custom = l.axon({"apply", "-f", "-"}, svc("c", 30100));
  CHECK(custom.code == 2);
  CHECK(custom.err.find("outside the cluster's NodePort range 20000-20100") != std::string::npos);
  CHECK(l.axon({"apply", "-f", "-"}, svc("c", 20050)).code == 0);

  // A hostPort inside the range: applied, with a warning.
  auto host = l.axon({"apply", "-f", "-"},
                     "apiVersion: v1\nkind: Pod\nmetadata: {name: hp}\nspec:\n  containers:\n  - "
                     "name: app\n    image: nginx\n    ports:\n    - {containerPort: 80, hostPort: "
                     "20010}\n");
  CHECK(host.code == 0);
  CHECK(host.err.find("spec.containers[0].ports[0].hostPort: hostPort 20010 is inside the "
                      "NodePort range 20000-20100") != std::string::npos);
  CHECK(exists(l, "v1", "Pod", "default", "hp"));
}

TEST_CASE("apply: LB IPAM warnings (requested address taken or in no pool, sharing refused); "
          "a pool range that ends before it starts") {
  TestLab& l = lab();
  REQUIRE(l.axon({"apply", "-f", "-"}, ns_doc("default")).code == 0);
  REQUIRE(l.axon({"apply", "-f", "-"},
                 "apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata: {name: "
                 "pool}\nspec:\n  blocks: [{cidr: 10.0.0.240/28}]\n")
              .code == 0);
  auto lb = [](const std::string& name, const std::string& annotations, int port) {
    return "apiVersion: v1\nkind: Service\nmetadata:\n  name: " + name +
           "\n  annotations: " + annotations +
           "\nspec:\n  type: LoadBalancer\n  selector: {app: x}\n  ports: [{port: " +
           std::to_string(port) + "}]\n";
  };
  auto first = l.axon({"apply", "-f", "-"}, lb("first", "{lbipam.cilium.io/ips: 10.0.0.241}", 80));
  CHECK(first.code == 0);
  CHECK(first.err.empty());
  // Let the first one hold its address, as the operator would write it.
  auto live = l.store().get(ObjectRef{"v1", "Service", "default", "first"});
  REQUIRE(live.ok());
  REQUIRE(live->has_value());
  Json held = **live;
  held["status"]["loadBalancer"]["ingress"] = Json::array({{{"ip", "10.0.0.241"}}});
  REQUIRE(l.store().replace_status(held).ok());

  auto taken = l.axon({"apply", "-f", "-"}, lb("second", "{lbipam.cilium.io/ips: 10.0.0.241}", 80));
  CHECK(taken.code == 0);  // applied: it stays pending, as in Cilium
  CHECK(taken.err.find("LB IPAM will leave it pending (already_allocated): requested IP "
                       "10.0.0.241 is already allocated: Service default/first uses it") !=
        std::string::npos);
  auto outside = l.axon({"apply", "-f", "-"}, lb("third", "{lbipam.cilium.io/ips: 192.168.9.9}", 80));
  CHECK(outside.err.find("requested IP 192.168.9.9 is in no pool (pools: pool)") != std::string::npos);

  // A sharing key whose Service may not share (same port): warned, with the port.
  auto now = l.store().get(ObjectRef{"v1", "Service", "default", "first"});
  REQUIRE(now.ok());
  Json keyed = **now;
  keyed["metadata"]["annotations"] = {{"lbipam.cilium.io/sharing-key", "k"}};
  auto replaced = l.store().replace(keyed);
  REQUIRE(replaced.ok());
  REQUIRE(replaced->has_value());
  auto clash = l.axon({"apply", "-f", "-"}, lb("fourth", "{lbipam.cilium.io/sharing-key: k}", 80));
  CHECK(clash.code == 0);
  CHECK(clash.err.find("its sharing key finds no Service it may share an address with: port "
                       "80/TCP is also used by Service default/first") != std::string::npos);
  CHECK(l.axon({"apply", "-f", "-"}, lb("fifth", "{lbipam.cilium.io/sharing-key: k}", 8080))
            .err.empty());

  // The older version of the pool kind is accepted (Cilium's CRD serves both).
  auto older = l.axon({"apply", "-f", "-"},
                      "apiVersion: cilium.io/v2alpha1\nkind: CiliumLoadBalancerIPPool\nmetadata: "
                      "{name: old}\nspec:\n  blocks: [{cidr: 10.0.2.0/28}]\n");
  CHECK(older.code == 0);
  CHECK(older.out == "ciliumloadbalancerippool.cilium.io/old created\n");
  auto pools = l.store().list("cilium.io/v2", "CiliumLoadBalancerIPPool", "", "");
  REQUIRE(pools.ok());
  CHECK(pools->size() == 2);

  auto backwards = l.axon({"apply", "-f", "-"},
                          "apiVersion: cilium.io/v2\nkind: CiliumLoadBalancerIPPool\nmetadata: "
                          "{name: back}\nspec:\n  blocks: [{start: 10.0.1.20, stop: 10.0.1.10}]\n");
  CHECK(backwards.code == 2);
  CHECK(backwards.err.find("spec.blocks[0].stop: the range ends before it starts: start "
                           "10.0.1.20 comes after stop 10.0.1.10") != std::string::npos);
}

TEST_CASE("apply: a route whose backend names no Service is a warning naming the Services there") {
  TestLab& l = lab();
  REQUIRE(l.axon({"apply", "-f", "-"}, ns_doc("production") + "---\n" + ns_doc("gateway-api-system")).code == 0);
  REQUIRE(l.axon({"apply", "-f", kSeed + "service-fixed-ip.yaml"}).code == 0);
  // As install makes it (routes of other controllers' Gateways are theirs).
  REQUIRE(l.axon({"apply", "-f", "-"}, "apiVersion: gateway.networking.k8s.io/v1\nkind: GatewayClass\n"
                                       "metadata: {name: cilium}\n"
                                       "spec: {controllerName: io.cilium/gateway-controller}\n")
              .code == 0);
  auto seed = l.axon({"apply", "-f", kSeed + "gateway-and-route.yaml"});
  CHECK(seed.code == 0);  // a warning: applied, as Cilium would take it
  CHECK(seed.err.find("gateway-and-route.yaml:33: document 2 (HTTPRoute production/api-route): "
                      "spec.rules[0].backendRefs[0]: Service \"api-service\" port 8080 not found in "
                      "production; Services there: api (80/TCP)") != std::string::npos);
  CHECK(exists(l, "gateway.networking.k8s.io/v1", "HTTPRoute", "production", "api-route"));
  // Pointed at api:80, the same route applies without a word.
  std::ifstream in(kSeed + "gateway-and-route.yaml");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  text.replace(text.find("name: api-service"), 17, "name: api");
  text.replace(text.find("port: 8080"), 10, "port: 80");
  auto fixed = l.axon({"apply", "-f", "-"}, text);
  CHECK(fixed.code == 0);
  CHECK(fixed.err == "");
  CHECK(fixed.out == "gateway.gateway.networking.k8s.io/shared-gateway unchanged\n"
                     "httproute.gateway.networking.k8s.io/api-route configured\n");
}
