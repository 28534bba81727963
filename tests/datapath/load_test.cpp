#include <doctest/doctest.h>

#include "fixture.h"

TEST_CASE("datapath loads") {
  axon::test::TestDatapath dp;
  CHECK(dp->from_container() != nullptr);
}
