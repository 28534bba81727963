// axon install: validate values, render and apply axon's manifests.
#include "axon/base/build_info.h"
#include "axon/base/duration.h"
#include "axon/client/installer.h"
#include "axon/client/manifests.h"
#include "axon/client/values.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/diagnostics.h"
#include "cli/progress.h"

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
  bool skip_preflight = false;
  bool dry_run = false;
  bool dry_run_helm_values = false;
  bool talos_patch = false;
};

// Values from -f, --set, --set-string, --set-file (in Helm's order), checked.
// Returns nullopt (after printing why) when they cannot be used.
std::optional<client::ValuesBuilder> load_values(cli::Context& ctx, const InstallParams& p,
                                                 int& rc) {
  client::ValuesBuilder values;
  auto input_error = [&](const Error& e) {
    ctx.err << "Error: " << e.str() << "\n";
    rc = cli::kExitUsage;
    return std::nullopt;
  };
  for (const auto& f : p.values_files) {
    if (auto st = values.add_file(f); !st) return input_error(st.error());
  }
  for (const auto& s : p.set) {
    if (auto st = values.set(s); !st) return input_error(st.error());
  }
  for (const auto& s : p.set_string) {
    if (auto st = values.set_string(s); !st) return input_error(st.error());
  }
  for (const auto& s : p.set_file) {
    if (auto st = values.set_file(s); !st) return input_error(st.error());
  }
  auto diagnostics = client::validate_values(values, client::ValuesCheck{p.strict, p.values_files});
  cli::print_diagnostics(ctx, diagnostics);
  if (has_errors(diagnostics)) {
    ctx.err << "Error: the values have " << cli::count_summary(diagnostics)
            << "; nothing was installed\n";
    rc = cli::kExitUsage;
    return std::nullopt;
  }
  return values;
}

int run(cli::Context& ctx, const InstallParams& p) {
  if (p.talos_patch) {
    ctx.out << client::talos_patch();
    return cli::kExitOk;
  }
  int rc = cli::kExitOk;
  auto values = load_values(ctx, p, rc);
  if (!values) return rc;
  if (p.dry_run_helm_values) {
    ctx.out << client::to_yaml(values->values());
    return cli::kExitOk;
  }
  client::InstallValues resolved = client::resolve_values(values->values());
  if (!p.version.empty()) resolved.image_tag = resolved.operator_image_tag = p.version;
  auto objects = client::render_manifests(resolved, client::RenderOptions{p.namespace_});
  if (p.dry_run) {
    ctx.out << client::to_yaml_stream(objects);
    return cli::kExitOk;
  }

  auto store = cli::connect_cluster(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  cli::Progress progress(ctx);
  client::Installer installer(**store, progress.reporter());
  if (!p.skip_preflight) {
    if (auto st = installer.preflight(resolved); !st) {
      return progress.fail(st.error());
    }
  }
  auto counts = installer.install(objects);
  if (!counts) {
    return progress.fail(counts.error());
  }
  if (p.wait) {
    auto timeout = parse_duration(p.wait_duration);
    if (auto st = installer.wait_ready(objects, *timeout); !st) {
      return progress.fail(st.error());
    }
  }
  progress.clear();
  if (counts->changed()) {
    ctx.err << "axon " << resolved.image_tag << " installed into " << (*store)->describe() << ": "
            << counts->created << " created, " << counts->configured << " configured, "
            << counts->unchanged << " unchanged, " << counts->deleted << " deleted\n";
  } else {
    ctx.err << "axon is already installed as these values describe: nothing changed ("
            << counts->unchanged << " objects unchanged)\n";
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<InstallParams>();
  b.description(
      "Install axon into a cluster: merge and validate the values (Helm-style, with the keys of "
      "the Cilium chart), render the manifests (agent DaemonSet, operator, Hubble relay and UI, "
      "configuration, CRDs) and apply them.\n"
      "\n"
      "Values are checked before anything is applied: a misspelt key, a key in the wrong letter "
      "case (gatewayApi for gatewayAPI), or a combination that cannot work (kubeProxyReplacement "
      "without k8sServiceHost) is an error that names the file, line, field and fix, and nothing "
      "is changed (exit 2). Unknown keys are warnings, errors with --strict.\n"
      "\n"
      "With --kubeconfig (or KUBECONFIG) the objects go to that Kubernetes cluster by server-side "
      "apply (field manager axon), CRDs first. Installing twice changes nothing the second time; "
      "objects an earlier install created that the values no longer ask for are deleted.");
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
  b.flag("--wait", p.wait, "Wait until the agents, the operator, relay and UI are ready");
  b.duration("--wait-duration", p.wait_duration, "How long --wait waits");
  b.flag("--skip-preflight", p.skip_preflight,
         "Install even when kube-proxy or another CNI is found");
  b.group("Output");
  b.flag("--dry-run", p.dry_run, "Print the manifests instead of applying them");
  b.flag("--dry-run-helm-values", p.dry_run_helm_values,
         "Print the merged values instead of installing");
  b.flag("--talos-patch", p.talos_patch,
         "Print the Talos machine-config patch axon needs (no CNI, no kube-proxy)");
  b.example("axon install -f values.yaml --dry-run");
  b.example(
      "axon install -f values.yaml --set hubble.ui.enabled=false --kubeconfig ~/.kube/config");
  b.example("axon install --talos-patch > axon-talos-patch.yaml");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(install, {"install", "Install axon with a values file", "Getting started",
                                axon::commands::setup})
