// axon connectivity test: deploy test workloads and check that traffic,
// services, DNS and policy behave as they should.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <regex>
#include <sstream>
#include <thread>

#include "axon/agent/v1/agent.grpc.pb.h"
#include "axon/client/duration.h"
#include "axon/client/etcd_store.h"
#include "axon/hubble/client.h"
#include "axon/lab/exec.h"
#include "axon/lab/paths.h"
#include "axon/lab/process.h"
#include "cli/cluster.h"
#include "cli/command.h"
#include "cli/output.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;
using client::Json;

struct ConnectivityTestParams {
  std::vector<std::string> tests;
  std::string test_namespace = "axon-test";
  bool single_node = false;
  int test_concurrency = 1;
  int repeat_count = 1;
  std::string timeout = "0";
  std::string flow_validation = "warning";
  bool all_flows = false;
  bool hubble = true;
  std::string hubble_server;
  std::string external_target;
  std::string external_ip;
  std::string external_cidr;
  std::vector<std::string> node_selector;
  std::string connect_timeout = "2s";
  std::string request_timeout = "10s";
  int retry = 3;
  std::string retry_delay = "1s";
  std::string junit_file;
  std::vector<std::string> junit_properties;
  bool debug = false;
  bool timestamp = false;
  bool pause_on_fail = false;
  bool exit_zero_on_failure = false;
  bool force_deploy = false;
  bool keep = false;
  bool cleanup = false;
};


// ---------------------------------------------------------------------------
// The suite. Workloads live in the test namespace; each policy test applies
// its policies, runs its actions and removes its policies again, whatever
// happens (Ctrl-C included: the signal only stops further actions).

std::atomic<bool> g_interrupted{false};
void on_sigint(int) { g_interrupted.store(true); }

enum class Expect { success, drop };

struct Action {
  std::string name;    // "curl-0"
  std::string from;    // "axon-test/client-x (10.244.1.3)"
  std::string to;      // "axon-test/echo-other-node-y (10.244.2.4:8080)"
  bool passed = false;
  std::string message;
};

struct TestResult {
  std::string name;
  bool skipped = false;
  std::string skip_reason;
  std::vector<Action> actions;
  double seconds = 0;
  bool failed() const {
    return std::any_of(actions.begin(), actions.end(), [](const Action& a) { return !a.passed; });
  }
};

struct PodRef {
  std::string name, uid, ip, node;
};

// --timestamp: each line of the log begins with the time, as cilium-cli's.
class TimestampBuf final : public std::streambuf {
 public:
  explicit TimestampBuf(std::ostream& to) : to_(to) {}

 protected:
  int overflow(int c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    if (at_line_start_) {
      auto now = std::chrono::system_clock::now();
      std::time_t t = std::chrono::system_clock::to_time_t(now);
      std::tm tm{};
      ::gmtime_r(&t, &tm);
      char buf[32];
      std::strftime(buf, sizeof buf, "[%H:%M:%S] ", &tm);
      to_ << buf;
    }
    to_.put(static_cast<char>(c));
    at_line_start_ = c == '\n';
    return c;
  }
  int sync() override {
    to_.flush();
    return 0;
  }

 private:
  std::ostream& to_;
  bool at_line_start_ = true;
};

class Suite {
 public:
  Suite(cli::Context& ctx, const ConnectivityTestParams& p, lab::LabPaths paths,
        std::unique_ptr<client::EtcdStore> store)
      : ctx_(ctx), p_(p), paths_(std::move(paths)), store_(std::move(store)) {}

  Status deploy();
  void run(const std::string& name, const std::function<void(TestResult&)>& body,
           std::vector<Json> policies = {}, bool needs_two_nodes = false);
  void cleanup();
  const std::vector<TestResult>& results() const { return results_; }
  bool selected(const std::string& name) const;

  // Actions.
  void http(TestResult& t, const PodRef& from, const std::string& url, const std::string& to,
            Expect e, const std::string& want_backend = "");
  void http_from_node(TestResult& t, const std::string& node, const PodRef& to, Expect e);
  void ping(TestResult& t, const PodRef& from, const PodRef& to, Expect e);
  void udp(TestResult& t, const PodRef& from, const PodRef& to, int port, Expect e);
  void dns(TestResult& t, const PodRef& from, const std::string& name, bool tcp, Expect e,
           const std::string& want_ip);
  // The large answer (the headless Service large-answer: kLargeAnswerRecords
  // A records, more than fit a UDP answer): asked over UDP, truncated, then
  // asked again over TCP by the resolver, as every stub resolver does.
  void dns_large(TestResult& t, const PodRef& from, Expect e);

  // Waits until every node's agent enforces the policies (`enforced`), or
  // none does any more (!enforced), as its GetPolicy reports: an agent
  // lists a policy only once every endpoint's map reflects it. False when
  // an agent does not answer or not in time.
  bool await_agents(const std::vector<Json>& policies, bool enforced);

  // Confirms through the flow API (the relay) that a drop from `src_ip`
  // was seen after `since`; says what it saw in the action's message.
  // `dst_port` (0: any) narrows it to the action's own traffic.
  void confirm_drop(Action& a, const std::string& src_ip, std::chrono::system_clock::time_point since,
                    uint16_t dst_port = 0);
  std::string flow_server;  // "" when flow validation is off or no relay answers

  PodRef client, client2, echo_same, echo_other, echo_udp;
  std::string echo_same_vip, echo_other_vip, nobackend_vip, world_ip = "10.0.0.100";
  std::vector<std::string> nodes;
  std::string ns() const { return p_.test_namespace; }

 private:
  Result<PodRef> wait_pod(const std::string& app);
  void record(TestResult& t, Action a);
  lab::ExecResult exec(const PodRef& pod, std::vector<std::string> argv);

  // Progress goes to stdout, or to stderr when stdout carries -o json|yaml.
  std::ostream& log() {
    std::ostream& to =
        cli::parse_format(ctx_.global.output) == cli::Format::table ? ctx_.out : ctx_.err;
    if (!p_.timestamp) return to;
    if (!stamped_) {
      stamp_buf_ = std::make_unique<TimestampBuf>(to);
      stamped_ = std::make_unique<std::ostream>(stamp_buf_.get());
    }
    return *stamped_;
  }
  std::unique_ptr<TimestampBuf> stamp_buf_;
  std::unique_ptr<std::ostream> stamped_;
  cli::Context& ctx_;
  const ConnectivityTestParams& p_;
  lab::LabPaths paths_;
  std::unique_ptr<client::EtcdStore> store_;
  std::vector<TestResult> results_;
  std::optional<pid_t> world_pid_;
  int seconds(const std::string& d, int fallback) const {
    auto parsed = client::parse_duration(d);
    if (!parsed) return fallback;
    return std::max(1, static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(*parsed).count()));
  }
};

Json deployment(const std::string& ns, const std::string& name, Json labels, const std::string& node,
                std::vector<std::string> command) {
  labels["app"] = name;
  return {{"apiVersion", "apps/v1"},
          {"kind", "Deployment"},
          {"metadata", {{"name", name}, {"namespace", ns}, {"labels", {{"app.kubernetes.io/part-of", "axon-connectivity-test"}}}}},
          {"spec",
           {{"replicas", 1},
            {"selector", {{"matchLabels", {{"app", name}}}}},
            {"template",
             {{"metadata", {{"labels", labels}}},
              {"spec",
               {{"nodeSelector", {{"kubernetes.io/hostname", node}}},
                {"containers",
                 Json::array({{{"name", name}, {"image", "axon/http-echo"}, {"command", command}}})}}}}}}}};
}

Json service(const std::string& ns, const std::string& name, const std::string& app, int port,
             const std::string& proto = "TCP") {
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec",
           {{"selector", {{"app", app}}},
            {"ports", Json::array({{{"name", "p" + std::to_string(port)}, {"port", port},
                                    {"targetPort", port}, {"protocol", proto}}})}}}};
}

// A headless Service without a selector and an EndpointSlice of documentation
// addresses (192.0.2.0/24, never contacted): cluster DNS answers its name
// with one A record per address, too many for one UDP answer (> 1232 bytes,
// the EDNS size dig and dnsmasq use), so the answer needs TCP.
constexpr int kLargeAnswerRecords = 100;
std::vector<Json> large_answer(const std::string& ns) {
  Json endpoints = Json::array();
  for (int i = 1; i <= kLargeAnswerRecords; ++i) {
    endpoints.push_back({{"addresses", Json::array({"192.0.2." + std::to_string(i)})},
                         {"conditions", {{"ready", true}}}});
  }
  return {{{"apiVersion", "v1"},
           {"kind", "Service"},
           {"metadata", {{"name", "large-answer"}, {"namespace", ns}}},
           {"spec",
            {{"clusterIP", "None"},
             {"ports", Json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}})}}}},
          {{"apiVersion", "discovery.k8s.io/v1"},
           {"kind", "EndpointSlice"},
           {"metadata",
            {{"name", "large-answer-1"},
             {"namespace", ns},
             {"labels", {{"kubernetes.io/service-name", "large-answer"}}}}},
           {"addressType", "IPv4"},
           {"endpoints", std::move(endpoints)},
           {"ports", Json::array({{{"name", "http"}, {"port", 80}, {"protocol", "TCP"}}})}}};
}

Json cnp(const std::string& ns, const std::string& name, Json spec) {
  return {{"apiVersion", "cilium.io/v2"},
          {"kind", "CiliumNetworkPolicy"},
          {"metadata", {{"name", name}, {"namespace", ns}}},
          {"spec", std::move(spec)}};
}

bool Suite::selected(const std::string& name) const {
  bool any_positive = false, positive_hit = false;
  for (const auto& t : p_.tests) {
    bool neg = !t.empty() && t[0] == '!';
    std::regex re(neg ? t.substr(1) : t);
    bool hit = std::regex_search(name, re);
    if (neg && hit) return false;
    if (!neg) {
      any_positive = true;
      positive_hit = positive_hit || hit;
    }
  }
  return !any_positive || positive_hit;
}

Result<PodRef> Suite::wait_pod(const std::string& app) {
  for (int i = 0; i < 240 && !g_interrupted.load(); ++i) {
    auto pods = store_->list("v1", "Pod", ns(), "app=" + app);
    if (!pods) return pods.error();
    for (const auto& pod : *pods) {
      const Json& st = client::member(pod, "status");
      bool ready = false;
      for (const auto& c : client::member(st, "conditions"))
        ready = ready || (c.value("type", "") == "Ready" && c.value("status", "") == "True");
      if (!ready || st.value("podIP", "").empty()) continue;
      return PodRef{pod["metadata"].value("name", ""), pod["metadata"].value("uid", ""),
                    st.value("podIP", ""), client::member(pod, "spec").value("nodeName", "")};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return Error{"deployment " + ns() + "/" + app + " did not become ready in 60s"};
}

Status Suite::deploy() {
  auto listed = store_->list("v1", "Node", "", "");
  if (!listed) return listed.error();
  for (const auto& n : *listed) nodes.push_back(n["metadata"].value("name", ""));
  std::sort(nodes.begin(), nodes.end());
  if (nodes.empty()) return Error{"the lab has no nodes"};
  const std::string n1 = nodes[0], n2 = nodes.size() > 1 ? nodes[1] : nodes[0];
  const std::vector<std::string> http = {"axon", "workload", "http-echo", "--port", "8080"};
  std::vector<Json> objs = {
      {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", ns()}}}},
      deployment(ns(), "client", {{"kind", "client"}}, n1, http),
      deployment(ns(), "client2", {{"kind", "client"}, {"other", "client"}}, n1, http),
      deployment(ns(), "echo-same-node", {{"kind", "echo"}}, n1, http),
      deployment(ns(), "echo-other-node", {{"kind", "echo"}}, n2, http),
      deployment(ns(), "echo-udp", {{"kind", "echo"}}, n2,
                 {"axon", "workload", "udp-echo", "--port", "9000"}),
      service(ns(), "echo-same-node", "echo-same-node", 8080),
      service(ns(), "echo-other-node", "echo-other-node", 8080),
      service(ns(), "no-backends", "nothing-has-this-label", 8080)};
  for (auto& o : large_answer(ns())) objs.push_back(std::move(o));
  log() << "✨ [" << paths_.name << "] Deploying the test workloads into namespace " << ns()
           << " (client, client2 and echo-same-node on " << n1 << ", echo-other-node and echo-udp on "
           << n2 << ")...\n";
  for (const auto& o : objs) {
    if (p_.force_deploy && o["kind"] == "Deployment")
      (void)store_->remove(client::ObjectRef::of(o));
    auto r = store_->apply(o);
    if (!r) return r.error();
  }
  for (auto [ref, app] : std::vector<std::pair<PodRef*, std::string>>{
           {&client, "client"}, {&client2, "client2"}, {&echo_same, "echo-same-node"},
           {&echo_other, "echo-other-node"}, {&echo_udp, "echo-udp"}}) {
    log() << "⌛ [" << paths_.name << "] Waiting for deployment " << ns() << "/" << app
             << " to become ready...\n";
    auto pod = wait_pod(app);
    if (!pod) return pod.error();
    *ref = *pod;
  }
  auto vip = [&](const std::string& svc) -> std::string {
    auto s = store_->get(client::ObjectRef{"v1", "Service", ns(), svc});
    return s && *s ? client::member(**s, "spec").value("clusterIP", "") : "";
  };
  echo_same_vip = vip("echo-same-node");
  echo_other_vip = vip("echo-other-node");
  nobackend_vip = vip("no-backends");
  // As cilium-cli does: the client must reach cluster DNS, and DNS must know
  // the test's names, before tests rely on them.
  log() << "⌛ [" << paths_.name << "] Waiting for pod " << ns() << "/" << client.name
        << " to reach DNS server on 10.96.0.10 and resolve the test's Services...\n";
  bool resolved = false;
  for (int i = 0; i < 60 && !resolved && !g_interrupted.load(); ++i) {
    auto a = exec(client, {"dig", "+short", "+tries=1", "+time=1",
                           "echo-same-node." + ns() + ".svc.cluster.local"});
    auto b = exec(client, {"dig", "+short", "+tcp", "+tries=1", "+time=1",
                           "large-answer." + ns() + ".svc.cluster.local"});
    resolved = a.code == 0 && a.out.starts_with(echo_same_vip + "\n") && b.code == 0 &&
               std::count(b.out.begin(), b.out.end(), '\n') == kLargeAnswerRecords;
    if (!resolved) std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  if (!resolved) return Error{"pod " + ns() + "/" + client.name +
                              " cannot resolve the test's Services through cluster DNS (10.96.0.10) "
                              "within 60 s: see `axon get pods -n kube-system -l k8s-app=kube-dns`"};
  // "The world": an HTTP server on the lab's LAN host, outside the cluster.
  auto world = lab::spawn_in_netns(paths_.client_netns(),
                                   {"axon", "workload", "http-echo", "--port", "8080"},
                                   paths_.dir() + "/logs/connectivity-world.log");
  if (!world) return world.error();
  world_pid_ = *world;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return {};
}

void Suite::cleanup() {
  if (world_pid_) {
    lab::stop_process(*world_pid_, std::chrono::seconds(2));
    world_pid_.reset();
  }
  if (p_.keep) return;
  log() << "🧹 [" << paths_.name << "] Removing namespace " << ns() << " and its workloads\n";
  for (const auto& [api, kind] : std::vector<std::pair<std::string, std::string>>{
           {"apps/v1", "Deployment"}, {"v1", "Service"}, {"discovery.k8s.io/v1", "EndpointSlice"},
           {"cilium.io/v2", "CiliumNetworkPolicy"}}) {
    auto objs = store_->list(api, kind, ns(), "");
    if (!objs) continue;
    for (const auto& o : *objs) (void)store_->remove(client::ObjectRef::of(o));
  }
  (void)store_->remove(client::ObjectRef{"v1", "Namespace", "", ns()});
}

lab::ExecResult Suite::exec(const PodRef& pod, std::vector<std::string> argv) {
  auto r = lab::exec_in_pod(paths_, pod.uid, std::move(argv), true);
  if (!r) return lab::ExecResult{125, r.error().str()};
  return *r;
}

void Suite::record(TestResult& t, Action a) {
  a.name += "-" + std::to_string(t.actions.size());
  const bool failed = !a.passed;
  if (p_.debug || failed) {
    log() << "  [.] Action [" << t.name << ":" << a.name << ": " << a.from << " -> " << a.to
             << "]\n";
    log() << "  " << (a.passed ? "✅ " : "❌ ") << a.message << "\n";
  } else {
    log() << "." << std::flush;
  }
  t.actions.push_back(std::move(a));
  if (failed && p_.pause_on_fail && !g_interrupted.load()) {
    // Time to look at the lab as the failure left it (policies still in place).
    log() << "⏸️  Paused after a failure: press Enter to go on (Ctrl-C stops)..." << std::flush;
    std::string line;
    std::getline(*ctx_.in, line);
    log() << "\n";
  }
}

std::string where(const PodRef& p) { return p.name + " (" + p.ip + ")"; }

// The port of "http://host:port/..." (80 when none is given).
uint16_t url_port(const std::string& url) {
  auto host = url.find("//");
  host = host == std::string::npos ? 0 : host + 2;
  auto end = url.find('/', host);
  auto colon = url.rfind(':', end);
  if (colon == std::string::npos || colon < host) return 80;
  try {
    return static_cast<uint16_t>(std::stoi(url.substr(colon + 1, end - colon - 1)));
  } catch (...) {
    return 0;
  }
}

// A connection's fate from curl's exit code.
void judge(Action& a, int code, const std::string& out, Expect e, const std::string& want) {
  if (e == Expect::success) {
    a.passed = code == 0 && (want.empty() || out.find("pod=" + want) != std::string::npos);
    a.message = code == 0 ? (a.passed ? "answered: " + out.substr(0, out.find('\n'))
                                      : "answered by the wrong backend: " + out)
                          : "command failed with exit code " + std::to_string(code) +
                                (code == 28 ? " (timed out: dropped)" : "") + ": " + out;
  } else {
    a.passed = code != 0;
    a.message = code != 0 ? "no connection, as expected (exit code " + std::to_string(code) + ")"
                          : "expected a drop, but it connected: " + out;
  }
}

void Suite::confirm_drop(Action& a, const std::string& src_ip,
                         std::chrono::system_clock::time_point since, uint16_t dst_port) {
  if (flow_server.empty() || !a.passed) return;
  observer::GetFlowsRequest req;
  req.set_number(50);
  // A little before the action started (clocks of the kernel and of this
  // process are converted separately), not as far back as the previous one.
  const auto ns_since = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            (since - std::chrono::milliseconds(250)).time_since_epoch())
                            .count();
  req.mutable_since()->set_seconds(ns_since / 1'000'000'000);
  req.mutable_since()->set_nanos(static_cast<int32_t>(ns_since % 1'000'000'000));
  auto* f = req.add_whitelist();
  f->add_source_ip(src_ip);
  f->add_verdict(flow::DROPPED);
  if (dst_port != 0) f->add_destination_port(std::to_string(dst_port));
  std::string seen;
  // Events reach the relay within a moment; look a few times.
  for (int i = 0; i < 10 && seen.empty(); ++i) {
    auto src = hubble::grpc_flow_source(flow_server, {});
    (void)src->get_flows(
        req,
        [&](const observer::GetFlowsResponse& r) -> Status {
          if (r.has_flow() && seen.empty()) {
            const auto& fl = r.flow();
            seen = "flow: DROPPED (" + flow::DropReason_Name(fl.drop_reason_desc()) + ") " +
                   fl.ip().source() + " -> " + fl.ip().destination();
          }
          return {};
        },
        [] { return false; });
    if (seen.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  if (!seen.empty()) {
    a.message += "; " + seen;
  } else if (p_.flow_validation == "strict") {
    a.passed = false;
    a.message += "; but no DROPPED flow from " + src_ip + " was seen (--flow-validation strict)";
  } else {
    a.message += "; ⚠️  no DROPPED flow from " + src_ip + " seen in the flow log";
  }
}

void Suite::http(TestResult& t, const PodRef& from, const std::string& url, const std::string& to,
                 Expect e, const std::string& want_backend) {
  if (g_interrupted.load()) return;
  Action a{"curl", ns() + "/" + where(from), to, false, ""};
  const auto started = std::chrono::system_clock::now();
  const int timeout = seconds(p_.connect_timeout, 2);
  lab::ExecResult r;
  for (int attempt = 0; attempt <= (e == Expect::success ? p_.retry : 0); ++attempt) {
    r = exec(from, {"curl", "-s", "--connect-timeout", std::to_string(timeout), "-m",
                    std::to_string(seconds(p_.request_timeout, 10)), url});
    if (r.code == 0) break;
  }
  judge(a, r.code, r.out, e, want_backend);
  if (e == Expect::drop) confirm_drop(a, from.ip, started, url_port(url));
  record(t, std::move(a));
}

void Suite::http_from_node(TestResult& t, const std::string& node, const PodRef& to, Expect e) {
  if (g_interrupted.load()) return;
  Action a{"curl", "node " + node, ns() + "/" + where(to) + ":8080", false, ""};
  auto r = lab::exec_in_netns(paths_.node_netns(node),
                              {"curl", "-s", "--connect-timeout",
                               std::to_string(seconds(p_.connect_timeout, 2)),
                               "http://" + to.ip + ":8080/"},
                              true);
  judge(a, r ? r->code : 125, r ? r->out : r.error().str(), e, to.name);
  record(t, std::move(a));
}

void Suite::ping(TestResult& t, const PodRef& from, const PodRef& to, Expect e) {
  if (g_interrupted.load()) return;
  Action a{"ping", ns() + "/" + where(from), ns() + "/" + where(to), false, ""};
  const auto started = std::chrono::system_clock::now();
  auto r = exec(from, {"ping", "-c", "1", "-W", std::to_string(seconds(p_.connect_timeout, 2)), to.ip});
  if (r.code != 0 && e == Expect::success)
    r = exec(from, {"ping", "-c", "1", "-W", std::to_string(seconds(p_.connect_timeout, 2)), to.ip});
  judge(a, r.code, r.code == 0 ? "echo reply" : r.out, e, "");
  if (e == Expect::drop) confirm_drop(a, from.ip, started);
  record(t, std::move(a));
}

void Suite::udp(TestResult& t, const PodRef& from, const PodRef& to, int port, Expect e) {
  if (g_interrupted.load()) return;
  Action a{"udp", ns() + "/" + where(from), ns() + "/" + to.name + " (" + to.ip + ":" + std::to_string(port) + "/UDP)", false, ""};
  const std::string script = "exec 3<>/dev/udp/" + to.ip + "/" + std::to_string(port) +
                             "; printf connectivity >&3; timeout " +
                             std::to_string(seconds(p_.connect_timeout, 2)) +
                             " dd bs=512 count=1 status=none <&3";
  auto r = exec(from, {"bash", "-c", script});
  if (r.code == 0 && r.out.find("connectivity") == std::string::npos) r.code = 1;
  judge(a, r.code, r.out, e, "");
  record(t, std::move(a));
}

void Suite::dns(TestResult& t, const PodRef& from, const std::string& name, bool tcp, Expect e,
                const std::string& want_ip) {
  if (g_interrupted.load()) return;
  const auto started = std::chrono::system_clock::now();
  Action a{tcp ? "dns-tcp" : "dns-udp", ns() + "/" + where(from),
           "cluster DNS 10.96.0.10:53/" + std::string(tcp ? "TCP" : "UDP") + " (" + name + ")", false, ""};
  std::vector<std::string> argv = {"dig", "+short", "+tries=1",
                                   "+time=" + std::to_string(seconds(p_.connect_timeout, 2)), name};
  if (tcp) argv.insert(argv.begin() + 1, "+tcp");
  auto r = exec(from, argv);
  std::string ip = r.out.substr(0, r.out.find('\n'));
  bool ok = r.code == 0 && !ip.empty() && ip.find(';') == std::string::npos;
  if (e == Expect::success) {
    a.passed = ok && (want_ip.empty() || ip == want_ip);
    a.message = a.passed ? "resolved to " + ip : "did not resolve (" + r.out + ")";
  } else {
    a.passed = !ok;
    a.message = a.passed ? "no answer, as expected" : "expected no answer, got " + ip;
    confirm_drop(a, from.ip, started, 53);
  }
  record(t, std::move(a));
}

void Suite::dns_large(TestResult& t, const PodRef& from, Expect e) {
  if (g_interrupted.load()) return;
  const auto started = std::chrono::system_clock::now();
  const std::string name = "large-answer." + ns() + ".svc.cluster.local";
  Action a{"dns-large", ns() + "/" + where(from),
           "cluster DNS 10.96.0.10:53/UDP, then TCP (" + name + ", " +
               std::to_string(kLargeAnswerRecords) + " A records)",
           false, ""};
  const std::string wait = std::to_string(seconds(p_.connect_timeout, 2));
  auto r = exec(from, {"dig", "+tries=1", "+time=" + wait, name, "A"});
  const bool truncated = r.out.find("Truncated, retrying in TCP mode") != std::string::npos;
  // Answer lines: "NAME TTL IN A ADDRESS" (comments start with ';').
  size_t records = 0;
  std::istringstream lines(r.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream words(line);
    std::string name, ttl, cls, type;
    if (line.starts_with(";") || !(words >> name >> ttl >> cls >> type)) continue;
    if (cls == "IN" && type == "A") ++records;
  }
  const bool answered = r.code == 0 && records == static_cast<size_t>(kLargeAnswerRecords);
  if (e == Expect::success) {
    a.passed = answered && truncated;
    a.message = a.passed ? "truncated over UDP, all " + std::to_string(records) +
                               " records over TCP"
                : !truncated ? "the UDP answer was not truncated (" + std::to_string(records) +
                                   " records): the test needs a larger answer"
                             : "no answer over TCP after truncation (" + std::to_string(records) +
                                   " records, dig exit " + std::to_string(r.code) + ")";
  } else {
    a.passed = truncated && !answered;
    a.message = a.passed ? "truncated over UDP; the TCP retry got no answer, as expected"
                : !truncated ? "expected a truncated UDP answer, got none"
                             : "expected the TCP retry to fail, got " + std::to_string(records) +
                                   " records";
    confirm_drop(a, from.ip, started, 53);
  }
  record(t, std::move(a));
}

bool Suite::await_agents(const std::vector<Json>& policies, bool enforced) {
  namespace pb = axon::agent::v1;
  std::vector<std::string> names;
  for (const auto& pol : policies) {
    const auto& meta = pol["metadata"];
    names.push_back(pol.value("kind", "") + " " +
                    (meta.contains("namespace") ? meta.value("namespace", "") + "/" : "") +
                    meta.value("name", ""));
  }
  std::vector<std::unique_ptr<pb::Agent::Stub>> stubs;
  for (const auto& node : nodes) {
    stubs.push_back(pb::Agent::NewStub(grpc::CreateChannel(
        "unix:" + paths_.node_agent_socket(node), grpc::InsecureChannelCredentials())));
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline && !g_interrupted.load()) {
    bool all = true;
    for (auto& stub : stubs) {
      grpc::ClientContext c;
      c.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
      pb::PolicyResponse r;
      if (!stub->GetPolicy(&c, pb::Empty(), &r).ok()) {
        all = false;
        break;
      }
      for (const auto& n : names) {
        bool has = std::find(r.policies().begin(), r.policies().end(), n) != r.policies().end();
        all = all && has == enforced;
      }
      if (!all) break;
    }
    if (all) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

void Suite::run(const std::string& name, const std::function<void(TestResult&)>& body,
                std::vector<Json> policies, bool needs_two_nodes) {
  TestResult t;
  t.name = name;
  const size_t index = results_.size() + 1;
  if (!selected(name)) {
    t.skipped = true;
    t.skip_reason = "skipped by user";
  } else if (needs_two_nodes && (nodes.size() < 2 || p_.single_node)) {
    t.skipped = true;
    t.skip_reason = "needs two nodes";
  }
  if (g_interrupted.load()) {
    t.skipped = true;
    t.skip_reason = "interrupted";
  }
  if (t.skipped) {
    log() << "[=] [" << ns() << "] Skipping test [" << name << "] [" << index << "] ("
             << t.skip_reason << ")\n";
    results_.push_back(std::move(t));
    return;
  }
  log() << "[=] [" << ns() << "] Test [" << name << "] [" << index << "]\n";
  auto start = std::chrono::steady_clock::now();
  for (const auto& pol : policies) {
    if (auto r = store_->apply(pol); !r) {
      t.actions.push_back({"apply-policy", "", pol["metadata"].value("name", ""), false, r.error().str()});
    }
  }
  if (!policies.empty() && !await_agents(policies, true)) {
    t.actions.push_back({"await-policy", "", "every node's agent", false,
                         "the agents did not report the test's policies as enforced within 10 s"});
  }
  try {
    body(t);
  } catch (const std::exception& e) {
    t.actions.push_back({"error", "", "", false, e.what()});
  }
  for (const auto& pol : policies) (void)store_->remove(client::ObjectRef::of(pol));
  if (!policies.empty() && !await_agents(policies, false)) {
    log() << "⚠️  [" << ns() << "] the agents still enforce the policies of [" << name
          << "] after 10 s: the next test may see them\n";
  }
  t.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!p_.debug) log() << "\n";
  results_.push_back(std::move(t));
}

void define_tests(Suite& s) {
  const std::string ns = s.ns();
  auto url = [](const std::string& host, int port = 8080) {
    return "http://" + host + ":" + std::to_string(port) + "/";
  };
  const auto& c = s.client;
  auto to_pod = [&](const PodRef& p, int port = 8080) {
    return ns + "/" + p.name + " (" + p.ip + ":" + std::to_string(port) + ")";
  };
  s.run("no-policies", [&](TestResult& t) {
    s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::success, s.echo_same.name);
    if (s.nodes.size() > 1)
      s.http(t, c, url(s.echo_other.ip), to_pod(s.echo_other), Expect::success, s.echo_other.name);
    s.http(t, c, url(s.client2.ip), to_pod(s.client2), Expect::success, s.client2.name);
    s.udp(t, c, s.echo_udp, 9000, Expect::success);
    s.ping(t, c, s.echo_other, Expect::success);
    s.ping(t, c, s.echo_same, Expect::success);
    s.http(t, c, url("echo-same-node." + ns), ns + "/echo-same-node (" + s.echo_same_vip + ":8080)",
           Expect::success, s.echo_same.name);
    s.http(t, c, url("echo-other-node." + ns), ns + "/echo-other-node (" + s.echo_other_vip + ":8080)",
           Expect::success, s.echo_other.name);
    s.http(t, c, url(s.world_ip), "world " + s.world_ip + ":8080", Expect::success);
    s.http_from_node(t, s.echo_same.node, s.echo_same, Expect::success);
  });
  s.run("dns", [&](TestResult& t) {
    s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::success, s.echo_same_vip);
    s.dns(t, c, "echo-other-node." + ns + ".svc.cluster.local", true, Expect::success, s.echo_other_vip);
    s.dns_large(t, c, Expect::success);
  });
  s.run("allow-all",
        [&](TestResult& t) {
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::success, s.echo_same.name);
          s.http(t, s.client2, url(s.echo_other.ip), to_pod(s.echo_other), Expect::success,
                 s.echo_other.name);
        },
        {cnp(ns, "allow-all", {{"endpointSelector", Json::object()},
                               {"ingress", Json::array({{{"fromEntities", Json::array({"all"})}}})},
                               {"egress", Json::array({{{"toEntities", Json::array({"all"})}}})}})});
  s.run("client-ingress",
        [&](TestResult& t) {
          s.http(t, s.client2, url(s.client.ip), to_pod(s.client), Expect::success, s.client.name);
          s.http(t, s.echo_same, url(s.client.ip), to_pod(s.client), Expect::drop);
        },
        {cnp(ns, "client-ingress",
             {{"endpointSelector", {{"matchLabels", {{"app", "client"}}}}},
              {"ingress", Json::array({{{"fromEndpoints",
                                          Json::array({{{"matchLabels", {{"kind", "client"}}}}})}}})}})});
  s.run("echo-ingress",
        [&](TestResult& t) {
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::success, s.echo_same.name);
          s.http(t, c, url(s.echo_same.ip, 8081), to_pod(s.echo_same, 8081), Expect::drop);
          s.http(t, s.echo_other, url(s.echo_same.ip), to_pod(s.echo_same), Expect::drop);
        },
        {cnp(ns, "echo-ingress",
             {{"endpointSelector", {{"matchLabels", {{"app", "echo-same-node"}}}}},
              {"ingress",
               Json::array({{{"fromEndpoints", Json::array({{{"matchLabels", {{"kind", "client"}}}}})},
                             {"toPorts", Json::array({{{"ports", Json::array({{{"port", "8080"},
                                                                               {"protocol", "TCP"}}})}}})}}})}})});
  s.run("default-deny",
        [&](TestResult& t) {
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::drop);
          s.http(t, c, url(s.echo_other_vip), ns + "/echo-other-node (" + s.echo_other_vip + ":8080)",
                 Expect::drop);
          s.ping(t, c, s.echo_other, Expect::drop);
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::drop, "");
          s.http(t, c, url(s.world_ip), "world " + s.world_ip + ":8080", Expect::drop);
        },
        {cnp(ns, "default-deny", {{"endpointSelector", Json::object()},
                                  {"ingress", Json::array({Json::object()})},
                                  {"egress", Json::array({Json::object()})}})});
  auto dns_policy = [&](const std::string& name, Json ports) {
    return cnp(ns, name,
               {{"endpointSelector", {{"matchLabels", {{"kind", "client"}}}}},
                {"egress", Json::array({{{"toEndpoints",
                                          Json::array({{{"matchLabels",
                                                         {{"k8s:io.kubernetes.pod.namespace", "kube-system"},
                                                          {"k8s-app", "kube-dns"}}}}})},
                                         {"toPorts", Json::array({{{"ports", ports}}})}}})}});
  };
  s.run("dns-only",
        [&](TestResult& t) {
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::success, s.echo_same_vip);
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", true, Expect::success, s.echo_same_vip);
          s.dns_large(t, c, Expect::success);
          s.http(t, c, url(s.echo_same.ip), to_pod(s.echo_same), Expect::drop);
          s.http(t, c, url(s.world_ip), "world " + s.world_ip + ":8080", Expect::drop);
        },
        {dns_policy("dns-only", Json::array({{{"port", "53"}, {"protocol", "UDP"}},
                                              {{"port", "53"}, {"protocol", "TCP"}}}))});
  s.run("dns-udp-only",
        [&](TestResult& t) {
          // The seed's warning: with UDP only, answers that need TCP fail.
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", false, Expect::success, s.echo_same_vip);
          s.dns(t, c, "echo-same-node." + ns + ".svc.cluster.local", true, Expect::drop, "");
          s.dns_large(t, c, Expect::drop);
        },
        {dns_policy("dns-udp-only", Json::array({{{"port", "53"}, {"protocol", "UDP"}}}))});
  s.run("service-no-backends", [&](TestResult& t) {
    s.http(t, c, url(s.nobackend_vip), ns + "/no-backends (" + s.nobackend_vip + ":8080)", Expect::drop);
  });
}

void write_junit(const std::string& file, const std::vector<TestResult>& results,
                 const std::vector<std::string>& properties, double total) {
  auto esc = [](const std::string& in) {
    std::string o;
    for (char ch : in) {
      switch (ch) {
        case '&': o += "&amp;"; break;
        case '<': o += "&lt;"; break;
        case '>': o += "&gt;"; break;
        case '"': o += "&quot;"; break;
        default: o += ch;
      }
    }
    return o;
  };
  size_t failures = 0, skipped = 0;
  for (const auto& r : results) {
    failures += r.failed() ? 1 : 0;
    skipped += r.skipped ? 1 : 0;
  }
  std::ofstream out(file);
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites tests=\"" << results.size() << "\" failures=\"" << failures << "\" time=\""
      << total << "\">\n"
      << "  <testsuite name=\"connectivity test\" package=\"axon\" tests=\"" << results.size()
      << "\" failures=\"" << failures << "\" skipped=\"" << skipped << "\" time=\"" << total << "\">\n";
  if (!properties.empty()) {
    out << "    <properties>\n";
    for (const auto& kv : properties) {
      auto eq = kv.find('=');
      out << "      <property name=\"" << esc(kv.substr(0, eq)) << "\" value=\""
          << esc(eq == std::string::npos ? "" : kv.substr(eq + 1)) << "\"></property>\n";
    }
    out << "    </properties>\n";
  }
  for (const auto& r : results) {
    out << "    <testcase name=\"" << esc(r.name) << "\" classname=\"connectivity test\" time=\""
        << r.seconds << "\">\n";
    if (r.skipped) out << "      <skipped message=\"" << esc(r.skip_reason) << "\"></skipped>\n";
    for (const auto& a : r.actions) {
      if (a.passed) continue;
      out << "      <failure message=\"" << esc(r.name + ":" + a.name + ": " + a.from + " -> " + a.to)
          << "\" type=\"failure\">" << esc(a.message) << "</failure>\n";
    }
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
}

int run_suite(cli::Context& ctx, const ConnectivityTestParams& p) {
  for (const auto& t : p.tests) {
    try {
      std::regex re(!t.empty() && t[0] == '!' ? t.substr(1) : t);
    } catch (const std::regex_error& e) {
      throw cli::UsageError("--test: \"" + t + "\" is not a valid regular expression: " + e.what());
    }
  }
  if (p.repeat_count < 1) throw cli::UsageError("--repeat-count must be at least 1");
  if (p.test_concurrency != 1) {
    throw cli::UsageError(
        "--test-concurrency " + std::to_string(p.test_concurrency) +
        ": axon runs the suite in one test namespace at a time (the full suite takes under a "
        "minute); leave it at 1");
  }
  if (!ctx.global.kubeconfig.empty() || !ctx.global.kube_context.empty()) {
    ctx.err << "Error: axon connectivity test runs on the embedded lab (--lab); on a Kubernetes "
               "cluster it is not built yet\n";
    return cli::kExitFailed;
  }
  auto paths = lab::find_lab(ctx.global.state_dir, ctx.global.lab);
  if (!paths) {
    ctx.err << "Error: " << paths.error().str() << "\n";
    return cli::kExitFailed;
  }
  auto store = cli::connect_lab(ctx);
  if (!store) {
    ctx.err << "Error: " << store.error().str() << "\n";
    return cli::kExitFailed;
  }
  Suite s(ctx, p, *paths, std::move(*store));
  g_interrupted.store(false);
  auto old = std::signal(SIGINT, on_sigint);
  struct Restore {
    decltype(old) h;
    ~Restore() { std::signal(SIGINT, h); }
  } restore{old};
  if (p.cleanup) {
    s.cleanup();
    return cli::kExitOk;
  }
  const auto start = std::chrono::steady_clock::now();
  if (auto st = s.deploy(); !st) {
    ctx.err << "Error: " << st.error().str() << "\n";
    s.cleanup();
    return cli::kExitFailed;
  }
  std::ostream& log = cli::parse_format(ctx.global.output) == cli::Format::table ? ctx.out : ctx.err;
  if (p.flow_validation != "disabled" && p.hubble) {
    std::string server = p.hubble_server;
    if (server.empty() && std::filesystem::exists(paths->relay_socket()))
      server = "unix://" + paths->relay_socket();
    if (server.empty()) {
      log << "ℹ️  No Hubble relay in lab " << paths->name
          << " (hubble.relay.enabled): drops are confirmed by the client only\n";
    } else {
      s.flow_server = server;
      log << "🔭 Validating drops in the flow log (" << server << ", --flow-validation "
          << p.flow_validation << ")\n";
    }
  }
  log << "🏃[" << s.ns() << "] Running tests...\n";
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (auto t = client::parse_duration(p.timeout); t && t->count() > 0)
    deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(*t);
  for (int i = 0; i < p.repeat_count && !g_interrupted.load(); ++i) {
    if (deadline && std::chrono::steady_clock::now() > *deadline) break;
    define_tests(s);
  }
  s.cleanup();
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  size_t run = 0, failed = 0, skipped = 0, actions = 0, failed_actions = 0;
  for (const auto& r : s.results()) {
    if (r.skipped) {
      ++skipped;
      continue;
    }
    ++run;
    failed += r.failed() ? 1 : 0;
    actions += r.actions.size();
    for (const auto& a : r.actions) failed_actions += a.passed ? 0 : 1;
  }
  if (!p.junit_file.empty()) write_junit(p.junit_file, s.results(), p.junit_properties, total);
  auto format = cli::parse_format(ctx.global.output);
  if (format != cli::Format::table) {
    nlohmann::ordered_json j = {{"tests", run}, {"failed", failed}, {"skipped", skipped},
                                {"actions", actions}, {"failedActions", failed_actions},
                                {"seconds", total}, {"results", nlohmann::ordered_json::array()}};
    for (const auto& r : s.results()) {
      nlohmann::ordered_json t = {{"name", r.name}, {"skipped", r.skipped},
                                  {"passed", !r.skipped && !r.failed()}, {"seconds", r.seconds},
                                  {"failures", nlohmann::ordered_json::array()}};
      for (const auto& a : r.actions)
        if (!a.passed) t["failures"].push_back(a.name + ": " + a.from + " -> " + a.to + ": " + a.message);
      j["results"].push_back(t);
    }
    cli::print_document(ctx.out, format, j);
  } else {
    ctx.out << "\n📋 Test Report [" << s.ns() << "]\n";
    if (failed == 0) {
      ctx.out << "✅ [" << s.ns() << "] All " << run << " tests (" << actions
              << " actions) successful, " << skipped << " tests skipped, in "
              << std::fixed << std::setprecision(1) << total << " s.\n";
    } else {
      ctx.out << "❌ " << failed << "/" << run << " tests failed (" << failed_actions << "/"
              << actions << " actions), " << skipped << " tests skipped:\n";
      for (const auto& r : s.results()) {
        if (!r.failed()) continue;
        ctx.out << "Test [" << r.name << "]:\n";
        for (const auto& a : r.actions)
          if (!a.passed) ctx.out << "  ❌ " << r.name << ":" << a.name << ": " << a.from << " -> " << a.to << "\n";
      }
    }
  }
  if (g_interrupted.load()) {
    ctx.err << "Error: interrupted; the test policies were removed\n";
    return cli::kExitFailed;
  }
  if (failed > 0) {
    ctx.err << "Error: [" << s.ns() << "] " << failed << " tests failed\n";
    return p.exit_zero_on_failure ? cli::kExitOk : cli::kExitFailed;
  }
  return cli::kExitOk;
}

void setup_test(CommandBuilder& b) {
  auto& p = b.params<ConnectivityTestParams>();
  b.description(
      "Deploy a small set of workloads into a test namespace and check the cluster end to end: "
      "pod to pod on the same and on another node (TCP, UDP, ICMP), pod to Service, DNS over UDP "
      "and TCP, traffic to a host outside the cluster, and policy scenarios (default deny, "
      "ingress and egress rules, the DNS exception). Every expected drop is confirmed in the "
      "flow log with its verdict and reason.\n"
      "\n"
      "Prints a line per action and a summary; exits 1 when any test fails. --junit-file "
      "writes a JUnit XML report for CI.");
  b.group("Tests");
  b.list("--test", p.tests, "REGEX",
         "Run only tests whose name matches; a leading ! skips matching tests", true);
  b.option("--test-namespace", p.test_namespace, "NAMESPACE", "Namespace for the test workloads");
  b.flag("--single-node", p.single_node, "Run only the tests that need a single node");
  b.option("--test-concurrency", p.test_concurrency, "N",
           "Test namespaces to run in parallel (only 1: one namespace at a time)");
  b.option("--repeat-count", p.repeat_count, "N", "Run the selected tests N times");
  b.duration("--timeout", p.timeout, "Give up on the whole suite after this long (0: never)");
  b.group("Flow validation");
  b.choice("--flow-validation", p.flow_validation, {"disabled", "warning", "strict"},
           "How a missing or unexpected flow counts: ignored, a warning, or a failure");
  b.flag("--all-flows", p.all_flows, "Print every flow seen while validating");
  b.flag("--hubble", p.hubble, "Validate with the flow API (--hubble=false to skip)");
  b.option("--hubble-server", p.hubble_server, "ADDR",
           "Flow API to use (default: the cluster's relay)");
  b.group("Targets");
  b.option("--external-target", p.external_target, "NAME",
           "Name of a host outside the cluster (default: the lab's world host)");
  b.option("--external-ip", p.external_ip, "IP", "IP of a host outside the cluster");
  b.option("--external-cidr", p.external_cidr, "CIDR", "CIDR that holds --external-ip");
  b.list("--node-selector", p.node_selector, "KEY=VALUE", "Place test workloads on matching nodes");
  b.group("Requests");
  b.duration("--connect-timeout", p.connect_timeout, "Timeout to establish a connection");
  b.duration("--request-timeout", p.request_timeout, "Timeout of a whole request");
  b.option("--retry", p.retry, "N", "Retries of a failed request before it counts as failed");
  b.duration("--retry-delay", p.retry_delay, "Delay between retries");
  b.group("Output and lifecycle");
  b.file("--junit-file", p.junit_file, "Write a JUnit XML report to FILE");
  b.list("--junit-property", p.junit_properties, "KEY=VALUE", "Add a property to the JUnit report");
  b.flag("-d,--debug", p.debug, "Print every action's line and result (as -v does)");
  b.flag("-t,--timestamp", p.timestamp, "Begin every output line with the time (UTC)");
  b.flag("-p,--pause-on-fail", p.pause_on_fail,
         "After a failed action, wait for Enter before going on (the lab as the failure left it)");
  b.flag("--exit-zero-on-failure", p.exit_zero_on_failure, "Exit 0 even when tests fail");
  b.flag("--force-deploy", p.force_deploy,
         "Redeploy the test workloads even when they look healthy");
  b.flag("--keep", p.keep, "Keep the test namespace and workloads at the end");
  b.flag("--cleanup", p.cleanup, "Only remove what earlier runs left behind");
  b.example("axon connectivity test");
  b.example("axon connectivity test --test dns --junit-file report.xml");
  b.example("axon connectivity test --test '!dns-udp-only'");
  b.action([&ctx = b.ctx(), &p] {
    p.debug = p.debug || ctx.global.verbose > 0;  // -v: every action's line, as cilium-cli's
    return run_suite(ctx, p);
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(connectivity, {"connectivity", "Check connectivity in the cluster",
                                     "Getting started", nullptr})
AXON_REGISTER_COMMAND(connectivity_test,
                      {"connectivity test", "Run the end-to-end connectivity and policy tests",
                       "Commands", axon::commands::setup_test})
