// Network vocabulary of policies: IP prefixes, L4 protocols, ICMP types,
// named ports.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "axon/base/result.h"

namespace axon::policy {

// An IPv4 or IPv6 prefix; the address has its host bits cleared.
struct Prefix {
  std::array<uint8_t, 16> addr{};  // IPv4 uses the first 4 bytes
  uint8_t len = 0;
  bool v6 = false;

  bool operator==(const Prefix&) const = default;
  auto operator<=>(const Prefix&) const = default;
};

struct ParsedPrefix {
  Prefix prefix;
  bool host_bits_set = false;  // "10.0.0.1/8": means 10.0.0.0/8
  bool bare_address = false;   // "10.0.0.1": a /32 (or /128)
};

// "10.0.0.0/8", "fd00::/64", or a bare address.
Result<ParsedPrefix> parse_prefix(std::string_view text);
std::string to_string(const Prefix& p);
// Is every address of `inner` inside `outer` (same family)?
bool contains(const Prefix& outer, const Prefix& inner);

// L4 protocols by IANA number, as the policy map stores them. `any` (0) in
// toPorts means TCP, UDP and SCTP; in a policy map entry it means every
// protocol.
enum class Protocol : uint8_t { any = 0, icmp = 1, tcp = 6, udp = 17, icmpv6 = 58, sctp = 132 };

std::string_view protocol_name(Protocol p);  // "TCP", "UDP", "SCTP", "ICMP", "ICMPv6", "ANY"
// Case-insensitive: "tcp", "TCP", "icmpv6".
std::optional<Protocol> parse_protocol(std::string_view name);

// ICMP message types by the names Cilium accepts ("EchoRequest"); family 4
// or 6.
std::optional<uint8_t> icmp_type_by_name(int family, std::string_view name);
std::vector<std::string> icmp_type_names(int family);

// A named container port: name -> (protocol, number).
struct NamedPort {
  Protocol protocol = Protocol::tcp;
  uint16_t port = 0;
  bool operator==(const NamedPort&) const = default;
};
using NamedPorts = std::map<std::string, NamedPort, std::less<>>;

// IANA service name syntax of a named port (lower-case letters, digits and
// single '-', at least one letter, at most 15 characters); the message says
// what is wrong, empty when valid.
std::string check_port_name(std::string_view name);

}  // namespace axon::policy
