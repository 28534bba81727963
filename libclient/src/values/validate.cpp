// Validation of install values: known keys and their types, ranges and
// enums, rules between keys; each problem with its file, line and fix.
#include "values/schema.h"

#include <algorithm>
#include <set>

#include "axon/base/duration.h"
#include "axon/base/strings.h"
#include "axon/base/suggest.h"

namespace axon::client {

using namespace values;
using T = ValueType;

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
    if (auto r = parse_node_port_range(v.node_port_range); !r) {
      add(Severity::error, "nodePort.range", r.error().message,
          "write the first and last port with a comma: nodePort.range: \"30000,32767\"");
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
    struct HostDir {
      const char* path;
      const std::string& value;
      const char* example;
    };
    for (const HostDir& d : {HostDir{"cni.binPath", v.cni_bin_path, "/opt/cni/bin"},
                             HostDir{"cni.confPath", v.cni_conf_path, "/etc/cni/net.d"},
                             HostDir{"cgroup.hostRoot", v.cgroup_host_root, "/sys/fs/cgroup"}}) {
      if (!d.value.starts_with("/")) {
        add(Severity::error, d.path,
            "\"" + d.value + "\" is not an absolute path (a directory of the host)",
            std::string("give the host's directory, as ") + d.example);
      }
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

}  // namespace axon::client
