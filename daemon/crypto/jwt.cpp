#include "crypto/jwt.hpp"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <limits>
#include <memory>

#include "crypto/crypto.hpp"

namespace mediax::crypto {

namespace {

constexpr int kMinRsaBits = 2048;

struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;

// Refuses to ask for a passphrase: without it OpenSSL would prompt on the terminal.
int no_passphrase(char* /*buf*/, int /*size*/, int /*rwflag*/, void* /*u*/) { return -1; }

// Loads the key or says why not. OpenSSL's error queue is cleared either way: its texts may quote
// the input.
PkeyPtr load_rsa_key(std::string_view pem, std::string& error) {
  if (pem.empty()) {
    error = "the private key is empty";
    return nullptr;
  }
  if (pem.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    error = "the private key is too large";
    return nullptr;
  }
  if (pem.find("ENCRYPTED") != std::string_view::npos) {
    error = "the private key is encrypted; give it without a passphrase";
    return nullptr;
  }
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) {
    error = "out of memory";
    return nullptr;
  }
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
  ERR_clear_error();
  if (!key) {
    error = "the private key is not a readable PEM private key";
    return nullptr;
  }
  if (!EVP_PKEY_is_a(key.get(), "RSA")) {
    error = "the private key is not an RSA key";
    return nullptr;
  }
  if (EVP_PKEY_get_bits(key.get()) < kMinRsaBits) {
    error = "the RSA key is shorter than " + std::to_string(kMinRsaBits) + " bits";
    return nullptr;
  }
  return key;
}

}  // namespace

std::string check_rsa_private_key(std::string_view private_key_pem) {
  std::string error;
  load_rsa_key(private_key_pem, error);
  return error;
}

JwtResult sign_jwt_rs256(std::string_view header_json, std::string_view claims_json, std::string_view private_key_pem) {
  JwtResult out;
  PkeyPtr key = load_rsa_key(private_key_pem, out.error);
  if (!key) return out;
  const std::string signing_input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  std::size_t len = 0;
  // EVP_DigestSign with an RSA key defaults to PKCS#1 v1.5 padding: RS256.
  bool ok = ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key.get()) == 1 &&
            EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1;
  std::string signature(len, '\0');
  ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(signature.data()), &len,
                            reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  ERR_clear_error();
  if (!ok) {
    out.error = "signing failed";
    return out;
  }
  signature.resize(len);
  out.token = signing_input + "." + base64url_encode(signature);
  return out;
}

}  // namespace mediax::crypto
