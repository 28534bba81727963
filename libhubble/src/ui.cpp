#include "axon/hubble/ui.h"

#include <map>
#include <tuple>

#include "axon/base/strings.h"
#include "axon/hubble/printer.h"
#include "axon/hubble/time.h"

namespace axon::hubble::ui {
namespace {

// The value of a "source:key=value" label with key `key` ("k8s:app=api").
std::string label_value(const flow::Endpoint& ep, std::string_view key) {
  for (const auto& l : ep.labels()) {
    auto colon = l.find(':');
    auto eq = l.find('=');
    if (colon == std::string::npos || eq == std::string::npos || eq < colon) continue;
    if (std::string_view(l).substr(colon + 1, eq - colon - 1) == key) return l.substr(eq + 1);
  }
  return "";
}

std::string reserved_entity(const flow::Endpoint& ep) {
  for (const auto& l : ep.labels()) {
    if (l.starts_with("reserved:")) {
      auto eq = l.find('=');
      return l.substr(9, eq == std::string::npos ? std::string::npos : eq - 9);
    }
  }
  return "";
}

struct L4 {
  std::string protocol;  // "TCP", "UDP", "ICMPv4", ...
  uint32_t sport = 0, dport = 0;
  std::string flags;     // "SYN, ACK"
};

L4 layer4(const flow::Flow& f) {
  const auto& l4 = f.l4();
  L4 out;
  switch (l4.protocol_case()) {
    case flow::Layer4::kTCP: {
      out.protocol = "TCP";
      out.sport = l4.tcp().source_port();
      out.dport = l4.tcp().destination_port();
      const auto& fl = l4.tcp().flags();
      std::vector<std::string> set;
      for (auto [on, name] : {std::pair{fl.syn(), "SYN"}, {fl.ack(), "ACK"}, {fl.fin(), "FIN"},
                              {fl.rst(), "RST"}, {fl.psh(), "PSH"}, {fl.urg(), "URG"}}) {
        if (on) set.emplace_back(name);
      }
      out.flags = join(set, ", ");
      break;
    }
    case flow::Layer4::kUDP:
      out.protocol = "UDP";
      out.sport = l4.udp().source_port();
      out.dport = l4.udp().destination_port();
      break;
    case flow::Layer4::kSCTP:
      out.protocol = "SCTP";
      out.sport = l4.sctp().source_port();
      out.dport = l4.sctp().destination_port();
      break;
    case flow::Layer4::kICMPv4:
      out.protocol = "ICMPv4";
      break;
    case flow::Layer4::kICMPv6:
      out.protocol = "ICMPv6";
      break;
    default:
      break;
  }
  return out;
}

Json endpoint_json(const flow::Endpoint& ep, const std::string& ip, uint32_t port) {
  auto node = map_node(ep, ip);
  Json labels = Json::array();
  for (const auto& l : ep.labels()) labels.push_back(l);
  return {{"namespace", ep.namespace_()},
          {"pod", ep.pod_name()},
          {"workload", ep.workloads_size() > 0 ? ep.workloads(0).name() : ""},
          {"identity", ep.identity()},
          {"ip", ip},
          {"port", port},
          {"labels", std::move(labels)},
          {"node", node.id},
          {"name", node.name}};
}

bool touches(const flow::Flow& f, const std::string& ns) {
  return ns.empty() || f.source().namespace_() == ns || f.destination().namespace_() == ns;
}

bool is_reply(const flow::Flow& f) {
  return f.has_is_reply() ? f.is_reply().value() : f.reply();
}

int64_t unix_ns(const flow::Flow& f) {
  return f.time().seconds() * 1'000'000'000LL + f.time().nanos();
}

}  // namespace

MapNodeRef map_node(const flow::Endpoint& ep, const std::string& ip) {
  if (!ep.pod_name().empty()) {
    std::string name;
    std::string kind = "workload";
    if (ep.workloads_size() > 0 && !ep.workloads(0).name().empty()) {
      name = ep.workloads(0).name();
    } else if (auto app = label_value(ep, "app"); !app.empty()) {
      name = app;
    } else if (auto app = label_value(ep, "k8s-app"); !app.empty()) {
      name = app;
    } else {
      name = ep.pod_name();
      kind = "pod";
    }
    return {ep.namespace_() + "/" + name, name, ep.namespace_(), kind};
  }
  if (auto entity = reserved_entity(ep); !entity.empty()) {
    return {"reserved:" + entity, entity, "", "entity"};
  }
  if (!ip.empty()) return {"ip:" + ip, ip, "", "ip"};
  return {"identity:" + std::to_string(ep.identity()), "identity " + std::to_string(ep.identity()),
          "", "entity"};
}

Json flow_row(const flow::Flow& f, uint64_t seq) {
  const L4 l4 = layer4(f);
  const bool dropped = f.verdict() == flow::DROPPED;
  Json row = {{"seq", seq},
              {"time", format_time(unix_ns(f), "RFC3339Milli")},
              {"node", f.node_name()},
              {"verdict", flow::Verdict_Name(f.verdict())},
              {"reason", dropped ? drop_reason_text(static_cast<uint32_t>(f.drop_reason_desc()))
                                 : ""},
              {"type", flow_type_text(f)},
              {"source", endpoint_json(f.source(), f.ip().source(), l4.sport)},
              {"destination", endpoint_json(f.destination(), f.ip().destination(), l4.dport)},
              {"protocol", l4.protocol},
              {"flags", l4.flags},
              {"isReply", is_reply(f)},
              {"direction", f.traffic_direction() == flow::INGRESS  ? "ingress"
                            : f.traffic_direction() == flow::EGRESS ? "egress"
                                                                    : ""},
              {"summary", f.summary()}};
  if (!f.destination_service().name().empty()) {
    row["destinationService"] =
        f.destination_service().namespace_() + "/" + f.destination_service().name();
  }
  return row;
}

FlowCache::FlowCache(size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

void FlowCache::add(const flow::Flow& f) {
  std::lock_guard lock(mu_);
  flows_.push_back({++seq_, f});
  if (flows_.size() > capacity_) flows_.pop_front();
}

void FlowCache::add_lost(uint64_t n) {
  std::lock_guard lock(mu_);
  lost_ += n;
}

void FlowCache::set_known_namespaces(std::set<std::string> ns) {
  std::lock_guard lock(mu_);
  known_ns_ = std::move(ns);
}

Json FlowCache::namespaces() const {
  std::lock_guard lock(mu_);
  std::set<std::string> all = known_ns_;
  for (const auto& e : flows_) {
    if (!e.flow.source().namespace_().empty()) all.insert(e.flow.source().namespace_());
    if (!e.flow.destination().namespace_().empty()) all.insert(e.flow.destination().namespace_());
  }
  return Json(all);
}

Json FlowCache::flows(const std::string& ns, uint64_t after, size_t limit,
                      const std::string& verdict) const {
  std::lock_guard lock(mu_);
  std::vector<const Entry*> picked;
  // Newest first, so `limit` keeps the newest; the page gets them oldest first.
  for (auto it = flows_.rbegin(); it != flows_.rend() && picked.size() < limit; ++it) {
    if (it->seq <= after) break;
    if (!touches(it->flow, ns)) continue;
    if (!verdict.empty() && flow::Verdict_Name(it->flow.verdict()) != verdict) continue;
    picked.push_back(&*it);
  }
  Json rows = Json::array();
  for (auto it = picked.rbegin(); it != picked.rend(); ++it) rows.push_back(flow_row((*it)->flow, (*it)->seq));
  return {{"flows", std::move(rows)}, {"last", seq_}};
}

Json FlowCache::service_map(const std::string& ns) const {
  // A connection is one source address and port to one destination address,
  // port and protocol; its packets are seen at several points (leaving the
  // client's node, arriving at the server's), so it counts once: dropped if
  // any of its packets was, else forwarded.
  using EdgeKey = std::tuple<std::string, std::string, std::string, uint32_t>;
  struct Connection {
    EdgeKey edge;
    bool dropped = false;
    std::string reason;
  };
  std::map<std::string, MapNodeRef> nodes;
  std::map<std::tuple<std::string, uint32_t, std::string, uint32_t, std::string>, Connection> conns;
  std::map<EdgeKey, int64_t> last_seen;
  {
    std::lock_guard lock(mu_);
    for (const auto& e : flows_) {
      const auto& f = e.flow;
      if (!touches(f, ns) || is_reply(f)) continue;
      if (f.verdict() != flow::FORWARDED && f.verdict() != flow::DROPPED) continue;
      auto src = map_node(f.source(), f.ip().source());
      auto dst = map_node(f.destination(), f.ip().destination());
      const L4 l4 = layer4(f);
      nodes.emplace(src.id, src);
      nodes.emplace(dst.id, dst);
      EdgeKey edge{src.id, dst.id, l4.protocol, l4.dport};
      auto& c = conns[{f.ip().source(), l4.sport, f.ip().destination(), l4.dport, l4.protocol}];
      c.edge = edge;
      if (f.verdict() == flow::DROPPED && !c.dropped) {
        c.dropped = true;
        c.reason = drop_reason_text(static_cast<uint32_t>(f.drop_reason_desc()));
      }
      auto& t = last_seen[edge];
      t = std::max(t, unix_ns(f));
    }
  }
  struct EdgeStats {
    uint64_t forwarded = 0, dropped = 0;
    std::set<std::string> reasons;
  };
  std::map<EdgeKey, EdgeStats> edges;
  for (const auto& [key, c] : conns) {
    auto& s = edges[c.edge];
    if (c.dropped) {
      ++s.dropped;
      s.reasons.insert(c.reason);
    } else {
      ++s.forwarded;
    }
  }
  Json out = {{"namespace", ns}, {"nodes", Json::array()}, {"edges", Json::array()}};
  for (const auto& [id, n] : nodes) {
    out["nodes"].push_back({{"id", id},
                            {"name", n.name},
                            {"namespace", n.ns},
                            {"kind", n.kind},
                            {"inNamespace", ns.empty() || n.ns == ns}});
  }
  for (const auto& [key, s] : edges) {
    const auto& [src, dst, proto, port] = key;
    out["edges"].push_back({{"source", src},
                            {"destination", dst},
                            {"protocol", proto},
                            {"port", port},
                            {"forwarded", s.forwarded},
                            {"dropped", s.dropped},
                            {"verdict", s.dropped == 0   ? "forwarded"
                                        : s.forwarded == 0 ? "dropped"
                                                           : "mixed"},
                            {"reasons", Json(s.reasons)},
                            {"lastSeen", format_time(last_seen[key], "RFC3339Milli")}});
  }
  return out;
}

int64_t FlowCache::newest_time_ns() const {
  std::lock_guard lock(mu_);
  int64_t t = 0;
  for (const auto& e : flows_) t = std::max(t, unix_ns(e.flow));
  return t;
}

Json FlowCache::stats() const {
  std::lock_guard lock(mu_);
  return {{"seen", seq_}, {"lost", lost_}, {"cached", flows_.size()}, {"capacity", capacity_}};
}

}  // namespace axon::hubble::ui
