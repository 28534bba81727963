// The peer sets rules share (endpoint selectors, entities, CIDR rules),
// each with the identities it selects, kept current as identities come and
// go; and the identities they select from, indexed by label so that a new
// selector is checked against few candidates, not every identity.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "axon/policy/evaluate.h"
#include "axon/policy/identity.h"
#include "axon/policy/model.h"
#include "axon/policy/selector.h"

namespace axon::policy::internal {

// A peer set that rules share: an endpoint selector, an entity, a CIDR
// rule; with the identities it selects and the subjects (compiled
// identities) that use it.
struct Matcher {
  enum class Kind { selector, entity, cidr, fqdn } kind = Kind::selector;
  Selector selector;
  Entity entity = Entity::none;
  CidrRule cidr;
  FqdnSelector fqdn;
  std::vector<uint32_t> ids;  // sorted
  std::unordered_set<uint32_t> users;
  bool live = true;  // false: nobody uses it; ids empty and not kept current

  bool selects(const Identity& id) const {
    switch (kind) {
      case Kind::selector:
        return matches(selector, id.labels);
      case Kind::entity:
        return entity_matches(entity, id);
      case Kind::cidr:
        return cidr_matches(cidr, id);
      case Kind::fqdn:
        return fqdn_matches(fqdn, id);
    }
    return false;
  }
};

struct PeerSets {
  struct IdRec {
    Identity identity;
    NamedPorts remote_ports;  // of pods elsewhere with this identity
  };

  std::unordered_map<uint32_t, IdRec> identities;
  std::vector<Matcher> matchers;  // by id; never shrinks, so ids stay valid

  // The label index over `identities`: the caller adds and removes each
  // identity as it changes `identities` (and the matchers' ids).
  void index_add(const Identity& id);
  void index_remove(const Identity& id);

  const Identity* identity_of(uint32_t id) const {
    auto it = identities.find(id);
    return it == identities.end() ? nullptr : &it->second.identity;
  }
  // The identity, or one without labels if unknown.
  Identity identity_or_bare(uint32_t id) const {
    const Identity* ident = identity_of(id);
    return ident != nullptr ? *ident : Identity{id, {}};
  }

  // The matcher (its index) for a peer set, with the identities it selects;
  // an equal one is shared, and revived if nobody used it any more.
  uint32_t selector_matcher(const Selector& s);
  uint32_t entity_matcher(Entity e);
  uint32_t cidr_matcher(const CidrRule& c);
  uint32_t fqdn_matcher(const FqdnSelector& f);

  // Matchers nobody uses any more stop being kept current.
  void retire_unused();

 private:
  std::vector<uint32_t> selector_candidates(const Selector& s, bool& all) const;
  void compute_ids(Matcher& m);
  uint32_t matcher_for(std::string key, Matcher proto);

  std::unordered_map<std::string, std::vector<uint32_t>> by_label_;  // "key=value" -> ids
  std::unordered_map<std::string, std::vector<uint32_t>> by_key_;    // "key" -> ids
  std::vector<uint32_t> cidr_ids_;  // identities standing for prefixes, plus world
  std::unordered_map<std::string, uint32_t> matcher_index_;
};

}  // namespace axon::policy::internal
