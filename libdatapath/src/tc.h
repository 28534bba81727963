// Attaching axon's programs to an interface's TC hooks (clsact), one filter
// per hook: attaching again replaces it in place.
#pragma once

#include <bpf/libbpf.h>

#include <array>
#include <cstdint>

#include "axon/base/result.h"

namespace axon::datapath {

Status tc_attach(uint32_t ifindex, bpf_tc_attach_point point, const bpf_program* prog);
Status tc_detach(uint32_t ifindex, bpf_tc_attach_point point);  // gone already is fine

// The MAC address of a link of the calling namespace.
Result<std::array<uint8_t, 6>> link_mac(uint32_t ifindex);

}  // namespace axon::datapath
