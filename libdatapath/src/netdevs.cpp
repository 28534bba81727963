#include "axon/datapath/netdevs.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "axon/abi/lb.h"
#include "tc.h"

namespace axon::datapath {

Status Netdevs::attach(const Netdev& dev) {
  Netdev d = dev;
  if (std::all_of(d.mac.begin(), d.mac.end(), [](uint8_t b) { return b == 0; })) {
    auto mac = link_mac(d.ifindex);
    if (!mac) return mac.error();
    d.mac = *mac;
  }
  if (auto s = record(d); !s) return s;
  return tc_attach(dev.ifindex, BPF_TC_INGRESS, prog_);
}

Status Netdevs::record(const Netdev& dev) {
  axon_netdev_info info{};
  info.ipv4 = dev.addr.network_order();
  std::memcpy(info.mac, dev.mac.data(), sizeof(info.mac));
  if (bpf_map__update_elem(map_, &dev.ifindex, sizeof(dev.ifindex), &info, sizeof(info),
                           BPF_ANY) != 0) {
    return sys_error("record network device " + std::to_string(dev.ifindex));
  }
  return {};
}

Status Netdevs::detach(uint32_t ifindex) {
  if (auto s = tc_detach(ifindex, BPF_TC_INGRESS); !s) return s;
  if (bpf_map__delete_elem(map_, &ifindex, sizeof(ifindex), 0) != 0 && errno != ENOENT)
    return sys_error("forget network device " + std::to_string(ifindex));
  return {};
}

}  // namespace axon::datapath
