// IPv4 addresses and prefixes as the datapath API takes them: host byte
// order integers, parsed from and printed as dotted quads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "axon/base/result.h"

namespace axon::datapath {

struct Ipv4 {
  uint32_t addr = 0;  // host order: 10.0.0.1 == 0x0a000001

  auto operator<=>(const Ipv4&) const = default;
  std::string str() const;
  uint32_t network_order() const;
  static Ipv4 from_network_order(uint32_t be);
};

// "10.0.0.1"
Result<Ipv4> parse_ipv4(std::string_view text);

struct Cidr {
  Ipv4 addr;         // host bits beyond `len` are cleared by parse_cidr
  uint8_t len = 32;  // 0..32

  auto operator<=>(const Cidr&) const = default;
  std::string str() const;
};

// "10.244.0.0/16" or "10.0.0.1" (= /32)
Result<Cidr> parse_cidr(std::string_view text);

using Mac = std::array<uint8_t, 6>;
// "02:a1:00:00:00:0a" (case-insensitive)
Result<Mac> parse_mac(std::string_view text);

}  // namespace axon::datapath
