// RSA key pairs made at run time for the JWT and Google tests, and an RS256 check written straight
// against OpenSSL (independent of daemon/crypto/jwt.cpp, which it is used to test).
#pragma once

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <openssl/bn.h>
#include <openssl/core_names.h>

#include <nlohmann/json.hpp>

#include "crypto/crypto.hpp"

namespace mediax::testing {

struct RsaKeyPair {
  std::string private_pem;  // PKCS#8 "BEGIN PRIVATE KEY"
  std::string public_pem;   // SubjectPublicKeyInfo "BEGIN PUBLIC KEY"
  std::string pkcs1_pem;    // the same private key as "BEGIN RSA PRIVATE KEY"
};

inline std::string bio_text(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<std::size_t>(n));
}

inline RsaKeyPair make_rsa_key(unsigned bits = 2048) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_RSA_gen(bits), EVP_PKEY_free);
  if (!key) throw std::runtime_error("EVP_RSA_gen failed");
  RsaKeyPair out;
  std::unique_ptr<BIO, decltype(&BIO_free)> priv(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pub(BIO_new(BIO_s_mem()), BIO_free);
  std::unique_ptr<BIO, decltype(&BIO_free)> pkcs1(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PKCS8PrivateKey(priv.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1 ||
      PEM_write_bio_PUBKEY(pub.get(), key.get()) != 1 ||
      PEM_write_bio_PrivateKey_traditional(pkcs1.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    throw std::runtime_error("PEM encoding failed");
  }
  out.private_pem = bio_text(priv.get());
  out.public_pem = bio_text(pub.get());
  out.pkcs1_pem = bio_text(pkcs1.get());
  return out;
}

// One 2048-bit pair per test process (key generation takes a while).
inline const RsaKeyPair& test_key() {
  static const RsaKeyPair k = make_rsa_key();
  return k;
}
inline const RsaKeyPair& other_test_key() {
  static const RsaKeyPair k = make_rsa_key();
  return k;
}

// True when `jwt` is header.payload.signature with a valid RS256 signature by `public_pem`.
inline bool verify_rs256(const std::string& jwt, const std::string& public_pem) {
  auto d2 = jwt.rfind('.');
  if (d2 == std::string::npos || jwt.find('.') == d2) return false;
  auto sig = crypto::base64url_decode(std::string_view(jwt).substr(d2 + 1));
  if (!sig) return false;
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())),
                                                BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (!key) return false;
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, key.get()) != 1) return false;
  if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) != 1) return false;
  const std::string input = jwt.substr(0, d2);
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig->data()), sig->size(),
                          reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
}

// The decoded JSON text of part `index` (0 header, 1 claims) of a JWT; nullopt when unreadable.
inline std::optional<std::string> jwt_part(const std::string& jwt, int index) {
  std::size_t begin = 0;
  for (int i = 0; i < index; ++i) {
    begin = jwt.find('.', begin);
    if (begin == std::string::npos) return std::nullopt;
    ++begin;
  }
  auto end = jwt.find('.', begin);
  if (end == std::string::npos) return std::nullopt;
  return crypto::base64url_decode(std::string_view(jwt).substr(begin, end - begin));
}

// The public half of a PEM key as a JWK (RFC 7517), as a provider publishes it at its jwks_uri.
inline nlohmann::json jwk_of(const std::string& public_pem, const std::string& kid) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(public_pem.data(), static_cast<int>(public_pem.size())),
                                                BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (!key) throw std::runtime_error("not a public key");
  auto param = [&](const char* name) {
    BIGNUM* bn = nullptr;
    if (EVP_PKEY_get_bn_param(key.get(), name, &bn) != 1) throw std::runtime_error("no RSA parameter");
    std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
    BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
    BN_free(bn);
    return crypto::base64url_encode(out);
  };
  return nlohmann::json{{"kty", "RSA"},
                        {"alg", "RS256"},
                        {"use", "sig"},
                        {"kid", kid},
                        {"n", param(OSSL_PKEY_PARAM_RSA_N)},
                        {"e", param(OSSL_PKEY_PARAM_RSA_E)}};
}

}  // namespace mediax::testing
