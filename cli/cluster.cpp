#include "cli/cluster.h"

#include "axon/client/kube_store.h"

namespace axon::cli {

Result<std::unique_ptr<client::ClusterStore>> connect_cluster(Context& ctx) {
  const auto& g = ctx.global;
  if (!g.kubeconfig.empty() || !g.kube_context.empty()) {
    auto store = client::connect_kube(g.kubeconfig, g.kube_context);
    if (!store) return store.error();
    return std::unique_ptr<client::ClusterStore>(std::move(*store));
  }
  return Error{
      "no cluster to talk to: the embedded lab (`axon lab up`) is not built yet in this "
      "version; for a Kubernetes cluster give --kubeconfig FILE (or set KUBECONFIG)"};
}

}  // namespace axon::cli
