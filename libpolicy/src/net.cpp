#include "axon/policy/net.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <cstring>

#include "axon/base/strings.h"

namespace axon::policy {
namespace {

struct IcmpName {
  const char* name;
  uint8_t type;
};

// Cilium's names (pkg/policy/api/icmp.go), IPv4.
constexpr IcmpName kIcmp4[] = {
    {"EchoReply", 0},       {"DestinationUnreachable", 3}, {"Redirect", 5},
    {"Echo", 8},            {"EchoRequest", 8},            {"RouterAdvertisement", 9},
    {"RouterSelection", 10}, {"TimeExceeded", 11},          {"ParameterProblem", 12},
    {"Timestamp", 13},      {"TimestampReply", 14},        {"Photuris", 40},
    {"ExtendedEchoRequest", 42}, {"ExtendedEchoReply", 43},
};

constexpr IcmpName kIcmp6[] = {
    {"DestinationUnreachable", 1},
    {"PacketTooBig", 2},
    {"TimeExceeded", 3},
    {"ParameterProblem", 4},
    {"EchoRequest", 128},
    {"EchoReply", 129},
    {"MulticastListenerQuery", 130},
    {"MulticastListenerReport", 131},
    {"MulticastListenerDone", 132},
    {"RouterSolicitation", 133},
    {"RouterAdvertisement", 134},
    {"NeighborSolicitation", 135},
    {"NeighborAdvertisement", 136},
    {"RedirectMessage", 137},
    {"RouterRenumbering", 138},
    {"ICMPNodeInformationQuery", 139},
    {"ICMPNodeInformationResponse", 140},
    {"InverseNeighborDiscoverySolicitation", 141},
    {"InverseNeighborDiscoveryAdvertisement", 142},
    {"HomeAgentAddressDiscoveryRequest", 144},
    {"HomeAgentAddressDiscoveryReply", 145},
    {"MobilePrefixSolicitation", 146},
    {"MobilePrefixAdvertisement", 147},
    {"DuplicateAddressRequestCodeSuffix", 157},
    {"DuplicateAddressConfirmationCodeSuffix", 158},
    {"ExtendedEchoRequest", 160},
    {"ExtendedEchoReply", 161},
};

void clear_host_bits(Prefix& p) {
  size_t bytes = p.v6 ? 16 : 4;
  for (size_t i = 0; i < bytes; ++i) {
    int bit_start = static_cast<int>(i) * 8;
    int keep = std::clamp(static_cast<int>(p.len) - bit_start, 0, 8);
    uint8_t mask = keep == 0 ? 0 : static_cast<uint8_t>(0xFF << (8 - keep));
    p.addr[i] &= mask;
  }
}

}  // namespace

Result<ParsedPrefix> parse_prefix(std::string_view text) {
  ParsedPrefix out;
  std::string addr(text);
  std::string len_text;
  auto slash = text.find('/');
  if (slash != std::string_view::npos) {
    addr = std::string(text.substr(0, slash));
    len_text = std::string(text.substr(slash + 1));
  } else {
    out.bare_address = true;
  }
  Prefix& p = out.prefix;
  if (addr.find(':') != std::string::npos) {
    p.v6 = true;
    if (inet_pton(AF_INET6, addr.c_str(), p.addr.data()) != 1) {
      return Error{"\"" + std::string(text) + "\" is not an IPv6 address or prefix"};
    }
  } else if (inet_pton(AF_INET, addr.c_str(), p.addr.data()) != 1) {
    return Error{"\"" + std::string(text) + "\" is not an IP address or CIDR prefix (10.0.0.0/8)"};
  }
  int max_len = p.v6 ? 128 : 32;
  int len = max_len;
  if (!out.bare_address) {
    auto [ptr, ec] = std::from_chars(len_text.data(), len_text.data() + len_text.size(), len);
    if (len_text.empty() || ec != std::errc() || ptr != len_text.data() + len_text.size() ||
        len < 0 || len > max_len) {
      return Error{"\"" + std::string(text) + "\": prefix length must be 0-" +
                   std::to_string(max_len)};
    }
  }
  p.len = static_cast<uint8_t>(len);
  Prefix cleared = p;
  clear_host_bits(cleared);
  out.host_bits_set = cleared.addr != p.addr;
  p = cleared;
  return out;
}

std::string to_string(const Prefix& p) {
  char buf[INET6_ADDRSTRLEN] = {};
  inet_ntop(p.v6 ? AF_INET6 : AF_INET, p.addr.data(), buf, sizeof(buf));
  return std::string(buf) + "/" + std::to_string(p.len);
}

bool contains(const Prefix& outer, const Prefix& inner) {
  if (outer.v6 != inner.v6 || outer.len > inner.len) return false;
  Prefix masked = inner;
  masked.len = outer.len;
  clear_host_bits(masked);
  return masked.addr == outer.addr;
}

std::string_view protocol_name(Protocol p) {
  switch (p) {
    case Protocol::any:
      return "ANY";
    case Protocol::icmp:
      return "ICMP";
    case Protocol::tcp:
      return "TCP";
    case Protocol::udp:
      return "UDP";
    case Protocol::icmpv6:
      return "ICMPv6";
    case Protocol::sctp:
      return "SCTP";
  }
  return "?";
}

std::optional<Protocol> parse_protocol(std::string_view name) {
  std::string up = to_upper(std::string(name));
  if (up == "TCP") return Protocol::tcp;
  if (up == "UDP") return Protocol::udp;
  if (up == "SCTP") return Protocol::sctp;
  if (up == "ANY") return Protocol::any;
  if (up == "ICMP" || up == "ICMPV4") return Protocol::icmp;
  if (up == "ICMPV6") return Protocol::icmpv6;
  return std::nullopt;
}

std::optional<uint8_t> icmp_type_by_name(int family, std::string_view name) {
  if (family == 6) {
    for (const auto& n : kIcmp6) {
      if (name == n.name) return n.type;
    }
  } else {
    for (const auto& n : kIcmp4) {
      if (name == n.name) return n.type;
    }
  }
  return std::nullopt;
}

std::vector<std::string> icmp_type_names(int family) {
  std::vector<std::string> out;
  if (family == 6) {
    for (const auto& n : kIcmp6) out.emplace_back(n.name);
  } else {
    for (const auto& n : kIcmp4) out.emplace_back(n.name);
  }
  return out;
}

std::string check_port_name(std::string_view name) {
  bool letter = false;
  bool ok = !name.empty() && name.size() <= 15 && name.front() != '-' && name.back() != '-' &&
            name.find("--") == std::string_view::npos;
  for (char c : name) {
    if (c >= 'a' && c <= 'z') {
      letter = true;
    } else if (!((c >= '0' && c <= '9') || c == '-')) {
      ok = false;
    }
  }
  if (ok && letter) return {};
  return "port \"" + std::string(name) +
         "\" is neither a number (0-65535) nor a port name (1-15 lower-case letters, digits and "
         "single '-', with at least one letter)";
}

}  // namespace axon::policy
