// Where each kind lives in the Kubernetes API: group, version, plural,
// scope, and the names kubectl accepts for it. Used to build URL paths and
// store keys, to name objects in messages, and to read what a user typed
// (`axon get po`, `axon get deployments.apps`, `axon delete cnp x`).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/yaml.h"

namespace axon::client {

struct ResourceInfo {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string kind;     // "DaemonSet"
  std::string plural;   // "daemonsets"
  bool namespaced = true;
  std::vector<std::string> short_names = {};  // kubectl's: "ds"

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
  // "daemonset" (kubectl's singular: the kind in lower case).
  std::string singular() const;
  // "daemonset.apps", "service": how kubectl names the resource in
  // "daemonset.apps/axon-agent" and `daemonset.apps "axon-agent" deleted`.
  std::string qualified_singular() const;
  // "daemonsets.apps", "services": the resource as kubectl's errors name it.
  std::string qualified_plural() const;
};

// Every kind axon reads or writes.
const std::vector<ResourceInfo>& known_resources();
std::optional<ResourceInfo> find_resource(const std::string& api_version, const std::string& kind);
// The kind known under another apiVersion (to say which one is served).
std::optional<ResourceInfo> find_kind(const std::string& kind);

// What a user typed for a kind, read as kubectl reads it: plural ("pods"),
// singular ("pod"), short name ("po"), kind ("Pod"), any letter case, each
// optionally qualified by group or version.group ("deployments.apps",
// "deploy.v1.apps", "cnp.cilium.io"). The error lists the kinds axon
// serves, with a "did you mean" when the word is close to one.
Result<ResourceInfo> resolve_resource(const std::string& word);
// Every plural name, sorted: what `axon get <TAB>` offers.
std::vector<std::string> resource_plurals();

// An object's identity.
struct ObjectRef {
  std::string api_version, kind, namespace_, name;

  static ObjectRef of(const Json& object);
  // "DaemonSet kube-system/axon-agent", "ClusterRole axon-agent"
  std::string str() const;
  bool operator==(const ObjectRef&) const = default;
};

// "/apis/apps/v1/namespaces/kube-system/daemonsets/axon-agent"; an empty
// name gives the collection ("" namespace with a namespaced kind: all).
std::string api_path(const ResourceInfo& r, const std::string& ns, const std::string& name);

}  // namespace axon::client

namespace axon::client {

// kubectl's spelling: "daemonset.apps/axon-agent", "configmap/axon-config".
std::string kubectl_name(const ObjectRef& ref);

// kubectl's: Error from server (NotFound): services "api" not found; with a
// file, "... error when <verb> \"<file>\": services ..."
std::string not_found_message(const ResourceInfo& r, const std::string& name,
                              const std::string& file = "", const std::string& verb = "");

}  // namespace axon::client
