// Datapath events -> Hubble flows, on crafted events with a fake enricher.
#include "axon/hubble/flow_decoder.h"

#include <doctest/doctest.h>

#include <regex>

#include "flow_fixtures.h"

using namespace axon::test;
namespace dp = axon::datapath;
namespace hubble = axon::hubble;

TEST_CASE("a policy drop: verdict, reason code and enum, endpoints, summary") {
  FakeEnricher enricher;
  hubble::FlowDecoder dec({"node2", {"kubernetes.io/hostname=node2"}, "default", 1}, &enricher);
  auto f = dec.decode(make_event({.ms = 1001,
                                  .type = dp::EventType::drop,
                                  .code = AXON_DROP_POLICY_DENIED,
                                  .direction = AXON_DIR_INGRESS,
                                  .trace_reason = AXON_TRACE_REASON_UNKNOWN,
                                  .src = "10.244.1.9",
                                  .sport = 51000,
                                  .src_identity = 4321,
                                  .endpoint_id = 40}));
  CHECK(f.verdict() == flow::DROPPED);
  CHECK(f.drop_reason() == 133);
  CHECK(f.drop_reason_desc() == flow::POLICY_DENIED);
  CHECK(f.event_type().type() == 1);
  CHECK(f.event_type().sub_type() == 133);
  CHECK(f.type() == flow::L3_L4);
  CHECK(f.traffic_direction() == flow::INGRESS);
  CHECK(f.trace_observation_point() == flow::UNKNOWN_POINT);
  CHECK_FALSE(f.has_is_reply());  // a drop before conntrack: unknown, printed <>
  CHECK(f.summary() == "TCP Flags: SYN");
  CHECK(f.node_name() == "node2");
  REQUIRE(f.node_labels_size() == 1);
  CHECK(f.ip().source() == "10.244.1.9");
  CHECK(f.ip().destination() == "10.244.2.7");
  CHECK(f.ip().ipversion() == flow::IPv4);
  CHECK(f.l4().tcp().source_port() == 51000);
  CHECK(f.l4().tcp().destination_port() == 8080);
  CHECK(f.l4().tcp().flags().syn());
  CHECK_FALSE(f.l4().tcp().flags().ack());
  // The source is a pod of another node: no endpoint id; the destination is
  // the local endpoint the event was seen at.
  CHECK(f.source().id() == 31);
  CHECK(f.source().identity() == 4321);
  CHECK(f.source().namespace_() == "production");
  CHECK(f.source().pod_name() == "frontend-7d9c-q2w3e");
  CHECK(f.source().labels(0) == "k8s:app=frontend");
  REQUIRE(f.source().workloads_size() == 1);
  CHECK(f.source().workloads(0).kind() == "Deployment");
  CHECK(f.source().workloads(0).name() == "frontend");
  CHECK(f.destination().id() == 40);
  CHECK(f.destination().identity() == 5678);
  CHECK(f.destination().pod_name() == "api-5c6d8f7b9-abcde");
  CHECK(f.destination().cluster_name() == "default");
  CHECK_FALSE(f.has_destination_service());
  CHECK(f.interface().index() == 0);
}

TEST_CASE("a request to a Service names the Service and shows the backend") {
  FakeEnricher enricher;
  hubble::FlowDecoder dec({"node1", {}, "default", 1}, &enricher);
  auto e = make_event({.ms = 5, .code = AXON_TRACE_FROM_ENDPOINT, .dst = "10.96.0.20", .dport = 80});
  e.xlated.daddr = ip("10.244.2.8");
  e.xlated.dport = 8080;
  e.nat = true;
  e.ifindex = 17;
  auto f = dec.decode(e);
  CHECK(f.verdict() == flow::FORWARDED);
  CHECK(f.event_type().type() == 4);
  CHECK(f.event_type().sub_type() == 5);
  CHECK(f.trace_observation_point() == flow::FROM_ENDPOINT);
  CHECK(f.trace_reason() == flow::NEW);
  REQUIRE(f.has_is_reply());
  CHECK_FALSE(f.is_reply().value());
  CHECK(f.ip().destination() == "10.244.2.8");
  CHECK(f.l4().tcp().destination_port() == 8080);
  CHECK(f.destination().pod_name() == "api-5c6d8f7b9-fghij");
  CHECK(f.destination_service().name() == "api");
  CHECK(f.destination_service().namespace_() == "production");
  CHECK_FALSE(f.has_source_service());
  CHECK(f.source().id() == 12);  // the local endpoint, source of egress traffic
  CHECK(f.interface().index() == 17);
}

TEST_CASE("a drop for want of a backend still names the Service") {
  FakeEnricher enricher;
  hubble::FlowDecoder dec({"node1", {}, "", 1}, &enricher);
  auto f = dec.decode(make_event({.type = dp::EventType::drop,
                                  .code = AXON_DROP_NO_SERVICE,
                                  .trace_reason = AXON_TRACE_REASON_UNKNOWN,
                                  .dst = "10.96.0.20",
                                  .dport = 80}));
  CHECK(f.drop_reason_desc() == flow::SERVICE_BACKEND_NOT_FOUND);
  CHECK(f.destination_service().name() == "api");
  CHECK(f.ip().destination() == "10.96.0.20");
}

TEST_CASE("a reply through reverse NAT: is_reply, source Service, TO_ENDPOINT") {
  FakeEnricher enricher;
  hubble::FlowDecoder dec({"node1", {}, "", 1}, &enricher);
  auto e = make_event({.code = AXON_TRACE_TO_ENDPOINT,
                       .direction = AXON_DIR_INGRESS,
                       .trace_reason = AXON_TRACE_REASON_REPLY,
                       .reply = true,
                       .src = "10.244.2.7",
                       .sport = 8080,
                       .dst = "10.244.1.5",
                       .dport = 40000,
                       .tcp_flags = 0x12});
  e.xlated.saddr = ip("10.96.0.20");
  e.xlated.sport = 80;
  e.nat = true;
  auto f = dec.decode(e);
  REQUIRE(f.has_is_reply());
  CHECK(f.is_reply().value());
  CHECK(f.reply());
  CHECK(f.trace_observation_point() == flow::TO_ENDPOINT);
  CHECK(f.event_type().sub_type() == 0);  // raw point: to-endpoint
  CHECK(f.traffic_direction() == flow::INGRESS);
  CHECK(f.ip().source() == "10.244.2.7");
  CHECK(f.ip().source_xlated() == "10.96.0.20");
  CHECK(f.l4().tcp().source_port() == 8080);
  CHECK(f.source_service().name() == "api");
  CHECK(f.summary() == "TCP Flags: SYN, ACK");
  CHECK(f.destination().id() == 12);
}

TEST_CASE("UDP and ICMP summaries; reserved identities get reserved labels") {
  FakeEnricher enricher;
  hubble::FlowDecoder dec({"n", {}, "", 1}, &enricher);
  auto udp = dec.decode(make_event({.dst = "1.1.1.1", .dport = 53, .proto = IPPROTO_UDP,
                                    .dst_identity = 2}));
  CHECK(udp.summary() == "UDP");
  CHECK(udp.l4().udp().destination_port() == 53);
  REQUIRE(udp.destination().labels_size() == 1);
  CHECK(udp.destination().labels(0) == "reserved:world");
  REQUIRE(udp.destination_names_size() == 1);
  CHECK(udp.destination_names(0) == "one.one.one.one");

  auto cidr = dec.decode(make_event({.dst = "1.1.1.1", .dst_identity = 9999}));
  CHECK(cidr.destination().labels_size() == 2);  // from identity_labels()

  auto e = make_event({.proto = IPPROTO_ICMP});
  e.icmp_type = 8;
  CHECK(dec.decode(e).summary() == "ICMPv4 EchoRequest");
  e.icmp_type = 3;
  e.icmp_code = 3;
  CHECK(dec.decode(e).summary() == "ICMPv4 DestinationUnreachable(Port)");
  CHECK(dec.decode(e).l4().icmpv4().type() == 3);
  CHECK(hubble::icmpv4_text(0, 0) == "EchoReply");
  CHECK(hubble::icmpv4_text(11, 0) == "TimeExceeded(TTLExceeded)");
  CHECK(hubble::icmpv4_text(8, 4) == "EchoRequest(Code: 4)");
  CHECK(hubble::icmpv4_text(42, 1) == "42(1)");
}

TEST_CASE("TCP flags text in Hubble's order") {
  flow::TCPFlags f;
  f.set_fin(true);
  f.set_ack(true);
  f.set_psh(true);
  f.set_syn(true);
  CHECK(hubble::tcp_flags_text(f) == "SYN, ACK, FIN, PSH");
}

TEST_CASE("time, UUIDs and the no-enricher case") {
  hubble::FlowDecoder a({"n", {}, "", 7}, nullptr), b({"n", {}, "", 7}, nullptr);
  auto f = a.decode(make_event({.ms = 123}));
  CHECK(f.time().seconds() == 1701432000);
  CHECK(f.time().nanos() == 123000000);
  CHECK(std::regex_match(f.uuid(), std::regex("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-"
                                              "[0-9a-f]{12}")));
  CHECK(b.decode(make_event({})).uuid() == f.uuid());  // same seed, same sequence
  CHECK(a.decode(make_event({})).uuid() != f.uuid());
  // Without an enricher: addresses and identities only.
  CHECK(f.source().pod_name().empty());
  CHECK(f.source().identity() == 1234);
  CHECK(f.source().labels_size() == 0);
}

TEST_CASE("an IPv6 frame dropped unparsed carries no addresses") {
  hubble::FlowDecoder dec({"n", {}, "", 1}, nullptr);
  dp::Event e;
  e.type = dp::EventType::drop;
  e.drop_reason = AXON_DROP_UNSUPPORTED_L3;
  auto f = dec.decode(e);
  CHECK_FALSE(f.has_ip());
  CHECK(f.summary() == "IPv6");
  CHECK(f.drop_reason_desc() == flow::UNSUPPORTED_L3_PROTOCOL);
}

TEST_CASE("reserved identity and trace point names") {
  CHECK(*hubble::reserved_identity_name(6) == "remote-node");
  CHECK(*hubble::reserved_identity_number("kube-apiserver") == 7);
  CHECK_FALSE(hubble::reserved_identity_name(300));
  CHECK(hubble::trace_point_name(0) == "to-endpoint");
  CHECK(hubble::trace_point_name(5) == "from-endpoint");
  CHECK(hubble::trace_point_name(13) == "to-crypto");
  CHECK(hubble::trace_point_name(77) == "77");
  CHECK(*hubble::trace_point_number("to-stack") == 3);
}
