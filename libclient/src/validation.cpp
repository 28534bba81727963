#include "axon/client/validation.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "axon/client/resources.h"

namespace axon::client {

// ---------------------------------------------------------------------------
// Where things are

SourceLocation ManifestObject::where(const std::string& path) const {
  if (!source) return SourceLocation{file, 0};
  std::string full = base_path;
  if (!path.empty()) full = full.empty() ? path : full + "." + path;
  SourceLocation loc = source->where(full);
  if (loc.file.empty()) loc.file = file;
  return loc;
}

std::string ManifestObject::describe() const {
  ObjectRef ref = ObjectRef::of(object);
  if (ref.kind.empty() && ref.name.empty()) return "";
  std::string kind = ref.kind.empty() ? "object" : ref.kind;
  std::string name = ref.name.empty() ? "(no name)" : ref.name;
  return kind + " " + (ref.namespace_.empty() ? name : ref.namespace_ + "/" + name);
}

// ---------------------------------------------------------------------------
// Name rules, as Kubernetes' apimachinery states them

namespace {

bool is_lower_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool is_alnum(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0;
}

bool valid_label_chars(const std::string& s) {
  if (s.empty() || s.size() > 63) return false;
  if (!is_lower_alnum(s.front()) || !is_lower_alnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

bool valid_subdomain(const std::string& s) {
  if (s.empty() || s.size() > 253) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    std::string part = s.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!valid_label_chars(part)) return false;
    if (dot == std::string::npos) return true;
    start = dot + 1;
  }
}

}  // namespace

std::string check_dns1123_label(const std::string& v) {
  if (v.size() > 63) return "must be no more than 63 characters";
  if (valid_label_chars(v)) return "";
  return "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', "
         "and must start and end with an alphanumeric character";
}

std::string check_dns1123_subdomain(const std::string& v) {
  if (v.size() > 253) return "must be no more than 253 characters";
  if (valid_subdomain(v)) return "";
  return "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' "
         "or '.', and must start and end with an alphanumeric character";
}

std::string check_label_key(const std::string& key) {
  std::string name = key;
  auto slash = key.find('/');
  if (slash != std::string::npos) {
    std::string prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.empty() || !valid_subdomain(prefix))
      return "the prefix before '/' must be a lowercase DNS subdomain (example.com/my-key)";
  }
  if (name.empty() || name.size() > 63 || !is_alnum(name.front()) || !is_alnum(name.back()) ||
      !std::all_of(name.begin(), name.end(),
                   [](char c) { return is_alnum(c) || c == '-' || c == '_' || c == '.'; })) {
    return "a label key's name must be 1-63 characters of letters, digits, '-', '_' or '.', "
           "starting and ending with a letter or digit";
  }
  return "";
}

std::string check_label_value(const std::string& v) {
  if (v.empty()) return "";
  if (v.size() > 63) return "must be no more than 63 characters";
  if (!is_alnum(v.front()) || !is_alnum(v.back()) || !std::all_of(v.begin(), v.end(), [](char c) {
        return is_alnum(c) || c == '-' || c == '_' || c == '.';
      })) {
    return "a label value must be empty or consist of letters, digits, '-', '_' or '.', starting "
           "and ending with a letter or digit";
  }
  return "";
}

std::string suggest_dns_name(const std::string& value, bool allow_dots) {
  std::string out;
  for (char c : to_lower(value)) {
    bool ok = is_lower_alnum(c) || (allow_dots && c == '.');
    char next = ok ? c : '-';
    if (next == '-' && (out.empty() || out.back() == '-' || out.back() == '.')) continue;
    out += next;
  }
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  if (out.size() > (allow_dots ? 253u : 63u)) out.resize(allow_dots ? 253 : 63);
  while (!out.empty() && (out.back() == '-' || out.back() == '.')) out.pop_back();
  return out.empty() ? "my-object" : out;
}

// ---------------------------------------------------------------------------
// The checker every validator here uses

namespace {

std::string type_word(const Json& v) {
  switch (v.type()) {
    case Json::value_t::string:
      return "a string";
    case Json::value_t::number_integer:
    case Json::value_t::number_unsigned:
    case Json::value_t::number_float:
      return "a number";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::array:
      return "a list";
    case Json::value_t::object:
      return "a mapping";
    case Json::value_t::null:
      return "empty (null)";
    default:
      return "unknown";
  }
}

// The value as it reads in YAML, for messages: 80, "80", true, [..], {..}.
std::string shown(const Json& v) {
  if (v.is_string()) return "\"" + v.get<std::string>() + "\"";
  if (v.is_array()) return "a list";
  if (v.is_object()) return "a mapping";
  return v.dump();
}

class Checker {
 public:
  Checker() = default;

  void error(const std::string& path, std::string message, std::string fix = "") {
    add(Severity::error, path, std::move(message), std::move(fix));
  }
  void warning(const std::string& path, std::string message, std::string fix = "") {
    add(Severity::warning, path, std::move(message), std::move(fix));
  }
  std::vector<Diagnostic> take() { return std::move(out_); }
  bool failed() const { return has_errors(out_); }

  // `v` at `path` must be a mapping; reports and returns false otherwise.
  bool object(const Json& v, const std::string& path) {
    if (v.is_object()) return true;
    error(path, "must be a mapping (key: value lines), not " + type_word(v));
    return false;
  }
  bool list(const Json& v, const std::string& path) {
    if (v.is_array()) return true;
    error(path, "must be a list (lines starting with \"- \"), not " + type_word(v),
          v.is_object() ? "put \"- \" before the first key to make it a list item" : "");
    return false;
  }
  bool string(const Json& v, const std::string& path) {
    if (v.is_string()) return true;
    error(path, "must be a string, not " + type_word(v),
          v.is_number() || v.is_boolean()
              ? "quote it: \"" + (v.is_string() ? v.get<std::string>() : v.dump()) + "\""
              : "");
    return false;
  }
  // An integer in [lo, hi]. A quoted number gets its own fix.
  bool integer(const Json& v, const std::string& path, int64_t lo, int64_t hi) {
    if (v.is_string()) {
      error(path, "must be a number, not the string " + shown(v),
            "write it without quotes: " + leaf(path) + ": " + v.get<std::string>());
      return false;
    }
    if (!v.is_number_integer() && !v.is_number_unsigned()) {
      error(path, "must be a whole number, not " + type_word(v));
      return false;
    }
    int64_t n = v.get<int64_t>();
    if (n < lo || n > hi) {
      error(path, std::to_string(n) + " is out of range: must be " + std::to_string(lo) + "-" +
                      std::to_string(hi));
      return false;
    }
    return true;
  }
  // A string among `choices` (case-sensitive, as the API server is).
  bool one_of(const Json& v, const std::string& path, const std::vector<std::string>& choices) {
    if (!string(v, path)) return false;
    const auto s = v.get<std::string>();
    if (std::find(choices.begin(), choices.end(), s) != choices.end()) return true;
    std::string fix;
    for (const auto& c : choices) {
      if (to_lower(c) == to_lower(s)) fix = "write " + c + " (the letter case matters)";
    }
    if (fix.empty()) {
      if (auto hint = closest_match(s, choices)) fix = "did you mean " + *hint + "?";
    }
    error(path, "unsupported value " + shown(v) + ": must be one of " + join(choices, ", "), fix);
    return false;
  }
  // Keys of a mapping must be among `known`; the error suggests the closest.
  void known_keys(const Json& v, const std::string& path, const std::vector<std::string>& known) {
    if (!v.is_object()) return;
    for (const auto& [k, _] : v.items()) {
      if (std::find(known.begin(), known.end(), k) != known.end()) continue;
      std::string fix;
      if (auto hint = closest_match(k, known)) {
        fix = "did you mean \"" + *hint + "\"?";
      } else {
        fix = "known fields here: " + join(known, ", ");
      }
      error(child_path(path, k), "unknown field \"" + k + "\"", fix);
    }
  }
  // A mapping of strings to strings (labels, selectors, annotations, data).
  bool string_map(const Json& v, const std::string& path) {
    if (!object(v, path)) return false;
    bool ok = true;
    for (const auto& [k, val] : v.items()) {
      if (val.is_string()) continue;
      ok = false;
      std::string as_text = val.is_null() ? "" : val.dump();
      error(child_path(path, k),
            "must be a string, not " + type_word(val) +
                (val.is_number() || val.is_boolean()
                     ? " (YAML reads " + as_text + " unquoted as " + type_word(val) + ")"
                     : ""),
            "quote it: " + k + ": \"" + as_text + "\"");
    }
    return ok;
  }

 private:
  static std::string leaf(const std::string& path) {
    auto cut = path.find_last_of('.');
    std::string l = cut == std::string::npos ? path : path.substr(cut + 1);
    auto br = l.find('[');
    return br == std::string::npos ? l : l.substr(0, br);
  }
  void add(Severity s, const std::string& path, std::string message, std::string fix) {
    Diagnostic d;
    d.severity = s;
    d.path = path;
    d.message = std::move(message);
    d.fix = std::move(fix);
    out_.push_back(std::move(d));
  }
  std::vector<Diagnostic> out_;
};

const Json* field(const Json& o, const char* key) {
  if (!o.is_object() || !o.contains(key)) return nullptr;
  return &o[key];
}

bool parse_ip(const std::string& s) {
  unsigned char buf[16];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// "10.0.0.240/28", "fd00::/64": the address and a prefix length that fits.
std::string check_cidr(const std::string& s) {
  auto slash = s.find('/');
  if (slash == std::string::npos) return "is not a CIDR: missing \"/prefix-length\"";
  std::string ip = s.substr(0, slash), len = s.substr(slash + 1);
  unsigned char buf[16];
  int max = 0;
  if (inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    max = 32;
  } else if (inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    max = 128;
  } else {
    return "is not a CIDR: \"" + ip + "\" is not an IP address";
  }
  if (len.empty() || len.size() > 3 ||
      !std::all_of(len.begin(), len.end(), [](char c) { return std::isdigit(c); }) ||
      std::stoi(len) > max) {
    return "is not a CIDR: the prefix length must be 0-" + std::to_string(max);
  }
  return "";
}

// ---------------------------------------------------------------------------
// Generic checks

const std::vector<std::string> kMetadataFields = {"name",
                                                  "generateName",
                                                  "namespace",
                                                  "labels",
                                                  "annotations",
                                                  "uid",
                                                  "resourceVersion",
                                                  "generation",
                                                  "creationTimestamp",
                                                  "deletionTimestamp",
                                                  "deletionGracePeriodSeconds",
                                                  "ownerReferences",
                                                  "finalizers",
                                                  "managedFields",
                                                  "selfLink"};

// Top-level fields each kind has besides apiVersion, kind and metadata.
std::vector<std::string> top_level_fields(const std::string& kind) {
  std::vector<std::string> base = {"apiVersion", "kind", "metadata"};
  std::vector<std::string> extra;
  if (kind == "ConfigMap") {
    extra = {"data", "binaryData", "immutable"};
  } else if (kind == "Secret") {
    extra = {"data", "stringData", "type", "immutable"};
  } else if (kind == "ServiceAccount") {
    extra = {"secrets", "imagePullSecrets", "automountServiceAccountToken"};
  } else if (kind == "Endpoints") {
    extra = {"subsets"};
  } else if (kind == "EndpointSlice") {
    extra = {"addressType", "endpoints", "ports"};
  } else if (kind == "ClusterRole") {
    extra = {"rules", "aggregationRule"};
  } else if (kind == "Role") {
    extra = {"rules"};
  } else if (kind == "ClusterRoleBinding" || kind == "RoleBinding") {
    extra = {"subjects", "roleRef"};
  } else if (kind == "CiliumNetworkPolicy" || kind == "CiliumClusterwideNetworkPolicy") {
    extra = {"spec", "specs", "status"};
  } else if (kind == "CiliumIdentity") {
    extra = {"security-labels"};
  } else {
    extra = {"spec", "status"};
  }
  base.insert(base.end(), extra.begin(), extra.end());
  return base;
}

bool rbac_kind(const std::string& kind) {
  return kind == "ClusterRole" || kind == "ClusterRoleBinding" || kind == "Role" ||
         kind == "RoleBinding";
}

void check_name(Checker& c, const ResourceInfo& r, const std::string& name) {
  std::string problem;
  bool label = r.kind == "Namespace" || r.kind == "Service";
  if (rbac_kind(r.kind)) {
    if (name == "." || name == ".." || name.find_first_of("/%") != std::string::npos)
      problem = "may not be '.' or '..' and may not contain '/' or '%'";
  } else {
    problem = label ? check_dns1123_label(name) : check_dns1123_subdomain(name);
  }
  if (problem.empty()) return;
  c.error("metadata.name", "invalid name \"" + name + "\": " + problem,
          rbac_kind(r.kind) ? "" : "use a name like \"" + suggest_dns_name(name, !label) + "\"");
}

void check_metadata(Checker& c, const ResourceInfo& r, const Json& o) {
  const Json* meta = field(o, "metadata");
  if (meta == nullptr) {
    c.error("metadata", "missing: every object needs metadata.name",
            "add metadata: {name: <name>}");
    return;
  }
  if (!c.object(*meta, "metadata")) return;
  c.known_keys(*meta, "metadata", kMetadataFields);
  const Json* name = field(*meta, "name");
  if (name == nullptr || name->is_null() ||
      (name->is_string() && name->get<std::string>().empty())) {
    c.error("metadata.name", "missing: every object applied needs a name",
            field(*meta, "generateName") != nullptr
                ? "apply needs a fixed name: replace generateName with name"
                : "add metadata.name");
  } else if (c.string(*name, "metadata.name")) {
    check_name(c, r, name->get<std::string>());
  }
  if (const Json* ns = field(*meta, "namespace"); ns != nullptr && !ns->is_null()) {
    if (!r.namespaced) {
      c.error("metadata.namespace",
              r.kind + " is cluster-scoped: it belongs to no namespace, so it cannot have one",
              "remove metadata.namespace");
    } else if (c.string(*ns, "metadata.namespace")) {
      std::string problem = check_dns1123_label(ns->get<std::string>());
      if (!problem.empty()) {
        c.error("metadata.namespace",
                "invalid namespace \"" + ns->get<std::string>() + "\": " + problem,
                "use a namespace like \"" + suggest_dns_name(ns->get<std::string>(), false) + "\"");
      }
    }
  }
  if (const Json* labels = field(*meta, "labels"); labels != nullptr && !labels->is_null()) {
    if (c.string_map(*labels, "metadata.labels")) {
      for (const auto& [k, v] : labels->items()) {
        std::string path = child_path("metadata.labels", k);
        if (auto p = check_label_key(k); !p.empty()) c.error(path, "invalid label key: " + p);
        if (auto p = check_label_value(v.get<std::string>()); !p.empty())
          c.error(path, "invalid label value " + shown(v) + ": " + p);
      }
    }
  }
  if (const Json* ann = field(*meta, "annotations"); ann != nullptr && !ann->is_null()) {
    c.string_map(*ann, "metadata.annotations");
  }
}

// Returns the kind's resource when the object is one axon knows.
std::optional<ResourceInfo> check_type(Checker& c, const Json& o) {
  const Json* api = field(o, "apiVersion");
  const Json* kind = field(o, "kind");
  if (kind == nullptr || !kind->is_string() || kind->get<std::string>().empty()) {
    c.error("kind", "missing: every object needs apiVersion and kind",
            "add kind: (e.g. Service, Deployment, CiliumNetworkPolicy)");
    return std::nullopt;
  }
  const std::string k = kind->get<std::string>();
  auto known = find_kind(k);
  if (!known) {
    std::vector<std::string> kinds;
    for (const auto& r : known_resources()) kinds.push_back(r.kind);
    std::string fix;
    for (const auto& candidate : kinds) {
      if (to_lower(candidate) == to_lower(k))
        fix = "write kind: " + candidate + " (kinds are case-sensitive)";
    }
    if (fix.empty()) {
      if (auto hint = closest_match(k, kinds)) fix = "did you mean kind: " + *hint + "?";
    }
    std::sort(kinds.begin(), kinds.end());
    c.error("kind", "unknown kind \"" + k + "\"; axon serves " + join(kinds, ", "), fix);
    return std::nullopt;
  }
  if (api == nullptr || !api->is_string() || api->get<std::string>().empty()) {
    c.error("apiVersion", "missing: every object needs apiVersion and kind",
            "add apiVersion: " + known->api_version());
    return std::nullopt;
  }
  auto r = find_resource(api->get<std::string>(), k);
  if (!r) {
    c.error("apiVersion",
            k + " is not served at " + api->get<std::string>() + "; axon serves it at " +
                known->api_version(),
            "write apiVersion: " + known->api_version());
    return std::nullopt;
  }
  return r;
}

// ---------------------------------------------------------------------------
// Kinds

const std::vector<std::string> kProtocols = {"TCP", "UDP", "SCTP"};

// A port name as Kubernetes allows it (IANA_SVC_NAME): 1-15 lowercase
// letters, digits and '-', at least one letter, no '--', no '-' at the ends.
bool valid_port_name(const std::string& s) {
  if (s.empty() || s.size() > 15 || s.front() == '-' || s.back() == '-' ||
      s.find("--") != std::string::npos)
    return false;
  bool letter = false;
  for (char c : s) {
    if (!is_lower_alnum(c) && c != '-') return false;
    letter = letter || (c >= 'a' && c <= 'z');
  }
  return letter;
}

void check_target_port(Checker& c, const Json& v, const std::string& path) {
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    bool digits = !s.empty() && std::all_of(s.begin(), s.end(), [](char ch) {
      return std::isdigit(static_cast<unsigned char>(ch));
    });
    if (digits) {
      c.error(path,
              "the string " + shown(v) +
                  " names a container port; a number must be written "
                  "without quotes",
              "write targetPort: " + s);
    } else if (!valid_port_name(s)) {
      c.error(path, "invalid port name " + shown(v) +
                        ": 1-15 lowercase letters, digits and '-', with at least one letter");
    }
    return;
  }
  c.integer(v, path, 1, 65535);
}

void check_service(Checker& c, const ManifestObject& m) {
  const Json& o = m.object;
  const Json* spec = field(o, "spec");
  if (spec == nullptr) {
    c.error("spec", "missing: a Service needs spec.ports (and usually spec.selector)");
    return;
  }
  if (!c.object(*spec, "spec")) return;
  c.known_keys(*spec, "spec",
               {"ports",
                "selector",
                "clusterIP",
                "clusterIPs",
                "type",
                "externalIPs",
                "sessionAffinity",
                "loadBalancerIP",
                "loadBalancerSourceRanges",
                "externalName",
                "externalTrafficPolicy",
                "healthCheckNodePort",
                "publishNotReadyAddresses",
                "sessionAffinityConfig",
                "ipFamilies",
                "ipFamilyPolicy",
                "allocateLoadBalancerNodePorts",
                "loadBalancerClass",
                "internalTrafficPolicy",
                "trafficDistribution"});
  std::string type = "ClusterIP";
  if (const Json* t = field(*spec, "type")) {
    if (c.one_of(*t, "spec.type", {"ClusterIP", "NodePort", "LoadBalancer", "ExternalName"}))
      type = t->get<std::string>();
  }
  if (type == "ExternalName") {
    const Json* en = field(*spec, "externalName");
    if (en == nullptr || !en->is_string() || en->get<std::string>().empty())
      c.error("spec.externalName", "required when type is ExternalName",
              "set externalName: to the DNS name the Service stands for");
  }
  bool headless = false;
  if (const Json* ip = field(*spec, "clusterIP");
      ip != nullptr && c.string(*ip, "spec.clusterIP")) {
    const auto s = ip->get<std::string>();
    headless = s == "None";
    if (!s.empty() && !headless && !parse_ip(s))
      c.error("spec.clusterIP", "\"" + s + "\" is not an IP address (or \"None\" for headless)");
  }
  if (const Json* sel = field(*spec, "selector"); sel != nullptr && !sel->is_null())
    c.string_map(*sel, "spec.selector");
  if (const Json* ips = field(*spec, "externalIPs");
      ips != nullptr && c.list(*ips, "spec.externalIPs")) {
    for (size_t i = 0; i < ips->size(); ++i) {
      std::string p = child_path("spec.externalIPs", i);
      if (c.string((*ips)[i], p) && !parse_ip((*ips)[i].get<std::string>()))
        c.error(p, shown((*ips)[i]) + " is not an IP address");
    }
  }
  const Json* ports = field(*spec, "ports");
  if (ports == nullptr || ports->is_null() || (ports->is_array() && ports->empty())) {
    if (type != "ExternalName" && !headless)
      c.error("spec.ports", "required: a Service needs at least one port",
              "add ports: [{port: 80, targetPort: 8080}]");
    return;
  }
  if (!c.list(*ports, "spec.ports")) return;
  std::set<std::string> names, port_protos;
  for (size_t i = 0; i < ports->size(); ++i) {
    const Json& p = (*ports)[i];
    const std::string path = child_path("spec.ports", i);
    if (!c.object(p, path)) continue;
    c.known_keys(p, path, {"name", "protocol", "appProtocol", "port", "targetPort", "nodePort"});
    std::string proto = "TCP";
    if (const Json* pr = field(p, "protocol");
        pr != nullptr && c.one_of(*pr, path + ".protocol", kProtocols))
      proto = pr->get<std::string>();
    if (const Json* port = field(p, "port")) {
      if (c.integer(*port, path + ".port", 1, 65535)) {
        std::string key = std::to_string(port->get<int64_t>()) + "/" + proto;
        if (!port_protos.insert(key).second)
          c.error(path, "duplicate port " + key + ": each port and protocol may appear only once");
      }
    } else {
      c.error(path + ".port", "required: the port the Service listens on", "add port: (1-65535)");
    }
    if (const Json* tp = field(p, "targetPort")) check_target_port(c, *tp, path + ".targetPort");
    if (const Json* np = field(p, "nodePort")) {
      if (c.integer(*np, path + ".nodePort", 1, 65535) && type != "NodePort" &&
          type != "LoadBalancer" && np->get<int64_t>() != 0) {
        c.error(path + ".nodePort", "may not be used when type is " + type,
                "remove nodePort, or set spec.type: NodePort");
      }
    }
    const Json* name = field(p, "name");
    if (name != nullptr && c.string(*name, path + ".name")) {
      const auto n = name->get<std::string>();
      if (auto problem = check_dns1123_label(n); !problem.empty() && !n.empty())
        c.error(path + ".name", "invalid port name \"" + n + "\": " + problem);
      if (!names.insert(n).second) c.error(path + ".name", "duplicate port name \"" + n + "\"");
    } else if (name == nullptr && ports->size() > 1) {
      c.error(path + ".name", "required when a Service has more than one port",
              "give each port a name (http, https, metrics...)");
    }
  }
}

// Containers of a pod spec at `path` ("spec", "spec.template.spec").
void check_pod_spec(Checker& c, const Json* spec, const std::string& path) {
  if (spec == nullptr) {
    c.error(path, "missing: a pod needs " + path + ".containers");
    return;
  }
  if (!c.object(*spec, path)) return;
  const std::string cpath = path + ".containers";
  const Json* containers = field(*spec, "containers");
  if (containers == nullptr || containers->is_null() ||
      (containers->is_array() && containers->empty())) {
    c.error(cpath, "required: at least one container",
            "add containers: [{name: app, image: <image>}] (in the lab, command: [...] works too)");
    return;
  }
  if (!c.list(*containers, cpath)) return;
  std::set<std::string> names;
  for (size_t i = 0; i < containers->size(); ++i) {
    const Json& ct = (*containers)[i];
    const std::string p = child_path(cpath, i);
    if (!c.object(ct, p)) continue;
    const Json* name = field(ct, "name");
    if (name == nullptr || name->is_null()) {
      c.error(p + ".name", "required: every container needs a name", "add name: app");
    } else if (c.string(*name, p + ".name")) {
      const auto n = name->get<std::string>();
      if (auto problem = check_dns1123_label(n); !problem.empty())
        c.error(p + ".name", "invalid container name \"" + n + "\": " + problem,
                "use a name like \"" + suggest_dns_name(n, false) + "\"");
      if (!names.insert(n).second) c.error(p + ".name", "duplicate container name \"" + n + "\"");
    }
    const Json* image = field(ct, "image");
    const Json* command = field(ct, "command");
    if ((image == nullptr || image->is_null()) && (command == nullptr || command->is_null())) {
      c.error(p, "needs an image or a command",
              "set image: (Kubernetes pulls and runs it) or command: [...] (the lab runs it as a "
              "host command)");
    }
    if (image != nullptr && !image->is_null()) c.string(*image, p + ".image");
    for (const char* key : {"command", "args"}) {
      const Json* v = field(ct, key);
      if (v == nullptr || v->is_null()) continue;
      const std::string vp = p + "." + key;
      if (v->is_string()) {
        c.error(vp, "must be a list of words, not one string",
                std::string("write ") + key + ": [\"" + v->get<std::string>() +
                    "\"] split into words, e.g. [\"sleep\", \"3600\"]");
        continue;
      }
      if (!c.list(*v, vp)) continue;
      for (size_t j = 0; j < v->size(); ++j) c.string((*v)[j], child_path(vp, j));
    }
    if (const Json* ports = field(ct, "ports"); ports != nullptr && c.list(*ports, p + ".ports")) {
      for (size_t j = 0; j < ports->size(); ++j) {
        const std::string pp = child_path(p + ".ports", j);
        if (!c.object((*ports)[j], pp)) continue;
        if (const Json* cp = field((*ports)[j], "containerPort")) {
          c.integer(*cp, pp + ".containerPort", 1, 65535);
        } else {
          c.error(pp + ".containerPort", "required", "add containerPort: (1-65535)");
        }
        if (const Json* pr = field((*ports)[j], "protocol"))
          c.one_of(*pr, pp + ".protocol", kProtocols);
      }
    }
    if (const Json* env = field(ct, "env"); env != nullptr && c.list(*env, p + ".env")) {
      for (size_t j = 0; j < env->size(); ++j) {
        const std::string ep = child_path(p + ".env", j);
        if (!c.object((*env)[j], ep)) continue;
        const Json* n = field((*env)[j], "name");
        if (n == nullptr) {
          c.error(ep + ".name", "required");
        } else {
          c.string(*n, ep + ".name");
        }
        if (const Json* v = field((*env)[j], "value"); v != nullptr && !v->is_null())
          c.string(*v, ep + ".value");
      }
    }
  }
}

// Does a label selector (matchLabels/matchExpressions) select `labels`?
// Returns what does not match, "" when it does.
std::string selector_mismatch(const Json& selector, const Json& labels) {
  auto label = [&](const std::string& k) -> std::optional<std::string> {
    if (!labels.is_object() || !labels.contains(k) || !labels[k].is_string()) return std::nullopt;
    return labels[k].get<std::string>();
  };
  if (const Json* ml = field(selector, "matchLabels"); ml != nullptr && ml->is_object()) {
    for (const auto& [k, v] : ml->items()) {
      if (!v.is_string()) continue;
      auto have = label(k);
      if (!have) return k + ": " + v.get<std::string>() + " is missing";
      if (*have != v.get<std::string>())
        return k + " is \"" + *have + "\", the selector wants \"" + v.get<std::string>() + "\"";
    }
  }
  if (const Json* me = field(selector, "matchExpressions"); me != nullptr && me->is_array()) {
    for (const auto& e : *me) {
      if (!e.is_object()) continue;
      const std::string key = e.value("key", "");
      const std::string op = e.value("operator", "");
      std::vector<std::string> values;
      if (e.contains("values") && e["values"].is_array()) {
        for (const auto& v : e["values"])
          if (v.is_string()) values.push_back(v.get<std::string>());
      }
      auto have = label(key);
      bool in = have && std::find(values.begin(), values.end(), *have) != values.end();
      if (op == "In" && !in) return key + " is not in (" + join(values, ", ") + ")";
      if (op == "NotIn" && in) return key + " is in (" + join(values, ", ") + ")";
      if (op == "Exists" && !have) return key + " does not exist";
      if (op == "DoesNotExist" && have) return key + " exists";
    }
  }
  return "";
}

void check_workload(Checker& c, const ManifestObject& m) {
  const Json& o = m.object;
  const std::string kind = o.value("kind", "");
  const Json* spec = field(o, "spec");
  if (spec == nullptr) {
    c.error("spec", "missing: a " + kind + " needs spec.selector and spec.template");
    return;
  }
  if (!c.object(*spec, "spec")) return;
  if (kind == "Deployment") {
    if (const Json* r = field(*spec, "replicas")) c.integer(*r, "spec.replicas", 0, 1 << 30);
  }
  const Json* tmpl = field(*spec, "template");
  const Json* tmpl_labels = nullptr;
  if (tmpl == nullptr) {
    c.error("spec.template", "required: the pod template (metadata.labels and spec.containers)");
  } else if (c.object(*tmpl, "spec.template")) {
    const Json* tmeta = field(*tmpl, "metadata");
    if (tmeta != nullptr && c.object(*tmeta, "spec.template.metadata")) {
      tmpl_labels = field(*tmeta, "labels");
      if (tmpl_labels != nullptr && !c.string_map(*tmpl_labels, "spec.template.metadata.labels"))
        tmpl_labels = nullptr;
    }
    check_pod_spec(c, field(*tmpl, "spec"), "spec.template.spec");
  }
  const Json* sel = field(*spec, "selector");
  if (sel == nullptr || sel->is_null()) {
    c.error("spec.selector", "required: apps/v1 " + kind + "s need a selector",
            "add selector: {matchLabels: {...}} with the labels of spec.template.metadata.labels");
    return;
  }
  if (!c.object(*sel, "spec.selector")) return;
  c.known_keys(*sel, "spec.selector", {"matchLabels", "matchExpressions"});
  const Json* ml = field(*sel, "matchLabels");
  const Json* me = field(*sel, "matchExpressions");
  if (ml != nullptr && !ml->is_null()) c.string_map(*ml, "spec.selector.matchLabels");
  bool empty = (ml == nullptr || (ml->is_object() && ml->empty())) &&
               (me == nullptr || (me->is_array() && me->empty()));
  if (empty) {
    c.error("spec.selector", "empty selector is invalid for a " + kind,
            "select the pods by their labels: matchLabels: {app: <name>}");
    return;
  }
  if (tmpl != nullptr && tmpl->is_object()) {
    std::string miss = selector_mismatch(*sel, tmpl_labels ? *tmpl_labels : Json::object());
    if (!miss.empty()) {
      c.error("spec.template.metadata.labels", "selector does not match template labels: " + miss,
              "give spec.template.metadata.labels every label of spec.selector.matchLabels");
    }
  }
}

void check_pod(Checker& c, const ManifestObject& m) {
  check_pod_spec(c, field(m.object, "spec"), "spec");
}

void check_config_data(Checker& c, const ManifestObject& m) {
  for (const char* key : {"data", "binaryData", "stringData"}) {
    const Json* d = field(m.object, key);
    if (d == nullptr || d->is_null()) continue;
    if (!c.string_map(*d, key)) continue;
    for (const auto& [k, _] : d->items()) {
      bool ok = !k.empty() && k.size() <= 253 && std::all_of(k.begin(), k.end(), [](char ch) {
        return is_alnum(ch) || ch == '-' || ch == '_' || ch == '.';
      });
      if (!ok)
        c.error(child_path(key, k),
                "invalid key: keys are made of letters, digits, '-', '_' "
                "and '.'");
    }
  }
}

void check_crd(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec")) {
    if (spec == nullptr) c.error("spec", "missing: a CustomResourceDefinition needs spec");
    return;
  }
  const Json* group = field(*spec, "group");
  const Json* names = field(*spec, "names");
  std::string plural;
  if (group == nullptr || !group->is_string()) c.error("spec.group", "required");
  if (names == nullptr || !c.object(*names, "spec.names")) {
    if (names == nullptr) c.error("spec.names", "required (plural, singular, kind)");
  } else {
    const Json* p = field(*names, "plural");
    if (p == nullptr || !p->is_string()) {
      c.error("spec.names.plural", "required");
    } else {
      plural = p->get<std::string>();
    }
    if (field(*names, "kind") == nullptr) c.error("spec.names.kind", "required");
  }
  if (const Json* scope = field(*spec, "scope")) {
    c.one_of(*scope, "spec.scope", {"Namespaced", "Cluster"});
  } else {
    c.error("spec.scope", "required: Namespaced or Cluster");
  }
  if (group != nullptr && group->is_string() && !plural.empty()) {
    std::string want = plural + "." + group->get<std::string>();
    ObjectRef ref = ObjectRef::of(m.object);
    if (!ref.name.empty() && ref.name != want)
      c.error("metadata.name", "must be spec.names.plural + \".\" + spec.group: \"" + want + "\"",
              "write name: " + want);
  }
  const Json* versions = field(*spec, "versions");
  if (versions == nullptr || !versions->is_array() || versions->empty()) {
    c.error("spec.versions", "required: at least one version");
    return;
  }
  int storage = 0;
  for (const auto& v : *versions) storage += v.is_object() && v.value("storage", false) ? 1 : 0;
  if (storage != 1)
    c.error("spec.versions",
            "exactly one version must have storage: true (found " + std::to_string(storage) + ")");
}

void check_ip_pool(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr) {
    c.error("spec", "missing: a CiliumLoadBalancerIPPool needs spec.blocks");
    return;
  }
  if (!c.object(*spec, "spec")) return;
  c.known_keys(*spec, "spec",
               {"blocks", "cidrs", "serviceSelector", "disabled", "allowFirstLastIPs"});
  const Json* blocks = field(*spec, "blocks");
  std::string bpath = "spec.blocks";
  if (blocks == nullptr) {
    blocks = field(*spec, "cidrs");
    bpath = "spec.cidrs";
    if (blocks != nullptr) {
      c.warning("spec.cidrs", "deprecated: Cilium renamed cidrs to blocks", "write blocks:");
    }
  }
  if (blocks == nullptr || (blocks->is_array() && blocks->empty())) {
    c.error("spec.blocks", "required: at least one block of addresses",
            "add blocks: [{cidr: \"10.0.0.240/28\"}]");
    return;
  }
  if (!c.list(*blocks, bpath)) return;
  for (size_t i = 0; i < blocks->size(); ++i) {
    const Json& b = (*blocks)[i];
    const std::string p = child_path(bpath, i);
    if (!c.object(b, p)) continue;
    c.known_keys(b, p, {"cidr", "start", "stop"});
    if (const Json* cidr = field(b, "cidr")) {
      if (c.string(*cidr, p + ".cidr")) {
        if (auto problem = check_cidr(cidr->get<std::string>()); !problem.empty())
          c.error(p + ".cidr", shown(*cidr) + " " + problem);
      }
    } else if (const Json* start = field(b, "start")) {
      if (c.string(*start, p + ".start") && !parse_ip(start->get<std::string>()))
        c.error(p + ".start", shown(*start) + " is not an IP address");
      if (const Json* stop = field(b, "stop");
          stop != nullptr && c.string(*stop, p + ".stop") && !parse_ip(stop->get<std::string>()))
        c.error(p + ".stop", shown(*stop) + " is not an IP address");
    } else {
      c.error(p, "needs cidr (\"10.0.0.240/28\") or start (and optionally stop)");
    }
  }
}

void check_l2_policy(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr) {
    c.error("spec", "missing", "add spec.loadBalancerIPs: true and spec.interfaces");
    return;
  }
  if (!c.object(*spec, "spec")) return;
  c.known_keys(*spec, "spec",
               {"serviceSelector", "nodeSelector", "interfaces", "loadBalancerIPs", "externalIPs"});
  if (const Json* ifs = field(*spec, "interfaces");
      ifs != nullptr && c.list(*ifs, "spec.interfaces")) {
    for (size_t i = 0; i < ifs->size(); ++i) c.string((*ifs)[i], child_path("spec.interfaces", i));
  }
  bool lb = false, ext = false;
  for (auto [key, flag] : {std::pair{"loadBalancerIPs", &lb}, std::pair{"externalIPs", &ext}}) {
    const Json* v = field(*spec, key);
    if (v == nullptr || v->is_null()) continue;
    if (!v->is_boolean()) {
      c.error(std::string("spec.") + key, "must be true or false, not " + type_word(*v));
    } else {
      *flag = v->get<bool>();
    }
  }
  if (!lb && !ext) {
    c.warning("spec", "announces nothing: neither loadBalancerIPs nor externalIPs is true",
              "set loadBalancerIPs: true to answer ARP for LoadBalancer IPs");
  }
}

void check_gateway(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec")) {
    if (spec == nullptr) c.error("spec", "missing: a Gateway needs gatewayClassName and listeners");
    return;
  }
  const Json* cls = field(*spec, "gatewayClassName");
  if (cls == nullptr) {
    c.error("spec.gatewayClassName", "required", "add gatewayClassName: cilium");
  } else {
    c.string(*cls, "spec.gatewayClassName");
  }
  const Json* listeners = field(*spec, "listeners");
  if (listeners == nullptr || (listeners->is_array() && listeners->empty())) {
    c.error("spec.listeners", "required: at least one listener",
            "add listeners: [{name: http, port: 80, protocol: HTTP}]");
    return;
  }
  if (!c.list(*listeners, "spec.listeners")) return;
  std::set<std::string> names;
  for (size_t i = 0; i < listeners->size(); ++i) {
    const Json& l = (*listeners)[i];
    const std::string p = child_path("spec.listeners", i);
    if (!c.object(l, p)) continue;
    if (const Json* n = field(l, "name"); n == nullptr) {
      c.error(p + ".name", "required");
    } else if (c.string(*n, p + ".name") && !names.insert(n->get<std::string>()).second) {
      c.error(p + ".name", "duplicate listener name \"" + n->get<std::string>() + "\"");
    }
    if (const Json* port = field(l, "port")) {
      c.integer(*port, p + ".port", 1, 65535);
    } else {
      c.error(p + ".port", "required");
    }
    if (const Json* proto = field(l, "protocol")) {
      if (c.string(*proto, p + ".protocol") &&
          proto->get<std::string>().find('/') == std::string::npos)
        c.one_of(*proto, p + ".protocol", {"HTTP", "HTTPS", "TLS", "TCP", "UDP"});
    } else {
      c.error(p + ".protocol", "required: HTTP, HTTPS, TLS, TCP or UDP");
    }
  }
}

void check_http_route(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec")) {
    if (spec == nullptr) c.error("spec", "missing: an HTTPRoute needs parentRefs and rules");
    return;
  }
  if (const Json* refs = field(*spec, "parentRefs");
      refs != nullptr && c.list(*refs, "spec.parentRefs")) {
    for (size_t i = 0; i < refs->size(); ++i) {
      const std::string p = child_path("spec.parentRefs", i);
      if (!c.object((*refs)[i], p)) continue;
      if (field((*refs)[i], "name") == nullptr)
        c.error(p + ".name", "required: the Gateway's name");
      if (const Json* port = field((*refs)[i], "port")) c.integer(*port, p + ".port", 1, 65535);
    }
  }
  if (const Json* hosts = field(*spec, "hostnames");
      hosts != nullptr && c.list(*hosts, "spec.hostnames")) {
    for (size_t i = 0; i < hosts->size(); ++i)
      c.string((*hosts)[i], child_path("spec.hostnames", i));
  }
  const Json* rules = field(*spec, "rules");
  if (rules == nullptr || !c.list(*rules, "spec.rules")) return;
  for (size_t i = 0; i < rules->size(); ++i) {
    const Json& rule = (*rules)[i];
    const std::string rp = child_path("spec.rules", i);
    if (!c.object(rule, rp)) continue;
    if (const Json* matches = field(rule, "matches");
        matches != nullptr && c.list(*matches, rp + ".matches")) {
      for (size_t j = 0; j < matches->size(); ++j) {
        const std::string mp = child_path(rp + ".matches", j);
        const Json* path = field((*matches)[j], "path");
        if (path == nullptr || !c.object(*path, mp + ".path")) continue;
        if (const Json* t = field(*path, "type"))
          c.one_of(*t, mp + ".path.type", {"Exact", "PathPrefix", "RegularExpression"});
        if (const Json* v = field(*path, "value");
            v != nullptr && c.string(*v, mp + ".path.value")) {
          if (!v->get<std::string>().starts_with("/"))
            c.error(mp + ".path.value", "must start with \"/\"",
                    "write value: /" + v->get<std::string>());
        }
      }
    }
    if (const Json* backends = field(rule, "backendRefs");
        backends != nullptr && c.list(*backends, rp + ".backendRefs")) {
      for (size_t j = 0; j < backends->size(); ++j) {
        const std::string bp = child_path(rp + ".backendRefs", j);
        if (!c.object((*backends)[j], bp)) continue;
        if (field((*backends)[j], "name") == nullptr)
          c.error(bp + ".name", "required: the Service");
        const Json* kind = field((*backends)[j], "kind");
        bool service =
            kind == nullptr || (kind->is_string() && kind->get<std::string>() == "Service");
        if (const Json* port = field((*backends)[j], "port")) {
          c.integer(*port, bp + ".port", 1, 65535);
        } else if (service) {
          c.error(bp + ".port", "required when the backend is a Service",
                  "add port: (the Service's port)");
        }
      }
    }
  }
}

void check_gateway_class(Checker& c, const ManifestObject& m) {
  const Json* spec = field(m.object, "spec");
  if (spec == nullptr || !c.object(*spec, "spec") || field(*spec, "controllerName") == nullptr) {
    c.error("spec.controllerName", "required", "add controllerName: io.cilium/gateway-controller");
  }
}

}  // namespace

// ---------------------------------------------------------------------------
// The registry

void ValidatorRegistry::add(const std::vector<GroupKind>& kinds, ObjectValidator validator) {
  for (const auto& k : kinds) validators_[k].push_back(validator);
}

std::vector<Diagnostic> ValidatorRegistry::validate(const ManifestObject& m) const {
  Checker c;
  std::vector<Diagnostic> out;
  if (!m.object.is_object()) {
    c.error("",
            "a manifest document must be a mapping (an object with apiVersion, kind and "
            "metadata), not " +
                type_word(m.object));
    out = c.take();
  } else if (auto r = check_type(c, m.object)) {
    c.known_keys(m.object, "", top_level_fields(r->kind));
    check_metadata(c, *r, m.object);
    out = c.take();
    auto it = validators_.find(GroupKind{r->group, r->kind});
    if (it != validators_.end()) {
      for (const auto& v : it->second) {
        auto more = v(m);
        out.insert(out.end(), std::make_move_iterator(more.begin()),
                   std::make_move_iterator(more.end()));
      }
    }
  } else {
    out = c.take();
  }
  const std::string object = m.describe();
  for (auto& d : out) {
    if (d.location.file.empty()) d.location = m.where(d.path);
    if (d.document == 0) d.document = m.document;
    if (d.object.empty()) d.object = object;
  }
  // In the order a reader meets them in the file.
  std::stable_sort(out.begin(), out.end(), [](const Diagnostic& a, const Diagnostic& b) {
    return a.location.line < b.location.line;  // one object: one file
  });
  return out;
}

std::vector<Diagnostic> check_identity(const ManifestObject& m) {
  Checker c;
  if (!m.object.is_object()) {
    c.error("", "a manifest document must be a mapping, not " + type_word(m.object));
  } else if (auto r = check_type(c, m.object)) {
    ObjectRef ref = ObjectRef::of(m.object);
    if (ref.name.empty()) c.error("metadata.name", "missing: which object to delete?");
    if (!r->namespaced && !ref.namespace_.empty())
      c.error("metadata.namespace", r->kind + " is cluster-scoped: it has no namespace",
              "remove metadata.namespace");
  }
  auto out = c.take();
  for (auto& d : out) {
    d.location = m.where(d.path);
    d.document = m.document;
    d.object = m.describe();
  }
  return out;
}

std::vector<GroupKind> policy_kinds() {
  return {{"cilium.io", "CiliumNetworkPolicy"},
          {"cilium.io", "CiliumClusterwideNetworkPolicy"},
          {"networking.k8s.io", "NetworkPolicy"}};
}

namespace {

ObjectValidator with_checker(void (*check)(Checker&, const ManifestObject&)) {
  return [check](const ManifestObject& m) {
    Checker c;
    check(c, m);
    return c.take();
  };
}

}  // namespace

ValidatorRegistry builtin_validators() {
  ValidatorRegistry r;
  r.add({{"", "Service"}}, with_checker(check_service));
  r.add({{"", "Pod"}}, with_checker(check_pod));
  r.add({{"apps", "Deployment"}, {"apps", "DaemonSet"}}, with_checker(check_workload));
  r.add({{"", "ConfigMap"}, {"", "Secret"}}, with_checker(check_config_data));
  r.add({{"apiextensions.k8s.io", "CustomResourceDefinition"}}, with_checker(check_crd));
  r.add({{"cilium.io", "CiliumLoadBalancerIPPool"}}, with_checker(check_ip_pool));
  r.add({{"cilium.io", "CiliumL2AnnouncementPolicy"}}, with_checker(check_l2_policy));
  r.add({{"gateway.networking.k8s.io", "Gateway"}}, with_checker(check_gateway));
  r.add({{"gateway.networking.k8s.io", "HTTPRoute"}}, with_checker(check_http_route));
  r.add({{"gateway.networking.k8s.io", "GatewayClass"}}, with_checker(check_gateway_class));
  r.add(policy_kinds(), validate_policy_object);  // the policy engine's strict checks
  return r;
}

}  // namespace axon::client
