// Cluster-wide identities (CiliumIdentity objects) in the lab's store, a real etcd: allocation, listing, release, the
// labels of a pod, and the operator's garbage collection with its grace.
#include <doctest/doctest.h>

#include "axon/agent/identity_store.h"
#include "test_lab.h"

using namespace axon;
using namespace axon::client;
using namespace axon::agent;
using axon::test::TestLab;

namespace {

Json pod(const std::string& ns, const std::string& name, Json labels) {
  return {{"apiVersion", "v1"},
          {"kind", "Pod"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}, {"uid", name}}},
          {"spec", {{"containers", Json::array()}}}};
}

}  // namespace

TEST_CASE("a pod's identity labels: relevant labels, namespace, its labels, service account, cluster") {
  Json p = pod("production", "api-1", {{"role", "api"}, {"pod-template-hash", "abc"}});
  p["spec"]["serviceAccountName"] = "api-sa";
  Json ns = {{"metadata", {{"name", "production"}, {"labels", {{"team", "shop"}}}}}};
  auto l = IdentityStore::pod_labels(p, &ns, "default");
  CHECK(l == std::map<std::string, std::string>{
                 {"k8s:role", "api"},
                 {"k8s:io.kubernetes.pod.namespace", "production"},
                 {"k8s:io.cilium.k8s.namespace.labels.team", "shop"},
                 {"k8s:io.cilium.k8s.namespace.labels.kubernetes.io/metadata.name", "production"},
                 {"k8s:io.cilium.k8s.policy.serviceaccount", "api-sa"},
                 {"k8s:io.cilium.k8s.policy.cluster", "default"}});
  // Without a serviceAccountName, Kubernetes' default.
  auto d = IdentityStore::pod_labels(pod("x", "y", Json::object()), nullptr, "c1");
  CHECK(d.at("k8s:io.cilium.k8s.policy.serviceaccount") == "default");
  CHECK(d.at("k8s:io.cilium.k8s.policy.cluster") == "c1");
}

TEST_CASE("identities: same labels same number, list, release, a new number after release") {
  TestLab lab("ids");
  REQUIRE(lab.ready());
  IdentityStore ids(lab.store());
  std::map<std::string, std::string> a{{"k8s:role", "a"}}, b{{"k8s:role", "b"}};
  auto ia = ids.allocate(a);
  auto ib = ids.allocate(b);
  REQUIRE(ia.ok());
  REQUIRE(ib.ok());
  CHECK(*ia == kFirstClusterIdentity);
  CHECK(*ib == kFirstClusterIdentity + 1);
  CHECK(*ids.allocate(a) == *ia);
  auto all = ids.list();
  REQUIRE(all.ok());
  CHECK(all->size() == 2);
  CHECK(all->at(*ia) == a);
  REQUIRE(ids.release(*ia, a).ok());
  CHECK(ids.list()->size() == 1);
  CHECK_FALSE(ids.labels_of(*ia)->has_value());
  auto again = ids.allocate(a);
  REQUIRE(again.ok());
  CHECK(*again != *ia);  // numbers are not reused
}

TEST_CASE("identity garbage collection: only identities no pod has, and only after the grace") {
  TestLab lab("idgc");
  REQUIRE(lab.ready());
  IdentityStore ids(lab.store());
  auto& store = lab.store();
  Json ns = {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", "p"}}}};
  REQUIRE(store.apply(ns).ok());
  Json used = pod("p", "used", {{"role", "used"}});
  REQUIRE(store.apply(used).ok());
  auto in_use = ids.allocate(IdentityStore::pod_labels(used, &ns, "default"));
  auto orphan = ids.allocate({{"k8s:role", "gone"}, {"k8s:io.kubernetes.pod.namespace", "p"}});
  REQUIRE(in_use.ok());
  REQUIRE(orphan.ok());

  IdentityGarbageCollector gc(std::chrono::seconds(60));
  auto pass = [&](IdentityGarbageCollector::Clock::time_point t) {
    auto pods = store.list("v1", "Pod", "", "");
    auto nss = store.list("v1", "Namespace", "", "");
    REQUIRE(pods.ok());
    REQUIRE(nss.ok());
    return gc.pass(*pods, *nss, ids, "default", t);
  };
  auto t0 = IdentityGarbageCollector::Clock::now();
  auto r = pass(t0);
  REQUIRE(r.ok());
  CHECK(r->empty());  // first seen unused now
  r = pass(t0 + std::chrono::seconds(59));
  CHECK(r->empty());  // within the grace
  r = pass(t0 + std::chrono::seconds(61));
  REQUIRE(r.ok());
  CHECK(*r == std::vector<uint32_t>{*orphan});
  auto left = ids.list();
  CHECK(left->size() == 1);
  CHECK(left->count(*in_use) == 1);

  // A pod that comes back within the grace keeps its identity.
  Json later = pod("p", "later", {{"role", "later"}});
  auto id_later = ids.allocate(IdentityStore::pod_labels(later, &ns, "default"));
  REQUIRE(id_later.ok());
  r = pass(t0 + std::chrono::seconds(100));  // unused: clock starts
  CHECK(r->empty());
  REQUIRE(store.apply(later).ok());
  r = pass(t0 + std::chrono::seconds(200));
  CHECK(r->empty());
  CHECK(ids.list()->count(*id_later) == 1);
}
