// A TLS listener's certificate as the Secret holds it (tls.crt: the leaf
// then its chain, PEM; tls.key: its private key, PEM), parsed and checked
// once for both sides that need it: the status (ResolvedRefs says
// InvalidCertificateRef for what would not load) and the node proxy (which
// serves what loads). So a certificate reported resolved is one the proxy
// serves, by construction.
//
//   auto c = load_certificate(crt_pem, key_pem);
//   if (!c) ... c.error().message  // "tls.key is not tls.crt's key (...)"
//   c->key_type_name()             // "RSA", "ECDSA", "Ed25519"
//   SSL_CTX_use_certificate(ctx, c->leaf.get()) ...
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "axon/base/result.h"

struct x509_st;
struct evp_pkey_st;

namespace axon::gateway {

struct X509Free {
  void operator()(x509_st* x) const;
};
struct PkeyFree {
  void operator()(evp_pkey_st* k) const;
};

struct LoadedCertificate {
  std::unique_ptr<x509_st, X509Free> leaf;
  std::vector<std::unique_ptr<x509_st, X509Free>> chain;  // after the leaf, in order
  std::unique_ptr<evp_pkey_st, PkeyFree> key;
  int key_type = 0;  // EVP_PKEY_base_id: one certificate per type is served

  std::string key_type_name() const;
};

// The certificate and its key, or why not: no PEM certificate, no PEM
// private key, or a key that is not the certificate's.
Result<LoadedCertificate> load_certificate(const std::string& cert_pem, const std::string& key_pem);

// OpenSSL's earliest queued error as text ("unknown error" when none), the
// queue cleared.
std::string openssl_error();

}  // namespace axon::gateway
