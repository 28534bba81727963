// L2 announcements in the datapath: the addresses this node answers ARP for
// on a device (bpf/lib/l2.h, run by from-netdev). Which node announces which
// address is the agent's to decide (one holder per address); this only says
// what this node answers.
//
//   dp->l2().announce({lb_ip, ifindex});   // ARP who-has lb_ip -> the device's MAC
//   dp->l2().withdraw({lb_ip, ifindex});
//   dp->l2().hold_until(now + renew_deadline);  // after each lease renewal
//
// The responder answers only until the deadline hold_until last set (the
// node's L2 lease): an agent that stops renewing falls silent by itself.
#pragma once

#include <chrono>
#include <cstdint>
#include <vector>

#include "axon/base/result.h"
#include "axon/datapath/ip.h"

struct bpf_map;

namespace axon::datapath {

struct Announcement {
  Ipv4 ip;
  uint32_t ifindex = 0;
  auto operator<=>(const Announcement&) const = default;
};

class L2Responder {
 public:
  L2Responder(bpf_map* map, bpf_map* lease) : map_(map), lease_(lease) {}

  Status announce(const Announcement& a);  // already announced is fine
  Status withdraw(const Announcement& a);  // absent is fine
  // What the map holds, with the ARP replies sent for each.
  std::vector<std::pair<Announcement, uint64_t>> list() const;

  // Answers until `deadline` (CLOCK_MONOTONIC); a past one silences the node.
  Status hold_until(std::chrono::steady_clock::time_point deadline);
  std::chrono::steady_clock::time_point held_until() const;

 private:
  bpf_map* map_;
  bpf_map* lease_;
};

}  // namespace axon::datapath
