// axon connectivity test: deploy test workloads and check that traffic,
// services, DNS and policy behave as they should.
#include "cli/command.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct ConnectivityTestParams {
  std::vector<std::string> tests;
  std::string test_namespace = "axon-test";
  bool single_node = false;
  int test_concurrency = 1;
  int repeat_count = 1;
  std::string timeout = "0";
  std::string flow_validation = "warning";
  bool all_flows = false;
  bool hubble = true;
  std::string hubble_server;
  std::string external_target;
  std::string external_ip;
  std::string external_cidr;
  std::vector<std::string> node_selector;
  std::string connect_timeout = "2s";
  std::string request_timeout = "10s";
  int retry = 3;
  std::string retry_delay = "1s";
  std::string junit_file;
  std::vector<std::string> junit_properties;
  bool debug = false;
  bool timestamp = false;
  bool pause_on_fail = false;
  bool exit_zero_on_failure = false;
  bool force_deploy = false;
  bool keep = false;
  bool cleanup = false;
};

void setup_test(CommandBuilder& b) {
  auto& p = b.params<ConnectivityTestParams>();
  b.description(
      "Deploy a small set of workloads into a test namespace and check the cluster end to end: "
      "pod to pod on the same and on another node (TCP, UDP, ICMP), pod to Service, DNS over UDP "
      "and TCP, traffic to a host outside the cluster, and policy scenarios (default deny, "
      "ingress and egress rules, the DNS exception). Every expected drop is confirmed in the "
      "flow log with its verdict and reason.\n"
      "\n"
      "Prints a line per action and a summary; exits 1 when any test fails. --junit-file "
      "writes a JUnit XML report for CI.");
  b.group("Tests");
  b.list("--test", p.tests, "REGEX",
         "Run only tests whose name matches; a leading ! skips matching tests", true);
  b.option("--test-namespace", p.test_namespace, "NAMESPACE", "Namespace for the test workloads");
  b.flag("--single-node", p.single_node, "Run only the tests that need a single node");
  b.option("--test-concurrency", p.test_concurrency, "N", "Test namespaces to run in parallel");
  b.option("--repeat-count", p.repeat_count, "N", "Run the selected tests N times");
  b.duration("--timeout", p.timeout, "Give up on the whole suite after this long (0: never)");
  b.group("Flow validation");
  b.choice("--flow-validation", p.flow_validation, {"disabled", "warning", "strict"},
           "How a missing or unexpected flow counts: ignored, a warning, or a failure");
  b.flag("--all-flows", p.all_flows, "Print every flow seen while validating");
  b.flag("--hubble", p.hubble, "Validate with the flow API (--hubble=false to skip)");
  b.option("--hubble-server", p.hubble_server, "ADDR",
           "Flow API to use (default: the cluster's relay)");
  b.group("Targets");
  b.option("--external-target", p.external_target, "NAME",
           "Name of a host outside the cluster (default: the lab's world host)");
  b.option("--external-ip", p.external_ip, "IP", "IP of a host outside the cluster");
  b.option("--external-cidr", p.external_cidr, "CIDR", "CIDR that holds --external-ip");
  b.list("--node-selector", p.node_selector, "KEY=VALUE", "Place test workloads on matching nodes");
  b.group("Requests");
  b.duration("--connect-timeout", p.connect_timeout, "Timeout to establish a connection");
  b.duration("--request-timeout", p.request_timeout, "Timeout of a whole request");
  b.option("--retry", p.retry, "N", "Retries of a failed request before it counts as failed");
  b.duration("--retry-delay", p.retry_delay, "Delay between retries");
  b.group("Output and lifecycle");
  b.file("--junit-file", p.junit_file, "Write a JUnit XML report to FILE");
  b.list("--junit-property", p.junit_properties, "KEY=VALUE", "Add a property to the JUnit report");
  b.flag("-d,--debug", p.debug, "Print debug detail for every action");
  b.flag("-t,--timestamp", p.timestamp, "Prefix output lines with a timestamp");
  b.flag("-p,--pause-on-fail", p.pause_on_fail, "Pause after a failure until Enter is pressed");
  b.flag("--exit-zero-on-failure", p.exit_zero_on_failure, "Exit 0 even when tests fail");
  b.flag("--force-deploy", p.force_deploy,
         "Redeploy the test workloads even when they look healthy");
  b.flag("--keep", p.keep, "Keep the test namespace and workloads at the end");
  b.flag("--cleanup", p.cleanup, "Only remove what earlier runs left behind");
  b.example("axon connectivity test");
  b.example("axon connectivity test --test dns --junit-file report.xml");
  b.example("axon connectivity test --test '!dns-udp-only'");
  b.action([&ctx = b.ctx()] {
    return cli::not_implemented(
        ctx, "axon connectivity test",
        "the test workloads and the lab cluster they run on are not built yet");
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(connectivity, {"connectivity", "Check connectivity in the cluster",
                                     "Getting started", nullptr})
AXON_REGISTER_COMMAND(connectivity_test,
                      {"connectivity test", "Run the end-to-end connectivity and policy tests",
                       "Commands", axon::commands::setup_test})
