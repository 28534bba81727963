// Cluster-wide security identities kept in the store: the same label set
// gets the same number on every node, whichever agent asks first. Each is
// also a CiliumIdentity object (name = the number, security-labels = the
// labels), as Cilium's CRD identity mode keeps them.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "axon/client/etcd_store.h"

namespace axon::client {

inline constexpr uint32_t kFirstClusterIdentity = 256;
inline constexpr uint32_t kLastClusterIdentity = 65535;

class IdentityStore {
 public:
  explicit IdentityStore(std::shared_ptr<EtcdClient> etcd)
      : etcd_(std::move(etcd)), store_(etcd_) {}

  // The identity of `labels` ("k8s:app=api", ... sorted), allocating it if new.
  Result<uint32_t> allocate(const std::map<std::string, std::string>& labels);
  // The labels of an identity, if it exists.
  Result<std::optional<std::map<std::string, std::string>>> labels_of(uint32_t id);

  // "k8s:app=api;k8s:io.kubernetes.pod.namespace=prod" (sorted by key).
  static std::string canonical(const std::map<std::string, std::string>& labels);

 private:
  std::shared_ptr<EtcdClient> etcd_;
  EtcdStore store_;
};

}  // namespace axon::client
