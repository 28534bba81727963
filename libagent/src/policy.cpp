// The agent's policy enforcement: the cluster's policies (CiliumNetworkPolicy,
// CiliumClusterwideNetworkPolicy, NetworkPolicy) and identities go into the
// incremental policy engine; every local endpoint's compiled entries go into
// its policy map in the kernel.
//
//   store --list--> decode_policy --> engine.upsert_policy / remove_policy
//   identities_ (every pod's)      --> engine.upsert_identity / remove_identity
//   endpoints_ (this node's)       --> engine.upsert_endpoint
//   engine.commit() --> endpoint_policy(id) --> datapath policy().replace(id)
//
// Prefixes that policies name (toCIDR, CIDRSet) get node-local identities
// and ipcache entries, so the datapath classifies those addresses.
//
// A new endpoint's policy is written before its programs are attached
// (endpoint_create), so a pod never sends or receives a packet that its
// policy would deny. A policy that fails validation is not enforced (as in
// Cilium) and is reported in the agent's errors.
#include <netinet/in.h>

#include <algorithm>

#include "axon/abi/policy.h"
#include "axon/agent/agent.h"
#include "axon/base/log.h"
#include "axon/policy/decode.h"
#include "axon/policy/evaluate.h"
#include "axon/proxy/http_rules.h"
#include "service_backends.h"

namespace axon::agent {
namespace {

policy::LabelSet label_set(const std::map<std::string, std::string>& labels) {
  policy::LabelSet s;
  for (const auto& [k, v] : labels) {
    std::string source, key;
    policy::split_source(k, "k8s", source, key);
    s.add(policy::Label{source, key, v});
  }
  return s;
}

// Container ports with names, for rules that name ports.
policy::NamedPorts named_ports_of(const Json& pod) {
  policy::NamedPorts out;
  for (const auto& c : client::member(pod, "spec").value("containers", Json::array())) {
    for (const auto& p : c.value("ports", Json::array())) {
      const std::string name = p.value("name", "");
      if (name.empty() || !p.contains("containerPort")) continue;
      auto proto = policy::parse_protocol(p.value("protocol", "TCP"));
      out[name] = policy::NamedPort{proto ? *proto : policy::Protocol::tcp,
                                    static_cast<uint16_t>(p.value("containerPort", 0))};
    }
  }
  return out;
}

}  // namespace

void Agent::policy_upsert_identities_locked() {
  std::set<uint32_t> want;
  for (const auto& [id, labels] : identities_) {
    want.insert(id);
    if (engine_identities_.insert(id).second) engine_->upsert_identity({id, label_set(labels)});
  }
  for (auto it = engine_identities_.begin(); it != engine_identities_.end();) {
    if (want.count(*it)) {
      ++it;
      continue;
    }
    engine_->remove_identity(*it);
    it = engine_identities_.erase(it);
  }
  for (const auto& [c, ep] : endpoints_) {
    auto it = engine_endpoints_.find(ep.id);
    if (it != engine_endpoints_.end() && it->second == ep.identity) continue;
    if (engine_identities_.insert(ep.identity).second)
      engine_->upsert_identity({ep.identity, label_set(ep.labels)});
    policy::Endpoint e;
    e.id = ep.id;
    e.identity = ep.identity;
    if (auto np = named_ports_.find(ep.identity); np != named_ports_.end())
      e.named_ports = np->second;
    engine_->upsert_endpoint(e);
    engine_endpoints_[ep.id] = ep.identity;
  }
  for (auto it = engine_endpoints_.begin(); it != engine_endpoints_.end();) {
    bool live = false;
    for (const auto& [c, ep] : endpoints_) live = live || ep.id == it->first;
    if (live) {
      ++it;
      continue;
    }
    engine_->remove_endpoint(it->first);
    (void)dp_->policy().erase(it->first);
    written_.erase(it->first);
    it = engine_endpoints_.erase(it);
  }
}

void Agent::policy_sync_cidrs_locked() {
  std::map<datapath::Cidr, uint32_t> want;
  for (const auto& id : cidr_identities_.list()) {
    auto prefix = policy::cidr_of(id.labels);
    if (!prefix || prefix->v6) continue;
    auto c = datapath::parse_cidr(policy::to_string(*prefix));
    // An address DNS answers gave (toFQDNs) has its own identity, which
    // carries the CIDR labels too: it wins over the prefix's own.
    const bool learned = std::any_of(id.labels.labels().begin(), id.labels.labels().end(),
                                     [](const policy::Label& l) { return l.source == policy::kSourceFqdn; });
    if (c && (learned || !want.count(*c))) want[*c] = id.id;
  }
  for (const auto& [c, id] : want) {
    auto it = cidr_ipcache_.find(c);
    if (it != cidr_ipcache_.end() && it->second == id) continue;
    if (auto st = dp_->ipcache().upsert(c, id); !st) {
      errors_["ipcache " + c.str()] = st.error().str();
      continue;
    }
    cidr_ipcache_[c] = id;
  }
  for (auto it = cidr_ipcache_.begin(); it != cidr_ipcache_.end();) {
    if (want.count(it->first)) {
      ++it;
      continue;
    }
    // A pod or node address inside the prefix has its own /32 entry.
    (void)dp_->ipcache().erase(it->first);
    it = cidr_ipcache_.erase(it);
  }
}

void Agent::policy_write_locked() {
  // Policies changed: learned addresses may match other toFQDNs selectors.
  if (!fqdn_cache_.empty() && fqdn_refresh_selectors_locked()) fqdn_update_identities_locked(nullptr);
  auto stats = engine_->commit();
  l7_decisions_.clear();  // the proxies ask again
  if (http_proxy_) http_proxy_->policy_changed();
  dns_decisions_.clear();
  policy_sync_cidrs_locked();
  for (auto& [c, ep] : endpoints_) {
    datapath::EndpointPolicy p;
    if (c_.policy_mode != "never") {
      if (const auto* compiled = engine_->endpoint_policy(ep.id)) p = compiled->policy;
      if (c_.policy_mode == "always") p.ingress_enforced = p.egress_enforced = true;
      // As Cilium's allow-localhost (default): the node itself may always
      // reach its pods (the kubelet's probes); an explicit deny still wins.
      policy::add_allow_localhost(p);
    }
    auto it = written_.find(ep.id);
    if (it != written_.end() && it->second == p) continue;
    if (auto st = dp_->policy().replace(ep.id, p); !st) {
      errors_["policy of " + ep.pod_ns + "/" + ep.pod_name] = st.error().str();
      continue;
    }
    errors_.erase("policy of " + ep.pod_ns + "/" + ep.pod_name);
    written_[ep.id] = p;
    ep.ingress_enforced = p.ingress_enforced;
    ep.egress_enforced = p.egress_enforced;
    log::info("policy of {}/{} (endpoint {}): {} entries, ingress {}, egress {}", ep.pod_ns,
              ep.pod_name, ep.id, p.entries.size(),
              p.ingress_enforced ? "enforced" : "open", p.egress_enforced ? "enforced" : "open");
  }
  if (stats.endpoints_updated > 0) {
    log::debug("policy commit: {} endpoints, {} entries changed", stats.endpoints_updated,
               stats.entries_changed());
  }
}

void Agent::sync_policy(const std::vector<Json>& pods) {
  // Read the caches outside the lock: the CNI plugin waits on it.
  std::vector<std::pair<policy::PolicyKind, Json>> objects;
  for (size_t i = 0; i < std::size(kPolicyKinds); ++i) {
    for (auto& o : policy_informers_[i]->list()) objects.emplace_back(kPolicyKinds[i], std::move(o));
  }

  std::lock_guard lock(mu_);
  for (const auto& p : pods) {
    const std::string ip = client::member(p, "status").value("podIP", "");
    if (ip.empty()) continue;
    for (const auto& [c, ep] : endpoints_) {
      if (ep.ip != ip) continue;
      auto ports = named_ports_of(p);
      auto& known = named_ports_[ep.identity];
      if (known != ports) {
        known = ports;
        engine_->set_named_ports(ep.identity, ports);
        engine_endpoints_.erase(ep.id);  // upserted again with its ports
      }
    }
  }
  policy_upsert_identities_locked();

  std::set<policy::PolicyKey> seen;
  for (const auto& [kind, o] : objects) {
    const auto& meta = client::member(o, "metadata");
    policy::PolicyKey key{kind,
                          kind == policy::PolicyKind::cilium_clusterwide_network_policy
                              ? ""
                              : meta.value("namespace", "default"),
                          meta.value("name", "")};
    const std::string what = "policy " + policy::describe(kind, key.ns, key.name);
    const std::string rv = meta.value("resourceVersion", "");
    seen.insert(key);
    if (auto it = policy_versions_.find(key); it != policy_versions_.end() && it->second == rv)
      continue;
    auto doc = policy::document_from_json(o, "", 0);
    std::optional<policy::Policy> decoded;
    std::string problem;
    if (!doc) {
      problem = doc.error().str();
    } else {
      auto d = policy::decode_policy(*doc);
      decoded = std::move(d.policy);
      for (const auto& pr : d.problems) {
        if (pr.severity == Severity::error && problem.empty())
          problem = pr.path + ": " + pr.message;
      }
    }
    if (!decoded) {
      // Not enforced, as in Cilium; `axon status` shows why.
      if (policy_versions_.count(key)) engine_->remove_policy(key);
      policy_versions_.erase(key);
      errors_[what] = "not enforced: " + problem;
      log::warn("{}: not enforced: {}", what, problem);
      continue;
    }
    errors_.erase(what);
    engine_->upsert_policy(std::move(*decoded));
    policy_versions_[key] = rv;
    log::info("{} (resourceVersion {}) loaded", what, rv);
  }
  for (auto it = policy_versions_.begin(); it != policy_versions_.end();) {
    if (seen.count(it->first)) {
      ++it;
      continue;
    }
    engine_->remove_policy(it->first);
    log::info("policy {} removed", policy::describe(it->first.kind, it->first.ns, it->first.name));
    it = policy_versions_.erase(it);
  }
  for (auto it = errors_.begin(); it != errors_.end();) {
    // Errors of policies that are gone.
    bool stale = it->first.starts_with("policy ") && !it->first.starts_with("policy of ");
    if (stale) {
      stale = true;
      for (const auto& k : seen) {
        if (it->first == "policy " + policy::describe(k.kind, k.ns, k.name)) stale = false;
      }
    }
    it = stale ? errors_.erase(it) : std::next(it);
  }
  policies_ = policy_versions_.size();
  policy_write_locked();
}

std::vector<Agent::EndpointPolicyView> Agent::policy_view() const {
  std::lock_guard lock(mu_);
  std::vector<EndpointPolicyView> out;
  for (const auto& [c, ep] : endpoints_) {
    EndpointPolicyView v;
    v.endpoint = ep;
    if (auto it = written_.find(ep.id); it != written_.end()) v.policy = it->second;
    const policy::CompiledPolicy* compiled = engine_ ? engine_->endpoint_policy(ep.id) : nullptr;
    for (const auto& e : v.policy.entries) {
      std::vector<std::string> names;
      if (compiled != nullptr) {
        const auto& ce = compiled->policy.entries;
        if (auto f = std::find(ce.begin(), ce.end(), e); f != ce.end()) {
          for (const auto& o : policy::origins_of(*compiled, static_cast<size_t>(f - ce.begin())))
            names.push_back(policy::to_string(o));
        }
      }
      if (names.empty() && e.identity == policy::reserved::host)
        names.push_back("the node may reach its pods (allow-localhost)");
      v.origins.push_back(std::move(names));
    }
    out.push_back(std::move(v));
  }
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.endpoint.id < b.endpoint.id; });
  return out;
}

std::vector<std::string> Agent::policy_names() const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [k, rv] : policy_versions_) out.push_back(policy::describe(k.kind, k.ns, k.name));
  return out;
}

// ---- the node's L7 proxy (http rules) -------------------------------------

void Agent::start_l7_proxy() {
  if (!c_.l7_proxy) {
    log::info("L7 proxy off (enable-l7-proxy: false): traffic of ports with L7 rules is dropped");
    return;
  }
  const policy::CompileOptions ports;
  // The HTTP proxy: its own process (Cilium's Envoy), restarted when it dies.
  ProxyProcessConfig pc;
  pc.socket = c_.run_dir + "/proxy.sock";
  pc.ports = {ports.http_proxy_port, ports.http_egress_proxy_port};
  pc.socket_mark = AXON_MARK_FROM_PROXY;  // checked by policy, never redirected again
  if (c_.gateway_api) {
    pc.gateway_port = kGatewayProxyPort;
    pc.gateway_tcp_port = kGatewayTcpProxyPort;
    pc.gateway_tls_port = kGatewayTlsProxyPort;
    pc.gateway_passthrough_port = kGatewayPassthroughProxyPort;
  }
  http_proxy_ = std::make_unique<ProxyProcess>(
      pc, [this](const proxy::ConnectionInfo& c) { return decide_l7(c); },
      [this](const proxy::RequestRecord& r) {
        if (l7_sink_) l7_sink_(r);
      });
  if (auto st = http_proxy_->start(); !st) {
    note_error("l7 proxy", st.error().str() + ": traffic of ports with http rules is dropped");
    http_proxy_.reset();
  } else {
    log::info("L7 proxy listening on :{} (ingress http rules) and :{} (egress){}", pc.ports[0], pc.ports[1],
              pc.gateway_port ? ", :" + std::to_string(pc.gateway_port) + ", :" +
                                    std::to_string(pc.gateway_tls_port) + ", :" +
                                    std::to_string(pc.gateway_passthrough_port) + " and :" +
                                    std::to_string(pc.gateway_tcp_port) +
                                    " (Gateway HTTP, HTTPS, TLS passthrough and TCP listeners)"
                              : "");
  }
  proxy::DnsProxyOptions o;
  o.port = ports.dns_proxy_port;
  o.socket_mark = AXON_MARK_FROM_PROXY;
  dns_proxy_ = std::make_unique<proxy::DnsProxy>(
      o, [this](const proxy::ConnectionInfo& c, bool udp) { return decide_dns(c, udp); },
      [this](const proxy::DnsExchange& e) {
        if (dns_sink_) dns_sink_(e);
      },
      [this](const proxy::ConnectionInfo& c, const proxy::DnsDecision&, const proxy::DnsMessage& m) {
        fqdn_learn(c, m);  // before the pod gets the answer
      });
  if (auto st = dns_proxy_->start(); !st) {
    note_error("dns proxy", st.error().str() + ": traffic of ports with dns rules is dropped");
    dns_proxy_.reset();
    return;
  }
  log::info("DNS proxy listening on :{} (dns rules, UDP and TCP)", o.port);
}

std::string Agent::l7_proxy_status() const {
  if (!c_.l7_proxy) return "off (enable-l7-proxy: false): traffic of ports with L7 rules is dropped";
  std::string out;
  if (!http_proxy_) {
    out = ready() ? "http not running: traffic of ports with http rules is dropped; " : "starting; ";
  } else {
    const auto st = http_proxy_->state();
    const auto& ports = http_proxy_->ports();
    out = "http :" + std::to_string(ports[0]) + " (ingress), :" + std::to_string(ports[1]) + " (egress), ";
    if (st.pid == 0) {
      out += "restarting (" + st.last_exit + "; connections wait)";
    } else {
      const auto up = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - st.since);
      out += "pid " + std::to_string(st.pid) + " up " + std::to_string(up.count()) + "s";
      if (!st.connected) out += " (not connected yet: requests wait)";
    }
    if (st.restarts > 0)
      out += ", " + std::to_string(st.restarts) + " restart" + (st.restarts == 1 ? "" : "s") + " (last: " +
             st.last_exit + ")";
    out += ", " + std::to_string(st.requests) + " requests, " + std::to_string(st.denied) + " denied; ";
  }
  if (!dns_proxy_) return out + "dns not running (dropped)";
  const auto st = dns_proxy_->stats();
  return out + "dns :" + std::to_string(dns_proxy_->port()) + ", " + std::to_string(st.queries) +
         " queries, " + std::to_string(st.refused) + " refused";
}

namespace {

// The element a rule origin names, or null (the policy changed meanwhile).
const policy::PeerRule* element_of(const std::vector<policy::Policy>& policies,
                                   const policy::RuleOrigin& o) {
  for (const auto& p : policies) {
    if (p.kind != o.kind || p.ns != o.ns || p.name != o.name) continue;
    for (const auto& r : p.rules) {
      if (r.path != o.rule_path) continue;
      const auto& els = policy::section(r, o.section);
      if (o.element >= 0 && static_cast<size_t>(o.element) < els.size()) return &els[o.element];
    }
  }
  return nullptr;
}

}  // namespace

// The L7 rules of `kind` a pod's policy puts on a flow with a peer, or why
// the flow is denied: the verdict of `policy::evaluate` (as `policy trace`),
// and the rules of every allow element that matched, ORed (Cilium's
// semantics); an L4-only allow of the same flow lets everything through
// (allow_all).
Result<Agent::MatchedL7> Agent::matched_l7_locked(const EndpointInfo& ep, uint32_t peer_id, bool ingress,
                                                  policy::Protocol proto, uint16_t port,
                                                  policy::L7Kind want) const {
  policy::Peer subject{{ep.identity, label_set(ep.labels)}, {}};
  if (auto np = named_ports_.find(ep.identity); np != named_ports_.end())
    subject.named_ports = np->second;
  policy::Peer peer{{peer_id, {}}, {}};
  if (policy::is_reserved(peer_id)) {
    peer.identity.labels = policy::reserved_labels(peer_id);
  } else if (auto it = identities_.find(peer_id); it != identities_.end()) {
    peer.identity.labels = label_set(it->second);
    if (auto np = named_ports_.find(peer_id); np != named_ports_.end()) peer.named_ports = np->second;
  } else if (auto cidr = cidr_identities_.find(peer_id)) {
    peer.identity = *cidr;
  } else {
    return Error("unknown identity " + std::to_string(peer_id));
  }
  std::vector<policy::Policy> policies;
  for (const auto& p : engine_->policies()) policies.push_back(*p);
  const policy::Flow flow{proto, port};
  const auto v = policy::evaluate(policies, ingress ? policy::Direction::ingress : policy::Direction::egress,
                                  subject, peer, flow);
  if (!v.allowed) return Error(std::string(ingress ? "ingress" : "egress") + " denied by policy");
  // A named port is the destination's.
  const auto& port_names = ingress ? subject.named_ports : peer.named_ports;
  MatchedL7 out;
  out.allow_all = v.l7_allow_all || !v.redirected;
  for (const auto& r : v.rules) {
    for (const auto& e : r.elements) {
      if (!e.matched || e.deny || e.l7 != want) continue;
      const policy::PeerRule* el = element_of(policies, e.origin);
      if (el == nullptr) continue;
      for (const auto& pr : el->ports) {
        policy::PeerRule one = *el;
        one.ports = {pr};
        policy::L7Kind kind = policy::L7Kind::none;
        if (!policy::l4_matches(one, flow, port_names, &kind) || kind != want) continue;
        out.rules.http.insert(out.rules.http.end(), pr.rules.http.begin(), pr.rules.http.end());
        out.rules.dns.insert(out.rules.dns.end(), pr.rules.dns.begin(), pr.rules.dns.end());
      }
    }
  }
  return out;
}

Result<std::shared_ptr<const proxy::HttpRuleSet>> Agent::http_rules_locked(
    const EndpointInfo& ep, uint32_t peer_id, bool ingress, uint16_t port) const {
  auto m = matched_l7_locked(ep, peer_id, ingress, policy::Protocol::tcp, port, policy::L7Kind::http);
  if (!m) return m.error();
  return proxy::HttpRuleSet::compile(m->rules.http, m->allow_all);
}

// What a pod's DNS query the datapath redirected to the DNS proxy may ask:
// the pod's egress policy to the server (as decide_l7).
proxy::DnsDecision Agent::decide_dns(const proxy::ConnectionInfo& c, bool udp) {
  proxy::DnsDecision d;
  auto dst = datapath::parse_ipv4(c.dst_ip);
  std::lock_guard lock(mu_);
  if (!engine_ || !dp_ || !dst) {
    d.reason = "agent not ready";
    return d;
  }
  const EndpointInfo* ep = nullptr;
  for (const auto& [id, e] : endpoints_) {
    if (e.ip == c.src_ip) ep = &e;
  }
  if (ep == nullptr) {
    d.reason = "no endpoint " + c.src_ip + " on this node";
    return d;
  }
  d.src_identity = ep->identity;
  d.dst_identity = dp_->ipcache().lookup(*dst);
  const auto key = std::make_tuple(uint16_t(udp ? 1 : 0), ep->ip, d.dst_identity, c.dst_port);
  if (auto it = dns_decisions_.find(key); it != dns_decisions_.end()) return it->second;
  auto m = matched_l7_locked(*ep, d.dst_identity, false, udp ? policy::Protocol::udp : policy::Protocol::tcp,
                             c.dst_port, policy::L7Kind::dns);
  if (!m) {
    d.reason = m.error().str();
    return d;
  }
  auto set = proxy::DnsRuleSet::compile(m->rules.dns, m->allow_all);
  if (!set) {
    d.reason = set.error().str();
    return d;
  }
  d.rules = *set;
  if (dns_decisions_.size() > 65536) dns_decisions_.clear();
  dns_decisions_[key] = d;
  return d;
}

// What a connection the datapath redirected to the HTTP proxy may do. The
// proxy port says the direction: ingress, the destination is a pod of this
// node, held to its ingress policy for the source; egress, the source is a
// pod of this node, held to its egress policy for the destination, and a
// destination on this node to its ingress policy too (the upstream
// connection, from the proxy, is not redirected again). The peer's identity
// is the ipcache's, as the datapath saw it. Anything unknown: deny every
// request.
proxy::Decision Agent::decide_l7(const proxy::ConnectionInfo& c) {
  proxy::Decision d;
  d.ingress = c.listener_port != policy::CompileOptions{}.http_egress_proxy_port;
  // The upstream connection keeps the client's address and port, both ways
  // (lib/proxy.h): the destination's policy and app see the client.
  d.keep_source = true;
  auto src = datapath::parse_ipv4(c.src_ip);
  auto dst = datapath::parse_ipv4(c.dst_ip);
  std::lock_guard lock(mu_);
  if (!engine_ || !dp_ || !src || !dst) {
    d.reason = "agent not ready";
    return d;
  }
  const EndpointInfo* src_ep = nullptr;
  const EndpointInfo* dst_ep = nullptr;
  for (const auto& [id, e] : endpoints_) {
    if (e.ip == c.src_ip) src_ep = &e;
    if (e.ip == c.dst_ip) dst_ep = &e;
  }
  const EndpointInfo* ep = d.ingress ? dst_ep : src_ep;
  if (ep == nullptr) {
    d.reason = "no endpoint " + (d.ingress ? c.dst_ip : c.src_ip) + " on this node";
    return d;
  }
  d.src_identity = d.ingress ? dp_->ipcache().lookup(*src) : ep->identity;
  d.dst_identity = d.ingress ? ep->identity : dp_->ipcache().lookup(*dst);
  const uint32_t peer_id = d.ingress ? d.src_identity : d.dst_identity;
  const auto key = std::make_tuple(c.listener_port, ep->ip, peer_id, c.dst_port);
  if (auto it = l7_decisions_.find(key); it != l7_decisions_.end()) return it->second;
  auto rules = http_rules_locked(*ep, peer_id, d.ingress, c.dst_port);
  if (!rules) {
    d.reason = rules.error().str();
    return d;
  }
  if (!d.ingress && dst_ep != nullptr) {
    auto in = http_rules_locked(*dst_ep, d.src_identity, true, c.dst_port);
    if (!in) {
      d.reason = in.error().str();
      return d;
    }
    d.peer_rules = *in;
  }
  d.rules = *rules;
  if (l7_decisions_.size() > 65536) l7_decisions_.clear();
  l7_decisions_[key] = d;
  return d;
}

}  // namespace axon::agent
