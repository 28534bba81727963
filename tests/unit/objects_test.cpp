// The library under apply, get and delete: kind names as kubectl reads
// them, manifest loading, validation with file/document/line/field and the
// validator hook, namespaces and order, kubectl's tables and ages.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "axon/client/apply.h"
#include "axon/client/printers.h"
#include "axon/client/resources.h"
#include "axon/client/validation.h"

using namespace axon;
using namespace axon::client;
using namespace std::chrono_literals;

namespace {

const std::string kSeed = std::string(AXON_SEED_DIR) + "/manifests/";

ManifestSet parse(const std::string& yaml, const std::string& file = "app.yaml") {
  return load_manifest_text(yaml, file);
}

std::vector<Diagnostic> validate(const std::string& yaml) {
  auto set = parse(yaml);
  REQUIRE(set.problems.empty());
  return validate_manifests(builtin_validators(), set.objects);
}

const Diagnostic* find_path(const std::vector<Diagnostic>& ds, const std::string& path) {
  for (const auto& d : ds) {
    if (d.path == path) return &d;
  }
  return nullptr;
}

std::string errors_text(const std::vector<Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds)
    s += d.headline() + (d.fix.empty() ? "" : " [fix: " + d.fix + "]") + "\n";
  return s;
}

// A temporary directory removed at the end of the test.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "axon-objects-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  std::string write(const std::string& name, const std::string& content) const {
    auto p = path / name;
    std::filesystem::create_directories(p.parent_path());
    std::ofstream(p) << content;
    return p.string();
  }
};

SystemTime at(const char* rfc3339) {
  return *parse_rfc3339(rfc3339);
}

}  // namespace

TEST_CASE("kind names as kubectl reads them: plural, singular, short, Kind, kind.group") {
  struct Case {
    const char* word;
    const char* kind;
  };
  for (auto c : std::vector<Case>{
           {"pods", "Pod"},
           {"pod", "Pod"},
           {"po", "Pod"},
           {"Pod", "Pod"},
           {"PODS", "Pod"},
           {"pods.v1", "Pod"},
           {"svc", "Service"},
           {"services", "Service"},
           {"deploy", "Deployment"},
           {"deployments.apps", "Deployment"},
           {"deployment.v1.apps", "Deployment"},
           {"ds", "DaemonSet"},
           {"ns", "Namespace"},
           {"no", "Node"},
           {"cm", "ConfigMap"},
           {"cnp", "CiliumNetworkPolicy"},
           {"ciliumnetworkpolicies.cilium.io", "CiliumNetworkPolicy"},
           {"ccnp", "CiliumClusterwideNetworkPolicy"},
           {"ippools", "CiliumLoadBalancerIPPool"},
           {"l2announcement", "CiliumL2AnnouncementPolicy"},
           {"ciliuml2announcementpolicies.v2alpha1.cilium.io", "CiliumL2AnnouncementPolicy"},
           {"gtw", "Gateway"},
           {"httproutes", "HTTPRoute"},
           {"gatewayclass", "GatewayClass"},
           {"grpcroutes", "GRPCRoute"},
           {"tcproutes", "TCPRoute"},
           {"tcproute.gateway.networking.k8s.io", "TCPRoute"},
           {"refgrant", "ReferenceGrant"},
           {"referencegrants", "ReferenceGrant"},
           {"endpointslices", "EndpointSlice"},
           {"cep", "CiliumEndpoint"},
           {"ciliumidentities", "CiliumIdentity"},
           {"netpol", "NetworkPolicy"}}) {
    CAPTURE(c.word);
    auto r = resolve_resource(c.word);
    REQUIRE(r.ok());
    CHECK(r->kind == c.kind);
  }
  auto typo = resolve_resource("pdos");
  REQUIRE_FALSE(typo.ok());
  CHECK(typo.error().message.starts_with(
      "the server doesn't have a resource type \"pdos\" (did you mean \"pods\"?); axon serves: "));
  CHECK(typo.error().message.find("ciliumnetworkpolicies (cnp, ciliumnp)") != std::string::npos);
  CHECK_FALSE(resolve_resource("deployments.cilium.io").ok());  // wrong group
  CHECK_FALSE(resolve_resource("pods.v2").ok());
  CHECK(resolve_resource("deploymnets.apps")
            .error()
            .message.find("did you mean \"deployments.apps\"?") != std::string::npos);

  auto svc = *resolve_resource("svc");
  CHECK(svc.qualified_singular() == "service");
  CHECK(svc.qualified_plural() == "services");
  auto ds = *resolve_resource("ds");
  CHECK(ds.qualified_singular() == "daemonset.apps");
  CHECK(ds.qualified_plural() == "daemonsets.apps");
  auto plurals = resource_plurals();
  CHECK(std::is_sorted(plurals.begin(), plurals.end()));
  CHECK(std::adjacent_find(plurals.begin(), plurals.end()) == plurals.end());  // once each
  // The pool kind and GRPCRoute are served in two versions each.
  CHECK(plurals.size() + 2 == known_resources().size());
  CHECK(resolve_resource("grpcroutes")->version == "v1");
  CHECK(resolve_resource("ippools")->version == "v2");
  CHECK(resolve_resource("ciliumloadbalancerippools.v2alpha1.cilium.io")->version == "v2alpha1");
}

TEST_CASE("ages as kubectl writes them") {
  struct Case {
    int64_t seconds;
    const char* text;
  };
  for (auto c : std::vector<Case>{{-5, "<invalid>"},
                                  {-1, "0s"},
                                  {0, "0s"},
                                  {5, "5s"},
                                  {119, "119s"},
                                  {120, "2m"},
                                  {200, "3m20s"},
                                  {599, "9m59s"},
                                  {600, "10m"},
                                  {179 * 60 + 59, "179m"},
                                  {3 * 3600, "3h"},
                                  {3 * 3600 + 5 * 60, "3h5m"},
                                  {8 * 3600, "8h"},
                                  {47 * 3600, "47h"},
                                  {48 * 3600, "2d"},
                                  {(3 * 24 + 4) * 3600, "3d4h"},
                                  {8 * 24 * 3600, "8d"},
                                  {729 * 24 * 3600, "729d"},
                                  {730 * 24 * 3600, "2y"},
                                  {(730 + 30) * 24 * 3600, "2y30d"},
                                  {int64_t{8} * 365 * 24 * 3600, "8y"}}) {
    CAPTURE(c.seconds);
    CHECK(human_duration(std::chrono::seconds(c.seconds)) == c.text);
  }
  CHECK(parse_rfc3339("2026-11-27T16:28:00Z").has_value());
  CHECK(*parse_rfc3339("2026-11-27T16:28:00.123456Z") == *parse_rfc3339("2026-11-27T16:28:00Z"));
  CHECK(*parse_rfc3339("2026-11-27T18:28:00+02:00") == *parse_rfc3339("2026-11-27T16:28:00Z"));
  CHECK_FALSE(parse_rfc3339("yesterday").has_value());
  Json o = {{"metadata", {{"creationTimestamp", "2026-01-01T00:00:00Z"}}}};
  CHECK(object_age(o, at("2026-01-01T00:03:20Z")) == "3m20s");
  CHECK(object_age(Json::object(), at("2026-01-01T00:00:00Z")) == "<unknown>");
}

TEST_CASE("the seed's manifests pass validation as pasted, but for its policies") {
  for (const char* f : {"service-fixed-ip.yaml", "services-sharing-key.yaml", "lb-ip-pool.yaml",
                        "l2-announcement-policy.yaml", "gateway-and-route.yaml"}) {
    CAPTURE(f);
    std::istringstream none;
    auto set = load_manifests({kSeed + f}, false, none);
    REQUIRE(set.problems.empty());
    REQUIRE_FALSE(set.objects.empty());
    auto ds = validate_manifests(builtin_validators(), set.objects);
    CHECK_MESSAGE(ds.empty(), errors_text(ds));
  }
  // The policy engine's validator refuses each of the seed's policies with
  // the fix (they protect nothing as written; see tests/policy/ for all of it).
  for (const auto& [f, what] : std::vector<std::pair<std::string, std::string>>{
           {"policy-default-deny.yaml", "spec.ingress: empty list enables no default deny"},
           {"policy-allow-dns.yaml", "spec.egress[0]: \"to\", \"namespaceSelector\""},
           {"policy-allow-frontend-to-api.yaml", "spec.ingress[0]: \"from\" and \"podSelector\""},
           {"policy-allow-api-to-upstream.yaml", "spec.egress[0]: \"to\""}}) {
    CAPTURE(f);
    std::istringstream none;
    auto set = load_manifests({kSeed + f}, false, none);
    REQUIRE(set.problems.empty());
    auto ds = validate_manifests(builtin_validators(), set.objects);
    REQUIRE_FALSE(ds.empty());
    bool found = false;
    for (const auto& d : ds) {
      if (d.severity == Severity::error && d.headline().find(what) != std::string::npos) {
        found = true;
        CHECK(d.command == "axon policy fix -f " + kSeed + f + " -w");
        CHECK(d.location.line > 0);
      }
    }
    CHECK_MESSAGE(found, errors_text(ds));
  }
  std::istringstream none;
  auto gw = load_manifests({kSeed + "gateway-and-route.yaml"}, false, none);
  REQUIRE(gw.objects.size() == 2);
  CHECK(gw.objects[1].document == 2);
  CHECK(gw.objects[1].where("spec.rules[0].backendRefs[0].port").line == 34);
}

TEST_CASE("invalid objects: file, document, line, field, what is wrong and the fix") {
  const std::string yaml =
      "apiVersion: v1\n"                  // 1
      "kind: Namespace\n"                 // 2
      "metadata:\n"                       // 3
      "  name: Demo_Space\n"              // 4
      "---\n"                             // 5
      "apiVersion: v1\n"                  // 6
      "kind: Service\n"                   // 7
      "metadata:\n"                       // 8
      "  name: web\n"                     // 9
      "  namespace: demo\n"               // 10
      "  labels:\n"                       // 11
      "    version: 1.0\n"                // 12
      "spec:\n"                           // 13
      "  type: Loadbalancer\n"            // 14
      "  ports:\n"                        // 15
      "    - port: 70000\n"               // 16
      "      protocol: tcp\n"             // 17
      "      name: http\n"                // 18
      "    - port: \"443\"\n"             // 19
      "      targetPort: \"8443\"\n"      // 20
      "---\n"                             // 21
      "apiVersion: cilium.io/v2\n"        // 22
      "kind: CiliumLoadBalancerIPPool\n"  // 23
      "metadata:\n"                       // 24
      "  name: pool\n"                    // 25
      "  namespace: default\n"            // 26
      "spec:\n"                           // 27
      "  blocks:\n"                       // 28
      "    - cidr: 10.0.0.240/33\n"       // 29
      "---\n"                             // 30
      "apiVersion: v1\n"                  // 31
      "kind: Servce\n"                    // 32
      "metadata: {name: x}\n";            // 33
  auto ds = validate(yaml);
  INFO(errors_text(ds));

  const Diagnostic* name = find_path(ds, "metadata.name");
  REQUIRE(name != nullptr);
  CHECK(name->headline() ==
        "error: app.yaml:4: document 1 (Namespace Demo_Space): metadata.name: invalid name "
        "\"Demo_Space\": a lowercase RFC 1123 label must consist of lower case alphanumeric "
        "characters or '-', and must start and end with an alphanumeric character");
  CHECK(name->fix == "use a name like \"demo-space\"");

  const Diagnostic* port = find_path(ds, "spec.ports[0].port");
  REQUIRE(port != nullptr);
  CHECK(port->headline() ==
        "error: app.yaml:16: document 2 (Service demo/web): spec.ports[0].port: 70000 is out of "
        "range: must be 1-65535");
  const Diagnostic* proto = find_path(ds, "spec.ports[0].protocol");
  REQUIRE(proto != nullptr);
  CHECK(proto->location.line == 17);
  CHECK(proto->fix == "write TCP (the letter case matters)");
  const Diagnostic* type = find_path(ds, "spec.type");
  REQUIRE(type != nullptr);
  CHECK(type->fix == "write LoadBalancer (the letter case matters)");
  const Diagnostic* quoted = find_path(ds, "spec.ports[1].port");
  REQUIRE(quoted != nullptr);
  CHECK(quoted->message == "must be a number, not the string \"443\"");
  CHECK(quoted->fix == "write it without quotes: port: 443");
  CHECK(find_path(ds, "spec.ports[1].targetPort") != nullptr);
  CHECK(find_path(ds, "spec.ports[1].name") != nullptr);  // two ports need names
  const Diagnostic* label = find_path(ds, "metadata.labels.version");
  REQUIRE(label != nullptr);
  CHECK(label->location.line == 12);
  CHECK(label->fix == "quote it: version: \"1.0\"");

  const Diagnostic* scope = find_path(ds, "metadata.namespace");
  REQUIRE(scope != nullptr);
  CHECK(scope->document == 3);
  CHECK(scope->location.line == 26);
  CHECK(scope->message.find("cluster-scoped") != std::string::npos);
  const Diagnostic* cidr = find_path(ds, "spec.blocks[0].cidr");
  REQUIRE(cidr != nullptr);
  CHECK(cidr->location.line == 29);

  const Diagnostic* kind = find_path(ds, "kind");
  REQUIRE(kind != nullptr);
  CHECK(kind->document == 4);
  CHECK(kind->location.line == 32);
  CHECK(kind->message.starts_with("unknown kind \"Servce\"; axon serves "));
  CHECK(kind->fix == "did you mean kind: Service?");
  for (const auto& d : ds) CHECK(d.severity == Severity::error);
}

TEST_CASE(
    "workloads: selector must match the template, containers need a name and image or command") {
  auto ds = validate(
      "apiVersion: apps/v1\n"
      "kind: Deployment\n"
      "metadata: {name: api, namespace: prod}\n"
      "spec:\n"
      "  replicas: -1\n"
      "  selector:\n"
      "    matchLabels: {app: api}\n"
      "  template:\n"
      "    metadata:\n"
      "      labels: {app: web}\n"
      "    spec:\n"
      "      containers:\n"
      "        - name: Server\n"
      "          command: sleep 10\n"
      "        - image: nginx\n"
      "---\n"
      "apiVersion: apps/v1\n"
      "kind: DaemonSet\n"
      "metadata: {name: agent}\n"
      "spec:\n"
      "  template:\n"
      "    metadata: {labels: {app: agent}}\n"
      "    spec:\n"
      "      containers: [{name: agent}]\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: Pod\n"
      "metadata: {name: p}\n"
      "spec: {}\n");
  INFO(errors_text(ds));
  const Diagnostic* sel = find_path(ds, "spec.template.metadata.labels");
  REQUIRE(sel != nullptr);
  CHECK(sel->message ==
        "selector does not match template labels: app is \"web\", the selector wants \"api\"");
  CHECK(find_path(ds, "spec.replicas") != nullptr);
  CHECK(find_path(ds, "spec.template.spec.containers[0].name") != nullptr);
  const Diagnostic* cmd = find_path(ds, "spec.template.spec.containers[0].command");
  REQUIRE(cmd != nullptr);
  CHECK(cmd->message == "must be a list of words, not one string");
  CHECK(find_path(ds, "spec.template.spec.containers[1].name") != nullptr);
  const Diagnostic* ds_sel = find_path(ds, "spec.selector");
  REQUIRE(ds_sel != nullptr);
  CHECK(ds_sel->object == "DaemonSet agent");
  const Diagnostic* no_image = find_path(ds, "spec.template.spec.containers[0]");
  REQUIRE(no_image != nullptr);
  CHECK(no_image->message == "needs an image or a command");
  const Diagnostic* pod = find_path(ds, "spec.containers");
  REQUIRE(pod != nullptr);
  CHECK(pod->document == 3);

  CHECK(validate("apiVersion: apps/v1\n"
                 "kind: Deployment\n"
                 "metadata: {name: api}\n"
                 "spec:\n"
                 "  selector: {matchLabels: {app: api}}\n"
                 "  template:\n"
                 "    metadata: {labels: {app: api, tier: backend}}\n"
                 "    spec: {containers: [{name: api, command: [axon, workload, http-echo]}]}\n")
            .empty());
}

TEST_CASE("unknown fields, wrong apiVersion, missing name") {
  auto ds = validate(
      "apiVersion: v1\n"
      "kind: ConfigMap\n"
      "metadata:\n"
      "  name: cfg\n"
      "  lables: {a: b}\n"
      "data:\n"
      "  port: 8080\n"
      "---\n"
      "apiVersion: apps/v2\n"
      "kind: Deployment\n"
      "metadata: {name: x}\n"
      "---\n"
      "apiVersion: v1\n"
      "kind: Service\n"
      "metdata: {name: x}\n"
      "spec: {ports: [{port: 80}]}\n");
  INFO(errors_text(ds));
  const Diagnostic* lables = find_path(ds, "metadata.lables");
  REQUIRE(lables != nullptr);
  CHECK(lables->fix == "did you mean \"labels\"?");
  const Diagnostic* data = find_path(ds, "data.port");
  REQUIRE(data != nullptr);
  CHECK(data->fix == "quote it: port: \"8080\"");
  const Diagnostic* api = find_path(ds, "apiVersion");
  REQUIRE(api != nullptr);
  CHECK(api->message == "Deployment is not served at apps/v2; axon serves it at apps/v1");
  CHECK(api->fix == "write apiVersion: apps/v1");
  const Diagnostic* metdata = find_path(ds, "metdata");
  REQUIRE(metdata != nullptr);
  CHECK(metdata->fix == "did you mean \"metadata\"?");
  CHECK(find_path(ds, "metadata") != nullptr);  // and so there is no name
}

TEST_CASE("the validator hook: a registered validator runs for its kinds, located like the rest") {
  // The policy engine's validator is built in; this test adds one more.
  ValidatorRegistry registry;
  CHECK_FALSE(registry.has_validator({"cilium.io", "CiliumNetworkPolicy"}));
  CHECK(builtin_validators().has_validator({"cilium.io", "CiliumNetworkPolicy"}));
  int calls = 0;
  registry.add(policy_kinds(), [&calls](const ManifestObject& m) {
    ++calls;
    std::vector<Diagnostic> out;
    const Json& spec = m.object["spec"];
    if (spec.contains("ingress") && spec["ingress"].empty()) {
      Diagnostic d;
      d.path = "spec.ingress";
      d.message = "empty list enables no default deny";
      d.fix = "write ingress: [{}]";
      out.push_back(d);
    }
    return out;
  });
  CHECK(registry.has_validator({"cilium.io", "CiliumClusterwideNetworkPolicy"}));
  CHECK(registry.has_validator({"networking.k8s.io", "NetworkPolicy"}));
  std::istringstream none;
  auto set = load_manifests({kSeed + "policy-default-deny.yaml", kSeed + "service-fixed-ip.yaml"},
                            false, none);
  REQUIRE(set.objects.size() == 2);
  auto ds = validate_manifests(registry, set.objects);
  CHECK(calls == 1);  // not for the Service
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].headline() == "error: " + kSeed +
                                "policy-default-deny.yaml:8: document 1 (CiliumNetworkPolicy "
                                "production/default-deny): spec.ingress: empty list enables no "
                                "default deny");
  // Kinds the generic checks refuse never reach the hook.
  auto bad = parse("apiVersion: cilium.io/v1\nkind: CiliumNetworkPolicy\nmetadata: {name: x}\n");
  CHECK(validate_manifests(registry, bad.objects).size() == 1);
  CHECK(calls == 1);
}

TEST_CASE("loading: files, sorted directories, stdin, JSON, List items, and what cannot be read") {
  TempDir dir;
  dir.write("b.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: b}\n");
  dir.write(
      "a.json",
      "{\"apiVersion\": \"v1\", \"kind\": \"List\", \"items\": [\n"
      "  {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a1\"}},\n"
      "  {\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"a2\"}}\n"
      "]}\n");
  dir.write("notes.txt", "not a manifest\n");
  dir.write("sub/c.yml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: c}\n---\n---\n");
  std::istringstream in("apiVersion: v1\nkind: Namespace\nmetadata: {name: stdin}\n");
  auto set = load_manifests({dir.path.string(), "-"}, false, in);
  CHECK(set.problems.empty());
  std::vector<std::string> names;
  for (const auto& o : set.objects) names.push_back(o.object["metadata"]["name"]);
  CHECK(names == std::vector<std::string>{"a1", "a2", "b", "stdin"});
  CHECK(set.objects[1].base_path == "items[1]");
  CHECK(set.objects[1].where("metadata.name").line == 3);
  CHECK(set.objects[3].file == "-");

  std::istringstream none;
  auto rec = load_manifests({dir.path.string()}, true, none);
  CHECK(rec.objects.size() == 4);

  auto bad = load_manifests(
      {(dir.path / "missing.yaml").string(), dir.write("broken.yaml", "a: [1,\n")}, false, none);
  REQUIRE(bad.problems.size() == 2);
  CHECK(bad.problems[0].headline().find("missing.yaml: the path \"") != std::string::npos);
  CHECK(bad.problems[1].headline().find("broken.yaml:") != std::string::npos);
  CHECK(bad.problems[1].headline().find("invalid YAML") != std::string::npos);

  TempDir empty;
  auto nothing = load_manifests({empty.path.string()}, false, none);
  REQUIRE(nothing.problems.size() == 1);
  CHECK(nothing.problems[0].message == "no .yaml, .yml or .json files in this directory");
}

TEST_CASE("namespaces: the default, an explicit -n that disagrees, the same object twice") {
  auto set = parse(
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: prod}\n---\n"
      "apiVersion: cilium.io/v2\nkind: CiliumClusterwideNetworkPolicy\nmetadata: {name: c}\n---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n");
  auto objects = set.objects;
  auto ds = assign_namespaces(objects, NamespaceChoice{"default", false});
  CHECK(objects[0].object["metadata"]["namespace"] == "default");
  CHECK(objects[1].object["metadata"]["namespace"] == "prod");
  CHECK_FALSE(objects[2].object["metadata"].contains("namespace"));
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].severity == Severity::warning);
  CHECK(ds[0].document == 4);
  CHECK(ds[0].message.starts_with("the same object as document 1 of app.yaml:3"));

  objects = set.objects;
  ds = assign_namespaces(objects, NamespaceChoice{"dev", true});
  CHECK(objects[0].object["metadata"]["namespace"] == "dev");
  const Diagnostic* clash = find_path(ds, "metadata.namespace");
  REQUIRE(clash != nullptr);
  CHECK(clash->severity == Severity::error);
  CHECK(clash->message ==
        "the namespace from the provided object \"prod\" does not match the namespace \"dev\" "
        "given with -n");
  CHECK(clash->fix == "pass -n prod, or leave -n out to use each object's own");
}

TEST_CASE("apply order: CRDs, Namespaces, then config, RBAC, Services, workloads, the rest") {
  auto set = parse(
      "apiVersion: cilium.io/v2\nkind: CiliumNetworkPolicy\nmetadata: {name: p}\n---\n"
      "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n---\n"
      "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n---\n"
      "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n---\n"
      "apiVersion: v1\nkind: Namespace\nmetadata: {name: n}\n---\n"
      "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: "
      "x}\n---\n"
      "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: g}\n");
  auto kinds = [](const std::vector<ManifestObject>& os) {
    std::vector<std::string> k;
    for (const auto& o : os) k.push_back(o.object["kind"]);
    return k;
  };
  auto objects = set.objects;
  sort_for_apply(objects);
  CHECK(kinds(objects) == std::vector<std::string>{"CustomResourceDefinition", "Namespace",
                                                   "ConfigMap", "Service", "Deployment",
                                                   "CiliumNetworkPolicy", "Gateway"});
  sort_for_delete(objects);
  CHECK(kinds(objects) == std::vector<std::string>{"CiliumNetworkPolicy", "Gateway", "Deployment",
                                                   "Service", "ConfigMap", "Namespace",
                                                   "CustomResourceDefinition"});
}

TEST_CASE("tables: kubectl's columns for pods, services, deployments, daemonsets, nodes") {
  const SystemTime now = at("2026-03-01T12:00:00Z");
  Json pod = {
      {"apiVersion", "v1"},
      {"kind", "Pod"},
      {"metadata",
       {{"name", "api-1"},
        {"namespace", "production"},
        {"creationTimestamp", "2026-03-01T11:40:00Z"},
        {"labels", {{"role", "api"}}}}},
      {"spec", {{"nodeName", "node2"}, {"containers", {{{"name", "api"}}, {{"name", "log"}}}}}},
      {"status",
       {{"phase", "Running"},
        {"podIP", "10.244.2.5"},
        {"conditions", {{{"type", "Ready"}, {"status", "False"}}}},
        {"containerStatuses",
         {{{"name", "api"},
           {"ready", true},
           {"restartCount", 2},
           {"state", {{"running", Json::object()}}},
           {"lastState", {{"terminated", {{"finishedAt", "2026-03-01T11:55:00Z"}}}}}},
          {{"name", "log"},
           {"ready", false},
           {"restartCount", 0},
           {"state", {{"waiting", {{"reason", "CrashLoopBackOff"}}}}}}}}}}};
  Json pending = {{"apiVersion", "v1"},
                  {"kind", "Pod"},
                  {"metadata", {{"name", "new"}, {"namespace", "production"}}},
                  {"spec", {{"containers", {{{"name", "c"}}}}}}};
  auto r = *resolve_resource("pods");
  auto t = object_table(r, {pod, pending}, TableOptions{false, false, false, false, now});
  CHECK(t.header == std::vector<std::string>{"NAME", "READY", "STATUS", "RESTARTS", "AGE"});
  CHECK(t.rows[0] ==
        std::vector<std::string>{"api-1", "1/2", "CrashLoopBackOff", "2 (5m ago)", "20m"});
  CHECK(t.rows[1] == std::vector<std::string>{"new", "0/1", "Pending", "0", "<unknown>"});
  auto wide = object_table(r, {pod}, TableOptions{true, true, true, true, now});
  CHECK(wide.header == std::vector<std::string>{"NAMESPACE", "NAME", "READY", "STATUS", "RESTARTS",
                                                "AGE", "IP", "NODE", "NOMINATED NODE",
                                                "READINESS GATES", "LABELS"});
  CHECK(wide.rows[0] ==
        std::vector<std::string>{"production", "pod/api-1", "1/2", "CrashLoopBackOff", "2 (5m ago)",
                                 "20m", "10.244.2.5", "node2", "<none>", "<none>", "role=api"});

  Json lb = {{"apiVersion", "v1"},
             {"kind", "Service"},
             {"metadata", {{"name", "api"}, {"creationTimestamp", "2026-02-27T12:00:00Z"}}},
             {"spec",
              {{"type", "LoadBalancer"},
               {"clusterIP", "10.96.0.20"},
               {"selector", {{"role", "api"}}},
               {"ports",
                {{{"port", 80}, {"nodePort", 31080}, {"protocol", "TCP"}},
                 {{"port", 53}, {"protocol", "UDP"}}}}}}};
  auto svc =
      object_table(*resolve_resource("svc"), {lb}, TableOptions{true, false, false, false, now});
  CHECK(svc.header == std::vector<std::string>{"NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP",
                                               "PORT(S)", "AGE", "SELECTOR"});
  CHECK(svc.rows[0] == std::vector<std::string>{"api", "LoadBalancer", "10.96.0.20", "<pending>",
                                                "80:31080/TCP,53/UDP", "2d", "role=api"});
  lb["status"]["loadBalancer"]["ingress"] = {{{"ip", "10.0.0.241"}}};
  CHECK(object_table(*resolve_resource("svc"), {lb}, {}).rows[0][3] == "10.0.0.241");

  Json deploy = {
      {"kind", "Deployment"},
      {"metadata", {{"name", "api"}, {"creationTimestamp", "2026-03-01T09:00:00Z"}}},
      {"spec", {{"replicas", 3}}},
      {"status", {{"readyReplicas", 2}, {"updatedReplicas", 3}, {"availableReplicas", 2}}}};
  auto dt = object_table(*resolve_resource("deploy"), {deploy},
                         TableOptions{false, false, false, false, now});
  CHECK(dt.header == std::vector<std::string>{"NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"});
  CHECK(dt.rows[0] == std::vector<std::string>{"api", "2/3", "3", "2", "3h"});

  Json ds = {
      {"kind", "DaemonSet"},
      {"metadata", {{"name", "axon-agent"}, {"creationTimestamp", "2026-03-01T11:59:55Z"}}},
      {"spec", {{"template", {{"spec", {{"nodeSelector", {{"kubernetes.io/os", "linux"}}}}}}}}},
      {"status",
       {{"desiredNumberScheduled", 3},
        {"currentNumberScheduled", 3},
        {"numberReady", 2},
        {"updatedNumberScheduled", 3},
        {"numberAvailable", 2}}}};
  auto dst =
      object_table(*resolve_resource("ds"), {ds}, TableOptions{false, false, false, false, now});
  CHECK(dst.header == std::vector<std::string>{"NAME", "DESIRED", "CURRENT", "READY", "UP-TO-DATE",
                                               "AVAILABLE", "NODE SELECTOR", "AGE"});
  CHECK(dst.rows[0] == std::vector<std::string>{"axon-agent", "3", "3", "2", "3", "2",
                                                "kubernetes.io/os=linux", "5s"});

  Json node = {{"kind", "Node"},
               {"metadata",
                {{"name", "node1"},
                 {"creationTimestamp", "2026-02-20T12:00:00Z"},
                 {"labels", {{"node-role.kubernetes.io/control-plane", ""}}}}},
               {"status",
                {{"conditions", {{{"type", "Ready"}, {"status", "True"}}}},
                 {"nodeInfo", {{"kubeletVersion", "v1.32.0"}}}}}};
  auto nt =
      object_table(*resolve_resource("no"), {node}, TableOptions{false, false, false, false, now});
  CHECK(nt.header == std::vector<std::string>{"NAME", "STATUS", "ROLES", "AGE", "VERSION"});
  CHECK(nt.rows[0] == std::vector<std::string>{"node1", "Ready", "control-plane", "9d", "v1.32.0"});

  Json ns = {{"kind", "Namespace"},
             {"metadata", {{"name", "production"}, {"creationTimestamp", "2026-03-01T11:59:00Z"}}}};
  CHECK(object_table(*resolve_resource("ns"), {ns}, TableOptions{false, false, false, false, now})
            .rows[0] == std::vector<std::string>{"production", "Active", "60s"});

  Json cnp = {
      {"kind", "CiliumNetworkPolicy"},
      {"metadata", {{"name", "default-deny"}, {"creationTimestamp", "2026-03-01T11:00:00Z"}}},
      {"status", {{"conditions", {{{"type", "Valid"}, {"status", "True"}}}}}}};
  auto ct =
      object_table(*resolve_resource("cnp"), {cnp}, TableOptions{false, false, false, false, now});
  CHECK(ct.header == std::vector<std::string>{"NAME", "AGE", "VALID"});
  CHECK(ct.rows[0] == std::vector<std::string>{"default-deny", "60m", "True"});

  Json route = {{"kind", "HTTPRoute"},
                {"metadata", {{"name", "api-route"}}},
                {"spec", {{"hostnames", {"api.example.com"}}}}};
  CHECK(object_table(*resolve_resource("httproutes"), {route}, {}).rows[0][1] ==
        "[\"api.example.com\"]");
  // A kind without its own printer: NAME AGE.
  auto lease = object_table(*resolve_resource("endpointslices"), {}, {});
  CHECK(lease.header ==
        std::vector<std::string>{"NAME", "ADDRESSTYPE", "PORTS", "ENDPOINTS", "AGE"});
}

TEST_CASE("kubectl's List document and its empty-result message") {
  Json list = list_document({Json{{"kind", "Pod"}}});
  CHECK(
      list.dump() ==
      R"({"apiVersion":"v1","items":[{"kind":"Pod"}],"kind":"List","metadata":{"resourceVersion":""}})");
  CHECK(no_resources_message(*resolve_resource("pods"), "default", false) ==
        "No resources found in default namespace.");
  CHECK(no_resources_message(*resolve_resource("pods"), "default", true) == "No resources found");
  CHECK(no_resources_message(*resolve_resource("nodes"), "default", false) == "No resources found");
}
