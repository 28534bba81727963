// The two ClusterStores the daemons run on, for tests that must hold on
// both: the real kube-apiserver the tests share, and the lab's store (an
// EtcdStore on that server's etcd, under axon's own prefix). The Cilium
// CRDs are installed once, so CiliumIdentity and friends are served.
#pragma once

#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "axon/client/cluster_store.h"

namespace axon::test {

struct NamedStore {
  std::string name;  // "kube-apiserver", "etcd"
  std::unique_ptr<client::ClusterStore> store;
};

// A new connection to each backend (a test may open several: one per
// agent it plays).
std::vector<NamedStore> both_stores();
std::unique_ptr<client::ClusterStore> open_store(const std::string& name);

}  // namespace axon::test
