// The one interface through which axon reads and writes a cluster's
// objects, whatever keeps them: a Kubernetes API server (kube_store.h) or
// the lab's etcd (etcd_store.h).
#pragma once

#include <chrono>
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

// A kind's objects and the store's version of that list, to watch from.
struct ListResult {
  std::vector<Json> items;
  std::string resource_version;
};

// One change seen by a watch. A bookmark carries only a newer version
// (object.metadata.resourceVersion) to resume from.
struct WatchEvent {
  enum class Type { added, modified, deleted, bookmark };
  Type type = Type::added;
  Json object;  // the new state; for deleted, the last state
};

// What a watch has for its reader now.
struct WatchBatch {
  std::vector<WatchEvent> events;  // in the store's order
  bool gone = false;    // the version watched from is too old (410 Gone, a compacted
                        // revision): list again
  bool closed = false;  // the stream ended (a server timeout): watch again from the last version
};

// A stream of changes to one kind, read on a thread of its own; destroying
// it stops the stream.
class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // What arrived within `timeout` (an empty batch when nothing did), or an
  // error when the stream failed (the server is unreachable, refused it).
  virtual Result<WatchBatch> next(std::chrono::milliseconds timeout) = 0;
};

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

  // What apply() would answer, writing nothing. The Kubernetes backend sends
  // the object with server-side dry run (dryRun=All), so the API server's
  // validation, schemas and admission refuse what they would refuse; the
  // lab's store compares with what it holds (preview_apply, apply.h).
  virtual Result<ApplyOutcome> dry_run_apply(const Json& object);

  // Deletes the object; false when it was not there.
  virtual Result<bool> remove(const ObjectRef& ref) = 0;

  // Creates the object as given: the stored object (with its
  // resourceVersion), or nullopt when one of that name exists already (a
  // 409 AlreadyExists). What several writers race for (an identity's
  // number, a Lease) is claimed this way: exactly one create wins.
  virtual Result<std::optional<Json>> create(const Json& object) = 0;

  // Replaces the object if it is still at its metadata.resourceVersion
  // (compare-and-swap; the version is required): the stored object, or
  // nullopt when it changed or went meanwhile (a 409 Conflict; read it again).
  virtual Result<std::optional<Json>> replace(const Json& object) = 0;

  // replace() of the object's status only, as its controller or kubelet
  // writes it (Kubernetes: PUT .../status, where a plain PUT ignores
  // status; the lab's store keeps status with the object).
  virtual Result<std::optional<Json>> replace_status(const Json& object) = 0;

  // The objects of a kind (all namespaces) with the version to watch from.
  virtual Result<ListResult> list_versioned(const std::string& api_version,
                                            const std::string& kind) = 0;

  // Changes to a kind (all namespaces) after `resource_version` (from a
  // list_versioned or a later event).
  virtual Result<std::unique_ptr<WatchStream>> watch_objects(const std::string& api_version,
                                                             const std::string& kind,
                                                             const std::string& resource_version) = 0;
};

// True when every field of `desired` is present in `live` with the same
// value (lists compared element by element, same length). Fields the
// server added (status, defaults, metadata) do not count.
bool contains_fields(const Json& live, const Json& desired);

// Client-side apply as kubectl does it, for stores without server-side
// apply (the lab's etcd): the configuration applied last is kept in this
// annotation, so that a field removed from the manifest is removed from
// the object, while fields other writers set (status, an allocated
// clusterIP) survive.
inline constexpr const char* kLastAppliedAnnotation =
    "kubectl.kubernetes.io/last-applied-configuration";

// `desired` as recorded in the annotation: without resourceVersion, null
// fields (not set) and the annotation itself.
Json applied_configuration(const Json& desired);
// The configuration last applied to `live`, or null when none is recorded.
Json last_applied(const Json& live);
// What applying `desired` to `live` reports: unchanged when every field of
// `desired` is in `live` and nothing applied before was removed from it.
ApplyOutcome apply_outcome(const Json& live, const Json& desired);
// kubectl's three-way merge: `live`, minus the fields `last` had and
// `desired` no longer has, plus `desired`. Mappings merge key by key;
// lists and scalars are replaced. The result records `desired` in the
// annotation.
Json three_way_merge(const Json& live, const Json& last, const Json& desired);

}  // namespace axon::client
