// create and replace, the two compare-and-swap writes of ClusterStore
// (what identities and leader election rest on), on both backends.
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
