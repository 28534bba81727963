// axon status: the health of every axon component in the cluster.
#include "axon/client/status.h"

#include <thread>

#include "axon/base/duration.h"
#include "axon/base/strings.h"
#include "axon/lab/paths.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/output.h"
#include "cli/progress.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
using client::Health;

struct StatusParams {
  bool wait = false;
  std::string wait_duration = "5m";
  bool ignore_warnings = false;
  bool interactive = true;
  std::string output = "summary";
  std::string namespace_ = "kube-system";
};

std::string colored(const cli::Style& s, Health h) {
  switch (h) {
    case Health::ok:
      return s.green("OK");
    case Health::warning:
      return s.yellow("warning");
    case Health::error:
      return s.red("error");
    case Health::disabled:
      return s.cyan("disabled");
  }
  return "";
}

void print_summary(cli::Context& ctx, const client::StatusReport& r) {
  cli::Style style(ctx.color());
  // A small neuron: axon's own mark.
  const std::vector<std::string> logo = {"  \\ | /  ", " --(o)-- ", "  / | \\  ", "         "};
  cli::Table head;
  for (size_t i = 0; i < r.workloads.size(); ++i) {
    head.row({i < logo.size() ? logo[i] : "", r.workloads[i].label + ":",
              colored(style, r.workloads[i].health)});
  }
  head.print(ctx.out);
  ctx.out << "\n";
  cli::Table t;
  for (const auto& w : r.workloads) {
    if (w.health == Health::disabled && w.desired == 0) continue;
    t.row({w.kind, w.name,
           "Desired: " + std::to_string(w.desired) + ", Ready: " + std::to_string(w.ready) + "/" +
               std::to_string(w.desired) + ", Available: " + std::to_string(w.available) + "/" +
               std::to_string(w.desired)});
  }
  t.row({"Cluster Pods:",
         std::to_string(r.managed_pods) + "/" + std::to_string(r.pods) + " managed by axon", ""});
  if (r.lb_ipam.pools > 0 || r.lb_ipam.services > 0) {
    const auto& lb = r.lb_ipam;
    t.row({"LB IPAM:",
           std::to_string(lb.pools) + " pools" +
               (lb.conflicting ? " (" + std::to_string(lb.conflicting) + " conflicting)" : "") +
               ", " + std::to_string(lb.ips_used) + "/" + std::to_string(lb.ips_total) +
               " addresses used; " + std::to_string(lb.services) + " LoadBalancer Services, " +
               std::to_string(lb.pending) + " pending",
           ""});
  }
  if (r.gateways.total > 0) {
    t.row({"Gateways:",
           std::to_string(r.gateways.programmed) + "/" + std::to_string(r.gateways.total) + " programmed",
           ""});
    for (const auto& n : r.gateways.not_programmed) t.row({"", n, ""});
  }
  for (size_t i = 0; i < r.l2.size(); ++i) {
    const auto& a = r.l2[i];
    t.row({i == 0 ? "L2 announcements:" : "",
           a.ip + " " + (a.node.empty() ? "not announced" : "by " + a.node) + " (" +
               join(a.services, ", ") + ")",
           ""});
  }
  bool first = true;
  for (const auto& w : r.workloads) {
    for (const auto& img : w.images) {
      t.row({first ? "Image versions" : "", w.name, img});
      first = false;
    }
  }
  first = true;
  for (const auto& a : r.agents) {
    std::string what = !a.reachable
                           ? "not reachable from here"
                           : a.state + ", " + std::to_string(a.endpoints) + " endpoints, " +
                                 std::to_string(a.identities) + " identities, " +
                                 std::to_string(a.policies) + " policies, " +
                                 std::to_string(a.services) + " services, pod CIDR " + a.pod_cidr;
    t.row({first ? "Agents:" : "", a.node, what});
    first = false;
  }
  first = true;
  for (const auto& a : r.agents) {
    if (!a.reachable || a.l7_proxy.empty()) continue;
    t.row({first ? "L7 proxy:" : "", a.node, a.l7_proxy});
    first = false;
  }
  t.print(ctx.out);
  // Problems after the table: long lines would widen its columns.
  for (size_t i = 0; i < r.errors.size(); ++i)
    ctx.out << (i == 0 ? "Errors:     " : "            ") << style.red(r.errors[i]) << "\n";
  for (size_t i = 0; i < r.warnings.size(); ++i)
    ctx.out << (i == 0 ? "Warnings:   " : "            ") << style.yellow(r.warnings[i]) << "\n";
}

int run(cli::Context& ctx, const StatusParams& p) {
  auto store = cli::connect_cluster(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  // In the lab each node's agent API is a socket under that node's /run/axon.
  client::AgentSocketFinder agents;
  if (ctx.global.kubeconfig.empty() && ctx.global.kube_context.empty()) {
    if (auto lab = lab::find_lab(ctx.global.state_dir, ctx.global.lab)) {
      agents = [paths = *lab](const std::string& node) {
        return paths.node_agent_socket(node);
      };
    }
  }
  auto render = [&](const client::StatusReport& r) {
    if (p.output == "summary") {
      print_summary(ctx, r);
    } else {
      cli::print_document(ctx.out, cli::parse_format(p.output), r.to_json());
    }
  };
  const auto timeout = *parse_duration(p.wait_duration);
  const auto start = std::chrono::steady_clock::now();
  cli::Progress progress(ctx);
  for (;;) {
    auto report = client::collect_status(**store, p.namespace_, agents);
    if (!report) return progress.fail(report.error());
    if (!p.wait || report->ready(p.ignore_warnings)) {
      progress.clear();
      render(*report);
      return cli::kExitOk;
    }
    auto waited =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start);
    if (waited >= timeout) {
      progress.clear();
      render(*report);
      const auto& what = report->errors.empty() ? report->warnings : report->errors;
      ctx.err << "Error: timed out after " << format_duration(waited)
              << " waiting for axon to be ready: ";
      for (size_t i = 0; i < what.size(); ++i) ctx.err << (i ? "; " : "") << what[i];
      ctx.err << "\n";
      return cli::kExitFailed;
    }
    const auto& what = report->errors.empty() ? report->warnings : report->errors;
    progress.status("waiting for axon: " + what.front() + " (" + std::to_string(waited.count()) +
                    "s)");
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

void setup(CommandBuilder& b) {
  auto& p = b.params<StatusParams>();
  b.description(
      "Show whether axon is healthy: agents ready per node, the operator, Hubble relay and UI, "
      "endpoints, identities, policies, services, and the errors each agent reports.\n"
      "\n"
      "With --wait, retry until there are no errors (and no warnings, unless --ignore-warnings), "
      "showing progress; exit 1 naming what is not ready when --wait-duration runs out.");
  b.flag("--wait", p.wait, "Wait until every component is ready");
  b.duration("--wait-duration", p.wait_duration, "How long --wait waits");
  b.flag("--ignore-warnings", p.ignore_warnings, "Do not wait for warnings to clear");
  b.flag("--interactive", p.interactive,
         "Redraw the progress line in place while waiting (on a terminal); --interactive=false "
         "prints lines");
  b.choice("-o,--output", p.output, {"summary", "json", "yaml"}, "Output format");
  b.option("-n,--namespace", p.namespace_, "NAMESPACE", "Namespace axon is installed in");
  b.example("axon status --wait");
  b.example("axon status -o json");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(status, {"status", "Show the health of axon's components", "Getting started",
                               axon::commands::setup})
