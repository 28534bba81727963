#include "axon/datapath/ipcache.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <cerrno>

#include "axon/abi/ipcache.h"
#include "epoch.h"

namespace axon::datapath {
namespace {

axon_ipcache_key key_of(const Cidr& c) {
  axon_ipcache_key k{};
  k.prefixlen = c.len;
  k.addr = c.addr.network_order();
  return k;
}

}  // namespace

Status Ipcache::upsert(const Cidr& prefix, uint32_t identity) {
  auto key = key_of(prefix);
  axon_ipcache_value v{};
  v.identity = identity;
  if (bpf_map__update_elem(map_, &key, sizeof(key), &v, sizeof(v), BPF_ANY) != 0) {
    return sys_error("ipcache: set " + prefix.str());
  }
  return bump_policy_epoch(epoch_);
}

uint32_t Ipcache::lookup(Ipv4 addr) const {
  axon_ipcache_key key{};
  key.prefixlen = 32;
  key.addr = addr.network_order();
  axon_ipcache_value v{};
  if (bpf_map__lookup_elem(map_, &key, sizeof(key), &v, sizeof(v), 0) != 0)
    return AXON_IDENTITY_WORLD;
  return v.identity;
}

Status Ipcache::erase(const Cidr& prefix) {
  auto key = key_of(prefix);
  if (bpf_map__delete_elem(map_, &key, sizeof(key), 0) != 0 && errno != ENOENT) {
    return sys_error("ipcache: delete " + prefix.str());
  }
  return bump_policy_epoch(epoch_);
}

Result<std::vector<std::pair<Cidr, uint32_t>>> Ipcache::list() const {
  std::vector<std::pair<Cidr, uint32_t>> out;
  axon_ipcache_key key{}, next{};
  bool first = true;
  while (bpf_map__get_next_key(map_, first ? nullptr : &key, &next, sizeof(next)) == 0) {
    first = false;
    key = next;
    axon_ipcache_value v{};
    if (bpf_map__lookup_elem(map_, &key, sizeof(key), &v, sizeof(v), 0) != 0) continue;
    out.push_back({Cidr{Ipv4::from_network_order(key.addr), static_cast<uint8_t>(key.prefixlen)},
                   v.identity});
  }
  return out;
}

}  // namespace axon::datapath
