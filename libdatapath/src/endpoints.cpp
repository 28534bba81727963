#include "axon/datapath/endpoints.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/pkt_cls.h>

#include <cerrno>
#include <string>

#include "axon/abi/datapath.h"
#include "epoch.h"

namespace axon::datapath {
namespace {

// axon's filters on every hook: one handle and priority, so attaching again
// replaces them in place.
constexpr uint32_t kHandle = 0xa1;
constexpr uint32_t kPriority = 1;

Status attach_one(uint32_t ifindex, bpf_tc_attach_point point, const bpf_program* prog) {
  const std::string where = std::string(point == BPF_TC_INGRESS ? "ingress" : "egress") +
                            " of ifindex " + std::to_string(ifindex);
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog), .flags = BPF_TC_F_REPLACE,
              .handle = kHandle, .priority = kPriority);
  int err = bpf_tc_attach(&hook, &opts);
  if (err != 0) {
    // No clsact qdisc yet (a fresh veth): create it, then attach. (Creating
    // it first would make the kernel complain on every re-attach.)
    err = bpf_tc_hook_create(&hook);
    if (err != 0 && err != -EEXIST) return neg_errno_error("create clsact qdisc on " + where, err);
    opts.prog_id = 0;
    err = bpf_tc_attach(&hook, &opts);
  }
  if (err != 0) {
    return neg_errno_error(std::string("attach ") + bpf_program__name(prog) + " to " + where, err);
  }
  return {};
}

Status detach_one(uint32_t ifindex, bpf_tc_attach_point point) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
  int err = bpf_tc_detach(&hook, &opts);
  // Gone already: the veth (ENODEV), the qdisc (EINVAL) or the filter (ENOENT).
  if (err != 0 && err != -ENOENT && err != -ENODEV && err != -EINVAL) {
    return neg_errno_error("detach from ifindex " + std::to_string(ifindex), err);
  }
  return {};
}

}  // namespace

Status Endpoints::attach(const Endpoint& ep) {
  if (auto s = record(ep); !s) return s;
  if (auto s = attach_one(ep.ifindex, BPF_TC_INGRESS, from_); !s) return s;
  return attach_one(ep.ifindex, BPF_TC_EGRESS, to_);
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
  if (auto s = detach_one(ifindex, BPF_TC_INGRESS); !s) return s;
  if (auto s = detach_one(ifindex, BPF_TC_EGRESS); !s) return s;
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
    out.push_back({key.ifindex, Ipv4::from_network_order(info.ipv4), info.identity,
                   info.endpoint_id});
  }
  return out;
}

}  // namespace axon::datapath
