#include "packet_builder.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdexcept>

namespace axon::test {
namespace {

std::vector<uint8_t> parse_mac(std::string_view text) {
  std::vector<uint8_t> mac;
  std::string s(text);
  unsigned b[6];
  if (std::sscanf(s.c_str(), "%x:%x:%x:%x:%x:%x", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5]) != 6) {
    throw std::invalid_argument("bad MAC address: " + s);
  }
  for (unsigned v : b) mac.push_back(static_cast<uint8_t>(v));
  return mac;
}

void put16(std::vector<uint8_t>& v, size_t off, uint16_t x) {
  v[off] = static_cast<uint8_t>(x >> 8);
  v[off + 1] = static_cast<uint8_t>(x);
}

void put32(std::vector<uint8_t>& v, size_t off, uint32_t x) {
  put16(v, off, static_cast<uint16_t>(x >> 16));
  put16(v, off + 2, static_cast<uint16_t>(x));
}

uint32_t sum16(const uint8_t* p, size_t n, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < n; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (n % 2 != 0) sum += static_cast<uint32_t>(p[n - 1] << 8);
  return sum;
}

uint16_t fold(uint32_t sum) {
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum);
}

}  // namespace

uint32_t parse_ipv4(std::string_view text) {
  in_addr a{};
  std::string s(text);
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) throw std::invalid_argument("bad IPv4 address: " + s);
  return ntohl(a.s_addr);
}

PacketBuilder& PacketBuilder::eth(std::string_view src_mac, std::string_view dst_mac,
                                  uint16_t ethertype) {
  mac_src_ = parse_mac(src_mac);
  mac_dst_ = parse_mac(dst_mac);
  ethertype_ = ethertype;
  return *this;
}

PacketBuilder& PacketBuilder::ipv4(std::string_view src, std::string_view dst, uint8_t ttl) {
  have_ip_ = true;
  ethertype_ = 0x0800;
  ip_src_ = parse_ipv4(src);
  ip_dst_ = parse_ipv4(dst);
  ttl_ = ttl;
  return *this;
}

PacketBuilder& PacketBuilder::ipv6_ethertype() {
  ethertype_ = 0x86dd;
  return *this;
}

PacketBuilder& PacketBuilder::tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq,
                                  uint32_t ack) {
  l4_proto_ = IPPROTO_TCP;
  l4_header_.assign(20, 0);
  put16(l4_header_, 0, sport);
  put16(l4_header_, 2, dport);
  put32(l4_header_, 4, seq);
  put32(l4_header_, 8, ack);
  l4_header_[12] = 5 << 4;  // data offset: 5 words
  l4_header_[13] = flags;
  put16(l4_header_, 14, 64240);  // window
  return *this;
}

PacketBuilder& PacketBuilder::udp(uint16_t sport, uint16_t dport) {
  l4_proto_ = IPPROTO_UDP;
  l4_header_.assign(8, 0);
  put16(l4_header_, 0, sport);
  put16(l4_header_, 2, dport);
  return *this;
}

PacketBuilder& PacketBuilder::icmp_echo(uint8_t type, uint16_t id, uint16_t seq) {
  l4_proto_ = IPPROTO_ICMP;
  l4_header_.assign(8, 0);
  l4_header_[0] = type;  // 8 request, 0 reply
  put16(l4_header_, 4, id);
  put16(l4_header_, 6, seq);
  return *this;
}

PacketBuilder& PacketBuilder::icmp(uint8_t type, uint8_t code) {
  l4_proto_ = IPPROTO_ICMP;
  l4_header_.assign(8, 0);
  l4_header_[0] = type;
  l4_header_[1] = code;
  return *this;
}

PacketBuilder& PacketBuilder::sctp(uint16_t sport, uint16_t dport) {
  l4_proto_ = IPPROTO_SCTP;
  l4_header_.assign(12, 0);
  put16(l4_header_, 0, sport);
  put16(l4_header_, 2, dport);
  return *this;
}

PacketBuilder& PacketBuilder::ip_protocol(uint8_t proto) {
  l4_proto_ = proto;
  l4_header_.clear();
  return *this;
}

PacketBuilder& PacketBuilder::fragment(uint16_t offset, bool more_fragments) {
  frag_ = static_cast<uint16_t>((offset & 0x1fff) | (more_fragments ? 0x2000 : 0));
  return *this;
}

PacketBuilder& PacketBuilder::payload(std::string_view bytes) {
  payload_ = std::string(bytes);
  return *this;
}

std::vector<uint8_t> PacketBuilder::build() const {
  std::vector<uint8_t> pkt(14, 0);
  std::copy(mac_dst_.begin(), mac_dst_.end(), pkt.begin());
  std::copy(mac_src_.begin(), mac_src_.end(), pkt.begin() + 6);
  put16(pkt, 12, ethertype_);
  if (!have_ip_) {
    pkt.insert(pkt.end(), payload_.begin(), payload_.end());
    return pkt;
  }
  std::vector<uint8_t> l4 = l4_header_;
  l4.insert(l4.end(), payload_.begin(), payload_.end());
  const size_t ip_off = pkt.size();
  std::vector<uint8_t> ip(20, 0);
  ip[0] = 0x45;
  put16(ip, 2, static_cast<uint16_t>(20 + l4.size()));
  put16(ip, 6, frag_);
  ip[8] = ttl_;
  ip[9] = l4_proto_;
  put32(ip, 12, ip_src_);
  put32(ip, 16, ip_dst_);
  put16(ip, 10, fold(sum16(ip.data(), ip.size())));
  if (l4_proto_ == IPPROTO_TCP || l4_proto_ == IPPROTO_UDP) {
    // Pseudo-header: addresses, protocol, L4 length.
    uint32_t sum = sum16(ip.data() + 12, 8);
    sum += l4_proto_;
    sum += static_cast<uint32_t>(l4.size());
    size_t csum_off = l4_proto_ == IPPROTO_TCP ? 16 : 6;
    if (l4_proto_ == IPPROTO_UDP) put16(l4, 4, static_cast<uint16_t>(l4.size()));
    put16(l4, csum_off, 0);
    uint16_t c = fold(sum16(l4.data(), l4.size(), sum));
    if (l4_proto_ == IPPROTO_UDP && c == 0) c = 0xffff;
    put16(l4, csum_off, c);
  } else if (l4_proto_ == IPPROTO_ICMP) {
    put16(l4, 2, 0);
    put16(l4, 2, fold(sum16(l4.data(), l4.size())));
  }
  pkt.insert(pkt.end(), ip.begin(), ip.end());
  pkt.insert(pkt.end(), l4.begin(), l4.end());
  (void)ip_off;
  return pkt;
}

std::vector<uint8_t> PacketBuilder::build_truncated(size_t n) const {
  auto pkt = build();
  if (n < pkt.size()) pkt.resize(n);
  return pkt;
}

}  // namespace axon::test
