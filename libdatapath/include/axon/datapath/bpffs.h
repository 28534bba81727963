// bpffs: where axon pins the datapath's maps so they outlive the agent.
//
// Pins of one node live in /sys/fs/bpf/axon/<lab>/<node>/ (several lab nodes
// share one kernel). If /sys/fs/bpf is not a bpffs, axon mounts one there,
// as Cilium and systemd do, and never unmounts it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "axon/base/result.h"

namespace axon::datapath {

inline constexpr std::string_view kBpffsRoot = "/sys/fs/bpf";
inline constexpr std::string_view kAxonPinRoot = "/sys/fs/bpf/axon";

// Mounts bpffs at /sys/fs/bpf unless one is mounted there already.
Status ensure_bpffs();

// /sys/fs/bpf/axon/<lab>/<node>
std::string node_pin_dir(std::string_view lab, std::string_view node);

// mkdir -p with mode 0700. The path must be under /sys/fs/bpf/axon.
Status make_pin_dir(const std::string& dir);

// Removes the named pins in `dir` (missing ones are fine), then `dir` itself
// if it is empty. Never touches a name it was not given.
Status remove_pins(const std::string& dir, const std::vector<std::string>& names);

}  // namespace axon::datapath
