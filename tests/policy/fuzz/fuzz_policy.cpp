// libFuzzer target: any bytes through the whole offline policy path —
// load (YAML/JSON, multi-document), strict decode, the set analysis, the
// compiler on what decoded, and `policy fix`. It must never crash, hang,
// leak or trip a sanitizer; problems are the expected answer to garbage.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "axon/policy/compiler.h"
#include "axon/policy/decode.h"
#include "axon/policy/fix.h"

using namespace axon;
using namespace axon::policy;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto decoded = decode_policies(text, "fuzz.yaml");
  if (!decoded.policies.empty() && decoded.policies.size() <= 4) {
    (void)check_policy_set(decoded.policies);
    Identity pod{300, {}};
    pod.labels.add(Label{"k8s", "io.kubernetes.pod.namespace", "default"});
    pod.labels.add(Label{"k8s", "app", "x"});
    Identity other{301, {}};
    other.labels.add(Label{"k8s", "io.kubernetes.pod.namespace", "kube-system"});
    auto compiled = compile(decoded.policies, pod, {}, {other});
    (void)lookup(compiled.policy, Direction::egress, 301, Flow{Protocol::tcp, 53});
  }
  (void)fix_text(text, "fuzz.yaml");
  return 0;
}
