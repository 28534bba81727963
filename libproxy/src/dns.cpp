#include "axon/proxy/dns.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>

namespace axon::proxy {

namespace {

uint16_t u16(std::span<const uint8_t> w, size_t at) { return static_cast<uint16_t>(w[at] << 8 | w[at + 1]); }

// Reads the name at `at` (following compression pointers, at most 16, each
// backwards); `at` moves past the name as it is written there.
bool read_name(std::span<const uint8_t> w, size_t& at, std::string& out) {
  out.clear();
  size_t pos = at;
  bool jumped = false;
  for (int hops = 0; hops < 16;) {
    if (pos >= w.size()) return false;
    const uint8_t len = w[pos];
    if ((len & 0xc0) == 0xc0) {
      if (pos + 1 >= w.size()) return false;
      const size_t target = static_cast<size_t>(len & 0x3f) << 8 | w[pos + 1];
      if (target >= pos) return false;  // forward or self: a loop
      if (!jumped) at = pos + 2;
      jumped = true;
      pos = target;
      ++hops;
      continue;
    }
    if (len & 0xc0) return false;
    if (len == 0) {
      if (!jumped) at = pos + 1;
      if (out.empty()) out = ".";
      return out.size() <= 255;
    }
    if (pos + 1 + len > w.size()) return false;
    for (size_t i = 0; i < len; ++i)
      out.push_back(static_cast<char>(std::tolower(w[pos + 1 + i])));
    out.push_back('.');
    pos += 1 + len;
  }
  return false;
}

}  // namespace

std::optional<DnsMessage> parse_dns(std::span<const uint8_t> w) {
  if (w.size() < 12) return std::nullopt;
  DnsMessage m;
  m.id = u16(w, 0);
  const uint16_t flags = u16(w, 2);
  m.response = flags & 0x8000;
  m.rcode = flags & 0xf;
  const uint16_t qd = u16(w, 4), an = u16(w, 6);
  size_t at = 12;
  if (qd == 0) return std::nullopt;  // nothing asked: not for a resolver
  for (uint16_t i = 0; i < qd; ++i) {
    std::string name;
    if (!read_name(w, at, name) || at + 4 > w.size()) return std::nullopt;
    if (i == 0) {
      m.qname = name;
      m.qtype = u16(w, at);
      m.question_end = at + 4;
    }
    at += 4;
  }
  for (uint16_t i = 0; i < an; ++i) {
    DnsRecord r;
    if (!read_name(w, at, r.name) || at + 10 > w.size()) return std::nullopt;
    r.type = u16(w, at);
    r.ttl = static_cast<uint32_t>(u16(w, at + 4)) << 16 | u16(w, at + 6);
    const uint16_t len = u16(w, at + 8);
    at += 10;
    if (at + len > w.size()) return std::nullopt;
    if (r.type == kDnsTypeA && len == 4) {
      r.data = std::to_string(w[at]) + "." + std::to_string(w[at + 1]) + "." +
               std::to_string(w[at + 2]) + "." + std::to_string(w[at + 3]);
    } else if (r.type == kDnsTypeCname) {
      size_t p = at;
      if (!read_name(w, p, r.data)) return std::nullopt;
    }
    at += len;
    m.answers.push_back(std::move(r));
  }
  return m;
}

std::vector<uint8_t> dns_error_reply(std::span<const uint8_t> query, const DnsMessage& q,
                                     uint8_t rcode) {
  std::vector<uint8_t> out(query.begin(), query.begin() + static_cast<ptrdiff_t>(q.question_end));
  // QR, the query's opcode and RD, RA; the rcode. One question, nothing else.
  const uint16_t flags = static_cast<uint16_t>(0x8000 | (u16(query, 2) & 0x7900) | 0x0080 | rcode);
  out[2] = static_cast<uint8_t>(flags >> 8);
  out[3] = static_cast<uint8_t>(flags);
  out[4] = 0;
  out[5] = 1;
  for (size_t i = 6; i < 12; ++i) out[i] = 0;
  return out;
}

std::string dns_type_name(uint16_t type) {
  switch (type) {
    case 1: return "A";
    case 2: return "NS";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 12: return "PTR";
    case 15: return "MX";
    case 16: return "TXT";
    case 28: return "AAAA";
    case 33: return "SRV";
    case 255: return "ANY";
    default: return std::to_string(type);
  }
}

std::string dns_rcode_name(uint8_t rcode) {
  switch (rcode) {
    case 0: return "NOERROR";
    case 1: return "FORMERR";
    case 2: return "SERVFAIL";
    case 3: return "NXDOMAIN";
    case 4: return "NOTIMP";
    case 5: return "REFUSED";
    default: return std::to_string(rcode);
  }
}

std::string normalize_dns_name(std::string name) {
  for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (name.empty() || name.back() != '.') name.push_back('.');
  return name;
}

DnsMatcher::~DnsMatcher() = default;
DnsMatcher::DnsMatcher(DnsMatcher&&) noexcept = default;
DnsMatcher& DnsMatcher::operator=(DnsMatcher&&) noexcept = default;

Result<DnsMatcher> DnsMatcher::compile(const std::string& value, bool pattern) {
  DnsMatcher m;
  const std::string v = normalize_dns_name(value);
  if (!pattern) {
    m.exact_ = v;
    return m;
  }
  if (v == "*.") {  // "*" alone: every name
    m.all_ = true;
    return m;
  }
  // Cilium's: "**." (leading) one or more labels; "*" any run of name
  // characters within a label; everything else literal.
  std::string re;
  size_t i = 0;
  if (v.rfind("**.", 0) == 0) {
    re = "(?:[-a-z0-9_]+\\.)+";
    i = 3;
  }
  for (; i < v.size(); ++i) {
    const char c = v[i];
    if (c == '*') {
      re += "[-a-z0-9_]*";
    } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') {
      re.push_back(c);
    } else if (c == '.') {
      re += "\\.";
    } else {
      return Error("matchPattern " + value + ": '" + std::string(1, c) + "' is not allowed in a DNS name");
    }
  }
  m.re_ = std::make_unique<re2::RE2>(re);
  if (!m.re_->ok()) return Error("matchPattern " + value + ": " + m.re_->error());
  return m;
}

bool DnsMatcher::matches(const std::string& name) const {
  if (all_) return true;
  if (re_) return re2::RE2::FullMatch(name, *re_);
  return name == exact_;
}

Result<std::shared_ptr<const DnsRuleSet>> DnsRuleSet::compile(const std::vector<policy::DnsRule>& rules,
                                                              bool allow_all) {
  std::shared_ptr<DnsRuleSet> s(new DnsRuleSet);
  s->allow_all_ = allow_all;
  for (const auto& r : rules) {
    if (!r.match_name.empty()) {
      auto m = DnsMatcher::compile(r.match_name, false);
      if (!m) return m.error();
      s->matchers_.push_back(std::move(*m));
    }
    if (!r.match_pattern.empty()) {
      auto m = DnsMatcher::compile(r.match_pattern, true);
      if (!m) return m.error();
      s->matchers_.push_back(std::move(*m));
    }
  }
  return std::shared_ptr<const DnsRuleSet>(std::move(s));
}

bool DnsRuleSet::allows(const std::string& name) const {
  if (allow_all_) return true;
  return std::any_of(matchers_.begin(), matchers_.end(), [&](const DnsMatcher& m) { return m.matches(name); });
}

}  // namespace axon::proxy
