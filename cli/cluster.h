// Which cluster a command talks to: a Kubernetes API server when
// --kubeconfig, KUBECONFIG or --context say so, else the lab.
#pragma once

#include <memory>

#include "axon/base/result.h"
#include "axon/client/cluster_store.h"
#include "cli/context.h"

namespace axon::cli {

// The store of the selected cluster, or an error saying why there is none.
Result<std::unique_ptr<client::ClusterStore>> connect_cluster(Context& ctx);

}  // namespace axon::cli
