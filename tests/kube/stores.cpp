#include "stores.h"

#include <mutex>

#include "axon/client/etcd_store.h"
#include "axon/client/kube_store.h"
#include "axon/client/manifests.h"
#include "kube_env.h"
#include "store_fixtures.h"

namespace axon::test {
namespace {

using namespace std::chrono_literals;

// The Cilium CRDs, applied and Established once per run.
void ensure_crds(client::ClusterStore& kube) {
  static std::once_flag once;
  std::call_once(once, [&] {
    for (const auto& crd : client::custom_resource_definitions(false)) {
      auto r = kube.apply(crd);
      REQUIRE_MESSAGE(r, (r ? "" : r.error().str()));
    }
    for (const auto& crd : client::custom_resource_definitions(false)) {
      const client::ObjectRef ref = client::ObjectRef::of(crd);
      const std::string what = ref.str() + " is not Established";
      CHECK_MESSAGE(eventually([&] {
                      auto live = kube.get(ref);
                      if (!live || !*live) return false;
                      for (const auto& c : client::member(client::member(**live, "status"), "conditions"))
                        if (c.value("type", "") == "Established" && c.value("status", "") == "True")
                          return true;
                      return false;
                    }),
                    what);
    }
  });
}

}  // namespace

std::unique_ptr<client::ClusterStore> open_store(const std::string& name) {
  if (name == "etcd") {
    auto etcd = client::EtcdClient::connect(kube_server().etcd_target(), 10s);
    REQUIRE_MESSAGE(etcd, (etcd ? "" : etcd.error().str()));
    return std::make_unique<client::EtcdStore>(std::shared_ptr<client::EtcdClient>(std::move(*etcd)));
  }
  auto s = client::connect_kube(kube_server().kubeconfig(), "");
  REQUIRE_MESSAGE(s, (s ? "" : s.error().str()));
  ensure_crds(**s);
  return std::move(*s);
}

std::vector<NamedStore> both_stores() {
  std::vector<NamedStore> out;
  out.push_back({"kube-apiserver", open_store("kube-apiserver")});
  out.push_back({"etcd", open_store("etcd")});
  return out;
}

}  // namespace axon::test
