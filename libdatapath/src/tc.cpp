#include "tc.h"

#include <bpf/libbpf.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include "axon/base/fd.h"

namespace axon::datapath {
namespace {

// axon's filters on every hook: one handle and priority, so attaching again
// replaces them in place.
constexpr uint32_t kHandle = 0xa1;
constexpr uint32_t kPriority = 1;

}  // namespace

Status tc_attach(uint32_t ifindex, bpf_tc_attach_point point, const bpf_program* prog) {
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

Status tc_detach(uint32_t ifindex, bpf_tc_attach_point point) {
  LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = static_cast<int>(ifindex), .attach_point = point);
  LIBBPF_OPTS(bpf_tc_opts, opts, .handle = kHandle, .priority = kPriority);
  int err = bpf_tc_detach(&hook, &opts);
  // Gone already: the veth (ENODEV), the qdisc (EINVAL) or the filter (ENOENT).
  if (err != 0 && err != -ENOENT && err != -ENODEV && err != -EINVAL) {
    return neg_errno_error("detach from ifindex " + std::to_string(ifindex), err);
  }
  return {};
}

// The MAC address of a link of the calling namespace.
Result<std::array<uint8_t, 6>> link_mac(uint32_t ifindex) {
  ifreq ifr{};
  if (if_indextoname(ifindex, ifr.ifr_name) == nullptr)
    return sys_error("no interface with ifindex " + std::to_string(ifindex));
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid()) return sys_error("socket");
  if (ioctl(s.get(), SIOCGIFHWADDR, &ifr) != 0)
    return sys_error(std::string("read the MAC address of ") + ifr.ifr_name);
  std::array<uint8_t, 6> mac{};
  std::memcpy(mac.data(), ifr.ifr_hwaddr.sa_data, mac.size());
  return mac;
}

}  // namespace axon::datapath
