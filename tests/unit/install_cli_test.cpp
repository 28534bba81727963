// `axon install` as a user runs it, in-process: what a user of install meets.
#include <doctest/doctest.h>

#include <cstdio>
#include <fstream>

#include "cli_runner.h"

using axon::test::run_axon;

namespace {

const std::string kSeedValues = std::string(AXON_SEED_DIR) + "/manifests/cilium-values.yaml";

struct TempFile {
  std::string path;
  explicit TempFile(const std::string& content) {
    char tmpl[] = "/tmp/axon-values-XXXXXX.yaml";
    int fd = mkstemps(tmpl, 5);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
    std::ofstream(path) << content;
  }
  ~TempFile() { std::remove(path.c_str()); }
};

}  // namespace

TEST_CASE(
    "install: the seed's values as pasted fail with exit 2 naming gatewayAPI; nothing happens") {
  auto r = run_axon({"install", "-f", kSeedValues, "--dry-run"});
  CHECK(r.code == 2);
  CHECK(r.out.empty());
  CHECK(r.err.find(kSeedValues + ":29: gatewayApi: not a chart key: the key is \"gatewayAPI\"") !=
        std::string::npos);
  CHECK(r.err.find("  run: axon values fix -f " + kSeedValues + " -w") != std::string::npos);
  CHECK(r.err.find("nothing was installed") != std::string::npos);
  // Not even a cluster is contacted: the same with a kubeconfig that does not exist.
  auto k = run_axon({"install", "-f", kSeedValues, "--kubeconfig", "/nonexistent/kubeconfig"});
  CHECK(k.code == 2);
  CHECK(k.err.find("kubeconfig") == std::string::npos);
}

TEST_CASE(
    "install: with the key corrected the manifests render; --set hubble.ui.enabled=false drops the "
    "UI") {
  auto r = run_axon({"install", "-f", kSeedValues, "--set", "gatewayApi=null", "--set",
                     "gatewayAPI.enabled=true", "--dry-run"});
  CHECK(r.code == 0);
  CHECK(r.out.find("kind: GatewayClass") != std::string::npos);
  CHECK(r.out.find("name: hubble-ui") != std::string::npos);
  auto no_ui =
      run_axon({"install", "-f", kSeedValues, "--set", "gatewayApi=null,gatewayAPI.enabled=true",
                "--set", "hubble.ui.enabled=false", "--dry-run"});
  CHECK(no_ui.code == 0);
  CHECK(no_ui.out.find("hubble-ui") == std::string::npos);
  CHECK(no_ui.out.find("name: hubble-relay") != std::string::npos);
}

TEST_CASE("install: a misspelt key warns with the right suggestion; --strict makes it an error") {
  TempFile f("hubble:\n  enabled: true\n  relay:\n    enabeld: true\n");
  auto r = run_axon({"install", "-f", f.path, "--dry-run"});
  CHECK(r.code == 0);
  CHECK(r.err.find("warning: " + f.path +
                   ":4: hubble.relay.enabeld: unknown key; axon ignores it (did you mean "
                   "\"hubble.relay.enabled\"?)") != std::string::npos);
  auto strict = run_axon({"install", "-f", f.path, "--dry-run", "--strict"});
  CHECK(strict.code == 2);
  CHECK(strict.out.empty());
}

TEST_CASE(
    "install: kubeProxyReplacement without k8sServiceHost fails with exit 2 and the KubePrism "
    "hint") {
  TempFile f("kubeProxyReplacement: true\n");
  auto r = run_axon({"install", "-f", f.path, "--dry-run"});
  CHECK(r.code == 2);
  CHECK(
      r.err.find(
          f.path +
          ":1: kubeProxyReplacement: is true but k8sServiceHost and k8sServicePort are not set") !=
      std::string::npos);
  CHECK(r.err.find("on Talos use KubePrism: k8sServiceHost: localhost, k8sServicePort: 7445") !=
        std::string::npos);
}

TEST_CASE("install: bad input files and --set syntax are usage errors") {
  CHECK(run_axon({"install", "-f", "/nonexistent.yaml", "--dry-run"}).code == 2);
  auto bad = run_axon({"install", "--set", "novalue", "--dry-run"});
  CHECK(bad.code == 2);
  CHECK(bad.err.find("expected KEY=VALUE") != std::string::npos);
}

TEST_CASE(
    "install: --dry-run-helm-values prints the merged values; --talos-patch the Talos patch") {
  TempFile a("hubble:\n  relay:\n    enabled: true\n");
  auto r = run_axon(
      {"install", "-f", a.path, "--set", "hubble.ui.enabled=true", "--dry-run-helm-values"});
  CHECK(r.code == 0);
  CHECK(r.out == "hubble:\n  relay:\n    enabled: true\n  ui:\n    enabled: true\n");
  auto t = run_axon({"install", "--talos-patch"});
  CHECK(t.code == 0);
  CHECK(t.out.find("cni:\n      name: none\n  proxy:\n    disabled: true\n") != std::string::npos);
}

TEST_CASE("install without --dry-run and without a cluster says where it would go, exit 1") {
  TempFile f("hubble:\n  enabled: true\n");
  // A state directory with no lab (not the machine's /run/axon, where a real lab may be up).
  auto r = run_axon({"--state-dir", "/nonexistent-axon-state", "install", "-f", f.path});
  CHECK(r.code == 1);
  CHECK(r.err.find("--kubeconfig") != std::string::npos);
}

TEST_CASE("values fix -w repairs the seed's key and values validate agrees") {
  std::ifstream in(kSeedValues);
  std::stringstream seed;
  seed << in.rdbuf();
  TempFile f(seed.str());
  CHECK(run_axon({"values", "validate", "-f", f.path}).code == 1);
  auto fix = run_axon({"values", "fix", "-f", f.path, "-w"});
  CHECK(fix.code == 0);
  CHECK(fix.err.find(f.path + ": line 29: gatewayApi -> gatewayAPI") != std::string::npos);
  auto ok = run_axon({"values", "validate", "-f", f.path});
  CHECK(ok.code == 0);
  CHECK(ok.out == "values are valid\n");
  auto json = run_axon({"values", "validate", "-f", kSeedValues, "-o", "json"});
  CHECK(json.code == 1);
  CHECK(json.out.find("\"path\": \"gatewayApi\"") != std::string::npos);
}
