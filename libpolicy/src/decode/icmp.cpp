// icmps: ICMP and ICMPv6 types an element allows (or denies), by number or
// by name, in an element of their own (not with toPorts).
#include "axon/base/strings.h"
#include "axon/base/suggest.h"
#include "decode/decoder.h"

namespace axon::policy::internal {
namespace {

constexpr size_t kMaxIcmpFields = 40;

}  // namespace

void Decoder::decode_icmps(const std::vector<Field>& fs, const YAML::Node& n, const Field& icmps,
                           const std::string& path, PeerRule& el) {
  one_of(fs, n, path, {"icmps", "toPorts"},
         {.combined = "icmps cannot be combined with toPorts in one element",
          .fix = "write two elements with the same peers"});
  std::string p = child(path, "icmps");
  if (!expect_seq(icmps.value, p, "icmps")) return;
  size_t i = 0;
  for (auto it = icmps.value.begin(); it != icmps.value.end(); ++it, ++i) {
    decode_icmp_rule(*it, index_path(p, i), el.icmps);
  }
}

void Decoder::decode_icmp_rule(const YAML::Node& n, const std::string& path,
                               std::vector<IcmpField>& out) {
  if (!expect_map(n, path, "an icmps entry")) return;
  auto fs = fields(n, path);
  check_keys(fs, path, {"fields"}, {}, "an icmps entry");
  const Field* f = find(fs, "fields");
  if (f == nullptr) {
    error(n, child(path, "fields"), "missing", "write fields: [{type: 8, family: IPv4}]");
    return;
  }
  std::string p = child(path, "fields");
  if (!expect_seq(f->value, p, "fields")) return;
  if (f->value.size() > kMaxIcmpFields) {
    error(f->value, p, "more than " + std::to_string(kMaxIcmpFields) + " ICMP fields");
  }
  size_t i = 0;
  for (auto it = f->value.begin(); it != f->value.end(); ++it, ++i) {
    if (auto field = decode_icmp_field(*it, index_path(p, i))) out.push_back(*field);
  }
}

// {family, type}. Type 0 is left out with a warning: the policy map
// cannot tell it from "every type".
std::optional<IcmpField> Decoder::decode_icmp_field(const YAML::Node& n,
                                                    const std::string& ip) {
  if (!expect_map(n, ip, "an ICMP field")) return std::nullopt;
  auto ifs = fields(n, ip);
  check_keys(ifs, ip, {"family", "type"}, {}, "an ICMP field");
  IcmpField field;
  if (const Field* fam = find(ifs, "family")) {
    auto s = string_of(fam->value, child(ip, "family"));
    if (s && *s == "IPv6") {
      field.family = 6;
    } else if (s && *s != "IPv4") {
      error(fam->value, child(ip, "family"), "unknown family \"" + *s + "\"", "IPv4 or IPv6");
      return std::nullopt;
    }
  }
  const Field* type = find(ifs, "type");
  if (type == nullptr) {
    error(n, child(ip, "type"), "missing", "a number (8) or a name (EchoRequest)");
    return std::nullopt;
  }
  std::string tp = child(ip, "type");
  if (!type->value.IsScalar()) {
    error(type->value, tp, "must be a number or a name, not " + type_name(type->value));
    return std::nullopt;
  }
  const std::string& s = type->value.Scalar();
  if (all_digits(s)) {
    auto v = parse_int(s);
    if (!v || *v > 255) {
      error(type->value, tp, "ICMP type " + s + " is out of range (0-255)");
      return std::nullopt;
    }
    field.type = static_cast<uint8_t>(*v);
  } else if (auto t = icmp_type_by_name(field.family, s)) {
    field.type = *t;
  } else {
    auto names = icmp_type_names(field.family);
    auto m = closest_match(s, names);
    error(type->value, tp, "unknown ICMPv" + std::to_string(field.family) + " type \"" + s + "\"",
          m ? "did you mean \"" + *m + "\"?" : "valid names: " + join(names, ", "));
    return std::nullopt;
  }
  if (field.type == 0) {
    warn(type->value, tp,
         "ICMP type 0 cannot be told apart from \"every type\" in axon's policy map, so this "
         "field is not enforced (echo replies to allowed requests pass anyway)",
         "remove it");
    return std::nullopt;
  }
  return field;
}

}  // namespace axon::policy::internal
