// HTTPS Gateway listeners (libproxy): TLS ends in the proxy with the
// listener's certificate, chosen by the connection's frontend and the
// client's server name (exact, then the longest wildcard, then a listener
// without a hostname; none: the handshake fails), then the request is
// routed as on an HTTP listener (redirects keep https). Over loopback, with
// certificates made here and a real OpenSSL client. TLS passthrough: the
// ClientHello's server name read (never answered), TLSRoutes chosen by it,
// and the bytes relayed to a TLS server that completes the handshake itself.
#include <arpa/inet.h>
#include <doctest/doctest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <string>
#include <thread>

#include "axon/proxy/gateway_routes.h"
#include "axon/proxy/http_proxy.h"
#include "axon/proxy/tcp_relay.h"
#include "certificates.h"
#include "gateway_fixtures.h"

using namespace axon::proxy;
using axon::test::GatewayListener;
using axon::test::Served;
using axon::test::self_signed;

namespace {

// One request over TLS with `sni` ("" none), the client offering only
// `sigalgs` when given; the server certificate's CN and the answer, or an
// empty CN when the handshake failed.
struct TlsAnswer {
  std::string cn, response;
};
TlsAnswer tls_request(uint16_t port, const std::string& sni, const std::string& request,
                      const char* sigalgs = nullptr) {
  TlsAnswer out;
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  if (sigalgs != nullptr) REQUIRE(SSL_CTX_set1_sigalgs_list(ctx.get(), sigalgs) == 1);
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  SSL_set_fd(ssl.get(), fd);
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  if (SSL_connect(ssl.get()) == 1) {
    if (X509* peer = SSL_get1_peer_certificate(ssl.get())) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof cn);
      out.cn = cn;
      X509_free(peer);
    }
    SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
    char buf[4096];
    for (int n; (n = SSL_read(ssl.get(), buf, sizeof buf)) > 0;) {
      out.response.append(buf, static_cast<size_t>(n));
      if (out.response.find("\r\n\r\n") != std::string::npos &&
          out.response.find("Content-Length: 0") != std::string::npos)
        break;
      if (out.response.find("method=") != std::string::npos) break;
      if (out.response.find("Location:") != std::string::npos) break;
    }
  }
  ERR_clear_error();
  close(fd);
  return out;
}

}  // namespace

TEST_CASE("gateway HTTPS listener: certificate by SNI, then routed as HTTP; no certificate: no handshake") {
  Served backend([](httplib::Server& server) {
    server.Get(".*", [](const httplib::Request& r, httplib::Response& res) {
      res.set_content("method=" + r.method + " path=" + r.path + " proto=" + r.get_header_value("X-Forwarded-Proto"),
                      "text/plain");
    });
  });
  const int backend_port = backend.port;
  GatewayListener gw(true);
  auto& proxy = gw.proxy();

  auto [api_crt, api_key] = self_signed("api.example.com");
  auto [wild_crt, wild_key] = self_signed("wildcard.example.com");
  auto [deep_crt, deep_key] = self_signed("deep.example.com");
  auto [any_crt, any_key] = self_signed("default");
  auto [ec_crt, ec_key] = self_signed("dual-ecdsa");
  auto [rsa_crt, rsa_key] = self_signed("dual-rsa", true);
  auto [ec2_crt, ec2_key] = self_signed("dual-ecdsa-second");
  auto snapshot = [&](bool with_default) {
    GatewaySnapshot s;
    s.frontends.push_back({"127.0.0.1", proxy.port(), "gw/web", 443});
    GatewaySnapshot::AttachedRoute r;
    r.object = axon::test::http_route("api", R"({"rules": [
        {"matches": [{"path": {"type": "PathPrefix", "value": "/old"}}],
         "filters": [{"type": "RequestRedirect", "requestRedirect": {"path": {"type": "ReplaceFullPath", "replaceFullPath": "/new"}}}]},
        {"backendRefs": [{"name": "api", "port": 80}]}]})");
    r.resolved = {{}, {true}};
    s.listeners.push_back({"gw/web", 443, "HTTPS", {r}});
    s.endpoints["prod/api:80"] = {"127.0.0.1:" + std::to_string(backend_port)};
    s.certificates.push_back({"gw/web", 443, "api.example.com", api_crt, api_key});
    s.certificates.push_back({"gw/web", 443, "*.example.com", wild_crt, wild_key});
    s.certificates.push_back({"gw/web", 443, "*.deep.example.com", deep_crt, deep_key});
    if (with_default) s.certificates.push_back({"gw/web", 443, "", any_crt, any_key});
    // A certificate that does not load is reported, its listener skipped.
    s.certificates.push_back({"gw/web", 443, "bad.example.com", "not a certificate", api_key});
    s.certificates.push_back({"gw/web", 443, "mismatch.example.com", api_crt, wild_key});
    // A listener with several certificateRefs: one per key type (a second
    // of a type is reported and not served).
    s.certificates.push_back({"gw/web", 443, "dual.example.com", ec_crt, ec_key});
    s.certificates.push_back({"gw/web", 443, "dual.example.com", rsa_crt, rsa_key});
    s.certificates.push_back({"gw/web", 443, "dual.example.com", ec2_crt, ec2_key});
    return wire::to_json(s);
  };
  gw.set(snapshot(true));
  auto routes = gw.routes();
  REQUIRE(routes->problems().size() == 3);
  CHECK(routes->problems()[0].find("bad.example.com") != std::string::npos);
  CHECK(routes->problems()[0].find("tls.crt") != std::string::npos);
  CHECK(routes->problems()[1].find("not tls.crt's key") != std::string::npos);
  CHECK(routes->problems()[2].find("dual.example.com): a second ECDSA certificate") != std::string::npos);
  // Several certificates on a listener: the one the client's signature
  // algorithms allow.
  const std::string dual = "GET /v1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n";
  CHECK(tls_request(proxy.port(), "dual.example.com", dual, "ecdsa_secp256r1_sha256").cn == "dual-ecdsa");
  CHECK(tls_request(proxy.port(), "dual.example.com", dual, "rsa_pss_rsae_sha256:rsa_pkcs1_sha256").cn == "dual-rsa");
  const TlsAnswer any = tls_request(proxy.port(), "dual.example.com", dual);
  CHECK((any.cn == "dual-ecdsa" || any.cn == "dual-rsa"));
  CHECK(any.response.rfind("HTTP/1.1 200", 0) == 0);

  struct Case {
    std::string sni, cn;
  };
  for (const Case& c : {Case{"api.example.com", "api.example.com"}, Case{"API.Example.COM", "api.example.com"},
                        Case{"www.example.com", "wildcard.example.com"},
                        Case{"a.deep.example.com", "deep.example.com"},  // the longer wildcard
                        Case{"example.com", "default"},                   // a wildcard needs a label more
                        Case{"other.org", "default"}, Case{"", "default"},
                        Case{"bad.example.com", "wildcard.example.com"}}) {
    CAPTURE(c.sni);
    const TlsAnswer got = tls_request(proxy.port(), c.sni, "GET /v1 HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
    CHECK(got.cn == c.cn);
    CHECK(got.response.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(got.response.find("path=/v1 proto=https") != std::string::npos);
  }
  // Redirects keep the listener's scheme.
  const TlsAnswer redirect =
      tls_request(proxy.port(), "api.example.com", "GET /old HTTP/1.1\r\nHost: api.example.com\r\n\r\n");
  CHECK(redirect.response.rfind("HTTP/1.1 302", 0) == 0);
  CHECK(redirect.response.find("Location: https://api.example.com/new") != std::string::npos);

  // Without a listener for the name (no hostname-less one): no handshake.
  gw.set(snapshot(false));
  routes = gw.routes();
  const uint64_t failures = proxy.stats().tls_failures;
  CHECK(tls_request(proxy.port(), "other.org", "GET / HTTP/1.1\r\n\r\n").cn.empty());
  CHECK(tls_request(proxy.port(), "", "GET / HTTP/1.1\r\n\r\n").cn.empty());
  CHECK(tls_request(proxy.port(), "www.example.com", "GET / HTTP/1.1\r\nHost: x\r\n\r\n").cn == "wildcard.example.com");
  // A frontend with no HTTPS listener: none either.
  ConnectionInfo elsewhere{"127.0.0.1", 1, "127.0.0.2", 443, 0, {}};
  CHECK(routes->certificate(elsewhere, "api.example.com") == nullptr);
  CHECK(proxy.stats().tls_failures >= failures + 2);
}

namespace {

// The first bytes a real OpenSSL client sends: its ClientHello for `sni`.
std::string client_hello(const std::string& sni) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  BIO* in = BIO_new(BIO_s_mem());
  BIO* out = BIO_new(BIO_s_mem());
  SSL_set_bio(ssl.get(), in, out);  // owned by ssl
  if (!sni.empty()) SSL_set_tlsext_host_name(ssl.get(), sni.c_str());
  SSL_connect(ssl.get());  // wants to read: the hello is written
  char* data = nullptr;
  const long n = BIO_get_mem_data(out, &data);
  ERR_clear_error();
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

TEST_CASE("TLS passthrough: the ClientHello's server name, whole, split and malformed") {
  std::string name;
  const std::string hello = client_hello("API.Example.com");
  REQUIRE(hello.size() > 100);
  CHECK(client_hello_server_name(hello, name) == HelloResult::Done);
  CHECK(name == "api.example.com");
  // Arriving a byte at a time: NeedMore until the last byte.
  for (size_t n : {size_t(0), size_t(1), size_t(4), size_t(5), size_t(9), hello.size() - 1})
    CHECK(client_hello_server_name(hello.substr(0, n), name) == HelloResult::NeedMore);
  // The same handshake split over two records.
  const size_t cut = 40;
  const std::string body = hello.substr(5);
  auto record = [](const std::string& payload) {
    std::string r = "\x16\x03\x01";
    r += static_cast<char>(payload.size() >> 8);
    r += static_cast<char>(payload.size() & 0xff);
    return r + payload;
  };
  const std::string split = record(body.substr(0, cut)) + record(body.substr(cut));
  CHECK(client_hello_server_name(split, name) == HelloResult::Done);
  CHECK(name == "api.example.com");
  CHECK(client_hello_server_name(split.substr(0, 5 + cut + 3), name) == HelloResult::NeedMore);
  // No SNI: done, no name.
  CHECK(client_hello_server_name(client_hello(""), name) == HelloResult::Done);
  CHECK(name.empty());
  // Not TLS: plain HTTP, an alert record, a ServerHello-type message,
  // lengths past the end.
  CHECK(client_hello_server_name("GET / HTTP/1.1\r\n\r\n", name) == HelloResult::NotTls);
  CHECK(client_hello_server_name(std::string("\x15\x03\x03\x00\x02\x02\x28", 7), name) == HelloResult::NotTls);
  std::string server_hello = hello;
  server_hello[5] = 0x02;
  CHECK(client_hello_server_name(server_hello, name) == HelloResult::NotTls);
  std::string truncated = record(body.substr(0, 4 + 2 + 32) + std::string("\x40", 1));  // session id past the end
  truncated[5 + 1] = 0;
  truncated[5 + 2] = 0;
  truncated[5 + 3] = static_cast<char>(2 + 32 + 1);
  CHECK(client_hello_server_name(truncated, name) == HelloResult::NotTls);
  // Every prefix and every single-byte corruption: an answer, never a crash.
  for (size_t i = 0; i < hello.size(); ++i) {
    std::string bad = hello;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    (void)client_hello_server_name(bad, name);
    (void)client_hello_server_name(hello.substr(0, i), name);
  }
}

TEST_CASE("TLS passthrough: a TLS listener's TLSRoute by server name, the bytes relayed untouched") {
  auto route = [](const std::string& name, const std::string& created, const std::string& backend) {
    GatewaySnapshot::AttachedRoute r;
    r.object = {{"apiVersion", "gateway.networking.k8s.io/v1alpha2"},
                {"kind", "TLSRoute"},
                {"metadata", {{"name", name}, {"namespace", "prod"}, {"creationTimestamp", created}}},
                {"spec", {{"rules", nlohmann::json::array({{{"backendRefs", nlohmann::json::array({{{"name", backend}, {"port", 443}}})}}})}}}};
    r.resolved = {{true}};
    return r;
  };
  GatewaySnapshot s;
  s.frontends.push_back({"10.0.0.240", 443, "gw/tls", 443});
  auto exact = route("exact", "2026-01-02T00:00:00Z", "a");
  exact.hostnames = {"a.example.com"};
  auto wild = route("wild", "2026-01-02T00:00:00Z", "b");
  wild.hostnames = {"*.example.com"};
  auto deeper = route("deeper", "2026-01-03T00:00:00Z", "c");
  deeper.hostnames = {"*.in.example.com"};
  auto any = route("any", "2026-01-04T00:00:00Z", "d");
  auto older_any = route("older-any", "2026-01-01T00:00:00Z", "e");
  s.listeners.push_back({"gw/tls", 443, "TLS", {exact, wild, deeper, any, older_any}});
  const std::map<std::string, std::string> backends = {
      {"a", "10.1.0.1"}, {"b", "10.1.0.2"}, {"c", "10.1.0.3"}, {"d", "10.1.0.4"}, {"e", "10.1.0.5"}};
  for (const auto& [name, ip] : backends) s.endpoints["prod/" + name + ":443"] = {ip + ":8443"};
  auto built = GatewayRoutes::from_json(wire::to_json(s));
  REQUIRE_MESSAGE(built.ok(), (built.ok() ? "" : built.error().str()));
  struct Case {
    std::string sni, upstream;
  };
  for (const Case& c : {Case{"a.example.com", "10.1.0.1"}, Case{"b.example.com", "10.1.0.2"},
                        Case{"x.in.example.com", "10.1.0.3"}, Case{"example.com", "10.1.0.5"},
                        Case{"other.org", "10.1.0.5"}, Case{"", "10.1.0.5"}}) {
    CAPTURE(c.sni);
    ConnectionInfo ci{"10.0.0.100", 40000, "10.0.0.240", 443, 15006, c.sni};
    const RouteAnswer a = (*built)->route_tcp(ci);
    CHECK(a.status == 0);
    CHECK(a.upstream_ip == c.upstream);
    CHECK(a.route.rfind("TLSRoute prod/", 0) == 0);
  }
  // Only named routes: an unknown name is refused.
  s.listeners[0].routes = {exact, wild};
  built = GatewayRoutes::from_json(wire::to_json(s));
  REQUIRE(built.ok());
  CHECK((*built)->route_tcp({"10.0.0.100", 40000, "10.0.0.240", 443, 15006, "other.org"}).status == 404);
  CHECK((*built)->route_tcp({"10.0.0.100", 40000, "10.0.0.240", 443, 15006, ""}).status == 404);

  // Through the relay: a TLS server behind it completes the handshake with
  // the client itself (its certificate, not the proxy's).
  auto [crt, key] = self_signed("backend.example.com");
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> sctx(SSL_CTX_new(TLS_server_method()), SSL_CTX_free);
  {
    std::unique_ptr<BIO, decltype(&BIO_free)> b(BIO_new_mem_buf(crt.data(), static_cast<int>(crt.size())), BIO_free);
    X509* x = PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr);
    SSL_CTX_use_certificate(sctx.get(), x);
    X509_free(x);
    std::unique_ptr<BIO, decltype(&BIO_free)> k(BIO_new_mem_buf(key.data(), static_cast<int>(key.size())), BIO_free);
    EVP_PKEY* pk = PEM_read_bio_PrivateKey(k.get(), nullptr, nullptr, nullptr);
    SSL_CTX_use_PrivateKey(sctx.get(), pk);
    EVP_PKEY_free(pk);
  }
  const int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(server, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  REQUIRE(listen(server, 4) == 0);
  socklen_t len = sizeof(a);
  getsockname(server, reinterpret_cast<sockaddr*>(&a), &len);
  const uint16_t backend_port = ntohs(a.sin_port);
  std::string seen_name;
  std::thread tls_server([&] {
    const int c = accept(server, nullptr, nullptr);
    if (c < 0) return;
    std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(sctx.get()), SSL_free);
    SSL_set_fd(ssl.get(), c);
    if (SSL_accept(ssl.get()) == 1) {
      const char* n = SSL_get_servername(ssl.get(), TLSEXT_NAMETYPE_host_name);
      seen_name = n ? n : "";
      char buf[1024];
      const int got = SSL_read(ssl.get(), buf, sizeof buf);
      const std::string answer = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Got: " +
                                 std::to_string(got) + "\r\n\r\n";
      SSL_write(ssl.get(), answer.data(), static_cast<int>(answer.size()));
      SSL_shutdown(ssl.get());
    }
    close(c);
  });
  std::string relay_name;
  TcpRelayOptions o;
  o.address = "127.0.0.1";
  o.transparent = false;
  o.server_name = true;
  TcpRelay relay(o, [&](const ConnectionInfo& c) {
    relay_name = c.server_name;
    RouteAnswer r;
    r.upstream_ip = "127.0.0.1";
    r.upstream_port = backend_port;
    return r;
  });
  REQUIRE(relay.start().ok());
  const TlsAnswer got = tls_request(relay.port(), "Backend.example.com", "GET / HTTP/1.1\r\n\r\n");
  CHECK(got.cn == "backend.example.com");  // the backend's own certificate
  CHECK(got.response.rfind("HTTP/1.1 200", 0) == 0);
  tls_server.join();
  close(server);
  CHECK(relay_name == "backend.example.com");
  CHECK(seen_name == "Backend.example.com");  // the ClientHello passed on untouched
  // Not TLS: reset, never relayed.
  const int plain = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_port = htons(relay.port());
  REQUIRE(connect(plain, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  const std::string get = "GET / HTTP/1.1\r\n\r\n";
  send(plain, get.data(), get.size(), 0);
  char b;
  CHECK(recv(plain, &b, 1, 0) <= 0);
  close(plain);
  CHECK(relay.stats().forwarded == 1);
  CHECK(relay.stats().refused == 1);
  relay.stop();
}
