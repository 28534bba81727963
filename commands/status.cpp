// axon status: the health of every axon component in the cluster.
#include "cli/command.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct StatusParams {
  bool wait = false;
  std::string wait_duration = "5m";
  bool ignore_warnings = false;
  bool interactive = true;
  std::string output = "summary";
  std::string namespace_ = "kube-system";
};

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
         "Redraw the summary in place while waiting (on a terminal); --interactive=false prints "
         "lines");
  b.choice("-o,--output", p.output, {"summary", "json", "yaml"}, "Output format");
  b.option("-n,--namespace", p.namespace_, "NAMESPACE", "Namespace axon is installed in");
  b.example("axon status --wait");
  b.example("axon status -o json");
  b.action([&ctx = b.ctx()] {
    return cli::not_implemented(ctx, "axon status",
                                "the cluster store and agents it reports on are not built yet");
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(status, {"status", "Show the health of axon's components", "Getting started",
                               axon::commands::setup})
