// Flows for tests: datapath events as the programs report them, a fake
// enricher standing in for the agent's state, fixed flows for goldens, and a
// temporary directory for unix sockets.
#pragma once

#include <netinet/in.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "axon/hubble/flow_decoder.h"
#include "axon/hubble/ring.h"

namespace axon::test {

namespace dp = axon::datapath;

inline dp::Ipv4 ip(const char* text) {
  return *dp::parse_ipv4(text);
}

// 2023-12-01T12:00:00Z plus `ms` milliseconds.
inline std::chrono::system_clock::time_point at_ms(int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::seconds(1701432000)) +
         std::chrono::milliseconds(ms);
}

// A small cluster: client 10.244.1.5 (default), api 10.244.2.7 and
// 10.244.2.8 (production, backends of production/api at 10.96.0.20:80),
// frontend 10.244.1.9 (production).
class FakeEnricher : public hubble::FlowEnricher {
 public:
  FakeEnricher() {
    add("10.244.1.5", {12, 1234, "", "default", "client-6b4b857d98-xk2p9",
                       {"k8s:app=client", "k8s:io.kubernetes.pod.namespace=default"},
                       {{"Deployment", "client"}}});
    add("10.244.2.7", {0, 5678, "", "production", "api-5c6d8f7b9-abcde",
                       {"k8s:app=api", "k8s:io.kubernetes.pod.namespace=production"},
                       {{"Deployment", "api"}}});
    add("10.244.2.8", {0, 5678, "", "production", "api-5c6d8f7b9-fghij",
                       {"k8s:app=api", "k8s:io.kubernetes.pod.namespace=production"},
                       {{"Deployment", "api"}}});
    add("10.244.1.9", {31, 4321, "", "production", "frontend-7d9c-q2w3e",
                       {"k8s:app=frontend", "k8s:io.kubernetes.pod.namespace=production"},
                       {{"Deployment", "frontend"}}});
  }
  const hubble::FlowEndpoint* endpoint_by_ip(dp::Ipv4 a) const override {
    auto it = pods_.find(a.addr);
    return it == pods_.end() ? nullptr : &it->second;
  }
  const std::vector<std::string>* identity_labels(uint32_t id) const override {
    static const std::vector<std::string> world_cidr = {"cidr:1.1.1.0/24", "reserved:world"};
    return id == 9999 ? &world_cidr : nullptr;
  }
  std::optional<hubble::FlowService> service_by_frontend(dp::Ipv4 vip, uint16_t port,
                                                     uint8_t proto) const override {
    if (vip == ip("10.96.0.20") && port == 80 && proto == IPPROTO_TCP)
      return hubble::FlowService{"production", "api"};
    return std::nullopt;
  }
  std::vector<std::string> dns_names(dp::Ipv4 a) const override {
    if (a == ip("1.1.1.1")) return {"one.one.one.one"};
    return {};
  }

 private:
  void add(const char* addr, hubble::FlowEndpoint ep) { pods_[ip(addr).addr] = std::move(ep); }
  std::map<uint32_t, hubble::FlowEndpoint> pods_;
};

struct EventSpec {
  int64_t ms = 0;
  dp::EventType type = dp::EventType::trace;
  uint8_t code = 0;  // drop reason or trace point
  uint8_t direction = AXON_DIR_EGRESS;
  uint8_t trace_reason = AXON_TRACE_REASON_NEW;
  bool reply = false;
  const char* src = "10.244.1.5";
  uint16_t sport = 40000;
  const char* dst = "10.244.2.7";
  uint16_t dport = 8080;
  uint8_t proto = IPPROTO_TCP;
  uint8_t tcp_flags = 0x02;  // SYN
  uint32_t src_identity = 1234, dst_identity = 5678;
  uint32_t endpoint_id = 12;
};

inline dp::Event make_event(const EventSpec& s) {
  dp::Event e;
  e.time = at_ms(s.ms);
  e.type = s.type;
  if (s.type == dp::EventType::drop) {
    e.drop_reason = s.code;
    e.verdict = AXON_VERDICT_DROPPED;
  } else {
    e.trace_point = s.code;
    e.verdict = AXON_VERDICT_FORWARDED;
  }
  e.direction = s.direction;
  e.trace_reason = s.trace_reason;
  e.is_reply = s.reply;
  e.endpoint_id = s.endpoint_id;
  e.src_identity = s.src_identity;
  e.dst_identity = s.dst_identity;
  e.orig = {ip(s.src), ip(s.dst), s.sport, s.dport, s.proto};
  e.xlated = e.orig;
  e.tcp_flags = s.proto == IPPROTO_TCP ? s.tcp_flags : 0;
  return e;
}

// The fixed flows of the output goldens: a connection through a Service and
// its reply, a policy drop, UDP to the world, an ICMP echo. Node "node1".
inline std::vector<flow::Flow> golden_flows() {
  static FakeEnricher enricher;
  hubble::FlowDecoder dec({"node1", {}, "default", 42}, &enricher);
  std::vector<flow::Flow> out;
  // client -> api via the Service (DNAT at from-endpoint)
  auto e = make_event({.ms = 123, .code = AXON_TRACE_FROM_ENDPOINT, .dst = "10.96.0.20", .dport = 80});
  e.xlated.daddr = ip("10.244.2.7");
  e.xlated.dport = 8080;
  e.nat = true;
  out.push_back(dec.decode(e));
  // the reply delivered to the client, reverse-NATed (to-endpoint)
  auto r = make_event({.ms = 125, .code = AXON_TRACE_TO_ENDPOINT, .direction = AXON_DIR_INGRESS,
                       .trace_reason = AXON_TRACE_REASON_REPLY, .reply = true, .src = "10.244.2.7",
                       .sport = 8080, .dst = "10.244.1.5", .dport = 40000, .tcp_flags = 0x12,
                       .src_identity = 5678, .dst_identity = 1234});
  r.xlated.saddr = ip("10.96.0.20");
  r.xlated.sport = 80;
  r.nat = true;
  out.push_back(dec.decode(r));
  // frontend -> api denied by policy (ingress at api)
  out.push_back(dec.decode(make_event({.ms = 1001,
                                       .type = dp::EventType::drop,
                                       .code = AXON_DROP_POLICY_DENIED,
                                       .direction = AXON_DIR_INGRESS,
                                       .trace_reason = AXON_TRACE_REASON_UNKNOWN,
                                       .src = "10.244.1.9",
                                       .sport = 51000,
                                       .src_identity = 4321,
                                       .endpoint_id = 40})));
  // client -> 1.1.1.1:53 UDP (world)
  out.push_back(dec.decode(make_event({.ms = 2000, .code = AXON_TRACE_FROM_ENDPOINT,
                                       .sport = 53212, .dst = "1.1.1.1", .dport = 53,
                                       .proto = IPPROTO_UDP, .dst_identity = 2})));
  // client -> api ping
  auto p = make_event({.ms = 3000, .code = AXON_TRACE_FROM_ENDPOINT, .sport = 7, .dport = 0,
                       .proto = IPPROTO_ICMP});
  p.icmp_type = 8;
  out.push_back(dec.decode(p));
  return out;
}

// A temporary directory, removed with everything in it.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "axon-flows-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path.empty()) std::filesystem::remove_all(path, ec);
  }
  std::string socket(const std::string& name) const { return "unix://" + (path / name).string(); }
};

}  // namespace axon::test
