// PolicyEngine keeps the compiled policy (compiler.h) of every local
// endpoint up to date incrementally: a new identity adds entries only for
// that peer to the endpoints whose rules select it; a changed policy
// recompiles only the endpoints its old or new rules select. Endpoints with
// the same identity share one compiled policy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "axon/policy/compiler.h"
#include "axon/policy/identity.h"
#include "axon/policy/model.h"

namespace axon::policy {

struct Endpoint {
  uint64_t id = 0;
  uint32_t identity = 0;
  NamedPorts named_ports;
};

struct UpdateStats {
  size_t endpoints_updated = 0;  // endpoints whose entries changed
  size_t policies_compiled = 0;  // distinct identities compiled from scratch
  size_t entries_added = 0;      // summed over endpoints: map writes
  size_t entries_removed = 0;    // summed over endpoints: map deletes

  size_t entries_changed() const { return entries_added + entries_removed; }
};

class PolicyEngine {
 public:
  // With an allocator, the engine allocates (and releases) node-local CIDR
  // identities for every prefix its policies name; without one, the caller
  // upserts them (cidr_prefixes() says which).
  explicit PolicyEngine(CompileOptions options = {}, IdentityAllocator* allocator = nullptr);
  ~PolicyEngine();
  PolicyEngine(const PolicyEngine&) = delete;
  PolicyEngine& operator=(const PolicyEngine&) = delete;

  // Changes are recorded and take effect at commit().
  void upsert_policy(Policy policy);
  bool remove_policy(const PolicyKey& key);
  // Identities of the cluster (peers); reserved identities are built in.
  void upsert_identity(const Identity& identity);
  void remove_identity(uint32_t id);
  // Named ports of pods elsewhere that have this identity (for egress rules
  // with named ports). Local endpoints' ports count too.
  void set_named_ports(uint32_t identity, NamedPorts ports);
  // Local endpoints, whose policy maps the engine computes.
  void upsert_endpoint(const Endpoint& endpoint);
  void remove_endpoint(uint64_t id);

  UpdateStats commit();

  const CompiledPolicy* endpoint_policy(uint64_t endpoint_id) const;
  // The prefixes the policies name (rule CIDRs and their exceptions).
  std::vector<Prefix> cidr_prefixes() const;
  std::vector<std::shared_ptr<const Policy>> policies() const;
  size_t identity_count() const;

 private:
  struct State;
  std::unique_ptr<State> s_;
};

}  // namespace axon::policy
