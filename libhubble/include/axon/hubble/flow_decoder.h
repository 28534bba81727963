// Datapath events -> Hubble flows (proto/flow/flow.proto).
//
// The decoder turns one `Event` of the ring buffer into the `flow::Flow`
// Hubble's clients expect: time, verdict, drop reason (code and enum), IP,
// L4 with TCP flags, both endpoints (identity, namespace, pod, labels,
// workloads), the Service a packet was addressed to or answered from, node,
// direction, observation point, is_reply, event type and the summary text
// the CLI prints. What the event does not carry (names, labels, Services)
// comes from a FlowEnricher: the agent implements it from its own state,
// tests use a fake.
//
// Addresses: `orig` is the packet as it reached the program, `xlated` as it
// left. The flow's source is orig's (the backend of a reverse-NATed reply),
// its destination xlated's (the backend of a DNATed request), so flows name
// the pods that talk; the Service is named in source_service /
// destination_service.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "axon/datapath/events.h"
#include "flow/flow.pb.h"

namespace axon::hubble {

using datapath::Event;
using datapath::EventType;
using datapath::Ipv4;

// What the agent knows about an address.
struct FlowEndpoint {
  uint32_t id = 0;        // endpoint id when the pod is local; 0 otherwise
  uint32_t identity = 0;  // used when the event has none (0)
  std::string cluster_name;
  std::string pod_namespace;
  std::string pod_name;
  std::vector<std::string> labels;  // "k8s:app=api", sorted; empty: identity_labels() is asked
  struct Workload {
    std::string kind;  // "Deployment"
    std::string name;
  };
  std::vector<Workload> workloads;
};

struct FlowService {
  std::string pod_namespace;
  std::string name;
};

// Enrichment for the decoder. Every method has a "know nothing" default, so
// an implementation overrides what it can answer. Called on the decoder's
// thread (the agent's event thread): an implementation that reads state
// other threads write must lock it; calls must be cheap (a map lookup), they
// run once or twice per event.
class FlowEnricher {
 public:
  virtual ~FlowEnricher() = default;
  // A pod (local or remote) by address; null when unknown. The enricher's
  // own (no copy per flow): valid until the next endpoint_by_ip.
  virtual const FlowEndpoint* endpoint_by_ip(Ipv4 /*ip*/) const { return nullptr; }
  // The labels of a security identity ("k8s:app=api", sorted); null when
  // unknown. Valid as endpoint_by_ip's.
  virtual const std::vector<std::string>* identity_labels(uint32_t /*identity*/) const { return nullptr; }
  // The Service whose frontend is vip:port/protocol (IPPROTO_*).
  virtual std::optional<FlowService> service_by_frontend(Ipv4 /*vip*/, uint16_t /*port*/,
                                                         uint8_t /*protocol*/) const {
    return std::nullopt;
  }
  // DNS names of an address (FQDN policy); empty when none.
  virtual std::vector<std::string> dns_names(Ipv4 /*ip*/) const { return {}; }
};

struct FlowDecoderConfig {
  std::string node_name;                // Flow.node_name
  std::vector<std::string> node_labels;  // Flow.node_labels
  std::string cluster_name;             // Endpoint.cluster_name when the enricher has none
  uint64_t uuid_seed = 0;               // 0: random (tests fix it for stable UUIDs)
};

// One HTTP request (and its answer) as the node's L7 proxy saw it: becomes
// two L7 flows, as Cilium's proxy access log does: the request (client to
// server, l7.type REQUEST) and the response (server to client, is_reply,
// RESPONSE, with the status code and the latency). Denied requests (403 from
// the proxy) are DROPPED, the rest FORWARDED.
struct HttpEvent {
  std::chrono::system_clock::time_point time;
  Ipv4 src, dst;  // client, server
  uint16_t sport = 0, dport = 0;
  uint32_t src_identity = 0, dst_identity = 0;
  bool ingress = true;  // held to the server's ingress policy (else the client's egress)
  uint16_t proxy_port = 0;
  std::string method, url, protocol = "HTTP/1.1";
  std::vector<std::pair<std::string, std::string>> headers;
  unsigned code = 0;
  bool forwarded = true;
  std::chrono::nanoseconds latency{0};
};

// A DNS query or its answer at the node's DNS proxy: one L7 flow (l7.dns),
// a query as REQUEST, an answer as RESPONSE (is_reply) with the rcode, the
// addresses and the TTL; a refused query and its REFUSED answer are DROPPED.
struct DnsEvent {
  std::chrono::system_clock::time_point time;
  Ipv4 src, dst;  // the pod, the server it asked
  uint16_t sport = 0, dport = 0;
  bool udp = true;
  uint32_t src_identity = 0, dst_identity = 0;
  uint16_t proxy_port = 0;
  bool response = false;
  bool forwarded = true;
  std::string query;  // trailing dot
  std::string qtype;  // "A"
  unsigned rcode = 0;
  std::string rcode_name;  // "NOERROR"
  std::vector<std::string> ips, cnames, rrtypes;
  uint32_t ttl = 0;
  std::chrono::nanoseconds latency{0};
};

// Not thread-safe: one decoder per event thread.
class FlowDecoder {
 public:
  // `enricher` may be null (flows then carry addresses and identities only);
  // it must outlive the decoder.
  FlowDecoder(FlowDecoderConfig config, const FlowEnricher* enricher);

  // Fills `out` (cleared first) from `e`.
  void decode(const Event& e, flow::Flow* out);
  flow::Flow decode(const Event& e);
  // The request and response flows of an HTTP event (written into empty
  // flows, or returned).
  void decode_http(const HttpEvent& e, flow::Flow& request, flow::Flow& response);
  std::pair<flow::Flow, flow::Flow> decode_http(const HttpEvent& e);
  void decode_dns(const DnsEvent& e, flow::Flow& out);
  flow::Flow decode_dns(const DnsEvent& e);

 private:
  void fill_endpoint(flow::Endpoint* ep, Ipv4 ip, uint32_t identity, uint32_t local_id) const;
  // What every L7 flow has: time, verdict, direction, addresses, ports,
  // endpoints; `reply` swaps the client's and the server's sides.
  void fill_l7(flow::Flow& f, std::chrono::system_clock::time_point time, bool forwarded, bool ingress,
               bool reply, uint16_t proxy_port, Ipv4 client, Ipv4 server, uint16_t cport,
               uint16_t sport, uint32_t client_id, uint32_t server_id, bool udp);
  std::string uuid();

  FlowDecoderConfig config_;
  const FlowEnricher* enricher_;
  std::mt19937_64 rng_;
};

// Reserved security identities by name (Cilium's numbers): 1 "host",
// 2 "world", 6 "remote-node"...; nullopt for other numbers.
std::optional<std::string_view> reserved_identity_name(uint32_t identity);
// The number of a reserved identity's name.
std::optional<uint32_t> reserved_identity_number(std::string_view name);
// Every reserved name, in number order.
std::vector<std::string> reserved_identity_names();

// "SYN, ACK" in Hubble's order (SYN, ACK, RST, FIN, PSH, URG, ECE, CWR, NS).
std::string tcp_flags_text(const flow::TCPFlags& flags);
// "EchoRequest", "DestinationUnreachable(Port)", "TimeExceeded(TTLExceeded)",
// "7(0)" for an unknown type: the names Hubble's summaries use.
std::string icmpv4_text(uint8_t type, uint8_t code);

// Cilium's monitor names of raw trace observation points: 0 "to-endpoint",
// 5 "from-endpoint"...; the decimal number for unknown points.
std::string trace_point_name(uint32_t raw_point);
// The raw point of a name ("to-endpoint" -> 0).
std::optional<uint32_t> trace_point_number(std::string_view name);

// Cilium's monitor message types (CiliumEventType.type).
inline constexpr int32_t kMessageTypeDrop = 1;
inline constexpr int32_t kMessageTypeDebug = 2;
inline constexpr int32_t kMessageTypeCapture = 3;
inline constexpr int32_t kMessageTypeTrace = 4;
inline constexpr int32_t kMessageTypePolicyVerdict = 5;
inline constexpr int32_t kMessageTypeTraceSock = 7;
inline constexpr int32_t kMessageTypeL7 = 129;
inline constexpr int32_t kMessageTypeAgent = 130;

}  // namespace axon::hubble
