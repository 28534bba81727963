// Private to the policy engine: the decoder's rewrite hooks (used by
// `policy fix`) and the translation of Kubernetes NetworkPolicy words found
// inside a Cilium policy (used by both the decoder's message and the fix).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "axon/policy/decode.h"

namespace axon::policy::internal {

// A rewrite of the document tree the decoder was given, repairing one
// problem. The decoder only records them; fix.cpp applies them to a copy.
struct FixAction {
  std::function<void()> apply;
  std::string note;  // what the rewrite does, for the user
};

Decoded decode_document(const Document& doc, std::vector<FixAction>* fixes);

// An element of ingress/egress (or a deny section) written with Kubernetes
// NetworkPolicy words (`from`/`to` with podSelector, namespaceSelector,
// ipBlock; `ports`) as the Cilium element(s) that mean the same.
struct K8sTranslation {
  std::vector<std::string> words;    // the NetworkPolicy words found, in order
  std::vector<YAML::Node> elements;  // the equivalent Cilium elements (usually one)
  std::vector<std::string> notes;    // how the selectors map, one sentence each
  std::string error;                 // non-empty: cannot translate, and why
};

// Is `key` a NetworkPolicy word at the level of an ingress/egress element?
bool is_k8s_element_word(const std::string& key);

K8sTranslation translate_k8s_element(const YAML::Node& element, Section section, PolicyKind kind,
                                     const std::string& ns);

}  // namespace axon::policy::internal
