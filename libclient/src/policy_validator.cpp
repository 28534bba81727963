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
  std::vector<Diagnostic> out;
  for (const auto& p : policy::decode_policy(*doc).problems) {
    Diagnostic d;
    d.severity = p.severity == policy::Severity::error ? Severity::error : Severity::warning;
    d.path = p.path;  // the registry finds the line in the manifest
    d.message = p.message;
    d.fix = p.fix;
    if (p.fixable && m.file != "-") d.command = "axon policy fix -f " + m.file + " -w";
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace axon::client
