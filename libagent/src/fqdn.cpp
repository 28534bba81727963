// toFQDNs (Cilium's DNS-based policy): the DNS proxy shows the agent every
// answer it lets through, before the pod gets it. Each address in it is
// remembered with the names it answered (the query and its CNAMEs) until
// their TTL (at least tofqdns-min-ttl) runs out. An address whose names some
// toFQDNs selector matches gets a node-local identity: its CIDR labels (so
// toCIDR and world rules still apply) plus one fqdn label per selector
// (policy::fqdn_label_key); the policy engine selects it like any peer, and
// the ipcache maps the address to it. The policy maps are written before
// the answer is released, so the pod's first packet to the address passes.
#include <arpa/inet.h>

#include <algorithm>

#include "axon/agent/agent.h"
#include "axon/base/log.h"
#include "axon/datapath/conntrack.h"
#include "axon/policy/identity.h"
#include "axon/policy/labels.h"
#include "axon/proxy/dns.h"

namespace axon::agent {

namespace {

// Every toFQDNs selector of the policies, by label key.
std::map<std::string, proxy::DnsMatcher> fqdn_selectors(const std::vector<std::shared_ptr<const policy::Policy>>& policies) {
  std::map<std::string, proxy::DnsMatcher> out;
  for (const auto& p : policies) {
    for (const auto& r : p->rules) {
      for (policy::Section s : {policy::Section::egress, policy::Section::egress_deny}) {
        for (const auto& el : policy::section(r, s)) {
          for (const auto& f : el.fqdns) {
            const std::string key = policy::fqdn_label_key(f);
            if (out.count(key)) continue;
            const bool pattern = f.match_name.empty();
            auto m = proxy::DnsMatcher::compile(pattern ? f.match_pattern : f.match_name, pattern);
            if (m) out.emplace(key, std::move(*m));
          }
        }
      }
    }
  }
  return out;
}

}  // namespace

void Agent::fqdn_learn(const proxy::ConnectionInfo& c, const proxy::DnsMessage& answer) {
  if (answer.rcode != proxy::kDnsNoError) return;
  std::vector<std::string> names = {answer.qname};
  std::vector<std::pair<std::string, uint32_t>> ips;
  for (const auto& r : answer.answers) {
    if (r.type == proxy::kDnsTypeCname) names.push_back(r.data);
    if (r.type == proxy::kDnsTypeA) ips.emplace_back(r.data, r.ttl);
  }
  if (ips.empty()) return;
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mu_);
  if (!engine_ || !dp_) return;
  for (const auto& [ip, ttl] : ips) {
    auto& e = fqdn_cache_[ip];
    const auto until = now + std::chrono::seconds(std::max(ttl, c_.dns_min_ttl));
    for (const auto& n : names) {
      auto& t = e.names[n];
      t = std::max(t, until);
    }
    e.source = c.src_ip;
  }
  fqdn_refresh_selectors_locked();
  std::set<std::string> touched;
  for (const auto& [ip, ttl] : ips) touched.insert(ip);
  if (fqdn_update_identities_locked(&touched)) policy_write_locked();
}

// Compiles the policies' toFQDNs selectors again when the policies changed;
// true when they did.
bool Agent::fqdn_refresh_selectors_locked() {
  auto policies = engine_->policies();  // held: an address is never reused while compared
  if (policies == fqdn_selectors_of_) return false;
  fqdn_selectors_ = fqdn_selectors(policies);
  fqdn_selectors_of_ = std::move(policies);
  return true;
}

// Gives each cached address (or only those in `only`) the identity its live
// names call for; true when any changed (the policy must be written).
bool Agent::fqdn_update_identities_locked(const std::set<std::string>* only) {
  bool changed = false;
  for (auto& [ip, e] : fqdn_cache_) {
    if (only != nullptr && only->count(ip) == 0) continue;
    std::set<std::string> keys;
    for (const auto& [key, m] : fqdn_selectors_) {
      for (const auto& [name, until] : e.names) {
        if (m.matches(name)) keys.insert(key);
      }
    }
    if (keys == e.keys) continue;
    const uint32_t old = e.identity;
    e.identity = 0;
    e.keys = keys;
    if (!keys.empty()) {
      auto prefix = policy::parse_prefix(ip + "/32");
      if (prefix) {
        policy::LabelSet labels = policy::cidr_labels(prefix->prefix);
        for (const auto& k : keys) labels.add(policy::Label{std::string(policy::kSourceFqdn), k, ""});
        if (auto id = cidr_identities_.allocate(labels)) {
          e.identity = id->id;
          engine_->upsert_identity(*id);
        } else {
          errors_["fqdn " + ip] = id.error().str();
        }
      }
    }
    if (old != 0) {
      engine_->remove_identity(old);
      (void)cidr_identities_.release(old);
    }
    changed = true;
  }
  return changed;
}

// Addresses with a live connection from a pod of this node (conntrack):
// their names do not expire while it lasts (Cilium keeps them too).
std::set<uint32_t> Agent::fqdn_live_destinations_locked() {
  std::set<uint32_t> out;
  if (!dp_) return out;
  auto entries = dp_->conntrack().dump();
  if (!entries) return out;
  const uint64_t now = datapath::monotonic_now_ns();
  for (const auto& e : *entries) {
    const auto& v = e.value;
    const bool closed = (v.flags & (AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING)) ==
                        (AXON_CT_F_TX_CLOSING | AXON_CT_F_RX_CLOSING);
    if (v.expires_ns > now && !closed && (v.flags & AXON_CT_F_EGRESS)) out.insert(e.key.daddr);
  }
  return out;
}

void Agent::fqdn_gc() {
  const auto now = std::chrono::system_clock::now();
  std::lock_guard lock(mu_);
  if (!engine_ || fqdn_cache_.empty()) return;
  bool due = false;
  for (const auto& [ip, e] : fqdn_cache_) {
    for (const auto& [name, until] : e.names) due = due || until <= now;
  }
  if (!due) return;
  const auto live = fqdn_live_destinations_locked();
  bool expired = false;
  for (auto it = fqdn_cache_.begin(); it != fqdn_cache_.end();) {
    auto& names = it->second.names;
    in_addr a{};
    const bool in_use = ::inet_pton(AF_INET, it->first.c_str(), &a) == 1 && live.count(a.s_addr) != 0;
    for (auto n = names.begin(); n != names.end();) {
      if (n->second <= now && in_use) {
        n->second = now + std::chrono::seconds(1);  // looked at again in a second
        ++n;
      } else if (n->second <= now) {
        n = names.erase(n);
        expired = true;
      } else {
        ++n;
      }
    }
    if (!names.empty()) {
      ++it;
      continue;
    }
    if (it->second.identity != 0) {
      engine_->remove_identity(it->second.identity);
      (void)cidr_identities_.release(it->second.identity);
    }
    it = fqdn_cache_.erase(it);
  }
  if (expired) {
    fqdn_update_identities_locked(nullptr);
    policy_write_locked();
  }
}

std::vector<FqdnCacheEntry> Agent::fqdn_cache() const {
  std::lock_guard lock(mu_);
  std::vector<FqdnCacheEntry> out;
  for (const auto& [ip, e] : fqdn_cache_) {
    for (const auto& [name, until] : e.names) {
      std::vector<std::string> selectors(e.keys.begin(), e.keys.end());
      out.push_back({name, ip, until, e.identity, std::move(selectors), e.source});
    }
  }
  std::sort(out.begin(), out.end(), [](const FqdnCacheEntry& a, const FqdnCacheEntry& b) {
    return std::tie(a.name, a.ip) < std::tie(b.name, b.ip);
  });
  return out;
}

}  // namespace axon::agent
