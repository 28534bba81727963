#include "axon/hubble/request.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>

#include <algorithm>
#include <charconv>
#include <functional>
#include <limits>
#include <map>
#include <optional>

#include "axon/base/strings.h"
#include "axon/hubble/flow_decoder.h"
#include "axon/hubble/printer.h"
#include "axon/hubble/ring.h"
#include "axon/hubble/time.h"

namespace axon::hubble {
namespace {

using Update = std::function<void(flow::FlowFilter&)>;

constexpr uint64_t kDefaultLast = 20;

// Flags that cannot be used together (hubble's groups, in hubble's order:
// the order decides which pair an error names).
const std::vector<std::vector<std::string>>& conflict_groups() {
  static const std::vector<std::vector<std::string>> groups = {
      {"from-fqdn", "from-ip", "ip", "fqdn", "from-namespace", "namespace", "from-all-namespaces",
       "all-namespaces"},
      {"from-fqdn", "from-ip", "ip", "fqdn", "from-pod", "pod"},
      {"to-fqdn", "to-ip", "ip", "fqdn", "to-namespace", "namespace", "to-all-namespaces",
       "all-namespaces"},
      {"to-fqdn", "to-ip", "ip", "fqdn", "to-pod", "pod"},
      {"to-pod", "namespace", "all-namespaces"},
      {"from-pod", "namespace", "all-namespaces"},
      {"to-service", "namespace", "all-namespaces"},
      {"from-service", "namespace", "all-namespaces"},
      {"label", "from-label"},
      {"label", "to-label"},
      {"service", "from-service"},
      {"service", "to-service"},
      {"port", "to-port"},
      {"port", "from-port"},
      {"identity", "to-identity"},
      {"identity", "from-identity"},
      {"workload", "to-workload"},
      {"workload", "from-workload"},
      {"cluster", "from-cluster"},
      {"cluster", "to-cluster"},
      {"encrypted", "unencrypted"},
  };
  return groups;
}

std::string namespace_of(const std::string& name) {
  auto slash = name.find('/');
  return slash == std::string::npos ? "" : name.substr(0, slash);
}

// Namespaces from --namespace & co, applied when the filters are built.
struct Namespaces {
  std::vector<std::string> list;

  static std::vector<std::string> qualify(const google::protobuf::RepeatedPtrField<std::string>& names,
                                          const std::vector<std::string>& nss) {
    std::vector<std::string> out;
    for (const auto& n : names) {
      if (n.find('/') != std::string::npos) {
        out.push_back(n);
        continue;
      }
      for (const auto& ns : nss) out.push_back(ns + "/" + n);
    }
    return out;
  }
  static void assign(google::protobuf::RepeatedPtrField<std::string>* field,
                     const std::vector<std::string>& v) {
    field->Clear();
    for (const auto& s : v) field->Add(std::string(s));
  }

  void apply_source(flow::FlowFilter& ff) const {
    if (ff.source_pod().empty() && ff.source_service().empty()) ff.add_source_pod("");
    assign(ff.mutable_source_pod(), qualify(ff.source_pod(), list));
    assign(ff.mutable_source_service(), qualify(ff.source_service(), list));
  }
  void apply_destination(flow::FlowFilter& ff) const {
    if (ff.destination_pod().empty() && ff.destination_service().empty())
      ff.add_destination_pod("");
    assign(ff.mutable_destination_pod(), qualify(ff.destination_pod(), list));
    assign(ff.mutable_destination_service(), qualify(ff.destination_service(), list));
  }
  Status conflicts(const google::protobuf::RepeatedPtrField<std::string>& names) const {
    for (const auto& ns : list) {
      for (const auto& n : names) {
        std::string nn = namespace_of(n);
        if (!nn.empty() && nn != ns) {
          return Error{"namespace conflict: \"" + ns + "\" does not contain \"" + n + "\""};
        }
      }
    }
    return {};
  }
};

Status inconsistent_namespaces(const google::protobuf::RepeatedPtrField<std::string>& pods,
                               const google::protobuf::RepeatedPtrField<std::string>& services) {
  for (const auto& pod : pods) {
    std::string pod_ns = namespace_of(pod);
    if (pod_ns.empty()) continue;
    for (const auto& svc : services) {
      if (namespace_of(svc) != pod_ns) {
        return Error{"namespace of service \"" + svc + "\" conflict with pod \"" + pod_ns + "\""};
      }
    }
  }
  return {};
}

// One side of the request (whitelist or blacklist): hubble's filterTracker.
struct Tracker {
  std::optional<flow::FlowFilter> left, right;
  Namespaces ns, src_ns, dst_ns;
  std::vector<std::string> changed;

  void apply_left(const Update& u) {
    if (!left) left.emplace();
    u(*left);
  }
  void apply_right(const Update& u) {
    if (!right) right.emplace();
    u(*right);
  }
  void apply(const Update& u) {
    apply_left(u);
    apply_right(u);
  }
  bool changed_flag(const std::string& name) const {
    return std::find(changed.begin(), changed.end(), name) != changed.end();
  }

  Status check_conflicts() const {
    for (const auto& group : conflict_groups()) {
      for (const auto& flag : group) {
        if (!changed_flag(flag)) continue;
        for (const auto& other : group) {
          if (other != flag && changed_flag(other)) {
            return Error{"filters --" + flag + " and --" + other + " cannot be combined"};
          }
        }
      }
    }
    return {};
  }

  Status check_namespace_conflicts(const std::optional<flow::FlowFilter>& ff) const {
    if (!ff) return {};
    for (auto check : {ns.conflicts(ff->source_pod()), ns.conflicts(ff->source_service()),
                       ns.conflicts(ff->destination_pod()), ns.conflicts(ff->destination_service()),
                       src_ns.conflicts(ff->source_pod()), src_ns.conflicts(ff->source_service()),
                       dst_ns.conflicts(ff->destination_pod()),
                       dst_ns.conflicts(ff->destination_service()),
                       inconsistent_namespaces(ff->source_pod(), ff->source_service()),
                       inconsistent_namespaces(ff->destination_pod(), ff->destination_service())}) {
      if (!check) return check;
    }
    return {};
  }

  std::vector<flow::FlowFilter> filters() {
    if (!left && !right && ns.list.empty() && src_ns.list.empty() && dst_ns.list.empty()) return {};
    if (!left) left.emplace();
    if (!right) right.emplace();
    if (!dst_ns.list.empty()) {
      dst_ns.apply_destination(*left);
      dst_ns.apply_destination(*right);
    }
    if (!src_ns.list.empty()) {
      src_ns.apply_source(*left);
      src_ns.apply_source(*right);
    }
    if (!ns.list.empty()) {
      ns.apply_source(*left);
      ns.apply_destination(*right);
    }
    if (google::protobuf::util::MessageDifferencer::Equals(*left, *right)) return {*left};
    return {*left, *right};
  }
};

Result<flow::TCPFlags> parse_tcp_flags(const std::string& val) {
  flow::TCPFlags f;
  size_t start = 0;
  for (;;) {
    auto comma = val.find(',', start);
    std::string name = to_upper(val.substr(start, comma - start));
    if (name == "SYN") f.set_syn(true);
    else if (name == "FIN") f.set_fin(true);
    else if (name == "RST") f.set_rst(true);
    else if (name == "PSH") f.set_psh(true);
    else if (name == "ACK") f.set_ack(true);
    else if (name == "URG") f.set_urg(true);
    else if (name == "ECE") f.set_ece(true);
    else if (name == "CWR") f.set_cwr(true);
    else if (name == "NS") f.set_ns(true);
    else return Error{"unknown tcp flag: " + val.substr(start, comma - start)};
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return f;
}

flow::IPVersion ip_version(const std::string& v) {
  std::string l = to_lower(v);
  if (l == "4" || l == "v4" || l == "ipv4" || l == "ip4") return flow::IPv4;
  if (l == "6" || l == "v6" || l == "ipv6" || l == "ip6") return flow::IPv6;
  return flow::IP_NOT_USED;
}

flow::Workload parse_workload(const std::string& v) {
  flow::Workload w;
  if (auto slash = v.find('/'); slash != std::string::npos) {
    w.set_kind(v.substr(0, slash));
    w.set_name(v.substr(slash + 1));
  } else {
    w.set_name(v);
  }
  return w;
}

Result<uint32_t> parse_identity(const std::string& v) {
  if (auto n = reserved_identity_number(v)) return *n;
  uint32_t id = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), id);
  if (ec == std::errc() && ptr == v.data() + v.size() && !v.empty()) return id;
  return Error{"invalid security identity, expected one of [" + join(reserved_identity_names(), " ") +
               "] or a numeric value"};
}

std::optional<uint32_t> parse_u32(const std::string& s) {
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || ptr != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

const std::map<std::string, int32_t>& message_types() {
  static const std::map<std::string, int32_t> m = {
      {"drop", kMessageTypeDrop},       {"debug", kMessageTypeDebug},
      {"capture", kMessageTypeCapture}, {"trace", kMessageTypeTrace},
      {"policy-verdict", kMessageTypePolicyVerdict},
      {"recorder", 6},                      {"trace-sock", kMessageTypeTraceSock},
      {"l7", kMessageTypeL7},           {"agent", kMessageTypeAgent}};
  return m;
}

const std::map<std::string, int32_t>& agent_subtypes() {
  static const std::map<std::string, int32_t> m = {
      {"unspecified", 0},       {"message", 1},           {"agent-started", 2},
      {"policy-updated", 3},    {"policy-deleted", 4},    {"endpoint-regenerate-success", 5},
      {"endpoint-regenerate-failure", 6},                 {"endpoint-created", 7},
      {"endpoint-deleted", 8},  {"ipcache-upserted", 9},  {"ipcache-deleted", 10}};
  return m;
}

Result<flow::EventTypeFilter> parse_type(const std::string& val) {
  flow::EventTypeFilter t;
  auto colon = val.find(':');
  std::string type = val.substr(0, colon);
  if (auto it = message_types().find(type); it != message_types().end()) {
    t.set_type(it->second);
  } else if (auto n = parse_u32(type)) {
    t.set_type(static_cast<int32_t>(*n));
  } else {
    return Error{"unable to parse type '" + type +
                 "', not a known type name and unable to parse as numeric value"};
  }
  if (colon == std::string::npos) return t;
  std::string sub = val.substr(colon + 1);
  if (t.type() == kMessageTypeTrace) {
    if (auto p = trace_point_number(sub)) {
      t.set_match_sub_type(true);
      t.set_sub_type(static_cast<int32_t>(*p));
    }
  } else if (t.type() == kMessageTypeAgent) {
    if (auto it = agent_subtypes().find(sub); it != agent_subtypes().end()) {
      t.set_match_sub_type(true);
      t.set_sub_type(it->second);
    }
  }
  if (!t.match_sub_type()) {
    auto n = parse_u32(sub);
    if (!n) {
      return Error{"unable to parse event sub-type '" + sub +
                   "', not a known sub-type name and unable to parse as numeric value"};
    }
    t.set_match_sub_type(true);
    t.set_sub_type(static_cast<int32_t>(*n));
  }
  return t;
}

// One filter flag into the tracker (hubble's flowFilter.set).
Status set_filter(Tracker& f, const std::string& name, const std::string& val) {
  if (!f.changed_flag(name)) f.changed.push_back(name);
  if (auto st = f.check_conflicts(); !st) return st;

  auto both = [&](const Update& left, const Update& right) {
    f.apply_left(left);
    f.apply_right(right);
  };
  if (name == "uuid") {
    f.apply([&](auto& ff) { ff.add_uuid(val); });
  } else if (name == "fqdn") {
    both([&](auto& ff) { ff.add_source_fqdn(val); }, [&](auto& ff) { ff.add_destination_fqdn(val); });
  } else if (name == "from-fqdn") {
    f.apply([&](auto& ff) { ff.add_source_fqdn(val); });
  } else if (name == "to-fqdn") {
    f.apply([&](auto& ff) { ff.add_destination_fqdn(val); });
  } else if (name == "pod") {
    both([&](auto& ff) { ff.add_source_pod(val); }, [&](auto& ff) { ff.add_destination_pod(val); });
  } else if (name == "from-pod") {
    f.apply([&](auto& ff) { ff.add_source_pod(val); });
  } else if (name == "to-pod") {
    f.apply([&](auto& ff) { ff.add_destination_pod(val); });
  } else if (name == "ip") {
    both([&](auto& ff) { ff.add_source_ip(val); }, [&](auto& ff) { ff.add_destination_ip(val); });
  } else if (name == "from-ip") {
    f.apply([&](auto& ff) { ff.add_source_ip(val); });
  } else if (name == "to-ip") {
    f.apply([&](auto& ff) { ff.add_destination_ip(val); });
  } else if (name == "snat-ip") {
    f.apply([&](auto& ff) { ff.add_source_ip_xlated(val); });
  } else if (name == "ipv4") {
    f.apply([&](auto& ff) { ff.add_ip_version(flow::IPv4); });
  } else if (name == "ipv6") {
    f.apply([&](auto& ff) { ff.add_ip_version(flow::IPv6); });
  } else if (name == "ip-version") {
    f.apply([&](auto& ff) { ff.add_ip_version(ip_version(val)); });
  } else if (name == "label") {
    both([&](auto& ff) { ff.add_source_label(val); },
         [&](auto& ff) { ff.add_destination_label(val); });
  } else if (name == "from-label") {
    f.apply([&](auto& ff) { ff.add_source_label(val); });
  } else if (name == "to-label") {
    f.apply([&](auto& ff) { ff.add_destination_label(val); });
  } else if (name == "namespace") {
    f.ns.list.push_back(val);
  } else if (name == "from-namespace") {
    f.src_ns.list.push_back(val);
  } else if (name == "to-namespace") {
    f.dst_ns.list.push_back(val);
  } else if (name == "all-namespaces") {
    f.ns.list.push_back("");
  } else if (name == "from-all-namespaces") {
    f.src_ns.list.push_back("");
  } else if (name == "to-all-namespaces") {
    f.dst_ns.list.push_back("");
  } else if (name == "service") {
    both([&](auto& ff) { ff.add_source_service(val); },
         [&](auto& ff) { ff.add_destination_service(val); });
  } else if (name == "from-service") {
    f.apply([&](auto& ff) { ff.add_source_service(val); });
  } else if (name == "to-service") {
    f.apply([&](auto& ff) { ff.add_destination_service(val); });
  } else if (name == "port") {
    both([&](auto& ff) { ff.add_source_port(val); }, [&](auto& ff) { ff.add_destination_port(val); });
  } else if (name == "from-port") {
    f.apply([&](auto& ff) { ff.add_source_port(val); });
  } else if (name == "to-port") {
    f.apply([&](auto& ff) { ff.add_destination_port(val); });
  } else if (name == "trace-id") {
    f.apply([&](auto& ff) { ff.add_trace_id(val); });
  } else if (name == "ip-trace-id") {
    if (val == "0") return Error{"invalid --ip-trace-id value; must be greater than 0"};
    uint64_t id = 0;
    auto [ptr, ec] = std::from_chars(val.data(), val.data() + val.size(), id);
    if (ec != std::errc() || ptr != val.data() + val.size() || val.empty())
      return Error{"invalid --ip-trace-id value: \"" + val + "\" is not a number"};
    f.apply([&](auto& ff) { ff.add_ip_trace_id(id); });
  } else if (name == "verdict") {
    flow::Verdict v;
    if (!flow::Verdict_Parse(val, &v)) return Error{"invalid --verdict value: " + val};
    f.apply([&](auto& ff) { ff.add_verdict(v); });
  } else if (name == "drop-reason-desc") {
    if (val.empty()) return Error{"empty --drop-reason-desc value"};
    flow::DropReason r;
    if (!flow::DropReason_Parse(to_upper(val), &r))
      return Error{"invalid --drop-reason-desc value: " + val};
    f.apply([&](auto& ff) { ff.add_drop_reason_desc(r); });
  } else if (name == "http-status") {
    f.apply([&](auto& ff) { ff.add_http_status_code(val); });
  } else if (name == "http-method") {
    f.apply([&](auto& ff) { ff.add_http_method(val); });
  } else if (name == "http-path") {
    f.apply([&](auto& ff) { ff.add_http_path(val); });
  } else if (name == "http-url") {
    f.apply([&](auto& ff) { ff.add_http_url(val); });
  } else if (name == "http-header") {
    auto colon = val.find(':');
    if (colon == std::string::npos)
      return Error{"invalid http-header value \"" + val + "\", expected name:value"};
    f.apply([&](auto& ff) {
      auto* h = ff.add_http_header();
      h->set_key(val.substr(0, colon));
      h->set_value(val.substr(colon + 1));
    });
  } else if (name == "type") {
    auto t = parse_type(val);
    if (!t) return t.error();
    f.apply([&](auto& ff) { *ff.add_event_type() = *t; });
  } else if (name == "protocol") {
    f.apply([&](auto& ff) { ff.add_protocol(val); });
  } else if (name == "workload") {
    auto w = parse_workload(val);
    both([&](auto& ff) { *ff.add_source_workload() = w; },
         [&](auto& ff) { *ff.add_destination_workload() = w; });
  } else if (name == "from-workload") {
    auto w = parse_workload(val);
    f.apply([&](auto& ff) { *ff.add_source_workload() = w; });
  } else if (name == "to-workload") {
    auto w = parse_workload(val);
    f.apply([&](auto& ff) { *ff.add_destination_workload() = w; });
  } else if (name == "identity" || name == "from-identity" || name == "to-identity") {
    auto id = parse_identity(val);
    if (!id) return id.error();
    if (name == "identity") {
      both([&](auto& ff) { ff.add_source_identity(*id); },
           [&](auto& ff) { ff.add_destination_identity(*id); });
    } else if (name == "from-identity") {
      f.apply([&](auto& ff) { ff.add_source_identity(*id); });
    } else {
      f.apply([&](auto& ff) { ff.add_destination_identity(*id); });
    }
  } else if (name == "node-name") {
    f.apply([&](auto& ff) { ff.add_node_name(val); });
  } else if (name == "node-label") {
    f.apply([&](auto& ff) { ff.add_node_labels(val); });
  } else if (name == "cluster") {
    both([&](auto& ff) { ff.add_source_cluster_name(val); },
         [&](auto& ff) { ff.add_destination_cluster_name(val); });
  } else if (name == "from-cluster") {
    f.apply([&](auto& ff) { ff.add_source_cluster_name(val); });
  } else if (name == "to-cluster") {
    f.apply([&](auto& ff) { ff.add_destination_cluster_name(val); });
  } else if (name == "tcp-flags") {
    auto flags = parse_tcp_flags(val);
    if (!flags) return flags.error();
    f.apply([&](auto& ff) { *ff.add_tcp_flags() = *flags; });
  } else if (name == "traffic-direction") {
    std::string td = to_lower(val);
    if (td == "ingress") {
      f.apply([&](auto& ff) { ff.add_traffic_direction(flow::INGRESS); });
    } else if (td == "egress") {
      f.apply([&](auto& ff) { ff.add_traffic_direction(flow::EGRESS); });
    } else {
      return Error{td + ": invalid traffic direction, expected ingress or egress"};
    }
  } else if (name == "interface") {
    f.apply([&](auto& ff) { ff.add_interface()->set_name(val); });
  } else if (name == "encrypted") {
    f.apply([&](auto& ff) { ff.add_encrypted(true); });
  } else if (name == "unencrypted") {
    f.apply([&](auto& ff) { ff.add_encrypted(false); });
  } else {
    return Error{"unknown filter --" + name};
  }
  if (auto st = f.check_namespace_conflicts(f.left); !st) return st;
  return f.check_namespace_conflicts(f.right);
}

// A raw filter flag: one or more FlowFilter JSON objects.
Result<std::vector<flow::FlowFilter>> parse_raw_filters(const std::vector<std::string>& values,
                                                        const char* flag) {
  std::vector<flow::FlowFilter> out;
  google::protobuf::util::JsonParseOptions opts;
  for (const auto& v : values) {
    // Split concatenated objects at depth 0 (strings may hold braces).
    size_t i = 0;
    while (i < v.size()) {
      while (i < v.size() && std::isspace(static_cast<unsigned char>(v[i]))) ++i;
      if (i >= v.size()) break;
      size_t start = i;
      int depth = 0;
      bool in_str = false;
      for (; i < v.size(); ++i) {
        char c = v[i];
        if (in_str) {
          if (c == '\\') ++i;
          else if (c == '"') in_str = false;
        } else if (c == '"') {
          in_str = true;
        } else if (c == '{') {
          ++depth;
        } else if (c == '}' && --depth == 0) {
          ++i;
          break;
        }
      }
      flow::FlowFilter ff;
      auto st = google::protobuf::util::JsonStringToMessage(v.substr(start, i - start), &ff, opts);
      if (!st.ok()) {
        return Error{std::string("invalid --") + flag + " flag: failed to decode '" + v +
                     "': " + std::string(st.message())};
      }
      out.push_back(std::move(ff));
    }
  }
  return out;
}

Status check_field_mask(const std::vector<std::string>& paths) {
  for (const auto& path : paths) {
    const google::protobuf::Descriptor* d = flow::Flow::descriptor();
    size_t start = 0;
    for (;;) {
      auto dot = path.find('.', start);
      std::string part = path.substr(start, dot - start);
      const auto* field = d == nullptr ? nullptr : d->FindFieldByName(part);
      if (field == nullptr) {
        return Error{"failed to construct field mask: invalid path \"" + path + "\" for flow.Flow"};
      }
      if (dot == std::string::npos) break;
      d = field->message_type();
      start = dot + 1;
    }
  }
  return {};
}

std::string single_quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

}  // namespace

const std::vector<std::string>& filter_flag_names() {
  static const std::vector<std::string> names = {
      "not",          "uuid",           "node-name",        "node-label",     "cluster",
      "from-cluster", "to-cluster",     "protocol",         "tcp-flags",      "type",
      "verdict",      "drop-reason-desc", "http-status",    "http-method",    "http-path",
      "http-url",     "http-header",    "trace-id",         "ip-trace-id",    "fqdn",
      "from-fqdn",    "to-fqdn",        "ip",               "from-ip",        "to-ip",
      "snat-ip",      "ipv4",           "ipv6",             "ip-version",     "pod",
      "from-pod",     "to-pod",         "namespace",        "from-namespace", "to-namespace",
      "all-namespaces", "from-all-namespaces", "to-all-namespaces", "label",  "from-label",
      "to-label",     "service",        "from-service",     "to-service",     "port",
      "from-port",    "to-port",        "workload",         "from-workload",  "to-workload",
      "identity",     "from-identity",  "to-identity",      "traffic-direction", "interface",
      "encrypted",    "unencrypted"};
  return names;
}

const std::vector<std::string>& default_field_mask() {
  static const std::vector<std::string> mask = {
      "time",          "verdict",          "ethernet",
      "IP",            "l4",               "source.identity",
      "source.namespace", "source.pod_name", "destination.identity",
      "destination.namespace", "destination.pod_name", "Type",
      "node_name",     "l7",               "event_type",
      "source_service", "destination_service", "is_reply",
      "Summary",       "ip_trace_id"};
  return mask;
}

Result<observer::GetFlowsRequest> build_flows_request(const RequestOptions& o) {
  const Selectors& s = o.selectors;
  const bool first = s.first > 0, last = s.last > 0;
  if (first && last) return Error{"cannot set both --first and --last"};
  if (first && s.all) return Error{"cannot set both --first and --all"};
  if (first && s.follow) return Error{"cannot set both --first and --follow"};
  if (last && s.all) return Error{"cannot set both --last and --all"};

  observer::GetFlowsRequest req;
  if (!s.since.empty()) {
    auto t = parse_time(s.since, o.now_ns);
    if (!t) return Error{"failed to parse the since time: " + t.error().message};
    set_unix_ns(req.mutable_since(), *t);
  }
  if (!s.until.empty() && !s.follow) {
    auto t = parse_time(s.until, o.now_ns);
    if (!t) return Error{"failed to parse the until time: " + t.error().message};
    set_unix_ns(req.mutable_until(), *t);
  }
  uint64_t number = s.last;
  if (!req.has_since() && !req.has_until() && !first) {
    if (s.all) {
      number = std::numeric_limits<uint64_t>::max();
    } else if (s.last == 0 && !s.follow && !s.input_file) {
      number = kDefaultLast;  // plain `observe`
    }
  }
  if (first) number = s.first;
  req.set_number(number);
  req.set_first(first);
  req.set_follow(s.follow);

  // Filters, in command-line order: --not sends the next one to the blacklist.
  Tracker whitelist, blacklist;
  bool negate = false;
  for (const auto& flag : o.filters) {
    if (flag.name == "not") {
      if (negate) return Error{"consecutive --not statements"};
      negate = true;
      continue;
    }
    Tracker& t = negate ? blacklist : whitelist;
    negate = false;
    if (auto st = set_filter(t, flag.name, flag.value); !st) return st.error();
  }
  if (negate) return Error{"trailing --not found in the arguments"};
  for (auto& ff : whitelist.filters()) *req.add_whitelist() = std::move(ff);
  for (auto& ff : blacklist.filters()) *req.add_blacklist() = std::move(ff);

  auto allow = parse_raw_filters(o.allowlist, "allowlist");
  if (!allow) return allow.error();
  for (auto& ff : *allow) *req.add_whitelist() = std::move(ff);
  auto deny = parse_raw_filters(o.denylist, "denylist");
  if (!deny) return deny.error();
  for (auto& ff : *deny) *req.add_blacklist() = std::move(ff);

  if (!o.field_mask.empty()) {
    if (auto st = check_field_mask(o.field_mask); !st) return st.error();
    for (const auto& p : o.field_mask) req.mutable_field_mask()->add_paths(p);
  }
  return req;
}

std::string raw_filters_yaml(const observer::GetFlowsRequest& req) {
  std::string out;
  auto list = [&](const char* key, const FlowFilters& filters) {
    if (filters.empty()) return;
    out += std::string(key) + ":\n";
    for (const auto& f : filters) out += "    - " + single_quoted(to_json(f)) + "\n";
  };
  list("allowlist", req.whitelist());
  list("denylist", req.blacklist());
  return out.empty() ? "{}\n" : out;
}

}  // namespace axon::hubble
