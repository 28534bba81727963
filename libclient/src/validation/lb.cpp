// LB IPAM pools and L2 announcement policies (Cilium's CRDs).
#include <arpa/inet.h>

#include "axon/client/l2announce.h"
#include "validation/checker.h"

namespace axon::client::validation {
namespace {

// Both IPv4 and a after b.
bool ipv4_after(const std::string& a, const std::string& b) {
  in_addr x{}, y{};
  return inet_pton(AF_INET, a.c_str(), &x) == 1 && inet_pton(AF_INET, b.c_str(), &y) == 1 &&
         ntohl(x.s_addr) > ntohl(y.s_addr);
}

}  // namespace

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
      if (const Json* stop = field(b, "stop"); stop != nullptr && c.string(*stop, p + ".stop")) {
        if (!parse_ip(stop->get<std::string>())) {
          c.error(p + ".stop", shown(*stop) + " is not an IP address");
        } else if (start->is_string() && ipv4_after(start->get<std::string>(), stop->get<std::string>())) {
          c.error(p + ".stop",
                  "the range ends before it starts: start " + start->get<std::string>() +
                      " comes after stop " + stop->get<std::string>(),
                  "swap start and stop");
        }
      }
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
    for (size_t i = 0; i < ifs->size(); ++i) {
      const std::string p = child_path("spec.interfaces", i);
      if (!c.string((*ifs)[i], p)) continue;
      if (auto problem = interface_regex_problem((*ifs)[i].get<std::string>()); !problem.empty())
        c.error(p, shown((*ifs)[i]) + ": " + problem, "write a regular expression (RE2), e.g. ^eth[0-9]+");
    }
  }
  for (const char* key : {"serviceSelector", "nodeSelector"}) {
    if (const Json* sel = field(*spec, key)) {
      if (auto problem = label_selector_problem(*sel); !problem.empty())
        c.error(std::string("spec.") + key, problem,
                "write matchLabels: {key: value} or matchExpressions with In, NotIn, Exists, DoesNotExist");
    }
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

}  // namespace axon::client::validation
