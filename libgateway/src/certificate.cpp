#include "axon/gateway/certificate.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

namespace axon::gateway {
namespace {

using Bio = std::unique_ptr<BIO, decltype(&BIO_free)>;

Bio memory(const std::string& pem) {
  return Bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
}

}  // namespace

std::string openssl_error() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}

void X509Free::operator()(x509_st* x) const { X509_free(x); }
void PkeyFree::operator()(evp_pkey_st* k) const { EVP_PKEY_free(k); }

std::string LoadedCertificate::key_type_name() const {
  switch (key_type) {
    case EVP_PKEY_RSA: return "RSA";
    case EVP_PKEY_EC: return "ECDSA";
    case EVP_PKEY_ED25519: return "Ed25519";
    default: {
      const char* name = OBJ_nid2sn(key_type);
      return name ? name : "unknown";
    }
  }
}

Result<LoadedCertificate> load_certificate(const std::string& cert_pem, const std::string& key_pem) {
  LoadedCertificate c;
  Bio certs = memory(cert_pem);
  c.leaf.reset(PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr));
  if (!c.leaf) return Error{"tls.crt: no PEM certificate (" + openssl_error() + ")"};
  Bio keys = memory(key_pem);
  c.key.reset(PEM_read_bio_PrivateKey(keys.get(), nullptr, nullptr, nullptr));
  if (!c.key) return Error{"tls.key: no PEM private key (" + openssl_error() + ")"};
  if (X509_check_private_key(c.leaf.get(), c.key.get()) != 1)
    return Error{"tls.key is not tls.crt's key (" + openssl_error() + ")"};
  c.key_type = EVP_PKEY_base_id(c.key.get());
  while (X509* more = PEM_read_bio_X509(certs.get(), nullptr, nullptr, nullptr)) c.chain.emplace_back(more);
  ERR_clear_error();  // the chain's end
  return c;
}

}  // namespace axon::gateway
