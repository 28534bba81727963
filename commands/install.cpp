// axon install: validate values, render and apply axon's manifests.
#include "cli/command.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct InstallParams {
  std::vector<std::string> values_files;
  std::vector<std::string> set;
  std::vector<std::string> set_string;
  std::vector<std::string> set_file;
  bool strict = false;
  std::string version;
  std::string namespace_ = "kube-system";
  bool wait = false;
  std::string wait_duration = "5m";
  bool dry_run = false;
  bool dry_run_helm_values = false;
  bool talos_patch = false;
};

void setup(CommandBuilder& b) {
  auto& p = b.params<InstallParams>();
  b.description(
      "Install axon into a cluster: merge and validate the values (Helm-style, with the keys of "
      "the Cilium chart), render the manifests (agent DaemonSet, operator, Hubble relay and UI, "
      "configuration, CRDs) and apply them.\n"
      "\n"
      "Values are checked before anything is applied: a misspelt key, a key in the wrong letter "
      "case (gatewayApi for gatewayAPI), or a combination that cannot work (kubeProxyReplacement "
      "without k8sServiceHost) is an error that names the field and the fix, and nothing is "
      "changed.");
  b.group("Values");
  b.files("-f,--values", p.values_files, "Values file (YAML); later files override earlier ones");
  b.list("--set", p.set, "KEY=VALUE", "Set a value (a.b=c, list[0]=x); later settings win");
  b.list("--set-string", p.set_string, "KEY=VALUE", "Set a value, always as a string");
  b.list("--set-file", p.set_file, "KEY=FILE", "Set a value to the content of a file");
  b.flag("--strict", p.strict, "Treat unknown values keys as errors, not warnings");
  b.group("Install");
  b.option("--version", p.version, "VERSION",
           "Version of axon to install (default: this binary's)");
  b.option("-n,--namespace", p.namespace_, "NAMESPACE", "Namespace to install into");
  b.flag("--wait", p.wait, "Wait until everything installed is ready");
  b.duration("--wait-duration", p.wait_duration, "How long --wait waits");
  b.group("Output");
  b.flag("--dry-run", p.dry_run, "Print the manifests instead of applying them");
  b.flag("--dry-run-helm-values", p.dry_run_helm_values,
         "Print the merged values instead of installing");
  b.flag("--talos-patch", p.talos_patch,
         "Print the Talos machine-config patch axon needs (no CNI, no kube-proxy)");
  b.example("axon install -f values.yaml --dry-run");
  b.example("axon install -f values.yaml --set hubble.ui.enabled=false");
  b.action([&ctx = b.ctx()] {
    return cli::not_implemented(
        ctx, "axon install", "values validation, manifest rendering and apply are not built yet");
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(install, {"install", "Install axon with a values file", "Getting started",
                                axon::commands::setup})
