#include "axon/datapath/ip.h"

#include <arpa/inet.h>

#include <charconv>

namespace axon::datapath {

std::string Ipv4::str() const {
  return std::to_string(addr >> 24) + "." + std::to_string((addr >> 16) & 0xff) + "." +
         std::to_string((addr >> 8) & 0xff) + "." + std::to_string(addr & 0xff);
}

uint32_t Ipv4::network_order() const {
  return htonl(addr);
}

Ipv4 Ipv4::from_network_order(uint32_t be) {
  return Ipv4{ntohl(be)};
}

Result<Ipv4> parse_ipv4(std::string_view text) {
  in_addr a{};
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) {
    return Error{"invalid IPv4 address \"" + s + "\""};
  }
  return Ipv4{ntohl(a.s_addr)};
}

std::string Cidr::str() const {
  return addr.str() + "/" + std::to_string(len);
}

Result<Cidr> parse_cidr(std::string_view text) {
  auto slash = text.find('/');
  auto ip = parse_ipv4(text.substr(0, slash));
  if (!ip) return ip.error();
  unsigned len = 32;
  if (slash != std::string_view::npos) {
    auto digits = text.substr(slash + 1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), len);
    if (ec != std::errc() || end != digits.data() + digits.size() || len > 32) {
      return Error{"invalid prefix length in \"" + std::string(text) + "\" (want 0..32)"};
    }
  }
  uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
  return Cidr{Ipv4{ip->addr & mask}, static_cast<uint8_t>(len)};
}

Result<Mac> parse_mac(std::string_view text) {
  Mac mac{};
  auto bad = [&] {
    return Error{"invalid MAC address \"" + std::string(text) + "\" (want six hex pairs: 02:a1:00:00:00:0a)"};
  };
  if (text.size() != 17) return bad();
  for (size_t i = 0; i < mac.size(); ++i) {
    const char* at = text.data() + i * 3;
    if (i > 0 && at[-1] != ':') return bad();
    unsigned v = 0;
    auto [end, ec] = std::from_chars(at, at + 2, v, 16);
    if (ec != std::errc() || end != at + 2) return bad();
    mac[i] = static_cast<uint8_t>(v);
  }
  return mac;
}

}  // namespace axon::datapath
