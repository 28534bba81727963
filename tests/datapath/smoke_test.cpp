// The BPF toolchain end to end: the smoke program, compiled by clang
// -target bpf and embedded as a skeleton, loads into the kernel and runs on
// crafted packets with BPF_PROG_TEST_RUN.
#include "axon/abi/smoke.h"

#include <doctest/doctest.h>
#include <linux/pkt_cls.h>

#include "axon/datapath/prog_test_run.h"
#include "axon/datapath/skeleton.h"
#include "packet_builder.h"
#include "smoke.skel.h"

AXON_SKELETON_OPS(axon_smoke);

using axon::datapath::prog_test_run;
using axon::datapath::Skeleton;
using axon::test::PacketBuilder;

namespace {

uint64_t counter(const Skeleton<axon_smoke>& skel, uint32_t idx) {
  uint64_t value = 0;
  int err = bpf_map__lookup_elem(skel->maps.axon_smoke_counters, &idx, sizeof(idx), &value,
                                 sizeof(value), 0);
  REQUIRE(err == 0);
  return value;
}

PacketBuilder tcp_syn() {
  return PacketBuilder()
      .eth("02:00:00:00:00:01", "02:00:00:00:00:02")
      .ipv4("10.244.1.5", "10.244.2.7")
      .tcp(40000, 8080, axon::test::kTcpSyn)
      .payload("hello");
}

// A complete IPv4/TCP frame whose IHL claims a 16-byte IP header.
std::vector<uint8_t> bad_ihl() {
  auto pkt = tcp_syn().build();
  pkt[14] = 0x44;  // version 4, IHL 4
  return pkt;
}

}  // namespace

TEST_CASE("smoke program: verdicts and counters per packet class") {
  auto skel = Skeleton<axon_smoke>::open_and_load();
  REQUIRE_MESSAGE(skel.ok(), (skel.ok() ? "" : skel.error().str()));
  const bpf_program* prog = (*skel)->progs.axon_smoke;

  struct Case {
    std::string description;
    std::vector<uint8_t> packet;
    uint32_t want_retval;
    uint32_t want_counter;
  };
  const std::vector<Case> cases = {
      {"complete IPv4/TCP passes", tcp_syn().build(), TC_ACT_OK, AXON_SMOKE_IPV4},
      {"IPv6 EtherType passes",
       PacketBuilder()
           .eth("02:00:00:00:00:01", "02:00:00:00:00:02")
           .ipv6_ethertype()
           .payload(std::string(40, '\0'))
           .build(),
       TC_ACT_OK, AXON_SMOKE_IPV6},
      {"ARP passes as other",
       PacketBuilder()
           .eth("02:00:00:00:00:01", "ff:ff:ff:ff:ff:ff", 0x0806)
           .payload(std::string(28, '\0'))
           .build(),
       TC_ACT_OK, AXON_SMOKE_OTHER},
      {"IPv4 header with IHL < 5 is dropped", bad_ihl(), TC_ACT_SHOT, AXON_SMOKE_TRUNCATED},
  };
  for (const auto& c : cases) {
    CAPTURE(c.description);
    uint64_t before = counter(*skel, c.want_counter);
    auto run = prog_test_run(prog, c.packet);
    REQUIRE_MESSAGE(run.ok(), (run.ok() ? "" : run.error().str()));
    CHECK(run->retval == c.want_retval);
    CHECK(counter(*skel, c.want_counter) == before + 1);
    // The smoke program never rewrites packets.
    CHECK(run->packet_out == c.packet);
  }
}

TEST_CASE("smoke program: repeat runs count every repetition") {
  auto skel = Skeleton<axon_smoke>::open_and_load();
  REQUIRE(skel.ok());
  auto run = prog_test_run((*skel)->progs.axon_smoke, tcp_syn().build(), 1000);
  REQUIRE(run.ok());
  CHECK(run->retval == TC_ACT_OK);
  CHECK(counter(*skel, AXON_SMOKE_IPV4) == 1000);
}

TEST_CASE("a program that was never loaded is an error, not a crash") {
  auto skel = Skeleton<axon_smoke>::open();  // opened, not loaded
  REQUIRE(skel.ok());
  auto run = prog_test_run((*skel)->progs.axon_smoke, tcp_syn().build());
  CHECK_FALSE(run.ok());
}

TEST_CASE("the kernel refuses test runs of IPv4 frames shorter than an IPv4 header") {
  // A fact of the kernel, not of axon: BPF_PROG_TEST_RUN on a TC program
  // rejects (EINVAL) an IPv4 frame under 14 + 20 bytes before the program
  // runs. Truncation tests therefore cut packets inside the L4 header.
  auto skel = Skeleton<axon_smoke>::open_and_load();
  REQUIRE(skel.ok());
  auto run = prog_test_run((*skel)->progs.axon_smoke, tcp_syn().build_truncated(14 + 10));
  REQUIRE_FALSE(run.ok());
  CHECK(run.error().sys_errno == EINVAL);
  auto l4_cut = prog_test_run((*skel)->progs.axon_smoke, tcp_syn().build_truncated(14 + 20 + 4));
  REQUIRE(l4_cut.ok());
  CHECK(l4_cut->retval == TC_ACT_OK);
}
