// The etcd client and the lab's cluster store, against a real etcd.
#include "axon/client/etcd_store.h"

#include <doctest/doctest.h>

#include <thread>

#include "etcd_process.h"

using namespace axon;
using namespace axon::client;
using namespace std::chrono_literals;
using axon::test::EtcdProcess;

namespace {

Json config_map(const std::string& ns, const std::string& name, const std::string& value,
                Json labels = Json::object()) {
  return {{"apiVersion", "v1"},
          {"kind", "ConfigMap"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", labels}}},
          {"data", {{"k", value}}}};
}

// All events of the next batches until `n` arrived or a second passed.
std::vector<EtcdEvent> collect(EtcdWatch& w, size_t n) {
  std::vector<EtcdEvent> out;
  while (out.size() < n) {
    auto b = w.next(2s);
    if (!b) break;
    for (auto& e : b->events) out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

TEST_CASE("prefix ranges") {
  CHECK(prefix_range_end("a/b/") == "a/b0");
  CHECK(prefix_range_end("a\xff") == "b");
  CHECK(prefix_range_end("") == std::string(1, '\0'));
}

TEST_CASE("label selectors as Kubernetes writes them") {
  Json l = {{"app", "api"}, {"tier", "backend"}};
  CHECK(*selector_matches("app=api", l));
  CHECK(*selector_matches("app==api,tier=backend", l));
  CHECK_FALSE(*selector_matches("app=web", l));
  CHECK(*selector_matches("app!=web", l));
  CHECK(*selector_matches("app", l));
  CHECK_FALSE(*selector_matches("!app", l));
  CHECK(*selector_matches("!missing", l));
  CHECK(*selector_matches("tier in (frontend, backend)", l));
  CHECK_FALSE(*selector_matches("tier notin (backend)", l));
  CHECK(*selector_matches("", l));
  CHECK_FALSE(selector_matches("app in backend", l).ok());
}

TEST_CASE("etcd client: keys, compare-and-swap, leases and watches on a real etcd") {
  EtcdProcess etcd;
  auto c = etcd.connect();
  REQUIRE(c != nullptr);

  int64_t rev0 = 0;
  REQUIRE(c->list("/t/", &rev0).ok());
  auto r1 = c->put("/t/a", "1");
  REQUIRE(r1.ok());
  CHECK(*r1 > rev0);
  auto got = c->get("/t/a");
  REQUIRE(got.ok());
  REQUIRE(got->has_value());
  CHECK((*got)->value == "1");
  CHECK((*got)->mod_revision == *r1);

  // Compare-and-swap: only the writer that read the current revision wins.
  auto won = c->put_if("/t/a", "2", *r1);
  REQUIRE(won.ok());
  REQUIRE(won->has_value());
  auto lost = c->put_if("/t/a", "3", *r1);
  REQUIRE(lost.ok());
  CHECK_FALSE(lost->has_value());
  CHECK((*c->get("/t/a"))->value == "2");
  CHECK_FALSE(c->put_if("/t/a", "x", 0)->has_value());  // create-only on an existing key
  CHECK(c->put_if("/t/b", "x", 0)->has_value());
  CHECK(c->list("/t/")->size() == 2);

  // Watch from a revision: exactly the changes after it, in order.
  int64_t rev = 0;
  REQUIRE(c->list("/t/", &rev).ok());
  auto w = c->watch("/t/", rev + 1, true);
  REQUIRE(w.ok());
  REQUIRE(c->put("/t/c", "new").ok());
  REQUIRE(c->remove("/t/b").ok());
  auto events = collect(**w, 2);
  REQUIRE(events.size() == 2);
  CHECK(events[0].type == EtcdEvent::Type::put);
  CHECK(events[0].kv.key == "/t/c");
  CHECK(events[0].kv.version == 1);
  CHECK(events[1].type == EtcdEvent::Type::remove);
  CHECK(events[1].kv.key == "/t/b");
  CHECK(events[1].prev_kv.value == "x");

  // Leases: keys go with them.
  auto lease = c->grant_lease(5);
  REQUIRE(lease.ok());
  REQUIRE(c->put("/t/leased", "v", *lease).ok());
  CHECK(*c->keep_alive(*lease) >= 5);
  REQUIRE(c->revoke_lease(*lease).ok());
  CHECK_FALSE(c->get("/t/leased")->has_value());
  CHECK(*c->keep_alive(*lease) == 0);  // gone

  CHECK(*c->remove_prefix("/t/") == 2);
  CHECK(c->list("/t/")->empty());
}

TEST_CASE("etcd store: Kubernetes-shaped objects with resourceVersion, uid and generation") {
  EtcdProcess etcd;
  auto c = etcd.connect();
  REQUIRE(c != nullptr);
  EtcdStore store(c);

  CHECK(*EtcdStore::key_of(ObjectRef{"v1", "ConfigMap", "kube-system", "axon-config"}) ==
        "/axon/registry/core/configmaps/kube-system/axon-config");
  CHECK(*EtcdStore::key_of(
            ObjectRef{"rbac.authorization.k8s.io/v1", "ClusterRole", "", "axon-agent"}) ==
        "/axon/registry/rbac.authorization.k8s.io/clusterroles/_/axon-agent");
  CHECK_FALSE(EtcdStore::key_of(ObjectRef{"v1", "ConfigMap", "", "x"})
                  .ok());  // namespaced without namespace
  CHECK_FALSE(EtcdStore::key_of(ObjectRef{"v9", "Nope", "", "x"}).ok());

  auto cm = config_map("prod", "a", "1", {{"app", "api"}});
  CHECK(*store.apply(cm) == ApplyOutcome::created);
  auto live = *store.get(ObjectRef::of(cm));
  REQUIRE(live.has_value());
  const std::string uid = (*live)["metadata"]["uid"];
  CHECK(uid.size() == 36);
  CHECK_FALSE((*live)["metadata"]["resourceVersion"].get<std::string>().empty());
  CHECK(*store.apply(cm) == ApplyOutcome::unchanged);
  cm["data"]["k"] = "2";
  CHECK(*store.apply(cm) == ApplyOutcome::configured);
  auto after = *store.get(ObjectRef::of(cm));
  CHECK((*after)["metadata"]["uid"] == uid);
  CHECK((*after)["data"]["k"] == "2");

  REQUIRE(store.apply(config_map("prod", "b", "1", {{"app", "web"}})).ok());
  REQUIRE(store.apply(config_map("dev", "c", "1", {{"app", "api"}})).ok());
  CHECK(store.list("v1", "ConfigMap", "", "")->size() == 3);
  CHECK(store.list("v1", "ConfigMap", "prod", "")->size() == 2);
  CHECK(store.list("v1", "ConfigMap", "", "app=api")->size() == 2);
  CHECK(store.list("v1", "ConfigMap", "prod", "app=api")->size() == 1);

  // Optimistic concurrency: an update from a stale read is refused.
  Json stale = *after;
  Json fresh = *after;
  fresh["data"]["k"] = "3";
  REQUIRE(store.update(fresh).ok());
  stale["data"]["k"] = "4";
  auto conflict = store.update(stale);
  REQUIRE_FALSE(conflict.ok());
  CHECK(conflict.error().message.find("conflict: ConfigMap prod/a changed") == 0);

  // Watch a kind from a listed revision.
  int64_t rev = 0;
  REQUIRE(store.list_at("v1", "ConfigMap", &rev).ok());
  auto w = store.watch("v1", "ConfigMap", rev + 1);
  REQUIRE(w.ok());
  REQUIRE(store.apply(config_map("prod", "d", "1")).ok());
  REQUIRE(store.remove(ObjectRef{"v1", "ConfigMap", "prod", "b"}).ok());
  auto events = collect(**w, 2);
  REQUIRE(events.size() == 2);
  auto added = EtcdStore::decode(events[0]);
  auto deleted = EtcdStore::decode(events[1]);
  REQUIRE(added.has_value());
  REQUIRE(deleted.has_value());
  CHECK(added->type == ObjectEvent::Type::added);
  CHECK(added->object["metadata"]["name"] == "d");
  CHECK(deleted->type == ObjectEvent::Type::deleted);
  CHECK(deleted->object["metadata"]["name"] == "b");

  CHECK(*store.remove(ObjectRef{"v1", "ConfigMap", "prod", "b"}) == false);
}

TEST_CASE("etcd store serves the installer: install twice, prune, uninstall") {
  // The same Installer that drives a Kubernetes API works on the lab store.
  EtcdProcess etcd;
  auto c = etcd.connect();
  REQUIRE(c != nullptr);
  EtcdStore store(c);
  Json sa = {{"apiVersion", "v1"},
             {"kind", "ServiceAccount"},
             {"metadata",
              {{"name", "axon-agent"},
               {"namespace", "kube-system"},
               {"labels", {{"app.kubernetes.io/part-of", "axon"}}}}}};
  CHECK(*store.apply(sa) == ApplyOutcome::created);
  CHECK(*store.apply(sa) == ApplyOutcome::unchanged);
  CHECK(store.list("v1", "ServiceAccount", "", "app.kubernetes.io/part-of=axon")->size() == 1);
}

TEST_CASE("connecting to an etcd that is not there fails with the target") {
  auto c = EtcdClient::connect("unix:/nonexistent/etcd.sock:0", 300ms);
  REQUIRE_FALSE(c.ok());
  CHECK(c.error().message.find("unix:/nonexistent/etcd.sock:0") != std::string::npos);
}
