// Kubernetes-shaped objects in etcd, the lab's cluster store: one JSON
// object per key under /axon/registry/<group>/<plural>/<namespace>/<name>,
// metadata.resourceVersion = the key's etcd mod_revision, writes by
// compare-and-swap so concurrent writers never lose an update.
#pragma once

#include <functional>
#include <memory>

#include "axon/client/cluster_store.h"
#include "axon/client/etcd.h"

namespace axon::client {

inline constexpr const char* kRegistryPrefix = "/axon/registry/";

// A change to an object, from watch().
struct ObjectEvent {
  enum class Type { added, modified, deleted };
  Type type = Type::added;
  Json object;  // the new state; for deleted, the last state
};

class EtcdStore : public ClusterStore {
 public:
  explicit EtcdStore(std::shared_ptr<EtcdClient> etcd, std::string description = "")
      : etcd_(std::move(etcd)), description_(std::move(description)) {}

  std::string describe() const override;
  Result<std::optional<Json>> get(const ObjectRef& ref) override;
  Result<std::vector<Json>> list(const std::string& api_version, const std::string& kind,
                                 const std::string& ns, const std::string& label_selector) override;
  Result<ApplyOutcome> apply(const Json& object) override;
  // Deleting a Namespace deletes every object in it first, as Kubernetes'
  // namespace controller does.
  Result<bool> remove(const ObjectRef& ref) override;
  // Compare-and-swap on the key (absent, or at the object's revision).
  Result<std::optional<Json>> create(const Json& object) override;
  Result<std::optional<Json>> replace(const Json& object) override;
  // The whole object: the lab's store has no status subresource.
  Result<std::optional<Json>> replace_status(const Json& object) override { return replace(object); }
  // resourceVersion: the etcd revision of the list; watching from it
  // watches from revision + 1 (a compacted revision: gone).
  Result<ListResult> list_versioned(const std::string& api_version,
                                    const std::string& kind) override;
  Result<std::unique_ptr<WatchStream>> watch_objects(const std::string& api_version,
                                                     const std::string& kind,
                                                     const std::string& resource_version) override;

  // Replaces an object whose metadata.resourceVersion is the one read:
  // returns the new object, or an Error saying it changed meanwhile
  // ("conflict"). Without resourceVersion it writes unconditionally.
  Result<Json> update(const Json& object);

  // Lists a kind and returns the store revision of the list, to watch from
  // revision + 1 without missing or repeating a change.
  Result<std::vector<Json>> list_at(const std::string& api_version, const std::string& kind,
                                    int64_t* revision);

  // Watches a kind (all namespaces) from `start_revision` (0: from now).
  Result<std::unique_ptr<EtcdWatch>> watch(const std::string& api_version, const std::string& kind,
                                           int64_t start_revision);
  // Decodes one watch event of a kind's prefix.
  static std::optional<ObjectEvent> decode(const EtcdEvent& event);

  // The etcd key of an object.
  static Result<std::string> key_of(const ObjectRef& ref);
  static Result<std::string> prefix_of(const std::string& api_version, const std::string& kind,
                                       const std::string& ns);

  EtcdClient& etcd() { return *etcd_; }

 private:
  static Json with_version(const std::string& value, int64_t mod_revision);
  std::shared_ptr<EtcdClient> etcd_;
  std::string description_;
};

// Kubernetes label selectors: "a=b", "a==b", "a!=b", "a", "!a",
// "a in (x,y)", "a notin (x,y)", comma-separated (AND).
Result<bool> selector_matches(const std::string& selector, const Json& labels);

// A new object uid (UUID v4 text).
std::string new_uid();
// Now as Kubernetes writes timestamps: "2026-11-27T16:28:00Z".
std::string now_rfc3339();

}  // namespace axon::client
