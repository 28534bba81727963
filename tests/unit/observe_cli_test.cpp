// `axon observe` in-process: against a real Observer server, against
// --input-file, every output format as a golden on fixed flows, the raw
// filters hubble would send, and the errors.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include "axon/hubble/client.h"
#include "axon/hubble/observer.h"
#include "axon/hubble/printer.h"
#include "axon/lab/flows.h"
#include "axon/lab/paths.h"
#include "cli_runner.h"
#include "flow_fixtures.h"

using namespace axon;
using namespace std::chrono_literals;
using axon::test::run_axon;

namespace {

std::string golden_path(const std::string& name) {
  return std::string(AXON_GOLDEN_DIR) + "/observe/" + name;
}

void check_golden(const std::string& name, const std::string& actual) {
  const std::string path = golden_path(name);
  if (std::getenv("UPDATE_GOLDEN") != nullptr) {
    std::filesystem::create_directories(std::filesystem::path(path).parent_path());
    std::ofstream(path, std::ios::binary) << actual;
  }
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "missing " << path << " (UPDATE_GOLDEN=1 creates it)");
  std::stringstream golden;
  golden << in.rdbuf();
  CHECK_MESSAGE(golden.str() == actual, "output differs from " << path << ":\n" << actual);
}

// The golden flows as `-o jsonpb` writes them.
std::string flows_file(const test::TempDir& dir) {
  std::string path = (dir.path / "flows.json").string();
  std::ofstream out(path);
  for (const auto& f : test::golden_flows()) out << hubble::to_json(*hubble::make_flow_entry(f)) << "\n";
  return path;
}

int lines(const std::string& s) {
  return static_cast<int>(std::count(s.begin(), s.end(), '\n'));
}

struct ObserverFixture {
  test::TempDir dir;
  std::shared_ptr<hubble::FlowRing> ring = std::make_shared<hubble::FlowRing>(100);
  hubble::ObserverService service{ring, {"node1", ""}};
  std::unique_ptr<hubble::FlowServer> server;
  std::string target;

  ObserverFixture() {
    target = dir.socket("hubble.sock");
    auto s = hubble::FlowServer::start({&service}, {target});
    REQUIRE(s.ok());
    server = std::move(*s);
    for (const auto& f : test::golden_flows()) ring->write(hubble::make_flow_entry(f));
  }
};

}  // namespace

TEST_CASE("every output format, as a golden, from --input-file") {
  test::TempDir dir;
  auto file = flows_file(dir);
  const std::map<std::string, std::vector<std::string>> cases = {
      {"compact.txt", {"-o", "compact"}},
      {"compact-node-rfc3339.txt", {"--print-node-name", "--time-format", "RFC3339Milli"}},
      {"compact-numeric.txt", {"--numeric"}},
      {"dict.txt", {"-o", "dict", "--print-node-name"}},
      {"table.txt", {"-o", "table"}},
      {"json.txt", {"-o", "json"}},
      {"jsonpb.txt", {"-o", "jsonpb"}},
  };
  for (const auto& [golden, flags] : cases) {
    std::vector<std::string> args = {"observe", "--input-file", file, "--color", "never"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = run_axon(args);
    INFO(golden << ": " << r.err);
    CHECK(r.code == 0);
    CHECK(r.err.empty());
    check_golden(golden, r.out);
  }
}

TEST_CASE("colors: verdicts, hosts, identities, ports; auto honors the terminal") {
  test::TempDir dir;
  auto file = flows_file(dir);
  auto r = run_axon({"observe", "--input-file", file, "--color", "always", "--last", "1",
                     "--verdict", "DROPPED"});
  REQUIRE(r.code == 0);
  CHECK(r.out ==
        "Dec  1 12:00:01.001: \x1b[36mproduction/frontend-7d9c-q2w3e:\x1b[33m51000\x1b[0m\x1b[0m "
        "\x1b[35m(ID:4321)\x1b[0m <> \x1b[36mproduction/api-5c6d8f7b9-abcde:\x1b[33m8080\x1b[0m"
        "\x1b[0m \x1b[35m(ID:5678)\x1b[0m Policy denied \x1b[31mDROPPED\x1b[0m (TCP Flags: SYN)\n");
  // auto: not a terminal in tests, so no color.
  auto plain = run_axon({"observe", "--input-file", file, "--verdict", "DROPPED"});
  CHECK(plain.out.find('\x1b') == std::string::npos);
  // table never colors.
  auto table = run_axon({"observe", "--input-file", file, "-o", "table", "--color", "always"});
  CHECK(table.out.find('\x1b') == std::string::npos);
}

TEST_CASE("--input-file applies filters, --last, --first, --since like hubble") {
  test::TempDir dir;
  auto file = flows_file(dir);
  auto r = run_axon({"observe", "--input-file", file, "--namespace", "production"});
  CHECK(r.code == 0);
  CHECK(lines(r.out) == 4);  // to api, the reply from api, the drop, the ping to api
  r = run_axon({"observe", "--input-file", file, "--not", "--verdict", "FORWARDED"});
  CHECK(lines(r.out) == 1);
  CHECK(r.out.find("Policy denied") != std::string::npos);
  r = run_axon({"observe", "--input-file", file, "--last", "2"});
  CHECK(lines(r.out) == 2);
  CHECK(r.out.find("ICMPv4 EchoRequest") != std::string::npos);
  r = run_axon({"observe", "--input-file", file, "--first", "1"});
  CHECK(lines(r.out) == 1);
  // DNATed at from-endpoint: the destination is the backend the Service chose.
  CHECK(r.out.find("-> production/api-5c6d8f7b9-abcde:8080") != std::string::npos);
  r = run_axon({"observe", "--input-file", file, "--since", "2023-12-01T12:00:01Z"});
  CHECK(lines(r.out) == 3);
  r = run_axon({"observe", "--input-file", file, "--protocol", "udp", "--to-port", "53"});
  CHECK(lines(r.out) == 1);
  CHECK(r.out.find("one.one.one.one:53 (world)") != std::string::npos);
  r = run_axon({"observe", "--input-file", "-", "--type", "trace:to-endpoint"},
               {}, std::string("not json\n") + hubble::to_json(*hubble::make_flow_entry(
                                                   test::golden_flows()[1])) + "\n");
  CHECK(r.code == 0);
  CHECK(lines(r.out) == 1);
  CHECK(r.out.find(" <- ") != std::string::npos);
  CHECK(r.err.find("warning: -: line 1 is not a flow") != std::string::npos);
  r = run_axon({"observe", "--input-file", (dir.path / "missing.json").string()});
  CHECK(r.code == 2);
}

TEST_CASE("--print-raw-filters: what hubble would send, as goldens") {
  const std::map<std::string, std::vector<std::string>> cases = {
      {"raw-namespace.yaml", {"--namespace", "production"}},
      {"raw-from-pod-verdict.yaml",
       {"--from-pod", "production/frontend", "--verdict", "DROPPED", "--verdict", "FORWARDED"}},
      {"raw-not.yaml", {"--not", "--verdict", "FORWARDED", "--to-port", "8080"}},
      {"raw-pod-namespace.yaml", {"--pod", "api", "-n", "production", "-n", "staging"}},
      {"raw-ip-type.yaml", {"--ip", "10.0.0.0/8", "-t", "trace:to-endpoint", "--tcp-flags", "syn,ack"}},
      {"raw-label-identity.yaml", {"-l", "k8s:app=api", "--to-identity", "world", "--all-namespaces"}},
      {"raw-allowlist.yaml",
       {"--allowlist", R"({"source_label":["app=a"]})", "--denylist", R"({"protocol":["udp"]})"}},
      {"raw-none.yaml", {}},
  };
  for (const auto& [golden, flags] : cases) {
    std::vector<std::string> args = {"observe", "--print-raw-filters"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = run_axon(args);
    INFO(golden << ": " << r.err);
    CHECK(r.code == 0);
    check_golden(golden, r.out);
  }
}

TEST_CASE("conflicting flags and bad values exit 2 with hubble's words") {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--ip", "1.1.1.1", "--from-ip", "2.2.2.2"}, "filters --from-ip and --ip cannot be combined"},
      {{"--pod", "a", "--from-pod", "b"}, "filters --from-pod and --pod cannot be combined"},
      {{"--to-pod", "a", "--namespace", "x"}, "filters --to-pod and --namespace cannot be combined"},
      {{"--label", "a=b", "--from-label", "c=d"}, "filters --label and --from-label cannot be combined"},
      {{"--port", "80", "--to-port", "81"}, "filters --port and --to-port cannot be combined"},
      {{"--encrypted", "--unencrypted"}, "filters --encrypted and --unencrypted cannot be combined"},
      {{"--first", "2", "--last", "3"}, "cannot set both --first and --last"},
      {{"--first", "2", "--all"}, "cannot set both --first and --all"},
      {{"--first", "2", "-f"}, "cannot set both --first and --follow"},
      {{"--last", "2", "--all"}, "cannot set both --last and --all"},
      {{"--verdict", "DROPPED", "--not"}, "trailing --not found in the arguments"},
      {{"--not", "--not", "--verdict", "DROPPED"}, "consecutive --not statements"},
      {{"--tcp-flags", "syn,bogus"}, "unknown tcp flag: bogus"},
      {{"--identity", "nobody"}, "invalid security identity, expected one of [unknown host"},
      {{"-t", "bogus"}, "unable to parse type 'bogus'"},
      {{"--drop-reason-desc", "NOPE"}, "invalid --drop-reason-desc value: NOPE"},
      {{"--http-header", "nocolon"}, "expected name:value"},
      {{"--since", "yesterday"}, "failed to parse the since time"},
      {{"-o", "table", "-f"}, "table output format is not compatible with follow mode"},
      {{"--field-mask", "time"}, "compact output format is not compatible with custom field mask"},
      {{"-o", "json", "--field-mask", "nope"}, "invalid path \"nope\""},
      {{"--server", "tls://relay:443"}, "TLS is not supported"},
      {{"--server", "unix:///x", "--node", "node1"}, "cannot set both --server and --node"},
      {{"--namespace", "a", "--service", "b/svc"}, "namespace conflict: \"a\" does not contain \"b/svc\""},
      {{"--verdict", "MAYBE"}, "--verdict: invalid value \"MAYBE\""},
  };
  for (const auto& [flags, message] : cases) {
    std::vector<std::string> args = {"observe", "--print-raw-filters"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto r = run_axon(args);
    INFO(flags.front() << " ...: " << r.err);
    CHECK(r.code == 2);
    CHECK(r.err.find(message) != std::string::npos);
    CHECK(r.out.empty());
  }
}

TEST_CASE("against a server: last, filters, jsonpb, and the default of 20") {
  ObserverFixture s;
  auto r = run_axon({"observe", "--server", s.target, "--last", "2", "-o", "jsonpb"});
  CHECK(r.code == 0);
  CHECK(lines(r.out) == 2);
  CHECK(r.out.starts_with("{\"flow\":{"));
  r = run_axon({"observe", "--server", s.target, "--verdict", "DROPPED"});
  CHECK(r.code == 0);
  CHECK(r.out ==
        "Dec  1 12:00:01.001: production/frontend-7d9c-q2w3e:51000 (ID:4321) <> "
        "production/api-5c6d8f7b9-abcde:8080 (ID:5678) Policy denied DROPPED (TCP Flags: SYN)\n");
  r = run_axon({"observe", "--server", s.target, "--to-service", "production/api", "-o", "dict"});
  CHECK(r.out.find("DESTINATION: production/api-5c6d8f7b9-abcde:8080") != std::string::npos);
  CHECK(lines(r.out) == 6);  // one flow: to the Service's backend
  for (int i = 0; i < 30; ++i) s.ring->write(hubble::make_flow_entry(test::golden_flows()[3]));
  r = run_axon({"observe", "--server", s.target});
  CHECK(lines(r.out) == 20);
  r = run_axon({"observe", "--server", s.target, "--all"});
  CHECK(lines(r.out) == 35);
}

TEST_CASE("follow prints new flows until stopped, then exits 0") {
  ObserverFixture s;
  std::ostringstream out, err;
  std::atomic<bool> stop{false};
  cli::Context ctx(out, err);
  ctx.getenv = [](const char*) -> const char* { return nullptr; };
  ctx.stop_requested = [&] { return stop.load(); };
  int code = -1;
  std::thread t([&] {
    code = cli::run_cli(ctx, {"--state-dir", "/nonexistent/axon-test-state", "observe", "--server",
                              s.target, "-f", "-o", "jsonpb"});
  });
  std::this_thread::sleep_for(300ms);
  auto f = test::golden_flows()[4];
  s.ring->write(hubble::make_flow_entry(f));
  std::this_thread::sleep_for(700ms);
  stop = true;
  t.join();
  CHECK(code == 0);
  CHECK(err.str().empty());
  CHECK(lines(out.str()) == 1);  // only the new flow: -f alone does not rewind
  CHECK(out.str().find(f.uuid()) != std::string::npos);
}

TEST_CASE("no server: a clear error and exit 1") {
  test::TempDir dir;
  auto r = run_axon({"observe", "--server", dir.socket("none.sock")});
  CHECK(r.code == 1);
  CHECK(r.err.find("no flow server at " + dir.socket("none.sock")) != std::string::npos);
  r = run_axon({"observe", "--server", "127.0.0.1:1", "--timeout", "300ms"});
  CHECK(r.code == 1);
  CHECK(r.err == "Error: no flow server answers at 127.0.0.1:1 (waited 300ms)\n");
  r = run_axon({"observe", "--server", "127.0.0.1:1", "--timeout", "300ms", "-s"});
  CHECK(r.code == 1);
  CHECK(r.err.empty());
}

TEST_CASE("default server: the lab's relay socket, else localhost:4245; --node") {
  test::TempDir dir;
  auto none = lab::default_flow_server(dir.path.string(), "");
  REQUIRE(none.ok());
  CHECK(*none == "localhost:4245");
  std::filesystem::create_directories(dir.path / "lab");
  std::ofstream((dir.path / "lab" / "lab.json").string()) << "{}";
  auto lab = lab::default_flow_server(dir.path.string(), "");
  REQUIRE(lab.ok());
  CHECK(*lab == "unix://" + (dir.path / "lab" / "relay.sock").string());
  // The lab's relay is not running here: a clear error.
  auto r = run_axon({"--state-dir", dir.path.string(), "observe"});
  CHECK(r.code == 1);
  CHECK(r.err.find("relay.sock does not exist") != std::string::npos);
  r = run_axon({"--state-dir", dir.path.string(), "observe", "--node", "node1"});
  CHECK(r.code == 1);
  CHECK(r.err.find("--node node1: lab lab has no such node") != std::string::npos);
  // A node of the lab whose agent does not answer: the socket is named.
  std::filesystem::create_directories(dir.path / "lab" / "nodes" / "node1");
  r = run_axon({"--state-dir", dir.path.string(), "observe", "--node", "node1"});
  CHECK(r.code == 1);
  CHECK(r.err.find("nodes/node1/run/axon/hubble.sock") != std::string::npos);
  r = run_axon({"--state-dir", dir.path.string(), "observe", "--node", "node2"});
  CHECK(r.err.find("(nodes: node1)") != std::string::npos);
}

TEST_CASE("the lab of a pod's store target") {
  auto lab = lab::lab_from_store_target("unix:/run/axon/dev/etcd/etcd.sock:0");
  REQUIRE(lab.has_value());
  CHECK(lab->state_dir == "/run/axon");
  CHECK(lab->name == "dev");
  CHECK(lab->node_hubble_socket("node2") == "/run/axon/dev/nodes/node2/run/axon/hubble.sock");
  CHECK(lab->relay_socket() == "/run/axon/dev/relay.sock");
  CHECK_FALSE(lab::lab_from_store_target("10.0.0.1:2379").has_value());
  CHECK_FALSE(lab::lab_from_store_target("unix:/x/BAD-NAME/etcd/etcd.sock:0").has_value());
}

TEST_CASE("compact forms of events axon's datapath does not make (from other servers)") {
  auto line = [](const std::string& json) {
    auto r = run_axon({"observe", "--input-file", "-"}, {}, json + "\n");
    REQUIRE_MESSAGE(r.code == 0, r.err);
    return r.out;
  };
  const std::string head = R"({"time":"2023-12-01T12:00:00.5Z","flow":{"time":"2023-12-01T12:00:00.5Z",)";
  const std::string ends = R"("source":{"identity":1234,"namespace":"a","pod_name":"x"},)"
                           R"("destination":{"identity":2},"IP":{"source":"10.0.0.1",)"
                           R"("destination":"1.1.1.1","ipVersion":"IPv4"},)";
  CHECK(line(head + ends +
             R"("verdict":"FORWARDED","event_type":{"type":5},"policy_match_type":2,)"
             R"("traffic_direction":"INGRESS","is_reply":false,"Summary":"TCP Flags: SYN"}})") ==
        "Dec  1 12:00:00.500: a/x (ID:1234) -> 1.1.1.1 (world) policy-verdict:L3-L4 INGRESS ALLOWED "
        "(TCP Flags: SYN)\n");
  CHECK(line(head + ends +
             R"("verdict":"DROPPED","event_type":{"type":5},"policy_match_type":0,)"
             R"("traffic_direction":"EGRESS","Summary":"UDP"}})") ==
        "Dec  1 12:00:00.500: a/x (ID:1234) <> 1.1.1.1 (world) policy-verdict:none EGRESS DENIED (UDP)\n");
  CHECK(line(head + ends +
             R"("verdict":"AUDIT","event_type":{"type":5},"policy_match_type":4,)"
             R"("traffic_direction":"EGRESS","ip_trace_id":{"trace_id":"7"},"auth_type":"SPIRE",)"
             R"("Summary":"UDP"}})") ==
        "Dec  1 12:00:00.500: a/x (ID:1234) <> 1.1.1.1 (world) policy-verdict:all EGRESS AUDITED "
        "(IP Trace ID: 7; UDP; SPIRE)\n");
  CHECK(line(head + ends +
             R"("verdict":"FORWARDED","Type":"L7","is_reply":false,"l7":{"type":"REQUEST",)"
             R"("http":{"method":"GET","url":"http://x/"}},"Summary":"HTTP/1.1 GET http://x/"}})") ==
        "Dec  1 12:00:00.500: a/x (ID:1234) -> 1.1.1.1 (world) http-request FORWARDED "
        "(HTTP/1.1 GET http://x/)\n");
  CHECK(line(head + ends +
             R"("verdict":"FORWARDED","Type":"L7","is_reply":true,"l7":{"type":"RESPONSE",)"
             R"("dns":{"query":"x.","observation_source":"proxy"}},"Summary":"DNS Answer"}})") ==
        "Dec  1 12:00:00.500: 1.1.1.1 (world) <- a/x (ID:1234) dns-response proxy FORWARDED "
        "(DNS Answer)\n");
  CHECK(line(R"({"time":"2023-12-01T12:00:00.5Z","lost_events":{"source":"PERF_EVENT_RING_BUFFER",)"
             R"("num_events_lost":"12","cpu":3}})") ==
        "Dec  1 12:00:00.500 EVENTS LOST: PERF_EVENT_RING_BUFFER CPU(3) 12\n");
  // IPv6 addresses get brackets before a port; reserved identities by name.
  CHECK(line(head + R"("verdict":"FORWARDED","event_type":{"type":4,"sub_type":3},"is_reply":false,)"
                    R"("source":{"identity":1},"destination":{"identity":300},)"
                    R"("IP":{"source":"fd00::1","destination":"fd00::2","ipVersion":"IPv6"},)"
                    R"("l4":{"UDP":{"source_port":53,"destination_port":5353}},"Summary":"UDP"}})") ==
        "Dec  1 12:00:00.500: [fd00::1]:53 (host) -> [fd00::2]:5353 (ID:300) to-stack FORWARDED (UDP)\n");
}

TEST_CASE("relay node status goes to stderr; connected only with -vv") {
  const std::string unavailable =
      R"({"time":"2023-12-01T12:00:00Z","node_name":"relay","node_status":{"state_change":"NODE_UNAVAILABLE","node_names":["node3","node4"]}})";
  const std::string connected =
      R"({"time":"2023-12-01T12:00:00Z","node_name":"relay","node_status":{"state_change":"NODE_CONNECTED","node_names":["node1"]}})";
  auto r = run_axon({"observe", "--input-file", "-"}, {}, connected + "\n" + unavailable + "\n");
  CHECK(r.code == 0);
  CHECK(r.out.empty());
  CHECK(r.err == "Dec  1 12:00:00.000 [relay]: 2 nodes are unavailable: node3, node4\n");
  r = run_axon({"-vv", "observe", "--input-file", "-"}, {}, connected + "\n");
  CHECK(r.err == "Dec  1 12:00:00.000 [relay]: Receiving flows from 1 nodes: node1\n");
}
