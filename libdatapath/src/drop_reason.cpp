#include "axon/datapath/drop_reason.h"

#include <string>

#include "axon/abi/events.h"

namespace axon::datapath {

const std::vector<DropReasonInfo>& drop_reasons() {
  static const std::vector<DropReasonInfo> table = {
#define AXON_X_ROW(name, code, hubble, text) {code, hubble, text},
      AXON_DROP_REASONS(AXON_X_ROW)
#undef AXON_X_ROW
  };
  return table;
}

static const DropReasonInfo* find(uint8_t code) {
  for (const auto& r : drop_reasons()) {
    if (r.code == code) return &r;
  }
  return nullptr;
}

std::string drop_reason_text(uint8_t code) {
  const auto* r = find(code);
  return r ? std::string(r->text) : "unknown drop reason " + std::to_string(code);
}

std::string_view drop_reason_name(uint8_t code) {
  const auto* r = find(code);
  return r ? r->name : "DROP_REASON_UNKNOWN";
}

}  // namespace axon::datapath
