#include "cli/cluster.h"

#include "axon/client/connect.h"
#include "axon/client/etcd_store.h"
#include "axon/client/kube_store.h"
#include "axon/lab/lab.h"
#include "axon/lab/paths.h"

namespace axon::cli {

Result<std::unique_ptr<client::ClusterStore>> connect_cluster(Context& ctx) {
  const auto& g = ctx.global;
  if (!g.kubeconfig.empty() || !g.kube_context.empty()) {
    auto store = client::connect_kube(g.kubeconfig, g.kube_context);
    if (!store) return store.error();
    return std::unique_ptr<client::ClusterStore>(std::move(*store));
  }
  // In a lab pod (or wherever AXON_STORE names an etcd store), as the daemons.
  if (const std::string etcd = ctx.env("AXON_STORE"); !etcd.empty()) {
    client::StoreTarget target;
    target.etcd = etcd;
    return client::connect_store(target, std::chrono::seconds(5));
  }
  auto lab = connect_lab(ctx);
  if (!lab) {
    // Commands that also work on Kubernetes say so (lab-only ones do not).
    Error e = lab.error();
    if (e.message.starts_with("no lab is up")) e.message += ", or give --kubeconfig for a Kubernetes cluster";
    return e;
  }
  return std::unique_ptr<client::ClusterStore>(std::move(*lab));
}

Result<std::unique_ptr<client::ClusterStore>> connect_lab(Context& ctx) {
  auto paths = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
  if (!paths) return paths.error();
  if (lab::is_kubernetes_lab(*paths)) {  // through its API server, as any cluster
    auto kube = client::connect_kube(paths->kubeconfig(), "");
    if (!kube) return kube.error();
    return std::unique_ptr<client::ClusterStore>(std::move(*kube));
  }
  auto etcd = client::EtcdClient::connect(paths->etcd_target(), std::chrono::seconds(5));
  if (!etcd) {
    return Error{"lab \"" + paths->name + "\" does not answer (" + etcd.error().message +
                 "); `axon lab status` says what runs, `axon lab up` restarts what is missing"};
  }
  return std::unique_ptr<client::ClusterStore>(std::make_unique<client::EtcdStore>(
      std::shared_ptr<client::EtcdClient>(std::move(*etcd)), "lab " + paths->name));
}

std::unique_ptr<client::ClusterStore> connect_or_report(Context& ctx) {
  auto store = connect_cluster(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return nullptr;
  }
  return std::move(*store);
}

Result<LabAgents> lab_agents(Context& ctx, const std::string& command) {
  if (!ctx.global.kubeconfig.empty() || !ctx.global.kube_context.empty())
    return Error{command + " reads the agents of the embedded lab; a Kubernetes cluster's "
                 "agents are reached through their pods (not built yet)"};
  auto lab = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
  if (!lab) return lab.error();
  auto store = connect_cluster(ctx);
  if (!store) return store.error();
  return LabAgents{std::move(*store), lab->name,
                   [paths = *lab](const std::string& node) { return paths.node_agent_socket(node); }};
}

}  // namespace axon::cli
