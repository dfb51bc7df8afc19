#include "fake_signing.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <stdexcept>

#include "fake_util.hpp"

namespace mediax::fake {

namespace {

EVP_PKEY* pkey(const std::shared_ptr<void>& k) { return static_cast<EVP_PKEY*>(k.get()); }

std::string bn_param(EVP_PKEY* key, const char* name) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) return "";
  std::string out(static_cast<std::size_t>(BN_num_bytes(bn)), '\0');
  BN_bn2bin(bn, reinterpret_cast<unsigned char*>(out.data()));
  BN_free(bn);
  return base64url_encode(out);
}

}  // namespace

RsaSigner::RsaSigner() : kid_(random_token(12)) {
  EVP_PKEY* k = EVP_RSA_gen(2048);
  if (k == nullptr) throw std::runtime_error("RSA key generation failed");
  key_ = std::shared_ptr<void>(k, [](void* p) { EVP_PKEY_free(static_cast<EVP_PKEY*>(p)); });
}

std::string RsaSigner::sign_jwt(const nlohmann::json& claims) const {
  nlohmann::json header{{"alg", "RS256"}, {"typ", "JWT"}, {"kid", kid_}};
  const std::string input = base64url_encode(header.dump()) + "." + base64url_encode(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pkey(key_)) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()), input.size()) !=
          1) {
    throw std::runtime_error("signing failed");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1) {
    throw std::runtime_error("signing failed");
  }
  sig.resize(len);
  return input + "." + base64url_encode(sig);
}

nlohmann::json RsaSigner::jwks() const {
  return nlohmann::json{{"keys",
                         {{{"kty", "RSA"},
                           {"alg", "RS256"},
                           {"use", "sig"},
                           {"kid", kid_},
                           {"n", bn_param(pkey(key_), OSSL_PKEY_PARAM_RSA_N)},
                           {"e", bn_param(pkey(key_), OSSL_PKEY_PARAM_RSA_E)}}}}};
}

}  // namespace mediax::fake
