// axon observe: flows from the Hubble-compatible flow API, filtered and
// printed like `hubble observe`.
//
// Flags become a GetFlowsRequest as hubble builds it (axon/hubble/request.h;
// the order of filter flags matters for --not, so they are read back from
// CLI11's parse order), flows come from a FlowSource (the relay, one agent,
// any server, or a JSON-lines file) and go through a FlowPrinter.

#include <atomic>
#include <chrono>
#include <fstream>
#include <set>

#include "axon/base/strings.h"
#include "axon/base/duration.h"
#include "axon/hubble/client.h"
#include "axon/hubble/observer.h"
#include "axon/hubble/printer.h"
#include "axon/hubble/request.h"
#include "axon/lab/flows.h"
#include "cli/command.h"
#include "cli/stop_signals.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

// Flag values as the user gave them. Filter flags are read again in their
// command-line order from the parse (see filter_flags()).
struct ObserveParams {
  // Selectors
  uint64_t last = 0;
  uint64_t first = 0;
  bool all = false;
  bool follow = false;
  std::string since;
  std::string until;
  // Filters
  int not_count = 0;
  std::vector<std::string> uuid, node_name, node_label, cluster, from_cluster, to_cluster;
  std::vector<std::string> protocol, tcp_flags, type, verdict, drop_reason_desc;
  std::vector<std::string> http_status, http_method, http_path, http_url, http_header;
  std::vector<std::string> trace_id, ip_trace_id;
  std::vector<std::string> fqdn, from_fqdn, to_fqdn, ip, from_ip, to_ip, snat_ip;
  bool ipv4 = false, ipv6 = false;
  std::string ip_version;
  std::vector<std::string> pod, from_pod, to_pod, ns, from_ns, to_ns;
  bool all_ns = false, from_all_ns = false, to_all_ns = false;
  std::vector<std::string> label, from_label, to_label, service, from_service, to_service;
  std::vector<std::string> port, from_port, to_port, workload, from_workload, to_workload;
  std::vector<std::string> identity, from_identity, to_identity;
  std::vector<std::string> traffic_direction, interface;
  bool encrypted = false, unencrypted = false;
  // Raw filters
  std::vector<std::string> allowlist, denylist;
  // Formatting
  std::string output = "compact";
  bool print_node_name = false;
  bool print_policy_names = false;
  std::string time_format = "StampMilli";
  std::string color = "auto";
  bool ip_translation = true;
  bool numeric = false;
  std::vector<std::string> field_mask;
  bool use_default_field_masks = true;
  // Server
  std::string server;
  std::string node;
  std::string timeout = "5s";
  std::string request_timeout = "12s";
  // Other
  std::string input_file;
  bool silent_errors = false;
  bool print_raw_filters = false;
};

const std::vector<std::string> kVerdicts = {"FORWARDED", "DROPPED", "AUDIT",     "REDIRECTED",
                                            "ERROR",     "TRACED",  "TRANSLATED"};
const std::vector<std::string> kProtocols = {"icmp", "icmpv4", "icmpv6", "sctp", "tcp",  "udp",
                                             "vrrp", "igmp",   "dns",    "http", "kafka"};
const std::vector<std::string> kEventTypes = {"capture",
                                              "drop",
                                              "l7",
                                              "policy-verdict",
                                              "trace",
                                              "trace-sock",
                                              "trace:to-endpoint",
                                              "trace:from-endpoint",
                                              "trace:to-stack",
                                              "trace:from-stack",
                                              "trace:to-host",
                                              "trace:from-host",
                                              "trace:to-network",
                                              "trace:from-network",
                                              "trace:to-overlay",
                                              "trace:from-overlay",
                                              "trace:to-proxy",
                                              "trace:from-proxy"};
const std::vector<std::string> kTcpFlags = {"syn", "ack", "fin", "rst", "psh",
                                            "urg", "ece", "cwr", "ns"};
const std::vector<std::string> kTimeFormats = {
    "StampMilli", "YearMonthDay", "YearMonthDayHour", "YearMonthDayHourMinute",
    "RFC3339",    "RFC3339Milli", "RFC3339Micro",     "RFC3339Nano",
    "RFC1123Z"};


bool flag_is_false(const std::string& v) {
  std::string l = to_lower(v);
  return l == "false" || l == "0" || l == "off" || l == "no";
}

// The filter flags in the order they were given (`--not` included), with
// their values: what hubble's flag parser sees.
std::vector<hubble::FilterFlag> filter_flags(const CLI::App& app) {
  std::map<const CLI::Option*, std::string> names;
  for (const auto& name : hubble::filter_flag_names()) {
    if (const auto* opt = app.get_option_no_throw("--" + name)) names[opt] = name;
  }
  std::map<const CLI::Option*, size_t> seen;
  std::vector<hubble::FilterFlag> out;
  for (const CLI::Option* opt : app.parse_order()) {
    auto it = names.find(opt);
    if (it == names.end()) continue;
    size_t k = seen[opt]++;
    const auto& results = opt->results();
    std::string value = k < results.size() ? results[k] : "";
    if (opt->get_expected_max() == 0 || it->second == "not") {  // a flag
      if (flag_is_false(value)) continue;
      value = "true";
    }
    out.push_back({it->second, value});
  }
  return out;
}

std::chrono::milliseconds duration_ms(const std::string& text) {
  auto d = parse_duration(text);  // validated at parse time
  return d ? std::chrono::duration_cast<std::chrono::milliseconds>(*d)
           : std::chrono::milliseconds(5000);
}

hubble::OutputFormat output_format(const std::string& name) {
  if (name == "dict") return hubble::OutputFormat::dict;
  if (name == "json") return hubble::OutputFormat::json;
  if (name == "jsonpb") return hubble::OutputFormat::jsonpb;
  if (name == "table") return hubble::OutputFormat::table;
  return hubble::OutputFormat::compact;
}

int run_observe(cli::Context& ctx, const CLI::App& app, const ObserveParams& p) {
  const bool json_out = p.output == "json" || p.output == "jsonpb";
  if (p.output == "table" && p.follow) {
    throw cli::UsageError("table output format is not compatible with follow mode");
  }
  if (!json_out && !p.field_mask.empty()) {
    throw cli::UsageError(p.output + " output format is not compatible with custom field mask");
  }

  hubble::RequestOptions ro;
  ro.selectors = {p.last, p.first, p.all, p.follow, p.since, p.until, !p.input_file.empty()};
  ro.filters = filter_flags(app);
  ro.allowlist = p.allowlist;
  ro.denylist = p.denylist;
  if (json_out) {
    ro.field_mask = p.field_mask;
  } else if (p.use_default_field_masks) {
    ro.field_mask = hubble::default_field_mask();
  }
  ro.now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
  auto req = hubble::build_flows_request(ro);
  if (!req) throw cli::UsageError(req.error().message);
  if (!p.server.empty() && !p.node.empty()) {
    throw cli::UsageError("cannot set both --server and --node");
  }
  std::string server_target;
  if (!p.server.empty()) {
    auto t = hubble::grpc_target(p.server);
    if (!t) throw cli::UsageError("--server: " + t.error().message);
    server_target = *t;
  }
  if (p.print_raw_filters) {
    ctx.out << hubble::raw_filters_yaml(*req);
    return cli::kExitOk;
  }

  auto fail = [&](const std::string& msg) {
    if (!p.silent_errors) ctx.err << "Error: " << msg << "\n";
    return cli::kExitFailed;
  };

  // Where the flows come from.
  std::unique_ptr<hubble::FlowSource> source;
  std::ifstream file;
  if (!p.input_file.empty()) {
    std::istream* in = ctx.in;
    if (p.input_file != "-") {
      file.open(p.input_file);
      if (!file) throw cli::UsageError("--input-file " + p.input_file + ": cannot open the file");
      in = &file;
    }
    source = hubble::json_lines_flow_source(*in, [&](const std::string& w) {
      if (!p.silent_errors) ctx.err << "warning: " << p.input_file << ": " << w << "\n";
    });
  } else {
    std::string target = server_target;
    if (!target.empty()) {
    } else if (!p.node.empty()) {
      auto t = lab::lab_node_resolver(ctx.global.state_dir, ctx.global.lab)
                   ->observer_target(p.node);
      if (!t) return fail(t.error().message);
      target = *t;
    } else {
      auto t = lab::default_flow_server(ctx.global.state_dir, ctx.global.lab);
      if (!t) return fail(t.error().message);
      target = *t;
    }
    source = hubble::grpc_flow_source(
        target, {duration_ms(p.timeout), duration_ms(p.request_timeout)});
  }

  hubble::PrinterOptions po;
  po.format = output_format(p.output);
  po.time_format = p.time_format;
  po.color = p.color == "always" || (p.color == "auto" && ctx.color());
  po.node_name = p.print_node_name;
  po.ip_translation = p.ip_translation && !p.numeric;
  po.debug = ctx.global.verbose >= 2;
  po.legacy_json = ctx.env("HUBBLE_COMPAT").find("legacy-json-output") != std::string::npos;
  hubble::FlowPrinter printer(po, ctx.out, ctx.err);

  // Ctrl-C ends `observe -f` cleanly (exit 0) instead of killing the process.
  std::optional<cli::StopSignalScope> signals;
  hubble::StopRequested stop = ctx.stop_requested;
  if (!stop) {
    signals.emplace();
    stop = [] { return cli::stop_requested(); };
  }
  bool output_closed = false;
  auto status = source->get_flows(
      *req,
      [&](const observer::GetFlowsResponse& r) -> Status {
        printer.write(r);
        if (p.follow) ctx.out.flush();
        if (!ctx.out.good()) {
          output_closed = true;  // `| head` went away
          return Error{"output closed"};
        }
        return {};
      },
      stop);
  printer.finish();
  if (output_closed) return cli::kExitOk;
  if (!status) return fail(status.error().message);
  return cli::kExitOk;
}

void setup(CommandBuilder& b) {
  auto& p = b.params<ObserveParams>();
  b.description(
      "Print flows: who talked to whom, and what was forwarded or dropped and why. Flows come "
      "from the flow API of the cluster's relay (all nodes, in time order), of one agent "
      "(--node), of any Hubble-compatible server (--server), or from a file of JSON flows "
      "(--input-file).\n"
      "\n"
      "Filters of the same flag are ORed (--pod a --pod b); different flags are ANDed. --not "
      "negates the filter that follows it. --pod, --ip, --label, --namespace and the other "
      "two-sided filters match either end; their --from-/--to- forms match one end.\n"
      "\n"
      "Without a selector, prints the last 20 flows; -f keeps following new ones.");

  b.group("Selectors");
  b.option("--last", p.last, "N",
           "Get the last N flows (per node); 0 with no other selector means 20");
  b.option("--first", p.first, "N", "Get the first (oldest) N flows");
  b.flag("--all", p.all, "Get every flow in the buffer");
  b.flag("-f,--follow", p.follow, "Keep printing new flows as they arrive");
  b.option("--since", p.since, "TIME", "Flows since TIME: relative (3s, 4m, 1h43m) or absolute");
  b.option("--until", p.until, "TIME", "Flows until TIME: relative or absolute (ignored with -f)");

  b.group("Filters");
  b.count("--not", p.not_count, "Negate the filter that follows");
  b.list("--uuid", p.uuid, "UUID", "Flow with this UUID");
  b.list("--node-name", p.node_name, "NAME", "Flows seen on this node (patterns: k8s*)");
  b.list("--node-label", p.node_label, "SELECTOR", "Flows seen on nodes with these labels");
  b.list("--cluster", p.cluster, "NAME", "Flows from or to this cluster");
  b.list("--from-cluster", p.from_cluster, "NAME", "Flows from this cluster");
  b.list("--to-cluster", p.to_cluster, "NAME", "Flows to this cluster");
  b.choices("--protocol", p.protocol, kProtocols, "Flows of this L4 or L7 protocol");
  b.suggest(b.list("--tcp-flags", p.tcp_flags, "FLAGS", "Flows with these TCP flags (syn,ack)"),
            kTcpFlags);
  b.suggest(b.list("-t,--type", p.type, "TYPE[:SUBTYPE]", "Flows of this event type"), kEventTypes);
  b.choices("--verdict", p.verdict, kVerdicts, "Flows with this verdict");
  b.list("--drop-reason-desc", p.drop_reason_desc, "REASON",
         "Drops with this reason (POLICY_DENIED)");
  b.list("--http-status", p.http_status, "CODE", "HTTP responses with this status (404, 5+)");
  b.list("--http-method", p.http_method, "METHOD", "HTTP requests with this method");
  b.list("--http-path", p.http_path, "REGEX", "HTTP requests whose path matches");
  b.list("--http-url", p.http_url, "REGEX", "HTTP requests whose URL matches");
  b.list("--http-header", p.http_header, "KEY:VALUE", "HTTP flows with this header");
  b.list("--trace-id", p.trace_id, "ID", "Flows with this trace ID");
  b.list("--ip-trace-id", p.ip_trace_id, "ID", "Flows with this IP trace ID (> 0)");
  b.list("--fqdn", p.fqdn, "NAME", "Flows from or to this DNS name (*.example.com)");
  b.list("--from-fqdn", p.from_fqdn, "NAME", "Flows from this DNS name");
  b.list("--to-fqdn", p.to_fqdn, "NAME", "Flows to this DNS name");
  b.list("--ip", p.ip, "IP|CIDR", "Flows from or to this IP or CIDR");
  b.list("--from-ip", p.from_ip, "IP|CIDR", "Flows from this IP or CIDR");
  b.list("--to-ip", p.to_ip, "IP|CIDR", "Flows to this IP or CIDR");
  b.list("--snat-ip", p.snat_ip, "IP|CIDR", "Flows whose source was translated to this IP");
  b.flag("-4,--ipv4", p.ipv4, "IPv4 flows only");
  b.flag("-6,--ipv6", p.ipv6, "IPv6 flows only");
  b.choice("--ip-version", p.ip_version, {"none", "v4", "v6"}, "Flows of this IP version");
  b.list("--pod", p.pod, "[NS/]POD", "Flows from or to pods whose name starts with POD");
  b.list("--from-pod", p.from_pod, "[NS/]POD", "Flows from these pods");
  b.list("--to-pod", p.to_pod, "[NS/]POD", "Flows to these pods");
  b.list("-n,--namespace", p.ns, "NAMESPACE", "Flows from or to pods or services in NAMESPACE");
  b.list("--from-namespace", p.from_ns, "NAMESPACE", "Flows from NAMESPACE");
  b.list("--to-namespace", p.to_ns, "NAMESPACE", "Flows to NAMESPACE");
  b.flag("-A,--all-namespaces", p.all_ns, "Flows from or to any namespace");
  b.flag("--from-all-namespaces", p.from_all_ns, "Flows from any namespace");
  b.flag("--to-all-namespaces", p.to_all_ns, "Flows to any namespace");
  b.list("-l,--label", p.label, "SELECTOR", "Flows from or to endpoints with these labels (k=v)");
  b.list("--from-label", p.from_label, "SELECTOR", "Flows from endpoints with these labels");
  b.list("--to-label", p.to_label, "SELECTOR", "Flows to endpoints with these labels");
  b.list("--service", p.service, "[NS/]SVC", "Flows from or to this service");
  b.list("--from-service", p.from_service, "[NS/]SVC", "Flows from this service");
  b.list("--to-service", p.to_service, "[NS/]SVC", "Flows to this service");
  b.list("--port", p.port, "PORT", "Flows from or to this L4 port");
  b.list("--from-port", p.from_port, "PORT", "Flows from this L4 port");
  b.list("--to-port", p.to_port, "PORT", "Flows to this L4 port");
  b.list("--workload", p.workload, "[KIND/]NAME", "Flows from or to this workload");
  b.list("--from-workload", p.from_workload, "[KIND/]NAME", "Flows from this workload");
  b.list("--to-workload", p.to_workload, "[KIND/]NAME", "Flows to this workload");
  b.list("--identity", p.identity, "ID",
         "Flows from or to this identity (number or reserved name)");
  b.list("--from-identity", p.from_identity, "ID", "Flows from this identity");
  b.list("--to-identity", p.to_identity, "ID", "Flows to this identity");
  b.choices("--traffic-direction", p.traffic_direction, {"ingress", "egress"},
            "Flows in this direction");
  b.list("--interface", p.interface, "NAME", "Flows seen on this network interface");
  b.flag("--encrypted", p.encrypted, "Encrypted flows only");
  b.flag("--unencrypted", p.unencrypted, "Unencrypted flows only");

  b.group("Raw-Filters");
  b.list("--allowlist", p.allowlist, "JSON", "A FlowFilter (JSON) added to the allowlist");
  b.list("--denylist", p.denylist, "JSON", "A FlowFilter (JSON) added to the denylist");

  b.group("Formatting");
  b.choice("-o,--output", p.output, {"compact", "dict", "json", "jsonpb", "table"},
           "Output format");
  b.flag("--print-node-name", p.print_node_name, "Print the node each flow was seen on");
  b.flag("--print-policy-names", p.print_policy_names, "Print the policies that allowed or denied");
  b.choice("--time-format", p.time_format, kTimeFormats, "How timestamps are printed");
  b.choice("--color", p.color, {"auto", "always", "never"}, "Color compact and dict output");
  b.flag("--ip-translation", p.ip_translation,
         "Show pod, service or DNS names instead of IPs (--ip-translation=false for IPs)");
  b.flag("--numeric", p.numeric, "Print numbers only: IPs and identities (implies no translation)");
  b.list("--field-mask", p.field_mask, "PATH", "Only these Flow fields in json output", true);
  b.flag("--use-default-field-masks", p.use_default_field_masks,
         "Request only the fields compact, dict and table print");

  b.group("Server");
  b.option("--server", p.server, "ADDR",
           "Flow API to read: unix:///path or host:port (default: the cluster's relay)");
  b.option("--node", p.node, "NAME", "Read from this node's agent directly, not the relay");
  b.duration("--timeout", p.timeout, "Timeout to connect to the server");
  b.duration("--request-timeout", p.request_timeout, "Timeout of one request (not with -f)");

  b.group("Other");
  b.file("--input-file", p.input_file, "Read flows from FILE (JSON lines; - for stdin)");
  b.flag("-s,--silent-errors", p.silent_errors, "Do not print errors");
  b.flag("--print-raw-filters", p.print_raw_filters,
         "Print the filters as sent to the server, then exit");

  b.example("axon observe --namespace production");
  b.example("axon observe --verdict DROPPED -f");
  b.example("axon observe --from-pod production/frontend --to-port 8080 -o json");
  b.example("axon observe --not --verdict FORWARDED --last 100");
  b.example("axon observe -o jsonpb --all > flows.json; axon observe --input-file flows.json --pod api");
  b.action([&ctx = b.ctx(), &app = b.app(), &p] { return run_observe(ctx, app, p); });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(observe, {"observe", "Observe flows: what talks, what is dropped and why",
                                "Observability", axon::commands::setup})
