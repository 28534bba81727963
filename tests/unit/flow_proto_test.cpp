// The wire contract with Hubble (../shared/reference/hubble-wire.md): field
// numbers and types, service paths, bytes on the wire, JSON names; and
// round trips through binary and JSON.
#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <map>
#include <string>

#include "axon/hubble/printer.h"
#include "flow_fixtures.h"
#include "observer/observer.grpc.pb.h"

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

namespace {

void check_fields(const Descriptor* d, const std::map<std::string, int>& expected) {
  for (const auto& [name, number] : expected) {
    const FieldDescriptor* f = d->FindFieldByName(name);
    INFO(d->full_name() << "." << name);
    REQUIRE(f != nullptr);
    CHECK(f->number() == number);
  }
}

std::string hex(const std::string& bytes) {
  static const char* k = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

}  // namespace

TEST_CASE("packages, services and method paths are Hubble's") {
  CHECK(flow::Flow::descriptor()->full_name() == "flow.Flow");
  CHECK(observer::GetFlowsRequest::descriptor()->full_name() == "observer.GetFlowsRequest");
  CHECK(relay::NodeStatusEvent::descriptor()->full_name() == "relay.NodeStatusEvent");
  const auto* svc = observer::GetFlowsRequest::descriptor()->file()->FindServiceByName("Observer");
  REQUIRE(svc != nullptr);
  CHECK(svc->full_name() == "observer.Observer");
  std::map<std::string, std::pair<bool, bool>> methods;  // name -> (client, server streaming)
  for (int i = 0; i < svc->method_count(); ++i) {
    methods[svc->method(i)->name()] = {svc->method(i)->client_streaming(),
                                       svc->method(i)->server_streaming()};
  }
  CHECK(methods.at("GetFlows") == std::pair(false, true));
  CHECK(methods.at("GetAgentEvents") == std::pair(false, true));
  CHECK(methods.at("GetDebugEvents") == std::pair(false, true));
  CHECK(methods.at("GetNodes") == std::pair(false, false));
  CHECK(methods.at("GetNamespaces") == std::pair(false, false));
  CHECK(methods.at("ServerStatus") == std::pair(false, false));
  CHECK(std::string(observer::Observer::service_full_name()) == "observer.Observer");
}

TEST_CASE("field numbers follow the reference tables") {
  check_fields(flow::Flow::descriptor(),
               {{"time", 1},          {"verdict", 2},        {"drop_reason", 3},
                {"ethernet", 4},      {"IP", 5},             {"l4", 6},
                {"source", 8},        {"destination", 9},    {"Type", 10},
                {"node_name", 11},    {"source_names", 13},  {"destination_names", 14},
                {"l7", 15},           {"reply", 16},         {"event_type", 19},
                {"source_service", 20}, {"destination_service", 21}, {"traffic_direction", 22},
                {"policy_match_type", 23}, {"trace_observation_point", 24},
                {"drop_reason_desc", 25}, {"is_reply", 26},  {"debug_capture_point", 27},
                {"interface", 28},    {"proxy_port", 29},    {"trace_context", 30},
                {"sock_xlate_point", 31}, {"socket_cookie", 32}, {"cgroup_id", 33},
                {"uuid", 34},         {"auth_type", 35},     {"trace_reason", 36},
                {"node_labels", 37},  {"file", 38},          {"tunnel", 39},
                {"ip_trace_id", 40},  {"emitter", 41},       {"Summary", 100000},
                {"extensions", 150000}, {"egress_allowed_by", 21001},
                {"ingress_allowed_by", 21002}, {"egress_denied_by", 21004},
                {"ingress_denied_by", 21005}, {"policy_log", 21006}, {"aggregate", 21007}});
  check_fields(flow::Endpoint::descriptor(), {{"ID", 1}, {"identity", 2}, {"namespace", 3},
                                              {"labels", 4}, {"pod_name", 5}, {"workloads", 6},
                                              {"cluster_name", 7}});
  check_fields(flow::IP::descriptor(), {{"source", 1}, {"destination", 2}, {"ipVersion", 3},
                                        {"encrypted", 4}, {"source_xlated", 5}});
  check_fields(flow::Layer4::descriptor(), {{"TCP", 1}, {"UDP", 2}, {"ICMPv4", 3}, {"ICMPv6", 4},
                                            {"SCTP", 5}, {"VRRP", 6}, {"IGMP", 7}});
  check_fields(flow::TCPFlags::descriptor(), {{"FIN", 1}, {"SYN", 2}, {"RST", 3}, {"PSH", 4},
                                              {"ACK", 5}, {"URG", 6}, {"ECE", 7}, {"CWR", 8},
                                              {"NS", 9}});
  check_fields(flow::LostEvent::descriptor(), {{"source", 1}, {"num_events_lost", 2}, {"cpu", 3},
                                               {"first", 4}, {"last", 5}});
  check_fields(flow::FlowFilter::descriptor(),
               {{"source_ip", 1},          {"source_pod", 2},           {"destination_ip", 3},
                {"destination_pod", 4},    {"verdict", 5},              {"event_type", 6},
                {"source_fqdn", 7},        {"destination_fqdn", 8},     {"http_status_code", 9},
                {"source_label", 10},      {"destination_label", 11},   {"protocol", 12},
                {"source_port", 13},       {"destination_port", 14},    {"reply", 15},
                {"source_service", 16},    {"destination_service", 17}, {"dns_query", 18},
                {"source_identity", 19},   {"destination_identity", 20}, {"http_method", 21},
                {"http_path", 22},         {"tcp_flags", 23},           {"node_name", 24},
                {"ip_version", 25},        {"source_workload", 26},     {"destination_workload", 27},
                {"trace_id", 28},          {"uuid", 29},                {"traffic_direction", 30},
                {"http_url", 31},          {"http_header", 32},         {"drop_reason_desc", 33},
                {"source_ip_xlated", 34},  {"interface", 35},           {"node_labels", 36},
                {"source_cluster_name", 37}, {"destination_cluster_name", 38},
                {"ip_trace_id", 39},       {"encrypted", 40},           {"experimental", 999}});
  check_fields(observer::GetFlowsRequest::descriptor(),
               {{"number", 1}, {"follow", 3}, {"blacklist", 5}, {"whitelist", 6}, {"since", 7},
                {"until", 8}, {"first", 9}, {"field_mask", 10}, {"experimental", 999},
                {"extensions", 150000}});
  check_fields(observer::GetFlowsResponse::descriptor(),
               {{"flow", 1}, {"node_status", 2}, {"lost_events", 3}, {"node_name", 1000},
                {"time", 1001}});
  check_fields(observer::ServerStatusResponse::descriptor(),
               {{"num_flows", 1}, {"max_flows", 2}, {"seen_flows", 3}, {"uptime_ns", 4},
                {"num_connected_nodes", 5}, {"num_unavailable_nodes", 6},
                {"unavailable_nodes", 7}, {"version", 8}, {"flows_rate", 9}});
  check_fields(observer::Node::descriptor(),
               {{"name", 1}, {"version", 2}, {"address", 3}, {"state", 4}, {"tls", 5},
                {"uptime_ns", 6}, {"num_flows", 7}, {"max_flows", 8}, {"seen_flows", 9}});
  check_fields(observer::GetAgentEventsRequest::descriptor(),
               {{"number", 1}, {"follow", 2}, {"since", 7}, {"until", 8}, {"first", 9}});
  check_fields(relay::NodeStatusEvent::descriptor(),
               {{"state_change", 1}, {"node_names", 2}, {"message", 3}});
  // Types that matter on the wire.
  CHECK(flow::Flow::descriptor()->FindFieldByName("is_reply")->message_type()->full_name() ==
        "google.protobuf.BoolValue");
  CHECK(observer::ServerStatusResponse::descriptor()
            ->FindFieldByName("num_connected_nodes")
            ->message_type()
            ->full_name() == "google.protobuf.UInt32Value");
  CHECK(flow::Flow::descriptor()->FindFieldByName("drop_reason")->type() ==
        FieldDescriptor::TYPE_UINT32);
  CHECK(flow::TO_ENDPOINT == 101);
  CHECK(flow::POLICY_DENY == 181);
  CHECK(flow::DROP_PUNT_PROXY == 205);
  CHECK(relay::NODE_ERROR == 4);
  CHECK(flow::HUBBLE_RING_BUFFER == 3);
}

TEST_CASE("bytes on the wire are what a Go Hubble client decodes") {
  observer::GetFlowsResponse r;
  r.set_node_name("n");
  // field 1000, wire type 2: tag varint (1000 << 3 | 2) = c2 3e
  CHECK(hex(r.SerializeAsString()) == "c23e016e");
  flow::Flow f;
  f.mutable_is_reply()->set_value(true);
  // field 26 (BoolValue message): d2 01, length 2, inner field 1 = true
  CHECK(hex(f.SerializeAsString()) == "d20102" "0801");
  flow::Flow s;
  s.set_summary("x");
  // field 100000, wire type 2: varint 800002 = 82 ea 30
  CHECK(hex(s.SerializeAsString()) == "82ea3001" "78");
}

TEST_CASE("binary and JSON round trips keep every field") {
  for (const auto& f : axon::test::golden_flows()) {
    auto entry = axon::hubble::make_flow_entry(f);
    observer::GetFlowsResponse back;
    REQUIRE(back.ParseFromString(entry->SerializeAsString()));
    CHECK(google::protobuf::util::MessageDifferencer::Equals(back, *entry));

    std::string json = axon::hubble::to_json(*entry);
    observer::GetFlowsResponse from_json;
    REQUIRE(google::protobuf::util::JsonStringToMessage(json, &from_json).ok());
    CHECK(google::protobuf::util::MessageDifferencer::Equals(from_json, *entry));
  }
}

TEST_CASE("JSON uses proto field names, enum names and RFC 3339 times") {
  auto flows = axon::test::golden_flows();
  std::string json = axon::hubble::to_json(*axon::hubble::make_flow_entry(flows[2]));
  CHECK(json.find("\"node_name\":\"node1\"") != std::string::npos);
  CHECK(json.find("\"time\":\"2023-12-01T12:00:01.001Z\"") != std::string::npos);
  CHECK(json.find("\"IP\":{") != std::string::npos);
  CHECK(json.find("\"ipVersion\":\"IPv4\"") != std::string::npos);
  CHECK(json.find("\"verdict\":\"DROPPED\"") != std::string::npos);
  CHECK(json.find("\"drop_reason_desc\":\"POLICY_DENIED\"") != std::string::npos);
  CHECK(json.find("\"Type\":\"L3_L4\"") != std::string::npos);
  CHECK(json.find("\"Summary\":\"TCP Flags: SYN\"") != std::string::npos);
  CHECK(json.find("\"TCP\":{") != std::string::npos);
  CHECK(json.find("is_reply") == std::string::npos);  // unknown: absent
  CHECK(json.starts_with("{\"flow\":{"));
}
