// Install values: the keys of the Cilium Helm chart that axon understands,
// merged from -f files and --set flags with Helm's precedence, validated
// with the file, line and field path of every problem, and resolved into
// typed values the manifest renderer reads.
//
// Why so careful: Helm ignores a misspelt key, so `gatewayApi: {enabled:
// true}` (the seed's spelling; the chart's key is gatewayAPI) installs a
// cluster without Gateway API and no error anywhere. axon refuses it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/base/diagnostic.h"
#include "axon/client/yaml.h"

namespace axon::client {

enum class ValueType {
  boolean,
  integer,
  string,
  string_list,
  duration,         // "15s"
  enumeration,      // one of `choices`
  capability_list,  // Linux capability names without CAP_
  cidr_list,        // IPv4 CIDRs
  object,           // free-form mapping
};

struct ValueSpec {
  std::string path;  // "hubble.relay.enabled"
  ValueType type = ValueType::string;
  Json default_value;
  std::string description;
  std::vector<std::string> choices;  // enumeration
  int64_t min = 0, max = 0;          // integer bounds, when max > min
};

// Every key axon understands, in chart order.
const std::vector<ValueSpec>& values_schema();
const ValueSpec* find_value_spec(const std::string& path);

// Every Linux capability name (CAP_ prefix removed), as in linux/capability.h.
const std::vector<std::string>& linux_capabilities();

// Values as the user gave them (no defaults), merged in order: later files
// and --set flags win; maps merge key by key, anything else is replaced; a
// null removes the key.
class ValuesBuilder {
 public:
  // A YAML values file. Errors: unreadable file, invalid YAML, not a mapping.
  Status add_file(const std::string& path);
  Status add_yaml(std::string_view text, const std::string& name);
  // Helm's --set syntax: "a.b=c,list[0]=x,l={a,b}", "\," and "\." escape.
  // Values are typed (true/false, integers, null) except with set_string.
  Status set(const std::string& expr);
  Status set_string(const std::string& expr);
  // "key=path": the file's content becomes the (string) value.
  Status set_file(const std::string& expr);

  const Json& values() const { return values_; }
  // Where each path was last set ("values.yaml:12", "--set a.b=c").
  const std::map<std::string, SourceLocation>& provenance() const { return provenance_; }
  SourceLocation where(const std::string& path) const;

 private:
  Status apply_set(const std::string& expr, bool typed, bool from_file);
  void merge(Json& dst, const Json& src, const std::string& path,
             const std::map<std::string, SourceLocation>& locations);

  Json values_ = Json::object();
  std::map<std::string, SourceLocation> provenance_;
};

// The resolved values the manifests are rendered from.
struct InstallValues {
  std::string ipam_mode;
  std::vector<std::string> cluster_pool_cidrs;
  int64_t cluster_pool_mask_size = 24;
  bool kube_proxy_replacement = false;
  std::string k8s_service_host;
  int64_t k8s_service_port = 0;
  std::string cni_bin_path = "/opt/cni/bin", cni_conf_path = "/etc/cni/net.d";
  bool cni_uninstall = false;  // the agent removes its CNI files when it stops
  bool bpf_auto_mount = true;  // a privileged init container mounts bpffs (Bidirectional)
  bool cgroup_auto_mount = true;
  std::string cgroup_host_root;
  bool privileged = false;
  std::vector<std::string> agent_capabilities;
  std::vector<std::string> mount_cgroup_capabilities;
  std::vector<std::string> clean_state_capabilities;
  bool gateway_api = false;
  bool hubble = true;
  int64_t hubble_buffer_capacity = 4095;
  std::string hubble_listen_address;
  std::vector<std::string> hubble_metrics;
  bool hubble_relay = false;
  int64_t hubble_relay_replicas = 1;
  bool hubble_ui = false;
  int64_t hubble_ui_replicas = 1;
  bool l2_announcements = false;
  std::string l2_lease_duration, l2_lease_renew_deadline, l2_lease_retry_period;
  std::string lb_algorithm;
  int64_t maglev_table_size = 16381;
  bool host_legacy_routing = false;
  std::string maglev_hash_seed;
  std::string policy_enforcement_mode;
  bool l7_proxy = true;
  int64_t dns_min_ttl = 3600;  // dnsProxy.minTtl (tofqdns-min-ttl)
  bool debug = false;
  std::string cluster_name;
  int64_t cluster_id = 0;
  std::string image_repository, image_tag, image_pull_policy;
  std::string operator_image_repository, operator_image_tag;
  int64_t operator_replicas = 2;
  std::string endpoint_gc_interval = "5m0s";
  std::string service_no_backend_response = "reject";
  std::string node_port_range = "30000,32767";  // nodePort.range: "first,last"
  bool external_ips = false;
};

// A NodePort range as nodePort.range and node-port-range write it
// ("30000,32767"; "30000-32767" is read too): first and last port, or an
// error saying what is wrong.
Result<std::pair<int, int>> parse_node_port_range(const std::string& text);

struct ValuesCheck {
  bool strict = false;  // unknown keys are errors, not warnings
  // The command a fix suggestion should name for the files given
  // ("axon values fix -f cilium-values.yaml -w").
  std::vector<std::string> files;
};

// Checks user values against the schema and the rules between keys.
std::vector<Diagnostic> validate_values(const ValuesBuilder& values, const ValuesCheck& check);

// Defaults overlaid by user values. Only meaningful when validate_values
// found no errors.
InstallValues resolve_values(const Json& user_values);

// Rewrites a values file so it means what its author meant: keys that
// differ from a chart key only in letter case are renamed (gatewayApi ->
// gatewayAPI). Text edits in place: comments and layout are kept.
struct ValuesFix {
  std::string text;                  // the fixed file
  std::vector<std::string> changes;  // "line 31: gatewayApi -> gatewayAPI"
};
Result<ValuesFix> fix_values_text(std::string_view text, const std::string& name);

}  // namespace axon::client
