#include "axon/proxy/http_rules.h"

#include <re2/re2.h>

#include <algorithm>

#include "axon/base/strings.h"

namespace axon::proxy {

struct HttpRuleSet::Compiled {
  std::unique_ptr<re2::RE2> method, path, host;  // null: any
  std::vector<std::pair<std::string, std::string>> headers;  // name, value ("" with !has_value)
  std::vector<bool> header_has_value;
  std::vector<policy::HeaderMatch> matches;
};

HttpRuleSet::~HttpRuleSet() = default;
size_t HttpRuleSet::size() const { return rules_.size(); }

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

const std::string* find_header(const HttpRequestView& req, std::string_view name) {
  for (const auto& [k, v] : req.headers) {
    if (iequals(k, name)) return &v;
  }
  return nullptr;
}

Result<std::unique_ptr<re2::RE2>> regex(const std::string& text, const char* field) {
  if (text.empty()) return std::unique_ptr<re2::RE2>();
  re2::RE2::Options o;
  o.set_log_errors(false);
  auto re = std::make_unique<re2::RE2>(text, o);
  if (!re->ok()) return Error{std::string("http rule ") + field + " " + text + ": " + re->error()};
  return re;
}

}  // namespace

Result<std::shared_ptr<const HttpRuleSet>> HttpRuleSet::compile(
    const std::vector<policy::HttpRule>& rules, bool allow_all) {
  auto set = std::shared_ptr<HttpRuleSet>(new HttpRuleSet());
  set->allow_all_ = allow_all;
  set->source_ = rules;
  for (const auto& r : rules) {
    Compiled c;
    auto m = regex(r.method, "method");
    if (!m) return m.error();
    auto p = regex(r.path, "path");
    if (!p) return p.error();
    auto h = regex(r.host, "host");
    if (!h) return h.error();
    c.method = std::move(*m);
    c.path = std::move(*p);
    c.host = std::move(*h);
    for (const auto& hd : r.headers) {
      auto colon = hd.find(':');
      if (colon == std::string::npos) {
        c.headers.emplace_back(std::string(trim(hd)), "");
        c.header_has_value.push_back(false);
      } else {
        c.headers.emplace_back(std::string(trim(hd.substr(0, colon))),
                               std::string(trim(hd.substr(colon + 1))));
        c.header_has_value.push_back(true);
      }
    }
    c.matches = r.header_matches;
    set->needs_headers_ = set->needs_headers_ || !c.headers.empty() || !c.matches.empty();
    set->rules_.push_back(std::move(c));
  }
  return std::shared_ptr<const HttpRuleSet>(std::move(set));
}

HttpVerdict HttpRuleSet::check(const HttpRequestView& req) const {
  HttpVerdict v;
  if (allow_all_) {
    v.allowed = true;
    return v;
  }
  for (const auto& r : rules_) {
    if (r.method && !re2::RE2::FullMatch(req.method, *r.method)) continue;
    if (r.path && !re2::RE2::FullMatch(req.target, *r.path)) continue;
    if (r.host && !re2::RE2::FullMatch(req.host, *r.host)) continue;
    bool ok = true;
    for (size_t i = 0; ok && i < r.headers.size(); ++i) {
      const std::string* got = find_header(req, r.headers[i].first);
      ok = got != nullptr && (!r.header_has_value[i] || *got == r.headers[i].second);
    }
    if (!ok) continue;
    HttpVerdict cand;
    for (const auto& m : r.matches) {
      const std::string* got = find_header(req, m.name);
      const bool secret = !m.secret_name.empty();
      if (!secret && got != nullptr && *got == m.value) continue;
      if (secret || m.mismatch.empty()) {  // a Secret's value is never read: no match
        ok = false;
        break;
      }
      if (m.mismatch == "LOG") {
        cand.logged.push_back(m.name);
      } else if (m.mismatch == "ADD") {
        cand.add.emplace_back(m.name, m.value);
      } else if (m.mismatch == "DELETE") {
        cand.remove.push_back(m.name);
      } else if (m.mismatch == "REPLACE") {
        cand.remove.push_back(m.name);
        cand.add.emplace_back(m.name, m.value);
      } else {
        ok = false;
        break;
      }
    }
    if (!ok) continue;
    cand.allowed = true;
    return cand;
  }
  return v;
}

}  // namespace axon::proxy
