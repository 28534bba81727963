// Drop reasons: Cilium's codes and texts (axon/abi/events.h), one table
// shared by the datapath's events, its stats and the flow decoder.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace axon::datapath {

struct DropReasonInfo {
  uint8_t code;
  std::string_view name;  // Hubble's DropReason enum name: "POLICY_DENIED"
  std::string_view text;  // Cilium's monitor text: "Policy denied"
};

// Every drop reason axon's datapath can report, by code.
const std::vector<DropReasonInfo>& drop_reasons();

// "Policy denied by denylist" for 181; "unknown drop reason 200" otherwise.
std::string drop_reason_text(uint8_t code);
// The Hubble enum name, "DROP_REASON_UNKNOWN" for codes axon does not know.
std::string_view drop_reason_name(uint8_t code);

}  // namespace axon::datapath
