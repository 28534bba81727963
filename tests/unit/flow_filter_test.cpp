// FlowFilter semantics: each field, OR within a field, AND across fields,
// whitelist OR, blacklist, and the errors a server answers with.
#include "axon/hubble/filter.h"

#include <doctest/doctest.h>
#include <google/protobuf/util/json_util.h>

#include "flow_fixtures.h"

using namespace axon::hubble;
using axon::test::golden_flows;

namespace {

flow::FlowFilter parse(const std::string& json) {
  flow::FlowFilter f;
  REQUIRE(google::protobuf::util::JsonStringToMessage(json, &f).ok());
  return f;
}

bool match(const std::string& filter_json, const flow::Flow& f) {
  auto m = FlowMatcher::compile(parse(filter_json));
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? "" : m.error().message));
  return m->matches(f);
}

std::string compile_error(const std::string& filter_json) {
  auto m = FlowMatcher::compile(parse(filter_json));
  return m.ok() ? "" : m.error().message;
}

// golden_flows(): [0] client->api via Service (egress, SYN), [1] its reply
// (ingress, SYN ACK, is_reply), [2] frontend->api policy drop (ingress),
// [3] client->1.1.1.1:53 UDP, [4] client->api ICMP echo.
const std::vector<flow::Flow>& flows() {
  static const auto f = golden_flows();
  return f;
}

}  // namespace

TEST_CASE("each field matches what it should") {
  const auto& f = flows();
  CHECK(match(R"({"source_ip":["10.244.1.5"]})", f[0]));
  CHECK_FALSE(match(R"({"source_ip":["10.244.1.6"]})", f[0]));
  CHECK(match(R"({"source_ip":["10.244.0.0/16"]})", f[0]));
  CHECK(match(R"({"destination_ip":["1.1.1.0/24"]})", f[3]));
  CHECK_FALSE(match(R"({"destination_ip":["1.1.2.0/24"]})", f[3]));
  CHECK(match(R"({"source_ip_xlated":["10.96.0.20"]})", f[1]));

  CHECK(match(R"({"source_pod":["default/client"]})", f[0]));
  CHECK(match(R"({"source_pod":["client"]})", f[0]));  // no namespace: default
  CHECK(match(R"({"source_pod":["default/"]})", f[0]));  // the whole namespace
  CHECK_FALSE(match(R"({"source_pod":["production/"]})", f[0]));
  CHECK(match(R"({"source_pod":["/"]})", f[0]));  // any namespace (--all-namespaces)
  CHECK_FALSE(match(R"({"destination_pod":["/"]})", f[3]));  // world has no namespace
  CHECK(match(R"({"destination_pod":["production/api-"]})", f[0]));

  CHECK(match(R"({"destination_service":["production/api"]})", f[0]));
  CHECK_FALSE(match(R"({"destination_service":["api"]})", f[0]));  // default namespace
  CHECK(match(R"({"source_service":["production/"]})", f[1]));

  CHECK(match(R"({"verdict":["DROPPED"]})", f[2]));
  CHECK_FALSE(match(R"({"verdict":["DROPPED"]})", f[0]));
  CHECK(match(R"({"drop_reason_desc":["POLICY_DENIED"]})", f[2]));
  CHECK(match(R"({"event_type":[{"type":1}]})", f[2]));
  CHECK(match(R"({"event_type":[{"type":4,"match_sub_type":true,"sub_type":5}]})", f[0]));
  CHECK_FALSE(match(R"({"event_type":[{"type":4,"match_sub_type":true,"sub_type":0}]})", f[0]));
  CHECK(match(R"({"event_type":[{"type":4,"match_sub_type":true,"sub_type":0}]})", f[1]));

  CHECK(match(R"({"source_label":["k8s:app=client"]})", f[0]));
  CHECK(match(R"({"source_label":["app=client"]})", f[0]));  // any source
  CHECK_FALSE(match(R"({"source_label":["reserved:app=client"]})", f[0]));
  CHECK(match(R"({"destination_label":["reserved:world"]})", f[3]));
  CHECK(match(R"x({"source_label":["app in (client, frontend)"]})x", f[2]));
  CHECK(match(R"({"source_label":["app!=client"]})", f[2]));
  CHECK(match(R"({"source_label":["app,!team"]})", f[2]));
  CHECK_FALSE(match(R"x({"source_label":["app notin (frontend)"]})x", f[2]));

  CHECK(match(R"({"protocol":["tcp"]})", f[0]));
  CHECK(match(R"({"protocol":["UDP"]})", f[3]));
  CHECK(match(R"({"protocol":["icmp"]})", f[4]));
  CHECK(match(R"({"protocol":["icmpv4"]})", f[4]));
  CHECK_FALSE(match(R"({"protocol":["icmpv6"]})", f[4]));
  CHECK_FALSE(match(R"({"protocol":["http"]})", f[0]));

  CHECK(match(R"({"destination_port":["8080"]})", f[0]));
  CHECK(match(R"({"source_port":["8080"]})", f[1]));
  CHECK_FALSE(match(R"({"destination_port":["80"]})", f[0]));
  CHECK_FALSE(match(R"({"destination_port":["0"]})", f[4]));  // ICMP has no ports

  CHECK(match(R"({"reply":[true]})", f[1]));
  CHECK(match(R"({"reply":[false]})", f[0]));
  CHECK_FALSE(match(R"({"reply":[false]})", f[2]));  // unknown matches neither

  CHECK(match(R"({"source_identity":[1234]})", f[0]));
  CHECK(match(R"({"destination_identity":[2]})", f[3]));
  CHECK(match(R"({"tcp_flags":[{"SYN":true}]})", f[1]));
  CHECK(match(R"({"tcp_flags":[{"SYN":true,"ACK":true}]})", f[1]));
  CHECK_FALSE(match(R"({"tcp_flags":[{"SYN":true,"ACK":true}]})", f[0]));
  CHECK_FALSE(match(R"({"tcp_flags":[{"SYN":true}]})", f[3]));

  CHECK(match(R"({"node_name":["node1"]})", f[0]));
  CHECK(match(R"({"node_name":["node*"]})", f[0]));
  CHECK(match(R"({"node_name":["*1"]})", f[0]));
  CHECK_FALSE(match(R"({"node_name":["node2"]})", f[0]));
  CHECK_FALSE(match(R"({"node_name":["kind/"]})", f[0]));

  CHECK(match(R"({"ip_version":["IPv4"]})", f[0]));
  CHECK_FALSE(match(R"({"ip_version":["IPv6"]})", f[0]));
  CHECK(match(R"({"traffic_direction":["INGRESS"]})", f[2]));
  CHECK_FALSE(match(R"({"traffic_direction":["EGRESS"]})", f[2]));
  CHECK(match(R"({"source_workload":[{"name":"client"}]})", f[0]));
  CHECK(match(R"({"source_workload":[{"kind":"Deployment","name":"client"}]})", f[0]));
  CHECK_FALSE(match(R"({"source_workload":[{"kind":"StatefulSet"}]})", f[0]));
  CHECK(match(R"({"destination_fqdn":["*.one.one"]})", f[3]));
  CHECK(match(R"({"destination_fqdn":["one.one.one.one."]})", f[3]));
  CHECK_FALSE(match(R"({"destination_fqdn":["*.example.com"]})", f[3]));
  CHECK(match(R"({"uuid":[")" + f[0].uuid() + R"("]})", f[0]));
  CHECK_FALSE(match(R"({"uuid":[")" + f[0].uuid() + R"("]})", f[1]));
  CHECK(match(R"({"encrypted":[false]})", f[0]));
  CHECK_FALSE(match(R"({"encrypted":[true]})", f[0]));
  CHECK(match(R"({"source_cluster_name":["default"]})", f[0]));
  CHECK(match(R"({"source_cluster_name":["def*"]})", f[0]));
  CHECK_FALSE(match(R"({"http_status_code":["200"]})", f[0]));
  CHECK_FALSE(match(R"({"dns_query":[".*"]})", f[0]));
}

TEST_CASE("HTTP and DNS fields match L7 flows") {
  flow::Flow f;
  auto* l7 = f.mutable_l7();
  l7->set_type(flow::RESPONSE);
  auto* http = l7->mutable_http();
  http->set_code(404);
  http->set_method("GET");
  http->set_url("http://api.production:8080/v1/users/7?full=1");
  auto* h = http->add_headers();
  h->set_key("x-team");
  h->set_value("blue");
  CHECK(match(R"({"http_status_code":["404"]})", f));
  CHECK(match(R"({"http_status_code":["4+"]})", f));
  CHECK(match(R"({"http_status_code":["40+"]})", f));
  CHECK_FALSE(match(R"({"http_status_code":["5+"]})", f));
  CHECK(match(R"({"http_method":["get"]})", f));
  CHECK(match(R"({"http_path":["^/v1/users/[0-9]+$"]})", f));
  CHECK(match(R"({"http_url":["api\\.production"]})", f));
  CHECK(match(R"({"http_header":[{"key":"x-team","value":"blue"}]})", f));
  CHECK_FALSE(match(R"({"http_header":[{"key":"x-team","value":"red"}]})", f));
  CHECK(match(R"({"protocol":["http"]})", f));

  flow::Flow d;
  d.mutable_l7()->mutable_dns()->set_query("api.production.svc.cluster.local.");
  CHECK(match(R"({"dns_query":["svc\\.cluster"]})", d));
  CHECK(match(R"({"protocol":["dns"]})", d));
}

TEST_CASE("OR within a field, AND across fields") {
  const auto& f = flows();
  // OR: either pod.
  CHECK(match(R"({"source_pod":["default/nobody","production/frontend"]})", f[2]));
  // AND: both must hold.
  CHECK(match(R"({"source_pod":["production/frontend"],"verdict":["DROPPED"]})", f[2]));
  CHECK_FALSE(match(R"({"source_pod":["production/frontend"],"verdict":["FORWARDED"]})", f[2]));
  CHECK_FALSE(match(R"({"source_pod":["default/client"],"verdict":["DROPPED"]})", f[2]));
  // An empty filter matches everything.
  CHECK(match("{}", f[3]));
}

TEST_CASE("whitelist ORs its filters; the blacklist removes") {
  const auto& f = flows();
  FlowFilters white, black;
  *white.Add() = parse(R"({"source_pod":["production/"]})");
  *white.Add() = parse(R"({"destination_pod":["production/"]})");
  auto set = FlowFilterSet::compile(white, black);
  REQUIRE(set.ok());
  CHECK(set->allows(f[0]));   // to production
  CHECK(set->allows(f[1]));   // from production (the reply)
  CHECK(set->allows(f[2]));
  CHECK_FALSE(set->allows(f[3]));  // to the world

  *black.Add() = parse(R"({"verdict":["FORWARDED"]})");
  auto with_black = FlowFilterSet::compile(white, black);
  REQUIRE(with_black.ok());
  CHECK_FALSE(with_black->allows(f[0]));
  CHECK(with_black->allows(f[2]));

  // Only a blacklist: everything except what it matches.
  auto only_black = FlowFilterSet::compile({}, black);
  REQUIRE(only_black.ok());
  CHECK(only_black->allows(f[2]));
  CHECK_FALSE(only_black->allows(f[3]));

  // A blacklist filter with two fields removes only flows matching both.
  FlowFilters both;
  *both.Add() = parse(R"({"verdict":["FORWARDED"],"protocol":["udp"]})");
  auto b = FlowFilterSet::compile({}, both);
  REQUIRE(b.ok());
  CHECK(b->allows(f[0]));
  CHECK_FALSE(b->allows(f[3]));

  // Lost events and node status pass any filter.
  observer::GetFlowsResponse lost;
  lost.mutable_lost_events()->set_num_events_lost(3);
  CHECK(set->allows(lost));
  CHECK(with_black->allows(lost));
}

TEST_CASE("bad filters are errors naming the field and value") {
  CHECK(compile_error(R"({"source_ip":["10.0.0.300"]})").find("source_ip") != std::string::npos);
  CHECK(compile_error(R"({"source_ip":["10.0.0.0/33"]})").find("10.0.0.0/33") != std::string::npos);
  CHECK(compile_error(R"({"protocol":["quic"]})").find("unknown protocol \"quic\"") !=
        std::string::npos);
  CHECK(compile_error(R"({"destination_port":["http"]})").find("invalid port") != std::string::npos);
  CHECK(compile_error(R"({"source_pod":[""]})").find("source_pod") != std::string::npos);
  CHECK(compile_error(R"({"http_status_code":["40"]})").find("invalid status code") !=
        std::string::npos);
  CHECK(compile_error(R"({"http_status_code":["404"],"event_type":[{"type":4}]})")
            .find("129") != std::string::npos);
  CHECK(compile_error(R"({"http_path":["(["]})").find("http_path") != std::string::npos);
  CHECK(compile_error(R"({"source_label":["a b c"]})").find("label selector") != std::string::npos);
  CHECK(compile_error(R"({"experimental":{"cel_expression":["true"]}})").find("CEL") !=
        std::string::npos);
  CHECK(compile_error(R"({"source_ip":["fd00::/8"]})").empty());  // IPv6 CIDRs are fine
}
