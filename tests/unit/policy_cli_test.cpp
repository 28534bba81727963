// `axon policy ...` in-process: exit codes, streams, problem lines, JSON.
#include <doctest/doctest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli_runner.h"

using axon::test::run_axon;

namespace {

namespace fs = std::filesystem;

// The seed post's default-deny and allow-frontend-to-api, as printed.
const char* kDefaultDeny =
    "apiVersion: cilium.io/v2\n"
    "kind: CiliumNetworkPolicy\n"
    "metadata:\n"
    "  name: default-deny\n"
    "  namespace: production\n"
    "spec:\n"
    "  endpointSelector: {}\n"
    "  ingress: []\n"
    "  egress: []\n";
const char* kFrontendToApi =
    "apiVersion: cilium.io/v2\n"
    "kind: CiliumNetworkPolicy\n"
    "metadata:\n"
    "  name: allow-frontend-to-api\n"
    "  namespace: production\n"
    "spec:\n"
    "  endpointSelector:\n"
    "    matchLabels:\n"
    "      role: api\n"
    "  ingress:\n"
    "    - from:\n"
    "        - podSelector:\n"
    "            matchLabels:\n"
    "              role: frontend\n";

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() / ("axon-policy-cli-" + std::to_string(::getpid()) + "-" +
                                         std::to_string(counter_++));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  std::string write(const std::string& name, const std::string& text) const {
    auto p = path_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  std::string read(const std::string& name) const {
    std::ifstream in(path_ / name);
    std::ostringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
  static inline int counter_ = 0;
};

size_t lines(const std::string& s) { return static_cast<size_t>(std::count(s.begin(), s.end(), '\n')); }

}  // namespace

TEST_CASE("policy validate: the seed's default-deny fails with one line per problem") {
  TempDir d;
  auto file = d.write("policy-default-deny.yaml", kDefaultDeny);
  auto r = run_axon({"policy", "validate", "-f", file});
  CHECK(r.code == 1);
  CHECK(r.err.empty());
  CHECK(lines(r.out) == 3);
  CHECK(r.out.find("error: " + file +
                   ":8: document 1 (CiliumNetworkPolicy production/default-deny): spec.ingress: "
                   "empty list enables no default deny, so this policy blocks nothing; write "
                   "\"ingress: [{}]\" to deny all ingress (or set enableDefaultDeny.ingress: "
                   "true); run: axon policy fix -f " +
                   file + " -w\n") == 0);
  CHECK(r.out.find("Validation failed: 2 errors, 0 warnings (1 policy in 1 file)\n") !=
        std::string::npos);
}

TEST_CASE("policy validate -o json: every problem with its fields") {
  TempDir d;
  auto file = d.write("f.yaml", kFrontendToApi);
  auto r = run_axon({"policy", "validate", "-f", file, "-o", "json"});
  CHECK(r.code == 1);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["valid"] == false);
  CHECK(j["errors"] == 1);
  REQUIRE(j["problems"].size() == 1);
  const auto& p = j["problems"][0];
  CHECK(p["severity"] == "error");
  CHECK(p["file"] == file);
  CHECK(p["document"] == 1);
  CHECK(p["line"] == 11);
  CHECK(p["object"] == "CiliumNetworkPolicy production/allow-frontend-to-api");
  CHECK(p["path"] == "spec.ingress[0]");
  CHECK(p["fixable"] == true);
  CHECK(p["fixCommand"] == "axon policy fix -f " + file + " -w");
  CHECK(p["fix"].get<std::string>().find("{fromEndpoints: [{matchLabels: {role: frontend}}]}") !=
        std::string::npos);
  CHECK(j["policies"][0]["valid"] == false);
}

TEST_CASE("policy fix prints the fixed file; -w writes it; then validate passes with the set warning") {
  TempDir d;
  auto deny = d.write("deny.yaml", kDefaultDeny);
  auto allow = d.write("allow.yaml", kFrontendToApi);
  auto r = run_axon({"policy", "fix", "-f", deny});
  CHECK(r.code == 0);
  CHECK(r.out.find("  ingress:\n    - {}\n  egress:\n    - {}\n") != std::string::npos);
  CHECK(r.err.find("fixed: " + deny + ": document 1 (CiliumNetworkPolicy production/default-deny): "
                   "spec.ingress: empty list -> [{}]") == 0);
  CHECK(d.read("deny.yaml") == kDefaultDeny);  // untouched without -w

  r = run_axon({"policy", "fix", "-f", deny, "-f", allow});
  CHECK(r.code == 2);
  CHECK(r.err.find("use -w") != std::string::npos);

  r = run_axon({"policy", "fix", "-f", d.path(), "-w"});
  CHECK(r.code == 0);
  CHECK(r.out.find("wrote " + allow + " (1 fix)\n") != std::string::npos);
  CHECK(r.out.find("wrote " + deny + " (2 fixes)\n") != std::string::npos);
  CHECK(d.read("allow.yaml").find("fromEndpoints") != std::string::npos);

  r = run_axon({"policy", "validate", "-f", d.path()});
  CHECK(r.code == 0);
  CHECK(r.out.find("warning: " + allow) == 0);
  CHECK(r.out.find("sources' egress is default-deny") != std::string::npos);
  CHECK(r.out.find("All policies are valid: 2 policies in 2 files, 1 warning\n") !=
        std::string::npos);

  r = run_axon({"policy", "fix", "-f", deny});
  CHECK(r.code == 0);
  CHECK(r.err.find("nothing to fix") != std::string::npos);
}

TEST_CASE("policy trace: both ends, rule by rule, and a final verdict") {
  TempDir d;
  d.write("deny.yaml", kDefaultDeny);
  d.write("allow.yaml", kFrontendToApi);
  run_axon({"policy", "fix", "-f", d.path(), "-w"});
  std::vector<std::string> args = {"policy", "trace", "-f", d.path(),
                                   "-s", "k8s:role=frontend,k8s:io.kubernetes.pod.namespace=production",
                                   "-d", "k8s:role=api,k8s:io.kubernetes.pod.namespace=production",
                                   "--dport", "8080/TCP"};
  auto r = run_axon(args);
  CHECK(r.code == 0);
  CHECK(r.out.starts_with(std::string(64, '-') + "\nTracing From: [k8s:io.kubernetes.pod.namespace="
                          "production, k8s:role=frontend] => To: [k8s:io.kubernetes.pod.namespace="
                          "production, k8s:role=api] Ports: [8080/TCP]\n"));
  CHECK(r.out.find("Egress verdict: DENIED\n") != std::string::npos);
  CHECK(r.out.find("Allowed by CiliumNetworkPolicy production/allow-frontend-to-api "
                   "spec.ingress[0]\nIngress verdict: ALLOWED\n") != std::string::npos);
  CHECK(r.out.find("Denied at the source's egress\n") != std::string::npos);
  CHECK(r.out.ends_with("\nFinal verdict: DENIED\n"));

  args.push_back("-o");
  args.push_back("json");
  r = run_axon(args);
  auto j = nlohmann::json::parse(r.out);
  CHECK(j["verdict"] == "DENIED");
  CHECK(j["egress"]["verdict"] == "DENIED");
  CHECK(j["egress"]["defaultDenyBy"][0]["name"] == "default-deny");
  CHECK(j["ingress"]["decidedBy"][0]["path"] == "spec.ingress[0]");

  // Outside production nothing is selected.
  r = run_axon({"policy", "trace", "-f", d.path(), "-s", "role=x,io.kubernetes.pod.namespace=dev",
                "-d", "reserved:world", "--dport", "443/tcp"});
  CHECK(r.out.ends_with("Final verdict: ALLOWED\n"));
}

TEST_CASE("policy trace: usage errors exit 2; what needs the cluster says so and exits 1") {
  TempDir d;
  auto f = d.write("deny.yaml", kDefaultDeny);
  auto r = run_axon({"policy", "trace", "-f", f, "-s", "a=b", "-d", "c=d", "--dport", "80/XTP"});
  CHECK(r.code == 2);
  CHECK(r.err.starts_with("Error: --dport: \"80/XTP\": protocol must be"));
  r = run_axon({"policy", "trace", "-f", f, "-d", "c=d", "--dport", "80"});
  CHECK(r.code == 2);
  CHECK(r.err.find("needs the source") != std::string::npos);
  r = run_axon({"policy", "trace", "-f", f, "-s", "k9s:a=b", "-d", "c=d", "--dport", "80"});
  CHECK(r.code == 2);
  CHECK(r.err.find("unknown source \"k9s\"") != std::string::npos);
  // Without -f the policies come from the cluster: none here (a state
  // directory with no lab), so it says so and exits 1.
  const std::string no_lab = d.path() + "/no-lab";
  r = run_axon({"policy", "trace", "-s", "a=b", "-d", "c=d", "--dport", "80", "--state-dir", no_lab});
  CHECK(r.code == 1);
  CHECK(r.err.find("no lab is up in " + no_lab) != std::string::npos);
  CHECK(r.err.find("or trace policy files offline with -f") != std::string::npos);
  CHECK(r.out.empty());
  r = run_axon({"policy", "trace", "-f", f, "--src-pod", "production/frontend", "-d", "c=d",
                "--dport", "80", "--state-dir", no_lab});
  CHECK(r.code == 1);
  r = run_axon({"policy", "trace", "-f", f, "--src-pod", "frontend", "-d", "c=d", "--dport", "80",
                "--state-dir", no_lab});
  CHECK(r.code == 2);  // the pod's name is checked before any cluster is looked for
  CHECK(r.err == "Error: \"frontend\": name the pod as NAMESPACE/POD\n");
  r = run_axon({"policy", "trace", "-f", f, "-s", "a=b", "--src-pod", "p/x", "-d", "c=d",
                "--dport", "80"});
  CHECK(r.code == 2);
  CHECK(r.err == "Error: give -s or --src-pod, not both\n");
  // An invalid policy is reported and not enforced, as in Cilium.
  r = run_axon({"policy", "trace", "-f", f, "-s", "k8s:io.kubernetes.pod.namespace=production",
                "-d", "reserved:world", "--dport", "80"});
  CHECK(r.code == 0);
  CHECK(r.err.find("invalid (2 errors), so not enforced") != std::string::npos);
  CHECK(r.out.ends_with("Final verdict: ALLOWED\n"));
}

TEST_CASE("policy get without a cluster, and missing files") {
  TempDir d;
  auto r = run_axon({"policy", "get", "--state-dir", d.path()});
  CHECK(r.code == 1);
  CHECK(r.err.find("Error: no lab is up in " + d.path()) == 0);
  r = run_axon({"policy", "validate", "-f", "/nonexistent/p.yaml"});
  CHECK(r.code == 2);
  CHECK(r.err == "Error: cannot read /nonexistent/p.yaml: No such file or directory\n");
  r = run_axon({"policy", "validate"});
  CHECK(r.code == 2);
  r = run_axon({"policy", "valdate"});
  CHECK(r.code == 2);
  CHECK(r.err.find("did you mean \"validate\"?") != std::string::npos);
}

TEST_CASE("YAML input that hung yaml-cpp's parser is a syntax error with its line (policy and values)") {
  TempDir d;
  auto comma = d.write("comma.yaml", ",a\n");
  auto r = run_axon({"policy", "validate", "-f", comma});
  CHECK(r.code == 1);
  CHECK(r.out.find(comma + ":1: not valid YAML (line 1, column 1): did not find expected node content") !=
        std::string::npos);
  r = run_axon({"values", "validate", "-f", comma});
  CHECK(r.code != 0);
  CHECK(r.err.find(comma + ":1: invalid YAML: did not find expected node content") != std::string::npos);
}
