#include "axon/datapath/services.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <netinet/in.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "axon/abi/lb.h"
#include "axon/datapath/maglev.h"

namespace axon::datapath {
namespace {

axon_lb4_key lb_key(const ServiceKey& k, uint16_t slot) {
  axon_lb4_key key{};
  key.vip = k.vip.network_order();
  key.dport = htons(k.port);
  key.proto = k.protocol;
  key.scope = k.scope;
  key.backend_slot = slot;
  return key;
}

std::string describe(const ServiceKey& k) {
  return k.vip.str() + ":" + std::to_string(k.port) + "/" +
         (k.protocol == IPPROTO_TCP   ? "TCP"
          : k.protocol == IPPROTO_UDP ? "UDP"
                                      : "?") +
         (k.scope == AXON_LB_SCOPE_INT ? " (internal)" : "");
}

template <typename K, typename V>
Status update(bpf_map* map, const K& key, const V& value, const std::string& what) {
  if (bpf_map__update_elem(map, &key, sizeof(key), &value, sizeof(value), BPF_ANY) != 0) {
    return sys_error(what);
  }
  return {};
}

template <typename K>
Status erase_key(bpf_map* map, const K& key, const std::string& what) {
  if (bpf_map__delete_elem(map, &key, sizeof(key), 0) != 0 && errno != ENOENT) {
    return sys_error(what);
  }
  return {};
}

// The keys of a map with 32-bit keys.
std::vector<uint32_t> keys_of(bpf_map* map) {
  std::vector<uint32_t> keys;
  uint32_t key = 0, next = 0;
  bool first = true;
  while (bpf_map__get_next_key(map, first ? nullptr : &key, &next, sizeof(next)) == 0) {
    first = false;
    key = next;
    keys.push_back(key);
  }
  return keys;
}

}  // namespace

uint32_t Services::allocate_id(uint32_t& next, std::vector<uint32_t>& free_ids) {
  if (!free_ids.empty()) {
    uint32_t id = free_ids.back();
    free_ids.pop_back();
    return id;
  }
  return next++;
}

Result<uint32_t> Services::acquire_backend(const Backend& b, uint8_t protocol) {
  auto& st = backends_[{b, protocol}];
  if (st.refs++ > 0) return st.id;
  st.id = allocate_id(next_backend_id_, free_backend_ids_);
  backend_by_id_[st.id] = {b, protocol};
  axon_lb4_backend v{};
  v.addr = b.addr.network_order();
  v.port = htons(b.port);
  v.proto = protocol;
  v.flags = b.local ? AXON_LB_BACKEND_F_LOCAL : 0;
  if (auto s = update(maps_.backends, st.id, v, "write backend " + b.addr.str()); !s) {
    return s.error();
  }
  return st.id;
}

Status Services::release_backend(uint32_t id) {
  auto by_id = backend_by_id_.find(id);
  if (by_id == backend_by_id_.end()) return {};
  auto it = backends_.find(by_id->second);
  if (it == backends_.end() || --it->second.refs > 0) return {};
  backends_.erase(it);
  backend_by_id_.erase(by_id);
  free_backend_ids_.push_back(id);
  return erase_key(maps_.backends, id, "delete backend " + std::to_string(id));
}

Result<uint32_t> Services::acquire_table(const std::vector<uint32_t>& ids) {
  auto it = tables_.find(ids);
  if (it != tables_.end()) {
    ++it->second.refs;
    return it->second.id;
  }
  // Name backends by address so every node computes the same permutation.
  std::vector<std::pair<std::string, uint32_t>> named;
  for (uint32_t id : ids) {
    const auto& [b, proto] = backend_by_id_.at(id);
    named.emplace_back(b.addr.str() + ":" + std::to_string(b.port), id);
  }
  std::sort(named.begin(), named.end());
  std::vector<std::string> names;
  for (const auto& n : named) names.push_back(n.first);
  const uint32_t m = config_.maglev_table_size;
  auto slots = maglev_table(names, m, config_.maglev_seed);
  std::vector<uint32_t> value(m);
  for (uint32_t i = 0; i < m; ++i) value[i] = named[slots[i]].second;
  const uint32_t table_id = allocate_id(next_table_id_, free_table_ids_);
  if (bpf_map__update_elem(maps_.maglev, &table_id, sizeof(table_id), value.data(),
                           value.size() * sizeof(uint32_t), BPF_ANY) != 0) {
    free_table_ids_.push_back(table_id);
    return sys_error("write Maglev table");
  }
  tables_[ids] = Table{table_id, 1};
  return table_id;
}

Status Services::release_table(const std::vector<uint32_t>& key) {
  auto it = tables_.find(key);
  if (it == tables_.end() || --it->second.refs > 0) return {};
  const uint32_t id = it->second.id;
  tables_.erase(it);
  free_table_ids_.push_back(id);
  return erase_key(maps_.maglev, id, "delete Maglev table " + std::to_string(id));
}

// axon_lb4_vips_v1 follows vip_services_: one more or one fewer service on
// an address.
Status Services::add_vip(Ipv4 vip, const std::string& what) {
  const uint32_t addr = vip.network_order();
  const uint32_t count = ++vip_services_[vip];
  if (bpf_map__update_elem(maps_.vips, &addr, sizeof(addr), &count, sizeof(count), BPF_ANY) == 0) {
    return {};
  }
  const int err = errno;
  if (--vip_services_[vip] == 0) vip_services_.erase(vip);
  if (err == E2BIG) {
    return Error{what + ": more than " + std::to_string(AXON_LB4_MAX_VIPS) +
                 " Service addresses on this node; delete Services or reuse addresses"};
  }
  errno = err;
  return sys_error(what + ": write VIP");
}

Status Services::drop_vip(Ipv4 vip, const std::string& what) {
  const uint32_t addr = vip.network_order();
  auto it = vip_services_.find(vip);
  if (it == vip_services_.end() || --it->second == 0) {
    if (it != vip_services_.end()) vip_services_.erase(it);
    return erase_key(maps_.vips, addr, what + ": delete VIP");
  }
  return update(maps_.vips, addr, it->second, what + ": write VIP");
}

Status Services::set_affinity_match(uint32_t service_id, const std::vector<uint32_t>& backend_ids,
                                    bool present) {
  for (uint32_t id : backend_ids) {
    axon_lb4_affinity_match_key k{id, service_id};
    const uint8_t one = 1;
    auto s = present ? update(maps_.affinity_match, k, one, "write affinity backend")
                     : erase_key(maps_.affinity_match, k, "delete affinity backend");
    if (!s) return s;
  }
  return {};
}

Status Services::upsert(const Service& svc) {
  const auto& key = svc.key;
  const std::string what = "service " + describe(key);
  if (key.protocol != IPPROTO_TCP && key.protocol != IPPROTO_UDP) {
    return Error{what + ": protocol must be TCP or UDP"};
  }
  if (svc.backends.size() > 65535) return Error{what + ": more than 65535 backends"};

  ServiceState next;
  auto existing = services_.find(key);
  next.id = existing != services_.end() ? existing->second.id
                                        : allocate_id(next_service_id_, free_service_ids_);
  if (next.id > AXON_LB4_MAX_SERVICE_ID) {
    if (existing == services_.end()) free_service_ids_.push_back(next.id);
    return Error{what + ": more than " + std::to_string(AXON_LB4_MAX_SERVICE_ID) +
                 " Service frontends on this node"};
  }
  for (const auto& b : svc.backends) {
    auto id = acquire_backend(b, key.protocol);
    if (!id) return id.error();
    next.backend_ids.push_back(*id);
  }
  const LbAlgorithm algorithm = svc.algorithm.value_or(config_.default_algorithm);
  uint32_t table_id = 0;
  if (algorithm == LbAlgorithm::maglev && !next.backend_ids.empty()) {
    next.table_key = next.backend_ids;
    std::sort(next.table_key.begin(), next.table_key.end());
    next.table_key.erase(std::unique(next.table_key.begin(), next.table_key.end()),
                         next.table_key.end());
    auto id = acquire_table(next.table_key);
    if (!id) return id.error();
    table_id = *id;
  }

  axon_lb4_reverse_nat rn{};
  rn.addr = key.vip.network_order();
  rn.port = htons(key.port);
  if (auto s = update(maps_.reverse_nat, next.id, rn, what + ": write reverse NAT"); !s) return s;
  // Backend slots first, the service entry last: a reader sees a complete set.
  for (size_t i = 0; i < next.backend_ids.size(); ++i) {
    axon_lb4_service v{};
    v.backend_id = next.backend_ids[i];
    if (auto s = update(maps_.services, lb_key(key, static_cast<uint16_t>(i + 1)), v,
                        what + ": write backend slot");
        !s) {
      return s;
    }
  }
  // The address first: a reader that finds the service finds its VIP.
  if (existing == services_.end()) {
    if (auto s = add_vip(key.vip, what); !s) return s;
  }
  // Affinity to a backend is followed only while it is one of the service's.
  next.affinity = svc.affinity_timeout_s > 0 && maps_.affinity_match != nullptr;
  if (next.affinity) {
    if (auto s = set_affinity_match(next.id, next.backend_ids, true); !s) return s;
  }
  axon_lb4_service master{};
  master.rev_nat_index = next.id;
  master.count = static_cast<uint16_t>(next.backend_ids.size());
  master.algorithm = static_cast<uint8_t>(algorithm);
  master.maglev_table = table_id;
  master.flags = (svc.external ? AXON_LB_F_EXTERNAL : 0) | (svc.snat ? AXON_LB_F_SNAT : 0) |
                 (next.affinity ? AXON_LB_F_AFFINITY : 0) |
                 (svc.two_scopes ? AXON_LB_F_TWO_SCOPES : 0) |
                 (svc.l7_proxy_port != 0 ? AXON_LB_F_L7 : 0);
  master.affinity_timeout_s = next.affinity ? svc.affinity_timeout_s : 0;
  if (svc.l7_proxy_port != 0) master.l7_proxy_port = svc.l7_proxy_port;
  if (auto s = update(maps_.services, lb_key(key, 0), master, what); !s) {
    if (existing == services_.end()) (void)drop_vip(key.vip, what);
    return s;
  }

  if (existing != services_.end()) {
    ServiceState old = std::move(existing->second);
    if (old.affinity) {
      std::vector<uint32_t> gone;
      for (uint32_t id : old.backend_ids) {
        if (!next.affinity || std::find(next.backend_ids.begin(), next.backend_ids.end(), id) ==
                                  next.backend_ids.end())
          gone.push_back(id);
      }
      if (auto s = set_affinity_match(old.id, gone, false); !s) return s;
    }
    for (size_t i = next.backend_ids.size(); i < old.backend_ids.size(); ++i) {
      if (auto s = erase_key(maps_.services, lb_key(key, static_cast<uint16_t>(i + 1)),
                             what + ": delete backend slot");
          !s) {
        return s;
      }
    }
    for (uint32_t id : old.backend_ids) {
      if (auto s = release_backend(id); !s) return s;
    }
    if (!old.table_key.empty()) {
      if (auto s = release_table(old.table_key); !s) return s;
    }
  }
  services_[key] = std::move(next);
  return {};
}

Status Services::erase(const ServiceKey& key) {
  auto it = services_.find(key);
  if (it == services_.end()) return {};
  const std::string what = "delete service " + describe(key);
  ServiceState old = std::move(it->second);
  services_.erase(it);
  if (auto s = erase_key(maps_.services, lb_key(key, 0), what); !s) return s;
  for (size_t i = 0; i < old.backend_ids.size(); ++i) {
    if (auto s = erase_key(maps_.services, lb_key(key, static_cast<uint16_t>(i + 1)), what); !s) {
      return s;
    }
  }
  if (auto s = drop_vip(key.vip, what); !s) return s;
  if (auto s = erase_key(maps_.reverse_nat, old.id, what); !s) return s;
  if (old.affinity) {
    if (auto s = set_affinity_match(old.id, old.backend_ids, false); !s) return s;
  }
  for (uint32_t id : old.backend_ids) {
    if (auto s = release_backend(id); !s) return s;
  }
  if (!old.table_key.empty()) {
    if (auto s = release_table(old.table_key); !s) return s;
  }
  free_service_ids_.push_back(old.id);
  return {};
}

std::optional<uint32_t> Services::id(const ServiceKey& key) const {
  auto it = services_.find(key);
  if (it == services_.end()) return std::nullopt;
  return it->second.id;
}

std::optional<std::vector<uint32_t>> Services::backend_ids(const ServiceKey& key) const {
  auto it = services_.find(key);
  if (it == services_.end()) return std::nullopt;
  return it->second.backend_ids;
}

Status Services::restore() {
  // Backends by id.
  for (uint32_t bkey : keys_of(maps_.backends)) {
    axon_lb4_backend v{};
    if (bpf_map__lookup_elem(maps_.backends, &bkey, sizeof(bkey), &v, sizeof(v), 0) != 0) continue;
    Backend b{Ipv4::from_network_order(v.addr), ntohs(v.port),
              (v.flags & AXON_LB_BACKEND_F_LOCAL) != 0};
    backends_[{b, v.proto}] = BackendState{bkey, 0};
    backend_by_id_[bkey] = {b, v.proto};
    next_backend_id_ = std::max(next_backend_id_, bkey + 1);
  }
  // Services and their slots.
  std::vector<std::pair<axon_lb4_key, axon_lb4_service>> entries;
  axon_lb4_key skey{}, snext{};
  bool first = true;
  while (bpf_map__get_next_key(maps_.services, first ? nullptr : &skey, &snext, sizeof(snext)) ==
         0) {
    first = false;
    skey = snext;
    axon_lb4_service v{};
    if (bpf_map__lookup_elem(maps_.services, &skey, sizeof(skey), &v, sizeof(v), 0) == 0) {
      entries.emplace_back(skey, v);
    }
  }
  auto to_key = [](const axon_lb4_key& k) {
    return ServiceKey{Ipv4::from_network_order(k.vip), ntohs(k.dport), k.proto, k.scope};
  };
  for (const auto& [k, v] : entries) {
    if (k.backend_slot != 0) continue;
    ++vip_services_[Ipv4::from_network_order(k.vip)];
    ServiceState st;
    st.id = v.rev_nat_index;
    st.backend_ids.assign(v.count, 0);
    st.affinity = (v.flags & AXON_LB_F_AFFINITY) != 0;
    services_[to_key(k)] = std::move(st);
    next_service_id_ = std::max(next_service_id_, v.rev_nat_index + 1);
  }
  for (const auto& [k, v] : entries) {
    if (k.backend_slot == 0) continue;
    auto it = services_.find(to_key(k));
    if (it == services_.end() || k.backend_slot > it->second.backend_ids.size()) continue;
    it->second.backend_ids[k.backend_slot - 1] = v.backend_id;
    if (auto b = backend_by_id_.find(v.backend_id); b != backend_by_id_.end()) {
      ++backends_[b->second].refs;
    }
  }
  // Maglev tables in use, keyed as upsert() keys them (sorted backend ids).
  std::set<uint32_t> used_tables;
  for (const auto& [k, v] : entries) {
    if (k.backend_slot != 0 || v.maglev_table == 0) continue;
    auto& st = services_[to_key(k)];
    st.table_key = st.backend_ids;
    std::sort(st.table_key.begin(), st.table_key.end());
    st.table_key.erase(std::unique(st.table_key.begin(), st.table_key.end()), st.table_key.end());
    auto& t = tables_[st.table_key];
    t.id = v.maglev_table;
    ++t.refs;
    used_tables.insert(v.maglev_table);
    next_table_id_ = std::max(next_table_id_, v.maglev_table + 1);
  }
  // The VIP table as the services say (pins of a layout without it, a crash
  // between the two writes): counts rewritten, addresses of no service gone.
  for (uint32_t addr : keys_of(maps_.vips)) {
    if (vip_services_.count(Ipv4::from_network_order(addr))) continue;
    if (auto s = erase_key(maps_.vips, addr, "delete stale VIP"); !s) return s;
  }
  for (const auto& [vip, count] : vip_services_) {
    const uint32_t addr = vip.network_order();
    if (auto s = update(maps_.vips, addr, count, "restore VIP " + vip.str()); !s) return s;
  }
  // Tables nobody uses (an update cut short by a crash) go.
  for (uint32_t id : keys_of(maps_.maglev)) {
    next_table_id_ = std::max(next_table_id_, id + 1);
    if (used_tables.count(id)) continue;
    if (auto s = erase_key(maps_.maglev, id, "delete orphaned Maglev table"); !s) return s;
  }
  return {};
}

}  // namespace axon::datapath
