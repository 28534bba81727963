// The one interface through which axon reads and writes a cluster's
// objects, whatever keeps them: a Kubernetes API server (kube_store.h) or
// the lab's etcd (issue 6).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/resources.h"
#include "axon/client/yaml.h"

namespace axon::client {

enum class ApplyOutcome { created, configured, unchanged };
std::string to_string(ApplyOutcome o);  // "created", "configured", "unchanged"

class ClusterStore {
 public:
  virtual ~ClusterStore() = default;

  // "Kubernetes API https://10.0.0.2:6443 (context admin@talos)"
  virtual std::string describe() const = 0;

  // The object, or nullopt when it does not exist.
  virtual Result<std::optional<Json>> get(const ObjectRef& ref) = 0;

  // Objects of a kind; `ns` empty = all namespaces; `label_selector` as
  // Kubernetes writes it ("a=b,c=d"), empty = all.
  virtual Result<std::vector<Json>> list(const std::string& api_version, const std::string& kind,
                                         const std::string& ns,
                                         const std::string& label_selector) = 0;

  // Makes the object's fields as given (server-side apply semantics:
  // creates it if absent, changes what differs, reports when nothing did).
  virtual Result<ApplyOutcome> apply(const Json& object) = 0;

  // Deletes the object; false when it was not there.
  virtual Result<bool> remove(const ObjectRef& ref) = 0;
};

// True when every field of `desired` is present in `live` with the same
// value (lists compared element by element, same length). Fields the
// server added (status, defaults, metadata) do not count.
bool contains_fields(const Json& live, const Json& desired);

}  // namespace axon::client
