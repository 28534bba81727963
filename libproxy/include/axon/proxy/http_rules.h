// L7 HTTP policy as Cilium's proxy applies it: a request is allowed when
// any rule matches it (or an L4-only allow of the same flow lets every
// request through); a rule matches when every field it sets does:
//   - method, path, host: regular expressions matched against the whole
//     value (RE2, as Envoy's safe_regex: anchored at both ends). The path is
//     the request target as sent, query included (Envoy's :path);
//   - headers: "Name" (present) or "Name: value" (present with that exact
//     value); names case-insensitive;
//   - headerMatches: name and value exact; on a mismatch the rule does not
//     match unless `mismatch` says otherwise: LOG (match, note it), ADD (add
//     the header), DELETE (remove it), REPLACE (set it to the value).
//     Values from Secrets are not read: such a match never matches.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "axon/base/result.h"
#include "axon/policy/model.h"

namespace re2 {
class RE2;
}

namespace axon::proxy {

// What rules see of a request; header edits are applied to `headers`.
struct HttpRequestView {
  std::string method;
  std::string target;  // "/path?query"
  std::string host;    // Host header, as sent
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpVerdict {
  bool allowed = false;
  std::vector<std::string> logged;  // headerMatches with mismatch LOG that missed
  // Header edits of ADD/DELETE/REPLACE mismatch actions, to apply before forwarding.
  std::vector<std::pair<std::string, std::string>> add;  // name, value (ADD, REPLACE)
  std::vector<std::string> remove;                        // names (DELETE, REPLACE)
};

class HttpRuleSet {
 public:
  // Compiles the rules; an invalid regex is an error (the policy validator
  // refuses those first).
  static Result<std::shared_ptr<const HttpRuleSet>> compile(
      const std::vector<policy::HttpRule>& rules, bool allow_all);
  ~HttpRuleSet();

  bool allow_all() const { return allow_all_; }
  size_t size() const;
  // Whether any rule looks at headers (else a request's headers need not be
  // gathered for check()).
  bool needs_headers() const { return needs_headers_; }
  HttpVerdict check(const HttpRequestView& req) const;
  // The rules it was compiled from (sent to the proxy process, agent_link.h).
  const std::vector<policy::HttpRule>& source() const { return source_; }

 private:
  struct Compiled;
  HttpRuleSet() = default;
  std::vector<Compiled> rules_;
  std::vector<policy::HttpRule> source_;
  bool allow_all_ = false;
  bool needs_headers_ = false;
};

}  // namespace axon::proxy
