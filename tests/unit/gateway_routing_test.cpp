// Gateway API request routing: hostnames, matches and the spec's precedence
// (../shared/reference/semantics.md §6), filters' arithmetic, weights.
#include <doctest/doctest.h>

#include <map>

#include "axon/gateway/routing.h"

namespace gw = axon::gateway;
using gw::Json;

namespace {

// An HTTPRoute from its spec's rules, as a user writes it (JSON here).
std::shared_ptr<gw::Route> http_route(const std::string& name, const std::string& rules,
                                      const std::string& created = "2026-01-01T00:00:00Z",
                                      const std::string& ns = "default") {
  Json o = Json::parse(R"({"kind": "HTTPRoute", "metadata": {}, "spec": {}})");
  o["metadata"] = {{"name", name}, {"namespace", ns}, {"creationTimestamp", created}};
  o["spec"]["rules"] = Json::parse(rules);
  auto r = std::make_shared<gw::Route>(gw::parse_route(o));
  REQUIRE_MESSAGE(r->invalid.empty(), name, ": ", r->invalid.front());
  return r;
}

// The route and rule that serve a request ("-" when none: 404).
std::string served(const gw::RouteTable& t, const std::string& target, const std::string& host = "x",
                   const std::string& method = "GET", const gw::HeaderList& headers = {}) {
  auto r = t.route({method, target, host, &headers});
  if (r.action == gw::RouteResult::Action::NotFound) return "-";
  std::string out = r.route->name + "/" + std::to_string(r.rule - r.route->rules.data());
  if (r.match != nullptr && !r.rule->matches.empty())
    out += "/" + std::to_string(r.match - r.rule->matches.data());
  return out;
}

}  // namespace

TEST_CASE("gateway routing: hostname patterns and listener intersection") {
  struct Case {
    std::string pattern, name;
    bool matches;
  };
  for (const Case& c : std::vector<Case>{
           {"api.example.com", "api.example.com", true},
           {"api.example.com", "API.Example.com", true},
           {"api.example.com", "web.example.com", false},
           {"*.example.com", "foo.example.com", true},
           {"*.example.com", "a.b.example.com", true},  // any depth
           {"*.example.com", "example.com", false},     // at least one label
           {"*.example.com", "fooexample.com", false},
           {"*.example.com", "*.foo.example.com", true},
           {"*.foo.example.com", "*.example.com", false},
       }) {
    CAPTURE(c.pattern);
    CAPTURE(c.name);
    CHECK(gw::hostname_matches(c.pattern, c.name) == c.matches);
  }
  using V = std::vector<std::string>;
  struct Inter {
    std::string listener;
    V route;
    std::optional<V> want;
  };
  for (const Inter& c : std::vector<Inter>{
           {"", {}, V{}},
           {"", {"a.example.com"}, V{"a.example.com"}},
           {"api.example.com", {}, V{"api.example.com"}},
           {"*.example.com", {"foo.example.com", "other.org"}, V{"foo.example.com"}},
           {"foo.example.com", {"*.example.com"}, V{"foo.example.com"}},
           {"*.example.com", {"*.foo.example.com"}, V{"*.foo.example.com"}},
           {"*.foo.example.com", {"*.example.com"}, V{"*.foo.example.com"}},
           {"api.example.com", {"web.example.com"}, std::nullopt},
           {"*.example.com", {"example.com"}, std::nullopt},
       }) {
    CAPTURE(c.listener);
    CHECK(gw::intersect_hostnames(c.listener, c.route) == c.want);
  }
}

TEST_CASE("gateway routing: path matching is element-wise, exact is literal") {
  gw::RouteTable t;
  t.add(http_route("prefix", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}]},
                                 {"matches": [{"path": {"type": "PathPrefix", "value": "/api/"}}]}])"),
        {});
  t.add(http_route("exact", R"([{"matches": [{"path": {"type": "Exact", "value": "/one"}}]}])"), {});
  t.add(http_route("regex", R"([{"matches": [{"path": {"type": "RegularExpression", "value": "/r/[0-9]+"}}]}])"),
        {});
  t.build();
  struct Case {
    std::string target, want;
  };
  for (const Case& c : std::vector<Case>{
           {"/v1", "prefix/0/0"},
           {"/v1/", "prefix/0/0"},
           {"/v1/x/y", "prefix/0/0"},
           {"/v1?a=b", "prefix/0/0"},
           {"/v1x", "-"},
           {"/v10", "-"},
           {"/V1", "-"},  // case-sensitive
           {"/api", "prefix/1/0"},  // the prefix's trailing slash is ignored
           {"/api/x", "prefix/1/0"},
           {"/apix", "-"},
           {"/one", "exact/0/0"},
           {"/one/", "-"},
           {"/One", "-"},
           {"/one/two", "-"},
           {"/r/12", "regex/0/0"},
           {"/r/12a", "-"},  // a full match
           {"/", "-"},
       }) {
    CAPTURE(c.target);
    CHECK(served(t, c.target) == c.want);
  }
}

TEST_CASE("gateway routing: precedence across the routes of a listener") {
  gw::RouteTable t;
  // Added in an order unlike the spec's: the table sorts.
  t.add(http_route("root", R"([{}])"), {});
  t.add(http_route("short", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/a"}}]}])"), {});
  t.add(http_route("long", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/a/b"}}]}])"), {});
  t.add(http_route("exact", R"([{"matches": [{"path": {"type": "Exact", "value": "/a/b"}}]}])"), {});
  t.add(http_route("method", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/m"}, "method": "POST"}]}])"),
        {});
  t.add(http_route("m-any", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/m"},
                                   "headers": [{"name": "a", "value": "1"}, {"name": "b", "value": "2"}]}]}])"),
        {});
  t.add(http_route("h1", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/h"},
                                "headers": [{"name": "x-a", "value": "1"}]}]}])"),
        {});
  t.add(http_route("h2", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/h"},
                                "headers": [{"name": "X-A", "value": "1"}, {"name": "x-b", "value": "2"}]}]}])"),
        {});
  t.add(http_route("q1", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/q"},
                                "queryParams": [{"name": "animal", "value": "whale"}]}]}])"),
        {});
  t.add(http_route("q0", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/q"}}]}])"), {});
  t.add(http_route("re", R"([{"matches": [{"path": {"type": "RegularExpression", "value": "/a/.*"}}]}])"), {});
  // Ties: the older route, then namespace/name, then rule and match order.
  t.add(http_route("young", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/t"}}]}])",
                   "2026-03-01T00:00:00Z"),
        {});
  t.add(http_route("old", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/t"}}]}])",
                   "2026-02-01T00:00:00Z"),
        {});
  t.add(http_route("b-name", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/n"}}]}])"), {});
  t.add(http_route("a-name", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/n"}}]}])"), {});
  t.add(http_route("z", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/n"}}]}])", "2026-01-01T00:00:00Z",
                   "aaa"),
        {});
  t.add(http_route("order", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/o"}},
                                              {"path": {"type": "PathPrefix", "value": "/o"}}]},
                                 {"matches": [{"path": {"type": "PathPrefix", "value": "/o"}}]}])"),
        {});
  t.build();
  struct Case {
    std::string target, method;
    gw::HeaderList headers;
    std::string want;
  };
  for (const Case& c : std::vector<Case>{
           {"/a/b", "GET", {}, "exact/0/0"},          // Exact beats any prefix
           {"/a/b/c", "GET", {}, "long/0/0"},         // the longest prefix
           {"/a/bc", "GET", {}, "short/0/0"},         // element-wise: not /a/b
           {"/a", "GET", {}, "short/0/0"},
           {"/x", "GET", {}, "root/0"},               // no matches: PathPrefix /
           {"/m", "POST", {{"a", "1"}, {"b", "2"}}, "method/0/0"},  // method before headers
           {"/m", "GET", {{"a", "1"}, {"b", "2"}}, "m-any/0/0"},
           {"/m", "GET", {{"a", "1"}}, "root/0"},
           {"/h", "GET", {{"x-a", "1"}, {"x-b", "2"}}, "h2/0/0"},  // more headers first
           {"/h", "GET", {{"X-a", "1"}}, "h1/0/0"},   // names case-insensitive
           {"/h", "GET", {{"x-a", "X"}}, "root/0"},   // values exact
           {"/q?animal=whale", "GET", {}, "q1/0/0"},  // more query params first
           {"/q?ANIMAL=whale", "GET", {}, "q0/0/0"},  // query names case-sensitive
           {"/q?animal=Whale", "GET", {}, "q0/0/0"},  // and values
           {"/q?x=1&animal=whale", "GET", {}, "q1/0/0"},
           {"/t", "GET", {}, "old/0/0"},
           {"/n", "GET", {}, "z/0/0"},                // namespace aaa before default
           {"/o/x", "GET", {}, "order/0/0"},
       }) {
    CAPTURE(c.target);
    CAPTURE(c.method);
    CHECK(served(t, c.target, "x", c.method, c.headers) == c.want);
  }
  CHECK(t.needs_headers());
}

TEST_CASE("gateway routing: the most specific hostname, falling through when no rule matches") {
  gw::RouteTable t;
  t.add(http_route("exact", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}]}])"),
        {"api.example.com"});
  t.add(http_route("wild", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}])"),
        {"*.example.com"});
  t.add(http_route("deep", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}]}])"),
        {"*.b.example.com"});
  t.add(http_route("other", R"([{"matches": [{"path": {"type": "PathPrefix", "value": "/v1"}}]}])"),
        {"other.org"});
  t.build();
  struct Case {
    std::string host, target, want;
  };
  for (const Case& c : std::vector<Case>{
           {"api.example.com", "/v1/x", "exact/0/0"},
           {"api.example.com:8080", "/v1", "exact/0/0"},  // the port is ignored
           {"API.example.com", "/v1", "exact/0/0"},
           {"api.example.com", "/v2", "wild/0/0"},        // falls through to the wildcard
           {"foo.example.com", "/v1", "wild/0/0"},
           {"a.b.example.com", "/", "deep/0/0"},          // the longer wildcard
           {"example.com", "/v1", "-"},
           {"other.org", "/v1", "other/0/0"},
           {"other.org", "/v2", "-"},
           {"nowhere.net", "/v1", "-"},
           {"", "/v1", "-"},
       }) {
    CAPTURE(c.host);
    CAPTURE(c.target);
    CHECK(served(t, c.target, c.host) == c.want);
  }
}

TEST_CASE("gateway routing: backends by weight; an unresolved share answers 500") {
  auto route = http_route("w", R"([{"backendRefs": [{"name": "a", "port": 80, "weight": 90},
                                                   {"name": "b", "port": 80, "weight": 10},
                                                   {"name": "never", "port": 80, "weight": 0}]},
                                  {"matches": [{"path": {"type": "PathPrefix", "value": "/bad"}}],
                                   "backendRefs": [{"name": "a", "port": 80},
                                                   {"name": "missing", "port": 80}]},
                                  {"matches": [{"path": {"type": "PathPrefix", "value": "/none"}}]}])");
  route->rules[1].backends[1].resolved = false;
  gw::RouteTable t;
  t.add(route, {});
  t.build();
  std::map<std::string, int> seen;
  for (int i = 0; i < 10000; ++i) {
    auto r = t.route({"GET", "/", "x", nullptr});
    REQUIRE(r.action == gw::RouteResult::Action::Forward);
    ++seen[r.backend->ref.name];
  }
  CHECK(seen["a"] > 8700);
  CHECK(seen["a"] < 9300);
  CHECK(seen["never"] == 0);
  int errors = 0;
  for (int i = 0; i < 2000; ++i) {
    auto r = t.route({"GET", "/bad", "x", nullptr});
    if (r.action == gw::RouteResult::Action::Error) {
      CHECK(r.status == 500);
      ++errors;
    } else {
      CHECK(r.backend->ref.name == "a");
    }
  }
  CHECK(errors > 850);
  CHECK(errors < 1150);
  auto none = t.route({"GET", "/none", "x", nullptr});
  CHECK(none.action == gw::RouteResult::Action::Error);  // no backends, no redirect
  CHECK(none.status == 500);
}

TEST_CASE("gateway routing: redirects and rewrites") {
  using P = gw::PathModifier;
  struct Prefix {
    std::string path, prefix, replacement, want;
  };
  for (const Prefix& c : std::vector<Prefix>{
           {"/v1/x", "/v1", "/v2", "/v2/x"},
           {"/v1", "/v1", "/v2", "/v2"},
           {"/v1/", "/v1", "/v2", "/v2/"},
           {"/v1/x", "/v1/", "/v2/", "/v2/x"},
           {"/v1/x", "/v1", "/", "/x"},
           {"/v1", "/v1", "/", "/"},
           {"/x", "/", "/api", "/api/x"},
           {"/", "/", "/api", "/api"},
       }) {
    CAPTURE(c.path);
    CAPTURE(c.prefix);
    CAPTURE(c.replacement);
    CHECK(gw::replace_prefix(c.path, c.prefix, c.replacement) == c.want);
  }
  gw::Match m;
  m.path = {gw::PathType::PathPrefix, "/old"};
  struct Loc {
    gw::Redirect r;
    std::string target, scheme;
    int port;
    std::string want;
  };
  for (const Loc& c : std::vector<Loc>{
           {{"https", "", std::nullopt, std::nullopt, 301}, "/old/a?q=1", "http", 80, "https://api.example.com/old/a?q=1"},
           {{"", "new.example.com", std::nullopt, std::nullopt, 302}, "/x", "http", 80, "http://new.example.com/x"},
           {{"", "", std::nullopt, std::nullopt, 302}, "/x", "http", 8080, "http://api.example.com:8080/x"},
           {{"https", "", std::nullopt, 8443, 302}, "/x", "http", 80, "https://api.example.com:8443/x"},
           {{"http", "", std::nullopt, std::nullopt, 302}, "/x", "https", 443, "http://api.example.com/x"},
           {{"", "", P{true, "/new"}, std::nullopt, 302}, "/old/a", "http", 80, "http://api.example.com/new/a"},
           {{"", "", P{false, "/full"}, std::nullopt, 302}, "/old/a", "http", 80, "http://api.example.com/full"},
       }) {
    CAPTURE(c.target);
    CHECK(gw::redirect_location(c.r, m, c.target, "api.example.com:80", c.scheme, c.port) == c.want);
  }

  gw::RouteTable t;
  t.add(http_route("f", R"([
    {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
     "filters": [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]},
    {"matches": [{"path": {"type": "PathPrefix", "value": "/api"}}],
     "filters": [{"type": "URLRewrite", "urlRewrite": {"hostname": "backend.internal",
                   "path": {"type": "ReplacePrefixMatch", "replacePrefixMatch": "/v2"}}}],
     "backendRefs": [{"name": "a", "port": 80}]}])"),
        {});
  t.build();
  auto redirect = t.route({"GET", "/old/x", "api.example.com", nullptr});
  CHECK(redirect.action == gw::RouteResult::Action::Redirect);
  CHECK(redirect.status == 301);
  CHECK(redirect.location == "https://api.example.com/old/x");
  auto rewrite = t.route({"GET", "/api/users?id=3", "api.example.com", nullptr});
  CHECK(rewrite.action == gw::RouteResult::Action::Forward);
  CHECK(rewrite.target == "/v2/users?id=3");
  CHECK(rewrite.host == "backend.internal");
}

TEST_CASE("gateway routing: header modifiers") {
  gw::HeaderModifier m;
  m.set = {{"X-Env", "prod"}};
  m.add = {{"X-Trace", "gw"}, {"X-New", "1"}};
  m.remove = {"x-secret"};
  gw::HeaderList h = {{"Host", "a"}, {"x-env", "dev"}, {"X-Trace", "client"}, {"X-Secret", "s"}};
  gw::apply_header_modifier(m, h);
  CHECK(h == gw::HeaderList{{"Host", "a"}, {"X-Trace", "client,gw"}, {"X-Env", "prod"}, {"X-New", "1"}});
}

TEST_CASE("gateway routing: what the table refuses to serve is reported, not matched") {
  Json o = Json::parse(R"({"kind": "HTTPRoute", "metadata": {"name": "bad", "namespace": "default"},
    "spec": {"rules": [
      {"matches": [{"path": {"type": "RegularExpression", "value": "/(unclosed"}}]},
      {"matches": [{"path": {"type": "Exact", "value": "relative"}}]},
      {"filters": [{"type": "ExtensionRef"},
                   {"type": "RequestRedirect", "requestRedirect": {"statusCode": 304}},
                   {"type": "URLRewrite", "urlRewrite": {"hostname": "x"}}]},
      {"timeouts": {"request": "ten seconds"}}]}})");
  gw::Route r = gw::parse_route(o);
  REQUIRE(r.invalid.size() == 6);
  CHECK(r.invalid[0].starts_with("spec.rules[0].matches[0].path.value: not a regular expression"));
  CHECK(r.invalid[1] == "spec.rules[1].matches[0].path.value: must start with \"/\"");
  CHECK(r.invalid[2].starts_with("spec.rules[2].filters[0].type: \"ExtensionRef\" is not supported"));
  CHECK(r.invalid[3].starts_with("spec.rules[2].filters[1].requestRedirect.statusCode: 304"));
  CHECK(r.invalid[4] == "spec.rules[2].filters: RequestRedirect and URLRewrite cannot be in one rule");
  CHECK(r.invalid[5].starts_with("spec.rules[3].timeouts.request: "));
  // What the proxies do not enforce yet is refused too (fail closed): a
  // mirror in a backendRef's filters (a rule's is served). Timeouts are
  // served; a backendRequest longer than the request's is refused (the
  // API's own rule).
  gw::Route later = gw::parse_route(Json::parse(R"({"kind": "HTTPRoute",
    "metadata": {"name": "later", "namespace": "default"}, "spec": {"rules": [
      {"filters": [{"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "shadow", "port": 80}, "percent": 30}},
                   {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "shadow", "port": 80}, "fraction": {"numerator": 1, "denominator": 3}}}],
       "backendRefs": [{"name": "api", "port": 80, "filters": [
         {"type": "RequestMirror", "requestMirror": {"backendRef": {"name": "shadow", "port": 80}}}]}]},
      {"timeouts": {"request": "10s"}},
      {"timeouts": {"request": "1s", "backendRequest": "500ms"}},
      {"timeouts": {"request": "1s", "backendRequest": "2s"}}]}})"));
  REQUIRE(later.invalid.size() == 2);
  CHECK(later.invalid[0].starts_with("spec.rules[0].backendRefs[0].filters: RequestMirror in a backendRef is not served yet"));
  REQUIRE(later.rules[0].filters.mirrors.size() == 2);
  CHECK(later.rules[0].filters.mirrors[0].numerator == 30);
  CHECK(later.rules[0].filters.mirrors[0].denominator == 100);
  CHECK(later.rules[0].filters.mirrors[1].numerator == 1);  // exactly a third, not 33%
  CHECK(later.rules[0].filters.mirrors[1].denominator == 3);
  CHECK(later.invalid[1] == "spec.rules[3].timeouts.backendRequest: longer than timeouts.request (it must not be)");
  CHECK(later.rules[1].request_timeout == std::chrono::seconds(10));
  CHECK(later.rules[2].backend_timeout == std::chrono::milliseconds(500));
  // Such a route is not Accepted, so not served; a table given one anyway
  // never matches the pattern RE2 refused.
  r.rules.resize(1);
  gw::RouteTable t;
  t.add(std::make_shared<gw::Route>(r), {});
  t.build();
  CHECK(t.route({"GET", "/(unclosed", "x", nullptr}).action == gw::RouteResult::Action::NotFound);
}

TEST_CASE("gateway routing: GRPCRoute matches as the HTTP/2 path") {
  Json o = Json::parse(R"({"kind": "GRPCRoute", "metadata": {"name": "g", "namespace": "default"},
    "spec": {"rules": [{"matches": [{"method": {"service": "echo.Echo", "method": "Ping"}}]},
                       {"matches": [{"method": {"service": "echo.Echo"}}]},
                       {"matches": [{"method": {"method": "Health"}}]}]}})");
  auto r = std::make_shared<gw::Route>(gw::parse_route(o));
  REQUIRE(r->invalid.empty());
  gw::RouteTable t;
  t.add(r, {});
  t.build();
  CHECK(served(t, "/echo.Echo/Ping", "x", "POST") == "g/0/0");
  CHECK(served(t, "/echo.Echo/Other", "x", "POST") == "g/1/0");
  CHECK(served(t, "/any.Svc/Health", "x", "POST") == "g/2/0");
  CHECK(served(t, "/echo.Echo/Ping", "x", "GET") == "-");
}
