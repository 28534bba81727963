// Strict validation and decoding of policy manifests into the model.
//
// This is the entry point for anything that reads policies:
//   - `axon policy validate/trace/fix` (files, offline);
//   - `axon apply -f`: load_documents(), then decode_policy() on
//     every document, refusing to apply anything if any problem is an error;
//     documents whose `is_policy` is false belong to other validators;
//   - the agent: decode_policy(document_from_json(object)) for
//     objects read from the store, then PolicyEngine::upsert_policy().
//
// Every problem names the file, the document, the line, the object and the
// field path, says what is wrong and how to fix it, and whether
// `axon policy fix` can rewrite it. A policy with any error is not decoded
// (as in Cilium, one invalid rule invalidates the whole object and nothing
// of it is enforced).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "axon/policy/model.h"
#include "axon/base/diagnostic.h"
#include "axon/policy/yaml.h"

namespace axon::policy {

struct Decoded {
  bool is_policy = false;        // apiVersion/kind name a policy kind (or nearly do)
  std::optional<Policy> policy;  // set when there is no error
  std::vector<Diagnostic> problems;
  std::string object;  // "CiliumNetworkPolicy production/default-deny"
};

// Validates and decodes one document. Never throws.
Decoded decode_policy(const Document& doc);

// Every document of a text. Documents that are not policies are reported
// as warnings ("skipped"), unless `skip_others_silently`.
struct DecodedFile {
  std::vector<Policy> policies;   // the valid ones, in file order
  std::vector<Diagnostic> problems;  // every problem, in file order
  int documents = 0;              // documents read
  int invalid = 0;                // policy documents with errors
};
DecodedFile decode_policies(std::string_view text, const std::string& file,
                            bool skip_others_silently = false);

// Problems that only show across a set of valid policies: an allow the
// other end's default deny makes unreachable (traffic needs the source's
// egress and the destination's ingress), two policies with the same name.
std::vector<Diagnostic> check_policy_set(const std::vector<Policy>& policies);

}  // namespace axon::policy
