// Labels as Cilium writes them: `source:key=value`, e.g.
// `k8s:io.kubernetes.pod.namespace=production`, `reserved:world`.
//
// Sources (../shared/reference/semantics.md §1.5): k8s, reserved, any
// (matches any source; a selector key without a source means any), cidr,
// fqdn, container, unspec and a few internal ones.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "axon/base/result.h"

namespace axon::policy {

inline constexpr std::string_view kSourceK8s = "k8s";
inline constexpr std::string_view kSourceReserved = "reserved";
inline constexpr std::string_view kSourceAny = "any";
inline constexpr std::string_view kSourceCidr = "cidr";
inline constexpr std::string_view kSourceFqdn = "fqdn";

// Label keys with a meaning of their own.
inline constexpr std::string_view kNamespaceKey = "io.kubernetes.pod.namespace";
inline constexpr std::string_view kNamespaceLabelsPrefix = "io.cilium.k8s.namespace.labels.";
inline constexpr std::string_view kPolicyLabelsPrefix = "io.cilium.k8s.policy.";
inline constexpr std::string_view kClusterKey = "io.cilium.k8s.policy.cluster";
inline constexpr std::string_view kServiceAccountKey = "io.cilium.k8s.policy.serviceaccount";
// The label Kubernetes puts on every Namespace: its own name.
inline constexpr std::string_view kMetadataNameKey = "kubernetes.io/metadata.name";

// Every label source axon accepts.
const std::vector<std::string>& label_sources();

struct Label {
  std::string source;  // "k8s", "reserved", ...; never "any" on an endpoint
  std::string key;
  std::string value;  // may be empty ("reserved:host")

  bool operator==(const Label&) const = default;
};

// "k8s:role=frontend"; "reserved:host" when the value is empty.
std::string to_string(const Label& label);

// A set of labels, kept sorted by key (then source, value) with no
// duplicates, so lookups by key are binary searches.
class LabelSet {
 public:
  LabelSet() = default;
  explicit LabelSet(std::vector<Label> labels);

  void add(Label label);
  const std::vector<Label>& labels() const { return labels_; }
  bool empty() const { return labels_.empty(); }
  size_t size() const { return labels_.size(); }

  // Labels with this key; `source` "any" matches every source.
  std::vector<const Label*> find(std::string_view source, std::string_view key) const;
  // The value of the first label with this key and source ("any" for any).
  const Label* first(std::string_view source, std::string_view key) const;
  bool has(std::string_view source, std::string_view key) const {
    return first(source, key) != nullptr;
  }

  bool operator==(const LabelSet& other) const { return labels_ == other.labels_; }
  bool operator<(const LabelSet& other) const;

 private:
  std::vector<Label> labels_;
};

// "k8s:a=b, k8s:c=d" (sorted).
std::string to_string(const LabelSet& labels, std::string_view separator = ", ");

// Splits "source:key" at the first colon when the part before it is a
// known source; otherwise the whole text is the key and the source is
// `default_source`.
void split_source(std::string_view text, std::string_view default_source, std::string& source,
                  std::string& key);

// One label "source:key=value" (value optional). A key without a source
// gets `default_source`.
Result<Label> parse_label(std::string_view text, std::string_view default_source);
// Comma-separated labels, as Cilium prints them.
Result<LabelSet> parse_labels(std::string_view text, std::string_view default_source);

// Kubernetes syntax of label keys ([prefix/]name) and values; the message
// says what is wrong, empty when valid.
std::string check_label_key(std::string_view key);
std::string check_label_value(std::string_view value);

}  // namespace axon::policy
