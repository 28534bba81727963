#include "axon/client/connect.h"

#include <cstdlib>

#include "axon/client/etcd_store.h"
#include "axon/client/kube_store.h"

namespace axon::client {

namespace {
std::string env(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr ? v : "";
}
}  // namespace

StoreTarget store_target_from_env() {
  StoreTarget t;
  t.etcd = env("AXON_STORE");
  t.kubeconfig = env("KUBECONFIG");
  return t;
}

Result<std::unique_ptr<ClusterStore>> connect_store(const StoreTarget& t,
                                                    std::chrono::seconds etcd_timeout) {
  if (!t.etcd.empty()) {
    auto etcd = EtcdClient::connect(t.etcd, etcd_timeout);
    if (!etcd) return Error{"store " + t.etcd + ": " + etcd.error().str()};
    return std::unique_ptr<ClusterStore>(
        std::make_unique<EtcdStore>(std::shared_ptr<EtcdClient>(std::move(*etcd))));
  }
  Result<KubeConfig> config = !t.kubeconfig.empty() ? load_kubeconfig(t.kubeconfig, t.context)
                                                     : in_cluster_config(t.service_account_dir);
  if (!config) return config.error();
  auto client = KubeClient::create(std::move(*config));
  if (!client) return client.error();
  return std::unique_ptr<ClusterStore>(std::make_unique<KubeStore>(std::move(*client)));
}

bool is_kubernetes(const ClusterStore& store) {
  return dynamic_cast<const KubeStore*>(&store) != nullptr;
}

}  // namespace axon::client
