#include "axon/datapath/endpoints.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <string>

#include "axon/abi/datapath.h"
#include "axon/base/fd.h"
#include "epoch.h"
#include "tc.h"

namespace axon::datapath {
namespace {

}  // namespace

Status Endpoints::attach(const Endpoint& ep) {
  if (auto s = record(ep); !s) return s;
  if (auto s = tc_attach(ep.ifindex, BPF_TC_INGRESS, from_); !s) return s;
  if (auto s = tc_attach(ep.ifindex, BPF_TC_EGRESS, to_); !s) return s;
  // A destination of host routing only once both programs are on its veth.
  axon_lxc_key key{ep.ip.network_order()};
  if (std::all_of(ep.mac.begin(), ep.mac.end(), [](uint8_t b) { return b == 0; })) {
    (void)bpf_map__delete_elem(lxc_, &key, sizeof(key), 0);
    return {};
  }
  auto host_mac = link_mac(ep.ifindex);
  if (!host_mac) return host_mac.error();
  axon_lxc_info info{};
  info.ifindex = ep.ifindex;
  std::memcpy(info.mac, ep.mac.data(), sizeof(info.mac));
  std::memcpy(info.host_mac, host_mac->data(), sizeof(info.host_mac));
  if (bpf_map__update_elem(lxc_, &key, sizeof(key), &info, sizeof(info), BPF_ANY) != 0)
    return sys_error("record the route to " + ep.ip.str());
  return {};
}

Status Endpoints::record(const Endpoint& ep) {
  if (ep.endpoint_id == 0) return Error{"endpoint id 0 is reserved"};
  axon_endpoint_key key{ep.ifindex};
  axon_endpoint_info info{};
  info.endpoint_id = ep.endpoint_id;
  info.identity = ep.identity;
  info.ipv4 = ep.ip.network_order();
  if (bpf_map__update_elem(map_, &key, sizeof(key), &info, sizeof(info), BPF_ANY) != 0) {
    return sys_error("record endpoint on ifindex " + std::to_string(ep.ifindex));
  }
  return bump_policy_epoch(epoch_);
}

Status Endpoints::detach(uint32_t ifindex) {
  // First no more packets routed to it: the address may move to a new pod.
  axon_endpoint_key ek{ifindex};
  axon_endpoint_info known{};
  if (bpf_map__lookup_elem(map_, &ek, sizeof(ek), &known, sizeof(known), 0) == 0) {
    axon_lxc_key key{known.ipv4};
    axon_lxc_info route{};
    if (bpf_map__lookup_elem(lxc_, &key, sizeof(key), &route, sizeof(route), 0) == 0 &&
        route.ifindex == ifindex)
      (void)bpf_map__delete_elem(lxc_, &key, sizeof(key), 0);
  }
  if (auto s = tc_detach(ifindex, BPF_TC_INGRESS); !s) return s;
  if (auto s = tc_detach(ifindex, BPF_TC_EGRESS); !s) return s;
  axon_endpoint_key key{ifindex};
  if (bpf_map__delete_elem(map_, &key, sizeof(key), 0) != 0 && errno != ENOENT) {
    return sys_error("forget endpoint on ifindex " + std::to_string(ifindex));
  }
  return bump_policy_epoch(epoch_);
}

Result<std::vector<Endpoint>> Endpoints::list() const {
  std::vector<Endpoint> out;
  axon_endpoint_key key{}, next{};
  bool first = true;
  while (bpf_map__get_next_key(map_, first ? nullptr : &key, &next, sizeof(next)) == 0) {
    first = false;
    key = next;
    axon_endpoint_info info{};
    if (bpf_map__lookup_elem(map_, &key, sizeof(key), &info, sizeof(info), 0) != 0) continue;
    Endpoint ep{key.ifindex, Ipv4::from_network_order(info.ipv4), info.identity,
                info.endpoint_id};
    axon_lxc_key lk{info.ipv4};
    axon_lxc_info route{};
    if (bpf_map__lookup_elem(lxc_, &lk, sizeof(lk), &route, sizeof(route), 0) == 0 &&
        route.ifindex == key.ifindex)
      std::memcpy(ep.mac.data(), route.mac, ep.mac.size());
    out.push_back(ep);
  }
  return out;
}

}  // namespace axon::datapath
