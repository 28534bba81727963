// The schema of install values: every key axon knows, its type, default and
// range (values.h), and the helpers the builder and the validator share.
#include "values/schema.h"

#include <arpa/inet.h>

#include <sstream>

#include "axon/base/build_info.h"

namespace axon::client {
namespace values {

using T = ValueType;

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

}  // namespace values

namespace {

using namespace values;
using T = ValueType;

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
      spec("cni.binPath", T::string, "/opt/cni/bin", "The host's CNI plugin directory"),
      spec("cni.confPath", T::string, "/etc/cni/net.d", "The host's CNI configuration directory"),
      spec("cni.uninstall", T::boolean, false,
           "Remove the CNI configuration and plugin when the agent stops (when removing axon; "
           "off, an agent upgrade leaves the node's pods networked)"),
      spec("bpf.autoMount.enabled", T::boolean, true,
           "Mount bpffs on the host from a privileged init container (off when the host has it)"),
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
      // Shorter than Cilium's 15s/5s/2s: axon renews one lease per node,
      // not one per Service, so a fast failover costs few writes.
      spec("l2announcements.leaseDuration", T::duration, "2s",
           "How long other nodes wait before taking over an announcement"),
      spec("l2announcements.leaseRenewDeadline", T::duration, "1500ms",
           "How long the announcing node keeps answering without a renewal"),
      spec("l2announcements.leaseRetryPeriod", T::duration, "500ms",
           "How often each node renews its lease"),
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
      spec("dnsProxy.minTtl", T::integer, 3600,
           "toFQDNs: seconds an address learned from a DNS answer stays allowed at least (the "
           "answer's TTL when longer)",
           {}, 0, 86400),
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
      spec("serviceNoBackendResponse", T::enumeration, "reject",
           "A Service without backends: reject answers ICMP port unreachable at once (a TCP client "
           "sees a refused connection), drop lets the client time out",
           {"reject", "drop"}),
      spec("nodePort.range", T::string, "30000,32767",
           "Ports NodePort Services are given from (first,last; the API server's "
           "--service-node-port-range must agree)"),
      spec("externalIPs.enabled", T::boolean, false,
           "Serve Services' spec.externalIPs on every node"),
      spec("operator.endpointGCInterval", T::duration, "5m0s",
           "How often the operator deletes CiliumEndpoints whose pod is gone"),
  };
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

}  // namespace axon::client
