#include "axon/hubble/flow_decoder.h"

#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <chrono>

namespace axon::hubble {
namespace {

constexpr std::array<std::string_view, 11> kReservedIdentities = {
    "unknown", "host",           "world",   "unmanaged",  "health",     "init",
    "remote-node", "kube-apiserver", "ingress", "world-ipv4", "world-ipv6"};

constexpr std::array<std::string_view, 14> kTracePoints = {
    "to-endpoint",  "to-proxy",     "to-host",      "to-stack",     "to-overlay",
    "from-endpoint", "from-proxy",  "from-host",    "from-stack",   "from-overlay",
    "from-network", "to-network",   "from-crypto",  "to-crypto"};

bool has_ports(uint8_t proto) {
  return proto == IPPROTO_TCP || proto == IPPROTO_UDP || proto == IPPROTO_SCTP;
}

flow::TCPFlags tcp_flags(uint8_t bits) {
  flow::TCPFlags f;
  f.set_fin(bits & 0x01);
  f.set_syn(bits & 0x02);
  f.set_rst(bits & 0x04);
  f.set_psh(bits & 0x08);
  f.set_ack(bits & 0x10);
  f.set_urg(bits & 0x20);
  f.set_ece(bits & 0x40);
  f.set_cwr(bits & 0x80);
  return f;
}

void set_time(google::protobuf::Timestamp* ts, std::chrono::system_clock::time_point t) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
  int64_t secs = ns / 1000000000;
  int64_t nanos = ns % 1000000000;
  if (nanos < 0) {
    nanos += 1000000000;
    --secs;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(nanos));
}

}  // namespace

std::optional<std::string_view> reserved_identity_name(uint32_t identity) {
  if (identity < kReservedIdentities.size()) return kReservedIdentities[identity];
  return std::nullopt;
}

std::optional<uint32_t> reserved_identity_number(std::string_view name) {
  for (size_t i = 0; i < kReservedIdentities.size(); ++i) {
    if (kReservedIdentities[i] == name) return static_cast<uint32_t>(i);
  }
  return std::nullopt;
}

std::vector<std::string> reserved_identity_names() {
  return {kReservedIdentities.begin(), kReservedIdentities.end()};
}

std::string trace_point_name(uint32_t raw_point) {
  if (raw_point < kTracePoints.size()) return std::string(kTracePoints[raw_point]);
  return std::to_string(raw_point);
}

std::optional<uint32_t> trace_point_number(std::string_view name) {
  for (size_t i = 0; i < kTracePoints.size(); ++i) {
    if (kTracePoints[i] == name) return static_cast<uint32_t>(i);
  }
  return std::nullopt;
}

std::string tcp_flags_text(const flow::TCPFlags& f) {
  std::string out;
  auto add = [&](bool set, const char* name) {
    if (!set) return;
    if (!out.empty()) out += ", ";
    out += name;
  };
  add(f.syn(), "SYN");
  add(f.ack(), "ACK");
  add(f.rst(), "RST");
  add(f.fin(), "FIN");
  add(f.psh(), "PSH");
  add(f.urg(), "URG");
  add(f.ece(), "ECE");
  add(f.cwr(), "CWR");
  add(f.ns(), "NS");
  return out;
}

std::string icmpv4_text(uint8_t type, uint8_t code) {
  struct TypeInfo {
    uint8_t type;
    const char* name;
    std::vector<const char*> codes;  // by code; empty: the type has no codes
  };
  static const std::vector<TypeInfo> kTypes = {
      {0, "EchoReply", {}},
      {3,
       "DestinationUnreachable",
       {"Net", "Host", "Protocol", "Port", "FragmentationNeeded", "SourceRoutingFailed",
        "NetUnknown", "HostUnknown", "SourceIsolated", "NetAdminProhibited", "HostAdminProhibited",
        "NetTOS", "HostTOS", "CommAdminProhibited", "HostPrecedence", "PrecedenceCutoff"}},
      {4, "SourceQuench", {}},
      {5, "Redirect", {"Network", "Host", "TOS+Network", "TOS+Host"}},
      {8, "EchoRequest", {}},
      {9, "RouterAdvertisement", {}},
      {10, "RouterSolicitation", {}},
      {11, "TimeExceeded", {"TTLExceeded", "FragmentReassemblyTimeExceeded"}},
      {12, "ParameterProblem", {"PointerIndicatesError", "MissingOption", "BadLength"}},
      {13, "TimestampRequest", {}},
      {14, "TimestampReply", {}},
      {15, "InfoRequest", {}},
      {16, "InfoReply", {}},
      {17, "AddressMaskRequest", {}},
      {18, "AddressMaskReply", {}},
  };
  for (const auto& t : kTypes) {
    if (t.type != type) continue;
    if (t.codes.empty()) {
      return code == 0 ? t.name : std::string(t.name) + "(Code: " + std::to_string(code) + ")";
    }
    if (code < t.codes.size()) return std::string(t.name) + "(" + t.codes[code] + ")";
    return std::string(t.name) + "(Code: " + std::to_string(code) + ")";
  }
  return std::to_string(type) + "(" + std::to_string(code) + ")";
}

FlowDecoder::FlowDecoder(FlowDecoderConfig config, const FlowEnricher* enricher)
    : config_(std::move(config)),
      enricher_(enricher),
      rng_(config_.uuid_seed != 0 ? config_.uuid_seed : std::random_device{}()) {}

std::string FlowDecoder::uuid() {
  // A version 4 (random) UUID, as Hubble gives every flow.
  uint64_t hi = rng_(), lo = rng_();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 32; ++i) {
    uint64_t word = i < 16 ? hi : lo;
    int shift = 60 - 4 * (i % 16);
    out += kHex[(word >> shift) & 0xf];
    if (i == 7 || i == 11 || i == 15 || i == 19) out += '-';
  }
  return out;
}

void FlowDecoder::fill_endpoint(flow::Endpoint* ep, Ipv4 ip, uint32_t identity,
                                uint32_t local_id) const {
  ep->set_identity(identity);
  ep->set_id(local_id);
  const FlowEndpoint* info = enricher_ != nullptr ? enricher_->endpoint_by_ip(ip) : nullptr;
  const std::vector<std::string>* labels = nullptr;
  if (info) {
    if (info->id != 0) ep->set_id(info->id);
    if (identity == 0) ep->set_identity(info->identity);
    ep->set_cluster_name(info->cluster_name);
    ep->set_namespace_(info->pod_namespace);
    ep->set_pod_name(info->pod_name);
    if (!info->labels.empty()) labels = &info->labels;
    for (const auto& w : info->workloads) {
      auto* out = ep->add_workloads();
      out->set_kind(w.kind);
      out->set_name(w.name);
    }
  }
  if (ep->cluster_name().empty() && !ep->pod_name().empty()) {
    ep->set_cluster_name(config_.cluster_name);
  }
  if (!labels && enricher_ != nullptr) labels = enricher_->identity_labels(ep->identity());
  if (labels && !labels->empty()) {
    // Hubble sorts them; an enricher gives them sorted (checked: a copy
    // sorted here otherwise).
    if (std::is_sorted(labels->begin(), labels->end())) {
      for (const auto& l : *labels) ep->add_labels(l);
    } else {
      std::vector<std::string> sorted = *labels;
      std::sort(sorted.begin(), sorted.end());
      for (auto& l : sorted) ep->add_labels(std::move(l));
    }
  } else if (auto name = reserved_identity_name(ep->identity()); name && ep->identity() != 0) {
    ep->add_labels("reserved:" + std::string(*name));
  }
}

void FlowDecoder::fill_l7(flow::Flow& f, std::chrono::system_clock::time_point time, bool forwarded,
                          bool ingress, bool reply, uint16_t proxy_port, Ipv4 client, Ipv4 server,
                          uint16_t cport, uint16_t sport, uint32_t client_id, uint32_t server_id,
                          bool udp) {
  set_time(f.mutable_time(), time);
  f.set_uuid(uuid());
  f.set_type(flow::L7);
  f.set_node_name(config_.node_name);
  for (const auto& l : config_.node_labels) f.add_node_labels(l);
  f.mutable_event_type()->set_type(kMessageTypeL7);
  f.set_verdict(forwarded ? flow::FORWARDED : flow::DROPPED);
  f.set_traffic_direction(ingress ? flow::INGRESS : flow::EGRESS);
  f.mutable_is_reply()->set_value(reply);
  f.set_reply(reply);
  f.set_proxy_port(proxy_port);
  const Ipv4 src = reply ? server : client, dst = reply ? client : server;
  auto* ip = f.mutable_ip();
  ip->set_source(src.str());
  ip->set_destination(dst.str());
  ip->set_ipversion(flow::IPv4);
  const uint16_t from = reply ? sport : cport, to = reply ? cport : sport;
  if (udp) {
    f.mutable_l4()->mutable_udp()->set_source_port(from);
    f.mutable_l4()->mutable_udp()->set_destination_port(to);
  } else {
    f.mutable_l4()->mutable_tcp()->set_source_port(from);
    f.mutable_l4()->mutable_tcp()->set_destination_port(to);
  }
  fill_endpoint(f.mutable_source(), src, reply ? server_id : client_id, 0);
  fill_endpoint(f.mutable_destination(), dst, reply ? client_id : server_id, 0);
}

std::pair<flow::Flow, flow::Flow> FlowDecoder::decode_http(const HttpEvent& e) {
  std::pair<flow::Flow, flow::Flow> out;
  decode_http(e, out.first, out.second);
  return out;
}

void FlowDecoder::decode_http(const HttpEvent& e, flow::Flow& request, flow::Flow& reply) {
  for (int i = 0; i < 2; ++i) {
    const bool response = i == 1;
    flow::Flow& f = response ? reply : request;
    fill_l7(f, response ? e.time + std::chrono::duration_cast<std::chrono::system_clock::duration>(e.latency) : e.time,
            e.forwarded, e.ingress, response, e.proxy_port, e.src, e.dst, e.sport, e.dport,
            e.src_identity, e.dst_identity, false);
    auto* l7 = f.mutable_l7();
    l7->set_type(response ? flow::RESPONSE : flow::REQUEST);
    if (response) l7->set_latency_ns(static_cast<uint64_t>(e.latency.count()));
    auto* http = l7->mutable_http();
    http->set_method(e.method);
    http->set_url(e.url);
    http->set_protocol(e.protocol);
    if (response) http->set_code(e.code);
    for (const auto& [k, v] : e.headers) {
      auto* h = http->add_headers();
      h->set_key(k);
      h->set_value(v);
    }
    f.set_summary(e.protocol + " " + (response ? std::to_string(e.code) + " " +
                                                     std::to_string(e.latency.count() / 1000000) +
                                                     "ms (" + e.method + " " + e.url + ")"
                                               : e.method + " " + e.url));
  }
}

flow::Flow FlowDecoder::decode_dns(const DnsEvent& e) {
  flow::Flow f;
  decode_dns(e, f);
  return f;
}

void FlowDecoder::decode_dns(const DnsEvent& e, flow::Flow& f) {
  fill_l7(f, e.time, e.forwarded, false, e.response, e.proxy_port, e.src, e.dst, e.sport, e.dport,
          e.src_identity, e.dst_identity, e.udp);
  auto* l7 = f.mutable_l7();
  l7->set_type(e.response ? flow::RESPONSE : flow::REQUEST);
  if (e.response) l7->set_latency_ns(static_cast<uint64_t>(e.latency.count()));
  auto* dns = l7->mutable_dns();
  dns->set_query(e.query);
  dns->add_qtypes(e.qtype);
  dns->set_observation_source("proxy");
  std::string summary;
  if (e.response) {
    dns->set_rcode(e.rcode);
    dns->set_ttl(e.ttl);
    for (const auto& ip : e.ips) dns->add_ips(ip);
    for (const auto& c : e.cnames) dns->add_cnames(c);
    for (const auto& t : e.rrtypes) dns->add_rrtypes(t);
    std::string ips;
    for (const auto& ip : e.ips) ips += (ips.empty() ? "" : ",") + ip;
    summary = e.rcode != 0 ? "DNS Answer RCode: " + e.rcode_name
                           : "DNS Answer \"" + ips + "\" TTL: " + std::to_string(e.ttl);
    summary += " (Proxy " + e.query + " " + e.qtype + ")";
  } else {
    summary = "DNS Query " + e.query + " " + e.qtype;
  }
  f.set_summary(summary);
}

flow::Flow FlowDecoder::decode(const Event& e) {
  flow::Flow f;
  decode(e, &f);
  return f;
}

void FlowDecoder::decode(const Event& e, flow::Flow* f) {
  f->Clear();
  set_time(f->mutable_time(), e.time);
  f->set_uuid(uuid());
  f->set_type(flow::L3_L4);
  f->set_node_name(config_.node_name);
  for (const auto& l : config_.node_labels) f->add_node_labels(l);

  const bool drop = e.type == EventType::drop;
  auto* et = f->mutable_event_type();
  et->set_type(static_cast<int32_t>(e.type));
  et->set_sub_type(drop ? e.drop_reason : e.trace_point);
  if (drop) {
    f->set_verdict(flow::DROPPED);
    f->set_drop_reason(e.drop_reason);
    f->set_drop_reason_desc(flow::DropReason_IsValid(e.drop_reason)
                                ? static_cast<flow::DropReason>(e.drop_reason)
                                : flow::DROP_REASON_UNKNOWN);
  } else {
    f->set_verdict(flow::Verdict_IsValid(e.verdict) ? static_cast<flow::Verdict>(e.verdict)
                                                    : flow::VERDICT_UNKNOWN);
    f->set_trace_observation_point(
        e.trace_point == AXON_TRACE_TO_ENDPOINT
            ? flow::TO_ENDPOINT
            : (flow::TraceObservationPoint_IsValid(e.trace_point)
                   ? static_cast<flow::TraceObservationPoint>(e.trace_point)
                   : flow::UNKNOWN_POINT));
  }
  if (flow::TrafficDirection_IsValid(e.direction)) {
    f->set_traffic_direction(static_cast<flow::TrafficDirection>(e.direction));
  }
  if (flow::TraceReason_IsValid(e.trace_reason)) {
    f->set_trace_reason(static_cast<flow::TraceReason>(e.trace_reason));
  }
  // Hubble's rule: whether a packet is a reply is known when the datapath
  // knew the connection (a trace reason); a drop before the conntrack
  // lookup leaves it null, printed as "<>".
  if (e.trace_reason != AXON_TRACE_REASON_UNKNOWN) {
    f->mutable_is_reply()->set_value(e.is_reply);
    f->set_reply(e.is_reply);
  }
  f->set_policy_match_type(e.match_type);
  f->set_proxy_port(e.proxy_port);
  if (e.ifindex != 0) f->mutable_interface()->set_index(e.ifindex);

  const uint8_t proto = e.orig.protocol;
  const bool has_ip = e.orig.saddr.addr != 0 || e.orig.daddr.addr != 0 || proto != 0;
  if (!has_ip) {
    // A frame the datapath did not parse as IPv4: only IPv6 is dropped so
    // (139), or a frame too short to parse.
    f->set_summary(drop && e.drop_reason == AXON_DROP_UNSUPPORTED_L3 ? "IPv6" : "Ethernet");
    return;
  }

  const Ipv4 src = e.orig.saddr, dst = e.xlated.daddr;
  auto* ip = f->mutable_ip();
  ip->set_source(src.str());
  ip->set_destination(dst.str());
  ip->set_ipversion(flow::IPv4);
  if (e.xlated.saddr != e.orig.saddr) ip->set_source_xlated(e.xlated.saddr.str());

  const uint16_t sport = e.orig.sport, dport = e.xlated.dport;
  switch (proto) {
    case IPPROTO_TCP: {
      auto* tcp = f->mutable_l4()->mutable_tcp();
      tcp->set_source_port(sport);
      tcp->set_destination_port(dport);
      *tcp->mutable_flags() = tcp_flags(e.tcp_flags);
      f->set_summary("TCP Flags: " + tcp_flags_text(tcp->flags()));
      break;
    }
    case IPPROTO_UDP: {
      auto* udp = f->mutable_l4()->mutable_udp();
      udp->set_source_port(sport);
      udp->set_destination_port(dport);
      f->set_summary("UDP");
      break;
    }
    case IPPROTO_SCTP: {
      auto* sctp = f->mutable_l4()->mutable_sctp();
      sctp->set_source_port(sport);
      sctp->set_destination_port(dport);
      f->set_summary("SCTP");
      break;
    }
    case IPPROTO_ICMP: {
      auto* icmp = f->mutable_l4()->mutable_icmpv4();
      icmp->set_type(e.icmp_type);
      icmp->set_code(e.icmp_code);
      f->set_summary("ICMPv4 " + icmpv4_text(e.icmp_type, e.icmp_code));
      break;
    }
    default:
      f->set_summary("IPv4");
      break;
  }

  // The endpoint the event was seen at is the source of egress traffic and
  // the destination of ingress traffic.
  const bool egress = e.direction == AXON_DIR_EGRESS;
  fill_endpoint(f->mutable_source(), src, e.src_identity, egress ? e.endpoint_id : 0);
  fill_endpoint(f->mutable_destination(), dst, e.dst_identity, egress ? 0 : e.endpoint_id);

  if (enricher_ == nullptr) return;
  for (auto& n : enricher_->dns_names(src)) f->add_source_names(std::move(n));
  for (auto& n : enricher_->dns_names(dst)) f->add_destination_names(std::move(n));
  if (has_ports(proto)) {
    // A request to a Service names it by its frontend (orig, before DNAT; a
    // drop for want of a backend was never translated); a reverse-NATed
    // reply carries the frontend as its translated source.
    if (auto svc = enricher_->service_by_frontend(e.orig.daddr, e.orig.dport, proto)) {
      auto* s = f->mutable_destination_service();
      s->set_namespace_(svc->pod_namespace);
      s->set_name(svc->name);
    }
    if (e.nat && e.xlated.saddr != e.orig.saddr) {
      if (auto svc = enricher_->service_by_frontend(e.xlated.saddr, e.xlated.sport, proto)) {
        auto* s = f->mutable_source_service();
        s->set_namespace_(svc->pod_namespace);
        s->set_name(svc->name);
      }
    }
  }
}

}  // namespace axon::hubble
