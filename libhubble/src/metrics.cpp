#include "axon/hubble/metrics.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>

#include "axon/base/strings.h"
#include "axon/hubble/flow_decoder.h"
#include "tcp_listen.h"

namespace axon::hubble {
namespace {


std::string event_type_label(const flow::Flow& f) {
  if (f.type() == flow::L7) return "L7";
  switch (f.event_type().type()) {
    case kMessageTypeDrop:
      return "Drop";
    case kMessageTypeTrace:
      return "Trace";
    case kMessageTypePolicyVerdict:
      return "PolicyVerdict";
    case kMessageTypeCapture:
      return "Capture";
    case kMessageTypeTraceSock:
      return "SockTrace";
    default:
      return "Unknown";
  }
}

std::string subtype_label(const flow::Flow& f) {
  if (f.type() == flow::L7) {
    if (f.l7().has_http()) return "HTTP";
    if (f.l7().has_dns()) return "DNS";
    if (f.l7().has_kafka()) return "Kafka";
    return "";
  }
  if (f.event_type().type() == kMessageTypeTrace)
    return trace_point_name(static_cast<uint32_t>(f.event_type().sub_type()));
  return "";
}

std::string protocol_label(const flow::Flow& f) {
  switch (f.l4().protocol_case()) {
    case flow::Layer4::kTCP:
      return "TCP";
    case flow::Layer4::kUDP:
      return "UDP";
    case flow::Layer4::kSCTP:
      return "SCTP";
    case flow::Layer4::kICMPv4:
      return "ICMPv4";
    case flow::Layer4::kICMPv6:
      return "ICMPv6";
    case flow::Layer4::kVRRP:
      return "VRRP";
    case flow::Layer4::kIGMP:
      return "IGMP";
    default:
      return "";
  }
}

std::string direction_label(flow::TrafficDirection d) {
  switch (d) {
    case flow::INGRESS:
      return "ingress";
    case flow::EGRESS:
      return "egress";
    default:
      return "unknown";
  }
}

std::string match_label(uint32_t m) {
  static const char* kNames[] = {"none", "l3-only", "l3-l4", "l4-only", "all", "l3-proto",
                                 "proto-only"};
  return m < 7 ? kNames[m] : "unknown";
}

bool is_policy_decision(const flow::Flow& f) {
  switch (f.event_type().type()) {
    case kMessageTypePolicyVerdict:
      return true;
    case kMessageTypeDrop:
      return f.drop_reason_desc() == flow::POLICY_DENIED || f.drop_reason_desc() == flow::POLICY_DENY;
    case kMessageTypeTrace:
      return f.trace_reason() == flow::NEW;
    default:
      return false;
  }
}

}  // namespace

// ---- exposition ------------------------------------------------------------

std::string escape_label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string escape_help(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

std::string format_metric_value(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    char b[32];
    std::snprintf(b, sizeof(b), "%.0f", v);
    return b;
  }
  char b[40];
  std::snprintf(b, sizeof(b), "%.17g", v);
  return b;
}

MetricFamily::MetricFamily(std::string name, std::string help, Type type,
                           std::vector<std::string> labels)
    : name_(std::move(name)), help_(std::move(help)), type_(type), labels_(std::move(labels)) {}

void MetricFamily::add(const std::vector<std::string>& label_values, double v) {
  std::lock_guard lock(mu_);
  series_[label_values] += v;
}

void MetricFamily::set(const std::vector<std::string>& label_values, double v) {
  std::lock_guard lock(mu_);
  series_[label_values] = v;
}

double MetricFamily::value(const std::vector<std::string>& label_values) const {
  std::lock_guard lock(mu_);
  auto it = series_.find(label_values);
  return it == series_.end() ? 0 : it->second;
}

void MetricFamily::render(std::string& out) const {
  std::lock_guard lock(mu_);
  out += "# HELP " + name_ + " " + escape_help(help_) + "\n";
  out += "# TYPE " + name_ + (type_ == Type::counter ? " counter\n" : " gauge\n");
  for (const auto& [values, v] : series_) {
    out += name_;
    if (!labels_.empty()) {
      out += "{";
      for (size_t i = 0; i < labels_.size(); ++i) {
        if (i) out += ",";
        out += labels_[i] + "=\"" + escape_label_value(i < values.size() ? values[i] : "") + "\"";
      }
      out += "}";
    }
    out += " " + format_metric_value(v) + "\n";
  }
}

MetricFamily& MetricsRegistry::add(std::string name, std::string help, MetricFamily::Type type,
                                   std::vector<std::string> labels) {
  std::lock_guard lock(mu_);
  families_.push_back(
      std::make_unique<MetricFamily>(std::move(name), std::move(help), type, std::move(labels)));
  return *families_.back();
}

MetricFamily& MetricsRegistry::counter(std::string name, std::string help,
                                       std::vector<std::string> labels) {
  return add(std::move(name), std::move(help), MetricFamily::Type::counter, std::move(labels));
}

MetricFamily& MetricsRegistry::gauge(std::string name, std::string help,
                                     std::vector<std::string> labels) {
  return add(std::move(name), std::move(help), MetricFamily::Type::gauge, std::move(labels));
}

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const auto& f : families_) f->render(out);
  return out;
}

// ---- flow metrics ----------------------------------------------------------

FlowMetrics::FlowMetrics(MetricsRegistry& r)
    : flows_(r.counter("hubble_flows_processed_total", "Total number of flows processed",
                       {"type", "subtype", "verdict"})),
      drops_(r.counter("hubble_drop_total", "Number of drops", {"reason", "protocol", "direction"})),
      verdicts_(r.counter("hubble_policy_verdicts_total",
                          "Number of policy decisions: allowed, dropped, redirected",
                          {"direction", "match", "action"})),
      lost_(r.counter("hubble_lost_events_total", "Number of lost events", {"source"})),
      ring_flows_(r.gauge("hubble_ring_buffer_flows", "Flows (and lost-event records) in the ring")),
      ring_capacity_(r.gauge("hubble_ring_buffer_capacity", "Capacity of the flow ring")),
      ring_seen_(r.gauge("hubble_ring_buffer_seen_flows", "Flows written to the ring since start")) {}

void FlowMetrics::observe(const observer::GetFlowsResponse& r) {
  if (r.has_flow()) {
    observe(r.flow());
  } else if (r.has_lost_events()) {
    lost_.add({to_lower(flow::LostEventSource_Name(r.lost_events().source()))},
              static_cast<double>(r.lost_events().num_events_lost()));
  }
}

void FlowMetrics::observe(const flow::Flow& f) {
  flows_.add({event_type_label(f), subtype_label(f), flow::Verdict_Name(f.verdict())});
  if (f.verdict() == flow::DROPPED) {
    drops_.add({flow::DropReason_Name(f.drop_reason_desc()), protocol_label(f),
                direction_label(f.traffic_direction())});
  }
  if (is_policy_decision(f)) {
    verdicts_.add({direction_label(f.traffic_direction()), match_label(f.policy_match_type()),
                   to_lower(flow::Verdict_Name(f.verdict()))});
  }
}

void FlowMetrics::set_ring(const RingStats& s) {
  ring_flows_.set({}, static_cast<double>(s.size));
  ring_capacity_.set({}, static_cast<double>(s.capacity));
  ring_seen_.set({}, static_cast<double>(s.seen_flows));
}

// ---- HTTP ------------------------------------------------------------------

HttpResponse handle_metrics_request(const std::string& method, const std::string& path,
                                    const MetricsRegistry& registry) {
  std::string p = path.substr(0, path.find('?'));
  if (p != "/metrics") return {404, "text/plain; charset=utf-8", "404 page not found\n"};
  if (method != "GET" && method != "HEAD") {
    return {405, "text/plain; charset=utf-8", "method not allowed\n"};
  }
  return {200, "text/plain; version=0.0.4; charset=utf-8",
          method == "HEAD" ? std::string() : registry.render()};
}

std::string http_response_bytes(const HttpResponse& r) {
  const char* reason = r.status == 200 ? "OK" : r.status == 404 ? "Not Found"
                       : r.status == 405                        ? "Method Not Allowed"
                                                                : "Bad Request";
  return "HTTP/1.1 " + std::to_string(r.status) + " " + reason + "\r\nContent-Type: " +
         r.content_type + "\r\nContent-Length: " + std::to_string(r.body.size()) +
         "\r\nConnection: close\r\n\r\n" + r.body;
}

Result<std::unique_ptr<MetricsHttpServer>> MetricsHttpServer::start(
    const MetricsRegistry& registry, const std::string& address,
    std::function<void()> before_render) {
  auto l = listen_tcp(address, "metrics");
  if (!l) return l.error();
  std::unique_ptr<MetricsHttpServer> s(new MetricsHttpServer(registry, std::move(before_render)));
  s->listen_ = std::move(l->first);
  s->port_ = l->second;
  s->wake_.reset(::eventfd(0, EFD_CLOEXEC));
  if (!s->wake_.valid()) return sys_error("metrics: eventfd");
  s->thread_ = std::thread([p = s.get()] { p->serve(); });
  return s;
}

void MetricsHttpServer::serve() {
  for (;;) {
    pollfd fds[2] = {{listen_.get(), POLLIN, 0}, {wake_.get(), POLLIN, 0}};
    if (::poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    if (fds[0].revents & POLLIN) {
      int c = ::accept4(listen_.get(), nullptr, nullptr, SOCK_CLOEXEC);
      if (c >= 0) {
        Fd conn(c);
        handle(conn.get());
      }
    }
  }
}

void MetricsHttpServer::handle(int fd) {
  timeval tv{2, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  std::string req;
  char buf[2048];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 8192) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    req.append(buf, static_cast<size_t>(n));
  }
  HttpResponse resp{400, "text/plain; charset=utf-8", "bad request\n"};
  auto sp1 = req.find(' ');
  auto sp2 = sp1 == std::string::npos ? std::string::npos : req.find(' ', sp1 + 1);
  if (sp2 != std::string::npos) {
    if (before_render_) before_render_();
    resp = handle_metrics_request(req.substr(0, sp1), req.substr(sp1 + 1, sp2 - sp1 - 1), registry_);
  }
  std::string bytes = http_response_bytes(resp);
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

void MetricsHttpServer::stop() {
  std::call_once(stopped_, [&] {
    uint64_t one = 1;
    if (wake_.valid()) (void)::write(wake_.get(), &one, sizeof(one));
    if (thread_.joinable()) thread_.join();
  });
}

MetricsHttpServer::~MetricsHttpServer() {
  stop();
}

}  // namespace axon::hubble
