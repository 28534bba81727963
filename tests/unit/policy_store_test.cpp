// `axon policy get` and `axon policy trace` against a cluster store: a real
// etcd (tests/support/etcd_process.h) behind a lab directory of our own, so
// nothing on the machine (a lab under /run/axon) is touched.
#include <doctest/doctest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "axon/client/etcd_store.h"
#include "cli_runner.h"
#include "etcd_process.h"

using axon::test::run_axon;
using Json = nlohmann::ordered_json;

namespace {

namespace fs = std::filesystem;

// A state directory holding one lab, "t", whose etcd is `etcd`.
class FakeLab {
 public:
  explicit FakeLab(const axon::test::EtcdProcess& etcd) {
    dir_ = fs::temp_directory_path() / ("axon-policy-lab-" + std::to_string(::getpid()));
    fs::create_directories(dir_ / "t");
    std::string target = etcd.target();  // unix:/tmp/axon-etcd-XXXX/etcd.sock:0
    fs::path etcd_dir = fs::path(target.substr(5, target.rfind("/etcd.sock") - 5));
    fs::create_directory_symlink(etcd_dir, dir_ / "t" / "etcd");
    std::ofstream(dir_ / "t" / "lab.json") << "{\"name\": \"t\"}\n";
  }
  ~FakeLab() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::string state_dir() const { return dir_.string(); }

 private:
  fs::path dir_;
};

Json cnp(const std::string& ns, const std::string& name, Json spec) {
  return {{"apiVersion", "cilium.io/v2"},
          {"kind", "CiliumNetworkPolicy"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", std::move(spec)}};
}

Json pod(const std::string& ns, const std::string& name, Json labels, Json ports = Json::array()) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", std::move(labels)}}},
          {"spec", {{"containers", {{{"name", "c"}, {"image", "x"}, {"ports", std::move(ports)}}}}}}};
}

}  // namespace

TEST_CASE("policy get and trace read policies and pods from the cluster store") {
  axon::test::EtcdProcess etcd;
  auto client = etcd.connect();
  REQUIRE(client != nullptr);
  axon::client::EtcdStore store(client, "test lab");
  FakeLab lab(etcd);

  auto apply = [&](const Json& o) { REQUIRE(store.apply(o).ok()); };
  apply(cnp("production", "default-deny",
            Json::parse(R"({"endpointSelector": {}, "ingress": [{}], "egress": [{}]})")));
  apply(cnp("production", "allow-frontend-to-api",
            Json::parse(R"({"endpointSelector": {"matchLabels": {"role": "api"}},
                            "ingress": [{"fromEndpoints": [{"matchLabels": {"role": "frontend"}}],
                                         "toPorts": [{"ports": [{"port": "http"}]}]}]})")));
  apply(cnp("production", "frontend-to-api",
            Json::parse(R"({"endpointSelector": {"matchLabels": {"role": "frontend"}},
                            "egress": [{"toEndpoints": [{"matchLabels": {"role": "api"}}]}]})")));
  apply(cnp("production", "broken", Json::parse(R"({"endpointSelector": {}, "ingress": []})")));
  apply({{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "production"}}}});
  apply(pod("production", "frontend-1", {{"role", "frontend"}, {"pod-template-hash", "abc"}}));
  apply(pod("production", "api-1", {{"role", "api"}},
            Json::parse(R"([{"name": "http", "containerPort": 8080, "protocol": "TCP"}])")));

  auto r = run_axon({"policy", "get", "--state-dir", lab.state_dir()});
  CHECK(r.code == 0);
  CHECK(r.out.find("CiliumNetworkPolicy   production   default-deny            1       True") !=
        std::string::npos);
  CHECK(r.out.find("broken") != std::string::npos);
  CHECK(r.out.find("False") != std::string::npos);
  CHECK(r.err.find("error: CiliumNetworkPolicy production/broken: spec.ingress: empty list") == 0);

  r = run_axon({"policy", "get", "--state-dir", lab.state_dir(), "-n", "other", "-o", "json"});
  CHECK(r.code == 0);
  CHECK(nlohmann::json::parse(r.out).empty());

  // The pods' labels come from the store, and api's named port "http" too.
  std::vector<std::string> args = {"policy", "trace", "--state-dir", lab.state_dir(),
                                   "--src-pod", "production/frontend-1",
                                   "--dst-pod", "production/api-1", "--dport", "8080/TCP"};
  r = run_axon(args);
  CHECK(r.code == 0);
  CHECK(r.out.find("k8s:role=frontend") != std::string::npos);
  CHECK(r.out.find("pod-template-hash") == std::string::npos);  // not identity-relevant
  CHECK(r.out.ends_with("Final verdict: ALLOWED\n"));
  CHECK(r.err.find("CiliumNetworkPolicy production/broken in the store: invalid") !=
        std::string::npos);
  args[9] = "9090/TCP";
  r = run_axon(args);
  CHECK(r.out.ends_with("Final verdict: DENIED\n"));

  r = run_axon({"policy", "trace", "--state-dir", lab.state_dir(), "--src-pod", "production/nope",
                "-d", "reserved:world", "--dport", "80"});
  CHECK(r.code == 1);
  CHECK(r.err.find("no pod production/nope") != std::string::npos);
}
