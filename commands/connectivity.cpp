// axon connectivity test: flags in, libconnectivity's run, the report out.
#include "axon/connectivity/report.h"
#include "axon/connectivity/suite.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/output.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

int run_test(cli::Context& ctx, const connectivity::Options& p) {
  if (auto bad = connectivity::check_options(p)) throw cli::UsageError(*bad);
  if (!ctx.global.kubeconfig.empty() || !ctx.global.kube_context.empty()) {
    ctx.err << "Error: axon connectivity test runs on the embedded lab (--lab); on a Kubernetes "
               "cluster it is not built yet\n";
    return cli::kExitFailed;
  }
  auto paths = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
  if (!paths) {
    ctx.err << "Error: " << paths.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto store = cli::connect_lab(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  // Progress goes to stdout, or to stderr when stdout carries -o json|yaml.
  const auto format = cli::parse_format(ctx.global.output);
  std::ostream& log = format == cli::Format::table ? ctx.out : ctx.err;
  // Ctrl-C stops further actions; the test policies are still removed.
  cli::StopSignalScope signals;
  auto report = connectivity::run(p, *paths, std::move(*store), {log, *ctx.in}, cli::stop_flag());
  if (!report) {
    ctx.err << "Error: " << report.error().str() << "\n";
    return cli::kExitFailed;
  }
  if (p.cleanup) return cli::kExitOk;
  if (!p.junit_file.empty()) {
    if (auto st = connectivity::write_junit(p.junit_file, *report, p.junit_properties); !st)
      ctx.err << "Error: " << st.error().str() << "\n";
  }
  if (format != cli::Format::table) {
    cli::print_document(ctx.out, format, connectivity::report_json(*report));
  } else {
    connectivity::print_report(ctx.out, *report);
  }
  if (report->interrupted) {
    ctx.err << "Error: interrupted; the test policies were removed\n";
    return cli::kExitFailed;
  }
  if (report->failed > 0) {
    ctx.err << "Error: [" << report->ns << "] " << report->failed << " tests failed\n";
    return p.exit_zero_on_failure ? cli::kExitOk : cli::kExitFailed;
  }
  return cli::kExitOk;
}

void setup_test(CommandBuilder& b) {
  auto& p = b.params<connectivity::Options>();
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
  b.option("--test-concurrency", p.test_concurrency, "N",
           "Test namespaces to run in parallel (only 1: one namespace at a time)");
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
  b.flag("-d,--debug", p.debug, "Print every action's line and result (as -v does)");
  b.flag("-t,--timestamp", p.timestamp, "Begin every output line with the time (UTC)");
  b.flag("-p,--pause-on-fail", p.pause_on_fail,
         "After a failed action, wait for Enter before going on (the lab as the failure left it)");
  b.flag("--exit-zero-on-failure", p.exit_zero_on_failure, "Exit 0 even when tests fail");
  b.flag("--force-deploy", p.force_deploy,
         "Redeploy the test workloads even when they look healthy");
  b.flag("--keep", p.keep, "Keep the test namespace and workloads at the end");
  b.flag("--cleanup", p.cleanup, "Only remove what earlier runs left behind");
  b.example("axon connectivity test");
  b.example("axon connectivity test --test dns --junit-file report.xml");
  b.example("axon connectivity test --test '!dns-udp-only'");
  b.action([&ctx = b.ctx(), &p] {
    p.debug = p.debug || ctx.global.verbose > 0;  // -v: every action's line, as cilium-cli's
    return run_test(ctx, p);
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(connectivity, {"connectivity", "Check connectivity in the cluster",
                                     "Getting started", nullptr})
AXON_REGISTER_COMMAND(connectivity_test,
                      {"connectivity test", "Run the end-to-end connectivity and policy tests",
                       "Commands", axon::commands::setup_test})
