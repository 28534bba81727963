// Reading manifests and putting them into a cluster store the way
// `kubectl apply -f` and `kubectl delete -f` do, with axon's rule on top:
// every object is checked before the first one is written, and nothing is
// written if any is wrong.
//
//   load_manifests      files, directories, stdin -> ManifestObjects
//   validate_manifests  ValidatorRegistry on each (validation.h)
//   assign_namespaces   -n / default, conflicts, duplicates
//   sort_for_apply      CRDs and Namespaces first
//   missing_namespaces  namespaces neither in the store nor in the set
//   apply / preview     per object: created | configured | unchanged
#pragma once

#include <istream>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/cluster_store.h"
#include "axon/base/diagnostic.h"
#include "axon/client/validation.h"

namespace axon::client {

struct ManifestSet {
  std::vector<ManifestObject> objects;  // in file order; items of a List in place
  std::vector<Diagnostic> problems;     // unreadable files, YAML syntax errors
};

// Every object of the given sources: a file, a directory (its .yaml, .yml
// and .json files in name order; with `recursive` those of its
// subdirectories too) or "-" (read from `in`). Multi-document YAML and JSON;
// a `kind: List` contributes its items. Empty documents are skipped.
ManifestSet load_manifests(const std::vector<std::string>& sources, bool recursive,
                           std::istream& in);

// The objects of one text (as read from `file`).
ManifestSet load_manifest_text(const std::string& text, const std::string& file);

// Runs `validators` on every object; problems in file order.
std::vector<Diagnostic> validate_manifests(const ValidatorRegistry& validators,
                                           const std::vector<ManifestObject>& objects);

// Only what identifies each object (known kind, name, scope): enough to
// delete it.
std::vector<Diagnostic> check_identities(const std::vector<ManifestObject>& objects);

struct NamespaceChoice {
  std::string name = "default";  // -n, or the default namespace
  bool given = false;            // -n was given: objects elsewhere are an error (as kubectl)
};

// Puts namespaced objects without a namespace into `ns.name`. Errors: an
// object in another namespace than an explicit -n. Warnings: the same object
// twice (the later one wins). Cluster-scoped objects are left alone.
std::vector<Diagnostic> assign_namespaces(std::vector<ManifestObject>& objects,
                                          const NamespaceChoice& ns);

// Dependency order, stable within a rank: CustomResourceDefinitions,
// Namespaces, then ServiceAccounts, Secrets, ConfigMaps, RBAC, Services,
// workloads, then everything else in file order (policies, pools,
// Gateway API). Deleting takes the kinds in the reverse order (objects of
// one kind stay in file order, as kubectl deletes them).
void sort_for_apply(std::vector<ManifestObject>& objects);
void sort_for_delete(std::vector<ManifestObject>& objects);

// One error per object whose namespace neither exists in `store` nor is
// created by a Namespace among `objects` (kubectl: namespaces "x" not found).
Result<std::vector<Diagnostic>> missing_namespaces(ClusterStore& store,
                                                   const std::vector<ManifestObject>& objects);

// The cluster's NodePort range: node-port-range of an axon-config ConfigMap
// (any namespace: the install namespace is a choice), else Kubernetes'
// default 30000-32767.
Result<std::pair<int, int>> cluster_node_port_range(ClusterStore& store);

// NodePorts and hostPorts of `objects` against the cluster (Kubernetes'
// allocator rules, checked before anything is written): a Service nodePort
// outside the cluster's range (node-port-range of the axon-config ConfigMap,
// else Kubernetes' 30000-32767) or one another Service holds, or two
// Services of the set asking for the same one, is an error naming the range
// or the holder; a pod hostPort inside the range is a warning (a NodePort
// may be given that port).
Result<std::vector<Diagnostic>> node_port_problems(ClusterStore& store,
                                                   const std::vector<ManifestObject>& objects);

// LB IPAM as it would go with `objects` applied (the cluster's pools and
// Services, these in place of theirs): a warning for each LoadBalancer
// Service of the set whose requested address cannot be had (in no pool,
// naming the pools; in a pool that does not select it; held by another
// Service, named) or whose sharing key finds no Service it may share with
// (naming the other Service and the clashing port). Warnings only: the
// Service is applied and stays pending, as Cilium's would.
Result<std::vector<Diagnostic>> lb_ipam_problems(ClusterStore& store,
                                                 const std::vector<ManifestObject>& objects);

// Gateway API as it would go with `objects` applied (the cluster's
// GatewayClasses, Gateways, routes, ReferenceGrants and Services, these in
// place of theirs): a warning for each route of the set whose backendRef
// names a Service or port that does not exist, listing the Services and
// ports that do. Warnings only: the route is applied, Accepted, with
// ResolvedRefs=False BackendNotFound, and its requests get 500.
Result<std::vector<Diagnostic>> gateway_problems(ClusterStore& store,
                                                 const std::vector<ManifestObject>& objects);

// What apply would report for `object`, without writing anything.
Result<ApplyOutcome> preview_apply(ClusterStore& store, const Json& object);

}  // namespace axon::client
