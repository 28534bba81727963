// axon uninstall: remove what axon install created.
#include "axon/client/installer.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/progress.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

struct UninstallParams {
  bool delete_crds = false;
};

int run(cli::Context& ctx, const UninstallParams& p) {
  auto store = cli::connect_cluster(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  cli::Progress progress(ctx);
  client::Installer installer(**store, progress.reporter());
  auto counts = installer.uninstall(p.delete_crds);
  progress.clear();
  if (!counts) {
    ctx.err << "Error: " << counts.error().str() << "\n";
    return cli::kExitFailed;
  }
  if (counts->deleted == 0) {
    ctx.err << "nothing to uninstall: no object labelled app.kubernetes.io/part-of=axon in "
            << (*store)->describe() << "\n";
  } else {
    ctx.err << "axon uninstalled from " << (*store)->describe() << ": " << counts->deleted
            << " objects deleted\n";
  }
  if (!p.delete_crds) {
    ctx.err << "CustomResourceDefinitions kept, and with them your policies, pools and routes; "
               "--delete-crds removes them too\n";
  }
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<UninstallParams>();
  b.description(
      "Remove everything `axon install` created: every object labelled "
      "app.kubernetes.io/part-of=axon. CustomResourceDefinitions stay unless --delete-crds is "
      "given, because deleting one deletes every object of its kind (your policies, LB IP pools, "
      "Gateways and routes).");
  b.flag("--delete-crds", p.delete_crds,
         "Also delete axon's CustomResourceDefinitions and all their objects");
  b.example("axon uninstall --kubeconfig ~/.kube/config");
  b.action([&ctx = b.ctx(), &p] { return run(ctx, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(uninstall, {"uninstall", "Remove axon from a cluster", "Getting started",
                                  axon::commands::setup})
