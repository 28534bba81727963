// toPorts (cilium's PortRule): the ports of an element (numbers, names,
// ranges with endPort, protocols), the TLS fields axon does not support,
// and the L7 rules on them (l7.cpp) with what those need of the ports.
#include "axon/base/strings.h"
#include "decode/decoder.h"

namespace axon::policy::internal {
namespace {

constexpr size_t kMaxPortsPerRule = 40;  // Cilium's limit per toPorts element

}  // namespace

void Decoder::decode_to_ports(const std::vector<Field>& fs, const YAML::Node& n,
                              const Field& ports, const std::string& path, Section section,
                              bool host, PeerRule& el) {
  std::string p = child(path, "toPorts");
  auto entry = [&](const YAML::Node& e, const std::string& ep) {
    return decode_port_rule(e, ep, section, host);
  };
  if (list_of(ports.value, p, "toPorts", el.ports, entry) && ports.value.size() == 0) {
    warn(ports.value, p, "empty list: this element allows no port");
  }
  one_of(fs, n, path, {"toPorts", "toServices"},
         {.combined = "toServices cannot be combined with toPorts",
          .fix = "the service's own ports apply; remove toPorts"});
}

std::optional<PortRule> Decoder::decode_port_rule(const YAML::Node& n, const std::string& path,
                                                  Section section, bool host) {
  if (!expect_map(n, path, "a toPorts entry")) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path,
             {"ports", "rules", "terminatingTLS", "originatingTLS", "serverNames", "listener"}, {},
             "a toPorts entry");
  const size_t errors_before = errors_;
  PortRule rule;
  if (const Field* p = find(fs, "ports")) {
    std::string pp = child(path, "ports");
    if (p->value.IsSequence() && p->value.size() > kMaxPortsPerRule) {
      error(p->value, pp,
            std::to_string(p->value.size()) + " ports; at most " +
                std::to_string(kMaxPortsPerRule) + " per toPorts entry",
            "split it into several toPorts entries");
    }
    list_of(p->value, pp, "ports", rule.ports,
            [&](const YAML::Node& e, const std::string& ep) { return decode_port(e, ep); });
  }
  for (const char* tls : {"terminatingTLS", "originatingTLS", "serverNames", "listener"}) {
    if (const Field* f = find(fs, tls)) {
      error(f->key_node, child(path, tls),
            std::string(tls) + " (TLS interception / Envoy listeners) is not supported by axon",
            "remove it");
    }
  }
  if (const Field* r = find(fs, "rules")) {
    std::string rp = child(path, "rules");
    if (is_deny(section)) {
      error(r->key_node, rp, "deny rules cannot have L7 rules: a deny applies to the whole port",
            "move the L7 rules to an allow section, or deny the port without rules");
    } else if (!r->value.IsNull()) {
      decode_l7(r->value, rp, section, host, rule);
    }
  }
  check_l7_ports(n, path, rule);
  if (errors_ != errors_before) return std::nullopt;
  return rule;
}

// L7 rules need explicit ports of the protocol they speak.
void Decoder::check_l7_ports(const YAML::Node& n, const std::string& path, const PortRule& rule) {
  L7Kind k = l7_kind(rule.rules);
  if (k == L7Kind::none) return;
  if (rule.ports.empty()) {
    error(n, child(path, "ports"), "L7 rules need explicit ports",
          "add ports: [{port: \"80\", protocol: TCP}]");
  }
  for (size_t i = 0; i < rule.ports.size(); ++i) {
    const auto& p = rule.ports[i];
    std::string pp = index_path(child(path, "ports"), i);
    if (p.port == 0 && p.name.empty()) {
      error(n, pp, "L7 rules cannot apply to port 0 (all ports)", "name the port");
    }
    if (k == L7Kind::http && p.protocol != Protocol::tcp) {
      error(n, pp, "http rules need protocol TCP, not " + std::string(protocol_name(p.protocol)),
            "write protocol: TCP");
    }
    if (k == L7Kind::dns) {
      if (p.protocol == Protocol::sctp) error(n, pp, "dns rules need protocol UDP, TCP or ANY");
      if (p.end_port != 0) error(n, pp, "dns rules cannot apply to a port range (endPort)");
    }
  }
}

std::optional<PortProtocol> Decoder::decode_port(const YAML::Node& n, const std::string& path) {
  if (!expect_map(n, path, "a port")) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path, {"port", "endPort", "protocol"}, {}, "a port");
  PortProtocol out;
  bool ok = true;
  // Each is read (and reported) even when an earlier one is invalid.
  if (const Field* f = find(fs, "port")) {
    ok = decode_port_number(*f, child(path, "port"), out) && ok;
  }
  if (const Field* f = find(fs, "protocol")) {
    ok = decode_protocol(*f, child(path, "protocol"), out) && ok;
  }
  if (const Field* f = find(fs, "endPort")) {
    ok = decode_end_port(*f, child(path, "endPort"), out) && ok;
  }
  if (!ok) return std::nullopt;
  return out;
}

// A port number (a string in Cilium, so a plain number is a warning) or a
// port name.
bool Decoder::decode_port_number(const Field& f, const std::string& pp, PortProtocol& out) {
  if (!f.value.IsScalar()) {
    error(f.value, pp, "must be a number or a port name, not " + type_name(f.value));
    return false;
  }
  const std::string& s = f.value.Scalar();
  if (all_digits(s)) {
    bool ok = true;
    auto v = parse_int(s);
    if (!v || *v > 65535) {
      error(f.value, pp, "port " + s + " is out of range (0-65535)");
      ok = false;
    } else {
      out.port = static_cast<uint16_t>(*v);
    }
    if (is_plain(f.value)) {
      YAML::Node h = f.value;
      warn(f.value, pp,
           s + " is a number in YAML, but Cilium's port field is a string (kubectl rejects "
               "the type)",
           "quote it: port: \"" + s + "\"", [h]() mutable { h.SetTag("!"); },
           pp + ": quoted " + s);
    }
    return ok;
  }
  if (auto e = check_port_name(s); !e.empty()) {
    std::string lower = to_lower(s);
    if (check_port_name(lower).empty()) {
      YAML::Node h = f.value;
      error(f.value, pp, "port names are lower-case", "write \"" + lower + "\"",
            [h, lower]() mutable { h = lower; }, pp + ": " + s + " -> " + lower);
    } else {
      error(f.value, pp, e);
    }
    return false;
  }
  out.name = s;
  return true;
}

bool Decoder::decode_protocol(const Field& f, const std::string& pp, PortProtocol& out) {
  auto s = string_of(f.value, pp);
  if (!s) return false;
  if (*s == "TCP" || *s == "UDP" || *s == "SCTP" || *s == "ANY") {
    out.protocol = *parse_protocol(*s);
    return true;
  }
  if (auto p = parse_protocol(*s); p && (*p == Protocol::icmp || *p == Protocol::icmpv6)) {
    error(f.value, pp, "ICMP is not a toPorts protocol",
          "allow ICMP with icmps: [{fields: [{type: 8, family: IPv4}]}] in its own element");
  } else if (p) {
    YAML::Node h = f.value;
    std::string up = to_upper(*s);
    error(f.value, pp, "protocol names are upper-case", "write " + up,
          [h, up]() mutable { h = up; }, pp + ": " + *s + " -> " + up);
  } else if (to_upper(*s) == "VRRP" || to_upper(*s) == "IGMP") {
    error(f.value, pp, *s + " rules are not supported by axon");
  } else {
    error(f.value, pp, "unknown protocol \"" + *s + "\"", "one of TCP, UDP, SCTP, ANY");
  }
  return false;
}

// endPort: the inclusive end of a range that starts at `port`.
bool Decoder::decode_end_port(const Field& f, const std::string& pp, PortProtocol& out) {
  auto v = f.value.IsScalar() && is_plain(f.value) ? parse_int(f.value.Scalar()) : std::nullopt;
  if (!v) {
    error(f.value, pp, "must be a number, not " + type_name(f.value));
    return false;
  }
  if (!out.name.empty()) {
    warn(f.value, pp, "endPort is ignored with a named port");
  } else if (out.port == 0) {
    error(f.value, pp, "endPort needs a start port", "set port to the first port of the range");
    return false;
  } else if (*v < out.port || *v > 65535) {
    error(f.value, pp,
          "endPort " + std::to_string(*v) + " must be between port (" +
              std::to_string(out.port) + ") and 65535");
    return false;
  } else if (*v > out.port) {
    out.end_port = static_cast<uint16_t>(*v);
  }
  return true;
}

}  // namespace axon::policy::internal
