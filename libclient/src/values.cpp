#include "axon/client/values.h"

#include <arpa/inet.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "axon/base/build_info.h"
#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "axon/base/duration.h"

namespace axon::client {
namespace {

using T = ValueType;

// Maglev needs a prime table size; these are the sizes Cilium accepts.
const std::vector<int64_t> kMaglevPrimes = {251,  509,   1021,  2039,  4093,
                                            8191, 16381, 32749, 65521, 131071};

ValueSpec spec(std::string path, ValueType type, Json default_value, std::string description,
               std::vector<std::string> choices = {}, int64_t min = 0, int64_t max = 0) {
  ValueSpec s;
  s.path = std::move(path);
  s.type = type;
  s.default_value = std::move(default_value);
  s.description = std::move(description);
  s.choices = std::move(choices);
  s.min = min;
  s.max = max;
  return s;
}

std::vector<ValueSpec> make_schema() {
  const std::string version = build_info::version;
  return {
      spec("ipam.mode", T::enumeration, "cluster-pool",
           "How pods get IPs: kubernetes (each Node's spec.podCIDR) or cluster-pool (the operator "
           "hands out per-node CIDRs from ipam.operator.clusterPoolIPv4PodCIDRList)",
           {"kubernetes", "cluster-pool"}),
      spec("ipam.operator.clusterPoolIPv4PodCIDRList", T::cidr_list, Json::array({"10.0.0.0/8"}),
           "CIDRs the cluster-pool IPAM carves node pod CIDRs from"),
      spec("ipam.operator.clusterPoolIPv4MaskSize", T::integer, 24,
           "Prefix length of each node's pod CIDR", {}, 16, 30),
      spec("kubeProxyReplacement", T::boolean, false,
           "Serve ClusterIP, NodePort and LoadBalancer Services in eBPF instead of kube-proxy"),
      spec("k8sServiceHost", T::string, "",
           "API server host the agent uses when kube-proxy is gone (Talos KubePrism: localhost)"),
      spec("k8sServicePort", T::integer, 0, "API server port (Talos KubePrism: 7445)", {}, 0,
           65535),
      spec("cgroup.autoMount.enabled", T::boolean, true,
           "Mount cgroup2 on the host from an init container (off when the host has it mounted)"),
      spec("cgroup.hostRoot", T::string, "/run/axon/cgroupv2",
           "Where cgroup2 is mounted on the host"),
      spec("securityContext.privileged", T::boolean, false,
           "Run the agent privileged instead of with the capability lists"),
      spec("securityContext.capabilities.ciliumAgent", T::capability_list,
           Json::array({"CHOWN", "KILL", "NET_ADMIN", "NET_RAW", "IPC_LOCK", "SYS_MODULE",
                        "SYS_ADMIN", "SYS_RESOURCE", "DAC_OVERRIDE", "FOWNER", "SETGID", "SETUID"}),
           "Capabilities of the agent container"),
      spec("securityContext.capabilities.mountCgroup", T::capability_list,
           Json::array({"SYS_ADMIN", "SYS_CHROOT", "SYS_PTRACE"}),
           "Capabilities of the cgroup-mounting init container"),
      spec("securityContext.capabilities.cleanCiliumState", T::capability_list,
           Json::array({"NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"}),
           "Capabilities of the state-cleaning init container"),
      spec("gatewayAPI.enabled", T::boolean, false, "Serve Gateway API (GatewayClass cilium)"),
      spec("hubble.enabled", T::boolean, true, "Record flows in every agent"),
      spec("hubble.eventBufferCapacity", T::integer, 4095,
           "Flows each agent keeps (a power of two minus one)", {}, 1, 65535),
      spec("hubble.listenAddress", T::string, ":4244", "TCP address of each agent's flow API"),
      spec("hubble.metrics.enabled", T::string_list, Json::array(),
           "Flow metrics to export (dns, drop, tcp, flow, port-distribution, icmp, http)"),
      spec("hubble.relay.enabled", T::boolean, false,
           "Run the relay that merges all agents' flows"),
      spec("hubble.relay.replicas", T::integer, 1, "Relay replicas", {}, 1, 10),
      spec("hubble.ui.enabled", T::boolean, false, "Run the web UI"),
      spec("hubble.ui.replicas", T::integer, 1, "UI replicas", {}, 1, 10),
      spec("l2announcements.enabled", T::boolean, false,
           "Answer ARP for LoadBalancer IPs from one node per Service"),
      spec("l2announcements.leaseDuration", T::duration, "15s",
           "How long other nodes wait before taking over an announcement"),
      spec("l2announcements.leaseRenewDeadline", T::duration, "5s",
           "How long the announcing node tries to renew before giving up"),
      spec("l2announcements.leaseRetryPeriod", T::duration, "2s", "Wait between lease attempts"),
      spec("loadBalancer.algorithm", T::enumeration, "random", "How a Service picks a backend",
           {"random", "maglev"}),
      spec("bpf.hostLegacyRouting", T::boolean, false,
           "Route pod-to-pod packets of a node through its IP stack instead of straight from "
           "one pod's veth into the other pod (eBPF host routing)"),
      spec("maglev.tableSize", T::integer, 16381, "Maglev lookup table size per Service (a prime)",
           {}, 251, 131071),
      spec("maglev.hashSeed", T::string, "", "Seed of the Maglev hash (same on all nodes)"),
      spec("policyEnforcementMode", T::enumeration, "default",
           "default: enforce where policies select; always: deny unless allowed; never: no policy",
           {"default", "always", "never"}),
      spec("l7Proxy", T::boolean, true, "Enforce L7 (HTTP, DNS) policy rules through a proxy"),
      spec("debug.enabled", T::boolean, false, "Debug logging in every component"),
      spec("cluster.name", T::string, "default", "Name of this cluster"),
      spec("cluster.id", T::integer, 0, "ID of this cluster (0-255)", {}, 0, 255),
      spec("image.repository", T::string, "ghcr.io/axon/axon", "Image of the agent (and the CLI)"),
      spec("image.tag", T::string, version, "Tag of the agent image"),
      spec("image.pullPolicy", T::enumeration, "IfNotPresent", "Image pull policy",
           {"Always", "IfNotPresent", "Never"}),
      spec("operator.replicas", T::integer, 2, "Operator replicas (one leads, the rest wait)", {},
           1, 10),
      spec("operator.image.repository", T::string, "ghcr.io/axon/axon", "Image of the operator"),
      spec("operator.image.tag", T::string, version, "Tag of the operator image"),
  };
}

std::string type_name(ValueType t) {
  switch (t) {
    case T::boolean:
      return "true or false";
    case T::integer:
      return "an integer";
    case T::string:
      return "a string";
    case T::string_list:
      return "a list of strings";
    case T::duration:
      return "a duration such as 15s";
    case T::enumeration:
      return "one of the listed values";
    case T::capability_list:
      return "a list of Linux capability names";
    case T::cidr_list:
      return "a list of CIDRs";
    case T::object:
      return "a mapping";
  }
  return "a value";
}

std::string describe(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "the string \"" + v.get<std::string>() + "\"";
    case Json::value_t::boolean:
      return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
      return "the number " + v.dump();
    case Json::value_t::number_float:
      return "the number " + v.dump();
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "a mapping";
    default:
      return "null";
  }
}

bool valid_cidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return false;
  in_addr a{};
  if (inet_pton(AF_INET, s.substr(0, slash).c_str(), &a) != 1) return false;
  const std::string len = s.substr(slash + 1);
  if (len.empty() || len.size() > 2 || len.find_first_not_of("0123456789") != std::string::npos) {
    return false;
  }
  return std::stoi(len) <= 32;
}

// The schema as a tree of key names, to walk user values against.
struct SchemaNode {
  const ValueSpec* spec = nullptr;  // a leaf
  std::map<std::string, SchemaNode> children;
};

const SchemaNode& schema_tree() {
  static const SchemaNode root = [] {
    SchemaNode r;
    for (const auto& spec : values_schema()) {
      SchemaNode* n = &r;
      std::istringstream in(spec.path);
      for (std::string part; std::getline(in, part, '.');) n = &n->children[part];
      n->spec = &spec;
    }
    return r;
  }();
  return root;
}

const Json* lookup(const Json& values, const std::string& path) {
  const Json* cur = &values;
  std::istringstream in(path);
  for (std::string part; std::getline(in, part, '.');) {
    if (!cur->is_object() || !cur->contains(part)) return nullptr;
    cur = &(*cur)[part];
  }
  return cur->is_null() ? nullptr : cur;
}

// --- Helm --set parsing --------------------------------------------------

// Splits on `sep` outside of {...} lists, honouring backslash escapes (kept).
std::vector<std::string> split_unescaped(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  int depth = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\\' && i + 1 < s.size()) {
      cur += c;
      cur += s[++i];
      continue;
    }
    if (c == '{') ++depth;
    if (c == '}') --depth;
    if (c == sep && depth == 0) {
      out.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  out.push_back(cur);
  return out;
}

std::string unescape(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      out += s[++i];
    } else {
      out += s[i];
    }
  }
  return out;
}

// Helm types --set values: true/false, null, integers without leading zeros.
Json typed_value(const std::string& raw, bool typed) {
  if (!typed) return raw;
  if (raw == "true") return true;
  if (raw == "false") return false;
  if (raw == "null") return nullptr;
  bool digits = !raw.empty() &&
                raw.find_first_not_of("0123456789", raw[0] == '-' ? 1 : 0) == std::string::npos &&
                raw != "-";
  if (digits && (raw.size() == 1 || (raw[0] != '0' && raw.substr(0, 2) != "-0"))) {
    try {
      return std::stoll(raw);
    } catch (const std::out_of_range&) {
      return raw;
    }
  }
  return raw;
}

struct KeySegment {
  std::string name;
  std::vector<size_t> indexes;  // list[0][1]
};

Result<std::vector<KeySegment>> parse_key(const std::string& key, const std::string& expr) {
  std::vector<KeySegment> segs;
  for (const auto& part : split_unescaped(key, '.')) {
    KeySegment seg;
    std::string p = part;
    while (!p.empty() && p.back() == ']') {
      auto open = p.rfind('[');
      if (open == std::string::npos) return Error{"--set " + expr + ": unbalanced ] in " + key};
      std::string idx = p.substr(open + 1, p.size() - open - 2);
      if (idx.empty() || idx.find_first_not_of("0123456789") != std::string::npos) {
        return Error{"--set " + expr + ": list index must be a number: [" + idx + "]"};
      }
      seg.indexes.insert(seg.indexes.begin(), std::stoul(idx));
      p = p.substr(0, open);
    }
    seg.name = unescape(p);
    if (seg.name.empty()) return Error{"--set " + expr + ": empty key segment in " + key};
    segs.push_back(std::move(seg));
  }
  return segs;
}

}  // namespace

const std::vector<ValueSpec>& values_schema() {
  static const std::vector<ValueSpec> schema = make_schema();
  return schema;
}

const ValueSpec* find_value_spec(const std::string& path) {
  for (const auto& s : values_schema()) {
    if (s.path == path) return &s;
  }
  return nullptr;
}

const std::vector<std::string>& linux_capabilities() {
  static const std::vector<std::string> caps = {"CHOWN",
                                                "DAC_OVERRIDE",
                                                "DAC_READ_SEARCH",
                                                "FOWNER",
                                                "FSETID",
                                                "KILL",
                                                "SETGID",
                                                "SETUID",
                                                "SETPCAP",
                                                "LINUX_IMMUTABLE",
                                                "NET_BIND_SERVICE",
                                                "NET_BROADCAST",
                                                "NET_ADMIN",
                                                "NET_RAW",
                                                "IPC_LOCK",
                                                "IPC_OWNER",
                                                "SYS_MODULE",
                                                "SYS_RAWIO",
                                                "SYS_CHROOT",
                                                "SYS_PTRACE",
                                                "SYS_PACCT",
                                                "SYS_ADMIN",
                                                "SYS_BOOT",
                                                "SYS_NICE",
                                                "SYS_RESOURCE",
                                                "SYS_TIME",
                                                "SYS_TTY_CONFIG",
                                                "MKNOD",
                                                "LEASE",
                                                "AUDIT_WRITE",
                                                "AUDIT_CONTROL",
                                                "SETFCAP",
                                                "MAC_OVERRIDE",
                                                "MAC_ADMIN",
                                                "SYSLOG",
                                                "WAKE_ALARM",
                                                "BLOCK_SUSPEND",
                                                "AUDIT_READ",
                                                "PERFMON",
                                                "BPF",
                                                "CHECKPOINT_RESTORE"};
  return caps;
}

// --- building -------------------------------------------------------------

SourceLocation ValuesBuilder::where(const std::string& path) const {
  std::string p = path;
  for (;;) {
    auto it = provenance_.find(p);
    if (it != provenance_.end()) return it->second;
    if (p.empty()) return {};
    auto cut = p.find_last_of(".[");
    p = cut == std::string::npos ? "" : p.substr(0, cut);
  }
}

void ValuesBuilder::merge(Json& dst, const Json& src, const std::string& path,
                          const std::map<std::string, SourceLocation>& locations) {
  for (const auto& [key, value] : src.items()) {
    const std::string p = child_path(path, key);
    auto loc = locations.find(p);
    if (loc != locations.end()) provenance_[p] = loc->second;
    if (value.is_null()) {
      dst.erase(key);
    } else if (value.is_object() && dst.contains(key) && dst[key].is_object()) {
      merge(dst[key], value, p, locations);
    } else {
      dst[key] = value;
      // Record where every node below a replaced value comes from.
      for (auto it = locations.lower_bound(p); it != locations.end(); ++it) {
        if (!it->first.starts_with(p)) break;
        char next = it->first.size() > p.size() ? it->first[p.size()] : '\0';
        if (next == '.' || next == '[' || next == '\0') provenance_[it->first] = it->second;
      }
    }
  }
}

Status ValuesBuilder::add_yaml(std::string_view text, const std::string& name) {
  auto docs = parse_yaml_stream(text, name);
  if (!docs) return docs.error();
  if (docs->empty()) return {};
  if (docs->size() > 1)
    return Error{name + ": a values file holds one YAML document, found " +
                 std::to_string(docs->size())};
  const auto& doc = docs->front();
  if (!doc.value.is_object()) {
    return Error{doc.where("").str() + ": values must be a mapping of keys (key: value), not " +
                 describe(doc.value)};
  }
  merge(values_, doc.value, "", doc.locations);
  return {};
}

Status ValuesBuilder::add_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return sys_error("cannot read values file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return add_yaml(buf.str(), path);
}

Status ValuesBuilder::apply_set(const std::string& expr, bool typed, bool from_file) {
  for (const auto& pair : split_unescaped(expr, ',')) {
    if (pair.empty()) continue;
    // The first unescaped '=' splits key and value.
    size_t eq = std::string::npos;
    for (size_t i = 0; i < pair.size(); ++i) {
      if (pair[i] == '\\') {
        ++i;
      } else if (pair[i] == '=') {
        eq = i;
        break;
      }
    }
    const std::string flag = from_file ? "--set-file" : typed ? "--set" : "--set-string";
    if (eq == std::string::npos) {
      return Error{flag + " " + pair + ": expected KEY=VALUE (for example hubble.ui.enabled=true)"};
    }
    auto segs = parse_key(pair.substr(0, eq), pair);
    if (!segs) return segs.error();
    std::string raw = pair.substr(eq + 1);
    Json value;
    if (from_file) {
      std::string file = unescape(raw);
      std::ifstream in(file, std::ios::binary);
      if (!in) return sys_error(flag + " " + pair + ": cannot read " + file);
      std::stringstream buf;
      buf << in.rdbuf();
      value = buf.str();
    } else if (raw.size() >= 2 && raw.front() == '{' && raw.back() == '}') {
      value = Json::array();
      for (const auto& item : split_unescaped(raw.substr(1, raw.size() - 2), ',')) {
        value.push_back(typed_value(unescape(item), typed));
      }
    } else {
      value = typed_value(unescape(raw), typed);
    }
    // Walk/create the path, then set (null removes).
    Json* cur = &values_;
    std::string path;
    for (size_t i = 0; i < segs->size(); ++i) {
      const auto& seg = (*segs)[i];
      const bool last_seg = i + 1 == segs->size();
      if (!cur->is_object()) *cur = Json::object();
      path = child_path(path, seg.name);
      if (last_seg && seg.indexes.empty()) {
        if (value.is_null()) {
          cur->erase(seg.name);
        } else {
          (*cur)[seg.name] = value;
        }
        break;
      }
      cur = &(*cur)[seg.name];
      for (size_t k = 0; k < seg.indexes.size(); ++k) {
        if (!cur->is_array()) *cur = Json::array();
        while (cur->size() <= seg.indexes[k]) cur->push_back(nullptr);
        cur = &(*cur)[seg.indexes[k]];
        path = child_path(path, seg.indexes[k]);
      }
      if (last_seg) *cur = value;
    }
    provenance_[path] = SourceLocation{flag + " " + pair, 0};
  }
  return {};
}

Status ValuesBuilder::set(const std::string& expr) {
  return apply_set(expr, true, false);
}
Status ValuesBuilder::set_string(const std::string& expr) {
  return apply_set(expr, false, false);
}
Status ValuesBuilder::set_file(const std::string& expr) {
  return apply_set(expr, false, true);
}

// --- validation ------------------------------------------------------------

namespace {

class Validator {
 public:
  Validator(const ValuesBuilder& values, const ValuesCheck& check)
      : values_(values), check_(check) {}

  std::vector<Diagnostic> run() {
    walk(values_.values(), "", schema_tree());
    if (!has_errors(out_)) cross_field_rules();
    return std::move(out_);
  }

 private:
  std::string fix_command() const {
    if (check_.files.empty()) return "";
    std::string cmd = "axon values fix";
    for (const auto& f : check_.files) cmd += " -f " + f;
    return cmd + " -w";
  }

  void add(Severity sev, const std::string& path, std::string message, std::string fix = "",
           std::string command = "") {
    out_.push_back(Diagnostic{sev, values_.where(path), path, std::move(message), std::move(fix),
                              std::move(command)});
  }

  void walk(const Json& node, const std::string& path, const SchemaNode& schema) {
    for (const auto& [key, value] : node.items()) {
      const std::string p = child_path(path, key);
      auto it = schema.children.find(key);
      if (it != schema.children.end()) {
        if (it->second.spec != nullptr) {
          check_leaf(*it->second.spec, value, p);
        } else if (!value.is_object()) {
          if (!value.is_null()) {
            add(Severity::error, p,
                "expected a mapping (with keys such as " + first_keys(it->second) + "), got " +
                    describe(value));
          }
        } else {
          walk(value, p, it->second);
        }
        continue;
      }
      unknown_key(key, value, path, schema);
    }
  }

  static std::string first_keys(const SchemaNode& n) {
    std::vector<std::string> keys;
    for (const auto& [k, _] : n.children) keys.push_back(k);
    if (keys.size() > 3) keys.resize(3);
    return join(keys, ", ");
  }

  void unknown_key(const std::string& key, const Json& value, const std::string& parent,
                   const SchemaNode& schema) {
    const std::string p = child_path(parent, key);
    std::vector<std::string> siblings;
    for (const auto& [k, _] : schema.children) {
      siblings.push_back(k);
      if (to_lower(k) == to_lower(key)) {
        // Same key but for letter case: Helm would ignore it without a word.
        const std::string right = child_path(parent, k);
        std::string consequence;
        if (k == "gatewayAPI")
          consequence = ", so Gateway API would silently stay off";
        else if (value.is_object() && value.contains("enabled")) {
          consequence = ", so " + right + ".enabled would silently keep its default";
        } else {
          consequence = ", so " + right + " would silently keep its default";
        }
        add(Severity::error, p,
            "not a chart key: the key is \"" + k +
                "\" (only the letter case differs); Helm "
                "ignores keys it does not know" +
                consequence,
            "rename " + key + " to " + k, fix_command());
        return;
      }
    }
    auto hint = closest_match(key, siblings);
    std::string msg = "unknown key; axon ignores it";
    if (hint) msg += " (did you mean \"" + child_path(parent, *hint) + "\"?)";
    add(check_.strict ? Severity::error : Severity::warning, p, msg,
        hint ? "rename " + key + " to " + *hint : "remove it, or check the chart's documentation");
  }

  void check_leaf(const ValueSpec& spec, const Json& v, const std::string& p) {
    if (v.is_null()) return;  // unset: the default applies
    switch (spec.type) {
      case T::boolean:
        if (v.is_boolean()) return;
        if (spec.path == "kubeProxyReplacement" && v.is_string()) {
          const std::string s = to_lower(v.get<std::string>());
          std::string want = (s == "strict" || s == "true") ? "true" : "false";
          add(Severity::error, p,
              "expected true or false; \"" + v.get<std::string>() +
                  "\" is an old Cilium setting (before 1.14)",
              "write kubeProxyReplacement: " + want);
          return;
        }
        if (v.is_string() && (v == "true" || v == "false")) {
          add(Severity::error, p,
              "expected true or false, got the quoted string \"" + v.get<std::string>() +
                  "\"; a template would treat any non-empty string as true",
              "remove the quotes");
          return;
        }
        add(Severity::error, p, "expected true or false, got " + describe(v));
        return;
      case T::integer: {
        int64_t n = 0;
        if (v.is_number_integer()) {
          n = v.get<int64_t>();
        } else if (v.is_string() && !v.get<std::string>().empty() &&
                   v.get<std::string>().find_first_not_of("0123456789") == std::string::npos &&
                   v.get<std::string>().size() < 10) {
          n = std::stoll(v.get<std::string>());
        } else {
          add(Severity::error, p, "expected an integer, got " + describe(v));
          return;
        }
        if (spec.max > spec.min && (n < spec.min || n > spec.max)) {
          add(Severity::error, p,
              "must be between " + std::to_string(spec.min) + " and " + std::to_string(spec.max) +
                  ", got " + std::to_string(n));
          return;
        }
        if (spec.path == "maglev.tableSize" &&
            std::find(kMaglevPrimes.begin(), kMaglevPrimes.end(), n) == kMaglevPrimes.end()) {
          std::vector<std::string> primes;
          for (auto q : kMaglevPrimes) primes.push_back(std::to_string(q));
          add(Severity::error, p,
              "Maglev needs a prime table size; " + std::to_string(n) + " is not one of " +
                  join(primes, ", "));
        }
        if (spec.path == "hubble.eventBufferCapacity" && ((n + 1) & n) != 0) {
          add(Severity::error, p,
              "must be a power of two minus one (255, 4095, 65535), got " + std::to_string(n));
        }
        return;
      }
      case T::string:
        if (v.is_string()) return;
        add(Severity::error, p, "expected a string, got " + describe(v),
            v.is_number() ? "quote it: \"" + v.dump() + "\" (YAML reads 1.10 as the number 1.1)"
                          : "");
        return;
      case T::duration:
        if (!v.is_string()) {
          add(Severity::error, p, "expected a duration such as 15s, got " + describe(v),
              v.is_number() ? "add a unit: " + v.dump() + "s" : "");
          return;
        }
        if (auto d = parse_duration(v.get<std::string>()); !d)
          add(Severity::error, p, d.error().str());
        return;
      case T::enumeration: {
        if (!v.is_string()) {
          add(Severity::error, p,
              "expected one of " + join(spec.choices, ", ") + ", got " + describe(v));
          return;
        }
        const std::string s = v.get<std::string>();
        if (std::find(spec.choices.begin(), spec.choices.end(), s) != spec.choices.end()) return;
        auto hint = closest_match(s, spec.choices);
        for (const auto& c : spec.choices) {
          if (to_lower(c) == to_lower(s)) hint = c;
        }
        add(Severity::error, p,
            "invalid value \"" + s + "\"; valid values: " + join(spec.choices, ", "),
            hint ? "write " + *hint : "");
        return;
      }
      case T::string_list:
      case T::capability_list:
      case T::cidr_list:
        check_list(spec, v, p);
        return;
      case T::object:
        if (!v.is_object()) add(Severity::error, p, "expected a mapping, got " + describe(v));
        return;
    }
  }

  void check_list(const ValueSpec& spec, const Json& v, const std::string& p) {
    if (!v.is_array()) {
      add(Severity::error, p, "expected " + type_name(spec.type) + ", got " + describe(v),
          v.is_string() ? "write it as a list: [" + v.get<std::string>() + "]" : "");
      return;
    }
    std::set<std::string> seen;
    for (size_t i = 0; i < v.size(); ++i) {
      const std::string ip = child_path(p, i);
      if (!v[i].is_string()) {
        add(Severity::error, ip, "expected a string, got " + describe(v[i]));
        continue;
      }
      const std::string s = v[i].get<std::string>();
      if (!seen.insert(s).second) add(Severity::warning, ip, "\"" + s + "\" is listed twice");
      if (spec.type == T::capability_list) {
        const auto& caps = linux_capabilities();
        if (s.starts_with("CAP_") &&
            std::find(caps.begin(), caps.end(), s.substr(4)) != caps.end()) {
          add(Severity::error, ip, "capability names are written without CAP_",
              "write " + s.substr(4));
        } else if (std::find(caps.begin(), caps.end(), s) == caps.end()) {
          auto hint = closest_match(to_upper(s), caps);
          if (std::find(caps.begin(), caps.end(), to_upper(s)) != caps.end()) hint = to_upper(s);
          add(Severity::error, ip, "\"" + s + "\" is not a Linux capability",
              hint ? "write " + *hint : "see capabilities(7)");
        }
      } else if (spec.type == T::cidr_list && !valid_cidr(s)) {
        add(Severity::error, ip, "\"" + s + "\" is not an IPv4 CIDR (such as 10.0.0.0/8)");
      }
    }
  }

  bool set_by_user(const std::string& path) const {
    return lookup(values_.values(), path) != nullptr;
  }

  void cross_field_rules() {
    const InstallValues v = resolve_values(values_.values());
    const std::string kpr_fix =
        "set k8sServiceHost and k8sServicePort to an API server address the nodes reach without "
        "kube-proxy; on Talos use KubePrism: k8sServiceHost: localhost, k8sServicePort: 7445";
    if (v.kube_proxy_replacement && (v.k8s_service_host.empty() || v.k8s_service_port == 0)) {
      std::string missing = v.k8s_service_host.empty() && v.k8s_service_port == 0
                                ? "k8sServiceHost and k8sServicePort are"
                            : v.k8s_service_host.empty() ? "k8sServiceHost is"
                                                         : "k8sServicePort is";
      add(Severity::error, "kubeProxyReplacement",
          "is true but " + missing +
              " not set: without kube-proxy the agents cannot reach the API server through the "
              "kubernetes Service",
          kpr_fix);
    }
    if (v.hubble_relay && !v.hubble) {
      add(Severity::error, "hubble.relay.enabled",
          "the relay merges the agents' flows, but hubble.enabled is false so there are none",
          "set hubble.enabled: true, or hubble.relay.enabled: false");
    }
    if (v.hubble_ui && !v.hubble) {
      add(Severity::error, "hubble.ui.enabled",
          "the UI shows the agents' flows, but hubble.enabled is false so there are none",
          "set hubble.enabled: true, or hubble.ui.enabled: false");
    } else if (v.hubble_ui && !v.hubble_relay) {
      add(Severity::warning, "hubble.ui.enabled",
          "the UI reads flows from the relay, and hubble.relay.enabled is false",
          "set hubble.relay.enabled: true");
    }
    if (v.l2_announcements && !v.kube_proxy_replacement) {
      add(Severity::error, "l2announcements.enabled",
          "L2 announcements answer ARP for LoadBalancer IPs that only kubeProxyReplacement serves",
          "set kubeProxyReplacement: true (with k8sServiceHost and k8sServicePort)");
    }
    if (v.gateway_api && !v.kube_proxy_replacement) {
      add(Severity::error, "gatewayAPI.enabled",
          "Gateway API needs kubeProxyReplacement to steer Gateway traffic to its listeners",
          "set kubeProxyReplacement: true (with k8sServiceHost and k8sServicePort)");
    }
    if (!v.cgroup_auto_mount && !set_by_user("cgroup.hostRoot")) {
      add(Severity::error, "cgroup.autoMount.enabled",
          "is false, so cgroup2 must already be mounted on every host, and cgroup.hostRoot must "
          "say where",
          "set cgroup.hostRoot to the host's cgroup2 mount (Talos: /sys/fs/cgroup)");
    }
    if (!v.privileged) {
      auto has = [&](const char* c) {
        return std::find(v.agent_capabilities.begin(), v.agent_capabilities.end(), c) !=
               v.agent_capabilities.end();
      };
      if (!has("NET_ADMIN")) {
        add(Severity::error, "securityContext.capabilities.ciliumAgent",
            "lacks NET_ADMIN: the agent could not create pod interfaces or attach its programs",
            "add NET_ADMIN");
      }
      if (!has("SYS_ADMIN") && !(has("BPF") && has("PERFMON"))) {
        add(Severity::error, "securityContext.capabilities.ciliumAgent",
            "lacks SYS_ADMIN (or both BPF and PERFMON): the agent could not load BPF programs",
            "add SYS_ADMIN, or BPF and PERFMON");
      }
    }
    if (v.l2_announcements || set_by_user("l2announcements")) {
      auto lease = parse_duration(v.l2_lease_duration);
      auto renew = parse_duration(v.l2_lease_renew_deadline);
      auto retry = parse_duration(v.l2_lease_retry_period);
      if (lease && renew && retry) {
        if (*renew >= *lease) {
          add(Severity::error, "l2announcements.leaseRenewDeadline",
              "must be shorter than l2announcements.leaseDuration (" + v.l2_lease_duration +
                  "), or another node takes over while the holder still renews");
        }
        if (*retry >= *renew) {
          add(Severity::error, "l2announcements.leaseRetryPeriod",
              "must be shorter than l2announcements.leaseRenewDeadline (" +
                  v.l2_lease_renew_deadline + ")");
        }
      }
    }
    if (v.ipam_mode == "cluster-pool" && v.cluster_pool_cidrs.empty()) {
      add(Severity::error, "ipam.operator.clusterPoolIPv4PodCIDRList",
          "is empty, so cluster-pool IPAM has no addresses to give pods");
    }
  }

  const ValuesBuilder& values_;
  const ValuesCheck& check_;
  std::vector<Diagnostic> out_;
};

}  // namespace

std::vector<Diagnostic> validate_values(const ValuesBuilder& values, const ValuesCheck& check) {
  return Validator(values, check).run();
}

// --- resolution ------------------------------------------------------------

InstallValues resolve_values(const Json& user) {
  auto get = [&](const std::string& path) -> Json {
    if (const Json* v = lookup(user, path)) return *v;
    const ValueSpec* spec = find_value_spec(path);
    return spec != nullptr ? spec->default_value : Json();
  };
  auto str = [&](const std::string& path) {
    Json v = get(path);
    return v.is_string() ? v.get<std::string>() : v.is_null() ? std::string() : v.dump();
  };
  auto boolean = [&](const std::string& path) {
    Json v = get(path);
    return v.is_boolean() ? v.get<bool>() : false;
  };
  auto integer = [&](const std::string& path) -> int64_t {
    Json v = get(path);
    if (v.is_number_integer()) return v.get<int64_t>();
    if (v.is_string()) {
      try {
        return std::stoll(v.get<std::string>());
      } catch (const std::exception&) {
        return 0;
      }
    }
    return 0;
  };
  auto list = [&](const std::string& path) {
    std::vector<std::string> out;
    for (const auto& item : get(path)) {
      if (item.is_string()) out.push_back(item.get<std::string>());
    }
    return out;
  };
  InstallValues v;
  v.ipam_mode = str("ipam.mode");
  v.cluster_pool_cidrs = list("ipam.operator.clusterPoolIPv4PodCIDRList");
  v.cluster_pool_mask_size = integer("ipam.operator.clusterPoolIPv4MaskSize");
  v.kube_proxy_replacement = boolean("kubeProxyReplacement");
  v.k8s_service_host = str("k8sServiceHost");
  v.k8s_service_port = integer("k8sServicePort");
  v.cgroup_auto_mount = boolean("cgroup.autoMount.enabled");
  v.cgroup_host_root = str("cgroup.hostRoot");
  v.privileged = boolean("securityContext.privileged");
  v.agent_capabilities = list("securityContext.capabilities.ciliumAgent");
  v.mount_cgroup_capabilities = list("securityContext.capabilities.mountCgroup");
  v.clean_state_capabilities = list("securityContext.capabilities.cleanCiliumState");
  v.gateway_api = boolean("gatewayAPI.enabled");
  v.hubble = boolean("hubble.enabled");
  v.hubble_buffer_capacity = integer("hubble.eventBufferCapacity");
  v.hubble_listen_address = str("hubble.listenAddress");
  v.hubble_metrics = list("hubble.metrics.enabled");
  v.hubble_relay = boolean("hubble.relay.enabled");
  v.hubble_relay_replicas = integer("hubble.relay.replicas");
  v.hubble_ui = boolean("hubble.ui.enabled");
  v.hubble_ui_replicas = integer("hubble.ui.replicas");
  v.l2_announcements = boolean("l2announcements.enabled");
  v.l2_lease_duration = str("l2announcements.leaseDuration");
  v.l2_lease_renew_deadline = str("l2announcements.leaseRenewDeadline");
  v.l2_lease_retry_period = str("l2announcements.leaseRetryPeriod");
  v.lb_algorithm = str("loadBalancer.algorithm");
  v.host_legacy_routing = boolean("bpf.hostLegacyRouting");
  v.maglev_table_size = integer("maglev.tableSize");
  v.maglev_hash_seed = str("maglev.hashSeed");
  v.policy_enforcement_mode = str("policyEnforcementMode");
  v.l7_proxy = boolean("l7Proxy");
  v.debug = boolean("debug.enabled");
  v.cluster_name = str("cluster.name");
  v.cluster_id = integer("cluster.id");
  v.image_repository = str("image.repository");
  v.image_tag = str("image.tag");
  v.image_pull_policy = str("image.pullPolicy");
  v.operator_image_repository = str("operator.image.repository");
  v.operator_image_tag = str("operator.image.tag");
  v.operator_replicas = integer("operator.replicas");
  return v;
}

// --- fixing -----------------------------------------------------------------

Result<ValuesFix> fix_values_text(std::string_view text, const std::string& name) {
  ValuesBuilder b;
  if (auto st = b.add_yaml(text, name); !st) return st.error();
  // Find keys that differ from a chart key only in letter case.
  struct Rename {
    int line;
    std::string from, to;
  };
  std::vector<Rename> renames;
  std::function<void(const Json&, const std::string&, const SchemaNode&)> walk =
      [&](const Json& node, const std::string& path, const SchemaNode& schema) {
        for (const auto& [key, value] : node.items()) {
          const std::string p = child_path(path, key);
          auto it = schema.children.find(key);
          if (it != schema.children.end()) {
            if (value.is_object() && it->second.spec == nullptr) walk(value, p, it->second);
            continue;
          }
          for (const auto& [k, child] : schema.children) {
            if (to_lower(k) == to_lower(key)) {
              renames.push_back({b.where(p).line, key, k});
              if (value.is_object() && child.spec == nullptr)
                walk(value, p, child);  // p: as written
            }
          }
        }
      };
  walk(b.values(), "", schema_tree());

  std::vector<std::string> lines;
  {
    std::string cur;
    for (char c : text) {
      if (c == '\n') {
        lines.push_back(cur);
        cur.clear();
      } else {
        cur += c;
      }
    }
    if (!cur.empty()) lines.push_back(cur);
  }
  ValuesFix fix;
  for (const auto& r : renames) {
    if (r.line <= 0 || static_cast<size_t>(r.line) > lines.size()) continue;
    std::string& line = lines[static_cast<size_t>(r.line) - 1];
    // The key sits at the start of the line's content: "  gatewayApi:" or "- gatewayApi:".
    auto pos = line.find(r.from);
    if (pos == std::string::npos) continue;
    line.replace(pos, r.from.size(), r.to);
    fix.changes.push_back("line " + std::to_string(r.line) + ": " + r.from + " -> " + r.to);
  }
  for (const auto& l : lines) fix.text += l + "\n";
  if (!text.empty() && text.back() != '\n' && !fix.text.empty()) fix.text.pop_back();
  return fix;
}

}  // namespace axon::client
