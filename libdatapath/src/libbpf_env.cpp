#include "axon/datapath/libbpf_env.h"

#include <bpf/libbpf.h>
#include <linux/if_ether.h>

#include <array>
#include <cstdarg>
#include <cstdio>
#include <string>
#include <string_view>

#include "axon/abi/smoke.h"
#include "axon/base/log.h"
#include "axon/datapath/prog_test_run.h"
#include "axon/datapath/skeleton.h"
#include "smoke.skel.h"

AXON_SKELETON_OPS(axon_smoke);

namespace axon::datapath {
namespace {

int libbpf_print(enum libbpf_print_level level, const char* format, va_list args) {
  log::Level ours = level == LIBBPF_WARN   ? log::Level::warn
                    : level == LIBBPF_INFO ? log::Level::debug
                                           : log::Level::trace;
  // The kernel's extack text of a failed netlink call ("Parent Qdisc doesn't
  // exists" when a veth has no clsact yet): the caller gets the error code
  // and reports it with context, or it was expected. Debug only.
  if (std::string_view(format).starts_with("Kernel error message")) ours = log::Level::debug;
  if (!log::enabled(ours)) return 0;
  std::array<char, 2048> buf{};
  int n = std::vsnprintf(buf.data(), buf.size(), format, args);
  std::string msg(buf.data(), n < 0 ? 0 : std::min<size_t>(static_cast<size_t>(n), buf.size() - 1));
  while (!msg.empty() && msg.back() == '\n') msg.pop_back();
  log::write(ours, "libbpf: " + msg);
  return n;
}

}  // namespace

std::string libbpf_version() {
  std::string v = libbpf_version_string();  // "v1.1"
  return v.starts_with('v') ? v.substr(1) : v;
}

void route_libbpf_logs() {
  libbpf_set_print(libbpf_print);
}

Status probe_bpf() {
  auto skel = Skeleton<axon_smoke>::open_and_load();
  if (!skel) return skel.error();
  // A minimal ARP frame: destination, source, EtherType, then padding.
  std::array<uint8_t, 60> frame{};
  frame[12] = ETH_P_ARP >> 8;
  frame[13] = ETH_P_ARP & 0xff;
  auto run = prog_test_run((*skel)->progs.axon_smoke, frame);
  if (!run) return run.error();
  if (run->retval != 0 /* TC_ACT_OK */) {
    return Error{"smoke program returned " + std::to_string(run->retval) +
                 " for an ARP frame, want 0"};
  }
  return {};
}

}  // namespace axon::datapath
