#include "axon/hubble/printer.h"

#include <google/protobuf/util/json_util.h>

#include <algorithm>

#include "axon/base/strings.h"
#include "axon/datapath/drop_reason.h"
#include "axon/hubble/flow_decoder.h"
#include "axon/hubble/ring.h"
#include "axon/hubble/time.h"

namespace axon::hubble {
namespace {

namespace dp = axon::datapath;

constexpr const char* kDictSeparator = "------------";
constexpr size_t kNodeNamesCutOff = 50;

// ANSI colors as Hubble's colorer uses them.
constexpr const char* kRed = "31";
constexpr const char* kGreen = "32";
constexpr const char* kYellow = "33";
constexpr const char* kMagenta = "35";
constexpr const char* kCyan = "36";

// Control characters from flow fields would be interpreted by the terminal.
std::string clean(const std::string& s) {
  std::string out = s;
  for (auto& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = '?';
  }
  return out;
}

std::string join_host_port(const std::string& host, const std::string& port) {
  if (host.find(':') != std::string::npos) return "[" + host + "]:" + port;
  return host + ":" + port;
}

std::pair<std::string, std::string> ports(const flow::Flow& f) {
  const auto& l4 = f.l4();
  switch (l4.protocol_case()) {
    case flow::Layer4::kTCP:
      return {std::to_string(l4.tcp().source_port()), std::to_string(l4.tcp().destination_port())};
    case flow::Layer4::kUDP:
      return {std::to_string(l4.udp().source_port()), std::to_string(l4.udp().destination_port())};
    case flow::Layer4::kSCTP:
      return {std::to_string(l4.sctp().source_port()),
              std::to_string(l4.sctp().destination_port())};
    default:
      return {"", ""};
  }
}

std::string policy_match_name(uint32_t m) {
  switch (m) {
    case 0:
      return "none";
    case 1:
      return "L3-Only";
    case 2:
      return "L3-L4";
    case 3:
      return "L4-Only";
    case 4:
      return "all";
    case 5:
      return "L3-Proto";
    case 6:
      return "Proto-Only";
    default:
      return "unknown";
  }
}

// Joins names, leaving out those past `cut` characters: "a, b (and 3 more)".
std::string join_with_cutoff(const google::protobuf::RepeatedPtrField<std::string>& names,
                             size_t cut) {
  size_t len = 0, end = names.size();
  for (int i = 0; i < names.size(); ++i) {
    len += names[i].size() + 2;
    if (len > cut && i > 0) {
      end = i;
      break;
    }
  }
  std::string out;
  for (size_t i = 0; i < end; ++i) out += (i ? ", " : "") + clean(names[static_cast<int>(i)]);
  if (end < static_cast<size_t>(names.size())) {
    out += " (and " + std::to_string(names.size() - end) + " more)";
  }
  return out;
}

// Go's tabwriter (min width 2, padding 3, spaces): every cell but the last
// of a row is padded to its column's width; width counts characters.
void print_table(std::ostream& out, const std::vector<std::vector<std::string>>& rows) {
  auto width = [](const std::string& s) {
    size_t w = 0;
    for (unsigned char c : s) w += (c & 0xc0) != 0x80;
    return w;
  };
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    for (size_t i = 0; i + 1 < r.size(); ++i) {
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], width(r[i]));
    }
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(std::max<size_t>(widths[i] + 3, 2) - width(r[i]), ' ');
    }
    out << line << "\n";
  }
}

}  // namespace

std::string drop_reason_text(uint32_t code) {
  for (const auto& r : dp::drop_reasons()) {
    if (r.code == code) return std::string(r.text);
  }
  return std::to_string(code);
}

std::string flow_type_text(const flow::Flow& f) {
  if (f.has_l7()) {
    std::string proto = "l7";
    std::string type = to_lower(flow::L7FlowType_Name(f.l7().type()));
    if (f.l7().has_http()) proto = "http";
    if (f.l7().has_dns()) {
      proto = "dns";
      type += " " + f.l7().dns().observation_source();
    }
    if (f.l7().has_kafka()) proto = "kafka";
    return proto + "-" + type;
  }
  const auto& et = f.event_type();
  switch (et.type()) {
    case kMessageTypeTrace:
      return trace_point_name(static_cast<uint8_t>(et.sub_type()));
    case kMessageTypeDrop:
      return drop_reason_text(static_cast<uint8_t>(et.sub_type()));
    case kMessageTypePolicyVerdict:
      return "policy-verdict:" + policy_match_name(f.policy_match_type()) + " " +
             flow::TrafficDirection_Name(f.traffic_direction());
    case kMessageTypeCapture:
      return flow::DebugCapturePoint_Name(f.debug_capture_point());
    case kMessageTypeTraceSock:
      switch (f.sock_xlate_point()) {
        case flow::SOCK_XLATE_POINT_POST_DIRECTION_FWD:
          return "post-xlate-fwd";
        case flow::SOCK_XLATE_POINT_POST_DIRECTION_REV:
          return "post-xlate-rev";
        case flow::SOCK_XLATE_POINT_PRE_DIRECTION_FWD:
          return "pre-xlate-fwd";
        case flow::SOCK_XLATE_POINT_PRE_DIRECTION_REV:
          return "pre-xlate-rev";
        default:
          return flow::SocketTranslationPoint_Name(f.sock_xlate_point());
      }
    default:
      return "UNKNOWN";
  }
}

std::string to_json(const google::protobuf::Message& m) {
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  std::string s;
  (void)google::protobuf::util::MessageToJsonString(m, &s, opts);
  return s;
}

FlowPrinter::FlowPrinter(PrinterOptions options, std::ostream& out, std::ostream& err)
    : options_(std::move(options)), out_(out), err_(err) {
  bool colorable =
      options_.format == OutputFormat::compact || options_.format == OutputFormat::dict;
  if (!colorable) options_.color = false;
}

std::string FlowPrinter::paint(const char* code, const std::string& s) const {
  if (!options_.color) return s;
  return std::string("\x1b[") + code + "m" + s + "\x1b[0m";
}

std::string FlowPrinter::time(const google::protobuf::Timestamp& ts, bool present) const {
  // Hubble prints N/A for a missing or out-of-range time.
  if (!present || ts.seconds() < -62135596800 || ts.seconds() > 253402300799 || ts.nanos() < 0 ||
      ts.nanos() > 999999999) {
    return "N/A";
  }
  return format_time(to_unix_ns(ts), options_.time_format);
}

std::string FlowPrinter::hostname(
    const std::string& ip, const std::string& port, const std::string& ns, const std::string& pod,
    const std::string& svc, const google::protobuf::RepeatedPtrField<std::string>& names) const {
  std::string host = ip;
  if (options_.ip_translation) {
    if (!pod.empty()) {
      host = ns.empty() ? pod : ns + "/" + pod;
    } else if (!svc.empty()) {
      host = ns.empty() ? svc : ns + "/" + svc;
    } else if (!names.empty()) {
      host = join(std::vector<std::string>(names.begin(), names.end()), ",");
    }
  }
  host = clean(host);
  if (!port.empty() && port != "0") return join_host_port(host, paint(kYellow, port));
  return host;
}

std::pair<std::string, std::string> FlowPrinter::hostnames(const flow::Flow& f) const {
  if (!f.has_ip()) {
    if (f.has_ethernet()) {
      return {paint(kCyan, clean(f.ethernet().source())),
              paint(kCyan, clean(f.ethernet().destination()))};
    }
    return {"", ""};
  }
  std::string src_ns = f.source().namespace_(), dst_ns = f.destination().namespace_();
  std::string src_pod = f.source().pod_name(), dst_pod = f.destination().pod_name();
  std::string src_svc, dst_svc;
  if (f.has_source_service()) {
    src_ns = f.source_service().namespace_();
    src_svc = f.source_service().name();
  }
  if (f.has_destination_service()) {
    dst_ns = f.destination_service().namespace_();
    dst_svc = f.destination_service().name();
  }
  auto [sport, dport] = ports(f);
  return {paint(kCyan, hostname(f.ip().source(), sport, src_ns, src_pod, src_svc,
                                f.source_names())),
          paint(kCyan, hostname(f.ip().destination(), dport, dst_ns, dst_pod, dst_svc,
                                f.destination_names()))};
}

std::string FlowPrinter::identity(uint32_t id) const {
  std::string text;
  if (auto name = reserved_identity_name(id)) {
    text = "(" + std::string(*name) + ")";
  } else if (id < 256) {
    text = "(" + std::to_string(id) + ")";  // reserved range, no name
  } else {
    text = "(ID:" + std::to_string(id) + ")";
  }
  return paint(kMagenta, text);
}

std::string FlowPrinter::verdict(const flow::Flow& f) const {
  bool pv = f.event_type().type() == kMessageTypePolicyVerdict;
  std::string msg = flow::Verdict_Name(f.verdict());
  switch (f.verdict()) {
    case flow::FORWARDED:
    case flow::REDIRECTED:
      return paint(kGreen, pv ? "ALLOWED" : msg);
    case flow::DROPPED:
    case flow::ERROR:
      return paint(kRed, pv ? "DENIED" : msg);
    case flow::AUDIT:
      return paint(kYellow, pv ? "AUDITED" : msg);
    case flow::TRACED:
    case flow::TRANSLATED:
      return paint(kYellow, msg);
    default:
      return msg;
  }
}

void FlowPrinter::write(const observer::GetFlowsResponse& r) {
  switch (r.response_types_case()) {
    case observer::GetFlowsResponse::kFlow:
      write_flow(r);
      break;
    case observer::GetFlowsResponse::kLostEvents:
      write_lost(r);
      break;
    case observer::GetFlowsResponse::kNodeStatus:
      write_node_status(r);
      break;
    default:
      break;
  }
}

void FlowPrinter::write_flow(const observer::GetFlowsResponse& r) {
  const flow::Flow& f = r.flow();
  std::string summary;
  if (f.has_ip_trace_id() && f.ip_trace_id().trace_id() > 0) {
    summary = "IP Trace ID: " + std::to_string(f.ip_trace_id().trace_id()) + "; ";
  }
  summary += clean(f.summary());
  if (f.auth_type() != flow::DISABLED) {
    summary += "; " + paint(f.auth_type() == flow::TEST_ALWAYS_FAIL ? kRed : kGreen,
                            flow::AuthType_Name(f.auth_type()));
  }
  std::string ts = time(f.time(), f.has_time());
  switch (options_.format) {
    case OutputFormat::json:
    case OutputFormat::jsonpb:
      out_ << (options_.legacy_json && options_.format == OutputFormat::json ? to_json(f)
                                                                              : to_json(r))
           << "\n";
      break;
    case OutputFormat::compact: {
      auto [src, dst] = hostnames(f);
      std::string src_id = identity(f.source().identity());
      std::string dst_id = identity(f.destination().identity());
      std::string arrow = "->";
      if (!f.has_is_reply()) {
        arrow = "<>";
      } else if (f.is_reply().value()) {
        std::swap(src, dst);
        std::swap(src_id, dst_id);
        arrow = "<-";
      }
      std::string node = options_.node_name ? " [" + clean(f.node_name()) + "]" : "";
      out_ << ts << node << ": " << src << " " << src_id << " " << arrow << " " << dst << " "
           << dst_id << " " << flow_type_text(f) << " " << verdict(f) << " (" << summary << ")\n";
      break;
    }
    case OutputFormat::dict: {
      auto [src, dst] = hostnames(f);
      if (line_ != 0) out_ << kDictSeparator << "\n";
      out_ << "  TIMESTAMP: " << ts << "\n";
      if (options_.node_name) out_ << "       NODE: " << clean(f.node_name()) << "\n";
      out_ << "     SOURCE: " << src << "\n"
           << "DESTINATION: " << dst << "\n"
           << "       TYPE: " << flow_type_text(f) << "\n"
           << "    VERDICT: " << verdict(f) << "\n"
           << "    SUMMARY: " << summary << "\n";
      break;
    }
    case OutputFormat::table: {
      add_table_header();
      auto [src, dst] = hostnames(f);
      std::vector<std::string> row = {ts};
      if (options_.node_name) row.push_back(clean(f.node_name()));
      for (auto* c : {&src, &dst}) row.push_back(*c);
      row.push_back(flow_type_text(f));
      row.push_back(verdict(f));
      row.push_back(summary);
      table_.push_back(std::move(row));
      break;
    }
  }
  ++line_;
}

void FlowPrinter::add_table_header() {
  if (!table_.empty()) return;
  std::vector<std::string> h = {"TIMESTAMP"};
  if (options_.node_name) h.push_back("NODE");
  for (const char* c : {"SOURCE", "DESTINATION", "TYPE", "VERDICT", "SUMMARY"}) h.push_back(c);
  table_.push_back(std::move(h));
}

void FlowPrinter::write_lost(const observer::GetFlowsResponse& r) {
  const auto& l = r.lost_events();
  std::string source = flow::LostEventSource_Name(l.source());
  std::string cpu = std::to_string(l.cpu().value());
  std::string n = std::to_string(l.num_events_lost());
  switch (options_.format) {
    case OutputFormat::json:
    case OutputFormat::jsonpb:
      out_ << (options_.legacy_json && options_.format == OutputFormat::json ? to_json(l)
                                                                              : to_json(r))
           << "\n";
      break;
    case OutputFormat::compact: {
      std::string range;
      if (l.has_first() && l.has_last()) {
        range = " (first: " + time(l.first(), true) + ", last: " + time(l.last(), true) + ")";
      }
      out_ << time(r.time(), r.has_time()) << " EVENTS LOST: " << source << " CPU(" << cpu << ") "
           << n << range << "\n";
      break;
    }
    case OutputFormat::dict:
      if (line_ != 0) out_ << kDictSeparator << "\n";
      out_ << "  TIMESTAMP: " << time(r.time(), r.has_time()) << "\n";
      if (options_.node_name) out_ << "       NODE: " << clean(r.node_name()) << "\n";
      out_ << "     SOURCE: " << source << "\n"
           << "       TYPE: EVENTS LOST\n"
           << "    VERDICT: \n"
           << "    SUMMARY: CPU(" << cpu << ") - " << n << "\n";
      break;
    case OutputFormat::table: {
      add_table_header();
      std::vector<std::string> row = {time(r.time(), r.has_time())};
      if (options_.node_name) row.push_back(clean(r.node_name()));
      for (std::string c : {source, std::string(), std::string("EVENTS LOST"), std::string()})
        row.push_back(c);
      row.push_back("CPU(" + cpu + ") - " + n);
      table_.push_back(std::move(row));
      break;
    }
  }
  ++line_;
}

void FlowPrinter::write_node_status(const observer::GetFlowsResponse& r) {
  const auto& s = r.node_status();
  bool problem = s.state_change() == relay::NODE_UNAVAILABLE || s.state_change() == relay::NODE_ERROR;
  if (!problem && !options_.debug) return;
  std::string names = join_with_cutoff(s.node_names(), kNodeNamesCutOff);
  std::string ts = time(r.time(), r.has_time());
  switch (options_.format) {
    case OutputFormat::json:
    case OutputFormat::jsonpb:
      err_ << to_json(r) << "\n";
      return;
    case OutputFormat::dict:
      err_ << "  TIMESTAMP: " << ts << "\n"
           << "      STATE: " << relay::NodeState_Name(s.state_change()) << "\n"
           << "      NODES: " << names << "\n"
           << "    MESSAGE: " << (s.message().empty() ? "N/A" : "\"" + clean(s.message()) + "\"")
           << "\n";
      return;
    case OutputFormat::compact:
    case OutputFormat::table:
      break;
  }
  std::string prefix = ts + " [" + clean(r.node_name()) + "]";
  size_t n = s.node_names_size();
  switch (s.state_change()) {
    case relay::NODE_CONNECTED:
      err_ << prefix << ": Receiving flows from " << n << " nodes: " << names << "\n";
      break;
    case relay::NODE_UNAVAILABLE:
      err_ << prefix << ": " << n << " nodes are unavailable: " << names << "\n";
      break;
    case relay::NODE_GONE:
      err_ << prefix << ": " << n << " nodes removed from cluster: " << names << "\n";
      break;
    case relay::NODE_ERROR:
      err_ << prefix << ": Error \"" << clean(s.message()) << "\" on " << n << " nodes: " << names
           << "\n";
      break;
    default:
      err_ << prefix << ": unknown node status event\n";
      break;
  }
}

void FlowPrinter::finish() {
  if (!table_.empty()) {
    print_table(out_, table_);
    table_.clear();
  }
  out_.flush();
}

}  // namespace axon::hubble
