// The store interface on a real kube-apiserver: versioned lists, watches
// (events in order, "410 Gone" from a compacted version), informers.
#include <doctest/doctest.h>

#include <thread>

#include "axon/client/etcd.h"
#include "axon/client/informer.h"
#include "axon/client/kube_store.h"
#include "kube_env.h"
#include "store_fixtures.h"

using namespace axon;
using namespace axon::client;
using namespace std::chrono_literals;
using axon::test::config_map;
using axon::test::eventually;
using axon::test::name_space;

namespace {

std::unique_ptr<KubeStore> store() {
  auto s = connect_kube(test::kube_server().kubeconfig(), "");
  REQUIRE_MESSAGE(s, (s ? "" : s.error().str()));
  return std::move(*s);
}

std::vector<WatchEvent> read_events(WatchStream& w, size_t want) {
  std::vector<WatchEvent> out;
  for (int i = 0; i < 40 && out.size() < want; ++i) {
    auto b = w.next(250ms);
    REQUIRE_MESSAGE(b, (b ? "" : b.error().str()));
    for (auto& e : b->events) {
      if (e.type != WatchEvent::Type::bookmark) out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace

TEST_CASE("a versioned list and a watch from its version: every change, in order") {
  auto s = store();
  REQUIRE(s->apply(name_space("w1")));
  REQUIRE(s->apply(config_map("w1", "a", "1")));
  auto listed = s->list_versioned("v1", "ConfigMap");
  REQUIRE(listed);
  CHECK_FALSE(listed->resource_version.empty());
  bool found = false;
  for (const auto& o : listed->items) found = found || o["metadata"]["name"] == "a";
  CHECK(found);
  CHECK(listed->items.front()["kind"] == "ConfigMap");  // filled in, as list items omit it

  auto w = s->watch_objects("v1", "ConfigMap", listed->resource_version);
  REQUIRE(w);
  REQUIRE(s->apply(config_map("w1", "b", "2")));
  REQUIRE(s->apply(config_map("w1", "a", "changed")));
  REQUIRE(s->remove(ObjectRef{"v1", "ConfigMap", "w1", "b"}));
  auto events = read_events(**w, 3);
  REQUIRE(events.size() == 3);
  CHECK(events[0].type == WatchEvent::Type::added);
  CHECK(events[0].object["metadata"]["name"] == "b");
  CHECK(events[1].type == WatchEvent::Type::modified);
  CHECK(events[1].object["data"]["k"] == "changed");
  CHECK(events[2].type == WatchEvent::Type::deleted);
  CHECK(events[2].object["metadata"]["name"] == "b");
}

TEST_CASE("a watch from a compacted version is gone (410), and a new list goes on from there") {
  auto s = store();
  REQUIRE(s->apply(name_space("w2")));
  REQUIRE(s->apply(config_map("w2", "c", "1")));
  auto old = s->list_versioned("v1", "ConfigMap");
  REQUIRE(old);
  REQUIRE(s->apply(config_map("w2", "c", "2")));
  REQUIRE(s->apply(config_map("w2", "c", "3")));  // compacting at N keeps N: go past old + 1
  auto now = s->list_versioned("v1", "ConfigMap");
  REQUIRE(now);
  auto etcd = EtcdClient::connect(test::kube_server().etcd_target(), 10s);
  REQUIRE_MESSAGE(etcd, (etcd ? "" : etcd.error().str()));
  REQUIRE((*etcd)->compact(std::stoll(now->resource_version)));
  auto w = s->watch_objects("v1", "ConfigMap", old->resource_version);
  REQUIRE(w);
  bool gone = false;
  for (int i = 0; i < 40 && !gone; ++i) {
    auto b = (*w)->next(250ms);
    REQUIRE_MESSAGE(b, (b ? "" : b.error().str()));
    gone = b->gone;
  }
  CHECK(gone);
}

TEST_CASE("an informer on Kubernetes: one list, one watch, every change") {
  auto s = store();
  REQUIRE(s->apply(name_space("w3")));
  REQUIRE(s->apply(config_map("w3", "d", "1")));
  Informer inf(*s, "v1", "ConfigMap");
  inf.start();
  REQUIRE(inf.wait_synced(10s));
  CHECK(inf.get("w3", "d").has_value());
  REQUIRE(s->apply(config_map("w3", "e", "2")));
  CHECK(eventually([&] { return inf.get("w3", "e").has_value(); }));
  REQUIRE(s->remove(ObjectRef{"v1", "ConfigMap", "w3", "d"}));
  CHECK(eventually([&] { return !inf.get("w3", "d"); }));
  auto st = inf.stats();
  CHECK(st.lists == 1);
  CHECK(st.watches == 1);
  CHECK(inf.last_error().empty());
}

TEST_CASE("an informer of a kind whose CRD is not installed is synced and empty") {
  auto s = store();
  Informer inf(*s, "gateway.networking.k8s.io/v1", "HTTPRoute");
  inf.start();
  REQUIRE(inf.wait_synced(10s));
  CHECK(inf.list().empty());
}
