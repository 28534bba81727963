#include "axon/client/lbipam.h"

#include <arpa/inet.h>

#include <algorithm>
#include <optional>
#include <set>
#include <unordered_map>

#include "axon/base/strings.h"
#include "axon/client/conditions.h"
#include "axon/client/selectors.h"

namespace axon::client {
namespace {

// A string member of an object, without a copy ("" when absent).
const std::string& str_member(const Json& o, const char* key) {
  static const std::string empty;
  if (!o.is_object()) return empty;
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get_ref<const std::string&>() : empty;
}


std::optional<uint32_t> parse_v4(const std::string& s) {
  in_addr a{};
  if (inet_pton(AF_INET, s.c_str(), &a) != 1) return std::nullopt;
  return ntohl(a.s_addr);
}

std::string v4_text(uint32_t ip) {
  in_addr a{htonl(ip)};
  char buf[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &a, buf, sizeof(buf));
  return buf;
}

std::string annotation(const Json& o, std::initializer_list<const char*> keys) {
  const Json& a = member(member(o, "metadata"), "annotations");
  for (const char* k : keys) {
    if (a.contains(k) && a[k].is_string()) return a[k].get<std::string>();
  }
  return "";
}

std::vector<std::string> comma_list(const std::string& s) {
  std::vector<std::string> out;
  for (auto& part : split_outside_parens(s, ',')) {
    if (!part.empty()) out.push_back(part);
  }
  return out;
}

struct Range {
  uint32_t lo, hi;
  std::string text;  // as written
};

struct Pool {
  std::string name, created;
  std::vector<Range> ranges;
  Json selector;  // null: every Service
  bool disabled = false;
  bool conflict = false;
  std::string conflict_message;
  std::vector<std::string> unsupported;
  size_t cursor_range = 0;  // where the search for a free address resumes
  uint64_t cursor = 0;

  bool contains(uint32_t ip) const {
    for (const auto& r : ranges)
      if (ip >= r.lo && ip <= r.hi) return true;
    return false;
  }
  uint64_t size() const {
    uint64_t n = 0;
    for (const auto& r : ranges) n += uint64_t{r.hi} - r.lo + 1;
    return n;
  }
};

Pool parse_pool(const Json& o) {
  Pool p;
  const Json& meta = member(o, "metadata");
  const Json& spec = member(o, "spec");
  p.name = meta.value("name", "");
  p.created = meta.value("creationTimestamp", "");
  if (spec.contains("serviceSelector") && spec["serviceSelector"].is_object())
    p.selector = spec["serviceSelector"];
  p.disabled = spec.value("disabled", false);
  const bool first_last = spec.value("allowFirstLastIPs", std::string("Yes")) != "No";
  const Json& blocks = spec.contains("blocks") ? spec["blocks"] : member(spec, "cidrs");
  for (const auto& b : blocks.is_array() ? blocks : Json::array()) {
    if (!b.is_object()) continue;
    if (b.contains("cidr") && b["cidr"].is_string()) {
      const std::string text = b["cidr"];
      const auto slash = text.find('/');
      auto addr = parse_v4(text.substr(0, slash));
      int len = -1;
      if (slash != std::string::npos && text.size() > slash + 1 && text.size() - slash <= 3 &&
          text.find_first_not_of("0123456789", slash + 1) == std::string::npos)
        len = std::stoi(text.substr(slash + 1));
      if (!addr || len < 0 || len > 32) {
        p.unsupported.push_back(text + (text.find(':') != std::string::npos
                                            ? " (IPv6: not served)"
                                            : " (not an IPv4 CIDR)"));
        continue;
      }
      const uint32_t mask = len == 0 ? 0 : ~uint32_t{0} << (32 - len);
      Range r{*addr & mask, (*addr & mask) | ~mask, text};
      if (!first_last && len < 31) {  // network and broadcast reserved
        ++r.lo;
        --r.hi;
      }
      p.ranges.push_back(r);
    } else if (b.contains("start") && b["start"].is_string()) {
      const std::string start = b["start"], stop = b.value("stop", start);
      auto lo = parse_v4(start), hi = parse_v4(stop);
      if (!lo || !hi || *hi < *lo) {
        p.unsupported.push_back(start + "-" + stop +
                                (start.find(':') != std::string::npos ? " (IPv6: not served)"
                                                                      : " (not an IPv4 range)"));
        continue;
      }
      p.ranges.push_back({*lo, *hi, start + "-" + stop});
    }
  }
  return p;
}

struct Svc {
  std::string key;  // ns/name
  std::string ns, name, created;
  Json labels;      // with the virtual labels
  std::vector<std::string> requested;
  std::string sharing_key;
  std::vector<std::string> cross_ns;
  bool permit_different_pods = false;
  std::set<std::string> ports;  // "80/TCP"
  bool etp_local = false;
  Json selector;
  std::vector<std::string> current;  // status.loadBalancer.ingress IPs
};

Svc parse_service(const Json& o) {
  Svc s;
  const Json& meta = member(o, "metadata");
  const Json& spec = member(o, "spec");
  s.ns = meta.value("namespace", "");
  s.name = meta.value("name", "");
  s.key = s.ns + "/" + s.name;
  s.created = meta.value("creationTimestamp", "");
  s.labels = meta.contains("labels") && meta["labels"].is_object() ? meta["labels"] : Json::object();
  s.labels["io.kubernetes.service.name"] = s.name;
  s.labels["io.kubernetes.service.namespace"] = s.ns;
  s.requested = comma_list(annotation(o, {"lbipam.cilium.io/ips", "io.cilium/lb-ipam-ips"}));
  if (s.requested.empty() && spec.contains("loadBalancerIP") && spec["loadBalancerIP"].is_string() &&
      !spec["loadBalancerIP"].get<std::string>().empty())
    s.requested.push_back(spec["loadBalancerIP"]);
  s.sharing_key = annotation(o, {"lbipam.cilium.io/sharing-key", "io.cilium/lb-ipam-sharing-key"});
  s.cross_ns = comma_list(annotation(
      o, {"lbipam.cilium.io/sharing-cross-namespace", "io.cilium/lb-ipam-sharing-cross-namespace"}));
  s.permit_different_pods =
      !annotation(o, {"lbipam.cilium.io/sharing-permit-different-pods"}).empty();
  for (const auto& p : member(spec, "ports").is_array() ? spec["ports"] : Json::array()) {
    if (p.is_object())
      s.ports.insert(std::to_string(p.value("port", 0)) + "/" + p.value("protocol", "TCP"));
  }
  s.etp_local = spec.value("externalTrafficPolicy", "Cluster") == "Local";
  s.selector = member(spec, "selector");
  for (const auto& ing : member(member(o, "status"), "loadBalancer").value("ingress", Json::array())) {
    if (ing.is_object() && ing.contains("ip") && ing["ip"].is_string()) s.current.push_back(ing["ip"]);
  }
  return s;
}

// The same request (everything LB IPAM reads but the status).
bool same_request(const Svc& a, const Svc& b) {
  return a.key == b.key && a.created == b.created && a.labels == b.labels &&
         a.requested == b.requested && a.sharing_key == b.sharing_key && a.cross_ns == b.cross_ns &&
         a.permit_different_pods == b.permit_different_pods && a.ports == b.ports &&
         a.etp_local == b.etp_local && a.selector == b.selector;
}

bool lists(const std::vector<std::string>& l, const std::string& ns) {
  return std::find(l.begin(), l.end(), ns) != l.end() || std::find(l.begin(), l.end(), "*") != l.end();
}

// Why `a` may not share an address with `b` ("" when it may).
std::string sharing_conflict(const Svc& a, const Svc& b) {
  if (a.sharing_key.empty() || a.sharing_key != b.sharing_key)
    return "Service " + b.key + " uses it without sharing key \"" + a.sharing_key + "\"";
  if (a.ns != b.ns && !(lists(a.cross_ns, b.ns) && lists(b.cross_ns, a.ns)))
    return "Service " + b.key +
           " is in another namespace and the two do not both allow it "
           "(lbipam.cilium.io/sharing-cross-namespace)";
  for (const auto& p : a.ports) {
    if (b.ports.count(p)) return "port " + p + " is also used by Service " + b.key;
  }
  if (a.etp_local != b.etp_local)
    return "Service " + b.key + " has another externalTrafficPolicy";
  if (a.etp_local && a.selector != b.selector && !(a.permit_different_pods && b.permit_different_pods))
    return "Service " + b.key +
           " has externalTrafficPolicy Local and selects other pods "
           "(lbipam.cilium.io/sharing-permit-different-pods on both allows it)";
  return "";
}

class Allocator {
 public:
  Allocator(std::vector<Pool> pools, std::vector<Svc> svcs)
      : pools_(std::move(pools)), svcs_(std::move(svcs)) {}

  // A Service newer than every other, with no address yet, allocated on top
  // of the last run: what a full run would give it (older Services come
  // first and it frees nothing). Returns its outcome; `pool_used` gets the
  // pool of each address it is the first to use.
  const LbIpamService& add(Svc s, std::vector<std::string>* pool_used) {
    svcs_.push_back(std::move(s));
    out_.emplace_back();
    const size_t i = svcs_.size() - 1;
    allocate(i);
    for (const auto& text : out_[i].ips) {
      auto ip = parse_v4(text);
      if (!ip || users_[*ip].size() != 1) continue;
      if (const Pool* p = pool_of(*ip)) pool_used->push_back(p->name);
    }
    return out_[i];
  }

  LbIpamState run() {
    find_conflicts();
    std::sort(svcs_.begin(), svcs_.end(), [](const Svc& a, const Svc& b) {
      return std::tie(a.created, a.key) < std::tie(b.created, b.key);
    });
    // Oldest first, keep what each holds and may still hold...
    std::vector<bool> kept(svcs_.size(), false);
    for (size_t i = 0; i < svcs_.size(); ++i) kept[i] = keep_current(i);
    // ... then satisfy the rest.
    for (size_t i = 0; i < svcs_.size(); ++i) {
      if (!kept[i]) allocate(i);
    }
    LbIpamState st;
    for (size_t i = 0; i < svcs_.size(); ++i) st.services[svcs_[i].key] = out_[i];
    for (const auto& p : pools_) {
      LbIpamPool o;
      o.conflict = p.conflict;
      o.conflict_message = p.conflict_message;
      o.unsupported = p.unsupported;
      o.total = p.conflict ? 0 : p.size();
      std::set<uint32_t> used;
      if (!p.conflict) {
        for (const auto& [ip, users] : users_) {
          if (!users.empty() && p.contains(ip)) used.insert(ip);
        }
      }
      o.used = used.size();
      st.pools[p.name] = o;
    }
    return st;
  }

 private:
  void find_conflicts() {
    std::sort(pools_.begin(), pools_.end(), [](const Pool& a, const Pool& b) {
      return std::tie(a.created, a.name) < std::tie(b.created, b.name);
    });
    for (size_t i = 0; i < pools_.size(); ++i) {
      Pool& p = pools_[i];
      for (size_t a = 0; a < p.ranges.size() && !p.conflict; ++a) {
        for (size_t b = a + 1; b < p.ranges.size(); ++b) {
          if (overlap(p.ranges[a], p.ranges[b])) {
            p.conflict = true;
            p.conflict_message = "Pool's own blocks " + p.ranges[a].text + " and " +
                                 p.ranges[b].text + " overlap";
            break;
          }
        }
      }
      for (size_t j = 0; j < i && !p.conflict; ++j) {
        const Pool& q = pools_[j];
        if (q.conflict) continue;
        for (const auto& r : p.ranges) {
          for (const auto& s : q.ranges) {
            if (!p.conflict && overlap(r, s)) {
              p.conflict = true;
              p.conflict_message = "Pool's block " + r.text + " overlaps with block " + s.text +
                                   " of the older pool '" + q.name + "'";
            }
          }
        }
      }
    }
  }
  static bool overlap(const Range& a, const Range& b) { return a.lo <= b.hi && b.lo <= a.hi; }

  bool selects(const Pool& p, const Svc& s) const {
    return p.selector.is_null() || client::label_selector_matches(p.selector, s.labels);
  }

  const Pool* pool_of(uint32_t ip) const {
    for (const auto& p : pools_) {
      if (!p.conflict && p.contains(ip)) return &p;
    }
    return nullptr;
  }

  // Why service i may not use ip now ("" when it may); *incompatible when
  // a Service with the same sharing key holds it but may not share.
  std::string in_use(size_t i, uint32_t ip, bool* incompatible = nullptr) const {
    auto it = users_.find(ip);
    if (it == users_.end()) return "";
    for (size_t j : it->second) {
      std::string why = sharing_conflict(svcs_[i], svcs_[j]);
      if (why.empty()) continue;
      if (incompatible) *incompatible = !svcs_[i].sharing_key.empty() &&
                                        svcs_[i].sharing_key == svcs_[j].sharing_key;
      return why;
    }
    return "";
  }

  void take(size_t i, uint32_t ip) {
    auto& users = users_[ip];
    if (users.empty() && !svcs_[i].sharing_key.empty()) key_ips_[svcs_[i].sharing_key].insert(ip);
    users.push_back(i);
    out_[i].ips.push_back(v4_text(ip));
  }

  void satisfied(size_t i) {
    out_[i].satisfied = true;
    out_[i].reason = "satisfied";
    out_[i].message = "";
  }

  void fail(size_t i, std::string reason, std::string message) {
    out_[i].ips.clear();
    out_[i].satisfied = false;
    out_[i].reason = std::move(reason);
    out_[i].message = std::move(message);
  }

  // Keeps service i's current addresses when all are still its to hold.
  bool keep_current(size_t i) {
    const Svc& s = svcs_[i];
    if (s.current.empty()) return false;
    std::vector<uint32_t> ips;
    for (const auto& text : s.current) {
      auto ip = parse_v4(text);
      if (!ip) return false;
      const Pool* p = pool_of(*ip);
      if (p == nullptr || !selects(*p, s) || !in_use(i, *ip).empty()) return false;
      if (!s.requested.empty() &&
          std::find(s.requested.begin(), s.requested.end(), text) == s.requested.end())
        return false;
      ips.push_back(*ip);
    }
    if (!s.requested.empty() && ips.size() != s.requested.size()) return false;
    if (s.requested.empty() && ips.size() != 1) return false;
    for (uint32_t ip : ips) take(i, ip);
    satisfied(i);
    return true;
  }

  void allocate(size_t i) {
    const Svc& s = svcs_[i];
    out_[i] = {};
    if (!s.requested.empty()) {
      std::vector<uint32_t> got;
      for (const auto& text : s.requested) {
        auto ip = parse_v4(text);
        if (!ip) {
          return fail(i, "no_pool", "requested IP \"" + text + "\" is not an IPv4 address");
        }
        const Pool* p = pool_of(*ip);
        if (p == nullptr) {
          return fail(i, "no_pool", "requested IP " + text + " is in no pool" +
                                        (pools_.empty() ? " (there is no pool yet)"
                                                        : " (" + pool_names() + ")"));
        }
        if (!selects(*p, s)) {
          return fail(i, "pool_selector_mismatch",
                      "requested IP " + text + " is in pool '" + p->name +
                          "', whose serviceSelector does not select this Service");
        }
        if (p->disabled && !used(*ip)) {
          return fail(i, "no_pool", "requested IP " + text + " is in pool '" + p->name +
                                        "', which is disabled");
        }
        bool incompatible = false;
        if (std::string why = in_use(i, *ip, &incompatible); !why.empty()) {
          return incompatible
                     ? fail(i, "already_allocated_incompatible_service",
                            "requested IP " + text + " is shared under the same key, but " + why)
                     : fail(i, "already_allocated",
                            "requested IP " + text + " is already allocated: " + why);
        }
        got.push_back(*ip);
      }
      for (uint32_t ip : got) take(i, ip);
      return satisfied(i);
    }
    // A shared key: an address a compatible Service of the key holds.
    std::string not_shared;
    if (auto keyed = key_ips_.find(s.sharing_key); !s.sharing_key.empty() && keyed != key_ips_.end()) {
      for (uint32_t ip : keyed->second) {
        const Pool* p = pool_of(ip);
        if (p == nullptr || !selects(*p, s)) continue;
        if (std::string why = in_use(i, ip); !why.empty()) {
          if (not_shared.empty()) not_shared = why;
          continue;
        }
        take(i, ip);
        return satisfied(i);
      }
    }
    out_[i].not_shared = not_shared;
    bool any_pool = false;
    for (auto& p : pools_) {
      if (p.conflict || p.disabled || !selects(p, s)) continue;
      any_pool = true;
      if (auto ip = first_free(p)) {
        take(i, *ip);
        return satisfied(i);
      }
    }
    if (!any_pool) return fail(i, "no_pool", "no enabled pool selects this Service");
    fail(i, "out_of_ips", "every pool that selects this Service is exhausted");
  }

  bool used(uint32_t ip) const {
    auto it = users_.find(ip);
    return it != users_.end() && !it->second.empty();
  }

  // The first free address of the pool, in block order; the search resumes
  // where it stopped (addresses are only taken within one run).
  std::optional<uint32_t> first_free(Pool& p) {
    for (; p.cursor_range < p.ranges.size(); ++p.cursor_range, p.cursor = 0) {
      const Range& r = p.ranges[p.cursor_range];
      for (; uint64_t{r.lo} + p.cursor <= r.hi; ++p.cursor) {
        const auto ip = static_cast<uint32_t>(r.lo + p.cursor);
        if (!used(ip)) return ip;
      }
    }
    return std::nullopt;
  }

  std::string pool_names() const {
    std::vector<std::string> names;
    for (const auto& p : pools_) names.push_back(p.name);
    return "pools: " + join(names, ", ");
  }

  std::vector<Pool> pools_;
  std::vector<Svc> svcs_;
  std::vector<LbIpamService> out_ = std::vector<LbIpamService>(svcs_.size());
  std::map<uint32_t, std::vector<size_t>> users_;  // ordered: runs are deterministic
  // The addresses whose first user has a sharing key, by key (ascending).
  std::map<std::string, std::set<uint32_t>> key_ips_;
};

}  // namespace

bool lbipam_manages(const Json& service) {
  const Json& spec = member(service, "spec");
  if (str_member(spec, "type") != "LoadBalancer") return false;
  const Json& cls = member(spec, "loadBalancerClass");
  if (!cls.is_string()) return true;
  const std::string& c = cls.get_ref<const std::string&>();
  return c.empty() || c == "io.cilium/l2-announcer" || c == "io.cilium/bgp-control-plane";
}

struct LbIpam::Impl {
  std::string pools_seen;  // the pools as last run with
  struct Parsed {
    std::string version;  // metadata.resourceVersion
    Svc svc;
  };
  std::unordered_map<std::string, Parsed> parsed;  // the managed Services by key
  std::optional<Allocator> alloc;
  LbIpamState state;
  std::pair<std::string, std::string> newest;  // (created, key) of the newest Service
};

LbIpam::LbIpam() : impl_(std::make_unique<Impl>()) {}
LbIpam::~LbIpam() = default;

LbIpam::Update LbIpam::update(const std::vector<Json>& pools, const std::vector<Json>& services) {
  Impl& m = *impl_;
  Update u;
  std::string pools_seen;
  for (const auto& p : pools) pools_seen += p.dump();
  bool full = !m.alloc || pools_seen != m.pools_seen;
  std::vector<Impl::Parsed> added;
  size_t managed = 0;
  std::string key;
  for (const auto& o : services) {
    const Json& meta = member(o, "metadata");
    key.assign(str_member(meta, "namespace")).append("/").append(str_member(meta, "name"));
    const std::string& version = str_member(meta, "resourceVersion");
    auto it = m.parsed.find(key);
    // The same version as last time: managed then, managed now.
    if (it != m.parsed.end() && !version.empty() && it->second.version == version) {
      ++managed;
      continue;
    }
    if (!lbipam_manages(o)) continue;  // (one that stopped being managed: `parsed` is left bigger)
    ++managed;
    Svc svc = parse_service(o);
    u.changed.push_back(key);
    if (it == m.parsed.end()) {
      added.push_back({version, std::move(svc)});
      continue;
    }
    // Changed: only its status echoing the last outcome (the operator's own
    // write coming back) changes nothing.
    auto last = m.state.services.find(key);
    if (!same_request(it->second.svc, svc) || last == m.state.services.end() ||
        svc.current != last->second.ips)
      full = true;
    it->second = {version, std::move(svc)};
  }
  std::sort(added.begin(), added.end(), [](const Impl::Parsed& a, const Impl::Parsed& b) {
    return std::tie(a.svc.created, a.svc.key) < std::tie(b.svc.created, b.svc.key);
  });
  for (const auto& a : added) {
    if (!a.svc.current.empty() ||
        std::tie(a.svc.created, a.svc.key) <= std::tie(m.newest.first, m.newest.second))
      full = true;  // not simply the newest: its place in the order matters
  }
  for (auto& a : added) {
    const std::string k = a.svc.key;
    m.newest = std::max(m.newest, std::pair{a.svc.created, k});
    if (!full) {
      std::vector<std::string> used;
      m.state.services[k] = m.alloc->add(a.svc, &used);
      for (const auto& pool : used) ++m.state.pools[pool].used;
    }
    m.parsed[k] = std::move(a);
  }
  // Every Service of the input is in `parsed` now: more there means some went.
  if (m.parsed.size() != managed) {
    full = true;
    std::set<std::string> present;
    for (const auto& o : services) {
      if (!lbipam_manages(o)) continue;
      const Json& meta = member(o, "metadata");
      present.insert(str_member(meta, "namespace") + "/" + str_member(meta, "name"));
    }
    for (auto it = m.parsed.begin(); it != m.parsed.end();)
      it = present.count(it->first) ? std::next(it) : m.parsed.erase(it);
  }
  if (full) {
    std::vector<Pool> ps;
    for (const auto& p : pools) ps.push_back(parse_pool(p));
    std::vector<Svc> ss;
    for (const auto& [k, e] : m.parsed) ss.push_back(e.svc);
    m.alloc.emplace(std::move(ps), std::move(ss));
    m.state = m.alloc->run();
    m.pools_seen = std::move(pools_seen);
    u.changed.clear();
    m.newest = {};
    for (const auto& [k, e] : m.parsed) {
      u.changed.push_back(k);
      if (std::tie(e.svc.created, k) > std::tie(m.newest.first, m.newest.second)) m.newest = {e.svc.created, k};
    }
  }
  u.state = &m.state;
  u.full = full;
  return u;
}

LbIpamState lbipam_allocate(const std::vector<Json>& pools, const std::vector<Json>& services) {
  std::vector<Pool> ps;
  for (const auto& p : pools) ps.push_back(parse_pool(p));
  std::vector<Svc> ss;
  for (const auto& s : services) {
    if (lbipam_manages(s)) ss.push_back(parse_service(s));
  }
  return Allocator(std::move(ps), std::move(ss)).run();
}


std::optional<Json> lbipam_service_status(const Json& service, const LbIpamState& state,
                                          const std::string& now) {
  const Json& meta = member(service, "metadata");
  const std::string key = meta.value("namespace", "") + "/" + meta.value("name", "");
  const Json old = service.contains("status") && service["status"].is_object() ? service["status"]
                                                                                : Json::object();
  Json next = old;
  auto it = state.services.find(key);
  const Json& conditions = member(old, "conditions");
  if (it == state.services.end()) {
    // No longer ours: our condition and the addresses it stood for go.
    bool had = false;
    for (const auto& c : conditions.is_array() ? conditions : Json::array())
      had |= c.is_object() && c.value("type", "") == kIpamConditionType;
    if (!had) return std::nullopt;
    next["conditions"] = without_condition(conditions, kIpamConditionType);
    if (next["conditions"].empty()) next.erase("conditions");
    next["loadBalancer"] = Json::object();
  } else {
    const LbIpamService& s = it->second;
    Json ingress = Json::array();
    for (const auto& ip : s.ips) ingress.push_back({{"ip", ip}});
    next["loadBalancer"] = ingress.empty() ? Json::object() : Json{{"ingress", ingress}};
    Json c = {{"type", kIpamConditionType},
              {"status", s.satisfied ? "True" : "False"},
              {"reason", s.reason},
              {"message", s.message}};
    if (meta.contains("generation")) c["observedGeneration"] = meta["generation"];
    next["conditions"] = with_condition(conditions, c, now);
  }
  if (next == old) return std::nullopt;
  return next;
}

std::optional<Json> lbipam_pool_status(const Json& pool, const LbIpamState& state,
                                       const std::string& now) {
  const std::string name = member(pool, "metadata").value("name", "");
  auto it = state.pools.find(name);
  if (it == state.pools.end()) return std::nullopt;
  const LbIpamPool& p = it->second;
  const Json old = pool.contains("status") && pool["status"].is_object() ? pool["status"]
                                                                         : Json::object();
  Json next = old;
  Json conditions = member(old, "conditions");
  std::string conflict_msg = p.conflict_message;
  for (const auto& u : p.unsupported) conflict_msg += (conflict_msg.empty() ? "" : "; ") + ("block " + u);
  conditions = with_condition(conditions,
                              {{"type", "cilium.io/PoolConflict"},
                               {"status", p.conflict ? "True" : "False"},
                               {"reason", p.conflict ? "cidr_overlap" : "resolved"},
                               {"message", conflict_msg}},
                              now);
  for (const auto& [type, n] : {std::pair{"cilium.io/IPsTotal", p.total},
                                {"cilium.io/IPsAvailable", p.total - std::min(p.used, p.total)},
                                {"cilium.io/IPsUsed", p.used}}) {
    conditions = with_condition(conditions,
                                {{"type", type},
                                 {"status", "Unknown"},
                                 {"reason", "noreason"},
                                 {"message", std::to_string(n)}},
                                now);
  }
  next["conditions"] = conditions;
  if (next == old) return std::nullopt;
  return next;
}

}  // namespace axon::client
