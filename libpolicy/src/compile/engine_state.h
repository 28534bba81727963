// The state behind PolicyEngine, shared by the two files that work on it:
// subject.cpp compiles one subject (the policy of one identity that local
// endpoints have), engine.cpp applies recorded changes at commit().
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "axon/policy/engine.h"
#include "compile/entries.h"
#include "compile/matchers.h"

namespace axon::policy {

struct PolicyEngine::State {
  static constexpr size_t kDirs = 2;
  static size_t dir_index(Direction d) { return d == Direction::ingress ? 0 : 1; }

  // One element of a rule that selects the subject, ready to expand.
  struct Plan {
    const PeerRule* element = nullptr;
    uint32_t origin = 0;
    Direction direction = Direction::ingress;
    bool deny = false;
    bool any = false;  // any peer (subject to requirements for allows)
    std::vector<uint32_t> matchers;
    internal::ElementPorts ports;  // for ingress, named ports already resolved
  };

  // The compiled policy of one identity that local endpoints have.
  struct Subject {
    uint32_t identity = 0;
    std::vector<uint64_t> endpoints;
    std::vector<std::shared_ptr<const Policy>> policies;  // selecting it; kept alive for plans
    std::vector<Plan> plans;
    std::vector<uint32_t> requirements[kDirs];  // matcher ids
    std::vector<uint32_t> used;                 // every matcher used, sorted
    internal::OriginSetIndex set_index;         // interns compiled.origin_sets
    CompiledPolicy compiled;
  };

  // What one commit() learns as it applies the pending changes, step by
  // step.
  struct Changes {
    UpdateStats stats;
    std::unordered_set<uint32_t> dirty;   // subjects to compile from scratch
    std::set<uint32_t> peer_changed;      // named ports changed: redo their peer entries
    std::unordered_set<uint64_t> joined;  // endpoints that get their whole map written
    // Per subject, the peers whose entries go and those whose entries are
    // (re)computed.
    std::unordered_map<uint32_t, std::pair<std::vector<uint32_t>, std::vector<uint32_t>>> delta;
  };

  CompileOptions options;
  IdentityAllocator* allocator = nullptr;

  std::map<PolicyKey, std::shared_ptr<const Policy>> policies;
  internal::PeerSets peers;  // identities and the peer sets rules select
  std::unordered_map<uint32_t, Subject> subjects;
  std::unordered_map<uint64_t, Endpoint> endpoints;
  std::unordered_map<uint32_t, NamedPorts> named;  // merged named ports per identity
  std::map<Prefix, uint32_t> cidr_allocated;       // prefixes we allocated identities for

  // Pending changes.
  std::map<PolicyKey, std::shared_ptr<const Policy>> pending_policies;  // null: removed
  std::map<uint32_t, std::optional<Identity>> pending_identities;
  std::map<uint32_t, NamedPorts> pending_named;
  std::map<uint64_t, std::optional<Endpoint>> pending_endpoints;

  // ---- named ports (engine.cpp) ---------------------------------------

  void refresh_named(uint32_t id);
  const NamedPorts& named_of(uint32_t id) const {
    static const NamedPorts kNone;
    auto it = named.find(id);
    return it == named.end() ? kNone : it->second;
  }

  // ---- compiling one subject (subject.cpp) ----------------------------

  void compile_subject(Subject& s);
  // Removes every entry for the `removed` peers and adds the entries the
  // plans give the `added` ones now, in place (entries stay sorted).
  // Returns (added, removed).
  std::pair<size_t, size_t> update_peers(Subject& s, const std::vector<uint32_t>& removed,
                                         const std::vector<uint32_t>& added);
  // The subject stops using its matchers.
  void unuse(Subject& s);

  // Their steps.
  void reset(Subject& s);
  void add_rule(Subject& s, const Policy& policy, const Rule& rule, const NamedPorts& own_ports);
  void add_plans(Subject& s, const PeerRule& el, Section sec, uint32_t origin,
                 const NamedPorts& own_ports);
  void use_matchers(Subject& s);
  void expand_plan(const Plan& p, uint32_t peer, std::vector<internal::RawEntry>& out) const;
  bool requirements_met(const Subject& s, Direction d, uint32_t peer) const;
  bool plan_selects(const Subject& s, const Plan& p, uint32_t id) const;
  void plan_peers(const Subject& s, const Plan& p, std::vector<uint32_t>& out) const;
  void merge(Subject& s, std::vector<internal::RawEntry>& raw,
             std::vector<datapath::PolicyEntry>& entries, std::vector<uint32_t>& provenance);

  // ---- commit (engine.cpp) --------------------------------------------

  UpdateStats commit();

  // The steps of commit(), in order.
  void apply_policies(Changes& c);
  void apply_endpoints(Changes& c);
  void apply_named_ports(Changes& c);
  void apply_identities(Changes& c);
  void apply_peer_deltas(Changes& c);
  void recompile_dirty(Changes& c);
  void count_joined(Changes& c);

  std::set<Prefix> wanted_prefixes() const;
  void sync_cidr_identities();
  // The endpoints of `s` whose maps exist already (not joining now).
  static size_t old_endpoints(const Subject& s, const std::unordered_set<uint64_t>& joined);
};

}  // namespace axon::policy
