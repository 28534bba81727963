// Checking Kubernetes-shaped objects before anything is written, the way
// the API server would refuse them, but all at once and with the file,
// document, line and field of each problem.
//
// Generic checks run for every object: apiVersion and kind known to axon,
// metadata.name a valid DNS-1123 name, a namespace only on namespaced
// kinds, labels and annotations as strings. Then every validator
// registered for the object's kind runs. The registry is the hook through
// which other parts plug in their own checks without libclient knowing
// them; the policy engine's is plugged in with one line:
//
//   registry.add(client::policy_kinds(), validate_policy_object);
//
// where validate_policy_object(const ManifestObject&) returns Diagnostics
// whose `path` is relative to the object ("spec.ingress[0].from"); the
// registry fills in file, line, document and object.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "axon/base/diagnostic.h"
#include "axon/client/yaml.h"

namespace axon::client {

// One object read from a manifest, with where it came from.
struct ManifestObject {
  Json object;
  std::string file;       // as the user named it; "-" for standard input
  int document = 0;       // 1-based position of its document in the file
  std::string base_path;  // "items[2]" for an item of a `kind: List`; "" otherwise
  // The parsed document, for the line of every field; null for objects
  // that were not read from text.
  std::shared_ptr<const YamlDocument> source;

  // Where a field of the object is ("spec.ports[0].port"), or the closest
  // enclosing field that has a location.
  SourceLocation where(const std::string& path) const;
  // "Service production/api" (namespace as written); "" when the object
  // has neither kind nor name.
  std::string describe() const;
};

// A kind as validators are keyed: group ("" for core) and kind.
struct GroupKind {
  std::string group;
  std::string kind;
  auto operator<=>(const GroupKind&) const = default;
};

// The problems a validator finds. `path` is relative to the object; the
// registry fills in location, document and object where left empty.
using ObjectValidator = std::function<std::vector<Diagnostic>(const ManifestObject&)>;

class ValidatorRegistry {
 public:
  // `validator` runs for every object of these kinds (after the generic
  // checks passed for it). Several validators may serve one kind; all run.
  void add(const std::vector<GroupKind>& kinds, ObjectValidator validator);

  bool has_validator(const GroupKind& kind) const { return validators_.count(kind) > 0; }

  // Generic checks, then the kind's validators. Every diagnostic carries
  // the file, the document, the line and the object.
  std::vector<Diagnostic> validate(const ManifestObject& object) const;

 private:
  std::map<GroupKind, std::vector<ObjectValidator>> validators_;
};

// Only what identifies the object: a known apiVersion and kind, a name, no
// namespace on a cluster-scoped kind. Enough to delete it.
std::vector<Diagnostic> check_identity(const ManifestObject& object);

// The policy kinds (CiliumNetworkPolicy, CiliumClusterwideNetworkPolicy,
// NetworkPolicy), for the policy engine's validator.
std::vector<GroupKind> policy_kinds();
// The policy engine's checks (those of `axon policy validate`) for one
// policy object.
std::vector<Diagnostic> validate_policy_object(const ManifestObject& object);

// A registry with the structural checks of the kinds the seed and the lab
// use: Namespace, Service, Pod, Deployment, DaemonSet, ConfigMap, Secret,
// CustomResourceDefinition, CiliumLoadBalancerIPPool,
// CiliumL2AnnouncementPolicy, Gateway, HTTPRoute, GatewayClass.
ValidatorRegistry builtin_validators();

// Name rules (Kubernetes' apimachinery validation). Each returns "" when
// the value is valid, else what is wrong.
std::string check_dns1123_subdomain(const std::string& value);  // most object names
std::string check_dns1123_label(const std::string& value);      // Namespace, Service names
std::string check_label_key(const std::string& key);
std::string check_label_value(const std::string& value);
// A valid name close to `value` ("My_App" -> "my-app"), for fixes.
std::string suggest_dns_name(const std::string& value, bool allow_dots);

}  // namespace axon::client
