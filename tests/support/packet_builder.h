// PacketBuilder: crafted packets for BPF_PROG_TEST_RUN, written so a test
// reads like the packet it sends:
//
//   auto pkt = PacketBuilder()
//                  .eth("02:00:00:00:00:01", "02:00:00:00:00:02")
//                  .ipv4("10.244.1.5", "10.244.2.7")
//                  .tcp(40000, 8080, kTcpSyn)
//                  .payload("hello")
//                  .build();
//
// Lengths and checksums (IPv4 header, TCP/UDP/ICMP) are filled in by build().
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace axon::test {

inline constexpr uint8_t kTcpFin = 0x01;
inline constexpr uint8_t kTcpSyn = 0x02;
inline constexpr uint8_t kTcpRst = 0x04;
inline constexpr uint8_t kTcpPsh = 0x08;
inline constexpr uint8_t kTcpAck = 0x10;

class PacketBuilder {
 public:
  PacketBuilder& eth(std::string_view src_mac, std::string_view dst_mac, uint16_t ethertype = 0);
  PacketBuilder& ipv4(std::string_view src, std::string_view dst, uint8_t ttl = 64);
  PacketBuilder& ipv6_ethertype();  // EtherType only; the smoke test needs no more
  PacketBuilder& tcp(uint16_t sport, uint16_t dport, uint8_t flags, uint32_t seq = 1,
                     uint32_t ack = 0);
  PacketBuilder& udp(uint16_t sport, uint16_t dport);
  PacketBuilder& icmp_echo(uint8_t type, uint16_t id, uint16_t seq);
  // ICMP of any type/code with a 4-byte rest-of-header of zeros.
  PacketBuilder& icmp(uint8_t type, uint8_t code);
  PacketBuilder& sctp(uint16_t sport, uint16_t dport);  // common header, checksum left 0
  PacketBuilder& ip_protocol(uint8_t proto);             // an L4 protocol axon does not parse
  // IPv4 fragment fields: offset in 8-byte units, more-fragments flag.
  PacketBuilder& fragment(uint16_t offset, bool more_fragments);
  PacketBuilder& payload(std::string_view bytes);

  std::vector<uint8_t> build() const;

  // The built packet cut to its first `n` bytes (truncated-packet tests).
  std::vector<uint8_t> build_truncated(size_t n) const;

 private:
  std::vector<uint8_t> mac_src_ = std::vector<uint8_t>(6, 0), mac_dst_ = std::vector<uint8_t>(6, 0);
  uint16_t ethertype_ = 0;
  bool have_ip_ = false;
  uint32_t ip_src_ = 0, ip_dst_ = 0;  // host order
  uint8_t ttl_ = 64;
  uint16_t frag_ = 0x4000;  // don't fragment
  uint8_t l4_proto_ = 0;  // IPPROTO_*
  std::vector<uint8_t> l4_header_;
  std::string payload_;
};

// "10.0.0.1" -> host-order integer; throws std::invalid_argument on bad input.
uint32_t parse_ipv4(std::string_view text);

}  // namespace axon::test
