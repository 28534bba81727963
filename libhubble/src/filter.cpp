#include "axon/hubble/filter.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>
#include <regex>

#include "axon/base/strings.h"
#include "axon/hubble/flow_decoder.h"

namespace axon::hubble {
namespace {

using Check = std::function<bool(const flow::Flow&)>;
using Strings = google::protobuf::RepeatedPtrField<std::string>;

// ---- addresses -------------------------------------------------------------

struct Prefix {
  int family = AF_INET;
  std::array<uint8_t, 16> bytes{};
  int bits = 32;

  bool contains(const std::string& addr_text) const {
    std::array<uint8_t, 16> a{};
    if (inet_pton(family, addr_text.c_str(), a.data()) != 1) return false;
    int full = bits / 8, rest = bits % 8;
    if (std::memcmp(a.data(), bytes.data(), full) != 0) return false;
    if (rest == 0) return true;
    uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
    return (a[full] & mask) == (bytes[full] & mask);
  }
};

Result<Prefix> parse_prefix(const std::string& text) {
  Prefix p;
  std::string addr = text;
  int bits = -1;
  if (auto slash = text.find('/'); slash != std::string::npos) {
    addr = text.substr(0, slash);
    std::string len = text.substr(slash + 1);
    auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), bits);
    if (ec != std::errc() || ptr != len.data() + len.size() || len.empty()) bits = -2;
  }
  p.family = addr.find(':') != std::string::npos ? AF_INET6 : AF_INET;
  int max = p.family == AF_INET6 ? 128 : 32;
  if (inet_pton(p.family, addr.c_str(), p.bytes.data()) != 1 || bits == -2 || bits > max) {
    return Error{"invalid IP address or CIDR \"" + text + "\""};
  }
  p.bits = bits < 0 ? max : bits;
  return p;
}

// ---- names -----------------------------------------------------------------

// "[namespace/]prefix": no slash means namespace "default"; an empty
// namespace before the slash means any namespace (--all-namespaces).
struct NameFilter {
  std::string ns;
  bool any_ns = false;
  std::string prefix;
};

Result<NameFilter> parse_name_filter(const std::string& text) {
  NameFilter f;
  auto slash = text.find('/');
  if (slash == std::string::npos) {
    f.ns = "default";
    f.prefix = text;
  } else {
    f.ns = text.substr(0, slash);
    f.any_ns = f.ns.empty();
    f.prefix = text.substr(slash + 1);
  }
  if (text.empty()) return Error{"invalid filter \"\", must be [namespace/][<name>]"};
  return f;
}

bool name_matches(const std::vector<NameFilter>& filters, const std::string& ns,
                  const std::string& name) {
  if (ns.empty() && name.empty()) return false;
  for (const auto& f : filters) {
    if ((f.any_ns || f.ns == ns) && name.starts_with(f.prefix)) return true;
  }
  return false;
}

// Glob with `*` matching any run of characters other than those in `stop`.
bool glob_match(std::string_view pattern, std::string_view text, std::string_view stop) {
  size_t p = 0, t = 0, star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star_p = p++;
      star_t = t;
    } else if (p < pattern.size() && pattern[p] == text[t]) {
      ++p;
      ++t;
    } else if (star_p != std::string_view::npos && stop.find(text[star_t]) == std::string::npos) {
      p = star_p + 1;
      t = ++star_t;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string trim_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return to_lower(std::move(s));
}

// Node names are "node" or "cluster/node". A pattern "cluster/nodepat"
// matches both parts, "cluster/" every node of that cluster, "nodepat" the
// node of any cluster; `*` does not cross a '/'.
bool node_name_matches(const std::string& pattern, const std::string& node_name) {
  auto ps = pattern.find('/');
  auto ns = node_name.find('/');
  std::string node = ns == std::string::npos ? node_name : node_name.substr(ns + 1);
  std::string cluster = ns == std::string::npos ? "" : node_name.substr(0, ns);
  if (ps == std::string::npos) return glob_match(pattern, node, "/");
  std::string pc = pattern.substr(0, ps), pn = pattern.substr(ps + 1);
  if (!glob_match(pc, cluster, "/")) return false;
  return pn.empty() || glob_match(pn, node, "/");
}

// ---- L4 --------------------------------------------------------------------

std::pair<uint32_t, uint32_t> ports(const flow::Flow& f) {
  const auto& l4 = f.l4();
  switch (l4.protocol_case()) {
    case flow::Layer4::kTCP:
      return {l4.tcp().source_port(), l4.tcp().destination_port()};
    case flow::Layer4::kUDP:
      return {l4.udp().source_port(), l4.udp().destination_port()};
    case flow::Layer4::kSCTP:
      return {l4.sctp().source_port(), l4.sctp().destination_port()};
    default:
      return {0, 0};
  }
}

bool has_port(const flow::Flow& f) {
  auto c = f.l4().protocol_case();
  return c == flow::Layer4::kTCP || c == flow::Layer4::kUDP || c == flow::Layer4::kSCTP;
}

bool protocol_matches(const std::string& proto, const flow::Flow& f) {
  auto c = f.l4().protocol_case();
  if (proto == "tcp") return c == flow::Layer4::kTCP;
  if (proto == "udp") return c == flow::Layer4::kUDP;
  if (proto == "sctp") return c == flow::Layer4::kSCTP;
  if (proto == "icmp") return c == flow::Layer4::kICMPv4 || c == flow::Layer4::kICMPv6;
  if (proto == "icmpv4") return c == flow::Layer4::kICMPv4;
  if (proto == "icmpv6") return c == flow::Layer4::kICMPv6;
  if (proto == "vrrp") return c == flow::Layer4::kVRRP;
  if (proto == "igmp") return c == flow::Layer4::kIGMP;
  if (proto == "dns") return f.l7().has_dns();
  if (proto == "http") return f.l7().has_http();
  if (proto == "kafka") return f.l7().has_kafka();
  return false;
}

const std::vector<std::string> kProtocols = {"tcp",    "udp",  "sctp", "icmp", "icmpv4", "icmpv6",
                                             "vrrp",   "igmp", "dns",  "http", "kafka"};

bool flags_subset(const flow::TCPFlags& want, const flow::TCPFlags& have) {
  return (!want.fin() || have.fin()) && (!want.syn() || have.syn()) &&
         (!want.rst() || have.rst()) && (!want.psh() || have.psh()) &&
         (!want.ack() || have.ack()) && (!want.urg() || have.urg()) &&
         (!want.ece() || have.ece()) && (!want.cwr() || have.cwr()) && (!want.ns() || have.ns());
}

// ---- builders --------------------------------------------------------------

template <typename T>
bool contains(const google::protobuf::RepeatedField<T>& list, T v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

bool any_of_strings(const Strings& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

Result<Check> ip_check(const Strings& values, const char* field,
                       std::function<const std::string&(const flow::Flow&)> get) {
  std::vector<Prefix> prefixes;
  for (const auto& v : values) {
    auto p = parse_prefix(v);
    if (!p) return Error{std::string(field) + ": " + p.error().message};
    prefixes.push_back(*p);
  }
  return Check([prefixes, get](const flow::Flow& f) {
    const std::string& addr = get(f);
    if (addr.empty()) return false;
    return std::any_of(prefixes.begin(), prefixes.end(),
                       [&](const Prefix& p) { return p.contains(addr); });
  });
}

Result<Check> name_check(const Strings& values, const char* field,
                         std::function<std::pair<std::string, std::string>(const flow::Flow&)> get) {
  std::vector<NameFilter> filters;
  for (const auto& v : values) {
    auto nf = parse_name_filter(v);
    if (!nf) return Error{std::string(field) + ": " + nf.error().message};
    filters.push_back(*nf);
  }
  return Check([filters, get](const flow::Flow& f) {
    auto [ns, name] = get(f);
    return name_matches(filters, ns, name);
  });
}

Result<Check> label_check(const Strings& values, const char* field,
                          std::function<const Strings&(const flow::Flow&)> get) {
  std::vector<LabelSelector> selectors;
  for (const auto& v : values) {
    auto s = LabelSelector::parse(v);
    if (!s) return Error{std::string(field) + ": " + s.error().message};
    selectors.push_back(std::move(*s));
  }
  return Check([selectors, get](const flow::Flow& f) {
    const auto& labels = get(f);
    return std::any_of(selectors.begin(), selectors.end(),
                       [&](const LabelSelector& s) { return s.matches(labels); });
  });
}

Result<std::vector<std::regex>> compile_regexes(const Strings& values, const char* field) {
  std::vector<std::regex> out;
  for (const auto& v : values) {
    try {
      out.emplace_back(v, std::regex::ECMAScript | std::regex::optimize);
    } catch (const std::regex_error& e) {
      return Error{std::string(field) + ": invalid regular expression \"" + v + "\": " + e.what()};
    }
  }
  return out;
}

bool any_regex(const std::vector<std::regex>& res, const std::string& text) {
  return std::any_of(res.begin(), res.end(),
                     [&](const std::regex& r) { return std::regex_search(text, r); });
}

Result<Check> port_check(const Strings& values, const char* field, bool source) {
  std::vector<uint32_t> wanted;
  for (const auto& v : values) {
    unsigned port = 0;
    auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), port);
    if (ec != std::errc() || ptr != v.data() + v.size() || v.empty() || port > 65535) {
      return Error{std::string(field) + ": invalid port \"" + v + "\""};
    }
    wanted.push_back(port);
  }
  return Check([wanted, source](const flow::Flow& f) {
    if (!has_port(f)) return false;
    auto [sp, dp] = ports(f);
    uint32_t p = source ? sp : dp;
    return std::find(wanted.begin(), wanted.end(), p) != wanted.end();
  });
}

Result<Check> fqdn_check(const Strings& values, bool source) {
  std::vector<std::string> patterns;
  for (const auto& v : values) {
    if (v.empty()) return Error{std::string(source ? "source_fqdn" : "destination_fqdn") +
                                ": empty pattern"};
    patterns.push_back(trim_dot(v));
  }
  return Check([patterns, source](const flow::Flow& f) {
    const auto& names = source ? f.source_names() : f.destination_names();
    for (const auto& n : names) {
      std::string name = trim_dot(n);
      for (const auto& p : patterns) {
        if (glob_match(p, name, "")) return true;
      }
    }
    return false;
  });
}

Result<Check> workload_check(const google::protobuf::RepeatedPtrField<flow::Workload>& wanted,
                             bool source) {
  std::vector<flow::Workload> ws(wanted.begin(), wanted.end());
  return Check([ws, source](const flow::Flow& f) {
    const auto& have = source ? f.source().workloads() : f.destination().workloads();
    for (const auto& w : ws) {
      for (const auto& h : have) {
        if ((w.name().empty() || w.name() == h.name()) &&
            (w.kind().empty() || w.kind() == h.kind()))
          return true;
      }
    }
    return false;
  });
}

Result<Check> status_code_check(const Strings& values) {
  std::vector<std::pair<std::string, bool>> wanted;  // digits, is prefix
  for (const auto& v : values) {
    bool prefix = !v.empty() && v.back() == '+';
    std::string digits = prefix ? v.substr(0, v.size() - 1) : v;
    bool ok = !digits.empty() && digits.size() <= 3 && (prefix || digits.size() == 3) &&
              digits[0] >= '1' && digits[0] <= '5' &&
              std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!ok || (prefix && digits.size() == 3)) {
      return Error{"http_status_code: invalid status code \"" + v +
                   "\": a code (404) or a prefix (4+, 40+)"};
    }
    wanted.emplace_back(digits, prefix);
  }
  return Check([wanted](const flow::Flow& f) {
    if (!f.l7().has_http() || f.l7().http().code() == 0) return false;
    std::string code = std::to_string(f.l7().http().code());
    return std::any_of(wanted.begin(), wanted.end(), [&](const auto& w) {
      return w.second ? code.starts_with(w.first) : code == w.first;
    });
  });
}

// Appends the checks of `ff` to `out`; each set field adds one.
Status build(const flow::FlowFilter& ff, std::vector<Check>& out) {
  auto add = [&](Result<Check> c) -> Status {
    if (!c) return c.error();
    out.push_back(std::move(*c));
    return {};
  };
#define AXON_TRY(expr)              \
  do {                              \
    if (auto st = (expr); !st) {    \
      return st;                    \
    }                               \
  } while (false)

  if (!ff.uuid().empty()) {
    Strings v = ff.uuid();
    out.push_back([v](const flow::Flow& f) { return any_of_strings(v, f.uuid()); });
  }
  if (!ff.source_ip().empty())
    AXON_TRY(add(ip_check(ff.source_ip(), "source_ip",
                          [](const flow::Flow& f) -> const std::string& { return f.ip().source(); })));
  if (!ff.source_ip_xlated().empty())
    AXON_TRY(add(ip_check(ff.source_ip_xlated(), "source_ip_xlated",
                          [](const flow::Flow& f) -> const std::string& {
                            return f.ip().source_xlated();
                          })));
  if (!ff.destination_ip().empty())
    AXON_TRY(add(ip_check(ff.destination_ip(), "destination_ip",
                          [](const flow::Flow& f) -> const std::string& {
                            return f.ip().destination();
                          })));
  if (!ff.source_pod().empty())
    AXON_TRY(add(name_check(ff.source_pod(), "source_pod", [](const flow::Flow& f) {
      return std::make_pair(f.source().namespace_(), f.source().pod_name());
    })));
  if (!ff.destination_pod().empty())
    AXON_TRY(add(name_check(ff.destination_pod(), "destination_pod", [](const flow::Flow& f) {
      return std::make_pair(f.destination().namespace_(), f.destination().pod_name());
    })));
  if (!ff.source_service().empty())
    AXON_TRY(add(name_check(ff.source_service(), "source_service", [](const flow::Flow& f) {
      return std::make_pair(f.source_service().namespace_(), f.source_service().name());
    })));
  if (!ff.destination_service().empty())
    AXON_TRY(add(name_check(ff.destination_service(), "destination_service", [](const flow::Flow& f) {
      return std::make_pair(f.destination_service().namespace_(), f.destination_service().name());
    })));
  if (!ff.source_fqdn().empty()) AXON_TRY(add(fqdn_check(ff.source_fqdn(), true)));
  if (!ff.destination_fqdn().empty()) AXON_TRY(add(fqdn_check(ff.destination_fqdn(), false)));
  if (!ff.source_label().empty())
    AXON_TRY(add(label_check(ff.source_label(), "source_label",
                             [](const flow::Flow& f) -> const Strings& {
                               return f.source().labels();
                             })));
  if (!ff.destination_label().empty())
    AXON_TRY(add(label_check(ff.destination_label(), "destination_label",
                             [](const flow::Flow& f) -> const Strings& {
                               return f.destination().labels();
                             })));
  if (!ff.node_labels().empty())
    AXON_TRY(add(label_check(ff.node_labels(), "node_labels",
                             [](const flow::Flow& f) -> const Strings& { return f.node_labels(); })));
  if (!ff.source_workload().empty()) AXON_TRY(add(workload_check(ff.source_workload(), true)));
  if (!ff.destination_workload().empty())
    AXON_TRY(add(workload_check(ff.destination_workload(), false)));
  if (!ff.source_cluster_name().empty()) {
    Strings v = ff.source_cluster_name();
    out.push_back([v](const flow::Flow& f) {
      return std::any_of(v.begin(), v.end(), [&](const std::string& p) {
        return glob_match(p, f.source().cluster_name(), "");
      });
    });
  }
  if (!ff.destination_cluster_name().empty()) {
    Strings v = ff.destination_cluster_name();
    out.push_back([v](const flow::Flow& f) {
      return std::any_of(v.begin(), v.end(), [&](const std::string& p) {
        return glob_match(p, f.destination().cluster_name(), "");
      });
    });
  }
  if (!ff.traffic_direction().empty()) {
    auto v = ff.traffic_direction();
    out.push_back([v](const flow::Flow& f) {
      return contains<int>(v, static_cast<int>(f.traffic_direction()));
    });
  }
  if (!ff.verdict().empty()) {
    auto v = ff.verdict();
    out.push_back([v](const flow::Flow& f) { return contains<int>(v, f.verdict()); });
  }
  if (!ff.drop_reason_desc().empty()) {
    auto v = ff.drop_reason_desc();
    out.push_back([v](const flow::Flow& f) { return contains<int>(v, f.drop_reason_desc()); });
  }
  if (!ff.interface().empty()) {
    std::vector<flow::NetworkInterface> v(ff.interface().begin(), ff.interface().end());
    out.push_back([v](const flow::Flow& f) {
      if (!f.has_interface()) return false;
      return std::any_of(v.begin(), v.end(), [&](const flow::NetworkInterface& i) {
        return (i.index() == 0 || i.index() == f.interface().index()) &&
               (i.name().empty() || i.name() == f.interface().name());
      });
    });
  }
  if (!ff.event_type().empty()) {
    std::vector<flow::EventTypeFilter> v(ff.event_type().begin(), ff.event_type().end());
    out.push_back([v](const flow::Flow& f) {
      if (!f.has_event_type()) return false;
      return std::any_of(v.begin(), v.end(), [&](const flow::EventTypeFilter& t) {
        return t.type() == f.event_type().type() &&
               (!t.match_sub_type() || t.sub_type() == f.event_type().sub_type());
      });
    });
  }
  if (!ff.http_status_code().empty()) {
    if (!ff.event_type().empty() &&
        std::none_of(ff.event_type().begin(), ff.event_type().end(), [](const auto& t) {
          return t.type() == hubble::kMessageTypeL7;
        })) {
      return Error{"http_status_code: filtering by HTTP status needs event type 129 (l7) "
                   "among the event type filters"};
    }
    AXON_TRY(add(status_code_check(ff.http_status_code())));
  }
  if (!ff.protocol().empty()) {
    std::vector<std::string> v;
    for (const auto& p : ff.protocol()) {
      std::string lp = to_lower(p);
      if (std::find(kProtocols.begin(), kProtocols.end(), lp) == kProtocols.end()) {
        return Error{"protocol: unknown protocol \"" + p + "\"; known: " + join(kProtocols, ", ")};
      }
      v.push_back(lp);
    }
    out.push_back([v](const flow::Flow& f) {
      return std::any_of(v.begin(), v.end(),
                         [&](const std::string& p) { return protocol_matches(p, f); });
    });
  }
  if (!ff.source_port().empty()) AXON_TRY(add(port_check(ff.source_port(), "source_port", true)));
  if (!ff.destination_port().empty())
    AXON_TRY(add(port_check(ff.destination_port(), "destination_port", false)));
  if (!ff.reply().empty()) {
    auto v = ff.reply();
    out.push_back([v](const flow::Flow& f) {
      return f.has_is_reply() && contains<bool>(v, f.is_reply().value());
    });
  }
  if (!ff.dns_query().empty()) {
    auto res = compile_regexes(ff.dns_query(), "dns_query");
    if (!res) return res.error();
    out.push_back([r = std::move(*res)](const flow::Flow& f) {
      return f.l7().has_dns() && any_regex(r, f.l7().dns().query());
    });
  }
  if (!ff.source_identity().empty()) {
    auto v = ff.source_identity();
    out.push_back([v](const flow::Flow& f) { return contains<uint32_t>(v, f.source().identity()); });
  }
  if (!ff.destination_identity().empty()) {
    auto v = ff.destination_identity();
    out.push_back(
        [v](const flow::Flow& f) { return contains<uint32_t>(v, f.destination().identity()); });
  }
  if (!ff.http_method().empty()) {
    std::vector<std::string> v;
    for (const auto& m : ff.http_method()) v.push_back(to_upper(m));
    out.push_back([v](const flow::Flow& f) {
      return f.l7().has_http() &&
             std::find(v.begin(), v.end(), to_upper(f.l7().http().method())) != v.end();
    });
  }
  if (!ff.http_path().empty()) {
    auto res = compile_regexes(ff.http_path(), "http_path");
    if (!res) return res.error();
    out.push_back([r = std::move(*res)](const flow::Flow& f) {
      if (!f.l7().has_http() || f.l7().http().url().empty()) return false;
      // The path of the URL: after scheme://host, before ? or #.
      std::string url = f.l7().http().url();
      auto scheme = url.find("://");
      size_t start = scheme == std::string::npos ? 0 : url.find('/', scheme + 3);
      if (start == std::string::npos) return false;
      std::string path = url.substr(start, url.find_first_of("?#", start) - start);
      return any_regex(r, path);
    });
  }
  if (!ff.http_url().empty()) {
    auto res = compile_regexes(ff.http_url(), "http_url");
    if (!res) return res.error();
    out.push_back([r = std::move(*res)](const flow::Flow& f) {
      return f.l7().has_http() && any_regex(r, f.l7().http().url());
    });
  }
  if (!ff.http_header().empty()) {
    std::vector<flow::HTTPHeader> v(ff.http_header().begin(), ff.http_header().end());
    out.push_back([v](const flow::Flow& f) {
      if (!f.l7().has_http()) return false;
      for (const auto& want : v) {
        for (const auto& h : f.l7().http().headers()) {
          if (h.key() == want.key() && h.value() == want.value()) return true;
        }
      }
      return false;
    });
  }
  if (!ff.tcp_flags().empty()) {
    std::vector<flow::TCPFlags> v(ff.tcp_flags().begin(), ff.tcp_flags().end());
    out.push_back([v](const flow::Flow& f) {
      if (!f.l4().has_tcp()) return false;
      return std::any_of(v.begin(), v.end(), [&](const flow::TCPFlags& want) {
        return flags_subset(want, f.l4().tcp().flags());
      });
    });
  }
  if (!ff.node_name().empty()) {
    std::vector<std::string> v;
    for (const auto& p : ff.node_name()) {
      if (p.empty()) return Error{"node_name: empty pattern"};
      v.push_back(p);
    }
    out.push_back([v](const flow::Flow& f) {
      return std::any_of(v.begin(), v.end(),
                         [&](const std::string& p) { return node_name_matches(p, f.node_name()); });
    });
  }
  if (!ff.ip_version().empty()) {
    auto v = ff.ip_version();
    out.push_back([v](const flow::Flow& f) { return contains<int>(v, f.ip().ipversion()); });
  }
  if (!ff.trace_id().empty()) {
    Strings v = ff.trace_id();
    out.push_back([v](const flow::Flow& f) {
      return !f.trace_context().parent().trace_id().empty() &&
             any_of_strings(v, f.trace_context().parent().trace_id());
    });
  }
  if (!ff.ip_trace_id().empty()) {
    auto v = ff.ip_trace_id();
    out.push_back([v](const flow::Flow& f) {
      return f.has_ip_trace_id() && contains<uint64_t>(v, f.ip_trace_id().trace_id());
    });
  }
  if (!ff.encrypted().empty()) {
    auto v = ff.encrypted();
    out.push_back([v](const flow::Flow& f) {
      return f.has_ip() && contains<bool>(v, f.ip().encrypted());
    });
  }
  if (!ff.experimental().cel_expression().empty()) {
    return Error{"experimental.cel_expression: CEL expressions are not supported by axon"};
  }
#undef AXON_TRY
  return {};
}

// ---- label selectors -------------------------------------------------------

// A Cilium label "source:key=value" (source and value optional).
struct Label {
  std::string source, key, value;
};

Label parse_label(const std::string& text) {
  Label l;
  std::string kv = text;
  auto eq = text.find('=');
  auto colon = text.find(':');
  if (colon != std::string::npos && (eq == std::string::npos || colon < eq)) {
    l.source = text.substr(0, colon);
    kv = text.substr(colon + 1);
  }
  eq = kv.find('=');
  l.key = kv.substr(0, eq);
  if (eq != std::string::npos) l.value = kv.substr(eq + 1);
  return l;
}

}  // namespace

Result<LabelSelector> LabelSelector::parse(const std::string& text) {
  using Op = Requirement::Op;
  LabelSelector sel;
  for (const auto& part : split_outside_parens(text)) {
    if (part.empty()) return Error{"invalid label selector \"" + text + "\": empty requirement"};
    Requirement r;
    std::string key;
    auto set_values = [&](const std::string& list) -> bool {
      std::string l = trim(list);
      if (l.size() < 2 || l.front() != '(' || l.back() != ')') return false;
      std::string inner = l.substr(1, l.size() - 2);
      size_t start = 0;
      for (;;) {
        auto comma = inner.find(',', start);
        r.values.push_back(trim(inner.substr(start, comma - start)));
        if (comma == std::string::npos) break;
        start = comma + 1;
      }
      return true;
    };
    if (auto pos = part.find(" notin "); pos != std::string::npos) {
      key = part.substr(0, pos);
      r.op = Op::not_in;
      if (!set_values(part.substr(pos + 7)))
        return Error{"invalid label selector \"" + text + "\": notin needs (v1,v2)"};
    } else if (auto pin = part.find(" in "); pin != std::string::npos) {
      key = part.substr(0, pin);
      r.op = Op::in;
      if (!set_values(part.substr(pin + 4)))
        return Error{"invalid label selector \"" + text + "\": in needs (v1,v2)"};
    } else if (auto ne = part.find("!="); ne != std::string::npos) {
      key = part.substr(0, ne);
      r.op = Op::not_equals;
      r.values.push_back(trim(part.substr(ne + 2)));
    } else if (auto eqeq = part.find("=="); eqeq != std::string::npos) {
      key = part.substr(0, eqeq);
      r.op = Op::equals;
      r.values.push_back(trim(part.substr(eqeq + 2)));
    } else if (auto eq = part.find('='); eq != std::string::npos) {
      key = part.substr(0, eq);
      r.op = Op::equals;
      r.values.push_back(trim(part.substr(eq + 1)));
    } else if (part.starts_with("!")) {
      key = part.substr(1);
      r.op = Op::not_exists;
    } else {
      key = part;
      r.op = Op::exists;
    }
    key = trim(key);
    if (key.empty() || key.find_first_of(" ()!=") != std::string::npos) {
      return Error{"invalid label selector \"" + text + "\": bad key \"" + key + "\""};
    }
    auto colon = key.find(':');
    if (colon != std::string::npos) {
      r.source = key.substr(0, colon);
      r.key = key.substr(colon + 1);
      if (r.source == "any") r.source.clear();
    } else {
      r.key = key;
    }
    sel.requirements_.push_back(std::move(r));
  }
  return sel;
}

bool LabelSelector::matches(const google::protobuf::RepeatedPtrField<std::string>& labels) const {
  using Op = Requirement::Op;
  std::vector<Label> parsed;
  parsed.reserve(labels.size());
  for (const auto& l : labels) parsed.push_back(parse_label(l));
  for (const auto& r : requirements_) {
    bool present = false, value_hit = false;
    for (const auto& l : parsed) {
      if (l.key != r.key || (!r.source.empty() && l.source != r.source)) continue;
      present = true;
      if (std::find(r.values.begin(), r.values.end(), l.value) != r.values.end()) value_hit = true;
    }
    bool ok = false;
    switch (r.op) {
      case Op::exists:
        ok = present;
        break;
      case Op::not_exists:
        ok = !present;
        break;
      case Op::equals:
      case Op::in:
        ok = value_hit;
        break;
      case Op::not_equals:
      case Op::not_in:
        ok = !value_hit;
        break;
    }
    if (!ok) return false;
  }
  return true;
}

Result<FlowMatcher> FlowMatcher::compile(const flow::FlowFilter& filter) {
  FlowMatcher m;
  if (auto st = build(filter, m.checks_); !st) return st.error();
  return m;
}

bool FlowMatcher::matches(const flow::Flow& f) const {
  for (const auto& c : checks_) {
    if (!c(f)) return false;
  }
  return true;
}

Result<FlowFilterSet> FlowFilterSet::compile(const FlowFilters& whitelist,
                                             const FlowFilters& blacklist) {
  FlowFilterSet s;
  for (const auto& f : whitelist) {
    auto m = FlowMatcher::compile(f);
    if (!m) return Error{"whitelist: " + m.error().message};
    s.whitelist_.push_back(std::move(*m));
  }
  for (const auto& f : blacklist) {
    auto m = FlowMatcher::compile(f);
    if (!m) return Error{"blacklist: " + m.error().message};
    s.blacklist_.push_back(std::move(*m));
  }
  return s;
}

bool FlowFilterSet::allows(const flow::Flow& f) const {
  auto hit = [&](const FlowMatcher& m) { return m.matches(f); };
  if (!whitelist_.empty() && std::none_of(whitelist_.begin(), whitelist_.end(), hit)) return false;
  return std::none_of(blacklist_.begin(), blacklist_.end(), hit);
}

bool FlowFilterSet::allows(const observer::GetFlowsResponse& r) const {
  return !r.has_flow() || allows(r.flow());
}

}  // namespace axon::hubble
