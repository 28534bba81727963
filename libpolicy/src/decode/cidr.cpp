// Address peers: fromCIDR/toCIDR (prefixes), fromCIDRSet/toCIDRSet
// (a prefix with exceptions; a NetworkPolicy's ipBlock reads the same).
#include "decode/decoder.h"

namespace axon::policy::internal {

bool Decoder::decode_cidr_peers(const std::vector<Field>& fs, const std::string& path,
                                const std::string& pfx, PeerRule& el) {
  bool cidr = false;
  // The two fields differ only in how one entry reads.
  auto entries = [&](const char* suffix, auto entry) {
    const Field* f = find(fs, pfx + suffix);
    if (f == nullptr) return;
    cidr = true;
    std::string p = child(path, f->key);
    if (list_of(f->value, p, f->key, el.cidrs, entry) && f->value.size() == 0) {
      warn(f->value, p, "empty list selects no address");
    }
  };
  entries("CIDR", [&](const YAML::Node& n, const std::string& p) -> std::optional<CidrRule> {
    if (auto pr = prefix_of(n, p)) return CidrRule{*pr, {}};
    return std::nullopt;
  });
  entries("CIDRSet",
          [&](const YAML::Node& n, const std::string& p) { return decode_cidr_set(n, p); });
  return cidr;
}

std::optional<Prefix> Decoder::prefix_of(const YAML::Node& n, const std::string& path) {
  auto s = string_of(n, path);
  if (!s) return std::nullopt;
  auto p = parse_prefix(*s);
  if (!p) {
    error(n, path, p.error().message);
    return std::nullopt;
  }
  if (p->host_bits_set) {
    warn(n, path, "\"" + *s + "\" has host bits set; it means " + to_string(p->prefix),
         "write " + to_string(p->prefix));
  }
  return p->prefix;
}

std::optional<CidrRule> Decoder::decode_cidr_set(const YAML::Node& n, const std::string& path) {
  if (!expect_map(n, path, "a CIDR set")) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path, {"cidr", "except", "cidrGroupRef", "cidrGroupSelector"}, {},
             "a CIDR set");
  for (const char* g : {"cidrGroupRef", "cidrGroupSelector"}) {
    if (const Field* f = find(fs, g)) {
      error(f->key_node, child(path, g), "CiliumCIDRGroup references are not supported by axon yet",
            "list the prefixes with cidr/except");
    }
  }
  const Field* c = find(fs, "cidr");
  if (c == nullptr) {
    if (find(fs, "cidrGroupRef") == nullptr && find(fs, "cidrGroupSelector") == nullptr) {
      error(n, child(path, "cidr"), "missing", "write cidr: 10.0.0.0/8");
    }
    return std::nullopt;
  }
  auto cidr = prefix_of(c->value, child(path, "cidr"));
  if (!cidr) return std::nullopt;
  CidrRule rule{*cidr, {}};
  if (const Field* e = find(fs, "except")) {
    std::string p = child(path, "except");
    if (expect_seq(e->value, p, "except")) {
      size_t i = 0;
      for (auto it = e->value.begin(); it != e->value.end(); ++it, ++i) {
        auto ex = prefix_of(*it, index_path(p, i));
        if (!ex) continue;
        if (ex->v6 != cidr->v6 || !contains(*cidr, *ex)) {
          error(*it, index_path(p, i),
                to_string(*ex) + " is not inside " + to_string(*cidr) +
                    " (every exception must be a smaller prefix of the same family inside "
                    "cidr; Cilium rejects the rule otherwise)");
          continue;
        }
        rule.except.push_back(*ex);
      }
    }
  }
  return rule;
}

}  // namespace axon::policy::internal
