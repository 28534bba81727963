// Identities as CiliumIdentity objects, on both backends: one number per
// label set however many agents ask at once, the lowest winning a race,
// lookups from an informer's cache, release, and the operator's garbage
// collection from its caches.
#include <doctest/doctest.h>

#include <set>
#include <thread>

#include "axon/agent/identity_store.h"
#include "axon/client/informer.h"
#include "stores.h"
#include "store_fixtures.h"

using namespace axon;
using namespace axon::client;
using namespace axon::agent;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> labels(const std::string& test, const std::string& app) {
  return {{"k8s:app", app}, {"k8s:io.kubernetes.pod.namespace", test}};
}

}  // namespace

TEST_CASE("identities: the same labels get the same number, whichever agent asks, even at once") {
  for (auto& [backend, s] : test::both_stores()) {
    CAPTURE(backend);
    IdentityStore ids(*s);
    auto a = ids.allocate(labels("race", "a"));
    REQUIRE_MESSAGE(a, (a ? "" : a.error().str()));
    CHECK(*a >= kFirstClusterIdentity);
    CHECK(*ids.allocate(labels("race", "a")) == *a);
    auto b = ids.allocate(labels("race", "b"));
    REQUIRE(b);
    CHECK(*b != *a);
    auto obj = s->get(ObjectRef{"cilium.io/v2", "CiliumIdentity", "", std::to_string(*a)});
    REQUIRE(obj);
    REQUIRE(obj->has_value());
    CHECK((**obj)["security-labels"]["k8s:app"] == "a");
    CHECK((**obj)["metadata"]["labels"][kLabelsHashLabel] ==
          IdentityStore::labels_hash(labels("race", "a")));
    CHECK(ids.labels_of(*a)->value() == labels("race", "a"));

    // Eight agents, each with its own connection, ask for new label sets at
    // the same moment: every agent reads the same number for each set.
    for (int round = 0; round < 3; ++round) {
      const auto want = labels("race", "burst-" + std::to_string(round));
      std::vector<std::unique_ptr<ClusterStore>> conns;
      for (int i = 0; i < 8; ++i) conns.push_back(test::open_store(backend));
      std::vector<Result<uint32_t>> got(8, Error{"not run"});
      std::vector<std::thread> agents;
      for (int i = 0; i < 8; ++i) {
        agents.emplace_back([&, i] {
          IdentityStore mine(*conns[i]);
          got[i] = mine.allocate(want);
        });
      }
      for (auto& t : agents) t.join();
      std::set<uint32_t> numbers;
      for (auto& g : got) {
        REQUIRE_MESSAGE(g, (g ? "" : g.error().str()));
        numbers.insert(*g);
      }
      CHECK(numbers.size() == 1);
      // The losers of the race read the winner's number instead of making
      // one each: at most one spare per concurrent creator that saw no
      // identity, here none left over beyond the race's.
      size_t made = 0;
      auto all = ids.list();
      REQUIRE(all);
      for (const auto& [id, l] : *all) made += l == want ? 1 : 0;
      CHECK(made >= 1);
      CHECK(made <= 8);
      // Asked again later, the answer is the same.
      CHECK(*ids.allocate(want) == *numbers.begin());
    }
  }
}

TEST_CASE("identities from an informer's cache: no request for a known label set") {
  for (auto& [backend, s] : test::both_stores()) {
    CAPTURE(backend);
    Informer cache(*s, "cilium.io/v2", "CiliumIdentity");
    cache.start();
    REQUIRE(cache.wait_synced(10s));
    IdentityStore ids(*s, &cache);
    auto a = ids.allocate(labels("cached", "a"));
    REQUIRE_MESSAGE(a, (a ? "" : a.error().str()));
    // Asked again before the watch brings it: the same number, not a second one.
    CHECK(*ids.allocate(labels("cached", "a")) == *a);
    CHECK(test::eventually([&] { return cache.get("", std::to_string(*a)).has_value(); }));
    CHECK(*ids.allocate(labels("cached", "a")) == *a);
    auto all = ids.list();
    REQUIRE(all);
    CHECK(all->at(*a) == labels("cached", "a"));
    size_t same = 0;
    for (const auto& [id, l] : *all) same += l == labels("cached", "a") ? 1 : 0;
    CHECK(same == 1);

    // Released: gone from the store; the labels get a new number later.
    REQUIRE(ids.release(*a, labels("cached", "a")));
    CHECK(test::eventually([&] { return !cache.get("", std::to_string(*a)).has_value(); }));
    auto again = ids.allocate(labels("cached", "a"));
    REQUIRE(again);
    CHECK(*again != *a);
    cache.stop();
  }
}

TEST_CASE("the operator's garbage collection: identities no pod has, after the grace, from caches") {
  for (auto& [backend, s] : test::both_stores()) {
    CAPTURE(backend);
    IdentityStore ids(*s);
    const Json ns = {{"apiVersion", "v1"},
                     {"kind", "Namespace"},
                     {"metadata", {{"name", "gc"}, {"labels", {{"kubernetes.io/metadata.name", "gc"}}}}}};
    const Json pod = {{"apiVersion", "v1"},
                      {"kind", "Pod"},
                      {"metadata", {{"name", "p"}, {"namespace", "gc"}, {"labels", {{"app", "kept"}}}}},
                      {"spec", {{"containers", Json::array()}}}};
    auto kept = ids.allocate(IdentityStore::pod_labels(pod, &ns, "default"));
    auto orphan = ids.allocate(labels("gc", "orphan"));
    REQUIRE(kept);
    REQUIRE(orphan);
    IdentityGarbageCollector gc(60s);
    const auto t0 = IdentityGarbageCollector::Clock::now();
    CHECK(gc.pass({pod}, {ns}, ids, "default", t0)->empty());
    auto released = gc.pass({pod}, {ns}, ids, "default", t0 + 61s);
    REQUIRE(released);
    CHECK(std::count(released->begin(), released->end(), *orphan) == 1);
    CHECK(std::count(released->begin(), released->end(), *kept) == 0);
    CHECK_FALSE(ids.labels_of(*orphan)->has_value());
    CHECK(ids.labels_of(*kept)->has_value());
  }
}
