// toPorts rules (cilium's L7Rules): http rules (regular expressions,
// headers, header matches) and dns rules (names the DNS proxy lets pods
// look up); one kind per port. Kafka and the generic L7 parsers are not
// supported.
#include <algorithm>

#include "axon/base/strings.h"
#include "decode/decoder.h"

namespace axon::policy::internal {

void Decoder::decode_l7(const YAML::Node& n, const std::string& path, Section section, bool host,
                        PortRule& rule) {
  if (!expect_map(n, path, "rules")) return;
  auto fs = fields(n, path);
  check_keys(fs, path, {"http", "dns", "kafka", "l7proto", "l7"}, {}, "L7 rules");
  // Not a key check: an empty list is no rule, and the message names the
  // kinds in the order they are written.
  std::vector<std::string> kinds;
  for (const auto& f : fs) {
    if (f.key == "kafka" || f.key == "l7proto" || f.key == "l7") {
      error(f.key_node, child(path, f.key),
            f.key + " rules are not supported by axon (http and dns are)");
      continue;
    }
    if (f.key != "http" && f.key != "dns") continue;
    if (f.value.IsSequence() && f.value.size() > 0) kinds.push_back(f.key);
    if (f.value.IsSequence() && f.value.size() == 0) {
      warn(f.value, child(path, f.key), "empty list: no L7 rule (plain L4 allow)");
    }
  }
  if (kinds.size() > 1) {
    error(n, path, "one port takes one kind of L7 rules, not " + join(kinds, " and "),
          "split them into separate toPorts entries on different ports");
    return;
  }
  if (const Field* f = find(fs, "http")) {
    std::string p = child(path, "http");
    if (host) error(f->key_node, p, "host policies (nodeSelector) cannot have http rules");
    list_of(f->value, p, "http", rule.rules.http,
            [&](const YAML::Node& e, const std::string& ep) { return decode_http(e, ep); });
  }
  if (const Field* f = find(fs, "dns")) decode_dns_rules(*f, child(path, "dns"), section, rule);
}

// dns rules: the names a pod may look up (the FQDN selector's syntax).
void Decoder::decode_dns_rules(const Field& f, const std::string& p, Section section,
                               PortRule& rule) {
  if (direction_of(section) == Direction::ingress) {
    error(f.key_node, p, "dns rules apply to egress only (lookups a pod makes)",
          "move them to an egress element on port 53");
  }
  if (!expect_seq(f.value, p, "dns")) return;
  size_t i = 0;
  for (auto it = f.value.begin(); it != f.value.end(); ++it, ++i) {
    std::string ep = index_path(p, i);
    if (!expect_map(*it, ep, "a dns rule")) continue;
    auto dfs = fields(*it, ep);
    check_keys(dfs, ep, {"matchName", "matchPattern"}, {}, "a dns rule");
    if (auto s = decode_fqdn(*it, ep)) {
      has_dns_ = true;
      rule.rules.dns.push_back(DnsRule{s->match_name, s->match_pattern});
    }
  }
}

std::optional<HttpRule> Decoder::decode_http(const YAML::Node& n, const std::string& path) {
  if (!expect_map(n, path, "an http rule")) return std::nullopt;
  auto fs = fields(n, path);
  check_keys(fs, path, {"method", "path", "host", "headers", "headerMatches"}, {},
             "an http rule");
  HttpRule h;
  bool ok = true;
  auto regex_field = [&](const char* key, std::string& dst) {
    if (const Field* f = find(fs, key)) {
      std::string p = child(path, key);
      auto s = string_of(f->value, p);
      if (!s) {
        ok = false;
        return;
      }
      if (auto e = regex_error(*s); !e.empty()) {
        error(f->value, p, "\"" + *s + "\" is not an extended POSIX regular expression: " + e);
        ok = false;
        return;
      }
      dst = *s;
    }
  };
  regex_field("method", h.method);
  regex_field("path", h.path);
  regex_field("host", h.host);
  if (const Field* f = find(fs, "headers")) {
    h.headers = string_list(f->value, child(path, "headers"));
  }
  if (const Field* f = find(fs, "headerMatches")) {
    std::string p = child(path, "headerMatches");
    if (expect_seq(f->value, p, "headerMatches")) {
      size_t i = 0;
      for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
        if (auto m = decode_header_match(*it, index_path(p, i))) {
          h.header_matches.push_back(std::move(*m));
        } else {
          ok = false;
        }
      }
    }
  }
  if (!ok) return std::nullopt;
  return h;
}

// {name, value or secret, mismatch}. Nothing when it has an error that
// makes the whole http rule invalid.
std::optional<HeaderMatch> Decoder::decode_header_match(const YAML::Node& n,
                                                        const std::string& hp) {
  if (!expect_map(n, hp, "a header match")) return std::nullopt;
  auto hfs = fields(n, hp);
  check_keys(hfs, hp, {"name", "value", "secret", "mismatch"}, {}, "a header match");
  HeaderMatch m;
  bool ok = true;
  if (const Field* name = find(hfs, "name")) {
    if (auto s = string_of(name->value, child(hp, "name"))) m.name = *s;
  } else {
    error(n, child(hp, "name"), "missing");
    ok = false;
  }
  if (const Field* v = find(hfs, "value")) {
    if (auto s = string_of(v->value, child(hp, "value"))) m.value = *s;
  }
  if (const Field* s = find(hfs, "secret")) {
    std::string sp = child(hp, "secret");
    if (expect_map(s->value, sp, "secret")) {
      auto sfs = fields(s->value, sp);
      check_keys(sfs, sp, {"name", "namespace"}, {}, "a secret reference");
      if (const Field* x = find(sfs, "name")) {
        if (auto v = string_of(x->value, child(sp, "name"))) m.secret_name = *v;
      }
      if (const Field* x = find(sfs, "namespace")) {
        if (auto v = string_of(x->value, child(sp, "namespace"))) m.secret_namespace = *v;
      }
    }
    if (!one_of(hfs, n, hp, {"secret", "value"}, {.combined = "give value or secret, not both"})) {
      ok = false;
    }
  }
  if (const Field* mm = find(hfs, "mismatch")) {
    auto s = string_of(mm->value, child(hp, "mismatch"));
    static const std::vector<std::string> kActions = {"LOG", "ADD", "DELETE", "REPLACE"};
    if (s && std::find(kActions.begin(), kActions.end(), *s) == kActions.end()) {
      error(mm->value, child(hp, "mismatch"), "unknown action \"" + *s + "\"",
            "one of " + join(kActions, ", "));
      ok = false;
    } else if (s) {
      m.mismatch = *s;
    }
  }
  if (!ok) return std::nullopt;
  return m;
}

}  // namespace axon::policy::internal
