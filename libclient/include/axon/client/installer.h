// Putting axon's objects into a cluster and taking them out again, through
// any ClusterStore.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "axon/client/cluster_store.h"
#include "axon/client/values.h"

namespace axon::client {

// Where the installer reports what it does. `line` is a result worth
// keeping ("daemonset.apps/axon-agent created"); `status` is what is being
// waited for now, replaced by the next status (a terminal may redraw it).
struct InstallReporter {
  std::function<void(const std::string&)> line = [](const std::string&) {};
  std::function<void(const std::string&)> status = [](const std::string&) {};
};

struct InstallCounts {
  size_t created = 0, configured = 0, unchanged = 0, deleted = 0;
  bool changed() const { return created + configured + deleted > 0; }
};

class Installer {
 public:
  Installer(ClusterStore& store, InstallReporter reporter)
      : store_(store), reporter_(std::move(reporter)) {}

  // Refuses a cluster where axon would fight another datapath: a CNI's
  // DaemonSet (Flannel, Calico, Cilium, Weave, ...) or, with
  // kubeProxyReplacement, kube-proxy. The error says what and how to fix it.
  Status preflight(const InstallValues& values);

  // Sends every object with server-side dry run first (dry_run_apply): when
  // any is refused, nothing is applied and the error names each refused
  // object and why. Then applies the objects in dependency order (CRDs
  // first, waiting until they are established), and deletes objects
  // labelled part-of=axon that the values no longer ask for (CRDs are kept:
  // deleting one deletes every object of its kind).
  Result<InstallCounts> install(const std::vector<Json>& objects);

  // Waits until every DaemonSet and Deployment among `objects` is rolled
  // out and ready. The error names what is not ready.
  Status wait_ready(const std::vector<Json>& objects, std::chrono::nanoseconds timeout);

  // Deletes every object labelled part-of=axon; CRDs only with delete_crds.
  Result<InstallCounts> uninstall(bool delete_crds);

 private:
  Status dry_run(const std::vector<Json>& ordered);
  Status wait_established(const std::vector<Json>& crds, std::chrono::nanoseconds timeout);
  Result<std::vector<Json>> installed(bool with_crds);

  ClusterStore& store_;
  InstallReporter reporter_;
};

}  // namespace axon::client
