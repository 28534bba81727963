#include "l2_announcer.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <netinet/if_ether.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <array>
#include <cstring>
#include <functional>
#include <optional>

#include "axon/base/fd.h"
#include "axon/base/log.h"
#include "axon/base/strings.h"
#include "axon/client/etcd_store.h"
#include "axon/client/leader_election.h"

namespace axon::agent {
namespace {

using Clock = std::chrono::steady_clock;
using client::Json;
using client::member;

constexpr const char* kDevicesAnnotation = "l2.axon.io/devices-up";
constexpr int kGarpRepeats = 3;  // sent on taking an address, then on the next two ticks

struct Device {
  unsigned ifindex = 0;
  std::array<uint8_t, 6> mac{};
  bool running = false;  // up, with carrier
};

std::optional<Device> device(const std::string& name) {
  Fd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s.valid() || name.size() >= IFNAMSIZ) return std::nullopt;
  ifreq r{};
  std::memcpy(r.ifr_name, name.c_str(), name.size());
  if (::ioctl(s.get(), SIOCGIFFLAGS, &r) != 0) return std::nullopt;
  Device d;
  d.running = (r.ifr_flags & IFF_UP) != 0 && (r.ifr_flags & IFF_RUNNING) != 0;
  if (::ioctl(s.get(), SIOCGIFHWADDR, &r) != 0) return std::nullopt;
  std::memcpy(d.mac.data(), r.ifr_hwaddr.sa_data, 6);
  d.ifindex = if_nametoindex(name.c_str());
  if (d.ifindex == 0) return std::nullopt;
  return d;
}

// A gratuitous ARP request ("who has X, tell X", from X at the device's
// MAC, to everyone): the LAN's hosts that knew X at another MAC move their
// entry here at once.
bool send_garp(const Device& d, datapath::Ipv4 ip) {
  Fd s(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ARP)));
  if (!s.valid()) return false;
  std::array<uint8_t, 60> f{};  // Ethernet minimum, zero padded
  std::memset(f.data(), 0xff, 6);
  std::memcpy(f.data() + 6, d.mac.data(), 6);
  f[12] = 0x08, f[13] = 0x06;
  const uint8_t arp[8] = {0, 1, 8, 0, 6, 4, 0, 1};  // Ethernet, IPv4, request
  std::memcpy(f.data() + 14, arp, 8);
  const uint32_t a = ip.network_order();
  std::memcpy(f.data() + 22, d.mac.data(), 6);
  std::memcpy(f.data() + 28, &a, 4);
  std::memcpy(f.data() + 38, &a, 4);
  sockaddr_ll to{};
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_ARP);
  to.sll_ifindex = static_cast<int>(d.ifindex);
  to.sll_halen = 6;
  std::memset(to.sll_addr, 0xff, 6);
  return ::sendto(s.get(), f.data(), f.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to) ==
         static_cast<ssize_t>(f.size());
}

std::string annotation(const Json& o, const char* key) {
  return member(member(o, "metadata"), "annotations").value(key, "");
}
std::string holder_of(const Json& lease) { return member(lease, "spec").value("holderIdentity", ""); }
std::string version_of(const Json& o) { return member(o, "metadata").value("resourceVersion", ""); }

int64_t seconds_up(std::chrono::milliseconds d) { return std::max<int64_t>(1, (d.count() + 999) / 1000); }

}  // namespace

L2Announcer::L2Announcer(L2AnnouncerConfig c, client::ClusterStore& store, client::Informer& services,
                         client::Informer& slices, client::Informer& nodes, datapath::L2Responder& l2)
    : c_(std::move(c)),
      store_(store),
      services_(services),
      slices_(slices),
      nodes_(nodes),
      l2_(l2),
      leases_(store, "coordination.k8s.io/v1", "Lease"),
      policies_(store, "cilium.io/v2alpha1", "CiliumL2AnnouncementPolicy") {}

L2Announcer::~L2Announcer() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void L2Announcer::start(std::function<bool()> netdev_ready) {
  netdev_ready_ = std::move(netdev_ready);
  leases_.start();
  policies_.start();
  thread_ = std::thread([this] { run(); });
}

void L2Announcer::stop() {
  if (!thread_.joinable()) return;
  stop_ = true;
  thread_.join();
  release_all();
  leases_.stop();
  policies_.stop();
}

L2Announcer::View L2Announcer::view() const {
  std::lock_guard lock(mu_);
  return view_;
}

void L2Announcer::run() {
  started_ = Clock::now();
  leases_.wait_synced(std::chrono::seconds(30));
  policies_.wait_synced(std::chrono::seconds(30));
  // Ticks of a fifth of the retry period (at most 100 ms): another node's
  // lease is seen to run out within a tick of its duration.
  const auto tick_every =
      std::min<std::chrono::milliseconds>(c_.retry_period / 5, std::chrono::milliseconds(100));
  while (!stop_.load()) {
    tick();
    std::this_thread::sleep_for(tick_every);
  }
}

void L2Announcer::tick() {
  const auto now = Clock::now();
  devices_up_.clear();
  for (const auto& d : c_.devices) {
    if (auto dev = device(d); dev && dev->running) devices_up_.insert(d);
  }
  if (netdev_ready_ && !netdev_ready_()) return;
  const bool due = renewed_ == Clock::time_point{} || now - renewed_ >= c_.retry_period ||
                   !written_.is_object();
  if (due && !renew(now)) {
    // Not renewed: the kernel falls silent at the renew deadline by itself;
    // past it, drop the announcements too (nothing else will be decided).
    if (renewed_ == Clock::time_point{} || now - renewed_ >= c_.renew_deadline) {
      announce({});
      std::lock_guard lock(mu_);
      view_.live = false;
      // Failing: renewals stopped, or none ever came in a lease duration.
      view_.failing = renewed_ != Clock::time_point{} || now - started_ >= c_.lease_duration;
    }
    return;
  }
  {
    std::lock_guard lock(mu_);
    view_.live = true;
    view_.failing = false;
    view_.term = annotation(written_, client::kL2TermAnnotation);
  }
  elect(now);
}

bool L2Announcer::write(Json lease, bool create) {
  auto r = create ? store_.create(lease) : store_.replace(lease);
  if (!r) {
    log::warn("L2 announcements: writing Lease {}: {}", member(lease, "metadata").value("name", ""),
              r.error().str());
    return false;
  }
  const std::string name = member(lease, "metadata").value("name", "");
  if (!*r) {  // someone else wrote it first: our view of it is old
    overlay_.erase(name);
    return false;
  }
  // Until the watch moves past the version it had (ours comes next, or a
  // later one), our write stands in for what it shows.
  std::string base;
  for (const auto& l : leases_.list()) {
    if (member(l, "metadata").value("namespace", "") == c_.ns && member(l, "metadata").value("name", "") == name)
      base = version_of(l);
  }
  overlay_[name] = {**r, base};
  return true;
}

bool L2Announcer::renew(Clock::time_point now) {
  const std::string stamp = client::LeaderElector::micro_time_now();
  const std::string name = client::kL2NodeLeasePrefix + c_.node;
  const std::string devs = join(std::vector<std::string>(devices_up_.begin(), devices_up_.end()), ",");
  const std::string old_term = annotation(written_, client::kL2TermAnnotation);
  auto stamped = [&](Json l) {
    l["spec"]["renewTime"] = stamp;
    l["spec"]["leaseDurationSeconds"] = seconds_up(c_.lease_duration);
    l["metadata"]["annotations"][kDevicesAnnotation] = devs;
    return l;
  };
  auto done = [&](const Json& stored) {
    written_ = stored;
    if (annotation(written_, client::kL2TermAnnotation) != old_term) {
      // A new term: whatever the kernel was told under an earlier one (this
      // agent's before a restart, or before another node ended it) goes
      // before the kernel may answer again.
      announce({});
    }
    renewed_ = now;
    if (auto st = l2_.hold_until(now + c_.renew_deadline); !st)
      log::warn("L2 announcements: {}", st.error().str());
    return true;
  };
  if (written_.is_object()) {
    auto r = store_.replace(stamped(written_));
    if (!r) return false;
    if (*r) return done(**r);
    written_ = nullptr;  // someone else wrote it: another node ended our term
  }
  auto live = store_.get(client::ObjectRef{"coordination.k8s.io/v1", "Lease", c_.ns, name});
  if (!live) return false;
  auto fresh_term = [&](Json l, int64_t transitions) {
    l["metadata"]["annotations"][client::kL2TermAnnotation] = client::new_uid();
    l["spec"]["holderIdentity"] = c_.node;
    l["spec"]["acquireTime"] = stamp;
    l["spec"]["leaseTransitions"] = transitions;
    return stamped(std::move(l));
  };
  std::optional<Json> stored;
  if (!*live) {
    Json l = {{"apiVersion", "coordination.k8s.io/v1"},
              {"kind", "Lease"},
              {"metadata", {{"name", name}, {"namespace", c_.ns}, {"annotations", Json::object()}}},
              {"spec", Json::object()}};
    auto r = store_.create(fresh_term(std::move(l), 0));
    if (!r || !*r) return false;
    stored = **r;
  } else {
    Json l = std::move(**live);
    const std::string h = holder_of(l);
    if (!h.empty() && h != c_.node) {
      log::warn("L2 announcements: Lease {}/{} is held by {}, not this node", c_.ns, name, h);
      return false;
    }
    if (!member(l["metadata"], "annotations").is_object()) l["metadata"]["annotations"] = Json::object();
    // Ours still (this agent restarted within the lease): the term goes on,
    // and with it the Services it holds. Ended: a new term.
    Json next = h == c_.node && !annotation(l, client::kL2TermAnnotation).empty()
                    ? stamped(l)
                    : fresh_term(l, member(l, "spec").value("leaseTransitions", int64_t{0}) + 1);
    auto r = store_.replace(next);
    if (!r || !*r) return false;
    stored = **r;
  }
  if (annotation(*stored, client::kL2TermAnnotation) != old_term)
    log::info("L2 announcements: {} leases term {}", c_.node, annotation(*stored, client::kL2TermAnnotation));
  return done(*stored);
}

void L2Announcer::elect(Clock::time_point now) {
  const std::string me = c_.node, my_term = annotation(written_, client::kL2TermAnnotation);
  // The plan, again only when what it reads changed.
  const std::array<uint64_t, 4> gens = {services_.generation(), slices_.generation(),
                                        nodes_.generation(), policies_.generation()};
  if (gens != plan_gens_) {
    plan_ = client::l2_plan(policies_.list(), services_.list(), slices_.list(), nodes_.list(),
                            c_.devices, c_.external_ips);
    plan_gens_ = gens;
  }
  // The Leases of our namespace, with what this node wrote since (the
  // watch may lag its own writes).
  std::map<std::string, Json> leases;
  for (auto& l : leases_.list()) {
    if (member(l, "metadata").value("namespace", "") != c_.ns) continue;
    std::string name = member(l, "metadata").value("name", "");  // before the move: Json's = takes a value
    leases[name] = std::move(l);
  }
  for (auto it = overlay_.begin(); it != overlay_.end();) {
    auto live = leases.find(it->first);
    const std::string shown = live == leases.end() ? "" : version_of(live->second);
    if (shown != it->second.base) {  // the watch caught up (with ours or a later write)
      it = overlay_.erase(it);
      continue;
    }
    leases[it->first] = it->second.lease;
    ++it;
  }

  // The nodes' terms: live while renewed within the lease duration (by our
  // clock, from when we saw the renewal); one that ran out is ended here.
  struct NodeTerm {
    std::string term;
    bool live = false;
    std::set<std::string> up;
  };
  std::map<std::string, NodeTerm> terms;
  const std::string node_prefix = client::kL2NodeLeasePrefix;
  for (const auto& [name, l] : leases) {
    if (!name.starts_with(node_prefix)) continue;
    const std::string node = name.substr(node_prefix.size());
    if (node == me || holder_of(l) != node) continue;
    auto& seen = seen_[node];
    if (seen.version != version_of(l)) seen = {version_of(l), now};
    NodeTerm t{annotation(l, client::kL2TermAnnotation), now - seen.at < c_.lease_duration, {}};
    for (auto& d : split_outside_parens(annotation(l, kDevicesAnnotation)))
      if (!d.empty()) t.up.insert(d);
    if (!t.live) {
      // Compare-and-swap at the version we saw: a renewal since wins.
      Json ended = l;
      ended["spec"]["holderIdentity"] = "";
      if (write(ended, false)) {
        log::info("L2 announcements: {}'s lease ran out ({} ms unrenewed): its term {} ended", node,
                  std::chrono::duration_cast<std::chrono::milliseconds>(now - seen.at).count(), t.term);
        continue;
      }
    }
    terms[node] = std::move(t);
  }
  terms[me] = {my_term, true, devices_up_};

  auto lease_of = [&](const std::string& key) -> const Json* {
    const auto slash = key.find('/');
    auto it = leases.find(client::l2_lease_name(key.substr(0, slash), key.substr(slash + 1)));
    return it == leases.end() ? nullptr : &it->second;
  };
  // The node holding a Service: the Lease's holder while the term it was
  // taken under lasts.
  auto holder = [&](const std::string& key) -> std::string {
    const Json* l = lease_of(key);
    if (l == nullptr) return "";
    const std::string h = holder_of(*l);
    auto t = terms.find(h);
    if (h.empty() || t == terms.end() || t->second.term != annotation(*l, client::kL2TermAnnotation))
      return "";
    return h;
  };
  auto candidate = [&](const std::string& key, const std::string& node) {
    const auto& cands = plan_.services.at(key).candidates;
    auto c = cands.find(node);
    auto t = terms.find(node);
    if (c == cands.end() || t == terms.end() || !t->second.live) return false;
    return std::any_of(c->second.begin(), c->second.end(),
                       [&](const std::string& d) { return t->second.up.count(d) > 0; });
  };
  std::map<std::string, std::vector<std::string>> by_ip;  // IP -> Services
  for (const auto& [key, s] : plan_.services)
    for (const auto& ip : s.ips) by_ip[ip].push_back(key);
  auto mates = [&](const std::string& key) {
    std::set<std::string> out;
    for (const auto& ip : plan_.services.at(key).ips)
      for (const auto& k : by_ip[ip])
        if (k != key) out.insert(k);
    return out;
  };

  // What this node sees, logged when it changes: each Service's holder and
  // live candidates.
  {
    std::string seen;
    for (const auto& [key, s] : plan_.services) {
      std::vector<std::string> cands;
      for (const auto& [node, ifs] : s.candidates)
        if (candidate(key, node)) cands.push_back(node);
      const std::string h = holder(key);
      seen += " " + key + "=" + (h.empty() ? "-" : h) + "[" + join(cands, ",") + "]";
    }
    std::string ts;
    for (const auto& [n, t] : terms) ts += " " + n + (t.live ? "" : "(ended)") + "=" + t.term.substr(0, 8);
    seen += "; terms:" + ts;
    if (seen != last_seen_) {
      log::info("L2 announcements: Services (holder[live candidates]):{}; {} leases", seen.empty() ? " none" : seen, leases.size());
      last_seen_ = seen;
    }
  }

  std::set<std::string> release;  // Services this node gives up this tick
  for (const auto& [key, s] : plan_.services) {
    const std::string h = holder(key);
    if (h == me) {
      free_since_.erase(key);
      bool give_up = !candidate(key, me);
      // Sharing Services move together: the holder of the first of them
      // (name order) takes the rest.
      for (const auto& m : mates(key)) {
        const std::string mh = holder(m);
        if (!mh.empty() && mh != me && m < key && candidate(key, mh)) give_up = true;
      }
      if (give_up) release.insert(key);
      continue;
    }
    if (!h.empty()) {
      free_since_.erase(key);
      continue;
    }
    if (!candidate(key, me)) continue;
    // Free: the holder of a sharing Service goes first, else the candidate
    // the Service hashes to (spreads Services over nodes); the others after
    // two retry periods, in case it does not.
    std::string preferred;
    for (const auto& m : mates(key)) {
      if (const std::string mh = holder(m); !mh.empty() && candidate(key, mh)) preferred = mh;
    }
    if (preferred.empty()) {
      // Hashed by the first Service of its address group, so Services that
      // share an address prefer the same node.
      std::string group = key;
      for (const auto& m : mates(key)) group = std::min(group, m);
      size_t best = 0;
      for (const auto& [node, ifs] : s.candidates) {
        if (!candidate(key, node)) continue;
        const size_t h2 = std::hash<std::string>{}(group + "@" + node);
        if (preferred.empty() || h2 > best) best = h2, preferred = node;
      }
    }
    auto since = free_since_.emplace(key, now).first->second;
    if (preferred != me && now - since < 2 * c_.retry_period) continue;
    const std::string stamp = client::LeaderElector::micro_time_now();
    const Json* old = lease_of(key);
    const auto slash = key.find('/');
    Json l = old != nullptr ? *old
                            : Json{{"apiVersion", "coordination.k8s.io/v1"},
                                   {"kind", "Lease"},
                                   {"metadata",
                                    {{"name", client::l2_lease_name(key.substr(0, slash), key.substr(slash + 1))},
                                     {"namespace", c_.ns}}},
                                   {"spec", Json::object()}};
    if (!member(l["metadata"], "annotations").is_object()) l["metadata"]["annotations"] = Json::object();
    l["metadata"]["annotations"][client::kL2TermAnnotation] = my_term;
    l["metadata"]["annotations"][client::kL2ServiceAnnotation] = key;
    l["spec"]["holderIdentity"] = me;
    l["spec"]["leaseDurationSeconds"] = seconds_up(c_.lease_duration);
    l["spec"]["acquireTime"] = stamp;
    l["spec"]["renewTime"] = stamp;
    l["spec"]["leaseTransitions"] =
        member(l, "spec").value("leaseTransitions", int64_t{0}) + (old != nullptr ? 1 : 0);
    if (write(l, old == nullptr)) {
      log::info("L2 announcements: {} announces {} ({})", me, key, join(s.ips, ", "));
      free_since_.erase(key);
    }
  }
  // Leases this node holds for Services no policy announces any more.
  std::vector<std::string> orphans;
  for (const auto& [name, l] : leases) {
    if (!name.starts_with(client::kL2LeasePrefix) || holder_of(l) != me) continue;
    const std::string key = annotation(l, client::kL2ServiceAnnotation);
    if (!plan_.services.count(key)) orphans.push_back(name);
  }

  // What to answer ARP for: an address whose every Service (of those some
  // node can announce) this node holds.
  std::map<std::string, std::set<std::string>> want;
  std::vector<std::string> held;
  for (const auto& [ip, keys] : by_ip) {
    bool all = true, any = false;
    std::set<std::string> devs;
    for (const auto& k : keys) {
      const auto& s = plan_.services.at(k);
      if (s.candidates.empty()) continue;
      any = true;
      if (holder(k) != me || release.count(k)) {
        all = false;
        break;
      }
      for (const auto& d : s.candidates.at(me))
        if (devices_up_.count(d)) devs.insert(d);
    }
    if (all && any && !devs.empty()) want[ip] = devs;
  }
  for (const auto& [key, s] : plan_.services)
    if (holder(key) == me && !release.count(key)) held.push_back(key);
  announce(want);

  // Given up only once the kernel no longer answers for them.
  for (const auto& key : release) {
    Json l = *lease_of(key);
    l["spec"]["holderIdentity"] = "";
    if (write(l, false)) log::info("L2 announcements: {} no longer announces {}", me, key);
  }
  for (const auto& name : orphans) {
    auto r = store_.remove(client::ObjectRef{"coordination.k8s.io/v1", "Lease", c_.ns, name});
    if (!r) log::warn("L2 announcements: deleting Lease {}: {}", name, r.error().str());
  }
  std::lock_guard lock(mu_);
  view_.held = std::move(held);
}

void L2Announcer::announce(const std::map<std::string, std::set<std::string>>& want) {
  std::map<std::string, Device> devs;
  for (const auto& d : c_.devices) {
    if (auto dev = device(d)) devs[d] = *dev;
  }
  std::set<datapath::Announcement> desired;
  std::map<datapath::Announcement, const Device*> device_of;
  for (const auto& [ip, names] : want) {
    auto addr = datapath::parse_ipv4(ip);
    if (!addr) continue;
    for (const auto& n : names) {
      auto it = devs.find(n);
      if (it == devs.end()) continue;
      datapath::Announcement a{*addr, it->second.ifindex};
      desired.insert(a);
      device_of[a] = &it->second;
    }
  }
  std::set<datapath::Announcement> current;
  for (const auto& [a, replies] : l2_.list()) current.insert(a);
  for (const auto& a : current) {
    if (desired.count(a)) continue;
    if (auto st = l2_.withdraw(a); !st) log::warn("L2 announcements: {}", st.error().str());
    garp_left_.erase(a);
    log::info("L2 announcements: withdrew {}", a.ip.str());
  }
  for (const auto& a : desired) {
    if (current.count(a)) continue;
    if (auto st = l2_.announce(a); !st) {
      log::warn("L2 announcements: {}", st.error().str());
      continue;
    }
    garp_left_[a] = kGarpRepeats;
    log::info("L2 announcements: answering ARP for {} on ifindex {}", a.ip.str(), a.ifindex);
  }
  for (auto it = garp_left_.begin(); it != garp_left_.end();) {
    auto d = device_of.find(it->first);
    if (d != device_of.end() && !send_garp(*d->second, it->first.ip))
      log::warn("L2 announcements: gratuitous ARP for {}: {}", it->first.ip.str(), std::strerror(errno));
    if (--it->second <= 0 || d == device_of.end()) {
      it = garp_left_.erase(it);
    } else {
      ++it;
    }
  }
  std::lock_guard lock(mu_);
  view_.announced.clear();
  for (const auto& [ip, names] : want) view_.announced[ip] = {names.begin(), names.end()};
}

void L2Announcer::release_all() {
  announce({});
  (void)l2_.hold_until(Clock::time_point{});
  if (!written_.is_object()) return;
  // The Services first (the term would free them too, but a node that
  // still sees the term live would wait), then the node's lease.
  for (auto& l : leases_.list()) {
    const std::string name = member(l, "metadata").value("name", "");
    if (member(l, "metadata").value("namespace", "") != c_.ns || !name.starts_with(client::kL2LeasePrefix) ||
        holder_of(l) != c_.node)
      continue;
    l["spec"]["holderIdentity"] = "";
    (void)store_.replace(l);
  }
  Json l = written_;
  l["spec"]["holderIdentity"] = "";
  if (auto r = store_.replace(l); !r || !*r) log::warn("L2 announcements: could not give up this node's lease");
  written_ = nullptr;
}

}  // namespace axon::agent
