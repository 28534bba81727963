#include "axon/datapath/datapath.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <optional>
#include <string>
#include <vector>

#include "axon/abi/datapath.h"
#include "axon/base/fd.h"
#include "axon/base/log.h"
#include "axon/datapath/bpffs.h"
#include "axon/datapath/maglev.h"
#include "axon/datapath/skeleton.h"
#include "datapath.skel.h"
#include "tc.h"

AXON_SKELETON_OPS(axon_datapath);

namespace axon::datapath {

struct Datapath::State {
  DatapathConfig config;
  Skeleton<axon_datapath> skel;
  Endpoints endpoints;
  Ipcache ipcache;
  PolicyMaps policy;
  Services services;
  Netdevs netdevs;
  L2Responder l2;
  Conntrack conntrack;

  State(DatapathConfig c, Skeleton<axon_datapath> s)
      : config(std::move(c)),
        skel(std::move(s)),
        endpoints(skel->maps.axon_endpoints_v1, skel->maps.axon_lxc_v1, skel->maps.axon_epoch_v1,
                  skel->progs.axon_from_container, skel->progs.axon_to_container),
        ipcache(skel->maps.axon_ipcache_v1, skel->maps.axon_epoch_v1),
        policy(skel->maps.axon_policy_v1, skel->maps.axon_epoch_v1),
        services(
            ServiceMaps{skel->maps.axon_lb4_services_v1, skel->maps.axon_lb4_backends_v1,
                        skel->maps.axon_lb4_reverse_nat_v1, skel->maps.axon_lb4_maglev_v1,
                        skel->maps.axon_lb4_vips_v1, skel->maps.axon_lb4_affinity_match_v1},
            ServicesConfig{config.maglev_table_size, config.maglev_seed, config.default_algorithm}),
        netdevs(skel->maps.axon_netdevs_v1, skel->progs.axon_from_netdev),
        l2(skel->maps.axon_l2_responder_v1, skel->maps.axon_l2_lease_v1),
        conntrack(skel->maps.axon_ct4_v2) {}
};

namespace {

// Pins of maps earlier layouts had and this one has not (the conntrack
// table of axon_ct4_v1 kept an entry per end): removed by name when a node's
// datapath opens or its pins are removed.
const std::vector<std::string> kRetiredPins = {"axon_ct4_v1"};

// The config the pinned maps of `pin_dir` were made with, if they exist.
Result<std::optional<axon_config>> pinned_config(const std::string& pin_dir) {
  const std::string path = pin_dir + "/axon_config_v1";
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) return std::optional<axon_config>{};
  Fd fd(bpf_obj_get(path.c_str()));
  if (!fd.valid()) return sys_error("open pinned map " + path);
  uint32_t zero = 0;
  axon_config c{};
  if (bpf_map_lookup_elem(fd.get(), &zero, &c) != 0) return sys_error("read " + path);
  if (c.layout_version == 0) return std::optional<axon_config>{};  // never written
  return std::optional<axon_config>{c};
}

}  // namespace

Datapath::Datapath(std::unique_ptr<State> s) : s_(std::move(s)) {}
Datapath::Datapath(Datapath&&) noexcept = default;
Datapath& Datapath::operator=(Datapath&&) noexcept = default;
Datapath::~Datapath() = default;

Result<Datapath> Datapath::open(const DatapathConfig& config) {
  if (config.pin_dir.empty()) return Error{"datapath: no pin directory given"};
  if (!is_valid_maglev_table_size(config.maglev_table_size)) {
    return Error{"datapath: Maglev table size " + std::to_string(config.maglev_table_size) +
                 " is not one of 251, 509, 1021, 2039, 4093, 8191, 16381, 32749, 65521, 131071"};
  }
  if (auto s = ensure_bpffs(); !s) return s.error();
  if (auto s = make_pin_dir(config.pin_dir); !s) return s.error();
  for (const auto& name : kRetiredPins) {
    const std::string path = config.pin_dir + "/" + name;
    if (unlink(path.c_str()) != 0 && errno != ENOENT)
      return sys_error("remove retired pin " + path);
  }
  auto pinned = pinned_config(config.pin_dir);
  if (!pinned) return pinned.error();
  if (*pinned && (*pinned)->maglev_table_size != config.maglev_table_size) {
    return Error{"datapath: the pinned maps in " + config.pin_dir + " use Maglev table size " +
                 std::to_string((*pinned)->maglev_table_size) + ", not " +
                 std::to_string(config.maglev_table_size) +
                 "; keep the old size or remove the node's pins (its connections are lost)"};
  }

  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = config.pin_dir.c_str());
  auto skel = Skeleton<axon_datapath>::open(&opts);
  if (!skel) return skel.error();
  auto* rodata = (*skel)->rodata;
  rodata->cfg_maglev_table_size = config.maglev_table_size;
  rodata->cfg_maglev_hash_seed = config.maglev_seed;
  rodata->cfg_trace_every_packet = config.trace_every_packet ? 1 : 0;
  rodata->cfg_host_routing = config.host_routing ? 1 : 0;
  rodata->cfg_no_backend_reject = config.no_backend_reject ? 1 : 0;
  rodata->cfg_proxy_ifindex = config.proxy_ifindex;
  rodata->cfg_ct_tcp_syn_s = config.ct_timeouts.tcp_syn_s;
  rodata->cfg_ct_tcp_established_s = config.ct_timeouts.tcp_established_s;
  rodata->cfg_ct_tcp_close_s = config.ct_timeouts.tcp_close_s;
  rodata->cfg_ct_other_s = config.ct_timeouts.other_s;
  auto* maps = &(*skel)->maps;
  int err = bpf_map__set_value_size(maps->axon_lb4_maglev_v1,
                                    config.maglev_table_size * sizeof(uint32_t));
  if (err == 0) err = bpf_map__set_max_entries(maps->axon_ct4_v2, config.ct_max_entries);
  if (err == 0) err = bpf_map__set_max_entries(maps->axon_events_v1, config.events_ring_bytes);
  if (err != 0) return neg_errno_error("datapath: size maps", err);
  if (auto s = skel->load(); !s) {
    auto e = s.error();
    e.message +=
        " (pins in " + config.pin_dir + "; maps of another layout or size there cannot be reused)";
    return e;
  }
  axon_config c{config.maglev_table_size, AXON_LAYOUT_VERSION};
  uint32_t zero = 0;
  if (bpf_map__update_elem(maps->axon_config_v1, &zero, sizeof(zero), &c, sizeof(c), BPF_ANY) !=
      0) {
    return sys_error("datapath: write axon_config_v1");
  }
  auto state = std::make_unique<State>(config, std::move(*skel));
  if (auto s = state->services.restore(); !s) return s.error();
  return Datapath(std::move(state));
}

Endpoints& Datapath::endpoints() {
  return s_->endpoints;
}
Ipcache& Datapath::ipcache() {
  return s_->ipcache;
}
PolicyMaps& Datapath::policy() {
  return s_->policy;
}
Services& Datapath::services() {
  return s_->services;
}
Netdevs& Datapath::netdevs() {
  return s_->netdevs;
}
L2Responder& Datapath::l2() {
  return s_->l2;
}
Conntrack& Datapath::conntrack() {
  return s_->conntrack;
}

Result<EventReader> Datapath::open_events() const {
  return EventReader::open(s_->skel->maps.axon_events_v1);
}

Result<Stats> Datapath::stats() const {
  return read_stats(s_->skel->maps.axon_metrics_v1, s_->skel->maps.axon_counters_v1);
}

const bpf_program* Datapath::from_container() const {
  return s_->skel->progs.axon_from_container;
}
const bpf_program* Datapath::to_container() const {
  return s_->skel->progs.axon_to_container;
}
const bpf_program* Datapath::to_proxy() const {
  return s_->skel->progs.axon_to_proxy;
}
Status Datapath::attach_proxy_device(uint32_t peer_ifindex) {
  return tc_attach(peer_ifindex, BPF_TC_INGRESS, s_->skel->progs.axon_to_proxy);
}
const bpf_program* Datapath::from_netdev() const {
  return s_->skel->progs.axon_from_netdev;
}
const DatapathConfig& Datapath::config() const {
  return s_->config;
}

Status Datapath::remove_pins(const std::string& pin_dir) {
  // The names come from the embedded object itself: exactly the maps it pins.
  LIBBPF_OPTS(bpf_object_open_opts, opts, .pin_root_path = pin_dir.c_str());
  auto skel = Skeleton<axon_datapath>::open(&opts);
  if (!skel) return skel.error();
  std::vector<std::string> names;
  bpf_map* map = nullptr;
  bpf_object__for_each_map(map, (*skel)->obj) {
    if (bpf_map__pin_path(map) != nullptr) names.emplace_back(bpf_map__name(map));
  }
  names.insert(names.end(), kRetiredPins.begin(), kRetiredPins.end());
  return datapath::remove_pins(pin_dir, names);
}

}  // namespace axon::datapath
