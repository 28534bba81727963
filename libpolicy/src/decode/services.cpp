// toServices: egress to a Kubernetes Service, by name (k8sService) or by
// the labels of the service (k8sServiceSelector).
#include "decode/decoder.h"

namespace axon::policy::internal {

void Decoder::decode_to_services(const Field& f, const std::string& path, PeerRule& el) {
  list_of(f.value, child(path, "toServices"), "toServices", el.services,
          [&](const YAML::Node& e, const std::string& ep) { return decode_service(e, ep); });
}

std::optional<ServiceSelector> Decoder::decode_service(const YAML::Node& n,
                                                       const std::string& path) {
  if (!expect_map(n, path, "a service")) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path, {"k8sService", "k8sServiceSelector"}, {}, "toServices");
  if (!exactly_one_of(fs, n, path, "k8sService", "k8sServiceSelector")) return std::nullopt;
  const Field* svc = find(fs, "k8sService");
  const Field* f = svc != nullptr ? svc : find(fs, "k8sServiceSelector");
  ServiceSelector out;
  std::string p = child(path, f->key);
  if (!expect_map(f->value, p, f->key)) return std::nullopt;
  auto sfs = fields(f->value, p);
  if (svc != nullptr) {
    check_keys(sfs, p, {"serviceName", "namespace"}, {}, "k8sService");
    if (const Field* name = find(sfs, "serviceName")) {
      if (auto s = string_of(name->value, child(p, "serviceName"))) out.name = *s;
    } else {
      error(f->value, child(p, "serviceName"), "missing");
    }
  } else {
    check_keys(sfs, p, {"selector", "namespace"}, {}, "k8sServiceSelector");
    if (const Field* s = find(sfs, "selector")) {
      out.selector = decode_selector(s->value, child(p, "selector"), Flavor::k8s, "selector");
    } else {
      error(f->value, child(p, "selector"), "missing");
    }
  }
  if (const Field* nsf = find(sfs, "namespace")) {
    if (auto s = string_of(nsf->value, child(p, "namespace"))) out.ns = *s;
  } else {
    out.ns = ns_;
  }
  return out;
}

}  // namespace axon::policy::internal
