// The datapath's pure parts, without a kernel: Maglev tables, the policy
// compiler's output shape, IP parsing and the drop-reason table.
#include <doctest/doctest.h>
#include <netinet/in.h>

#include <map>
#include <set>

#include "axon/abi/datapath.h"
#include "axon/datapath/drop_reason.h"
#include "axon/datapath/ip.h"
#include "axon/datapath/maglev.h"
#include "axon/datapath/policy_map.h"

using namespace axon::datapath;

namespace {

std::vector<std::string> names(int n, int from = 1) {
  std::vector<std::string> v;
  for (int i = from; i < from + n; ++i) v.push_back("10.244.1." + std::to_string(i) + ":8080");
  return v;
}

}  // namespace

TEST_CASE("maglev: every backend gets a near-equal share of the slots") {
  const uint32_t m = 16381;
  for (int n : {1, 2, 3, 10, 100}) {
    CAPTURE(n);
    auto t = maglev_table(names(n), m, 42);
    REQUIRE(t.size() == m);
    std::map<uint32_t, int> share;
    for (uint32_t b : t) share[b]++;
    CHECK(share.size() == static_cast<size_t>(n));
    for (auto [b, c] : share) {
      CHECK(b < static_cast<uint32_t>(n));
      CHECK(c >= static_cast<int>(m / n) - 1);
      CHECK(c <= static_cast<int>(m / n) + 1);
    }
  }
  CHECK(maglev_table({}, m, 42).empty());
}

TEST_CASE("maglev: removing one backend moves few other slots") {
  const uint32_t m = 16381;
  auto before = maglev_table(names(10), m, 7);
  auto after_names = names(10);
  after_names.erase(after_names.begin() + 3);  // backend 3 goes
  auto after = maglev_table(after_names, m, 7);
  auto full = names(10);
  int moved = 0;
  for (uint32_t i = 0; i < m; ++i) {
    const std::string& was = full[before[i]];
    const std::string& now = after_names[after[i]];
    if (was != full[3] && was != now) ++moved;
  }
  // Slots of surviving backends mostly stay where they were.
  CHECK(moved < static_cast<int>(m / 10));
}

TEST_CASE("maglev: the table depends only on backend names and seed") {
  CHECK(maglev_table(names(5), 251, 1) == maglev_table(names(5), 251, 1));
  CHECK(maglev_table(names(5), 251, 1) != maglev_table(names(5), 251, 2));
  CHECK(is_valid_maglev_table_size(16381));
  CHECK_FALSE(is_valid_maglev_table_size(16000));
}

TEST_CASE("policy compiler: unenforced directions, ranges as prefixes") {
  EndpointPolicy none{false, false, {}};
  auto c = encode_policy_trie(none);
  REQUIRE(c.size() == 2);
  for (const auto& e : c) {
    CHECK(e.key.prefixlen == AXON_POLICY_PREFIX_ANY_PROTO);
    CHECK(e.value.verdict == AXON_POLICY_UNENFORCED);
  }
  EndpointPolicy range{
      true, false, {{Direction::ingress, 7, IPPROTO_TCP, 8000, 8015, PolicyAction::allow, 0}}};
  auto r = encode_policy_trie(range);
  // 8000..8015 is one /12 port prefix (16 ports, aligned), plus egress.
  int ingress = 0;
  for (const auto& e : r) {
    if (e.key.direction != AXON_DIR_INGRESS) continue;
    ++ingress;
    CHECK(e.key.prefixlen == AXON_POLICY_PREFIX_ANY_PORT + 12);
    CHECK(e.key.identity == 7);
    CHECK(e.value.match_type == AXON_MATCH_L3_L4);
  }
  CHECK(ingress == 1);
  CHECK(match_type_of({Direction::ingress, 0, 0, 0, 0, PolicyAction::allow, 0}) == AXON_MATCH_ALL);
  CHECK(match_type_of({Direction::ingress, 0, 6, 0, 0, PolicyAction::allow, 0}) ==
        AXON_MATCH_PROTO_ONLY);
  CHECK(match_type_of({Direction::ingress, 5, 6, 0, 0, PolicyAction::allow, 0}) ==
        AXON_MATCH_L3_PROTO);
}

TEST_CASE("IPv4 addresses and prefixes") {
  auto a = parse_ipv4("10.96.0.10");
  REQUIRE(a.ok());
  CHECK(a->addr == 0x0a60000a);
  CHECK(a->str() == "10.96.0.10");
  CHECK_FALSE(parse_ipv4("10.96.0").ok());
  auto c = parse_cidr("10.244.7.9/16");
  REQUIRE(c.ok());
  CHECK(c->str() == "10.244.0.0/16");
  CHECK_FALSE(parse_cidr("10.0.0.0/33").ok());
  CHECK(parse_cidr("1.2.3.4")->len == 32);
  auto m = parse_mac("02:A1:00:ff:00:0a");
  REQUIRE(m.ok());
  CHECK(*m == Mac{0x02, 0xa1, 0x00, 0xff, 0x00, 0x0a});
  for (const char* bad : {"", "02:a1:00:ff:00", "02-a1-00-ff-00-0a", "02:a1:00:ff:00:0g",
                          "02:a1:00:ff:00:0a:00"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_mac(bad).ok());
  }
}

TEST_CASE("drop reasons: Cilium's codes, Hubble's names, monitor texts") {
  CHECK(drop_reason_text(133) == "Policy denied");
  CHECK(drop_reason_text(181) == "Policy denied by denylist");
  CHECK(drop_reason_text(158) == "Service backend not found");
  CHECK(drop_reason_name(158) == "SERVICE_BACKEND_NOT_FOUND");
  CHECK(drop_reason_name(135) == "CT_TRUNCATED_OR_INVALID_HEADER");
  CHECK(drop_reason_text(250) == "unknown drop reason 250");
  std::set<uint8_t> codes;
  for (const auto& r : drop_reasons()) CHECK(codes.insert(r.code).second);
}
