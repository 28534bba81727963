// The suite: workloads, actions, flow validation and the runner of
// `axon connectivity test` (cilium-cli's connectivity/check).
#include "axon/connectivity/suite.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <regex>
#include <sstream>
#include <thread>

#include "axon/agent/v1/agent.grpc.pb.h"
#include "axon/base/duration.h"
#include "axon/connectivity/catalogue.h"
#include "axon/hubble/client.h"
#include "axon/hubble/flow_decoder.h"
#include "axon/lab/process.h"

namespace axon::connectivity {

// --timestamp: each line of the log begins with the time, as cilium-cli's.
class Suite::TimestampBuf final : public std::streambuf {
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

namespace {

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

// A headless Service whose name the cluster DNS answers with `addresses`.
std::vector<Json> headless(const std::string& ns, const std::string& name,
                           const std::vector<std::string>& addresses, int port) {
  Json endpoints = Json::array();
  for (const auto& a : addresses)
    endpoints.push_back({{"addresses", Json::array({a})}, {"conditions", {{"ready", true}}}});
  const Json ports = Json::array({{{"name", "http"}, {"port", port}, {"protocol", "TCP"}}});
  return {{{"apiVersion", "v1"},
           {"kind", "Service"},
           {"metadata", {{"name", name}, {"namespace", ns}}},
           {"spec", {{"clusterIP", "None"}, {"ports", ports}}}},
          {{"apiVersion", "discovery.k8s.io/v1"},
           {"kind", "EndpointSlice"},
           {"metadata",
            {{"name", name + "-1"}, {"namespace", ns}, {"labels", {{"kubernetes.io/service-name", name}}}}},
           {"addressType", "IPv4"},
           {"endpoints", std::move(endpoints)},
           {"ports", ports}}};
}

std::vector<Json> large_answer(const std::string& ns) {
  std::vector<std::string> addresses;
  for (int i = 1; i <= kLargeAnswerRecords; ++i) addresses.push_back("192.0.2." + std::to_string(i));
  return headless(ns, "large-answer", addresses, 80);
}

}  // namespace

bool TestResult::failed() const {
  return std::any_of(actions.begin(), actions.end(), [](const Action& a) { return !a.passed; });
}

std::optional<std::string> check_options(const Options& o) {
  for (const auto& t : o.tests) {
    try {
      std::regex re(!t.empty() && t[0] == '!' ? t.substr(1) : t);
    } catch (const std::regex_error& e) {
      return "--test: \"" + t + "\" is not a valid regular expression: " + e.what();
    }
  }
  if (o.repeat_count < 1) return std::string("--repeat-count must be at least 1");
  if (o.test_concurrency != 1) {
    return "--test-concurrency " + std::to_string(o.test_concurrency) +
           ": axon runs the suite in one test namespace at a time (the full suite takes under a "
           "minute); leave it at 1";
  }
  return std::nullopt;
}

Suite::Suite(const Options& o, lab::LabPaths paths, std::unique_ptr<client::ClusterStore> store,
             Terminal term, const std::atomic<bool>& stop)
    : o_(o), paths_(std::move(paths)), store_(std::move(store)), term_(term), stop_(stop) {}

Suite::~Suite() = default;

std::ostream& Suite::log() {
  if (!o_.timestamp) return term_.log;
  if (!stamped_) {
    stamp_buf_ = std::make_unique<TimestampBuf>(term_.log);
    stamped_ = std::make_unique<std::ostream>(stamp_buf_.get());
  }
  return *stamped_;
}

int Suite::seconds(const std::string& d, int fallback) const {
  auto parsed = parse_duration(d);
  if (!parsed) return fallback;
  return std::max(1, static_cast<int>(std::chrono::duration_cast<std::chrono::seconds>(*parsed).count()));
}

bool Suite::selected(const std::string& name) const {
  bool any_positive = false, positive_hit = false;
  for (const auto& t : o_.tests) {
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
  for (int i = 0; i < 240 && !stop_.load(); ++i) {
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
  // The LAN host by name (to-fqdns).
  for (auto& o : headless(ns(), "world", {world_ip}, 8080)) objs.push_back(std::move(o));
  log() << "✨ [" << paths_.name << "] Deploying the test workloads into namespace " << ns()
           << " (client, client2 and echo-same-node on " << n1 << ", echo-other-node and echo-udp on "
           << n2 << ")...\n";
  for (const auto& o : objs) {
    if (o_.force_deploy && o["kind"] == "Deployment")
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
  for (int i = 0; i < 60 && !resolved && !stop_.load(); ++i) {
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
  if (o_.keep) return;
  log() << "🧹 [" << paths_.name << "] Removing namespace " << ns() << " and its workloads\n";
  for (const auto& [api, kind] : std::vector<std::pair<std::string, std::string>>{
           {"gateway.networking.k8s.io/v1", "HTTPRoute"}, {"gateway.networking.k8s.io/v1", "Gateway"},
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
  if (o_.debug || failed) {
    log() << "  [.] Action [" << t.name << ":" << a.name << ": " << a.from << " -> " << a.to
             << "]\n";
    log() << "  " << (a.passed ? "✅ " : "❌ ") << a.message << "\n";
  } else {
    log() << "." << std::flush;
  }
  t.actions.push_back(std::move(a));
  if (failed && o_.pause_on_fail && !stop_.load()) {
    // Time to look at the lab as the failure left it (policies still in place).
    log() << "⏸️  Paused after a failure: press Enter to go on (Ctrl-C stops)..." << std::flush;
    std::string line;
    std::getline(term_.in, line);
    log() << "\n";
  }
}

static std::string where(const PodRef& p) { return p.name + " (" + p.ip + ")"; }

// The port of "http://host:port/..." (80 when none is given).
static uint16_t url_port(const std::string& url) {
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
static void judge(Action& a, int code, const std::string& out, Expect e, const std::string& want) {
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

namespace {

// GetFlows `since` a little before an action started (the kernel's and this
// process's clocks are converted separately), not as far back as the
// previous action.
void set_since(observer::GetFlowsRequest& req, std::chrono::system_clock::time_point started) {
  const auto ns_since = std::chrono::duration_cast<std::chrono::nanoseconds>(
                            (started - std::chrono::milliseconds(250)).time_since_epoch())
                            .count();
  req.mutable_since()->set_seconds(ns_since / 1'000'000'000);
  req.mutable_since()->set_nanos(static_cast<int32_t>(ns_since % 1'000'000'000));
}

// The first flow `req` finds, described by `describe`; flows reach the relay
// within a moment, so it looks a few times. Empty: none.
std::string first_flow(const std::string& server, const observer::GetFlowsRequest& req,
                       const std::function<std::string(const flow::Flow&)>& describe) {
  std::string seen;
  for (int i = 0; i < 10 && seen.empty(); ++i) {
    auto src = hubble::grpc_flow_source(server, {});
    (void)src->get_flows(
        req,
        [&](const observer::GetFlowsResponse& r) -> Status {
          if (r.has_flow() && seen.empty()) seen = describe(r.flow());
          return {};
        },
        [] { return false; });
    if (seen.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }
  return seen;
}

}  // namespace

// Appends the flow log's evidence to a passed action (`what` names the flow
// looked for); with --flow-validation strict, none fails it.
void Suite::note_flow(Action& a, const std::string& seen, const std::string& what) {
  if (!seen.empty()) {
    a.message += "; " + seen;
  } else if (o_.flow_validation == "strict") {
    a.passed = false;
    a.message += "; but no " + what + " was seen (--flow-validation strict)";
  } else {
    a.message += "; ⚠️  no " + what + " seen in the flow log";
  }
}

void Suite::confirm_drop(Action& a, const std::string& src_ip,
                         std::chrono::system_clock::time_point since, uint16_t dst_port) {
  if (flow_server.empty() || !a.passed) return;
  observer::GetFlowsRequest req;
  req.set_number(50);
  set_since(req, since);
  auto* f = req.add_whitelist();
  f->add_source_ip(src_ip);
  f->add_verdict(flow::DROPPED);
  if (dst_port != 0) f->add_destination_port(std::to_string(dst_port));
  const std::string seen = first_flow(flow_server, req, [](const flow::Flow& fl) {
    return "flow: DROPPED (" + flow::DropReason_Name(fl.drop_reason_desc()) + ") " +
           fl.ip().source() + " -> " + fl.ip().destination();
  });
  note_flow(a, seen, "DROPPED flow from " + src_ip);
}

void Suite::http(TestResult& t, const PodRef& from, const std::string& url, const std::string& to,
                 Expect e, const std::string& want_backend) {
  if (stop_.load()) return;
  Action a{"curl", ns() + "/" + where(from), to, false, ""};
  const auto started = std::chrono::system_clock::now();
  const int timeout = seconds(o_.connect_timeout, 2);
  lab::ExecResult r;
  for (int attempt = 0; attempt <= (e == Expect::success ? o_.retry : 0); ++attempt) {
    r = exec(from, {"curl", "-s", "--connect-timeout", std::to_string(timeout), "-m",
                    std::to_string(seconds(o_.request_timeout, 10)), url});
    if (r.code == 0) break;
  }
  judge(a, r.code, r.out, e, want_backend);
  if (e == Expect::drop) confirm_drop(a, from.ip, started, url_port(url));
  record(t, std::move(a));
}

void Suite::http_l7(TestResult& t, const PodRef& from, const std::string& method,
                    const std::string& url, const std::string& to, int want_code) {
  if (stop_.load()) return;
  Action a{"curl", ns() + "/" + where(from), method + " " + to, false, ""};
  const auto started = std::chrono::system_clock::now();
  lab::ExecResult r;
  for (int attempt = 0; attempt <= o_.retry; ++attempt) {
    r = exec(from, {"curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-X", method,
                    "--connect-timeout", std::to_string(seconds(o_.connect_timeout, 2)), "-m",
                    std::to_string(seconds(o_.request_timeout, 10)), url});
    if (r.code == 0 && r.out == std::to_string(want_code)) break;
  }
  a.passed = r.code == 0 && r.out == std::to_string(want_code);
  a.message = r.code != 0 ? "command failed with exit code " + std::to_string(r.code)
                          : "HTTP " + r.out + (a.passed ? "" : ", expected " + std::to_string(want_code));
  if (a.passed && !flow_server.empty()) {
    // The proxy's L7 flow of this request: DROPPED when it answered 403.
    observer::GetFlowsRequest req;
    req.set_number(50);
    set_since(req, started);
    auto* f = req.add_whitelist();
    f->add_source_ip(from.ip);
    f->add_event_type()->set_type(hubble::kMessageTypeL7);
    f->add_http_method(method);
    f->add_verdict(want_code == 403 ? flow::DROPPED : flow::FORWARDED);
    const std::string seen = first_flow(flow_server, req, [](const flow::Flow& fl) {
      return "flow: " + flow::Verdict_Name(fl.verdict()) + " " + fl.l7().http().method() + " " +
             fl.l7().http().url();
    });
    note_flow(a, seen, "L7 flow of it");
  }
  record(t, std::move(a));
}

void Suite::http_from_node(TestResult& t, const std::string& node, const PodRef& to, Expect e) {
  if (stop_.load()) return;
  Action a{"curl", "node " + node, ns() + "/" + where(to) + ":8080", false, ""};
  auto r = lab::exec_in_netns(paths_.node_netns(node),
                              {"curl", "-s", "--connect-timeout",
                               std::to_string(seconds(o_.connect_timeout, 2)),
                               "http://" + to.ip + ":8080/"},
                              true);
  judge(a, r ? r->code : 125, r ? r->out : r.error().str(), e, to.name);
  record(t, std::move(a));
}

void Suite::ping(TestResult& t, const PodRef& from, const PodRef& to, Expect e) {
  if (stop_.load()) return;
  Action a{"ping", ns() + "/" + where(from), ns() + "/" + where(to), false, ""};
  const auto started = std::chrono::system_clock::now();
  auto r = exec(from, {"ping", "-c", "1", "-W", std::to_string(seconds(o_.connect_timeout, 2)), to.ip});
  if (r.code != 0 && e == Expect::success)
    r = exec(from, {"ping", "-c", "1", "-W", std::to_string(seconds(o_.connect_timeout, 2)), to.ip});
  judge(a, r.code, r.code == 0 ? "echo reply" : r.out, e, "");
  if (e == Expect::drop) confirm_drop(a, from.ip, started);
  record(t, std::move(a));
}

void Suite::udp(TestResult& t, const PodRef& from, const PodRef& to, int port, Expect e) {
  if (stop_.load()) return;
  Action a{"udp", ns() + "/" + where(from), ns() + "/" + to.name + " (" + to.ip + ":" + std::to_string(port) + "/UDP)", false, ""};
  const std::string script = "exec 3<>/dev/udp/" + to.ip + "/" + std::to_string(port) +
                             "; printf connectivity >&3; timeout " +
                             std::to_string(seconds(o_.connect_timeout, 2)) +
                             " dd bs=512 count=1 status=none <&3";
  auto r = exec(from, {"bash", "-c", script});
  if (r.code == 0 && r.out.find("connectivity") == std::string::npos) r.code = 1;
  judge(a, r.code, r.out, e, "");
  record(t, std::move(a));
}

void Suite::dns(TestResult& t, const PodRef& from, const std::string& name, bool tcp, Expect e,
                const std::string& want_ip) {
  if (stop_.load()) return;
  const auto started = std::chrono::system_clock::now();
  Action a{tcp ? "dns-tcp" : "dns-udp", ns() + "/" + where(from),
           "cluster DNS 10.96.0.10:53/" + std::string(tcp ? "TCP" : "UDP") + " (" + name + ")", false, ""};
  std::vector<std::string> argv = {"dig", "+short", "+tries=1",
                                   "+time=" + std::to_string(seconds(o_.connect_timeout, 2)), name};
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
  if (stop_.load()) return;
  const auto started = std::chrono::system_clock::now();
  const std::string name = "large-answer." + ns() + ".svc.cluster.local";
  Action a{"dns-large", ns() + "/" + where(from),
           "cluster DNS 10.96.0.10:53/UDP, then TCP (" + name + ", " +
               std::to_string(kLargeAnswerRecords) + " A records)",
           false, ""};
  const std::string wait = std::to_string(seconds(o_.connect_timeout, 2));
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
  while (std::chrono::steady_clock::now() < deadline && !stop_.load()) {
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

bool Suite::gateway_api() {
  auto c = store_->get(client::ObjectRef{"gateway.networking.k8s.io/v1", "GatewayClass", "", "cilium"});
  return c && *c;
}

std::string Suite::gateway_up(const std::vector<Json>& objects, const std::string& gateway) {
  for (const auto& o : objects)
    if (auto r = store_->apply(o); !r) return "";
  for (int i = 0; i < 300 && !stop_.load(); ++i) {
    auto s = store_->get(client::ObjectRef{"v1", "Service", ns(), "cilium-gateway-" + gateway});
    const std::string ip = s && *s ? client::member(**s, "spec").value("clusterIP", "") : "";
    // Served once the node proxies have the route: an echo answers.
    if (!ip.empty() && exec(client, {"curl", "-s", "-m", "1", "http://" + ip + "/"}).out.find("pod=") !=
                           std::string::npos)
      return ip;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "";
}

void Suite::remove_objects(const std::vector<Json>& objects) {
  for (const auto& o : objects) (void)store_->remove(client::ObjectRef::of(o));
}

void Suite::run(const std::string& name, const std::function<void(TestResult&)>& body,
                std::vector<Json> policies, bool needs_two_nodes, const std::string& unavailable) {
  TestResult t;
  t.name = name;
  const size_t index = results_.size() + 1;
  if (!selected(name)) {
    t.skipped = true;
    t.skip_reason = "skipped by user";
  } else if (needs_two_nodes && (nodes.size() < 2 || o_.single_node)) {
    t.skipped = true;
    t.skip_reason = "needs two nodes";
  } else if (!unavailable.empty()) {
    t.skipped = true;
    t.skip_reason = unavailable;
  }
  if (stop_.load()) {
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
  if (!o_.debug) log() << "\n";
  results_.push_back(std::move(t));
}

Result<Report> run(const Options& o, lab::LabPaths paths, std::unique_ptr<client::ClusterStore> store,
                   Terminal term, const std::atomic<bool>& stop) {
  Suite s(o, std::move(paths), std::move(store), term, stop);
  Report report;
  report.ns = s.ns();
  if (o.cleanup) {
    s.cleanup();
    return report;
  }
  const auto start = std::chrono::steady_clock::now();
  if (auto st = s.deploy(); !st) {
    s.cleanup();
    return st.error();
  }
  std::ostream& log = s.log();
  if (o.flow_validation != "disabled" && o.hubble) {
    std::string server = o.hubble_server;
    if (server.empty() && std::filesystem::exists(s.lab().relay_socket()))
      server = "unix://" + s.lab().relay_socket();
    if (server.empty()) {
      log << "ℹ️  No Hubble relay in lab " << s.lab().name
          << " (hubble.relay.enabled): drops are confirmed by the client only\n";
    } else {
      s.flow_server = server;
      log << "🔭 Validating drops in the flow log (" << server << ", --flow-validation "
          << o.flow_validation << ")\n";
    }
  }
  log << "🏃[" << s.ns() << "] Running tests...\n";
  std::optional<std::chrono::steady_clock::time_point> deadline;
  if (auto t = parse_duration(o.timeout); t && t->count() > 0)
    deadline = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(*t);
  for (int i = 0; i < o.repeat_count && !stop.load(); ++i) {
    if (deadline && std::chrono::steady_clock::now() > *deadline) break;
    run_catalogue(s);
  }
  s.cleanup();
  const double total =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  report.seconds = total;
  report.results = s.results();
  report.interrupted = stop.load();
  for (const auto& r : report.results) {
    if (r.skipped) {
      ++report.skipped;
      continue;
    }
    ++report.run;
    report.failed += r.failed() ? 1 : 0;
    report.actions += r.actions.size();
    for (const auto& a : r.actions) report.failed_actions += a.passed ? 0 : 1;
  }
  return report;
}

}  // namespace axon::connectivity
