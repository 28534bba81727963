// DNS for the node's DNS proxy: the messages it reads and writes (RFC 1035:
// header, question, answer records; names with compression) and the rules
// it applies, as Cilium's: `rules.dns` matchName (exact, case-insensitive,
// trailing dot optional) and matchPattern (`*` = any characters but a dot,
// `*` alone = every name, a leading `**.` = one or more labels).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "axon/base/result.h"
#include "axon/policy/model.h"

namespace re2 {
class RE2;
}

namespace axon::proxy {

enum : uint16_t { kDnsTypeA = 1, kDnsTypeCname = 5, kDnsTypeAaaa = 28 };
enum : uint8_t { kDnsNoError = 0, kDnsFormErr = 1, kDnsServFail = 2, kDnsNxDomain = 3, kDnsRefused = 5 };

struct DnsRecord {
  std::string name;  // lower case, trailing dot
  uint16_t type = 0;
  uint32_t ttl = 0;
  std::string data;  // A: the address ("10.0.0.1"); CNAME: the target (trailing dot)
};

struct DnsMessage {
  uint16_t id = 0;
  bool response = false;
  uint8_t rcode = 0;
  std::string qname;  // lower case, trailing dot ("." for the root)
  uint16_t qtype = 0;
  size_t question_end = 0;  // offset past the (first) question
  std::vector<DnsRecord> answers;
};

// Parses a message; nullopt when it is not one (short, bad name, loops).
std::optional<DnsMessage> parse_dns(std::span<const uint8_t> wire);
// The answer to `query` (parsed as `q`) with only its header and question
// and the given rcode (REFUSED for a name the rules deny, SERVFAIL when the
// server does not answer).
std::vector<uint8_t> dns_error_reply(std::span<const uint8_t> query, const DnsMessage& q,
                                     uint8_t rcode);
// "A", "AAAA", "CNAME", ... or the number.
std::string dns_type_name(uint16_t type);
// "NOERROR", "REFUSED", ...
std::string dns_rcode_name(uint8_t rcode);

// A name against one matchName/matchPattern (both normalised: lower case,
// trailing dot).
class DnsMatcher {
 public:
  // `pattern` false: an exact name.
  static Result<DnsMatcher> compile(const std::string& value, bool pattern);
  bool matches(const std::string& name) const;  // name: lower case, trailing dot
  ~DnsMatcher();
  DnsMatcher(DnsMatcher&&) noexcept;
  DnsMatcher& operator=(DnsMatcher&&) noexcept;

 private:
  DnsMatcher() = default;
  std::string exact_;
  bool all_ = false;
  std::unique_ptr<re2::RE2> re_;
};

// What a pod may ask: any rule matching the query's name allows it.
class DnsRuleSet {
 public:
  static Result<std::shared_ptr<const DnsRuleSet>> compile(const std::vector<policy::DnsRule>& rules,
                                                           bool allow_all);
  bool allow_all() const { return allow_all_; }
  bool allows(const std::string& name) const;

 private:
  DnsRuleSet() = default;
  std::vector<DnsMatcher> matchers_;
  bool allow_all_ = false;
};

// Lower case with a trailing dot ("Cilium.IO" -> "cilium.io.").
std::string normalize_dns_name(std::string name);

}  // namespace axon::proxy
