// toFQDNs: egress to DNS names (matchName, matchPattern), which only works
// with lookups that go through the DNS proxy; the same selector is a dns
// rule's (l7.cpp).
#include "decode/decoder.h"

namespace axon::policy::internal {

void Decoder::decode_to_fqdns(const Field& f, const std::string& path, PeerRule& el) {
  if (list_of(f.value, child(path, "toFQDNs"), "toFQDNs", el.fqdns,
              [&](const YAML::Node& e, const std::string& ep) { return decode_fqdn(e, ep); })) {
    has_fqdns_ = true;
  }
}

std::optional<FqdnSelector> Decoder::decode_fqdn(const YAML::Node& n, const std::string& path) {
  if (!expect_map(n, path, "an FQDN selector")) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path, {"matchName", "matchPattern"}, {}, "an FQDN selector");
  if (!exactly_one_of(fs, n, path, "matchName", "matchPattern")) return std::nullopt;
  FqdnSelector out;
  if (const Field* name = find(fs, "matchName")) {
    auto s = string_of(name->value, child(path, "matchName"));
    if (!s) return std::nullopt;
    if (!is_fqdn(*s, false)) {
      error(name->value, child(path, "matchName"),
            "\"" + *s + "\" is not a DNS name (letters, digits, '-', '_' and single dots)");
      return std::nullopt;
    }
    out.match_name = *s;
  } else {
    const Field* pattern = find(fs, "matchPattern");
    auto s = string_of(pattern->value, child(path, "matchPattern"));
    if (!s) return std::nullopt;
    if (!is_fqdn(*s, true)) {
      error(pattern->value, child(path, "matchPattern"),
            "\"" + *s + "\" is not a DNS name pattern (letters, digits, '-', '_', '*' and "
            "single dots)");
      return std::nullopt;
    }
    out.match_pattern = *s;
  }
  return out;
}

// A policy with toFQDNs and no dns rule: the proxy sees no answers, so the
// names never resolve to addresses (unless another policy sends lookups).
void Decoder::warn_fqdns_without_dns(const YAML::Node& root) {
  if (!has_fqdns_ || has_dns_) return;
  warn(root, "spec",
       "toFQDNs allows only addresses the DNS proxy saw in answers, and no rule of this "
       "policy sends lookups through it",
       "add an egress element to kube-dns with toPorts [{ports: [{port: \"53\", protocol: "
       "ANY}], rules: {dns: [{matchPattern: \"*\"}]}}] (unless another policy does)");
}

}  // namespace axon::policy::internal
