// Informers and watches on the lab's store: a real etcd (tests/support/test_lab.h).
// The same against a real kube-apiserver: tests/kube/.
#include "axon/client/informer.h"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "store_fixtures.h"
#include "test_lab.h"

using namespace axon;
using namespace axon::client;
using namespace std::chrono_literals;
using axon::test::config_map;
using axon::test::eventually;

TEST_CASE("an informer lists once, then follows adds, changes and deletes by watching") {
  test::TestLab lab;
  REQUIRE(lab.ready());
  auto& store = lab.store();
  REQUIRE(store.apply(config_map("a", "one", "1")));
  Informer inf(store, "v1", "ConfigMap");
  std::atomic<int> changes{0};
  inf.on_change([&] { ++changes; });
  inf.start();
  REQUIRE(inf.wait_synced(10s));
  CHECK(inf.list().size() == 1);
  CHECK(inf.get("a", "one").has_value());
  const uint64_t g0 = inf.generation();

  REQUIRE(store.apply(config_map("b", "two", "2")));
  CHECK(eventually([&] { return inf.list().size() == 2; }));
  REQUIRE(store.apply(config_map("a", "one", "changed")));
  CHECK(eventually([&] { return inf.get("a", "one") && (*inf.get("a", "one"))["data"]["k"] == "changed"; }));
  REQUIRE(store.remove(ObjectRef{"v1", "ConfigMap", "b", "two"}));
  CHECK(eventually([&] { return !inf.get("b", "two"); }));
  CHECK(inf.generation() > g0);
  CHECK(changes.load() >= 3);
  // One list, one watch: nothing was listed again for the changes.
  auto st = inf.stats();
  CHECK(st.lists == 1);
  CHECK(st.watches == 1);
  CHECK(st.events >= 3);
  CHECK(inf.last_error().empty());
  inf.stop();
}

TEST_CASE("a watch from a compacted version is gone: the informer's cue to list again") {
  test::TestLab lab;
  REQUIRE(lab.ready());
  auto& store = lab.store();
  REQUIRE(store.apply(config_map("a", "one", "1")));
  auto listed = store.list_versioned("v1", "ConfigMap");
  REQUIRE(listed);
  const std::string old = listed->resource_version;
  REQUIRE(store.apply(config_map("a", "one", "2")));
  REQUIRE(store.apply(config_map("a", "one", "3")));
  auto now = store.list_versioned("v1", "ConfigMap");
  REQUIRE(now);
  REQUIRE(lab.etcd()->compact(std::stoll(now->resource_version)));
  auto w = store.watch_objects("v1", "ConfigMap", old);
  REQUIRE(w);
  bool gone = false;
  for (int i = 0; i < 20 && !gone; ++i) {
    auto b = (*w)->next(250ms);
    REQUIRE(b);
    gone = b->gone;
  }
  CHECK(gone);
  // From the current version it works.
  auto fresh = store.watch_objects("v1", "ConfigMap", now->resource_version);
  REQUIRE(fresh);
  REQUIRE(store.apply(config_map("a", "one", "4")));
  std::vector<WatchEvent> seen;
  for (int i = 0; i < 40 && seen.empty(); ++i) {
    auto b = (*fresh)->next(250ms);
    REQUIRE(b);
    seen = b->events;
  }
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].type == WatchEvent::Type::modified);
  CHECK(seen[0].object["data"]["k"] == "4");
}
