// Leader election with a Lease, on both backends: one leader at a time,
// renewals, a takeover only after the holder stopped renewing for the
// lease's duration (by the taker's clock), and a release handing over at once.
#include <doctest/doctest.h>

#include <thread>

#include "axon/client/leader_election.h"
#include "stores.h"
#include "store_fixtures.h"

using namespace axon;
using namespace axon::client;
using namespace std::chrono_literals;
using Clock = LeaderElector::Clock;

TEST_CASE("a Lease: one leader, renewals, takeover after the duration, release hands over") {
  for (auto& [backend, s] : test::both_stores()) {
    CAPTURE(backend);
    (void)s->apply(test::name_space("leases"));
    (void)s->remove(ObjectRef{"coordination.k8s.io/v1", "Lease", "leases", "op-lock"});
    LeaderElector a(*s, {"leases", "op-lock", "replica-a"});
    LeaderElector b(*s, {"leases", "op-lock", "replica-b"});
    const auto t0 = Clock::now();

    auto ra = a.check(t0);
    REQUIRE_MESSAGE(ra, (ra ? "" : ra.error().str()));
    CHECK(*ra);
    auto rb = b.check(t0);
    REQUIRE_MESSAGE(rb, (rb ? "" : rb.error().str()));
    CHECK_FALSE(*rb);
    auto lease = s->get(ObjectRef{"coordination.k8s.io/v1", "Lease", "leases", "op-lock"});
    REQUIRE(lease);
    REQUIRE(lease->has_value());
    const Json spec = (**lease)["spec"];
    CHECK(spec["holderIdentity"] == "replica-a");
    CHECK(spec["leaseDurationSeconds"] == 15);
    const std::string renewed = spec.value("renewTime", "");
    CHECK(renewed.size() == std::string("2026-12-06T04:47:26.123456Z").size());

    // The leader renews after the retry period; the other sees it renew
    // and keeps waiting, however long that goes on.
    CHECK(*a.check(t0 + 3s));
    CHECK_FALSE(*b.check(t0 + 3s));
    CHECK(*a.check(t0 + 14s));
    CHECK_FALSE(*b.check(t0 + 20s));  // it sees the renewal of 14s now, at 20s: it waits
    // a stops renewing: b takes over once 15 s pass by b's clock since the
    // last change it saw.
    CHECK_FALSE(*b.check(t0 + 30s));
    CHECK(*b.check(t0 + 36s));
    lease = s->get(ObjectRef{"coordination.k8s.io/v1", "Lease", "leases", "op-lock"});
    CHECK((**lease)["spec"]["holderIdentity"] == "replica-b");
    CHECK((**lease)["spec"]["leaseTransitions"] == 1);
    // a notices on its next renewal and stops leading.
    CHECK_FALSE(*a.check(t0 + 37s));
    CHECK_FALSE(a.leading());

    // b releases: a takes over at once, without waiting out a duration.
    b.release();
    CHECK_FALSE(b.leading());
    CHECK(*a.check(t0 + 38s));
    a.release();
  }
}

TEST_CASE("two electors racing for a new Lease: exactly one wins") {
  for (auto& [backend, s] : test::both_stores()) {
    CAPTURE(backend);
    (void)s->apply(test::name_space("leases"));
    for (int round = 0; round < 5; ++round) {
      const std::string name = "race-" + std::to_string(round);
      (void)s->remove(ObjectRef{"coordination.k8s.io/v1", "Lease", "leases", name});
      auto s1 = test::open_store(backend);
      auto s2 = test::open_store(backend);
      LeaderElector a(*s1, {"leases", name, "a"});
      LeaderElector b(*s2, {"leases", name, "b"});
      Result<bool> ra = false, rb = false;
      std::thread ta([&] { ra = a.check(); });
      std::thread tb([&] { rb = b.check(); });
      ta.join();
      tb.join();
      REQUIRE(ra);
      REQUIRE(rb);
      CHECK(*ra != *rb);
    }
  }
}
