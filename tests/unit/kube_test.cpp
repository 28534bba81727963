// Kubeconfig resolution, API error decoding, and the "unchanged" test.
#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "axon/client/cluster_store.h"
#include "axon/client/kube_store.h"
#include "axon/client/kubeconfig.h"

using namespace axon;
using namespace axon::client;
namespace fs = std::filesystem;

namespace {

struct Dir {
  fs::path path;
  Dir() {
    std::string t = (fs::temp_directory_path() / "axon-kc-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~Dir() { fs::remove_all(path); }
  std::string write(const std::string& name, const std::string& content) const {
    std::ofstream(path / name) << content;
    return (path / name).string();
  }
};

const char* kTwoContexts = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod
  cluster:
    server: https://10.0.0.2:6443
    certificate-authority: ca.crt
- name: lab
  cluster:
    server: https://127.0.0.1:7445
    insecure-skip-tls-verify: true
    tls-server-name: kubernetes
users:
- name: admin
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: bot
  user:
    tokenFile: token
contexts:
- name: prod
  context: {cluster: prod, user: admin, namespace: production}
- name: lab
  context: {cluster: lab, user: bot}
)";

}  // namespace

TEST_CASE("kubeconfig: current context, *-data as base64, files relative to the kubeconfig") {
  Dir d;
  d.write("ca.crt", "CA-PEM");
  d.write("token", "s3cret\n");
  auto path = d.write("config", kTwoContexts);
  auto kc = load_kubeconfig(path, "");
  REQUIRE_MESSAGE(kc.ok(), (kc.ok() ? "" : kc.error().str()));
  CHECK(kc->context_name == "prod");
  CHECK(kc->server == "https://10.0.0.2:6443");
  CHECK(kc->ca_pem == "CA-PEM");
  CHECK(kc->client_cert_pem == "CERT");
  CHECK(kc->client_key_pem == "KEY");
  CHECK(kc->namespace_ == "production");
  auto lab = load_kubeconfig(path, "lab");
  REQUIRE(lab.ok());
  CHECK(lab->insecure_skip_tls_verify);
  CHECK(lab->tls_server_name == "kubernetes");
  CHECK(lab->token == "s3cret");  // newline trimmed
}

TEST_CASE("kubeconfig: several files, the first to define a name wins") {
  Dir d;
  auto a = d.write("a",
                   "clusters: [{name: c, cluster: {server: 'https://a:1'}}]\ncontexts: [{name: x, "
                   "context: {cluster: c}}]\ncurrent-context: x\n");
  auto b = d.write(
      "b",
      "clusters: [{name: c, cluster: {server: 'https://b:1'}}, {name: d, cluster: {server: "
      "'https://d:1'}}]\ncontexts: [{name: y, context: {cluster: d}}]\ncurrent-context: y\n");
  auto kc = load_kubeconfig(a + ":" + b, "");
  REQUIRE(kc.ok());
  CHECK(kc->context_name == "x");
  CHECK(kc->server == "https://a:1");
  auto y = load_kubeconfig(a + ":" + b, "y");
  REQUIRE(y.ok());
  CHECK(y->server == "https://d:1");
  // A missing file in a list is skipped, as kubectl does.
  CHECK(load_kubeconfig(a + ":" + (d.path / "missing").string(), "").ok());
}

TEST_CASE("kubeconfig: errors name what is wrong") {
  Dir d;
  auto path = d.write("config", kTwoContexts);
  auto missing_ctx = load_kubeconfig(path, "nope");
  REQUIRE_FALSE(missing_ctx.ok());
  CHECK(missing_ctx.error().message ==
        "context \"nope\" not found in " + path + "; contexts: lab, prod");
  auto no_ca = load_kubeconfig(path, "prod");  // ca.crt not written
  REQUIRE_FALSE(no_ca.ok());
  CHECK(no_ca.error().message.find("cluster \"prod\": certificate-authority: cannot read") == 0);
  auto exec = d.write("exec",
                      "clusters: [{name: c, cluster: {server: 'https://a:1'}}]\nusers: [{name: u, "
                      "user: {exec: {command: aws}}}]\ncontexts: [{name: x, context: {cluster: c, "
                      "user: u}}]\ncurrent-context: x\n");
  auto e = load_kubeconfig(exec, "");
  REQUIRE_FALSE(e.ok());
  CHECK(e.error().message.find("exec plugin, which axon does not support yet") !=
        std::string::npos);
  CHECK_FALSE(load_kubeconfig((d.path / "none").string(), "").ok());
  auto bad = d.write("bad", "clusters: [\n");
  CHECK(load_kubeconfig(bad, "").error().message.find("invalid YAML") != std::string::npos);
}

TEST_CASE("base64") {
  CHECK(*base64_decode("aGVsbG8=") == "hello");
  CHECK(*base64_decode("aGVs\nbG8") == "hello");
  CHECK_FALSE(base64_decode("a*b").ok());
}

TEST_CASE("API errors: Status bodies become one clear line") {
  ApiResponse r;
  r.code = 422;
  r.body = Json::parse(R"({"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Invalid",
    "message":"CiliumNetworkPolicy.cilium.io \"x\" is invalid: spec.ingress[0].from: unknown field","code":422,
    "details":{"causes":[{"reason":"FieldValueInvalid","field":"spec.ingress[0].from","message":"unknown field"},
                         {"field":"spec.egress","message":"Required value"}]}})");
  CHECK(describe_api_error(r) ==
        "422 Invalid: CiliumNetworkPolicy.cilium.io \"x\" is invalid: spec.ingress[0].from: "
        "unknown field "
        "(spec.ingress[0].from: unknown field; spec.egress: Required value)");
  ApiResponse plain;
  plain.code = 502;
  plain.raw = "Bad Gateway\n";
  CHECK(describe_api_error(plain) == "HTTP 502: Bad Gateway");
}

TEST_CASE("contains_fields: server-added fields do not make an object changed") {
  Json desired = {{"kind", "ConfigMap"},
                  {"metadata", {{"name", "a"}}},
                  {"data", {{"k", "v"}}},
                  {"list", Json::array({{{"name", "x"}}})},
                  {"n", 1}};
  Json live = desired;
  live["metadata"]["resourceVersion"] = "12";
  live["status"] = {{"ready", true}};
  live["list"][0]["defaulted"] = "yes";
  live["n"] = 1.0;
  CHECK(contains_fields(live, desired));
  live["data"]["k"] = "w";
  CHECK_FALSE(contains_fields(live, desired));
  live = desired;
  live["list"].push_back({{"name", "y"}});
  CHECK_FALSE(contains_fields(live, desired));  // a list of other length differs
}

TEST_CASE("KubeClient refuses a server address that is not a URL") {
  KubeConfig kc;
  kc.server = "10.0.0.2:6443";
  auto c = KubeClient::create(kc);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("must start with https://") != std::string::npos);
}
