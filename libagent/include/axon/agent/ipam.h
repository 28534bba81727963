// Pod addresses from a node's pod CIDR, one per container, remembered in
// files (one per address, holding the container id) so an agent restart
// neither loses nor reuses an allocation.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "axon/base/result.h"

namespace axon::agent {

class NodeIpam {
 public:
  // `cidr`: "10.244.1.0/24"; `state_dir`: where allocations are kept.
  static Result<std::unique_ptr<NodeIpam>> create(const std::string& cidr,
                                                  const std::string& state_dir);

  // The container's address: the one it already has, or the lowest free
  // one (the network address, .1 and the broadcast address are never given).
  Result<std::string> allocate(const std::string& container_id);
  // Frees the container's address; fine when it has none.
  void release(const std::string& container_id);
  std::optional<std::string> address_of(const std::string& container_id) const;
  size_t used() const;

  const std::string& cidr() const { return cidr_; }
  int prefix_length() const { return len_; }

 private:
  NodeIpam(std::string cidr, uint32_t base, int len, std::string dir)
      : cidr_(std::move(cidr)), base_(base), len_(len), dir_(std::move(dir)) {}
  std::string cidr_;
  uint32_t base_ = 0;
  int len_ = 24;
  std::string dir_;
  mutable std::mutex mu_;
};

}  // namespace axon::agent
