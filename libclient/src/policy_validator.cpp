// The policy engine's validator for `axon apply`: CiliumNetworkPolicy,
// CiliumClusterwideNetworkPolicy and NetworkPolicy objects get the same
// strict checks as `axon policy validate`, so a policy that would protect
// nothing (the seed's `ingress: []`) or that uses NetworkPolicy words in a
// CiliumNetworkPolicy never reaches the store.
#include "axon/client/validation.h"
#include "axon/policy/decode.h"

namespace axon::client {

std::vector<Diagnostic> validate_policy_object(const ManifestObject& m) {
  auto doc = policy::document_from_json(m.object, m.file, m.document);
  if (!doc) {
    Diagnostic d;
    d.message = doc.error().str();
    return {d};
  }
  auto out = policy::decode_policy(*doc).problems;
  for (auto& d : out) {
    // The registry says where, from the manifest's own lines.
    d.location = {};
    d.document = 0;
    d.object.clear();
    if (d.fixable && m.file != "-") d.command = "axon policy fix -f " + m.file + " -w";
  }
  return out;
}

}  // namespace axon::client
