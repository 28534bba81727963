#include "axon/agent/observer.h"

#include <algorithm>
#include <chrono>
#include <map>

#include "axon/base/log.h"
#include "axon/base/strings.h"
#include "axon/datapath/drop_reason.h"
#include "axon/hubble/flow_decoder.h"

namespace axon::agent {
namespace {

// The client and server of a proxied connection, for its L7 event (HTTP or
// DNS); false when an address is not IPv4.
template <typename Event>
bool fill_peers(Event& e, const proxy::ConnectionInfo& c, uint32_t src_identity, uint32_t dst_identity) {
  auto src = datapath::parse_ipv4(c.src_ip);
  auto dst = datapath::parse_ipv4(c.dst_ip);
  if (!src || !dst) return false;
  e.src = *src;
  e.dst = *dst;
  e.sport = c.src_port;
  e.dport = c.dst_port;
  e.src_identity = src_identity;
  e.dst_identity = dst_identity;
  e.proxy_port = c.listener_port;
  return true;
}

}  // namespace

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// "app" -> "k8s:app"; keys that carry a source already keep it.
std::string cilium_label(const std::string& key, const std::string& value) {
  std::string k = key.find(':') == std::string::npos ? "k8s:" + key : key;
  return k + "=" + value;
}

// The workload that owns a pod, as Hubble names it: a ReplicaSet's
// Deployment (the pod-template-hash suffix dropped), else the owner itself.
std::vector<hubble::FlowEndpoint::Workload> workloads_of(const Json& pod) {
  std::vector<hubble::FlowEndpoint::Workload> out;
  for (const auto& o : client::member(pod["metadata"], "ownerReferences")) {
    std::string kind = o.value("kind", ""), name = o.value("name", "");
    if (kind == "ReplicaSet") {
      std::string hash = client::member(pod["metadata"], "labels").value("pod-template-hash", "");
      if (!hash.empty() && name.ends_with("-" + hash)) {
        kind = "Deployment";
        name = name.substr(0, name.size() - hash.size() - 1);
      }
    }
    if (!name.empty()) out.push_back({kind, name});
  }
  return out;
}

// What the decoder asks, from snapshots the event thread refreshes (so
// decoding never waits on the agent's lock or the store).
class AgentEnricher final : public hubble::FlowEnricher {
 public:
  explicit AgentEnricher(Agent& agent) : agent_(agent) {}

  // Refreshes when older than `max_age`.
  void refresh(Clock::duration max_age) const {
    auto now = Clock::now();
    if (now - refreshed_ < max_age) return;
    refreshed_ = now;
    std::map<uint32_t, uint32_t> local;  // ip -> endpoint id
    for (const auto& ep : agent_.endpoints()) {
      if (auto ip = datapath::parse_ipv4(ep.ip)) local[ip->addr] = ep.id;
    }
    identities_.clear();
    for (const auto& [id, labels] : agent_.identities()) {
      auto& l = identities_[id];
      for (const auto& [k, v] : labels) l.push_back(cilium_label(k, v));
      std::sort(l.begin(), l.end());  // as flows carry them
    }
    services_.clear();
    for (const auto& s : agent_.services()) {
      auto slash = s.name.find('/');
      services_[s.service.key] =
          slash == std::string::npos
              ? hubble::FlowService{"", s.name}
              : hubble::FlowService{s.name.substr(0, slash), s.name.substr(slash + 1)};
    }
    // The agent's cache of the store's pods (kept by watching): no request.
    pods_.clear();
    for (const auto& pod : agent_.pods()) {
      auto ip = datapath::parse_ipv4(client::member(pod, "status").value("podIP", ""));
      if (!ip || client::member(pod["spec"], "hostNetwork").is_boolean()) continue;
      hubble::FlowEndpoint ep;
      ep.pod_namespace = pod["metadata"].value("namespace", "");
      ep.pod_name = pod["metadata"].value("name", "");
      ep.cluster_name = agent_.config().cluster;
      ep.workloads = workloads_of(pod);
      if (auto it = local.find(ip->addr); it != local.end()) ep.id = it->second;
      pods_[ip->addr] = std::move(ep);
    }
  }

  const hubble::FlowEndpoint* endpoint_by_ip(datapath::Ipv4 ip) const override {
    auto it = pods_.find(ip.addr);
    if (it == pods_.end()) {
      refresh(250ms);  // a pod newer than the snapshot
      it = pods_.find(ip.addr);
      if (it == pods_.end()) return nullptr;
    }
    return &it->second;
  }
  const std::vector<std::string>* identity_labels(uint32_t identity) const override {
    auto it = identities_.find(identity);
    return it == identities_.end() ? nullptr : &it->second;
  }
  std::optional<hubble::FlowService> service_by_frontend(datapath::Ipv4 vip, uint16_t port,
                                                           uint8_t protocol) const override {
    auto it = services_.find({vip, port, protocol});
    if (it == services_.end()) return std::nullopt;
    return it->second;
  }

 private:
  Agent& agent_;
  mutable Clock::time_point refreshed_{};
  mutable std::map<uint32_t, hubble::FlowEndpoint> pods_;
  mutable std::map<uint32_t, std::vector<std::string>> identities_;
  mutable std::map<datapath::ServiceKey, hubble::FlowService> services_;
};

// ":4244" -> "0.0.0.0:4244" (gRPC wants a host); "" stays "".
std::string listen_target(const std::string& address) {
  if (address.starts_with(":")) return "0.0.0.0" + address;
  return address;
}

}  // namespace

DatapathMetrics::DatapathMetrics(hubble::MetricsRegistry& r)
    : forward_packets_(r.counter("axon_forward_count_total",
                                 "Packets the datapath passed, per direction", {"direction"})),
      forward_bytes_(r.counter("axon_forward_bytes_total",
                               "Bytes the datapath passed, per direction", {"direction"})),
      drop_packets_(r.counter("axon_drop_count_total",
                              "Packets the datapath dropped, per reason and direction",
                              {"reason", "direction"})),
      drop_bytes_(r.counter("axon_drop_bytes_total",
                            "Bytes the datapath dropped, per reason and direction",
                            {"reason", "direction"})),
      host_routed_(r.counter("axon_datapath_host_routed_packets_total",
                             "Packets passed straight into a pod of this node (eBPF host "
                             "routing), past the node's IP stack")),
      events_lost_(r.counter("axon_datapath_events_lost_total",
                             "Datapath events lost to a full ring buffer")),
      store_requests_(r.counter("axon_store_requests_total",
                                "Requests the agent made of the cluster store to follow it: "
                                "lists (at start, and again when a watch's version was gone) "
                                "and watches opened",
                                {"verb"})),
      store_events_(r.counter("axon_store_watch_events_total",
                              "Changes the agent's watches delivered")),
      store_errors_(r.counter("axon_store_errors_total",
                              "Failed lists and watches of the cluster store (retried with "
                              "backoff)")) {}

void DatapathMetrics::set_store(const client::Informer::Stats& st) {
  store_requests_.set({"list"}, static_cast<double>(st.lists));
  store_requests_.set({"watch"}, static_cast<double>(st.watches));
  store_events_.set({}, static_cast<double>(st.events));
  store_errors_.set({}, static_cast<double>(st.errors));
}

void DatapathMetrics::set(const datapath::Stats& st) {
  for (const auto& [key, count] : st.packets) {
    const auto& [dir, reason] = key;
    // AXON_DIR_* are Hubble's TrafficDirection values (the flow decoder's too).
    const std::string direction =
        flow::TrafficDirection_Name(static_cast<flow::TrafficDirection>(dir));
    if (reason == 0) {
      forward_packets_.set({direction}, static_cast<double>(count.packets));
      forward_bytes_.set({direction}, static_cast<double>(count.bytes));
    } else {
      const std::string text = datapath::drop_reason_text(reason);
      drop_packets_.set({text, direction}, static_cast<double>(count.packets));
      drop_bytes_.set({text, direction}, static_cast<double>(count.bytes));
    }
  }
  host_routed_.set({}, static_cast<double>(st.host_routed));
  events_lost_.set({}, static_cast<double>(st.events_lost));
}

FlowObserver::FlowObserver(Agent& agent) : agent_(agent) {}

FlowObserver::~FlowObserver() {
  stop();
}

Status FlowObserver::start() {
  const auto& c = agent_.config();
  if (!c.hubble) {
    log::info("hubble is off (enable-hubble): no flow observer");
    return {};
  }
  ring_ = std::make_shared<hubble::FlowRing>(c.hubble_buffer_capacity);
  service_ = std::make_unique<hubble::ObserverService>(ring_, hubble::ObserverOptions{c.node, ""});
  std::vector<std::string> addresses = {"unix://" + socket()};
  if (auto tcp = listen_target(c.hubble_listen_address); !tcp.empty()) addresses.push_back(tcp);
  auto server = hubble::FlowServer::start({service_.get()}, addresses);
  if (!server && addresses.size() > 1) {
    log::warn("flow API on {}: {}; serving the unix socket only", addresses[1],
              server.error().str());
    addresses.pop_back();
    server = hubble::FlowServer::start({service_.get()}, addresses);
  }
  if (!server) return server.error();
  server_ = std::move(*server);
  metrics_ = std::make_unique<hubble::FlowMetrics>(registry_);
  datapath_metrics_ = std::make_unique<DatapathMetrics>(registry_);
  auto http = hubble::MetricsHttpServer::start(registry_, kMetricsAddress, [this] {
    metrics_->set_ring(ring_->stats());
    if (const auto* dp = agent_.datapath()) {
      if (auto st = dp->stats()) datapath_metrics_->set(*st);
      datapath_metrics_->set_store(agent_.watch_stats());
    }
  });
  if (http) {
    metrics_server_ = std::move(*http);
  } else {
    log::warn("flow metrics on {}: {}", kMetricsAddress, http.error().str());
  }
  agent_.set_l7_sink([this](const proxy::RequestRecord& r) {
    hubble::HttpEvent e;
    e.time = std::chrono::system_clock::now() -
             std::chrono::duration_cast<std::chrono::system_clock::duration>(r.latency);
    if (!fill_peers(e, r.connection, r.src_identity, r.dst_identity)) return;
    e.ingress = r.ingress;
    e.method = r.method;
    e.url = r.url;
    e.protocol = r.protocol;
    e.headers = r.headers;
    e.code = r.code;
    e.forwarded = r.forwarded;
    e.latency = r.latency;
    std::lock_guard lock(http_mu_);
    if (http_events_.size() < 65536) http_events_.push_back(std::move(e));  // else: the ring would drop them anyway
  });
  agent_.set_dns_sink([this](const proxy::DnsExchange& x) {
    hubble::DnsEvent e;
    e.time = std::chrono::system_clock::now();
    if (!fill_peers(e, x.connection, x.src_identity, x.dst_identity)) return;
    e.udp = x.udp;
    e.response = x.response;
    e.forwarded = x.forwarded;
    e.query = x.query;
    e.qtype = proxy::dns_type_name(x.qtype);
    e.rcode = x.rcode;
    e.rcode_name = proxy::dns_rcode_name(x.rcode);
    e.ips = x.ips;
    e.cnames = x.cnames;
    for (auto t : x.rrtypes) e.rrtypes.push_back(proxy::dns_type_name(t));
    e.ttl = x.ttl;
    e.latency = x.latency;
    std::lock_guard lock(http_mu_);
    if (dns_events_.size() < 65536) dns_events_.push_back(std::move(e));
  });
  log::info("flow observer on {} (ring of {} flows)", join(addresses, ", "), c.hubble_buffer_capacity);
  thread_ = std::thread([this] { run(); });
  return {};
}

void FlowObserver::stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  if (ring_) ring_->close();
  if (server_) server_->stop();
  if (metrics_server_) metrics_server_->stop();
}

void FlowObserver::run() {
  const auto& c = agent_.config();
  const datapath::Datapath* dp = nullptr;
  while (!stop_.load() && (dp = agent_.datapath()) == nullptr) std::this_thread::sleep_for(100ms);
  if (dp == nullptr) return;
  auto reader = dp->open_events();
  if (!reader) {
    log::error("flow observer: cannot read datapath events: {}", reader.error().str());
    return;
  }
  AgentEnricher enricher(agent_);
  enricher.refresh(0s);
  hubble::FlowDecoder decoder({c.node, {}, c.cluster, 0}, &enricher);
  uint64_t lost_seen = 0;
  if (auto s = dp->stats()) lost_seen = s->events_lost;  // losses before we started are not ours
  auto last_stats = Clock::now();
  while (!stop_.load()) {
    auto n = reader->poll(200ms, [&](const datapath::Event& e) {
      auto entry = hubble::build_flow_entry([&](flow::Flow& f) { decoder.decode(e, &f); });
      metrics_->observe(*entry);
      ring_->write(std::move(entry));
    });
    if (!n) {
      log::warn("flow observer: reading events: {}", n.error().str());
      std::this_thread::sleep_for(1s);
    }
    std::vector<hubble::HttpEvent> http;
    std::vector<hubble::DnsEvent> dns;
    {
      std::lock_guard lock(http_mu_);
      http.swap(http_events_);
      dns.swap(dns_events_);
    }
    for (const auto& d : dns) {
      auto entry = hubble::build_flow_entry([&](flow::Flow& f) { decoder.decode_dns(d, f); });
      metrics_->observe(*entry);
      ring_->write(std::move(entry));
    }
    for (const auto& h : http) {
      hubble::FlowEntryBuilder request, response;
      decoder.decode_http(h, request.flow(), response.flow());
      for (auto* b : {&request, &response}) {
        auto entry = b->finish();
        metrics_->observe(*entry);
        ring_->write(std::move(entry));
      }
    }
    if (Clock::now() - last_stats >= 1s) {
      last_stats = Clock::now();
      enricher.refresh(2s);
      if (auto s = dp->stats(); s && s->events_lost > lost_seen) {
        auto entry = hubble::make_lost_entry(flow::PERF_EVENT_RING_BUFFER,
                                             s->events_lost - lost_seen,
                                             std::chrono::system_clock::now(), c.node);
        metrics_->observe(*entry);
        ring_->write_lost(flow::PERF_EVENT_RING_BUFFER, s->events_lost - lost_seen,
                          std::chrono::system_clock::now(), c.node);
        lost_seen = s->events_lost;
      }
    }
  }
}

}  // namespace axon::agent
