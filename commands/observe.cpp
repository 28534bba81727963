// axon observe: flows from the Hubble-compatible flow API, filtered and
// printed like `hubble observe`.
#include "cli/command.h"

namespace axon::commands {
namespace {

using cli::CommandBuilder;

// Flag values as the user gave them; combined into FlowFilters when the
// flow API lands. Pairs are (any direction, from, to).
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
  b.action([&ctx = b.ctx()] {
    return cli::not_implemented(ctx, "axon observe",
                                "the flow API of the agents and relay is not built yet");
  });
}

}  // namespace
}  // namespace axon::commands

AXON_REGISTER_COMMAND(observe, {"observe", "Observe flows: what talks, what is dropped and why",
                                "Observability", axon::commands::setup})
