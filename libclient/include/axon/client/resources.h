// Where each kind lives in the Kubernetes API: group, version, plural,
// scope. Used to build URL paths and to name objects in messages.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "axon/client/yaml.h"

namespace axon::client {

struct ResourceInfo {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string kind;     // "DaemonSet"
  std::string plural;   // "daemonsets"
  bool namespaced = true;

  std::string api_version() const { return group.empty() ? version : group + "/" + version; }
};

// Every kind axon reads or writes.
const std::vector<ResourceInfo>& known_resources();
std::optional<ResourceInfo> find_resource(const std::string& api_version, const std::string& kind);

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

}  // namespace axon::client
