// create, replace and replace_status, the compare-and-swap writes of
// ClusterStore (what identities, leader election and a kubelet's status
// reports rest on), on both backends.
#include <doctest/doctest.h>

#include "stores.h"
#include "store_fixtures.h"

using namespace axon;
using namespace axon::client;
using axon::test::both_stores;
using axon::test::config_map;
using axon::test::name_space;

TEST_CASE("create: exactly once; replace: only at the version read") {
  for (auto& [backend, s] : both_stores()) {
    CAPTURE(backend);
    (void)s->apply(name_space("cas"));
    (void)s->remove(ObjectRef{"v1", "ConfigMap", "cas", "x"});
    auto first = s->create(config_map("cas", "x", "1"));
    REQUIRE_MESSAGE(first, (first ? "" : first.error().str()));
    REQUIRE(first->has_value());
    const std::string v1 = (**first)["metadata"].value("resourceVersion", "");
    CHECK_FALSE(v1.empty());
    CHECK_FALSE((**first)["metadata"].value("uid", "").empty());

    auto again = s->create(config_map("cas", "x", "2"));
    REQUIRE(again);
    CHECK_FALSE(again->has_value());  // exists: the second create loses
    CHECK((**s->get(ObjectRef{"v1", "ConfigMap", "cas", "x"}))["data"]["k"] == "1");

    Json next = **first;
    next["data"]["k"] = "changed";
    auto replaced = s->replace(next);
    REQUIRE_MESSAGE(replaced, (replaced ? "" : replaced.error().str()));
    REQUIRE(replaced->has_value());
    CHECK((**replaced)["metadata"].value("resourceVersion", "") != v1);

    // The version read before is stale now: nothing written.
    Json stale = **first;
    stale["data"]["k"] = "stale";
    auto lost = s->replace(stale);
    REQUIRE(lost);
    CHECK_FALSE(lost->has_value());
    CHECK((**s->get(ObjectRef{"v1", "ConfigMap", "cas", "x"}))["data"]["k"] == "changed");

    // Without a version: refused, not written blindly.
    Json blind = config_map("cas", "x", "blind");
    auto refused = s->replace(blind);
    CHECK_FALSE(refused);
    if (!refused) CHECK(refused.error().message.find("resourceVersion is required") != std::string::npos);

    // Gone meanwhile: nothing written, nothing created.
    REQUIRE(s->remove(ObjectRef{"v1", "ConfigMap", "cas", "x"}));
    auto gone = s->replace(**replaced);
    REQUIRE(gone);
    CHECK_FALSE(gone->has_value());
    CHECK_FALSE(s->get(ObjectRef{"v1", "ConfigMap", "cas", "x"})->has_value());
  }
}

TEST_CASE("replace_status: a pod's status as its kubelet writes it, at the version read") {
  for (auto& [backend, s] : both_stores()) {
    CAPTURE(backend);
    (void)s->apply(name_space("st"));
    (void)s->apply({{"apiVersion", "v1"},
                    {"kind", "ServiceAccount"},
                    {"metadata", {{"name", "default"}, {"namespace", "st"}}}});
    (void)s->remove(ObjectRef{"v1", "Pod", "st", "p"});
    Json pod = {{"apiVersion", "v1"},
                {"kind", "Pod"},
                {"metadata", {{"name", "p"}, {"namespace", "st"}}},
                {"spec", {{"containers", Json::array({{{"name", "c"}, {"image", "x"}}})}}}};
    auto created = s->create(pod);
    REQUIRE_MESSAGE(created, (created ? "" : created.error().str()));
    REQUIRE(created->has_value());
    Json next = **created;
    next["status"] = {{"phase", "Running"}, {"podIP", "10.0.0.9"}};
    auto written = s->replace_status(next);
    REQUIRE_MESSAGE(written, (written ? "" : written.error().str()));
    REQUIRE(written->has_value());
    auto live = s->get(ObjectRef{"v1", "Pod", "st", "p"});
    REQUIRE(live);
    CHECK((**live)["status"]["podIP"] == "10.0.0.9");
    CHECK((**live)["status"]["phase"] == "Running");
    // At a stale version: nothing written.
    next["status"]["podIP"] = "10.0.0.10";
    auto stale = s->replace_status(next);
    REQUIRE(stale);
    CHECK_FALSE(stale->has_value());
    CHECK((**s->get(ObjectRef{"v1", "Pod", "st", "p"}))["status"]["podIP"] == "10.0.0.9");
    (void)s->remove(ObjectRef{"v1", "Pod", "st", "p"});
  }
}
