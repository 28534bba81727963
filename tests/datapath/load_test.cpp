#include <bpf/bpf.h>
#include <doctest/doctest.h>
#include <unistd.h>

#include "axon/base/fd.h"
#include "fixture.h"

TEST_CASE("datapath loads") {
  axon::test::TestDatapath dp;
  CHECK(dp->from_container() != nullptr);
}

TEST_CASE("a map an earlier layout pinned is removed by name when the node's datapath opens") {
  axon::test::TestDatapath first;
  const std::string retired = first.pin_dir() + "/axon_ct4_v1";  // one entry per end
  axon::Fd map(bpf_map_create(BPF_MAP_TYPE_LRU_HASH, "axon_ct4_v1", 16, 32, 16, nullptr));
  REQUIRE(map.valid());
  REQUIRE(bpf_obj_pin(map.get(), retired.c_str()) == 0);
  axon::datapath::DatapathConfig config;
  config.pin_dir = first.pin_dir();
  auto second = axon::datapath::Datapath::open(config);  // the upgraded agent
  REQUIRE_MESSAGE(second.ok(), (second.ok() ? "" : second.error().str()));
  CHECK(access(retired.c_str(), F_OK) != 0);
}
