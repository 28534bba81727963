#include "tc.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <string>

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

}  // namespace axon::datapath
