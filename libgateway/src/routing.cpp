#include "axon/gateway/routing.h"

#include <algorithm>
#include <random>
#include <tuple>

#include <re2/re2.h>

#include "axon/base/strings.h"

namespace axon::gateway {

namespace {

bool iequal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

// Path elements of a prefix key: "" 0, "/v1" 1, "/v1/x" 2 (empty elements
// of "//" count: keys and requests are measured alike).
int path_depth(std::string_view key) { return static_cast<int>(std::count(key.begin(), key.end(), '/')); }

// A PathPrefix's value as the index keys it: without trailing slashes ("/"
// becomes ""), so "/v1/" and "/v1" are one prefix.
std::string prefix_key(std::string_view value) {
  while (!value.empty() && value.back() == '/') value.remove_suffix(1);
  return std::string(value);
}

// "api.example.com:8080" -> "api.example.com"; "[::1]:80" -> "::1".
std::string_view host_part(std::string_view host) {
  if (!host.empty() && host.front() == '[') {
    auto end = host.find(']');
    return host.substr(1, end == std::string_view::npos ? host.npos : end - 1);
  }
  if (auto colon = host.rfind(':'); colon != std::string_view::npos) host = host.substr(0, colon);
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);  // FQDN's root dot
  return host;
}

std::string host_name(std::string_view host) { return to_lower(std::string(host_part(host))); }

// The host in lower case, in `room` when it has upper case letters (rare).
std::string_view lower_host(std::string_view host, std::string& room) {
  host = host_part(host);
  for (char c : host)
    if (c >= 'A' && c <= 'Z') return room = to_lower(std::string(host));
  return host;
}

// Hash maps looked up by string_view: no string built per request.
struct TextHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
};
template <typename V>
using TextMap = std::unordered_map<std::string, V, TextHash, std::equal_to<>>;

// One match of one rule, the unit the spec orders.
struct Entry {
  const Route* route;
  const Rule* rule;
  const Match* match;
  size_t rule_index, match_index;
  std::shared_ptr<re2::RE2> path_re;
  std::vector<std::shared_ptr<re2::RE2>> header_re, query_re;  // per match entry, null: exact
};

// The spec's order after the path: method, headers, queries, age, name, position.
bool before(const Entry& a, const Entry& b) {
  auto key = [](const Entry& e) {
    return std::make_tuple(e.match->method.empty(), -static_cast<long>(e.match->headers.size()),
                           -static_cast<long>(e.match->query.size()), std::string_view(e.route->created),
                           std::string_view(e.route->ns), std::string_view(e.route->name),
                           e.rule_index, e.match_index);
  };
  return key(a) < key(b);
}

std::string_view header_value(const HeaderList& headers, std::string_view name, std::string& joined) {
  // Repeated headers compare as one, joined with commas (as Envoy does).
  const std::string* first = nullptr;
  int count = 0;
  for (const auto& [n, v] : headers) {
    if (!iequal(n, name)) continue;
    if (count++ == 0) {
      first = &v;
    } else {
      if (count == 2) joined = *first;
      joined += ",";
      joined += v;
    }
  }
  if (count == 0) return {};
  return count == 1 ? std::string_view(*first) : std::string_view(joined);
}

bool has_header(const HeaderList& headers, std::string_view name) {
  for (const auto& h : headers)
    if (iequal(h.first, name)) return true;
  return false;
}

// The first value of query parameter `name` (case-sensitive), if present.
std::optional<std::string_view> query_value(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    auto amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name)
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

bool rest_matches(const Entry& e, const Request& r, std::string_view query) {
  const Match& m = *e.match;
  if (!m.method.empty() && m.method != r.method) return false;
  if (!m.headers.empty()) {
    if (r.headers == nullptr) return false;
    std::string joined;
    for (size_t i = 0; i < m.headers.size(); ++i) {
      const auto& h = m.headers[i];
      std::string_view v = header_value(*r.headers, h.name, joined);
      if (v.empty() && !has_header(*r.headers, h.name)) return false;
      if (e.header_re[i] ? !RE2::FullMatch(v, *e.header_re[i]) : v != h.value) return false;
    }
  }
  for (size_t i = 0; i < m.query.size(); ++i) {
    const auto& q = m.query[i];
    auto v = query_value(query, q.name);
    if (!v) return false;
    if (e.query_re[i] ? !RE2::FullMatch(*v, *e.query_re[i]) : *v != q.value) return false;
  }
  return true;
}

}  // namespace

bool hostname_matches(std::string_view pattern, std::string_view name) {
  if (iequal(pattern, name)) return true;
  if (!pattern.starts_with("*.")) return false;
  std::string_view suffix = pattern.substr(1);  // ".example.com"
  // At least one label before the suffix: "example.com" is not "*.example.com".
  return name.size() > suffix.size() && iequal(name.substr(name.size() - suffix.size()), suffix);
}

std::optional<std::vector<std::string>> intersect_hostnames(const std::string& listener,
                                                            const std::vector<std::string>& route) {
  if (listener.empty()) return route;
  if (route.empty()) return std::vector<std::string>{listener};
  std::vector<std::string> out;
  for (const auto& h : route) {
    if (hostname_matches(listener, h)) {
      out.push_back(h);  // the route's is as specific or more
    } else if (hostname_matches(h, listener)) {
      out.push_back(listener);  // the route's wildcard covers the listener's name
    }
  }
  if (out.empty()) return std::nullopt;
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// The rules of one hostname (exact, wildcard or any), indexed by path.
struct Bucket {
  TextMap<std::vector<Entry>> exact;   // by path
  TextMap<std::vector<Entry>> prefix;  // by prefix_key
  uint64_t depths = 0;  // bit n: a prefix of n path elements is in `prefix` (63: more)
  std::vector<Entry> regex;
  const Entry* find(const Request& r, std::string_view path, std::string_view query) const;
};

const Entry* Bucket::find(const Request& r, std::string_view path, std::string_view query) const {
  auto first = [&](const std::vector<Entry>& entries) -> const Entry* {
    for (const auto& e : entries)
      if (rest_matches(e, r, query)) return &e;
    return nullptr;
  };
  if (!exact.empty()) {
    if (auto it = exact.find(path); it != exact.end())
      if (auto* e = first(it->second)) return e;
  }
  if (!prefix.empty()) {
    // Element-wise: "/v1/x/" tries "/v1/x", "/v1", "" (the longest first).
    // Only the lengths some prefix has are looked up.
    std::string_view key = path;
    while (!key.empty() && key.back() == '/') key.remove_suffix(1);
    for (int n = path_depth(key);; --n) {
      if ((depths >> std::min(n, 63)) & 1)
        if (auto it = prefix.find(key); it != prefix.end())
          if (auto* e = first(it->second)) return e;
      if (key.empty()) break;
      key = key.substr(0, key.rfind('/'));
      while (!key.empty() && key.back() == '/') key.remove_suffix(1);
    }
  }
  for (const auto& e : regex)
    if (RE2::FullMatch(path, *e.path_re) && rest_matches(e, r, query)) return &e;
  return nullptr;
}

struct RouteTable::Impl {
  std::vector<std::shared_ptr<const Route>> routes;
  std::vector<std::pair<const Route*, std::vector<std::string>>> pending;
  TextMap<Bucket> exact;     // by hostname
  TextMap<Bucket> wildcard;  // "*.example.com" by "example.com"
  std::optional<Bucket> any;
  size_t rules = 0;
};

RouteTable::RouteTable() : impl_(std::make_unique<Impl>()) {}
RouteTable::~RouteTable() = default;
RouteTable::RouteTable(RouteTable&&) noexcept = default;
RouteTable& RouteTable::operator=(RouteTable&&) noexcept = default;

void RouteTable::add(std::shared_ptr<const Route> route, std::vector<std::string> hostnames) {
  impl_->pending.emplace_back(route.get(), std::move(hostnames));
  impl_->routes.push_back(std::move(route));
}

size_t RouteTable::rules() const { return impl_->rules; }

void RouteTable::build() {
  static const Match kAll;  // no matches: PathPrefix "/"
  auto compile = [](const std::string& text) {
    auto re = std::make_shared<re2::RE2>(text, re2::RE2::Quiet);
    return re->ok() ? re : nullptr;
  };
  for (auto& [route, hostnames] : impl_->pending) {
    std::vector<Bucket*> buckets;
    if (hostnames.empty()) {
      if (!impl_->any) impl_->any.emplace();
      buckets.push_back(&*impl_->any);
    }
    for (const auto& h : hostnames)
      buckets.push_back(h.starts_with("*.") ? &impl_->wildcard[h.substr(2)] : &impl_->exact[h]);
    for (size_t ri = 0; ri < route->rules.size(); ++ri) {
      const Rule& rule = route->rules[ri];
      ++impl_->rules;
      const size_t n = std::max<size_t>(1, rule.matches.size());
      for (size_t mi = 0; mi < n; ++mi) {
        const Match& m = rule.matches.empty() ? kAll : rule.matches[mi];
        Entry e{route, &rule, &m, ri, mi, nullptr, {}, {}};
        bool broken = false;  // a pattern RE2 refuses: the match never matches
        for (const auto& h : m.headers) {
          e.header_re.push_back(h.regex ? compile(h.value) : nullptr);
          broken = broken || (h.regex && !e.header_re.back());
          needs_headers_ = true;
        }
        for (const auto& q : m.query) {
          e.query_re.push_back(q.regex ? compile(q.value) : nullptr);
          broken = broken || (q.regex && !e.query_re.back());
        }
        if (m.path.type == PathType::RegularExpression) {
          e.path_re = compile(m.path.value);
          broken = broken || !e.path_re;
        }
        if (broken) continue;
        for (Bucket* b : buckets) {
          switch (m.path.type) {
            case PathType::Exact: b->exact[m.path.value].push_back(e); break;
            case PathType::PathPrefix: {
              const std::string key = prefix_key(m.path.value);
              b->prefix[key].push_back(e);
              b->depths |= uint64_t{1} << std::min(path_depth(key), 63);
              break;
            }
            case PathType::RegularExpression: b->regex.push_back(e); break;
          }
        }
      }
    }
  }
  impl_->pending.clear();
  auto sort_bucket = [](Bucket& b) {
    for (auto& [k, v] : b.exact) std::stable_sort(v.begin(), v.end(), before);
    for (auto& [k, v] : b.prefix) std::stable_sort(v.begin(), v.end(), before);
    // Regular expressions: the longer pattern first, then the spec's order.
    std::stable_sort(b.regex.begin(), b.regex.end(), [](const Entry& x, const Entry& y) {
      if (x.match->path.value.size() != y.match->path.value.size())
        return x.match->path.value.size() > y.match->path.value.size();
      return before(x, y);
    });
  };
  for (auto& [h, b] : impl_->exact) sort_bucket(b);
  for (auto& [h, b] : impl_->wildcard) sort_bucket(b);
  if (impl_->any) sort_bucket(*impl_->any);
}

RouteResult RouteTable::route(const Request& r, std::string_view scheme, int port) const {
  RouteResult out;
  std::string_view target = r.target;
  auto qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  std::string_view query = qmark == std::string_view::npos ? std::string_view() : target.substr(qmark + 1);
  std::string room;
  const std::string_view host = lower_host(r.host, room);

  // The most specific hostname first; a host no rule matches falls through.
  const Entry* hit = nullptr;
  if (auto it = impl_->exact.find(host); it != impl_->exact.end()) hit = it->second.find(r, path, query);
  if (!hit && !impl_->wildcard.empty()) {
    for (size_t dot = host.find('.'); !hit && dot != std::string_view::npos; dot = host.find('.', dot + 1)) {
      if (auto it = impl_->wildcard.find(host.substr(dot + 1)); it != impl_->wildcard.end())
        hit = it->second.find(r, path, query);
    }
  }
  if (!hit && impl_->any) hit = impl_->any->find(r, path, query);
  if (!hit) return out;  // 404

  out.route = hit->route;
  out.rule = hit->rule;
  out.match = hit->match;
  const Rule& rule = *hit->rule;
  if (rule.filters.redirect) {
    out.action = RouteResult::Action::Redirect;
    out.status = rule.filters.redirect->status;
    out.location = redirect_location(*rule.filters.redirect, *hit->match, target, host, scheme, port);
    return out;
  }
  // Weighted choice; the share of a backend that does not resolve is a 500.
  out.backend = pick_backend(rule.backends);
  if (out.backend == nullptr) {
    out.action = RouteResult::Action::Error;
    out.status = 500;
    return out;
  }
  out.action = RouteResult::Action::Forward;
  out.status = 0;
  if (rule.filters.rewrite) {
    const Rewrite& w = *rule.filters.rewrite;
    out.host = w.hostname;
    if (w.path) {
      std::string p = w.path->replace_prefix
                          ? replace_prefix(path, hit->match->path.value, w.path->value)
                          : w.path->value;
      if (!query.empty()) p += "?" + std::string(query);
      out.target = std::move(p);
    }
  }
  return out;
}

const BackendRef* pick_backend(const std::vector<BackendRef>& backends) {
  uint64_t total = 0;
  for (const auto& b : backends) total += static_cast<uint64_t>(std::max(0, b.weight));
  if (total == 0) return nullptr;
  thread_local std::minstd_rand rng(std::random_device{}());
  uint64_t pick = std::uniform_int_distribution<uint64_t>(0, total - 1)(rng);
  for (const auto& b : backends) {
    const uint64_t w = static_cast<uint64_t>(std::max(0, b.weight));
    if (pick >= w) {
      pick -= w;
      continue;
    }
    return b.resolved ? &b : nullptr;
  }
  return nullptr;
}

std::string replace_prefix(std::string_view path, std::string_view prefix, std::string_view replacement) {
  const std::string key = prefix_key(prefix);
  std::string_view rest = path.substr(std::min(path.size(), key.size()));  // "" or "/..."
  if (key.empty() && rest == "/") rest = {};  // "/" under the root prefix is the prefix itself
  std::string out(replacement);
  if (out.ends_with('/') && rest.starts_with('/')) out.pop_back();
  if (out.empty() && rest.empty()) return "/";
  if (!rest.empty() && !rest.starts_with('/') && !out.ends_with('/')) out += '/';
  out += rest;
  if (out.empty() || out.front() != '/') out.insert(out.begin(), '/');
  return out;
}

std::string redirect_location(const Redirect& r, const Match& matched, std::string_view target,
                              std::string_view host, std::string_view scheme, int listener_port) {
  const std::string out_scheme = r.scheme.empty() ? std::string(scheme) : r.scheme;
  // The port: the one asked for; else the scheme's own when the scheme was
  // changed; else the listener's. A scheme's well-known port is not written.
  int port = listener_port;
  if (r.port) {
    port = *r.port;
  } else if (!r.scheme.empty()) {
    port = r.scheme == "https" ? 443 : 80;
  }
  std::string out = out_scheme + "://" + (r.hostname.empty() ? host_name(host) : r.hostname);
  if (!((out_scheme == "http" && port == 80) || (out_scheme == "https" && port == 443)))
    out += ":" + std::to_string(port);
  auto qmark = target.find('?');
  std::string_view path = target.substr(0, qmark);
  if (r.path) {
    out += r.path->replace_prefix ? replace_prefix(path, matched.path.value, r.path->value) : r.path->value;
  } else {
    out += path;
  }
  if (qmark != std::string_view::npos) out += target.substr(qmark);
  return out;
}

void apply_header_modifier(const HeaderModifier& m, HeaderList& headers) {
  auto erase = [&](std::string_view name) {
    std::erase_if(headers, [&](const auto& h) { return iequal(h.first, name); });
  };
  for (const auto& name : m.remove) erase(name);
  for (const auto& [name, value] : m.set) {
    erase(name);
    headers.emplace_back(name, value);
  }
  for (const auto& [name, value] : m.add) {
    // "add" appends to an existing value (comma-joined), as the spec's example.
    auto it = std::find_if(headers.begin(), headers.end(), [&](const auto& h) { return iequal(h.first, name); });
    if (it != headers.end()) {
      it->second += "," + value;
    } else {
      headers.emplace_back(name, value);
    }
  }
}

}  // namespace axon::gateway
