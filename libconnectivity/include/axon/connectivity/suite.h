// `axon connectivity test`'s engine, in cilium-cli's shape: the suite
// (this file: workloads, actions, flow validation, the runner), the
// catalogue of tests (catalogue.h: what each test does, one place), and
// the report writers (report.h).
//
// The suite deploys client, client2, echo-same-node, echo-other-node,
// echo-udp and Services into the test namespace of the lab, a "world" HTTP
// host on the lab's LAN, then runs each selected test: applies its
// policies, waits until every agent enforces them, runs its actions (real
// traffic from inside the pods), removes the policies again whatever
// happens (the stop flag only stops further actions).
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/client/etcd_store.h"
#include "axon/lab/exec.h"
#include "axon/lab/paths.h"

namespace axon::connectivity {

using client::Json;

// The command's flags, as cilium-cli names them.
struct Options {
  std::vector<std::string> tests;  // --test: regular expressions; "!RE" skips
  std::string test_namespace = "axon-test";
  bool single_node = false;
  int test_concurrency = 1;
  int repeat_count = 1;
  std::string timeout = "0";  // the whole suite; "0": no limit
  std::string flow_validation = "warning";  // disabled | warning | strict
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
  bool debug = false;      // a line per action
  bool timestamp = false;  // every log line begins with the time
  bool pause_on_fail = false;
  bool exit_zero_on_failure = false;
  bool force_deploy = false;
  bool keep = false;
  bool cleanup = false;  // only remove what earlier runs left
};

// What is wrong with the options, as a usage error's text; nullopt when
// they are usable.
std::optional<std::string> check_options(const Options& o);

enum class Expect { success, drop };

struct Action {
  std::string name;  // "curl-0"
  std::string from;  // "axon-test/client-x (10.244.1.3)"
  std::string to;    // "axon-test/echo-other-node-y (10.244.2.4:8080)"
  bool passed = false;
  std::string message;
};

struct TestResult {
  std::string name;
  bool skipped = false;
  std::string skip_reason;
  std::vector<Action> actions;
  double seconds = 0;
  bool failed() const;
};

struct PodRef {
  std::string name, uid, ip, node;
};

// Where the suite writes its progress and reads Enter (--pause-on-fail).
struct Terminal {
  std::ostream& log;
  std::istream& in;
};

class Suite {
 public:
  Suite(const Options& o, lab::LabPaths paths, std::unique_ptr<client::ClusterStore> store,
        Terminal term, const std::atomic<bool>& stop);
  ~Suite();

  Status deploy();
  // `unavailable`: why the test cannot run here (a feature that is off),
  // reported as skipped with that reason.
  void run(const std::string& name, const std::function<void(TestResult&)>& body,
           std::vector<Json> policies = {}, bool needs_two_nodes = false,
           const std::string& unavailable = "");
  // Gateway API is on: axon's GatewayClass `cilium` exists.
  bool gateway_api();
  // Applies `objects` (a Gateway and its routes) for a test: the Gateway's
  // Service's ClusterIP once the client pod gets an echo's answer through
  // it ("" when not within 30 s).
  std::string gateway_up(const std::vector<Json>& objects, const std::string& gateway);
  void remove_objects(const std::vector<Json>& objects);
  void cleanup();
  const std::vector<TestResult>& results() const { return results_; }
  bool selected(const std::string& name) const;
  bool stopped() const { return stop_.load(); }
  std::ostream& log();

  // Actions.
  void http(TestResult& t, const PodRef& from, const std::string& url, const std::string& to,
            Expect e, const std::string& want_backend = "");
  void http_from_node(TestResult& t, const std::string& node, const PodRef& to, Expect e);
  // An HTTP request that L7 policy judges: passes when the answer's status
  // is `want_code` (403 from the node's proxy for a denied request), and,
  // with Hubble, when an L7 flow of it with that verdict is in the flow log.
  void http_l7(TestResult& t, const PodRef& from, const std::string& method,
               const std::string& url, const std::string& to, int want_code);
  void ping(TestResult& t, const PodRef& from, const PodRef& to, Expect e);
  void udp(TestResult& t, const PodRef& from, const PodRef& to, int port, Expect e);
  void dns(TestResult& t, const PodRef& from, const std::string& name, bool tcp, Expect e,
           const std::string& want_ip);
  // The large answer (the headless Service large-answer: more A records
  // than fit a UDP answer): asked over UDP, truncated, then asked again
  // over TCP by the resolver, as every stub resolver does.
  void dns_large(TestResult& t, const PodRef& from, Expect e);

  // Waits until every node's agent enforces the policies (`enforced`), or
  // none does any more (!enforced), as its GetPolicy reports: an agent
  // lists a policy only once every endpoint's map reflects it. False when
  // an agent does not answer or not in time.
  bool await_agents(const std::vector<Json>& policies, bool enforced);

  // Confirms through the flow API (the relay) that a drop from `src_ip`
  // was seen after `since`; says what it saw in the action's message.
  // `dst_port` (0: any) narrows it to the action's own traffic.
  void note_flow(Action& a, const std::string& seen, const std::string& what);
  void confirm_drop(Action& a, const std::string& src_ip,
                    std::chrono::system_clock::time_point since, uint16_t dst_port = 0);
  std::string flow_server;  // "" when flow validation is off or no relay answers

  PodRef client, client2, echo_same, echo_other, echo_udp;
  std::string echo_same_vip, echo_other_vip, nobackend_vip, world_ip = "10.0.0.100";
  std::vector<std::string> nodes;
  std::string ns() const { return o_.test_namespace; }
  const lab::LabPaths& lab() const { return paths_; }

 private:
  Result<PodRef> wait_pod(const std::string& app);
  void record(TestResult& t, Action a);
  lab::ExecResult exec(const PodRef& pod, std::vector<std::string> argv);
  int seconds(const std::string& d, int fallback) const;

  class TimestampBuf;
  std::unique_ptr<TimestampBuf> stamp_buf_;
  std::unique_ptr<std::ostream> stamped_;
  const Options& o_;
  lab::LabPaths paths_;
  std::unique_ptr<client::ClusterStore> store_;
  Terminal term_;
  const std::atomic<bool>& stop_;
  std::vector<TestResult> results_;
  std::optional<pid_t> world_pid_;
};

struct Report {
  std::string ns;  // the test namespace
  std::vector<TestResult> results;
  double seconds = 0;
  size_t run = 0, failed = 0, skipped = 0, actions = 0, failed_actions = 0;
  bool interrupted = false;  // the stop flag ended the run
};

// The whole run on a lab: deploy, every selected test (--repeat-count
// times, within --timeout), clean up; progress on term.log. With
// o.cleanup, only removes what earlier runs left. An error when the
// workloads cannot be deployed.
Result<Report> run(const Options& o, lab::LabPaths paths, std::unique_ptr<client::ClusterStore> store,
                   Terminal term, const std::atomic<bool>& stop);

}  // namespace axon::connectivity
